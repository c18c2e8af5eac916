"""Writing and reading records: JSON, JSON Lines and CSV, Decimals always as strings.

Writers stream: exports never hold the whole set. Records are written in small batches (a
batch goes out when it is full, when a tenth of a second has passed since the last one, and
when the records end or fail), because one write per record to a text stream costs more than
serializing the record.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError

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

_BATCH_RECORDS = 512
_BATCH_SECONDS = 0.1


class _Batches:
    """Collects text for ``out`` and writes it in batches (see the module's docstring)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.parts: list[str] = []
        self.written_at = time.monotonic()

    def add(self, text: str) -> None:
        self.parts.append(text)
        if len(self.parts) >= _BATCH_RECORDS or time.monotonic() - self.written_at > _BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.out.write("".join(self.parts))
            self.parts.clear()
        self.written_at = time.monotonic()


def record_to_json(record: UsageRecord) -> dict[str, Any]:
    """The JSON form of a record: Decimals as strings, datetimes as ISO 8601 UTC (`Z`)."""
    return record.model_dump(mode="json")


def write_jsonl(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """One JSON object a line; returns how many records were written."""
    count = 0
    batches = _Batches(out)
    try:
        for record in records:
            batches.add(_TO_JSON(record).decode() + "\n")
            count += 1
    finally:
        batches.flush()  # what was read before a failure is written, as it came
    return count


def write_json(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """A JSON array, written element by element; returns how many records were written.

    Nothing is written before the first record arrives, so a fetch that fails at once leaves no
    stray `[` behind.
    """
    count = 0
    batches = _Batches(out)
    try:
        for record in records:
            batches.add((",\n  " if count else "[\n  ") + _TO_JSON(record).decode())
            count += 1
    finally:
        batches.flush()
    out.write("\n]\n" if count else "[]\n")
    return count


def write_csv(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """CSV with a header row; empty cells for unknown values; returns the record count.

    Booleans are `true`/`false` as in JSON; text starting like a spreadsheet formula gets a
    leading `'` (see `csv_cell`).
    """
    out.write(_csv_line(CSV_COLUMNS))
    count = 0
    batches = _Batches(out)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    columns = CSV_COLUMNS[:-1]
    try:
        for record in records:
            data = _TO_DATA(record, mode="json")
            row = [_cell(data[c]) for c in columns]
            row.append(json.dumps(data["extras"], sort_keys=True) if data["extras"] else "")
            writer.writerow([csv_cell(cell) for cell in row])  # vendor text: shown, never run
            batches.add(text.getvalue())
            text.seek(0)
            text.truncate()
            count += 1
    finally:
        batches.flush()
    return count


def _csv_line(row: Iterable[Any]) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(row)
    return text.getvalue()


def _cell(value: Any) -> Any:
    """A CSV cell: empty for unknown, parts comma-separated, line items as a JSON object."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
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
