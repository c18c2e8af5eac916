"""Records as FinOps FOCUS 1.3 rows (the Cost and Usage dataset).

FOCUS (FinOps Open Cost and Usage Specification) lets voice usage drop into FinOps tools. Each
record with a known cost becomes one `Usage` row; a record whose cost is unknown cannot be one
(FOCUS allows no null BilledCost, EffectiveCost, ListCost, ContractedCost or BillingCurrency), so
it is left out and counted, never written as 0: `FocusRows.left_out` says how many and why.

How the columns are filled (docs/guide.md, "Exports", has the table):

- Quantities: `ConsumedQuantity` is the measured seconds (else the billed minutes, else the
  calls); `PricingQuantity` the billed minutes (else the measured minutes, else the calls).
- Prices: a record priced from a rate card names it, and the card gives `ListUnitPrice`
  (= `ContractedUnitPrice`: no negotiated terms are known) per minute; `SkuPriceId` is the
  card line without its date, `provider/item[variant]`, so it stays the same when the price
  changes, and its parent `SkuId` is `provider/item`. `ListCost` and `ContractedCost` are that
  price times `PricingQuantity`; `BilledCost` and `EffectiveCost` are the record's cost, which
  may differ from them by a per-call minimum or by another line item of the record (Ultravox's
  SIP minutes), split in `x_CostComponents`. A reported cost has no list price: its unit price
  is the cost per pricing unit, and `SkuPriceId` is `provider/item`.
- Money and prices carry 6 decimal places in costs (`COST_QUANTUM`) and 10 in unit prices; the
  column rules hold to half a millionth.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from voice_usage._pricing._ratecard import COST_QUANTUM, MINUTES_QUANTUM, RateBook
from voice_usage._rollup import bucket
from voice_usage._schema import Grain, Granularity, UsageRecord
from voice_usage._version import __version__

__all__ = [
    "FOCUS_COLUMNS",
    "FOCUS_DECIMALS",
    "FOCUS_TIMES",
    "FOCUS_VERSION",
    "FocusRows",
    "focus_metadata",
]

FOCUS_VERSION = "1.3"
"""The FOCUS version the rows follow (ratified December 2025)."""

UNIT_PRICE_QUANTUM = Decimal("0.0000000001")
"""Unit prices derived from a reported cost are rounded half-up to this."""

FOCUS_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "HostProviderName",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ResourceId",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "x_Provider",
    "x_Grain",
    "x_Item",
    "x_Calls",
    "x_FailedCalls",
    "x_CostSource",
    "x_RateCard",
    "x_CostEstimate",
    "x_CostComponents",
    "x_CostCovers",
    "x_Inferred",
    "x_CostNote",
    "x_AgentId",
    "x_NumberId",
    "x_CallId",
)
"""Columns written, in order: FOCUS's, then voice-usage's `x_` columns, as FOCUS asks."""

FOCUS_DECIMALS = (
    "BilledCost",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
)
FOCUS_TIMES = ("BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart")

_CUSTOM = {
    "x_Provider": ("String", "voice-usage's provider name (`flireo`)"),
    "x_Grain": ("String", "`event` (one call) or `window` (an aggregate over the charge period)"),
    "x_Item": ("String", "the metered item: `call` minutes or `sip` minutes"),
    "x_Calls": ("Integer", "calls in the row (1 for an event)"),
    "x_FailedCalls": ("Integer", "calls that ended in an error, when the vendor says"),
    "x_CostSource": ("String", "`reported` by the vendor or computed from a `rate_card`"),
    "x_RateCard": ("String", "the dated rate-card line that priced the row"),
    "x_CostEstimate": ("Boolean", "true when the cost is an estimate"),
    "x_CostComponents": (
        "JSON",
        "the line items BilledCost is made of: an object of name -> decimal string",
    ),
    "x_CostCovers": (
        "String",
        "the parts of a call BilledCost pays for, comma-separated: platform, telephony, stt, "
        "llm, tts",
    ),
    "x_Inferred": ("String", "billing rules of the rate card inferred, not stated by the vendor"),
    "x_CostNote": ("String", "how the cost was obtained, for people"),
    "x_AgentId": ("String", "the vendor's agent id"),
    "x_NumberId": ("String", "the vendor's phone-number id"),
    "x_CallId": ("String", "the vendor's call id"),
}


def focus_metadata() -> dict[str, Any]:
    """The FOCUS metadata of the export: data generator and schema, with the FOCUS version.

    The same for every export of this version of voice-usage (no timestamps), so identical
    input gives identical files.
    """
    focus_types = {c: "Decimal" for c in FOCUS_DECIMALS} | {c: "DateTime" for c in FOCUS_TIMES}
    columns: list[dict[str, Any]] = []
    for name in FOCUS_COLUMNS:
        if name in _CUSTOM:
            kind, description = _CUSTOM[name]
            columns.append({"ColumnName": name, "DataType": kind, "Description": description})
        else:
            entry: dict[str, Any] = {
                "ColumnName": name,
                "DataType": focus_types.get(name, "String"),
            }
            if name in FOCUS_DECIMALS:
                entry["NumberScale"] = 10 if name.endswith("UnitPrice") else 6
            columns.append(entry)
    return {
        "DataGenerator": {"DataGenerator": f"voice-usage {__version__}"},
        "Schema": {
            "SchemaId": f"voice-usage-focus-{FOCUS_VERSION}-{__version__}",
            "FocusVersion": FOCUS_VERSION,
            "ColumnDefinition": columns,
        },
    }


class FocusRows:
    """Turns records into FOCUS rows, and counts the records it cannot turn into one.

    Args:
        title: The vendor's display name from a provider name (`ProviderName` and its kin).
        book: The rate book whose lines the records' `rate_card` labels name.
    """

    def __init__(self, title: Callable[[str], str], book: RateBook) -> None:
        self.title = title
        self.book = book
        self.left_out: dict[str, int] = {}
        """Records left out, by reason (`cost unknown`, `no quantity to price`)."""

    def rows(self, records: Iterable[UsageRecord]) -> Iterator[dict[str, Any]]:
        """The rows of ``records``, lazily; left-out records are counted in `left_out`."""
        for record in records:
            row = self.row(record)
            if row is not None:
                yield row

    @property
    def warning(self) -> str | None:
        """One line saying what was left out and why, or `None`."""
        if not self.left_out:
            return None
        parts = ", ".join(f"{n} with {why}" for why, n in sorted(self.left_out.items()))
        total = sum(self.left_out.values())
        return (
            f"{total} record{'s' if total != 1 else ''} left out of the FOCUS export ({parts}): "
            "FOCUS has no null cost or quantity on a usage row"
        )

    def _skip(self, why: str) -> None:
        self.left_out[why] = self.left_out.get(why, 0) + 1

    def row(self, record: UsageRecord) -> dict[str, Any] | None:
        """One record's row, or `None` (counted) when FOCUS cannot hold it."""
        if record.cost is None or record.currency is None:
            self._skip("cost unknown")
            return None
        consumed = _quantity(record, ("duration_seconds", "billed_minutes", "calls"))
        pricing = _pricing_quantity(record)
        if consumed is None or pricing is None:
            self._skip("no quantity to price")
            return None
        quantity, unit = pricing
        rate = self.book.by_label(record.rate_card) if record.rate_card else None
        if rate is not None and unit == "Minutes":
            sku = f"{rate.provider}/{rate.item}"
            sku_price = sku + (f"[{rate.variant}]" if rate.variant else "")
            unit_price = rate.price_per_minute
            inferred = ", ".join(rate.inferred) or None
        else:
            sku = sku_price = f"{record.provider}/{record.item}"
            unit_price = (
                (record.cost / quantity).quantize(UNIT_PRICE_QUANTUM, ROUND_HALF_UP)
                if quantity
                else Decimal(0)
            )
            inferred = None
        list_cost = (unit_price * quantity).quantize(COST_QUANTUM, ROUND_HALF_UP)
        vendor = self.title(record.provider)
        billing_start, billing_end = bucket(record.period_start, Granularity.MONTH)
        start, end = _whole_seconds(record.period_start, record.period_end)
        resource_id, resource_type = _resource(record)
        components = record.cost_components
        return {
            "BilledCost": record.cost,
            "BillingAccountId": record.account or f"{record.provider}:default",
            "BillingAccountName": record.account or f"{vendor} account",
            "BillingCurrency": record.currency,
            "BillingPeriodEnd": billing_end,
            "BillingPeriodStart": billing_start,
            "ChargeCategory": "Usage",
            "ChargeClass": None,
            "ChargeDescription": f"{vendor} {record.item} minutes",
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodEnd": end,
            "ChargePeriodStart": start,
            "ConsumedQuantity": consumed[0],
            "ConsumedUnit": consumed[1],
            "ContractedCost": list_cost,
            "ContractedUnitPrice": unit_price,
            "EffectiveCost": record.cost,
            "HostProviderName": vendor,
            "InvoiceIssuerName": vendor,
            "ListCost": list_cost,
            "ListUnitPrice": unit_price,
            "PricingCategory": "Standard",
            "PricingQuantity": quantity,
            "PricingUnit": unit,
            "ProviderName": vendor,
            "PublisherName": vendor,
            "ResourceId": resource_id,
            "ResourceType": resource_type,
            "ServiceCategory": "AI and Machine Learning",
            "ServiceName": f"{vendor} voice agents",
            "ServiceProviderName": vendor,
            "ServiceSubcategory": "Bots",
            "SkuId": sku,
            "SkuPriceId": sku_price,
            "x_Provider": record.provider,
            "x_Grain": record.grain.value,
            "x_Item": record.item,
            "x_Calls": record.calls,
            "x_FailedCalls": record.failed_calls,
            "x_CostSource": record.cost_source.value if record.cost_source else None,
            "x_RateCard": record.rate_card,
            "x_CostEstimate": record.cost_estimate,
            "x_CostComponents": (
                json.dumps({k: str(v) for k, v in sorted(components.items())})
                if components is not None
                else None
            ),
            "x_CostCovers": ",".join(record.cost_covers) if record.cost_covers else None,
            "x_Inferred": inferred,
            "x_CostNote": record.cost_note,
            "x_AgentId": record.agent_id,
            "x_NumberId": record.number_id,
            "x_CallId": record.call_id,
        }


def _quantity(record: UsageRecord, order: tuple[str, ...]) -> tuple[Decimal, str] | None:
    units = {"duration_seconds": "Seconds", "billed_minutes": "Minutes", "calls": "Calls"}
    for name in order:
        value = getattr(record, name)
        if value is not None:
            return Decimal(value), units[name]
    return None


def _pricing_quantity(record: UsageRecord) -> tuple[Decimal, str] | None:
    """Billed minutes, else measured minutes, else calls."""
    if record.billed_minutes is not None:
        return record.billed_minutes, "Minutes"
    if record.duration_seconds is not None:
        return (record.duration_seconds / 60).quantize(MINUTES_QUANTUM, ROUND_HALF_UP), "Minutes"
    if record.calls is not None:
        return Decimal(record.calls), "Calls"
    return None


def _whole_seconds(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period widened to whole seconds: FOCUS date-times have no fractions of a second."""
    floor = start.replace(microsecond=0)
    ceil = end.replace(microsecond=0)
    if ceil < end:
        ceil += timedelta(seconds=1)
    return floor, max(ceil, floor + timedelta(seconds=1))


def _resource(record: UsageRecord) -> tuple[str | None, str | None]:
    if record.grain is Grain.EVENT and record.call_id is not None:
        return record.call_id, "Call"
    if record.agent_id is not None:
        return record.agent_id, "Agent"
    if record.number_id is not None:
        return record.number_id, "Phone Number"
    return None, None
