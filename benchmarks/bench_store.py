"""Benchmark 9: the history store.

- write throughput: already-fetched records written into SQLite (and PostgreSQL when
  `VOICE_USAGE_BENCH_POSTGRES` names a server: a fresh database is made on it), one transaction
  per 31 days as sync does; the median of a few runs, by the clock and by this process's CPU
  time (the machines are shared: CPU time says what the code costs when the clock says how busy
  the machine was; PostgreSQL's own work is not in it, but is given apart when the server runs
  on this machine);
- a daily re-sync of a 90-day Flireo history on the emulator: requests and seconds;
- a roll-up by provider and UTC day over 1,000,000 stored records in SQLite (exact sums in SQL),
  its time, and its peak RSS next to the same roll-up over 100,000 (it should not grow).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from voice_usage import CostSource, Grain, UsageRecord

PROVIDERS = ("flireo", "ultravox", "agentphone")
START = datetime(2026, 1, 1, tzinfo=UTC)
POSTGRES_ENV = "VOICE_USAGE_BENCH_POSTGRES"


def records(count: int, provider: str = "flireo", days: int = 90) -> list[UsageRecord]:
    """``count`` call records spread evenly over ``days`` days, as a provider builds them."""
    event = UsageRecord.template(
        provider=provider,
        grain=Grain.EVENT,
        calls=1,
        currency="EUR",
        cost_source=CostSource.REPORTED,
    )
    step = timedelta(days=days) / count
    costs = [Decimal(n).scaleb(-2) for n in range(7, 700, 7)]
    return [
        event(
            period_start=START + step * n,
            period_end=START + step * n + timedelta(seconds=84),
            duration_seconds=Decimal(84 + n % 300),
            billed_minutes=Decimal(2 + n % 5),
            cost=costs[n % len(costs)],
            call_id=f"{provider}-call-{n}",
            extras={"log_id": f"log-{n}"},
        )
        for n in range(count)
    ]


def _write_all(store: Any, batch: list[UsageRecord], provider: str) -> tuple[float, float]:
    """Seconds (by the clock, and of CPU) to write ``batch`` in 31-day transactions, as sync does.

    ``batch`` is in time order; it is cut into the transactions' slices before the clock starts
    (a loop over the records here cost a twentieth of the store's time)."""
    chunk = timedelta(days=31)
    slices = []
    since, index = START, 0
    while index < len(batch):
        until = since + chunk
        end = bisect.bisect_left(batch, until, lo=index, key=lambda record: record.period_start)
        slices.append((batch[index:end], since, until))
        index, since = end, until
    started, cpu = time.perf_counter(), time.process_time()
    for part, since, until in slices:
        store.write(provider, None, "call", part, since=since, until=until)
    return time.perf_counter() - started, time.process_time() - cpu


def write_throughput(count: int = 200_000, runs: int = 3) -> dict[str, float]:
    """Records per second written into an empty store, per database: medians of ``runs``."""
    from voice_usage import open_store

    batch = records(count)
    url = os.environ.get(POSTGRES_ENV)
    times: dict[str, list[tuple[float, float]]] = {}
    server_cpu: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder, open_store(f"{folder}/b.sqlite3") as store:
            times.setdefault("sqlite", []).append(_write_all(store, batch, "flireo"))
        if url:
            with _fresh_database(url) as fresh, open_store(fresh) as store:
                server = _server_cpu(store)
                times.setdefault("postgresql", []).append(_write_all(store, batch, "flireo"))
                after = _server_cpu(store)
                if server is not None and after is not None:
                    server_cpu.append(after - server)
    out: dict[str, float] = {"load_average": os.getloadavg()[0]}
    if server_cpu:
        out["postgresql_server_cpu_us_per_record"] = statistics.median(server_cpu) / count * 1e6
    for database, measured in times.items():
        out[f"{database}_per_s"] = count / statistics.median(wall for wall, _ in measured)
        out[f"{database}_per_cpu_s"] = count / statistics.median(cpu for _, cpu in measured)
    return out


def _server_cpu(store: Any) -> float | None:
    """CPU seconds of the store's PostgreSQL server process so far, when it runs on this machine."""
    pid = store._db.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _fresh_database(url: str) -> Iterator[str]:
    """An empty database next to the one ``url`` names, dropped afterwards."""
    import psycopg

    name = f"voice_usage_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def daily_resync() -> dict[str, float]:
    """A first sync of 90 days of Flireo calls (80 a day), then the next day's re-sync."""
    from voice_usage import sync
    from voice_usage.emulator import EmulatorServer
    from voice_usage_flireo import FlireoProvider
    from voice_usage_flireo.emulator import FlireoEmulator

    now = datetime(2026, 10, 1, 6, tzinfo=UTC)
    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorServer(FlireoEmulator("bench-key", rate_limit=None)) as server,
    ):
        path = f"{folder}/bench.sqlite3"
        options = {"store": path, "api_key": "bench-key", "base_url": server.base_url}
        started = time.perf_counter()
        first = sync(FlireoProvider(), now=now, **options)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        daily = sync(FlireoProvider(), now=now + timedelta(days=1), **options)
        daily_s = time.perf_counter() - started
    return {
        "first_records": first.new,
        "first_requests": first.requests,
        "first_s": first_s,
        "daily_requests": daily.requests,
        "daily_new": daily.new,
        "daily_unchanged": daily.unchanged,
        "daily_s": daily_s,
    }


ROLLUP = """
import time
from datetime import datetime, UTC
from voice_usage import open_store
with open_store({path!r}) as store:
    started = time.perf_counter()
    rows = store.daily_totals(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    seconds = time.perf_counter() - started
assert sum(r[4] for r in rows) == {count}, sum(r[4] for r in rows)
# VmHWM, this process's own peak (ru_maxrss would include the parent's at the fork).
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print(seconds, len(rows), int(peak) / 1024)
"""


def _fill(path: str, count: int) -> None:
    from voice_usage import open_store

    with open_store(path) as store:
        for provider in PROVIDERS:
            share = count // len(PROVIDERS) + (1 if provider == PROVIDERS[0] else 0) * (
                count % len(PROVIDERS)
            )
            _write_all(store, records(share, provider), provider)


def rollup(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> list[dict[str, float]]:
    """Roll-up by provider and day over stored records, each in a fresh process."""
    results = []
    for count in sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "bench.sqlite3")
            _fill(path, count)
            done = subprocess.run(
                [sys.executable, "-c", ROLLUP.format(path=path, count=count)],
                check=True,
                capture_output=True,
                text=True,
            )
            seconds, groups, peak = done.stdout.split()
            results.append(
                {
                    "records": count,
                    "seconds": float(seconds),
                    "groups": int(groups),
                    "peak_rss_mb": float(peak),
                }
            )
    return results


def run(quick: bool = False) -> dict[str, Any]:
    """All three measurements."""
    return {
        "write": write_throughput(50_000 if quick else 200_000, runs=1 if quick else 3),
        "resync": daily_resync(),
        "rollup": rollup((20_000, 100_000) if quick else (100_000, 1_000_000)),
    }


if __name__ == "__main__":
    for name, value in run(quick="--quick" in sys.argv).items():
        print(name, value)
