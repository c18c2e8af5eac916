"""Benchmark 7: a command line that answers at once.

`voice-usage --version`, `--help` and `providers` (the console script, in fresh processes),
next to `python -c pass`, alternated in one run; then where the slowest command's start-up time
goes, from `python -X importtime`: the modules that cost most, with what they import.

The processes may write and read bytecode caches (`__pycache__`), as an installed program does,
even where `PYTHONDONTWRITEBYTECODE` is set for development: without them every start compiles
each module it imports from source, which is most of the time measured and not what users see.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SCRIPT = shutil.which("voice-usage") or str(Path(sys.executable).parent / "voice-usage")
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
"""The children's environment: bytecode caches written and used, as in an installation."""
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "voice-usage --version": [SCRIPT, "--version"],
    "voice-usage --help": [SCRIPT, "--help"],
    "voice-usage providers": [SCRIPT, "providers"],
}


def _once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
    )
    return time.perf_counter() - started


def import_breakdown(arguments: list[str], top: int = 12) -> list[tuple[str, float, float]]:
    """(module, own ms, with its imports ms) of the costliest imports of ``voice-usage ARGS``."""
    code = f"from voice_usage.cli import main\ntry:\n    main({arguments!r})\nexcept SystemExit:\n    pass\n"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=ENV,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, total, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:
            rows.append((name.strip(), int(own) / 1000, int(total) / 1000))
    return sorted(rows, key=lambda row: row[2], reverse=True)[:top]


def run(runs: int = 10) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        _once(command)  # write the bytecode caches, and warm the file cache
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(_once(command))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    slowest = max((n for n in COMMANDS if n != "python -c pass"), key=lambda n: medians[n])
    return {
        "medians_s": medians,
        "slowest": slowest,
        "breakdown": import_breakdown(COMMANDS[slowest][1:]),
    }


if __name__ == "__main__":
    result = run()
    for name, seconds in result["medians_s"].items():
        print(f"{name}: {seconds * 1000:.0f} ms", file=sys.stderr)
    print(f"where {result['slowest']} spends its imports:", file=sys.stderr)
    for module, own, total in result["breakdown"]:
        print(f"  {module}: {total:.0f} ms ({own:.0f} ms its own)", file=sys.stderr)
