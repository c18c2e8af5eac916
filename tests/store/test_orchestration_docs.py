"""The recipes of docs/orchestration.md run: each orchestrator's decorators are replaced by
stand-ins that call the functions as it would, against the Flireo emulator.

Airflow, Dagster and Prefect are not installed for the tests; what is tested is the recipes'
own code (their calls to voice_usage.sync, the mapping over accounts, the partition window), not
the orchestrators. Where one of them is installed, its recipe is also imported with it.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from voice_usage import open_store
from voice_usage.emulator import EmulatorServer
from voice_usage_flireo.emulator import FlireoEmulator

pytestmark = pytest.mark.emulator

PAGE = Path(__file__).resolve().parents[2] / "docs" / "orchestration.md"
DAY = datetime(2026, 9, 14, tzinfo=UTC)


def block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    (found,) = [b for b in blocks if marker in b]
    return found


@pytest.fixture
def accounts(tmp_path: Path, fake_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    emulators = [FlireoEmulator(fake_key, rate_limit=None, seed=n, logs_per_day=10) for n in (1, 2)]
    with EmulatorServer(emulators[0]) as acme, EmulatorServer(emulators[1]) as globex:
        config = tmp_path / "voice-usage.toml"
        config.write_text(
            "".join(
                f'[[accounts.flireo]]\nname = "{name}"\napi_key_env = "{env}"\nbase_url = "{url}"\n'
                for name, env, url in (
                    ("acme", "FLIREO_ACME_API_KEY", acme.base_url),
                    ("globex", "FLIREO_GLOBEX_API_KEY", globex.base_url),
                )
            )
        )
        store = str(tmp_path / "usage.sqlite3")
        monkeypatch.setenv("VOICE_USAGE_CONFIG", str(config))
        monkeypatch.setenv("VOICE_USAGE_STORE", store)
        monkeypatch.setenv("FLIREO_ACME_API_KEY", fake_key)
        monkeypatch.setenv("FLIREO_GLOBEX_API_KEY", fake_key)
        yield store


def fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: Any) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    monkeypatch.setitem(sys.modules, name, module)
    if "." in name:
        parent, _, child = name.rpartition(".")
        monkeypatch.setattr(sys.modules[parent], child, module, raising=False)


def run_block(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "recipe"}
    exec(compile(code, str(PAGE), "exec"), namespace)
    return namespace


def stored(store: str, account: str) -> int:
    with open_store(store) as opened:
        records = opened.records(
            "flireo", account, "call", DAY - timedelta(days=400), DAY + timedelta(days=400)
        )
        return sum(1 for _ in records)


# -- Airflow ------------------------------------------------------------------------------------


class AirflowTask:
    """`@task`: calling it inside a DAG defines a task; `.expand()` maps it (here: runs it)."""

    runs: ClassVar[list[Any]] = []

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def expand(self, **mapped: list[Any]) -> None:
        ((name, values),) = mapped.items()
        for value in values:  # Airflow passes `ds` from the run's context
            AirflowTask.runs.append(self.func(**{name: value}, ds=DAY.date().isoformat()))


def test_the_airflow_recipe(accounts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(monkeypatch, "airflow")
    fake_module(
        monkeypatch,
        "airflow.decorators",
        task=lambda **options: AirflowTask,
        dag=lambda **options: lambda func: func,
    )
    AirflowTask.runs = []
    run_block(block("from airflow.decorators import dag, task"))
    runs = AirflowTask.runs
    assert [(r["provider"], r["account"]) for r in runs] == [
        ("flireo", "acme"),
        ("flireo", "globex"),
    ]
    # A first sync of 90 days up to the run's day (its logical date, inclusive).
    assert all(r["until"] == "2026-09-15T00:00:00Z" and r["new"] == 900 for r in runs), runs
    assert stored(accounts, "acme") == stored(accounts, "globex") == 900


# -- Dagster ------------------------------------------------------------------------------------


@dataclass
class TimeWindow:
    start: datetime
    end: datetime


@dataclass
class MaterializeResult:
    metadata: dict[str, Any]


def test_the_dagster_recipe(accounts: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(
        monkeypatch,
        "dagster",
        DailyPartitionsDefinition=lambda start_date: start_date,
        asset=lambda **options: lambda func: func,
        AssetExecutionContext=object,
        MaterializeResult=MaterializeResult,
        Definitions=lambda assets: assets,
    )
    recipe = run_block(block("import dagster as dg"))
    context = types.SimpleNamespace(partition_time_window=TimeWindow(DAY, DAY + timedelta(days=1)))
    first = recipe["voice_usage_history"](context)
    assert first.metadata == {"new": 20, "revised": 0, "requests": 2}
    again = recipe["voice_usage_history"](context)  # a partition materialized twice
    assert again.metadata == {"new": 0, "revised": 0, "requests": 2}
    assert stored(accounts, "acme") == stored(accounts, "globex") == 10


# -- Prefect ------------------------------------------------------------------------------------


class PrefectTask:
    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def map(self, *iterables: list[Any]) -> list[Any]:
        return [
            types.SimpleNamespace(result=lambda a=args: self.func(*a))
            for args in zip(*iterables, strict=True)
        ]


def test_the_prefect_recipe(accounts: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import voice_usage

    fake_module(
        monkeypatch,
        "prefect",
        task=lambda **options: PrefectTask,
        flow=lambda **options: lambda func: func,
    )
    real = voice_usage.sync
    monkeypatch.setattr(
        voice_usage, "sync", lambda *a, **kw: real(*a, now=DAY + timedelta(hours=3), **kw)
    )
    recipe = run_block(block("from prefect import flow, task"))
    results = recipe["voice_usage_daily"]()
    assert [(r["new"], r["until"]) for r in results] == [(900, "2026-09-14T00:00:00Z")] * 2
    # Three 31-day chunks of at most 310 logs: one page each.
    assert "flireo acme: 900 new, 0 revised, 3 requests" in capsys.readouterr().out
    again = recipe["voice_usage_daily"]()
    assert [(r["new"], r["unchanged"]) for r in again] == [(0, 20)] * 2  # the 2-day lookback


@pytest.mark.parametrize(
    ("package", "marker"),
    [("airflow", "from airflow"), ("dagster", "import dagster"), ("prefect", "from prefect")],
)
def test_the_recipe_imports_with_the_real_package(package: str, marker: str) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed here")
    code = block(marker).replace("voice_usage_daily.serve(", "print(")  # never start a server
    compile(code, str(PAGE), "exec")
