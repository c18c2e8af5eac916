"""Exports for analysis tools: pandas DataFrames, Parquet files, and FinOps FOCUS columns.

pandas and pyarrow are optional: they are imported only when an export needs them, and a missing
one raises `ConfigurationError` naming the extra to install (`voice-usage[pandas]`,
`voice-usage[parquet]`).

FOCUS (FinOps Open Cost and Usage Specification, v1.2 column names) lets the records drop into
FinOps tools: `BilledCost`/`BillingCurrency` carry the cost, `ConsumedQuantity` the measured
seconds, `PricingQuantity` the billed minutes, `ChargePeriodStart/End` the record's period, and
voice-usage's own fields follow as `x_`-prefixed columns, as the specification asks.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any

from voice_usage._optional import require
from voice_usage._outputs._serialize import CSV_COLUMNS
from voice_usage._rollup import bucket
from voice_usage._schema import Grain, Granularity, UsageRecord, format_instant

__all__ = [
    "FOCUS_COLUMNS",
    "focus_rows",
    "to_focus",
    "to_pandas",
    "write_focus_csv",
    "write_parquet",
]

DECIMAL_SCALE = 9
"""Decimal places kept in Parquet decimal columns (decimal128(38, 9))."""

FOCUS_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ResourceId",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuPriceId",
    "x_Provider",
    "x_Grain",
    "x_Item",
    "x_Calls",
    "x_FailedCalls",
    "x_CostSource",
    "x_CostNote",
    "x_CostEstimate",
    "x_AgentId",
    "x_NumberId",
    "x_CallId",
)
"""FOCUS columns written, in order: the specification's, then voice-usage's `x_` columns."""

_FOCUS_DECIMALS = (
    "BilledCost",
    "ContractedCost",
    "EffectiveCost",
    "ListCost",
    "ConsumedQuantity",
    "PricingQuantity",
)
_FOCUS_TIMES = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
_RECORD_DECIMALS = ("duration_seconds", "billed_minutes", "cost")
_RECORD_TIMES = ("period_start", "period_end")


def _titles() -> Callable[[str], str]:
    """Provider name -> human title, from the installed providers (the name when unknown)."""
    cache: dict[str, str] = {}

    def title(name: str) -> str:
        if not cache:
            try:
                from voice_usage._engine._plugins import load_registry

                registry = load_registry()
                cache.update({n: info.provider.title for n, info in registry.providers.items()})
            except Exception:  # an export never fails for want of a pretty name
                pass
            cache.setdefault("", "")
        return cache.get(name, name)

    return title


def _title_of(
    provider_names: Mapping[str, str] | Callable[[str], str] | None,
) -> Callable[[str], str]:
    if provider_names is None:
        return _titles()
    if callable(provider_names):
        return provider_names
    names = provider_names
    return lambda name: names.get(name, name)


def to_focus(
    record: UsageRecord, *, provider_names: Mapping[str, str] | Callable[[str], str] | None = None
) -> dict[str, Any]:
    """One record as a FOCUS row: a dict of `FOCUS_COLUMNS`, Decimals and datetimes kept typed.

    There are no discounts or commitments to amortise, so `ListCost`, `ContractedCost` and
    `EffectiveCost` equal `BilledCost`; an unknown cost leaves them all empty (with the reason in
    `x_CostNote`). The billing period is the UTC calendar month of the charge.

    Args:
        record: The record.
        provider_names: Human vendor names (`ProviderName`), by provider name; defaults to the
            installed providers' titles.
    """
    vendor = _title_of(provider_names)(record.provider)
    billing_start, billing_end = bucket(record.period_start, Granularity.MONTH)
    if record.grain is Grain.EVENT:
        resource_id, resource_type = record.call_id, "Call"
    elif record.agent_id is not None:
        resource_id, resource_type = record.agent_id, "Agent"
    elif record.number_id is not None:
        resource_id, resource_type = record.number_id, "Phone Number"
    else:
        resource_id, resource_type = None, None
    sku = None
    if record.cost_note and record.cost_note.startswith("rate card "):
        sku = record.cost_note.removeprefix("rate card ").split(":", 1)[0]
    return {
        "BilledCost": record.cost,
        "BillingAccountId": record.account,
        "BillingAccountName": record.account,
        "BillingCurrency": record.currency,
        "BillingPeriodStart": billing_start,
        "BillingPeriodEnd": billing_end,
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": f"{vendor} {record.item} minutes",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": record.period_start,
        "ChargePeriodEnd": record.period_end,
        "ConsumedQuantity": record.duration_seconds,
        "ConsumedUnit": "Seconds" if record.duration_seconds is not None else None,
        "ContractedCost": record.cost,
        "EffectiveCost": record.cost,
        "InvoiceIssuerName": vendor,
        "ListCost": record.cost,
        "PricingQuantity": record.billed_minutes,
        "PricingUnit": "Minutes" if record.billed_minutes is not None else None,
        "ProviderName": vendor,
        "PublisherName": vendor,
        "ResourceId": resource_id,
        "ResourceType": resource_type,
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": f"{vendor} voice agents",
        "SkuPriceId": sku,
        "x_Provider": record.provider,
        "x_Grain": record.grain.value,
        "x_Item": record.item,
        "x_Calls": record.calls,
        "x_FailedCalls": record.failed_calls,
        "x_CostSource": record.cost_source.value if record.cost_source else None,
        "x_CostNote": record.cost_note,
        "x_CostEstimate": record.cost_estimate,
        "x_AgentId": record.agent_id,
        "x_NumberId": record.number_id,
        "x_CallId": record.call_id,
    }


def focus_rows(
    records: Iterable[UsageRecord],
    *,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Records as FOCUS rows, lazily."""
    names = _title_of(provider_names)  # resolved once for the whole stream
    for record in records:
        yield to_focus(record, provider_names=names)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_focus_csv(
    records: Iterable[UsageRecord],
    out: IO[str],
    *,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
) -> int:
    """FOCUS rows as CSV with a header row, streamed; returns the record count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FOCUS_COLUMNS)
    count = 0
    for row in focus_rows(records, provider_names=provider_names):
        writer.writerow([_cell(row[c]) for c in FOCUS_COLUMNS])
        count += 1
    return count


def _record_row(record: UsageRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in CSV_COLUMNS if name != "extras"}
    row["grain"] = record.grain.value
    row["cost_source"] = record.cost_source.value if record.cost_source else None
    row["extras"] = json.dumps(record.extras, sort_keys=True) if record.extras else None
    # The structured cost as JSON text, as in CSV: a column of one type whatever the vendor.
    components = record.cost_components
    row["cost_components"] = (
        None
        if components is None
        else json.dumps({name: str(value) for name, value in components.items()}, sort_keys=True)
    )
    covered = record.cost_covers
    row["cost_covers"] = None if covered is None else json.dumps([p.value for p in covered])
    return row


def to_pandas(
    records: Iterable[UsageRecord],
    *,
    focus: bool = False,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
) -> Any:
    """Records as a pandas DataFrame (needs the `pandas` extra).

    Columns are the record fields (or `FOCUS_COLUMNS` with ``focus=True``). Times are
    timezone-aware UTC; money and quantities stay `Decimal` objects (never floats), so sums are
    exact: use `df["cost"].astype(float)` for plotting.
    """
    pd = require("pandas", "pandas")
    if focus:
        rows = list(focus_rows(records, provider_names=provider_names))
        columns, times = list(FOCUS_COLUMNS), list(_FOCUS_TIMES)
    else:
        rows = [_record_row(r) for r in records]
        columns, times = list(CSV_COLUMNS), list(_RECORD_TIMES)
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _quantize(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-DECIMAL_SCALE), rounding=ROUND_HALF_UP)


def write_parquet(
    records: Iterable[UsageRecord],
    path: str | Path,
    *,
    focus: bool = False,
    batch_size: int = 10_000,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
) -> int:
    """Write records to a Parquet file in batches (needs the `parquet` extra); returns the count.

    Money and quantities are `decimal128(38, 9)` (rounded half-up to 9 places: per-second
    minutes such as 601/60 do not end), times are `timestamp[us, UTC]`, counts `int64`.
    With ``focus=True`` the columns are `FOCUS_COLUMNS`.
    """
    pa = require("pyarrow", "parquet")
    pq = require("pyarrow.parquet", "parquet")
    decimal = pa.decimal128(38, DECIMAL_SCALE)
    timestamp = pa.timestamp("us", tz="UTC")
    if focus:
        columns = list(FOCUS_COLUMNS)
        types = {c: decimal for c in _FOCUS_DECIMALS} | {c: timestamp for c in _FOCUS_TIMES}
        types |= {"x_Calls": pa.int64(), "x_FailedCalls": pa.int64(), "x_CostEstimate": pa.bool_()}
        decimals = set(_FOCUS_DECIMALS)
        rows: Iterable[dict[str, Any]] = focus_rows(records, provider_names=provider_names)
    else:
        columns = list(CSV_COLUMNS)
        types = {c: decimal for c in _RECORD_DECIMALS} | {c: timestamp for c in _RECORD_TIMES}
        types |= {"calls": pa.int64(), "failed_calls": pa.int64(), "cost_estimate": pa.bool_()}
        decimals = set(_RECORD_DECIMALS)
        rows = (_record_row(r) for r in records)
    schema = pa.schema([(c, types.get(c, pa.string())) for c in columns])
    count = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            for column in decimals:
                row[column] = _quantize(row[column])
            batch.append(row)
            count += 1
            if len(batch) >= batch_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return count
