"""`UsageRecord` <-> table row, derived from `UsageRecord.model_fields`.

Every field of the record is a column of its own, named as the field, so a field added to the
record becomes a column on the next open of a store (see `_schema.ensure_columns`) without
further code, as long as its type is one of the kinds below:

- text (`str`, enums): TEXT;
- whole numbers: INTEGER (SQLite) or BIGINT (PostgreSQL);
- `bool`: INTEGER 0/1 or BOOLEAN;
- `Decimal`: the decimal as TEXT, exact, plus an INTEGER column `<field>_e9` of billionths for
  exact sums in SQL (SQLite); NUMERIC (PostgreSQL), exact as it is;
- instants: ISO 8601 TEXT of fixed width in UTC, which sorts as time does (SQLite); TIMESTAMPTZ;
- anything else (dicts, tuples, `Any`): JSON as TEXT, key order and numbers kept as written.

A record's identity in the store is its key (`record_key`): an event's call id, or a window's
period, item, agent and number. Key columns are NOT NULL; an absent id is `''` in a key.
"""

from __future__ import annotations

import functools
import json
import operator
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from pydantic import AwareDatetime, NaiveDatetime, TypeAdapter

from voice_usage._schema import Grain, UsageRecord

__all__ = [
    "Column",
    "Kind",
    "RowCodec",
    "codec",
    "e9",
    "format_stamp",
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
            return "INTEGER" if self.kind in ("int", "bool") else "TEXT"
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
        return parse_stamp if dialect == "sqlite" else _utc
    if annotation == dict[str, Any]:
        return json.loads
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    return lambda text: adapter.validate_python(json.loads(text))


def _exact_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _json_encoder(annotation: Any) -> Callable[[Any], str]:
    if annotation == dict[str, Any]:
        return _plain_json
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    return lambda value: json.dumps(adapter.dump_python(value, mode="json"), separators=(",", ":"))


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


def _plain_json(value: Any) -> str:
    # Extras are JSON values by the schema's contract; anything else is refused rather than
    # stored in a form that would read back as something different.
    return _ENCODE_JSON(value) if value else "{}"


class RowCodec:
    """Turns records into row tuples for one SQL dialect, and rows back into records.

    The row's columns are `KEY_COLUMNS`, then one column per record field, then a billionths
    column per decimal field (SQLite only).
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
        self.e9_columns: tuple[str, ...] = (
            tuple(f"{c.name}_e9" for c in self.columns if c.kind == "decimal")
            if dialect == "sqlite"
            else ()
        )
        self.all_columns = self.KEY_COLUMNS + self.field_names + self.e9_columns
        encoders = [self._encoder(c, fields[c.name].annotation) for c in self.columns]
        self.row = self._compile_row(encoders)

    def _compile_row(
        self, encoders: list[Callable[[Any], Any] | None]
    ) -> Callable[[str, str, str, UsageRecord], tuple[Any, ...]]:
        """The function making a record's row, as straight-line code for these columns.

        It runs once per record written, so it is generated rather than a loop over the
        columns: the values are taken in one `itemgetter` call, each column that needs it is
        converted in place (an unset value stays `None`), and the billionths of each decimal are
        taken from the Decimal itself. The result is every column of `all_columns`, in order.
        """
        names: dict[str, Any] = {"get": operator.itemgetter(*self.field_names), "e9": e9}
        values = [f"v{i}" for i in range(len(self.columns))]
        items = ["account_key", "series", "key"]
        for i, encode in enumerate(encoders):
            if encode is None:
                items.append(values[i])
            else:
                names[f"encode{i}"] = encode
                items.append(f"None if {values[i]} is None else encode{i}({values[i]})")
        if self.e9_columns:
            items += [f"e9({values[i]})" for i, c in enumerate(self.columns) if c.kind == "decimal"]
        source = (
            "def row(account_key, series, key, record):\n"
            f"    {', '.join(values)}, = get(record.__dict__)\n"
            f"    return ({', '.join(items)},)\n"
        )
        exec(compile(source, f"<row codec {self.dialect}>", "exec"), names)
        row: Callable[[str, str, str, UsageRecord], tuple[Any, ...]] = names["row"]
        row.__doc__ = "The row of a record (every column of `all_columns`, in order)."
        return row

    def _encoder(self, column: Column, annotation: Any) -> Callable[[Any], Any] | None:
        """How a field value becomes a stored value; `None` when it is stored as it is."""
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
            return format_stamp if self.dialect == "sqlite" else None
        if column.kind == "json":
            return _json_encoder(annotation)
        return None

    def values(self, stored: tuple[Any, ...]) -> dict[str, Any]:
        """The field values of a row holding `field_names` columns, in order."""
        out: dict[str, Any] = {}
        for column, value in zip(self.columns, stored, strict=True):
            if value is None:
                out[column.name] = None if column.nullable else column.default()
            else:
                out[column.name] = column.decode(value)
        return out

    def record(self, stored: tuple[Any, ...]) -> UsageRecord:
        """The record of a row holding `field_names` columns, in order."""
        return UsageRecord.trusted(**self.values(stored))


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
    call_id = values["call_id"]
    if values["grain"] is Grain.EVENT and call_id:
        return f"call:{call_id}"
    return "|".join(
        (
            "window" if values["grain"] is Grain.WINDOW else "event",
            format_stamp(values["period_start"]),
            format_stamp(values["period_end"]),
            values["item"] or "",
            values["agent_id"] or "",
            values["number_id"] or "",
            call_id or "",
        )
    )
