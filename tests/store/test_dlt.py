"""The dlt source, end to end into DuckDB: merged on the store's key, idempotent, exact."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from voice_usage.emulator import EmulatorServer, Fault
from voice_usage_flireo import FlireoProvider
from voice_usage_flireo.emulator import FlireoEmulator

dlt = pytest.importorskip("dlt")
duckdb = pytest.importorskip("duckdb")

pytestmark = pytest.mark.emulator


@pytest.fixture(autouse=True)
def quiet_dlt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")  # no network from the tests
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))


@pytest.fixture
def flireo(fake_key: str) -> Iterator[EmulatorServer]:
    with EmulatorServer(FlireoEmulator(fake_key, rate_limit=None, logs_per_day=20)) as server:
        yield server


def load(tmp_path: Path, server: EmulatorServer, key: str, until: str = "2026-09-08") -> Any:
    from voice_usage.dlt import voice_usage_source

    pipeline = dlt.pipeline(
        pipeline_name="voice_usage_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
        dataset_name="usage",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    source = voice_usage_source(
        [FlireoProvider().name],
        since="2026-09-01",
        until=until,
        api_key=key,
        base_url=server.base_url,
    )
    pipeline.run(source)
    return pipeline


def rows(tmp_path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as db:
        return db.execute(
            "SELECT record_key, cost, duration_seconds, series, account_key FROM usage.flireo_usage "
            "ORDER BY record_key"
        ).fetchall()


def test_load_into_duckdb_twice_and_merge_a_correction(
    tmp_path: Path, flireo: EmulatorServer, fake_key: str
) -> None:
    import voice_usage

    expected = voice_usage.fetch(
        "flireo", "2026-09-01", "2026-09-08", "call", api_key=fake_key, base_url=flireo.base_url
    )
    load(tmp_path, flireo, fake_key)
    first = rows(tmp_path)
    assert len(first) == 7 * 20
    assert {r[0] for r in first} == {f"call:{r.call_id}" for r in expected}
    assert {(r[3], r[4]) for r in first} == {("call", "")}
    # Exact decimals: the sum in the warehouse is the Decimal sum of the records.
    assert sum((r[1] for r in first), Decimal(0)) == sum((r.cost for r in expected), Decimal(0))
    assert all(isinstance(r[1], Decimal) for r in first)

    load(tmp_path, flireo, fake_key)  # the same run again: nothing duplicated
    assert rows(tmp_path) == first

    def correct(body: Any, request: Any) -> Any:
        for log in body["logs"]:
            if log["created_at"].startswith("2026-09-07"):
                log["cost"] = 9.99
                break
        return body

    flireo.faults.add(Fault(action="rewrite", rewrite=correct, path="/usage"), times=None)
    load(tmp_path, flireo, fake_key)  # the lookback (2 days) re-reads 2026-09-06 and 07
    after = rows(tmp_path)
    assert len(after) == len(first)
    changed = [(a, b) for a, b in zip(first, after, strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][1][1] == Decimal("9.99")
