"""Writing and reading records: JSON, JSON Lines and CSV, Decimals always as strings.

Writers stream: exports never hold the whole set. Records are written in small batches (a
batch goes out when it is full, when a tenth of a second has passed since the last one, and
when the records end or fail), because one write per record to a text stream costs more than
serializing the record.

Writing must cost little next to fetching (a CLI `fetch --format csv` took 3x the library's
time when every row went through the record's JSON form). JSON is pydantic's own serializer,
one call a record; CSV cells are made directly from the record's values, text that repeats
(the provider, an agent) once per output. Tests hold the bytes to the plain way's.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError

from voice_usage._enums import CallPart, CostSource, Grain
from voice_usage._exceptions import ConfigurationError
from voice_usage._outputs._text import csv_cell
from voice_usage._schema import UsageRecord

__all__ = ["CSV_COLUMNS", "read_jsonl", "record_to_json", "write_csv", "write_json", "write_jsonl"]

CSV_COLUMNS: tuple[str, ...] = (
    *(name for name in UsageRecord.model_fields if name != "extras"),
    "extras",
)
"""CSV header: the core fields in schema order, then `extras` as a JSON object."""

_RECORD = TypeAdapter(UsageRecord)
_TO_JSON: Callable[[UsageRecord], bytes] = UsageRecord.__pydantic_serializer__.to_json
"""`record.model_dump_json()` as bytes, without the method's keyword handling per call."""
_TO_DATA: Callable[..., dict[str, Any]] = UsageRecord.__pydantic_serializer__.to_python
_EXTRAS = TypeAdapter(dict[str, Any])
"""Serializes `extras` as the record's own serializer does (a float infinity as `null`...)."""

_BATCH_RECORDS = 512
_BATCH_SECONDS = 0.1

_GRAIN_CELLS = {grain: grain.value for grain in Grain}
_SOURCE_CELLS: dict[CostSource | None, str] = {source: source.value for source in CostSource}
_SOURCE_CELLS[None] = ""
_COVERS_CELLS = {
    parts: ",".join(parts)
    for size in range(len(CallPart) + 1)
    for parts in itertools.combinations(CallPart, size)
}
"""Every `cost_covers` value (parts in vocabulary order, as `covers()` gives) as a CSV cell."""


class _Unusual(Exception):
    """A value outside what a validated record holds: the record's own serializer writes it."""


def record_to_json(record: UsageRecord) -> dict[str, Any]:
    """The JSON form of a record: Decimals as strings, datetimes as ISO 8601 UTC (`Z`)."""
    return record.model_dump(mode="json")


def _write_json(
    records: Iterable[UsageRecord], out: IO[str], frame: tuple[bytes, bytes, bytes, bytes]
) -> int:
    """Each record's JSON, framed, written in batches; returns the record count.

    ``frame`` is what goes before the first batch, before each later one, between two records
    and after a batch's last record. A batch is joined as bytes and decoded once: per record,
    the loop only serializes.
    """
    first, later, between, after = frame
    count = 0
    parts: list[bytes] = []
    append = parts.append

    def flush() -> None:
        if parts:
            start = first if count == len(parts) else later
            out.write((start + between.join(parts) + after).decode())
            parts.clear()

    written_at = time.monotonic()
    try:
        for record in records:
            append(_TO_JSON(record))
            count += 1
            if len(parts) >= _BATCH_RECORDS or time.monotonic() - written_at > _BATCH_SECONDS:
                flush()
                written_at = time.monotonic()
    finally:
        flush()  # what was read before a failure is written, as it came
    return count


def write_jsonl(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """One JSON object a line; returns how many records were written."""
    return _write_json(records, out, (b"", b"", b"\n", b"\n"))


def write_json(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """A JSON array, written element by element; returns how many records were written.

    Nothing is written before the first record arrives, so a fetch that fails at once leaves no
    stray `[` behind.
    """
    count = _write_json(records, out, (b"[\n  ", b",\n  ", b",\n  ", b""))
    out.write("\n]\n" if count else "[]\n")
    return count


def write_csv(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """CSV with a header row; empty cells for unknown values; returns the record count.

    Booleans are `true`/`false` as in JSON; text starting like a spreadsheet formula gets a
    leading `'` (see `csv_cell`).
    """
    lines = _Lines()
    writer = csv.writer(lines, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    out.write(lines.pop())
    row = _csv_rows()
    rows: list[tuple[Any, ...]] = []
    count = 0
    written_at = time.monotonic()

    def flush() -> None:
        nonlocal written_at
        if rows:
            writer.writerows(rows)
            rows.clear()
            out.write(lines.pop())
        written_at = time.monotonic()

    try:
        for record in records:
            rows.append(row(record))
            count += 1
            if len(rows) >= _BATCH_RECORDS or time.monotonic() - written_at > _BATCH_SECONDS:
                flush()
    finally:
        flush()  # what was read before a failure is written, as it came
    return count


class _Lines(list[str]):
    """Where a `csv.writer` puts its lines (a list append each, the cheapest write there is)."""

    write = list.append

    def pop(self) -> str:  # type: ignore[override]
        """All the lines written since the last `pop`, as one text."""
        text = "".join(self)
        self.clear()
        return text


_CACHED_CELLS = 4096
"""How many distinct texts a CSV output remembers the cells of (provider, currency, agent...)."""


def _csv_rows() -> Callable[[UsageRecord], tuple[Any, ...]]:
    """A function giving a record's CSV cells, as `csv_cell` makes the cells of its JSON form.

    Built directly from the record's values: the JSON form through pydantic costs more than the
    fetch did. A value no validated record holds takes that way instead. Text that repeats from
    record to record (the provider, the currency, an agent) is made a cell once per output.
    """
    cells: dict[str, Any] = {}

    def cell(value: str) -> Any:
        found = cells.get(value)
        if found is None:
            if len(cells) >= _CACHED_CELLS:
                cells.clear()
            found = cells[value] = csv_cell(value)
        return found

    known = cells.get

    def row(record: UsageRecord) -> tuple[Any, ...]:
        d = record.__dict__
        try:
            duration, billed, cost = d["duration_seconds"], d["billed_minutes"], d["cost"]
            components, covers, extras = d["cost_components"], d["cost_covers"], d["extras"]
            start, end = d["period_start"], d["period_end"]
            if type(start) is not datetime or type(end) is not datetime:
                raise _Unusual
            start_text, end_text = start.isoformat(), end.isoformat()
            if start_text[-6:] != "+00:00" or end_text[-6:] != "+00:00":
                raise _Unusual  # every record's periods are UTC, written with `Z`
            return (
                known(d["provider"]) or cell(d["provider"]),
                "" if d["account"] is None else known(d["account"]) or cell(d["account"]),
                _GRAIN_CELLS[d["grain"]],
                start_text[:-6] + "Z",
                end_text[:-6] + "Z",
                "" if d["calls"] is None else d["calls"],
                "" if d["failed_calls"] is None else d["failed_calls"],
                "" if d["connected_calls"] is None else d["connected_calls"],
                "" if duration is None else _csv_figure(duration),
                "" if billed is None else _csv_figure(billed),
                "" if cost is None else _csv_figure(cost),
                "" if d["currency"] is None else known(d["currency"]) or cell(d["currency"]),
                _SOURCE_CELLS[d["cost_source"]],
                "" if d["cost_note"] is None else known(d["cost_note"]) or cell(d["cost_note"]),
                "" if d["rate_card"] is None else known(d["rate_card"]) or cell(d["rate_card"]),
                "" if components is None else _csv_components(components),
                "" if covers is None else _COVERS_CELLS[covers],
                "true" if d["cost_estimate"] else "false",
                known(d["item"]) or cell(d["item"]),
                "" if d["agent_id"] is None else known(d["agent_id"]) or cell(d["agent_id"]),
                "" if d["number_id"] is None else known(d["number_id"]) or cell(d["number_id"]),
                "" if d["call_id"] is None else csv_cell(d["call_id"]),  # one per call: not kept
                _csv_extras(extras) if extras else "",
            )
        except (_Unusual, KeyError, TypeError, ValueError):
            return _csv_row_of_json(record)

    return row


def _csv_figure(value: Decimal) -> Any:
    if type(value) is not Decimal:
        raise _Unusual
    text = str(value)
    # Only a sign can make a figure look like a formula, and a negative figure from a trusted
    # path (`-0.5`) stays a number; `-Infinity` would not.
    return csv_cell(text) if text[0] == "-" else text


_sorted_json: Callable[[Any], str] = json.JSONEncoder(sort_keys=True).encode
"""`json.dumps(value, sort_keys=True)`, without building an encoder per call. Its text is ASCII
only, so `csv_cell` would change nothing in it."""


_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _csv_components(components: dict[str, Decimal]) -> str:
    """`_sorted_json` of the line items with their amounts as text, written directly."""
    if any(type(value) is not Decimal for value in components.values()):
        raise _Unusual
    items = sorted(components.items())
    return "{" + ", ".join([f'{_ascii(name)}: "{value}"' for name, value in items]) + "}"


def _csv_extras(extras: dict[str, Any]) -> str:
    """`_sorted_json` of the extras' JSON form; flat text, whole numbers and nulls directly."""
    parts = []
    for key, value in sorted(extras.items()):
        kind = type(value)
        if type(key) is not str:
            break
        if kind is str:
            parts.append(f"{_ascii(key)}: {_ascii(value)}")
        elif value is None:
            parts.append(f"{_ascii(key)}: null")
        elif kind is int:
            parts.append(f"{_ascii(key)}: {value!r}")
        else:
            break
    else:
        return "{" + ", ".join(parts) + "}"
    # Nested values, floats, Decimals, booleans...: their JSON form as the record's
    # serializer makes it (a float infinity is `null` there), then `json.dumps`.
    return _sorted_json(_EXTRAS.dump_python(extras, mode="json"))


def _csv_row_of_json(record: UsageRecord) -> tuple[Any, ...]:
    """The CSV cells from the record's JSON form: the reference `_csv_row` agrees with."""
    data = _TO_DATA(record, mode="json")
    row = [_cell(data[c]) for c in CSV_COLUMNS[:-1]]
    row.append(_sorted_json(data["extras"]) if data["extras"] else "")
    return tuple(csv_cell(cell) for cell in row)  # vendor text: shown, never run


def _cell(value: Any) -> Any:
    """A CSV cell: empty for unknown, parts comma-separated, line items as a JSON object."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return _sorted_json(value)
    return value


def read_jsonl(source: Iterable[str] | str, *, origin: str = "input") -> Iterator[UsageRecord]:
    """Records from JSON Lines: an open text file, an iterable of lines, or the whole text.

    Lines end at a line feed only: JSON strings may hold other Unicode line breaks (U+0085, U+2028)
    unescaped, so `str.splitlines()` must not be used on JSON Lines. Blank lines are skipped.

    Raises:
        ConfigurationError: naming the line and field of the first invalid record.
    """
    lines = source.split("\n") if isinstance(source, str) else source
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield _RECORD.validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise ConfigurationError(
                f"{origin}, line {number}: field {where!r}: {first['msg']}"
            ) from None
