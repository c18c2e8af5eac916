"""Benchmarks 1 and 2 for this checkout against another revision, alternately, in one session.

    python3 -m uv run --locked python -m benchmarks.against dcf8e49 [--runs 5]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revision", help="the git revision to compare with, e.g. a commit")
    parser.add_argument("--runs", type=int, default=5, help="rounds of each (default 5)")
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
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT)
    figures = sorted({figure for _, figure in samples})
    rows = [
        (figure, *(f"{statistics.median(samples[name, figure]):.2f}" for name in trees))
        for figure in figures
    ]
    print(table(rows, ("median of " + str(args.runs), *trees)))


if __name__ == "__main__":
    main()
