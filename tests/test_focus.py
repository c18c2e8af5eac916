"""FOCUS: the column-rules checker (tests/focus_rules.py, written from the FOCUS 1.3 text) and
the export held to it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


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
