"""FOCUS: the column-rules checker (tests/focus_rules.py, written from the FOCUS 1.3 text) and
the export held to it."""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import voice_usage
from voice_usage import CostSource, Grain, UsageRecord
from voice_usage._outputs._export import (
    FOCUS_VERSION,
    focus_metadata,
    write_focus_csv,
)
from voice_usage.cli._demo import demo_connections


def _load_rules() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "focus_rules", Path(__file__).with_name("focus_rules.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


rules = _load_rules()

GOOD: dict[str, Any] = {
    "BilledCost": "0.14",
    "BillingAccountId": "acme",
    "BillingAccountName": "Acme",
    "BillingCurrency": "EUR",
    "BillingPeriodEnd": "2026-11-01T00:00:00Z",
    "BillingPeriodStart": "2026-10-01T00:00:00Z",
    "ChargeCategory": "Usage",
    "ChargeClass": "",
    "ChargeDescription": "Flireo call minutes",
    "ChargeFrequency": "Usage-Based",
    "ChargePeriodEnd": "2026-10-02T10:01:24Z",
    "ChargePeriodStart": "2026-10-02T10:00:00Z",
    "ConsumedQuantity": "84",
    "ConsumedUnit": "Seconds",
    "ContractedCost": "0.14",
    "ContractedUnitPrice": "0.07",
    "EffectiveCost": "0.14",
    "HostProviderName": "Flireo",
    "InvoiceIssuerName": "Flireo",
    "ListCost": "0.14",
    "ListUnitPrice": "0.07",
    "PricingCategory": "Standard",
    "PricingQuantity": "2",
    "PricingUnit": "Minutes",
    "ProviderName": "Flireo",
    "PublisherName": "Flireo",
    "ResourceId": "call-1",
    "ResourceType": "Call",
    "ServiceCategory": "AI and Machine Learning",
    "ServiceName": "Flireo voice agents",
    "ServiceProviderName": "Flireo",
    "ServiceSubcategory": "Bots",
    "SkuId": "flireo/call",
    "SkuPriceId": "flireo/call",
    "x_Provider": "flireo",
}


def test_a_good_row_passes():
    assert rules.check_rows(list(GOOD), [GOOD]) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"BilledCost": ""}, "BilledCost is null"),
        ({"BillingCurrency": ""}, "BillingCurrency is null"),
        ({"BillingCurrency": "euro"}, "not an ISO 4217"),
        ({"BillingAccountId": ""}, "BillingAccountId is null"),
        ({"ListCost": "1,40"}, "not a NumericFormat"),
        ({"EffectiveCost": "EUR 0.14"}, "not a NumericFormat"),
        ({"ChargePeriodStart": "2026-10-02 10:00:00"}, "not YYYY-MM-DDTHH:mm:ssZ"),
        ({"ChargePeriodStart": "2026-10-02T10:00:00.5Z"}, "not YYYY-MM-DDTHH:mm:ssZ"),
        ({"ChargeCategory": "Calls"}, "not one of the allowed values"),
        ({"ChargeClass": "Refund"}, "not one of the allowed values"),
        ({"ServiceCategory": "Voice"}, "not one of the allowed values"),
        ({"ServiceSubcategory": ""}, "ServiceSubcategory is null"),
        ({"ServiceSubcategory": "Network Connectivity"}, "belongs to 'Networking'"),
        ({"PricingQuantity": ""}, "PricingQuantity is null on a Usage row"),
        ({"PricingUnit": ""}, "PricingUnit is null while PricingQuantity is set"),
        ({"ConsumedQuantity": ""}, "ConsumedQuantity is null on a Usage row"),
        ({"SkuPriceId": ""}, "SkuPriceId is null on a Usage row"),
        ({"SkuId": ""}, "SkuPriceId needs its parent SkuId"),
        ({"ListUnitPrice": ""}, "ListUnitPrice is null on a Usage row"),
        ({"ListCost": "0.15"}, "ListCost 0.15 is not ListUnitPrice x PricingQuantity"),
        ({"ContractedUnitPrice": "0.06"}, "ContractedCost 0.14 is not ContractedUnitPrice"),
        ({"PricingCategory": ""}, "PricingCategory is null on a Usage row"),
        ({"ConsumedUnit": "seconds"}, "not a UnitFormat unit"),
        ({"ResourceType": ""}, "ResourceType is null while ResourceId is set"),
        ({"ChargePeriodEnd": "2026-10-02T10:00:00Z"}, "ChargePeriodEnd is not after"),
        ({"HostProviderName": ""}, "HostProviderName is null"),
        (
            {"ChargeCategory": "Purchase", "ChargeFrequency": "Usage-Based"},
            "must be null on a Purchase",
        ),
    ],
)
def test_each_rule_catches_its_breach(change, problem):
    row = {**GOOD, **change}
    found = rules.check_rows(list(row), [row])
    assert any(problem in p for p in found), found


def test_the_header_rules():
    assert "mandatory column ServiceProviderName is missing" in rules.check_header(
        [c for c in GOOD if c != "ServiceProviderName"]
    )
    assert any("comes after custom x_" in p for p in rules.check_header(["x_A", *GOOD]))
    assert any("neither a FOCUS" in p for p in rules.check_header([*GOOD, "Minutes"]))


def test_a_sku_price_has_one_parent_sku():
    other = {**GOOD, "SkuId": "flireo/other"}
    assert any(
        "more than one parent SkuId" in p for p in rules.check_rows(list(GOOD), [GOOD, other])
    )


# -- the export, held to the rules -------------------------------------------------------------

SINCE, UNTIL = "2026-10-01", "2026-10-08"


def _csv_rows(records: list[Any]) -> tuple[list[str], list[dict[str, str]], dict[str, int]]:
    out = io.StringIO()
    left_out: dict[str, int] = {}
    write_focus_csv(records, out, left_out=left_out)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    rows = list(reader)
    return list(reader.fieldnames or []), rows, left_out


@pytest.mark.emulator
def test_focus_exports_of_every_provider_pass_the_column_rules():
    checked: dict[str, int] = {}
    with demo_connections() as connections:
        assert {"flireo", "ultravox", "agentphone"} <= set(connections)
        for name, connection in connections.items():
            for granularity in connection.provider.capabilities.granularities:
                try:
                    result = connection.fetch(SINCE, UNTIL, granularity)
                    records = result.to_list()
                except voice_usage.UnsupportedQueryError:
                    continue
                columns, rows, left_out = _csv_rows(records)
                assert rules.check_rows(columns, rows) == [], (name, granularity)
                unknown = sum(1 for r in records if r.cost is None)
                # Unknown costs are left out and counted, never written as 0.
                assert left_out.get("cost unknown", 0) == unknown, (name, granularity)
                assert len(rows) + sum(left_out.values()) == len(records)
                checked[f"{name} {granularity.value}"] = len(rows)
    assert any(n for k, n in checked.items() if k.startswith("ultravox"))
    assert any(n for k, n in checked.items() if k.startswith("flireo"))


def test_unknown_cost_records_are_left_out_and_the_rest_pass():
    start = datetime(2026, 10, 2, 10, 0, 0, 250000, tzinfo=UTC)
    priced = UsageRecord(
        provider="agentphone",
        grain=Grain.WINDOW,
        period_start=start,
        period_end=start + timedelta(days=1),
        calls=3,
        duration_seconds=Decimal(3),  # three one-second calls: the cent minimum decides
        billed_minutes=Decimal("0.05"),
        cost=Decimal("0.03"),
        currency="USD",
        cost_source="rate_card",
        rate_card="agentphone/call[webhook]@2025-06-01",
        cost_components={"voice_webhook": Decimal("0.03")},
        cost_covers=("platform", "telephony", "stt", "llm", "tts"),
    )
    reported = priced.model_copy(
        update={
            "provider": "flireo",
            "rate_card": None,
            "cost_source": CostSource.REPORTED,
            "cost": Decimal("0.10"),
            "currency": "EUR",
            "billed_minutes": Decimal(2),
            "cost_components": None,
        }
    )
    unknown = priced.model_copy(
        update={
            "cost": None,
            "currency": None,
            "cost_source": None,
            "rate_card": None,
            "cost_components": None,
            "cost_covers": None,
            "cost_note": "no rate card",
        }
    )
    columns, rows, left_out = _csv_rows([priced, unknown, reported])
    assert rules.check_rows(columns, rows) == []
    assert left_out == {"cost unknown": 1}
    first, second = rows
    # The list price is the card's, times the quantity; the minimum makes the billed cost.
    assert (first["ListUnitPrice"], first["PricingQuantity"]) == ("0.13", "0.05")
    assert first["ListCost"] == "0.006500" and first["BilledCost"] == "0.03"
    assert first["SkuPriceId"] == "agentphone/call[webhook]"
    assert first["ChargePeriodStart"] == "2026-10-02T10:00:00Z"  # whole seconds, widened
    assert first["ChargePeriodEnd"] == "2026-10-03T10:00:01Z"
    # A reported cost has no list price: its price per minute is the cost per minute.
    assert (second["ListUnitPrice"], second["ListCost"]) == ("0.0500000000", "0.100000")


def test_the_focus_metadata_names_the_version_and_every_custom_column():
    metadata = focus_metadata()
    assert metadata["Schema"]["FocusVersion"] == FOCUS_VERSION == "1.3"
    custom = [c for c in metadata["Schema"]["ColumnDefinition"] if c["ColumnName"].startswith("x_")]
    assert all(c["Description"] for c in custom)
