"""Shared helpers of the benchmarks: timing, emulator servers in their own process, RSS."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def median_seconds(func: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    """Median wall time of ``runs`` calls, and every sample."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), samples


def interleaved(funcs: dict[str, Callable[[], Any]], runs: int) -> dict[str, float]:
    """Median wall time of each function, run alternately so that machine noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(runs):
        for name, func in funcs.items():
            started = time.perf_counter()
            func()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


class Served:
    """An emulator served from its own process: its base URL, and its command line on stdin."""

    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    def command(self, line: str) -> str:
        """Send one command (see `benchmarks._serve`) and return the server's one-line answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()


@contextmanager
def emulator_process(provider: str, latency: float, **options: Any) -> Iterator[str]:
    """Serve a provider's emulator from a separate process (so it does not compete for the GIL).

    Yields the base URL. Responses are memoized by request, so once warmed the server only
    replays bytes: the benchmark measures the client, not the emulator.
    """
    with served_process(provider, latency, **options) as served:
        yield served.base_url


@contextmanager
def served_process(provider: str, latency: float, **options: Any) -> Iterator[Served]:
    """`emulator_process`, yielding the `Served` server to give commands to."""
    command = [
        sys.executable,
        "-m",
        "benchmarks._serve",
        provider,
        str(latency),
        json.dumps(options),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"emulator for {provider} did not start: {line!r}")
        yield Served(process, line)
    finally:
        process.terminate()
        process.wait(timeout=10)


def peak_rss_mb(code: str) -> float:
    """Peak resident memory (MB) of a fresh interpreter running ``code``.

    Read from `VmHWM` in /proc (Linux): it belongs to the new program image, whereas
    `getrusage().ru_maxrss` survives exec and would report the benchmark runner's own peak.
    """
    wrapper = (
        code
        + "\nimport re, sys\n"
        + "status = open('/proc/self/status').read()\n"
        + "sys.stdout.write(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """A plain-text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def machine_speed(repeats: int = 200) -> float:
    """Median seconds to `json.loads` one fixed 1000-log page: the machine's speed right now.

    Taken at the start and the end of a run, it shows how far the shared machine drifted while
    the benchmarks ran, so figures from one run can be read against each other.
    """
    log = '{"id":"log-%d","call_id":"call-%d","duration_seconds":84,"cost":0.14}'
    page = ('{"logs":[' + ",".join(log % (n, n) for n in range(1000)) + "]}").encode()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        json.loads(page)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
