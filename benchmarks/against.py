"""Benchmarks 1 and 2 (or 6, with --cli-output; 9a, with --store) for this checkout against
another revision, alternately; benchmark 2 also in CPU microseconds a record.

    python3 -m uv run --locked python -m benchmarks.against dcf8e49 [--runs 5] [--cli-output]
    [--store]

The machines are shared and their speed drifts, so a figure from last week says little about
this week's change. This checks the other revision out into a temporary worktree and runs the
same measurements for both in turn, each in a fresh interpreter whose `PYTHONPATH` points at
that tree's sources (the installed dependencies are shared), against one emulator process, and
prints the medians side by side.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._common import ROOT, emulator_process, table
from benchmarks.bench_fetch import DAYS, LATENCY, LOGS, SINCE, UNTIL

PROVIDERS = ("flireo", "ultravox", "agentphone")

# Written out rather than imported from bench_fetch: the other revision's benchmark modules may
# differ or predate it, and both trees must run the very same measurement.
FETCH = f"""
import sys, time
import voice_usage

def fetch():
    with voice_usage.connect("flireo", api_key="bench-key", base_url=sys.argv[1]) as flireo:
        return sum(1 for _ in flireo.fetch({SINCE!r}, {UNTIL!r}, "call"))

fetch()  # imports and the emulator's memo
wall, cpu = time.perf_counter(), time.process_time()
assert fetch() == {LOGS}
print({{"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}})
"""

CLI_OUTPUT = f"""
import contextlib, os, sys, time
import voice_usage
from voice_usage.cli import cli

os.environ.update({{"FLIREO_API_KEY": "bench-key", "FLIREO_BASE_URL": sys.argv[1]}})

def library():
    with voice_usage.connect("flireo", api_key="bench-key", base_url=sys.argv[1]) as flireo:
        assert sum(1 for _ in flireo.fetch({SINCE!r}, {UNTIL!r}, "call")) == {LOGS}

def command(output_format):
    arguments = ["fetch", "flireo", "--since", {SINCE!r}, "--until", {UNTIL!r}]
    arguments += ["--granularity", "call", "--format", output_format]
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        cli.main(arguments, prog_name="voice-usage", standalone_mode=False)

library()  # imports and the emulator's memo
for name, run in [("library", library), ("jsonl", lambda: command("jsonl")),
                  ("csv", lambda: command("csv"))]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    print({{"name": name, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}})
"""
"""Benchmark 6 (the CLI writing 200,000 records to /dev/null as JSON Lines and CSV, beside the
library's fetch), written out so that both trees run the very same measurement."""


NORMALIZE = """
import gc, json, statistics, time
from voice_usage import FetchReport, UsageQuery
from voice_usage.emulator import EmulatorRequest
from voice_usage_flireo import FlireoProvider
from voice_usage_flireo.emulator import FlireoEmulator

for shape in ("a", "d"):
    emulator = FlireoEmulator(shape=shape, logs_per_day=2000, rate_limit=None)
    query = {"start_date": ["2026-10-01"], "end_date": ["2026-10-10"], "limit": ["1000"]}
    bodies = [
        emulator.handle(
            EmulatorRequest("GET", "/usage", {**query, "offset": [str(offset)]}, {}, "http://bench")
        ).body
        for offset in range(0, 20_000, 1000)
    ]
    plan = FlireoProvider().plan(
        UsageQuery(since="2026-10-01", until="2026-10-11", granularity="call")
    )

    def normalize():
        pages = (plan.walks[0].parse(body) for body in bodies)
        assert sum(1 for _ in plan.to_records(pages, FetchReport("flireo"))) == 20_000

    def loads():
        for body in bodies:
            json.loads(body)

    normalize()
    samples = {"normalize": [], "json.loads": []}
    for _ in range(7):
        for name, run in (("json.loads", loads), ("normalize", normalize)):
            gc.collect()
            cpu = time.process_time()
            run()
            samples[name].append(time.process_time() - cpu)
    print({"shape": shape, **{k: statistics.median(v) / 20_000 * 1e6 for k, v in samples.items()}})
"""
"""Benchmark 2 in CPU time: microseconds of CPU a record, normalizing and `json.loads` alone,
over the bodies of benchmark 2 (20 pages of 1000 logs of shapes (a) and (d)), alternately,
written out so that both trees run the very same measurement."""


STORE = """
import json, os, sys, tempfile, time
from datetime import timedelta
from decimal import Decimal
import psycopg
from voice_usage import open_store
from benchmarks.bench_store import START, records

batch = records(200_000)

def write(store):
    chunk, since, index = timedelta(days=31), START, 0
    wall, cpu = time.perf_counter(), time.process_time()
    while index < len(batch):
        end = index
        while end < len(batch) and batch[end].period_start < since + chunk:
            end += 1
        store.write("flireo", None, "call", batch[index:end], since=since, until=since + chunk)
        index, since = end, since + chunk
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}

with tempfile.TemporaryDirectory() as folder, open_store(folder + "/b.sqlite3") as store:
    print({"database": "sqlite", **write(store)})
url = os.environ.get("VOICE_USAGE_BENCH_POSTGRES")
if url:
    name = f"voice_usage_against_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with open_store(url.rsplit("/", 1)[0] + "/" + name) as store:
            pid = store._db.execute("SELECT pg_backend_pid()").fetchone()[0]
            def server():
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            before = server()
            done = write(store)
            print({"database": "postgresql", **done, "server": server() - before})
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
"""
"""Benchmark 9a (200,000 call records written into an empty SQLite store, and PostgreSQL when
`VOICE_USAGE_BENCH_POSTGRES` names a server on this machine, whose own CPU time is read from
/proc), 31 days a transaction as sync writes; the records are made by each tree's own
`benchmarks.bench_store.records` (the same since the benchmark was written)."""


def _store(tree: Path, name: str, samples: dict[tuple[str, str], list[float]]) -> None:
    for row in _run(tree, "-c", STORE):
        database = row["database"]
        samples.setdefault((name, f"9a. {database}, records/s"), []).append(200_000 / row["wall"])
        samples.setdefault((name, f"9a. {database}, records/CPU s"), []).append(
            200_000 / row["cpu"]
        )
        if "server" in row:
            samples.setdefault((name, f"9a. {database}, server us/record"), []).append(
                row["server"] / 200_000 * 1e6
            )


def _environment(tree: Path) -> dict[str, str]:
    sources = [tree, tree / "src", *(tree / "providers" / name / "src" for name in PROVIDERS)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, sources))}


def _run(tree: Path, *arguments: str) -> list[dict[str, float | str]]:
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=tree,
        env=_environment(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    return [ast.literal_eval(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _cli_output(
    tree: Path, name: str, base_url: str, samples: dict[tuple[str, str], list[float]]
) -> None:
    for row in _run(tree, "-c", CLI_OUTPUT, base_url):
        for unit, key in (("wall", "wall"), ("CPU", "cpu")):
            samples.setdefault((name, f"6. {row['name']}, {unit} s"), []).append(float(row[key]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revision", help="the git revision to compare with, e.g. a commit")
    parser.add_argument("--runs", type=int, default=5, help="rounds of each (default 5)")
    parser.add_argument(
        "--cli-output",
        action="store_true",
        help="benchmark 6 instead: the CLI's fetch --format jsonl and csv beside the library",
    )
    parser.add_argument(
        "--store",
        action="store_true",
        help="benchmark 9a instead: records written into SQLite (and PostgreSQL, see bench_store)",
    )
    args = parser.parse_args()
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        other = Path(scratch) / "other"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(other), args.revision],
            cwd=ROOT,
            check=True,
        )
        trees = {args.revision: other, "this checkout": ROOT}
        try:
            options = {"logs_per_day": LOGS // DAYS, "rate_limit": 1_000_000}
            with emulator_process("flireo", LATENCY, **options) as base_url:
                for _ in range(args.runs):
                    for name, tree in trees.items():
                        if args.cli_output:
                            _cli_output(tree, name, base_url, samples)
                            continue
                        if args.store:
                            _store(tree, name, samples)
                            continue
                        (fetched,) = _run(tree, "-c", FETCH, base_url)
                        samples.setdefault((name, "1. fetch, wall s"), []).append(
                            float(fetched["wall"])
                        )
                        samples.setdefault((name, "1. fetch, CPU s"), []).append(
                            float(fetched["cpu"])
                        )
                        for row in _run(tree, "-m", "benchmarks.bench_normalize"):
                            key = (name, f"2. normalize ({row['shape']}), x json.loads")
                            samples.setdefault(key, []).append(float(row["ratio"]))
                        for row in _run(tree, "-c", NORMALIZE):
                            for figure in ("normalize", "json.loads"):
                                key = (name, f"2. {figure} ({row['shape']}), CPU us/record")
                                samples.setdefault(key, []).append(float(row[figure]))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT)
    if args.cli_output:
        for name in trees:
            for output_format in ("jsonl", "csv"):
                for unit in ("wall", "CPU"):
                    ratios = [
                        mine / library
                        for mine, library in zip(
                            samples[name, f"6. {output_format}, {unit} s"],
                            samples[name, f"6. library, {unit} s"],
                            strict=True,
                        )
                    ]
                    samples[name, f"6. {output_format} / library, {unit}"] = ratios
    figures = sorted({figure for _, figure in samples})
    rows = [
        (figure, *(f"{statistics.median(samples[name, figure]):.2f}" for name in trees))
        for figure in figures
    ]
    print(table(rows, ("median of " + str(args.runs), *trees)))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
