"""The normalized schema every provider produces: `UsageRecord`, and the `UsageQuery` that asks for it.

Money is `Decimal` next to an ISO 4217 currency on the same record, time is UTC, and periods are
half-open `[period_start, period_end)`. Measured duration and the vendor's rated quantity are
separate fields, as in FinOps FOCUS (ConsumedQuantity versus PricingQuantity).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticUndefined

from voice_usage._enums import CallPart, CostSource, Grain, Granularity
from voice_usage._exceptions import InvalidQueryError, invalid_input

__all__ = [
    "CallPart",
    "CostSource",
    "Grain",
    "Granularity",
    "UsageQuery",
    "UsageRecord",
    "covers",
    "format_instant",
    "parse_instant",
    "with_field",
]

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UTCDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An aware datetime, normalized to UTC. Naive datetimes are rejected."""


MAX_FIGURE = Decimal(10) ** 15
"""Past any plausible duration, quantity or amount (a quadrillion): a vendor's `1e300` is refused
when the record is built, so sums, rates per minute and 6-place rounding never run out of
Decimal's 28 digits later, in a table or a comparison."""


def _no_negative_zero(value: Decimal) -> Decimal:
    """`-0` (a vendor's `-0.0`) is zero: written `0`, never `-0`."""
    return value.copy_abs() if not value and value.is_signed() else value


NonNegativeDecimal = Annotated[
    Decimal, Field(ge=0, lt=MAX_FIGURE, allow_inf_nan=False), AfterValidator(_no_negative_zero)
]
NonNegativeInt = Annotated[int, Field(ge=0)]


class UsageRecord(BaseModel):
    """One normalized piece of usage: a call (`event`) or an aggregate over a period (`window`).

    Unknown figures are `None`, never `0`: a vendor that does not report failed calls leaves
    `failed_calls` as `None`. A cost without a currency is rejected, and a `None` cost carries the
    reason in `cost_note`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    provider: str
    """Provider name as registered in the `voice_usage` entry-point group, e.g. `flireo`."""
    account: str | None = None
    """The vendor account or organization the usage belongs to, when the vendor says."""
    grain: Grain
    """`event` for one call, `window` for an aggregate over `[period_start, period_end)`."""
    period_start: UTCDatetime
    """Start of the period, inclusive, UTC. For an event, when the call was created."""
    period_end: UTCDatetime
    """End of the period, exclusive, UTC. Always after `period_start`."""
    calls: NonNegativeInt | None = None
    """Number of calls in the record (1 for an event); `None` when the vendor does not count calls."""
    failed_calls: NonNegativeInt | None = None
    """Calls that ended in an error, when the vendor reports it; `None` when unknown."""
    connected_calls: NonNegativeInt | None = None
    """Calls that connected (Ultravox: joined), out of `calls` (which counts every call
    attempted); `None` when the vendor does not tell."""
    duration_seconds: NonNegativeDecimal | None = None
    """Measured call duration in seconds (FOCUS ConsumedQuantity); `None` when unknown."""
    billed_minutes: NonNegativeDecimal | None = None
    """Rated quantity in minutes after the vendor's rounding (FOCUS PricingQuantity); `None` if unknown."""
    cost: NonNegativeDecimal | None = None
    """What the usage cost, in `currency` (FOCUS BilledCost); `None` when unknown, never a silent 0."""
    currency: str | None = None
    """ISO 4217 code of `cost`, e.g. `EUR`; required whenever `cost` is set."""
    cost_source: CostSource | None = None
    """`reported` by the vendor, computed from a `rate_card`, or `None` when there is no cost."""
    cost_note: str | None = None
    """For people only, never read by code: why `cost` is `None`, or how it was priced."""
    rate_card: str | None = None
    """The rate card that priced `cost`, as `provider/item@YYYY-MM-DD` (e.g.
    `flireo/call@2026-01-01`); `None` when the cost was reported or is unknown."""
    cost_components: dict[str, NonNegativeDecimal] | None = None
    """The line items `cost` is made of, in `currency`, named as the vendor or the rate card
    names them (e.g. `transport`, `model`); they sum exactly to `cost`. `None` when no split is
    known."""
    cost_covers: tuple[CallPart, ...] | None = None
    """The parts of a voice call `cost` pays for, sorted and without repeats; `None` when `cost`
    is `None` or nobody knows what it covers."""
    cost_estimate: bool = False
    """True when `cost` or `billed_minutes` is an estimate (a window priced without per-call durations)."""
    item: str = "call"
    """The metered item a rate card prices: `call` minutes, or `sip` trunk minutes billed apart."""
    agent_id: str | None = None
    """The vendor's agent (assistant) identifier, when the record belongs to one agent."""
    number_id: str | None = None
    """The vendor's phone-number identifier, when the record belongs to one number."""
    call_id: str | None = None
    """The vendor's call identifier; set on `event` records."""
    extras: dict[str, Any] = Field(default_factory=dict)
    """Vendor-specific fields kept verbatim (JSON-compatible values), outside the core fields."""

    @field_validator("currency")
    @classmethod
    def _currency_is_iso_4217(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY.match(value):
            raise ValueError(f"currency must be an ISO 4217 code such as 'EUR', got {value!r}")
        return value

    @field_validator("cost_covers", mode="before")
    @classmethod
    def _covers_are_a_sorted_set(cls, value: Any) -> Any:
        if value is None or isinstance(value, str) or not isinstance(value, Iterable):
            return value  # pydantic's own error for a wrong type
        return covers(value)

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if problem := _inconsistency(self.__dict__):
            raise ValueError(problem)
        return self

    @classmethod
    def trusted(cls, **values: Any) -> UsageRecord:
        """Build a record from values that are already of the right types, fast.

        For providers' hot paths, where every value comes from a strictly validated wire model
        or from arithmetic on such values (`Decimal`s, aware datetimes, enums). pydantic's
        per-field validation is skipped (a third less time), but the record's invariants
        are still enforced: UTC periods in order, a cost only with a currency and a source, no
        more failed calls than calls. With `VOICE_USAGE_STRICT_RECORDS=1` in the environment
        (the test suite sets it) every record is fully validated instead.

        When many records share fields (the provider, the grain...), `UsageRecord.template()`
        fixes those once and is faster still.

        Raises:
            ValueError: naming the broken invariant; `TypeError` for an unknown field.
        """
        return _ANY_RECORD(**values)

    @classmethod
    def template(cls, **fixed: Any) -> RecordTemplate:
        """A builder of records that share the ``fixed`` values, as `trusted()` but faster.

        A provider's hot path makes one template per fetch with the values every record shares
        and calls it with the rest for each record:

            event = UsageRecord.template(provider="flireo", grain=Grain.EVENT, calls=1)
            record = event(period_start=start, period_end=end, cost=cost, ...)

        The values are trusted to be of the right types, as with `trusted()`; the record's
        invariants are still enforced on every call, and `VOICE_USAGE_STRICT_RECORDS=1`
        validates every record fully. `extras` belong to each record, never to a template, and
        `cost_covers` must already be in the form `covers()` gives.

        Raises:
            TypeError: for an unknown field, or `extras`; the builder raises `ValueError`
                naming a broken invariant, `TypeError` for an unknown or missing field.
        """
        return _template(fixed)

    @classmethod
    def row_template(cls, names: Sequence[str], /, **fixed: Any) -> RecordTemplate:
        """As `template()`, but the builder takes the values of ``names`` by position, in order.

        For the hottest paths: the builder is compiled once for these names, with the ``fixed``
        values as constants, and builds each record's values in one step instead of merging
        keyword arguments into the template's. The same values are trusted, the same
        invariants enforced and `VOICE_USAGE_STRICT_RECORDS=1` validates fully, as with
        `template()`; a field in neither ``names`` nor ``fixed`` takes its default, and the
        record's fields set is ``names`` and the fixed ones::

            event = UsageRecord.row_template(("period_start", "period_end"), provider="p",
                                             grain=Grain.EVENT, calls=1)
            record = event(start, end)

        Raises:
            TypeError: for an unknown or repeated name, or `extras` among the ``fixed``; the
                builder raises `ValueError` naming a broken invariant, `TypeError` for a wrong
                number of values or a missing grain or period.
        """
        return _row_template(tuple(names), fixed)


_STRICT_RECORDS = os.environ.get("VOICE_USAGE_STRICT_RECORDS", "") not in ("", "0")
_DEFAULTS: dict[str, Any] = {
    name: None if info.default is PydanticUndefined else info.default
    for name, info in UsageRecord.model_fields.items()
}
_FIELD_COUNT = len(_DEFAULTS)
_FIGURES = ("duration_seconds", "billed_minutes", "cost")
_new = object.__new__
# The setters of the four slots pydantic gives every model, called directly: the same stores
# as `object.__setattr__` makes, without looking each name up through the class.
_set_values, _set_fields_set, _set_extra, _set_private = (
    vars(BaseModel)[slot].__set__
    for slot in (
        "__dict__",
        "__pydantic_fields_set__",
        "__pydantic_extra__",
        "__pydantic_private__",
    )
)


def _inconsistency(values: Mapping[str, Any]) -> str | None:
    """The first broken cross-field invariant of a record's values, or `None`."""
    # Runs once per record on the template path: enum members are module constants (an enum
    # attribute lookup costs more than the test), and each value is looked up once.
    start, end = values["period_start"], values["period_end"]
    if end <= start:
        return f"period_end ({end.isoformat()}) must be after period_start ({start.isoformat()})"
    cost, source = values["cost"], values["cost_source"]
    if cost is not None:
        if values["currency"] is None:
            return "cost is set but currency is missing: money needs an ISO 4217 currency"
        if source is None:
            return "cost is set but cost_source is missing: say 'reported' or 'rate_card'"
        components = values["cost_components"]
        # One component is its own total, found in the values without a call.
        if components is not None and (
            cost not in components.values() if len(components) == 1 else _total(components) != cost
        ):
            return (
                f"cost_components sum to {_total(components)}, not to cost ({cost}): "
                "a split must add up exactly"
            )
    elif source is not None:
        return "cost_source is set but cost is None"
    elif values["cost_components"] is not None or values["cost_covers"] is not None:
        return (
            "cost_components and cost_covers describe a cost: both must be None when cost is None"
        )
    if values["rate_card"] is not None and source is not _RATE_CARD:
        return "rate_card is set but cost_source is not 'rate_card'"
    calls = values["calls"]
    if calls is not None:
        if calls != 1 and values["grain"] is _EVENT:
            return f"an event is one call: calls must be 1, got {calls}"
        failed = values["failed_calls"]
        if failed is not None and failed > calls:
            return f"failed_calls ({failed}) cannot exceed calls ({calls})"
        connected = values["connected_calls"]
        if connected is not None and connected > calls:
            return f"connected_calls ({connected}) cannot exceed calls ({calls})"
    return None


_EVENT, _RATE_CARD, _ZERO = Grain.EVENT, CostSource.RATE_CARD, Decimal(0)


def _total(components: Mapping[str, Any]) -> Any:
    """What ``components`` add up to; one component is its own total (no addition)."""
    if len(components) == 1:
        for value in components.values():
            return value
    return sum(components.values(), _ZERO)


RecordTemplate = Callable[..., "UsageRecord"]
"""Builds records that share some values; made by `UsageRecord.template()`."""


def _template_base(fixed: dict[str, Any]) -> dict[str, Any]:
    """Every field's value before a record's own: the defaults, then ``fixed``, coerced once."""
    unknown = set(fixed) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"UsageRecord has no field(s): {', '.join(sorted(unknown))}")
    if "extras" in fixed:
        raise TypeError("extras belong to each record: pass them per call, not in a template")
    base = {**_DEFAULTS, **fixed}
    if base["grain"] is not None:
        base["grain"] = Grain(base["grain"])
    if base["cost_source"] is not None:
        base["cost_source"] = CostSource(base["cost_source"])
    return base


def _template(fixed: dict[str, Any]) -> RecordTemplate:
    base = _template_base(fixed)
    fixed_names = frozenset(fixed)

    # A closure, not an object with `__call__`: this runs once per record, and a plain function
    # call with its state in closure cells is measurably cheaper.
    def build(**values: Any) -> UsageRecord:
        if _STRICT_RECORDS:
            return UsageRecord(**{**fixed, **values})
        data = {**base, **values}
        if len(data) != _FIELD_COUNT:
            unknown = ", ".join(sorted(set(values) - set(_DEFAULTS)))
            raise TypeError(f"UsageRecord has no field(s): {unknown}")
        if "extras" not in values:
            data["extras"] = {}  # a fresh dict per record, as the field's default factory gives
        if type(data["grain"]) is not Grain:
            data["grain"] = _grain(data["grain"])
        source = data["cost_source"]
        if source is not None and type(source) is not CostSource:
            data["cost_source"] = CostSource(source)
        # UTC itself, or a fixed zone at offset 0 (a parser's own UTC object), passes inline;
        # anything else takes the careful path.
        start, end = data["period_start"], data["period_end"]
        if type(start) is not datetime or (
            (zone := start.tzinfo) is not UTC
            and (zone is None or zone.utcoffset(None) != _NO_OFFSET)
        ):
            data["period_start"] = _as_utc("period_start", start)
        if type(end) is not datetime or (
            (zone := end.tzinfo) is not UTC and (zone is None or zone.utcoffset(None) != _NO_OFFSET)
        ):
            data["period_end"] = _as_utc("period_end", end)
        # A zero (a vendor's -0.0 is zero) or a figure past MAX_FIGURE takes `_figures`; the
        # rest pass here, unrolled: this runs once per record.
        duration, billed, cost = data["duration_seconds"], data["billed_minutes"], data["cost"]
        if (
            (duration is not None and (not duration or duration >= MAX_FIGURE))
            or (billed is not None and (not billed or billed >= MAX_FIGURE))
            or (cost is not None and (not cost or cost >= MAX_FIGURE))
        ):
            _figures(data)
        if problem := _inconsistency(data):
            raise ValueError(problem)
        return _assembled(data, values.keys() | fixed_names)

    return build


def _row_template(names: tuple[str, ...], fixed: dict[str, Any]) -> RecordTemplate:
    base = _template_base(fixed)
    unknown = [name for name in names if name not in _DEFAULTS]
    if unknown:
        raise TypeError(f"UsageRecord has no field(s): {', '.join(sorted(unknown))}")
    given = [*names, *fixed]
    if len(set(given)) != len(given):
        raise TypeError(f"each field is given once, by position or fixed: got {given!r}")
    # Each field's value is a parameter (`v<i>`, by position), a constant of this template
    # (`c_<name>`, in a closure cell) or, for `extras` when not given, a fresh dict. The names
    # written into the source are the model's own field names, never caller text.
    position = {name: f"v{index}" for index, name in enumerate(names)}
    constants = {f"c_{name}": value for name, value in base.items() if name not in position}
    value = {name: position.get(name, f"c_{name}") for name in _DEFAULTS}
    # A record's values start as a copy of the constants, every field in the model's order,
    # and take the given ones in place: copying a dict costs less than building one anew.
    row = {name: None if name in position else base[name] for name in _DEFAULTS}
    stores = [f"    data[{name!r}] = {bound}" for name, bound in position.items()]
    if "extras" not in position:
        stores.append("    data['extras'] = {}")  # fresh per record, as the default factory gives
    start, end = value["period_start"], value["period_end"]
    grain, source = value["grain"], value["cost_source"]
    figures = [value[name] for name in _FIGURES]
    parameters = ", ".join(position.values())
    # The same steps as `_template`'s `build`, unrolled for these fields.
    lines = [
        f"def make(t_fixed, t_names, t_fields_set, t_row, {', '.join(constants)}):",
        f"  def build({parameters}):",
        "    if _STRICT_RECORDS:",
        f"      return UsageRecord(**t_fixed, **dict(zip(t_names, ({parameters}{',' if names else ''}))))",
        "    data = t_row.copy()",
        *stores,
        f"    if type({grain}) is not Grain:",
        f"      data['grain'] = _grain({grain})",
        f"    if {source} is not None and type({source}) is not CostSource:",
        f"      data['cost_source'] = CostSource({source})",
    ]
    for name, bound in (("period_start", start), ("period_end", end)):
        lines += [
            f"    if type({bound}) is not datetime or (",
            f"      (zone := {bound}.tzinfo) is not UTC",
            "      and (zone is None or zone.utcoffset(None) != _NO_OFFSET)",
            "    ):",
            f"      data[{name!r}] = _as_utc({name!r}, {bound})",
        ]
    if figures:
        tests = " or ".join(
            f"({f} is not None and (not {f} or {f} >= MAX_FIGURE))" for f in figures
        )
        lines += [f"    if {tests}:", "      _figures(data)"]
    lines += [
        "    if problem := _inconsistency(data):",
        "      raise ValueError(problem)",
        "    return _assembled(data, set(t_fields_set))",
        "  return build",
    ]
    make = _ROW_MAKERS.get(names)
    if make is None:
        # Compiled against this module's globals, so that `_STRICT_RECORDS` is read per call;
        # the source depends on the names only, so each tuple of names is compiled once.
        scope: dict[str, Any] = {}
        exec("\n".join(lines), globals(), scope)
        make = _ROW_MAKERS[names] = scope["make"]
    build: RecordTemplate = make(dict(fixed), names, frozenset(given), row, **constants)
    return build


_ROW_MAKERS: dict[tuple[str, ...], Callable[..., RecordTemplate]] = {}
"""The compiled maker of row builders for each tuple of names (a provider uses one or two)."""


def _assembled(data: dict[str, Any], fields_set: set[str]) -> UsageRecord:
    """A record holding ``data``, already checked, as pydantic's own constructors leave one."""
    record = _new(UsageRecord)
    _set_values(record, data)
    _set_fields_set(record, fields_set)
    _set_extra(record, None)
    _set_private(record, None)
    return record


def with_field(record: UsageRecord, name: str, value: Any) -> UsageRecord:
    """``record`` as `model_copy(update={name: value})` makes it, at a fifth of the cost.

    The value is not validated, as `model_copy` does not validate it. pydantic's `__copy__`
    goes through `copy.copy` three times for a model that holds no extra fields and no private
    attributes; anything else (a subclass, a model with either) takes `model_copy` itself.
    """
    if (
        type(record) is UsageRecord
        and record.__pydantic_extra__ is None
        and record.__pydantic_private__ is None
    ):
        return _assembled({**record.__dict__, name: value}, record.__pydantic_fields_set__ | {name})
    return record.model_copy(update={name: value})


def _figures(data: dict[str, Any]) -> None:
    """A `-0` figure made `0` in place; a figure past `MAX_FIGURE` refused."""
    for name in _FIGURES:
        value = data[name]
        if value is not None:
            if not value and value.is_signed():
                data[name] = value.copy_abs()
            elif value >= MAX_FIGURE:
                raise ValueError(f"{name} {value:.3E} is past any plausible figure (1E+15)")


def covers(parts: Iterable[CallPart | str]) -> tuple[CallPart, ...]:
    """``parts`` as a `cost_covers` value: known parts only, without repeats, in a stable order.

    Raises:
        ValueError: for a name outside the vocabulary, listing the names that are known.
    """
    given = list(parts)
    try:
        found = {CallPart(part) for part in given}
    except ValueError:
        known = ", ".join(part.value for part in CallPart)
        raise ValueError(f"cost_covers takes only {known}; got {given!r}") from None
    return tuple(part for part in CallPart if part in found)


def _grain(value: Any) -> Grain:
    if value is None:
        raise TypeError("UsageRecord needs grain")
    return Grain(value)


def _as_utc(name: str, instant: Any) -> datetime:
    """A trusted period bound in UTC; any zero-offset zone (a parser's own UTC object) is kept."""
    if instant is None:
        raise TypeError(f"UsageRecord needs {name}")
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, got {instant!r}")
    offset = instant.utcoffset()
    if offset is None:
        raise ValueError(f"{name} must be timezone-aware, got {instant!r}")
    return instant.astimezone(UTC) if offset else instant


_NO_OFFSET = timedelta(0)
_ANY_RECORD = _template({})


def parse_instant(value: str | date | datetime, *, name: str = "date") -> datetime:
    """Parse a date or ISO 8601 datetime as a UTC instant.

    A bare date means midnight UTC; a datetime without an offset is taken as UTC; an offset is
    honoured and converted to UTC.

    Raises:
        InvalidQueryError: (a `ValueError`) naming ``name`` and the value, when the text is
            neither.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time.min)
    else:
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidQueryError(
                f"{name} must be a date (2026-10-01) or an ISO 8601 datetime "
                f"(2026-10-01T12:00:00+02:00), got {value!r}"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_instant(instant: datetime) -> str:
    """An instant as ISO 8601 UTC text ending in `Z`, the inverse of `parse_instant`."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class UsageQuery(BaseModel):
    """What to fetch: the half-open period `[since, until)`, a granularity and optional filters."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    since: UTCDatetime
    """Start of the period, inclusive, UTC."""
    until: UTCDatetime
    """End of the period, exclusive, UTC."""
    granularity: Granularity = Granularity.DAY
    """`call` for one record per call, or `hour`/`day`/`month` windows (UTC)."""
    agent_ids: tuple[str, ...] = ()
    """Only usage of these agents; empty means all agents."""
    number_ids: tuple[str, ...] = ()
    """Only usage of these phone numbers; empty means all numbers."""
    options: dict[str, str] = Field(default_factory=dict)
    """Provider-specific filters, passed through to the provider that understands them."""

    @field_validator("since", "until", mode="before")
    @classmethod
    def _parse_dates(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str | date):
            return parse_instant(value, name=info.field_name)
        return value

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.until <= self.since:
            raise ValueError(
                f"until ({self.until.isoformat()}) must be after since ({self.since.isoformat()})"
            )
        return self

    @classmethod
    def checked(cls, **values: Any) -> UsageQuery:
        """A query from ``values``, or one line saying what is wrong with them.

        Raises:
            InvalidQueryError: (a `VoiceUsageError` and a `ValueError`) naming the field.
        """
        try:
            return cls(**values)
        except ValidationError as exc:
            raise InvalidQueryError(str(invalid_input(exc))) from None

    @property
    def span(self) -> timedelta:
        """Length of the queried period."""
        return self.until - self.since

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` falls in `[since, until)`."""
        return self.since <= instant < self.until
