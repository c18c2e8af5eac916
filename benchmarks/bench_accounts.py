"""Benchmark 10: many accounts of one vendor, synced at once.

10 Flireo accounts, each its own emulator process (so each key has its own budget, and the
emulators' work is not the client's), 20 pages of 50 logs each at 100 ms latency, synced into
a fresh SQLite store by `sync_many`: all at once (`parallel=10`), one after another
(`parallel=1`), and a single account alone, alternated in one run. Peak memory (`VmHWM`) of a
fresh interpreter syncing 10 and then 30 accounts (10 at a time) shows whether it grows with the
number of accounts.

With them: the client's CPU time while syncing at once, and the emulators' (read from /proc), so
a reader can tell a client bound by its own CPU from one starved by the emulators on a shared
machine; the load average; and the first sync of 10 accounts at once in a fresh interpreter, as
`voice-usage sync` runs it (every per-process cost paid once, nothing warm).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, emulator_process, peak_rss_mb
from voice_usage._engine._accounts import Account, AccountsConfig
from voice_usage._engine._plugins import Registry
from voice_usage._store._sync import sync_many
from voice_usage_flireo import FlireoProvider

ACCOUNTS = 10
PAGES = 20
PAGE = 50
DAYS = 10
LATENCY = 0.100
SINCE, UNTIL = "2026-09-01", "2026-09-11"
NOW = datetime.fromisoformat("2026-10-01T06:30:00+00:00")


def emulators(count: int, stack: ExitStack) -> list[str]:
    """Base URLs of ``count`` Flireo emulators, each in its own process, warmed."""
    options = {"logs_per_day": PAGES * PAGE // DAYS, "rate_limit": None}
    urls = [
        stack.enter_context(emulator_process("flireo", LATENCY, seed=n, **options))
        for n in range(count)
    ]
    sync_accounts(urls, parallel=count)  # fill each emulator's memo of its pages
    return urls


def sync_accounts(urls: Sequence[str], parallel: int) -> float:
    """Seconds to sync one account per emulator into a fresh store, ``parallel`` at a time."""
    registry = Registry()
    registry.add(FlireoProvider(page_size=PAGE), "voice-usage-flireo", "bench")
    accounts = []
    for n, url in enumerate(urls):
        os.environ[f"BENCH_ACCOUNT_{n}_KEY"] = "bench-key"
        accounts.append(Account("flireo", f"client-{n}", f"BENCH_ACCOUNT_{n}_KEY", url))
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        results = sync_many(
            ["flireo"],
            account=None,
            since=SINCE,
            until=UNTIL,
            lookback=None,
            store=str(Path(folder) / "usage.sqlite3"),
            registry=registry,
            accounts=AccountsConfig(path=None, accounts=tuple(accounts)),
            now=NOW,
            parallel=parallel,
        )
        took = time.perf_counter() - started
    assert all(r.error is None for r in results), [r.error for r in results]
    assert sum(r.new for r in results) == len(urls) * PAGES * PAGE
    return took


def _cpu_seconds(pids: Sequence[int]) -> float:
    """User and system CPU seconds the processes have used so far (Linux `/proc`)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def first_sync(urls: Sequence[str]) -> tuple[float, float]:
    """Seconds and CPU seconds of a fresh interpreter's first sync of ``urls`` at once."""
    code = (
        "import json, sys, time\n"
        "from benchmarks.bench_accounts import sync_accounts\n"
        "cpu = time.process_time()\n"
        "took = sync_accounts(json.loads(sys.argv[1]), len(json.loads(sys.argv[1])))\n"
        "print(took, time.process_time() - cpu)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(urls))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    took, cpu = out.stdout.split()[-2:]
    return float(took), float(cpu)


def run(runs: int = 3) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"at once": [], "one after another": [], "one alone": []}
    cpu: dict[str, list[float]] = {"client": [], "emulators": [], "first": [], "first_cpu": []}
    with ExitStack() as stack:
        urls = emulators(ACCOUNTS, stack)
        servers = [
            int(line)
            for line in subprocess.run(
                ["pgrep", "-P", str(os.getpid())], capture_output=True, text=True
            ).stdout.split()
        ]
        for _ in range(runs):
            client, served = time.process_time(), _cpu_seconds(servers)
            samples["at once"].append(sync_accounts(urls, ACCOUNTS))
            cpu["client"].append(time.process_time() - client)
            cpu["emulators"].append(_cpu_seconds(servers) - served)
            samples["one after another"].append(sync_accounts(urls, 1))
            samples["one alone"].append(sync_accounts(urls[:1], 1))
            took, used = first_sync(urls)
            cpu["first"].append(took)
            cpu["first_cpu"].append(used)
        result: dict[str, Any] = {name: statistics.median(v) for name, v in samples.items()}
        result["at_once_cpu_s"] = statistics.median(cpu["client"])
        result["at_once_emulators_cpu_s"] = statistics.median(cpu["emulators"])
        result["first_sync_s"] = statistics.median(cpu["first"])
        result["first_sync_cpu_s"] = statistics.median(cpu["first_cpu"])
        result["load"] = os.getloadavg()[0]
        code = (
            "import sys; sys.path.insert(0, '.')\n"
            "from benchmarks.bench_accounts import sync_accounts\n"
            "urls = {urls!r}\n"
            "for _ in range({rounds}):\n"
            "    sync_accounts(urls, 10)\n"
        )
        # 10 accounts once, and the same 10 three times over (30 account syncs): what a sync
        # holds must not pile up with the number of accounts it has done.
        result["rss_10_mb"] = peak_rss_mb(code.format(urls=urls, rounds=1))
        result["rss_30_mb"] = peak_rss_mb(code.format(urls=urls, rounds=3))
    result["at_once_vs_alone"] = result["at once"] / result["one alone"]
    result["sequential_vs_alone"] = result["one after another"] / result["one alone"]
    return result


if __name__ == "__main__":
    print(run(), file=sys.stderr)
