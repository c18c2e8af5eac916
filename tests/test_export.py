"""Exports: pandas, Parquet and FinOps FOCUS columns, and the `export` command."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import voice_usage
from voice_usage import (
    ConfigurationError,
    CostSource,
    Grain,
    UsageRecord,
    focus_rows,
    to_focus,
    to_pandas,
    write_focus_csv,
    write_parquet,
)
from voice_usage._outputs._export import FOCUS_COLUMNS, focus_warning
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer
from voice_usage_flireo.emulator import FlireoEmulator

START = datetime(2026, 10, 14, 9, 30, tzinfo=UTC)

CALL = UsageRecord(
    provider="flireo",
    grain=Grain.EVENT,
    period_start=START,
    period_end=START + timedelta(seconds=601),
    calls=1,
    failed_calls=0,
    duration_seconds=Decimal(601),
    billed_minutes=Decimal(601) / 60,
    cost=Decimal("0.701167"),  # 601/60 min x EUR 0.07, to a millionth
    currency="EUR",
    cost_source=CostSource.RATE_CARD,
    cost_note="rate card flireo/call@2025-12-01: EUR 0.07/min",
    rate_card="flireo/call@2025-12-01",
    cost_components={"orchestration": Decimal("0.701167")},
    cost_covers=("platform",),
    call_id="call-1",
    number_id="num-1",
    extras={"call_type": "phone"},
)
WINDOW = UsageRecord(
    provider="agentphone",
    grain=Grain.WINDOW,
    period_start=datetime(2026, 10, 1, tzinfo=UTC),
    period_end=datetime(2026, 11, 1, tzinfo=UTC),
    calls=40,
    agent_id="agent-7",
    cost_note="AgentPhone reports no cost",
)
NAMES = {"flireo": "Flireo", "agentphone": "AgentPhone"}


def test_focus_row_maps_the_record_to_focus_columns():
    row = to_focus(CALL, provider_names=NAMES)
    assert list(row) == list(FOCUS_COLUMNS)
    assert row["BilledCost"] == Decimal("0.701167") and row["BillingCurrency"] == "EUR"
    assert row["EffectiveCost"] == row["BilledCost"]
    # The card's price per minute times the pricing quantity: 0.07 x 601/60 = 0.7011666...
    assert row["ListUnitPrice"] == row["ContractedUnitPrice"] == Decimal("0.07")
    assert row["ListCost"] == row["ContractedCost"] == Decimal("0.701167")
    assert row["ChargePeriodStart"] == START
    assert row["ChargePeriodEnd"] == START + timedelta(seconds=601)
    assert row["BillingPeriodStart"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert row["BillingPeriodEnd"] == datetime(2026, 11, 1, tzinfo=UTC)
    assert (row["ConsumedQuantity"], row["ConsumedUnit"]) == (Decimal(601), "Seconds")
    assert (row["PricingQuantity"], row["PricingUnit"]) == (Decimal(601) / 60, "Minutes")
    assert row["ChargeCategory"] == "Usage" and row["ChargeFrequency"] == "Usage-Based"
    assert row["ProviderName"] == row["PublisherName"] == row["InvoiceIssuerName"] == "Flireo"
    assert row["ServiceProviderName"] == row["HostProviderName"] == "Flireo"
    assert (row["ResourceId"], row["ResourceType"]) == ("call-1", "Call")
    # The SKU price stays the same when the price changes: no date in it.
    assert (row["SkuId"], row["SkuPriceId"]) == ("flireo/call", "flireo/call")
    assert row["ServiceSubcategory"] == "Bots" and row["PricingCategory"] == "Standard"
    assert row["BillingAccountId"] == "flireo:default"
    assert row["x_CostSource"] == "rate_card" and row["x_Provider"] == "flireo"
    assert row["x_RateCard"] == "flireo/call@2025-12-01"
    assert row["x_CostComponents"] == '{"orchestration": "0.701167"}'
    assert row["x_CostCovers"] == "platform" and row["x_Inferred"] == "increment_seconds"
    # FOCUS asks custom columns to come after its own, prefixed x_
    customs = [c for c in FOCUS_COLUMNS if c.startswith("x_")]
    assert list(FOCUS_COLUMNS)[-len(customs) :] == customs


def test_a_record_of_unknown_cost_is_left_out_of_focus_and_counted():
    with pytest.raises(ValueError, match="cost unknown"):
        to_focus(WINDOW, provider_names=NAMES)
    left_out: dict[str, int] = {}
    assert list(focus_rows([WINDOW], provider_names=NAMES, left_out=left_out)) == []
    assert left_out == {"cost unknown": 1}
    assert focus_warning(left_out) == (
        "1 record left out of the FOCUS export (1 with cost unknown): FOCUS has no null cost "
        "or quantity on a usage row"
    )


def test_focus_provider_names_default_to_the_installed_titles():
    [row] = focus_rows([CALL])
    assert row["ProviderName"] == "Flireo"
    odd = CALL.model_copy(update={"provider": "unknown-vendor"})
    assert to_focus(odd)["ProviderName"] == "unknown-vendor"


def test_focus_csv_has_the_header_and_iso_times():
    out = io.StringIO()
    left_out: dict[str, int] = {}
    assert write_focus_csv([CALL, WINDOW], out, provider_names=NAMES, left_out=left_out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(FOCUS_COLUMNS)
    assert rows[0]["BilledCost"] == "0.701167"
    assert rows[0]["ChargePeriodStart"] == "2026-10-14T09:30:00Z"
    assert rows[0]["x_CostEstimate"] == "false"
    assert len(rows) == 1 and left_out == {"cost unknown": 1}


def test_to_pandas_keeps_decimals_and_utc_times():
    frame = to_pandas([CALL, WINDOW])
    assert list(frame.columns) == list(voice_usage._outputs._serialize.CSV_COLUMNS)
    assert len(frame) == 2
    assert frame.loc[0, "cost"] == Decimal("0.701167")
    assert isinstance(frame.loc[0, "cost"], Decimal)
    assert str(frame["period_start"].dt.tz) == "UTC"
    assert frame.loc[0, "period_start"] == pd.Timestamp("2026-10-14T09:30:00Z")
    assert frame.loc[0, "extras"] == json.dumps({"call_type": "phone"})
    assert frame.loc[1, "cost"] is None or pd.isna(frame.loc[1, "cost"])
    focus = to_pandas([CALL], focus=True, provider_names=NAMES)
    assert focus.loc[0, "BilledCost"] == Decimal("0.701167")
    assert str(focus["ChargePeriodStart"].dt.tz) == "UTC"


def test_parquet_round_trip_with_decimal_columns(tmp_path: Path):
    path = tmp_path / "usage.parquet"
    assert write_parquet([CALL, WINDOW], path, batch_size=1) == 2
    table = pq.read_table(path)
    assert table.schema.field("cost").type == pa.decimal128(38, 9)
    assert table.schema.field("period_start").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("calls").type == pa.int64()
    rows = table.to_pylist()
    assert rows[0]["cost"] == Decimal("0.701167000")
    # 601/60 does not end: kept to 9 places, rounded half-up
    assert rows[0]["billed_minutes"] == Decimal("10.016666667")
    assert rows[1]["cost"] is None and rows[1]["calls"] == 40


def test_parquet_focus_and_empty(tmp_path: Path):
    path = tmp_path / "focus.parquet"
    write_parquet([CALL], path, focus=True, provider_names=NAMES)
    table = pq.read_table(path)
    assert table.column_names == list(FOCUS_COLUMNS)
    assert table.to_pylist()[0]["BilledCost"] == Decimal("0.701167000")
    # The FOCUS metadata, with its version, travels in the file's schema metadata.
    metadata = json.loads(table.schema.metadata[b"focus_metadata"])
    assert metadata["Schema"]["FocusVersion"] == "1.3"
    names = [c["ColumnName"] for c in metadata["Schema"]["ColumnDefinition"]]
    assert names == list(FOCUS_COLUMNS)
    empty = tmp_path / "empty.parquet"
    assert write_parquet([], empty) == 0
    assert pq.read_table(empty).num_rows == 0


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch):
    import importlib

    real = importlib.import_module

    def fake(name: str, *args: Any) -> Any:
        if name.startswith(("pandas", "pyarrow")):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ConfigurationError, match=r"voice-usage\[pandas\]"):
        to_pandas([CALL])
    with pytest.raises(ConfigurationError, match=r"voice-usage\[parquet\]"):
        write_parquet([CALL], "never.parquet")


def test_comparison_to_pandas():
    from voice_usage.testing import RecordsProvider

    provider = RecordsProvider([CALL.model_copy(update={"provider": "one"})], name="one")
    result = voice_usage.compare(
        [provider],
        "2026-10-01",
        "2026-11-01",
        connect_options={"one": {"api_key": "k", "transport": provider.transport("k")}},
    )
    frame = result.to_pandas()
    assert list(frame["provider"]) == ["one"]
    assert frame.loc[0, "cost"] == Decimal("0.701167")
    assert frame.loc[0, "rate_cards"] == "flireo/call@2025-12-01"


class TwoLogs(FlireoEmulator):
    def __init__(self, api_key: str) -> None:
        day = START.date()
        super().__init__(api_key, shape="c", logs_per_day=lambda d: 2 if d == day else 0)


@pytest.mark.parametrize("name", ["usage.csv", "usage.jsonl", "usage.json", "usage.parquet"])
def test_export_command_writes_by_suffix(tmp_path: Path, fake_key: str, name: str):
    target = tmp_path / name
    with EmulatorServer(TwoLogs(fake_key)) as server:
        env = {
            "FLIREO_API_KEY": fake_key,
            "FLIREO_BASE_URL": server.base_url,
            "VOICE_USAGE_RATECARDS": "",
        }
        result = CliRunner().invoke(
            cli,
            [
                "export",
                "flireo",
                "--since",
                "2026-10-01",
                "--until",
                "2026-11-01",
                "--output",
                str(target),
            ],
            env=env,
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.stderr
    assert f"wrote 2 records to {target}" in result.stderr
    if name.endswith(".parquet"):
        assert pq.read_table(target).num_rows == 2
    elif name.endswith(".csv"):
        assert len(target.read_text(encoding="utf-8").strip().splitlines()) == 3
    elif name.endswith(".jsonl"):
        assert len(target.read_text(encoding="utf-8").strip().splitlines()) == 2
    else:
        assert len(json.loads(target.read_text(encoding="utf-8"))) == 2


def test_export_focus_csv(tmp_path: Path, fake_key: str):
    target = tmp_path / "focus.csv"
    with EmulatorServer(TwoLogs(fake_key)) as server:
        env = {"FLIREO_API_KEY": fake_key, "FLIREO_BASE_URL": server.base_url}
        result = CliRunner().invoke(
            cli,
            [
                "export",
                "flireo",
                "--since",
                "2026-10-01",
                "--until",
                "2026-11-01",
                "--output",
                str(target),
                "--focus",
            ],
            env=env,
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 2 and {r["ProviderName"] for r in rows} == {"Flireo"}
    assert {r["BillingCurrency"] for r in rows} == {"EUR"}


def test_export_rejects_an_unknown_suffix(tmp_path: Path):
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "flireo",
            "--since",
            "2026-10-01",
            "--until",
            "2026-11-01",
            "--output",
            str(tmp_path / "x.xlsx"),
        ],
    )
    assert result.exit_code == 2
