"""Writing and reading records: JSON, JSON Lines and CSV, Decimals always as strings.

Writers stream: a record is written as soon as it arrives, so exports never hold the whole set.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError

from voice_usage._exceptions import ConfigurationError
from voice_usage._schema import UsageRecord

__all__ = ["CSV_COLUMNS", "read_jsonl", "record_to_json", "write_csv", "write_json", "write_jsonl"]

CSV_COLUMNS: tuple[str, ...] = (
    *(name for name in UsageRecord.model_fields if name != "extras"),
    "extras",
)
"""CSV header: the core fields in schema order, then `extras` as a JSON object."""

_RECORD = TypeAdapter(UsageRecord)


def record_to_json(record: UsageRecord) -> dict[str, Any]:
    """The JSON form of a record: Decimals as strings, datetimes as ISO 8601 UTC (`Z`)."""
    return record.model_dump(mode="json")


def write_jsonl(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """One JSON object a line; returns how many records were written."""
    count = 0
    for record in records:
        out.write(record.model_dump_json())
        out.write("\n")
        count += 1
    return count


def write_json(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """A JSON array, written element by element; returns how many records were written.

    Nothing is written before the first record arrives, so a fetch that fails at once leaves no
    stray `[` behind.
    """
    count = 0
    for record in records:
        out.write(",\n  " if count else "[\n  ")
        out.write(record.model_dump_json())
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


def write_csv(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """CSV with a header row; empty cells for unknown values; returns the record count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for record in records:
        data = record.model_dump(mode="json")
        row = ["" if data[c] is None else data[c] for c in CSV_COLUMNS[:-1]]
        row.append(json.dumps(data["extras"], sort_keys=True) if data["extras"] else "")
        writer.writerow(row)
        count += 1
    return count


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
