"""Writing and reading records: JSON, JSON Lines and CSV, Decimals always as strings.

Writers stream: exports never hold the whole set. Records are written in small batches (a
batch goes out when it is full, when a tenth of a second has passed since the last one, and
when the records end or fail), because one write per record to a text stream costs more than
serializing the record.

Writing must cost little next to fetching (a CLI `fetch --format csv` took 3x the library's
time when every row went through the record's JSON form). JSON is pydantic's own serializer,
one call a record, on a plain mapping of the record's fields (its enums as text: the record's
serializer runs Python code for each). CSV rows are written directly from the record's values:
runs of values that repeat (the provider's, the cost's terms) once while they repeat, text
that comes back (an agent) once per output. Tests hold the bytes to the plain way's, and to
bytes written by hand.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import IO, Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError
from typing_extensions import TypedDict

from voice_usage._enums import CallPart, CostSource, Grain
from voice_usage._exceptions import ConfigurationError
from voice_usage._outputs._text import FORMULA_START, csv_cell
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

_CACHED_CELLS = 4096
"""How many distinct texts an output remembers the encoding of (provider, currency, agent...)."""

_ALL_COVERS = [
    parts for size in range(len(CallPart) + 1) for parts in itertools.combinations(CallPart, size)
]
"""Every `cost_covers` value: parts in vocabulary order, as `covers()` gives them."""

_GRAIN_CELLS = {grain: grain.value for grain in Grain}
_SOURCE_CELLS: dict[CostSource | None, str] = {source: source.value for source in CostSource}
_SOURCE_CELLS[None] = ""
_COVERS_CELLS: dict[tuple[CallPart, ...] | None, str] = {
    parts: '"' + ",".join(parts) + '"' if len(parts) > 1 else ",".join(parts)
    for parts in _ALL_COVERS
}
"""Each `cost_covers` value as a CSV cell: comma-separated, quoted when it holds a comma."""
_COVERS_CELLS[None] = ""

_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii
"""A JSON string in ASCII: every other character escaped, DEL too (`\\u007f`)."""
_sorted_json: Callable[[Any], str] = json.JSONEncoder(sort_keys=True).encode
"""`json.dumps(value, sort_keys=True)`, without building an encoder per call."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Unusual(Exception):
    """A value outside what a validated record holds: the record's own serializer writes it."""


def record_to_json(record: UsageRecord) -> dict[str, Any]:
    """The JSON form of a record: Decimals as strings, datetimes as ISO 8601 UTC (`Z`)."""
    return record.model_dump(mode="json")


@functools.cache
def _json_line() -> Callable[[UsageRecord], bytes]:
    """A function giving `record.model_dump_json()` as bytes, for less than the record's own.

    pydantic's serializer for the record calls each enum's `value` property (Python code) for
    `grain`, `cost_source` and every part of `cost_covers`; these are `str` enums, so a plain
    mapping of the same fields in the same order, with those three as text, writes the same
    bytes from the record's `__dict__` without the calls. A subclass of the record, or a
    record it cannot write, goes to the record's own serializer.
    """
    as_text = {"grain": str, "cost_source": str | None, "cost_covers": tuple[str, ...] | None}
    fields = {
        name: as_text.get(name, field.annotation)
        for name, field in UsageRecord.model_fields.items()
    }
    wire = TypeAdapter(TypedDict("_Wire", fields)).serializer.to_json  # type: ignore[operator]

    def line(record: UsageRecord) -> bytes:
        if type(record) is UsageRecord:
            try:
                return wire(record.__dict__)
            except PydanticSerializationError:
                pass  # the record's own serializer says what is wrong
        return _TO_JSON(record)

    return line


def write_jsonl(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """One JSON object a line; returns how many records were written."""
    return _write_lines(records, out, _json_line(), (b"", b"", b"\n", b"\n"), bytes.decode)


def write_json(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """A JSON array, written element by element; returns how many records were written.

    Nothing is written before the first record arrives, so a fetch that fails at once leaves no
    stray `[` behind.
    """
    frame = (b"[\n  ", b",\n  ", b",\n  ", b"")
    count = _write_lines(records, out, _json_line(), frame, bytes.decode)
    out.write("\n]\n" if count else "[]\n")
    return count


def write_csv(records: Iterable[UsageRecord], out: IO[str]) -> int:
    """CSV with a header row; empty cells for unknown values; returns the record count.

    Booleans are `true`/`false` as in JSON; text starting like a spreadsheet formula gets a
    leading `'` (see `csv_cell`).
    """
    out.write(",".join(CSV_COLUMNS) + "\n")
    return _write_lines(records, out, _csv_lines(), ("", "", "\n", "\n"), str)


_Line = TypeVar("_Line", str, bytes)


def _write_lines(
    records: Iterable[UsageRecord],
    out: IO[str],
    line: Callable[[UsageRecord], _Line],
    frame: tuple[_Line, _Line, _Line, _Line],
    text: Callable[[_Line], str],
) -> int:
    """Each record's ``line``, framed, written in batches; returns the record count.

    ``frame`` is what goes before the first batch, before each later one, between two records
    and after a batch's last record; ``text`` makes a joined batch text (JSON comes as UTF-8
    bytes: a batch is decoded once). One write a batch: per record, the loop makes its line.
    """
    first, later, between, after = frame
    count = 0
    lines: list[_Line] = []
    append = lines.append
    clock = time.monotonic

    def flush() -> None:
        nonlocal count
        if lines:
            out.write(text((later if count else first) + between.join(lines) + after))
            count += len(lines)
            lines.clear()

    due = clock() + _BATCH_SECONDS
    try:
        for record in records:
            append(line(record))
            if len(lines) >= _BATCH_RECORDS or clock() > due:
                flush()
                due = clock() + _BATCH_SECONDS
    finally:
        flush()  # what was read before a failure is written, as it came
    return count


def _instants() -> Callable[[Any], str]:
    """A function giving an aware UTC datetime as pydantic writes it: ISO 8601 with `Z`.

    `datetime.isoformat` costs as much as the rest of a record's line: the text of each day,
    time of day and fraction of a second is made once per output and looked up (vendors give
    milliseconds). Any other value raises `_Unusual`.
    """
    days: dict[int, str] = {}
    clocks: dict[int, str] = {}
    fractions: dict[int, str] = {}

    def instant(value: Any) -> str:
        if value.tzinfo is not UTC or type(value) is not datetime:
            return _other_instant(value)
        since = value - _EPOCH  # one zone on both sides: no offsets are looked up
        day = days.get(since.days)
        if day is None:
            if len(days) >= _CACHED_CELLS:
                days.clear()
            day = days[since.days] = value.date().isoformat() + "T"
        second = since.seconds
        clock = clocks.get(second)  # at most the 86,400 seconds of a day
        if clock is None:
            hours, rest = divmod(second, 3600)
            clock = clocks[second] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        micro = since.microseconds
        fraction = fractions.get(micro)
        if fraction is None:
            if len(fractions) >= _CACHED_CELLS:
                fractions.clear()
            fraction = fractions[micro] = f".{micro:06d}Z" if micro else "Z"
        return day + clock + fraction

    return instant


def _other_instant(value: Any) -> str:
    """An aware datetime at UTC under another `tzinfo` (pydantic writes `Z` for a zero offset)."""
    if type(value) is not datetime:
        raise _Unusual
    text = value.isoformat()
    if text[-6:] != "+00:00":
        raise _Unusual  # naive, or elsewhere: no validated record holds one
    return text[:-6] + "Z"


def _texts(encode: Callable[[Any], str]) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """``encode`` remembered for the texts that repeat in an output (a provider, an agent).

    Returns a lookup (giving `None` for text not seen yet) and the encoding that remembers it.
    """
    made: dict[Any, str] = {}

    def remembered(value: Any) -> str:
        if not isinstance(value, str):
            raise _Unusual
        found = made[value] = encode(value)
        if len(made) > _CACHED_CELLS:
            made.clear()
            made[value] = found
        return found

    return made.get, remembered  # type: ignore[return-value]


_FIELDS = itemgetter(*(name for name in UsageRecord.model_fields))
"""A record's values, in field order, from its `__dict__` in one call."""


def _boolean(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise _Unusual


def _no_extras(extras: Any, text: str) -> str:
    """``text``, for extras that are an empty dict; `_Unusual` for anything else."""
    if type(extras) is not dict:
        raise _Unusual
    return text


def _csv_lines() -> Callable[[UsageRecord], str]:
    """A function giving a record's CSV row, as `_csv_row_of_json` makes it from its JSON form.

    Made directly from the record's values, and the row written directly: each text cell is
    made inert and quoted where it holds a comma, a quote or a line feed, as `csv.writer` quotes
    (`csv_cell` leaves no carriage return). Runs of values that stay the same from one record
    to the next (the provider's, the cost's terms, what was metered) are written once while they
    repeat; text that comes back (an agent) is made a cell once per output. A value no validated
    record holds takes the reference's way.
    """
    known, text = _texts(_text_cell)
    instant = _instants()

    def cell(value: Any) -> str:
        return "" if value is None else known(value) or text(value)

    runs: list[Any] = [None] * 3
    written = [""] * 3

    def line(record: UsageRecord) -> str:
        try:
            (
                provider,
                account,
                grain,
                start,
                end,
                calls,
                failed,
                connected,
                duration,
                billed,
                cost,
                currency,
                source,
                note,
                card,
                components,
                covers,
                estimate,
                item,
                agent,
                number,
                call,
                extras,
            ) = _FIELDS(record.__dict__)
            if (head := (provider, account, grain)) != runs[0]:
                written[0] = f"{cell(provider)},{cell(account)},{_GRAIN_CELLS[grain]},"
                runs[0] = head
            if (terms := (currency, source, note, card)) != runs[1]:
                written[1] = f",{cell(currency)},{_SOURCE_CELLS[source]},{cell(note)},{cell(card)},"
                runs[1] = terms
            if (what := (covers, item, agent, number)) != runs[2]:
                written[2] = f"{cell(item)},{cell(agent)},{cell(number)},"
                runs[2] = what
            # Each record's own values; counts must be ints (== would take True for 1).
            calls = "" if calls is None else calls if type(calls) is int else _count(calls)
            failed = "" if failed is None else failed if type(failed) is int else _count(failed)
            if connected is not None and type(connected) is not int:
                connected = _count(connected)
            duration = "" if duration is None else _csv_figure(duration)
            billed = "" if billed is None else _csv_figure(billed)
            cost = "" if cost is None else _csv_figure(cost)
            return (
                f"{written[0]}{instant(start)},{instant(end)},{calls},{failed}"
                f",{'' if connected is None else connected},{duration},{billed},{cost}{written[1]}"
                f"{'' if components is None else _csv_components(components)}"
                f",{_COVERS_CELLS[covers]},{'false' if estimate is False else _boolean(estimate)},"
                f"{written[2]}{call if _plain(call) else _call_cell(call)}"
                f",{_csv_extras(extras) if extras else _no_extras(extras, '')}"
            )
        except (_Unusual, KeyError, TypeError, ValueError):
            return _csv_row_of_json(record)

    return line


def _count(value: Any) -> Any:
    """`_Unusual`, for a count that is not an int (a boolean is `true` in the reference)."""
    raise _Unusual


def _plain(text: Any) -> bool:
    """Whether ``text`` is its own CSV cell as it is: printable, not like a formula, unquoted."""
    return (
        type(text) is str
        and text.isprintable()
        and not text.startswith(FORMULA_START)
        and "," not in text
        and '"' not in text
    )


def _call_cell(call: Any) -> str:
    """A call id as a cell (one per call: not remembered)."""
    return "" if call is None else _text_cell(call)


def _quoted(cell: str) -> str:
    """A cell as `csv.writer` writes it: quoted when it holds a comma, a quote or a line feed."""
    if '"' in cell:
        return '"' + cell.replace('"', '""') + '"'
    if "," in cell or "\n" in cell:
        return '"' + cell + '"'
    return cell


def _text_cell(value: Any) -> str:
    """Vendor or user text as a written CSV cell: inert (`csv_cell`), then quoted."""
    if not isinstance(value, str):
        raise _Unusual
    return _quoted(csv_cell(value))


def _csv_figure(value: Any) -> str:
    if type(value) is not Decimal:
        raise _Unusual
    text = str(value)
    # Only a sign can make a figure look like a formula, and a negative figure from a trusted
    # path (`-0.5`) stays a number; `-Infinity` would not.
    return _quoted(csv_cell(text)) if text[0] == "-" else text


def _csv_components(components: Any) -> str:
    """`_sorted_json` of the line items with their amounts as text, as a cell (ASCII JSON: `csv_cell` would change nothing)."""
    if type(components) is not dict:
        raise _Unusual
    if any(type(value) is not Decimal for value in components.values()):
        raise _Unusual
    items = sorted(components.items())
    text = "{" + ", ".join([f'{_ascii(name)}: "{value}"' for name, value in items]) + "}"
    return _quoted(text)


def _csv_extras(extras: Any) -> str:
    """`_sorted_json` of the extras' JSON form, as a cell.

    Flat text, whole numbers and nulls directly; anything else through the JSON form.
    """
    if type(extras) is not dict:
        raise _Unusual
    if len(extras) == 1:  # a vendor's own id for the record, most often
        ((key, value),) = extras.items()
        if type(key) is str and type(value) is str:
            return _quoted(f"{{{_ascii(key)}: {_ascii(value)}}}")
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
        return _quoted("{" + ", ".join(parts) + "}")
    # Nested values, floats, Decimals, booleans...: their JSON form as the record's
    # serializer makes it (a float infinity is `null` there), then `json.dumps`.
    return _quoted(_sorted_json(_EXTRAS.dump_python(extras, mode="json")))


def _csv_row_of_json(record: UsageRecord) -> str:
    """The CSV row from the record's JSON form: the reference the direct rows agree with."""
    data = _TO_DATA(record, mode="json")
    row = [_cell(data[c]) for c in CSV_COLUMNS[:-1]]
    row.append(_sorted_json(data["extras"]) if data["extras"] else "")
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([csv_cell(cell) for cell in row])
    return out.getvalue()  # vendor text: shown, never run


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
