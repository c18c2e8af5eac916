"""Benchmark 6: writing output costs less than fetching.

The same fetch as benchmark 1 (200 pages of 1000 Flireo logs, 50 ms latency), three ways,
alternated in one run: the library consuming every record, and `voice-usage fetch ... --format
jsonl` and `--format csv` run in-process with stdout going to /dev/null (so the terminal is not
measured, and start-up is benchmark 7's business). CPU time is the process's own.

Then the writers alone, on 20,000 of those records held in memory: CPU microseconds per record
for `write_jsonl` and `write_csv` into /dev/null, beside the library's own per record (its fetch's
CPU time over the records fetched). Writing within 1.25x of the library means at most a quarter
of that per record, for the writer and the command around it together.

Between the two, the library's fetch fed straight into each writer (no command around it), in
the same alternation: it splits the command's extra cost into the writer's, as it costs while
the fetch runs (records fresh from each page, the engine's work between them), and the command's
own (its counting layer, options, sources). Measured so, the extra cost is the writer's: the
command adds a microsecond or two a record at most (within the noise of a shared machine), and
each writer costs about what it costs alone, not twice as much.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import voice_usage
from benchmarks._common import emulator_process
from benchmarks.bench_fetch import LATENCY, LOGS, SINCE, UNTIL
from voice_usage import UsageRecord, write_csv, write_jsonl
from voice_usage.cli import cli

HELD = 20_000


def _timed(func: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(runs: int = 3) -> dict[str, Any]:
    options = {"logs_per_day": LOGS // 50, "rate_limit": 1_000_000}
    with emulator_process("flireo", LATENCY, **options) as base_url:
        environment = {"FLIREO_API_KEY": "bench-key", "FLIREO_BASE_URL": base_url}

        def library() -> None:
            with voice_usage.connect("flireo", api_key="bench-key", base_url=base_url) as flireo:
                count = sum(1 for _ in flireo.fetch(SINCE, UNTIL, "call"))
            assert count == LOGS, count

        def command(output_format: str) -> Callable[[], None]:
            arguments = ["fetch", "flireo", "--since", SINCE, "--until", UNTIL]
            arguments += ["--granularity", "call", "--format", output_format]

            def invoke() -> None:
                with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                    try:
                        cli.main(arguments, prog_name="voice-usage", standalone_mode=False)
                    except SystemExit as exit:
                        assert not exit.code, exit.code

            return invoke

        def written(writer: Callable[..., int]) -> Callable[[], None]:
            def fetch_and_write() -> None:
                with (
                    voice_usage.connect("flireo", api_key="bench-key", base_url=base_url) as flireo,
                    open(os.devnull, "w") as sink,
                ):
                    count = writer(flireo.fetch(SINCE, UNTIL, "call"), sink)
                assert count == LOGS, count

            return fetch_and_write

        contenders = {
            "library": library,
            "library_jsonl": written(write_jsonl),
            "library_csv": written(write_csv),
            "jsonl": command("jsonl"),
            "csv": command("csv"),
        }
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            library()  # warm the emulator's memo and the imports
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
            for _ in range(runs):
                for name, func in contenders.items():
                    samples[name].append(_timed(func))
            with voice_usage.connect("flireo", api_key="bench-key", base_url=base_url) as flireo:
                held = list(itertools.islice(flireo.fetch(SINCE, UNTIL, "call"), HELD))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    result: dict[str, Any] = {}
    for name, values in samples.items():
        result[f"{name}_wall_s"] = statistics.median(v[0] for v in values)
        result[f"{name}_cpu_s"] = statistics.median(v[1] for v in values)
    for name in ("jsonl", "csv"):
        result[f"{name}_vs_library"] = result[f"{name}_wall_s"] / result["library_wall_s"]
        result[f"{name}_cpu_vs_library"] = result[f"{name}_cpu_s"] / result["library_cpu_s"]
    result["library_cpu_us_per_record"] = result["library_cpu_s"] / LOGS * 1e6
    for name, writer in (("jsonl", write_jsonl), ("csv", write_csv)):
        result[f"{name}_writer_cpu_us_per_record"] = _writer_cost(writer, held, runs)
        fed = result[f"library_{name}_cpu_s"]
        result[f"{name}_writer_in_fetch_cpu_us_per_record"] = (
            (fed - result["library_cpu_s"]) / LOGS * 1e6
        )
        result[f"{name}_command_cpu_us_per_record"] = (result[f"{name}_cpu_s"] - fed) / LOGS * 1e6
    result["load_average"] = os.getloadavg()
    return result


def _writer_cost(writer: Callable[..., int], records: list[UsageRecord], runs: int) -> float:
    """The least CPU microseconds per record of ``runs`` writes of ``records`` to /dev/null."""
    costs = []
    with open(os.devnull, "w") as sink:
        for _ in range(runs):
            cpu = time.process_time()
            writer(records, sink)
            costs.append((time.process_time() - cpu) / len(records) * 1e6)
    return min(costs)


if __name__ == "__main__":
    print(run(), file=sys.stderr)
