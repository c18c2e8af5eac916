"""The benchmarks stay runnable: a one-repetition run of the cheapest one, and every module imports."""

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


MODULES = sorted(
    path.stem for path in (ROOT / "benchmarks").glob("*.py") if not path.stem.startswith("__")
)


def test_the_benchmarks_are_found():
    assert {"run", "against", "bench_fetch", "bench_budget", "bench_peers"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_imports(name):
    importlib.import_module(f"benchmarks.{name}")


def test_normalization_benchmark_runs_and_counts_every_record():
    from benchmarks.bench_normalize import measure

    result = measure("a", runs=1)
    assert result["records"] == 20_000
    assert result["normalize_s"] > 0 and result["json_loads_s"] > 0


def test_the_startup_benchmark_reads_the_import_times_of_a_command():
    from benchmarks.bench_startup import import_breakdown, imports_ms

    rows = {module: (own, total) for module, own, total in import_breakdown(["--version"], top=500)}
    own, total = rows["voice_usage.cli"]
    assert 0 < own <= total
    assert "voice_usage.cli._app" in rows  # imported by voice_usage.cli: one level down
    assert "click.core" not in rows  # two levels down, inside click
    # Another process, another machine load: only that its own times were read and added up.
    assert imports_ms(["--version"]) > 0
