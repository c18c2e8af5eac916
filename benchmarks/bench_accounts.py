"""Benchmark 10: many accounts of one vendor, synced at once.

10 Flireo accounts, each its own emulator process (so each key has its own budget, and the
emulators' work is not the client's), 20 pages of 50 logs each at 100 ms latency, synced into
a fresh SQLite store by `sync_many`: all at once (`parallel=10`), one after another
(`parallel=1`), and a single account alone, alternated in one run. Peak memory (`VmHWM`) of a
fresh interpreter syncing 10 and then 30 accounts (10 at a time) shows whether it grows with the
number of accounts.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks._common import emulator_process, peak_rss_mb
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


def run(runs: int = 3) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"at once": [], "one after another": [], "one alone": []}
    with ExitStack() as stack:
        urls = emulators(ACCOUNTS, stack)
        for _ in range(runs):
            samples["at once"].append(sync_accounts(urls, ACCOUNTS))
            samples["one after another"].append(sync_accounts(urls, 1))
            samples["one alone"].append(sync_accounts(urls[:1], 1))
        result: dict[str, Any] = {name: statistics.median(v) for name, v in samples.items()}
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
