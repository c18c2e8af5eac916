"""Benchmark 7: a command line that answers at once.

`voice-usage --version`, `--help` and `providers` (the console script, in fresh processes),
next to `python -c pass`, alternated in one run; then where the slowest command's start-up time
goes, from `python -X importtime`: the modules that cost most, with what they import.

Each command's CPU time is measured beside its wall time, and so is the sum of its imports' own
times under `-X importtime` (less disturbed than wall time on a shared machine). With
`--against REV`, the same commands run from another revision's sources too (a temporary worktree
first on `PYTHONPATH`, the installed dependencies shared), alternating with this checkout's:

    python3 -m uv run --locked python -m benchmarks.bench_startup --against e0aba50

The processes may write and read bytecode caches (`__pycache__`), as an installed program does,
even where `PYTHONDONTWRITEBYTECODE` is set for development: without them every start compiles
each module it imports from source, which is most of the time measured and not what users see.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, table

SCRIPT = shutil.which("voice-usage") or str(Path(sys.executable).parent / "voice-usage")
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
"""The children's environment: bytecode caches written and used, as in an installation."""
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "voice-usage --version": [SCRIPT, "--version"],
    "voice-usage --help": [SCRIPT, "--help"],
    "voice-usage providers": [SCRIPT, "providers"],
}


def _once(command: list[str], env: dict[str, str] = ENV) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` in a fresh process."""
    before, started = os.times(), time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    wall, after = time.perf_counter() - started, os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def _importtime(arguments: list[str], env: dict[str, str] = ENV) -> list[tuple[int, int, str]]:
    """(own us, with its imports us, indented name) of each import of ``voice-usage ARGS``."""
    code = (
        "from voice_usage.cli import main\n"
        f"try:\n    main({arguments!r})\nexcept SystemExit:\n    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, total, name = line.removeprefix("import time:").split("|")
        rows.append((int(own), int(total), name.rstrip()))
    return rows


def imports_ms(arguments: list[str], env: dict[str, str] = ENV) -> float:
    """Milliseconds ``voice-usage ARGS`` spends importing: the sum of every import's own time."""
    return sum(own for own, _, _ in _importtime(arguments, env)) / 1000


def import_breakdown(arguments: list[str], top: int = 12) -> list[tuple[str, float, float]]:
    """(module, own ms, with its imports ms) of the costliest imports of ``voice-usage ARGS``."""
    rows = []
    for own, total, name in _importtime(arguments):
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth <= 1:
            rows.append((name.strip(), own / 1000, total / 1000))
    return sorted(rows, key=lambda row: row[2], reverse=True)[:top]


def run(runs: int = 10) -> dict[str, Any]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    imports: dict[str, list[float]] = {name: [] for name in COMMANDS if name != "python -c pass"}
    for command in COMMANDS.values():
        _once(command)  # write the bytecode caches, and warm the file cache
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(_once(command))
            if name in imports:
                imports[name].append(imports_ms(command[1:]))
    medians = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    slowest = max(imports, key=lambda n: medians[n])
    return {
        "medians_s": medians,
        "cpu_s": {
            name: statistics.median(c for _, c in values) for name, values in samples.items()
        },
        "imports_ms": {name: statistics.median(values) for name, values in imports.items()},
        "slowest": slowest,
        "breakdown": import_breakdown(COMMANDS[slowest][1:]),
        "load": os.getloadavg()[0],
    }


def against(revision: str, runs: int = 10) -> list[tuple[str, ...]]:
    """This checkout's commands beside ``revision``'s, alternately: medians, and new / old."""
    scratch = tempfile.mkdtemp()
    other = Path(scratch) / "other"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), revision], cwd=ROOT)
    trees = {revision: other, "this checkout": ROOT}
    main = "import sys\nfrom voice_usage.cli import main\nmain(sys.argv[1:])\n"
    envs = {}
    for name, tree in trees.items():
        sources = [tree / "src", *sorted((tree / "providers").glob("*/src"))]
        envs[name] = {**ENV, "PYTHONPATH": os.pathsep.join(map(str, sources))}
    samples: dict[tuple[str, str, str], list[float]] = {}
    try:
        for turn in range(runs + 1):  # the first turn writes the bytecode caches
            order = list(trees) if turn % 2 else list(trees)[::-1]
            for name in order:
                for label, command in COMMANDS.items():
                    arguments = command[1:] if label != "python -c pass" else None
                    full = [sys.executable, "-c", main, *arguments] if arguments else command
                    wall, cpu = _once(full, envs[name])
                    figures = {"wall ms": wall * 1000, "CPU ms": cpu * 1000}
                    if arguments:
                        figures["imports ms"] = imports_ms(arguments, envs[name])
                    for figure, value in figures.items():
                        if turn:
                            samples.setdefault((label, figure, name), []).append(value)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT)
        shutil.rmtree(scratch, ignore_errors=True)
    rows = []
    for label in COMMANDS:
        for figure in ("wall ms", "CPU ms", "imports ms"):
            if (label, figure, revision) not in samples:
                continue
            old, new = (statistics.median(samples[label, figure, name]) for name in trees)
            rows.append((f"{label}, {figure}", f"{old:.0f}", f"{new:.0f}", f"{new / old:.2f}"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", metavar="REV", help="also time REV's sources, alternately")
    parser.add_argument("--runs", type=int, default=10, help="rounds (default 10)")
    args = parser.parse_args()
    if args.against:
        load = os.getloadavg()[0]
        rows = against(args.against, args.runs)
        print(f"medians of {args.runs} rounds; load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
        print(table(rows, ("", args.against, "this checkout", "this / that")))
        sys.exit(0)
    result = run(args.runs)
    print(f"load average {result['load']:.2f}", file=sys.stderr)
    for name, seconds in result["medians_s"].items():
        cpu = result["cpu_s"][name] * 1000
        imported = result["imports_ms"].get(name)
        more = f", imports {imported:.0f} ms" if imported is not None else ""
        print(f"{name}: {seconds * 1000:.0f} ms ({cpu:.0f} ms CPU{more})", file=sys.stderr)
    print(f"where {result['slowest']} spends its imports:", file=sys.stderr)
    for module, own, total in result["breakdown"]:
        print(f"  {module}: {total:.0f} ms ({own:.0f} ms its own)", file=sys.stderr)
