"""Exports for analysis tools: pandas DataFrames, Parquet files, and FinOps FOCUS columns.

pandas and pyarrow are optional: they are imported only when an export needs them, and a missing
one raises `ConfigurationError` naming the extra to install (`voice-usage[pandas]`,
`voice-usage[parquet]`).

FOCUS (FinOps Open Cost and Usage Specification, version 1.3) lets the records drop into FinOps
tools; how records become FOCUS rows is in `voice_usage._outputs._focus`. A Parquet FOCUS file
carries the FOCUS metadata (with the version) in its schema metadata, `focus_metadata`.
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
from voice_usage._outputs._focus import (
    FOCUS_COLUMNS,
    FOCUS_DECIMALS,
    FOCUS_TIMES,
    FOCUS_VERSION,
    FocusRows,
    focus_metadata,
)
from voice_usage._outputs._serialize import CSV_COLUMNS
from voice_usage._outputs._text import csv_cell
from voice_usage._pricing._ratecard import RateBook, default_rate_book
from voice_usage._schema import UsageRecord, format_instant

__all__ = [
    "FOCUS_COLUMNS",
    "FOCUS_VERSION",
    "focus_metadata",
    "focus_rows",
    "focus_warning",
    "to_focus",
    "to_pandas",
    "write_focus_csv",
    "write_parquet",
]

DECIMAL_SCALE = 9
"""Decimal places kept in Parquet decimal columns (decimal128(38, 9))."""

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
    record: UsageRecord,
    *,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
    book: RateBook | None = None,
) -> dict[str, Any]:
    """One record as a FOCUS 1.3 row: a dict of `FOCUS_COLUMNS`, Decimals and datetimes typed.

    Args:
        record: The record.
        provider_names: Human vendor names (`ServiceProviderName`...), by provider name;
            defaults to the installed providers' titles.
        book: The rate book whose lines the record's `rate_card` names; the default one.

    Raises:
        ValueError: for a record FOCUS cannot hold (an unknown cost, no quantity at all):
            FOCUS has no null cost on a usage row, and an unknown cost is never written as 0.
    """
    rows = FocusRows(_title_of(provider_names), book or default_rate_book())
    row = rows.row(record)
    if row is None:
        raise ValueError(f"a FOCUS row cannot hold this record: {next(iter(rows.left_out))}")
    return row


def focus_rows(
    records: Iterable[UsageRecord],
    *,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
    book: RateBook | None = None,
    left_out: dict[str, int] | None = None,
) -> Iterator[dict[str, Any]]:
    """Records as FOCUS rows, lazily; records FOCUS cannot hold are counted in ``left_out``.

    Args:
        records: The records.
        provider_names: Human vendor names, by provider name.
        book: The rate book the records' `rate_card` labels name; the default one.
        left_out: Filled with how many records were left out, by reason (`cost unknown`).
    """
    rows = FocusRows(_title_of(provider_names), book or default_rate_book())
    if left_out is not None:
        rows.left_out = left_out
    yield from rows.rows(records)


def focus_warning(left_out: Mapping[str, int]) -> str | None:
    """One line saying which records a FOCUS export left out, or `None`."""
    rows = FocusRows(str, default_rate_book())
    rows.left_out = dict(left_out)
    return rows.warning


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_instant(value)
    return csv_cell(value)  # booleans as in JSON; vendor text shown, never run


def write_focus_csv(
    records: Iterable[UsageRecord],
    out: IO[str],
    *,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
    left_out: dict[str, int] | None = None,
) -> int:
    """FOCUS rows as CSV with a header row, streamed; returns the row count.

    Records FOCUS cannot hold (an unknown cost) are left out and counted in ``left_out``.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FOCUS_COLUMNS)
    count = 0
    for row in focus_rows(records, provider_names=provider_names, left_out=left_out):
        writer.writerow([_cell(row[c]) for c in FOCUS_COLUMNS])
        count += 1
    return count


def _record_row(record: UsageRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in CSV_COLUMNS if name != "extras"}
    row["grain"] = record.grain.value
    row["cost_source"] = record.cost_source.value if record.cost_source else None
    row["extras"] = json.dumps(record.extras, sort_keys=True) if record.extras else None
    if record.cost_components is not None:
        components = {k: str(v) for k, v in sorted(record.cost_components.items())}
        row["cost_components"] = json.dumps(components)
    row["cost_covers"] = ",".join(record.cost_covers) if record.cost_covers is not None else None
    return row


def to_pandas(
    records: Iterable[UsageRecord],
    *,
    focus: bool = False,
    provider_names: Mapping[str, str] | Callable[[str], str] | None = None,
    left_out: dict[str, int] | None = None,
) -> Any:
    """Records as a pandas DataFrame (needs the `pandas` extra).

    Columns are the record fields (or `FOCUS_COLUMNS` with ``focus=True``, where records FOCUS
    cannot hold are counted in ``left_out``). Times are timezone-aware UTC; money and quantities
    stay `Decimal` objects (never floats), so sums are exact: use `df["cost"].astype(float)` for
    plotting. `cost_components` is a JSON object, `cost_covers` the parts comma-separated.
    """
    pd = require("pandas", "pandas")
    if focus:
        rows = list(focus_rows(records, provider_names=provider_names, left_out=left_out))
        columns, times = list(FOCUS_COLUMNS), list(FOCUS_TIMES)
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
    left_out: dict[str, int] | None = None,
) -> int:
    """Write records to a Parquet file in batches (needs the `parquet` extra); returns the count.

    Money and quantities are `decimal128(38, 9)` (rounded half-up to 9 places: per-second
    minutes such as 601/60 do not end), times are `timestamp[us, UTC]`, counts `int64`.
    With ``focus=True`` the columns are `FOCUS_COLUMNS`, the schema metadata holds the FOCUS
    metadata under `focus_metadata` (FocusVersion 1.3), and records FOCUS cannot hold are
    counted in ``left_out``.
    """
    pa = require("pyarrow", "parquet")
    pq = require("pyarrow.parquet", "parquet")
    decimal = pa.decimal128(38, DECIMAL_SCALE)
    timestamp = pa.timestamp("us", tz="UTC")
    if focus:
        columns = list(FOCUS_COLUMNS)
        types = {c: decimal for c in FOCUS_DECIMALS} | {c: timestamp for c in FOCUS_TIMES}
        types |= {"x_Calls": pa.int64(), "x_FailedCalls": pa.int64(), "x_CostEstimate": pa.bool_()}
        decimals = set(FOCUS_DECIMALS)
        rows: Iterable[dict[str, Any]] = focus_rows(
            records, provider_names=provider_names, left_out=left_out
        )
        metadata = {"focus_metadata": json.dumps(focus_metadata(), sort_keys=True)}
    else:
        columns = list(CSV_COLUMNS)
        types = {c: decimal for c in _RECORD_DECIMALS} | {c: timestamp for c in _RECORD_TIMES}
        types |= {
            "calls": pa.int64(),
            "failed_calls": pa.int64(),
            "connected_calls": pa.int64(),
            "cost_estimate": pa.bool_(),
        }
        decimals = set(_RECORD_DECIMALS)
        rows = (_record_row(r) for r in records)
        metadata = {}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in columns], metadata=metadata)
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
