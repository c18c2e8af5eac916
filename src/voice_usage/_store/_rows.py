"""`UsageRecord` <-> table row, derived from `UsageRecord.model_fields`.

The fields SQL selects, orders or sums by (`TABLE_FIELDS`) are columns of their own; every
other field is kept in one column, `body`, a JSON object of the fields that have a value. A
field added to the record is stored in `body` without further code, as long as its type is one
of the kinds below:

- text (`str`, enums): TEXT, or a JSON string;
- whole numbers: INTEGER (SQLite) or BIGINT (PostgreSQL), or a JSON number;
- `bool`: a JSON `true`/`false`;
- `Decimal`: the decimal as TEXT, exact, plus an INTEGER column `cost_e9` of billionths for
  exact sums in SQL (SQLite); NUMERIC (PostgreSQL), exact as it is; in `body`, a JSON string;
- instants: INTEGER microseconds since 1970 UTC (SQLite, and in `body`); TIMESTAMPTZ;
- anything else (dicts, tuples, `Any`): its JSON value, key order and numbers kept as written.

A record's identity in the store is its key (`record_key`): an event's call id, or a window's
period, item, agent and number. Key columns are NOT NULL; an absent id is `''` in a key.
"""

from __future__ import annotations

import functools
import json
import operator
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from pydantic import AwareDatetime, NaiveDatetime, TypeAdapter

from voice_usage._schema import Grain, UsageRecord

__all__ = [
    "RENAMED_FIELDS",
    "TABLE_FIELDS",
    "Column",
    "Kind",
    "RowCodec",
    "codec",
    "e9",
    "format_stamp",
    "micros",
    "parse_stamp",
    "record_key",
]

Kind = Literal["text", "int", "bool", "decimal", "instant", "json"]

_E9 = Decimal(10) ** 9
_E9_LIMIT = 2**62
_E9_CACHE: dict[Decimal, int | None] = {}
_MISSING = object()
_NO_OFFSET = timedelta(0)


def format_stamp(instant: datetime) -> str:
    """An instant as fixed-width UTC text (`2026-10-01T12:00:00.000000+00:00`): sorts as time does.

    Records' instants are UTC already (or a zone at offset 0), so no conversion is made then.
    """
    if instant.tzinfo is not UTC and instant.utcoffset() != _NO_OFFSET:
        instant = instant.astimezone(UTC)
    return instant.isoformat("T", "microseconds")  # positional: quicker than the keyword


def parse_stamp(text: str) -> datetime:
    """The inverse of `format_stamp`."""
    return datetime.fromisoformat(text).astimezone(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """An instant as whole microseconds since 1970 UTC: how SQLite keeps `period_start`.

    An integer is a fifth of the ISO text's cost to make, and narrower in the table and its
    index; it sorts as time does.
    """
    return (instant - _EPOCH) // _MICROSECOND


def _from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def _sqlite_instant(value: int | str) -> datetime:
    """A SQLite instant column's value as a datetime.

    Microseconds since 1970, or the ISO text of schema versions 1 to 4 (read once, when such a
    store is migrated).
    """
    return _from_micros(value) if isinstance(value, int) else parse_stamp(value)


def e9(value: Decimal | None) -> int | None:
    """``value`` in billionths, when it has at most nine decimal places and fits in 62 bits.

    A `None` billionths next to a set decimal tells SQL sums to fall back to the exact text;
    62 bits leave room for sums of many values within SQL's 64-bit integers.
    """
    if value is None:
        return None
    found = _E9_CACHE.get(value, _MISSING)
    if found is _MISSING:
        scaled = value.scaleb(9)
        whole = int(scaled)
        found = whole if whole == scaled and abs(whole) < _E9_LIMIT else None
        if len(_E9_CACHE) > 100_000:  # usage repeats a few prices and durations many times
            _E9_CACHE.clear()
        _E9_CACHE[value] = found
    return found  # type: ignore[return-value]


def _base_types(annotation: Any) -> list[Any]:
    """The types an annotation allows, with `None`, `Annotated` and unions unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found += _base_types(arg)
        return found
    if annotation is type(None):
        return []
    return [annotation]


def _kind(annotation: Any) -> Kind:
    bases = _base_types(annotation)
    if len(bases) != 1:
        return "json"
    base = bases[0]
    if base is bool:
        return "bool"
    if base is int:
        return "int"
    if base is Decimal:
        return "decimal"
    if base is datetime or base in (AwareDatetime, NaiveDatetime):
        return "instant"
    if base is str or (isinstance(base, type) and issubclass(base, Enum)):
        return "text"
    return "json"


@dataclass(frozen=True)
class Column:
    """One record field as stored."""

    name: str
    kind: Kind
    nullable: bool
    default: Callable[[], Any]
    """Makes the field's default, read back where an older row has no value (a column added
    later)."""
    decode: Callable[[Any], Any]
    """Stored value (as the database driver gives it, never `None`) -> field value."""

    def sql_type(self, dialect: str) -> str:
        """The column's SQL type in ``dialect`` (`sqlite` or `postgresql`)."""
        if dialect == "sqlite":
            return "INTEGER" if self.kind in ("int", "bool", "instant") else "TEXT"
        return {
            "text": "TEXT",
            "int": "BIGINT",
            "bool": "BOOLEAN",
            "decimal": "NUMERIC",
            "instant": "TIMESTAMPTZ",
            "json": "TEXT",
        }[self.kind]


def _decoder(kind: Kind, annotation: Any, dialect: str) -> Callable[[Any], Any]:
    bases = _base_types(annotation)
    if kind == "text":
        base = bases[0]
        if isinstance(base, type) and issubclass(base, Enum):
            return base
        return str
    if kind == "int":
        return int
    if kind == "bool":
        return bool
    if kind == "decimal":
        return Decimal if dialect == "sqlite" else _exact_decimal
    if kind == "instant":
        return _sqlite_instant if dialect == "sqlite" else _utc
    if annotation == dict[str, Any]:
        return json.loads
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    return lambda text: adapter.validate_python(json.loads(text))


def _exact_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _compact_json() -> Callable[[Any], str]:
    """`json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode`, made faster.

    That encoder makes its C encoder again on every call, which for a record's small `extras`
    is most of the cost. Here the C encoder is made once, when the interpreter has it and it
    writes the very same text (tried on a sample); else the standard encoder is used.
    """
    standard = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return standard.encode
    try:
        # No circular-reference markers: extras are JSON values, which cannot hold a cycle
        # (one would end in RecursionError instead of ValueError).
        iterencode = make(
            None, standard.default, json.encoder.encode_basestring, None, ":", ",",
            False, False, True,
        )  # fmt: skip
        sample = {"a": [1, 2.5, None, True, "\u00fc\n"], "b": {"c": 1e16, "d": float("inf")}}
        if "".join(iterencode(sample, 0)) != standard.encode(sample):
            return standard.encode
    except Exception:  # another interpreter's private encoder: use the public one
        return standard.encode
    join = "".join
    return lambda value: join(iterencode(value, 0))


_ENCODE_JSON = _compact_json()


TABLE_FIELDS = ("provider", "period_start", "calls", "cost", "currency")
"""Record fields with a column of their own: what SQL selects, orders or sums by. Every other
field is kept in the row's `body`."""

RENAMED_FIELDS: dict[str, str] = {"cost_estimate": "approximate"}
"""Record fields stored under an earlier name: new name -> old name (a column before schema
version 3, a key of `body` since), read back under the new name."""


def _body_item(
    column: Column, annotation: Any, value: str, names: dict[str, Any], *, first: bool
) -> str:
    """Code making the JSON text of one field of `body` (`,"name":value`) from ``value``.

    The first field of the body has no comma before it.

    Written out per kind rather than left to the JSON encoder: a body of mostly short texts is
    made several times faster so, and its text is the standard encoder's (a test holds that).
    """
    key = ("" if first else ",") + json.dumps(column.name) + ":"
    # Every text is a name of the generated code's: the body is one f-string, and an f-string's
    # expressions may not hold quotes here (Python 3.11).
    name = f"key_{column.name}"
    names[name] = key
    if column.kind == "text":
        (base,) = _base_types(annotation)
        if isinstance(base, type) and issubclass(base, Enum):
            names[f"enum_{column.name}"] = {
                member: key + json.dumps(member.value, ensure_ascii=False) for member in base
            }
            return f"enum_{column.name}[{value}]"
        return f"{name} + quote({value})"
    if column.kind == "int":
        return f"{name} + str({value})"
    if column.kind == "bool":
        names[f"true_{column.name}"], names[f"false_{column.name}"] = key + "true", key + "false"
        return f"true_{column.name} if {value} else false_{column.name}"
    if column.kind == "decimal":  # a JSON string: exact, as written (a number would be a float)
        names[name] = key + '"'
        return f"{name} + str({value}) + QUOTE"
    if column.kind == "instant":  # microseconds since 1970 UTC: a fifth of the ISO text's cost
        return f"{name} + str(({value} - EPOCH) // MICROSECOND)"
    if annotation == dict[str, Any]:  # extras: a JSON object by the schema's contract
        return f"{name} + dumps({value})"
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    names[f"json_{column.name}"] = functools.partial(adapter.dump_python, mode="json")
    return f"{name} + dumps(json_{column.name}({value}))"


def _body_decoder(column: Column, annotation: Any) -> Callable[[Any], Any]:
    """A JSON value of `body` (never `None`) -> field value."""
    if column.kind == "decimal":
        return Decimal
    if column.kind == "instant":
        return _from_micros
    if column.kind == "json":
        if annotation == dict[str, Any]:
            return _same
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        return adapter.validate_python
    return _decoder(column.kind, annotation, "sqlite")  # text, enums, int, bool


def _same(value: Any) -> Any:
    return value


class RowCodec:
    """Turns records into row tuples for one SQL dialect, and rows back into records.

    A row's columns are `KEY_COLUMNS`, then the `TABLE_FIELDS`, then `body`: the other fields as
    one JSON object (a field without a value is left out), then the billionths of `cost`
    (SQLite only). Fewer, narrower columns make a write cheaper: SQLite's insert of a row of 31
    columns cost as much as all the rest of a write.
    """

    KEY_COLUMNS = ("account_key", "series", "record_key")

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        fields = UsageRecord.model_fields
        self.columns: tuple[Column, ...] = tuple(
            Column(
                name=name,
                kind=(kind := _kind(info.annotation)),
                nullable=type(None) in typing.get_args(info.annotation) or info.annotation is Any,
                default=functools.partial(info.get_default, call_default_factory=True),
                decode=_decoder(kind, info.annotation, dialect),
            )
            for name, info in fields.items()
        )
        self.field_names = tuple(column.name for column in self.columns)
        self.table_columns = tuple(c for c in self.columns if c.name in TABLE_FIELDS)
        self.body_columns = tuple(c for c in self.columns if c.name not in TABLE_FIELDS)
        self.e9_columns: tuple[str, ...] = ("cost_e9",) if dialect == "sqlite" else ()
        self.stored_columns: tuple[str, ...] = (
            *(c.name for c in self.table_columns),
            "body",
            *self.e9_columns,
        )
        """The columns a write sets besides the key, in a row's order: compared as stored."""
        self.all_columns = self.KEY_COLUMNS + self.stored_columns
        self._body_decoders = {
            c.name: _body_decoder(c, fields[c.name].annotation) for c in self.body_columns
        }
        for new, old in RENAMED_FIELDS.items():
            if new in self._body_decoders:
                self._body_decoders[old] = self._body_decoders[new]
        self.stamped_row: Callable[[str, str, str, UsageRecord, Any], tuple[Any, ...]] = (
            self._compile_row()
        )
        """The row of a record kept under a key given (`stamped_row(account_key, series, key,
        record, synced_at)`): every column of `all_columns`, in order, then the time it was
        written (`synced_at`)."""
        self.written_row: Callable[[str, str, UsageRecord, Any], tuple[Any, ...]] = (
            self._compile_row(keyed=True)
        )
        """The row a write inserts: `stamped_row`'s, its key (`record_key`) made from the values
        the row takes from the record anyway (`written_row(account_key, series, record,
        synced_at)`)."""

    def _compile_row(self, *, keyed: bool = False) -> Any:
        """The function making a record's row, as straight-line code for these columns.

        It runs once per record written, so it is generated rather than a loop over the
        columns: the values are taken in one `itemgetter` call, each column that needs it is
        converted in place (an unset value stays `None`), the body is one dict encoded by the C
        JSON encoder, and the billionths are taken from the Decimal itself.
        """
        fields = UsageRecord.model_fields
        index = {name: i for i, name in enumerate(self.field_names)}
        names: dict[str, Any] = {
            "get": operator.itemgetter(*self.field_names),
            "e9": e9,
            "dumps": _ENCODE_JSON,
            "quote": json.encoder.encode_basestring,
            "EPOCH": _EPOCH,
            "MICROSECOND": _MICROSECOND,
            "QUOTE": '"',
            "EMPTY": "",
            "key_of": _key,
        }
        items = ["account_key", "series", "key"]
        for column in self.table_columns:
            i = index[column.name]
            encode = self._encoder(column, fields[column.name].annotation)
            if encode is micros:  # written out: a call costs as much as the arithmetic
                value = f"(v{i} - EPOCH) // MICROSECOND"
                items.append(f"None if v{i} is None else {value}" if column.nullable else value)
            elif encode is None:
                items.append(f"v{i}")
            else:
                names[f"encode{i}"] = encode
                items.append(f"None if v{i} is None else encode{i}(v{i})")
        # The fields always set first: the body's text starts with one of them, the others
        # each add `,"name":value` when set, and all are put together by one f-string (a
        # tenth quicker than a join of a tuple of them).
        parts: list[str] = []
        for column in sorted(self.body_columns, key=lambda c: c.nullable):
            i = index[column.name]
            annotation = fields[column.name].annotation
            item = _body_item(column, annotation, f"v{i}", names, first=not parts)
            parts.append(f"EMPTY if v{i} is None else {item}" if column.nullable else item)
        body = "    body = f'{{" + "".join(f"{{{part}}}" for part in parts) + "}}'"
        items.append("body")
        if self.e9_columns:
            items.append(f"e9(v{index['cost']})")
        items.append("synced_at")  # made in the one tuple: a row copied cost a tenth of a write
        values = ", ".join(f"v{i}" for i in range(len(self.columns)))
        key = ""
        if keyed:  # from the values taken already: no second look-up of the record's fields
            key = f"    key = key_of({', '.join(f'v{index[name]}' for name in _KEY_FIELDS)})\n"
        source = (
            f"def row(account_key, series, {'' if keyed else 'key, '}record, synced_at):\n"
            f"    {values}, = get(record.__dict__)\n"
            + key
            + body
            + f"\n    return ({', '.join(items)},)\n"
        )
        exec(compile(source, f"<row codec {self.dialect}>", "exec"), names)
        return names["row"]

    def _encoder(self, column: Column, annotation: Any) -> Callable[[Any], Any] | None:
        """How a field value becomes a stored value in a column; `None` when it is stored as it is."""
        if column.kind == "text":
            (base,) = _base_types(annotation)
            if isinstance(base, type) and issubclass(base, Enum):
                # A StrEnum is a str, but not exactly one: sqlite3 binds it through its adapter
                # look-up, several times slower than the plain text taken from this table.
                return {member: member.value for member in base}.__getitem__
            return None
        if column.kind == "bool":
            return int if self.dialect == "sqlite" else None
        if column.kind == "decimal":
            return str if self.dialect == "sqlite" else None
        if column.kind == "instant":
            return micros if self.dialect == "sqlite" else None
        return None

    def values(self, stored: Sequence[Any]) -> dict[str, Any]:
        """The field values of a row holding `stored_columns` (the billionths may be left off)."""
        out: dict[str, Any] = {}
        for column, value in zip(self.table_columns, stored, strict=False):
            if value is None:
                out[column.name] = None if column.nullable else column.default()
            else:
                out[column.name] = column.decode(value)
        decoders = self._body_decoders
        for name, value in json.loads(stored[len(self.table_columns)]).items():
            decode = decoders.get(name)
            if decode is None:
                continue  # a field this version of the record no longer has
            out[RENAMED_BACK.get(name, name)] = None if value is None else decode(value)
        for column in self.body_columns:
            if column.name not in out:
                out[column.name] = None if column.nullable else column.default()
        return out

    def record(self, stored: Sequence[Any]) -> UsageRecord:
        """The record of a row holding `stored_columns`, in order."""
        return UsageRecord.trusted(**self.values(stored))

    def legacy_values(self, names: Sequence[str], stored: Sequence[Any]) -> dict[str, Any]:
        """The field values of a row of schema version 1 or 2, a column per field.

        The columns are named ``names``: a renamed field under its old name, a field added
        later missing (it reads back as its default).
        """
        by_name = {
            RENAMED_BACK.get(name, name): value for name, value in zip(names, stored, strict=True)
        }
        out: dict[str, Any] = {}
        for column in self.columns:
            value = by_name.get(column.name)
            if value is None:
                out[column.name] = None if column.nullable else column.default()
            else:
                out[column.name] = column.decode(value)
        return out


RENAMED_BACK = {old: new for new, old in RENAMED_FIELDS.items()}


_CODECS: dict[str, RowCodec] = {}


def codec(dialect: str) -> RowCodec:
    """The (cached) codec of ``dialect``."""
    found = _CODECS.get(dialect)
    if found is None:
        found = _CODECS[dialect] = RowCodec(dialect)
    return found


def record_key(record: UsageRecord | Mapping[str, Any]) -> str:
    """A record's identity within its (provider, account, series).

    An event is its call; a window is its period, item, agent and number. Absent ids are `''`.
    """
    values = record.__dict__ if isinstance(record, UsageRecord) else record
    return _key(*map(values.__getitem__, _KEY_FIELDS))


_KEY_FIELDS = ("grain", "call_id", "period_start", "period_end", "item", "agent_id", "number_id")
"""The fields a record's key is made of, in `_key`'s order."""


def _key(
    grain: Grain,
    call_id: str | None,
    start: datetime,
    end: datetime,
    item: str | None,
    agent_id: str | None,
    number_id: str | None,
) -> str:
    """`record_key` of a record's values (the generated rows call it with theirs)."""
    if grain is Grain.EVENT and call_id:
        return f"call:{call_id}"
    return "|".join(
        (
            "window" if grain is Grain.WINDOW else "event",
            format_stamp(start),
            format_stamp(end),
            item or "",
            agent_id or "",
            number_id or "",
            call_id or "",
        )
    )
