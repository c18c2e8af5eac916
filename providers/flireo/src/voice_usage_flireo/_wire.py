"""Flireo's wire format: the `/usage` and `/organizations` bodies, in every documented shape.

The vendor documents `GET /usage` four ways (see `docs/providers/flireo.md`):

- (a) the API reference: `logs` with `duration_seconds`, `minutes_used`, `cost`, `call_id`;
  `summary` with `total_minutes`, `total_cost`, `total_calls`;
- (b) the billing guide: `usage` with `duration_sec`, `number_id`; `summary` with
  `total_seconds`, `total_minutes`, `total_cost`; no `pagination`;
- (c) the official SDK's types: `logs` with `duration_sec`, `call_type`, `phone_number`,
  `agent_name`, `business_name`; `summary` with `total_calls`, `total_duration_seconds`,
  `total_duration_minutes`;
- (d) the OpenAPI-rendered reference: (c) plus `byok_stt`, `byok_llm`, `byok_tts`.

The models accept all of them: either list key, either duration name, either summary naming,
every optional field. Unknown fields are kept (`extra="allow"`) and end up in record extras.
Numbers are strict: a duration or a cost that is not a number (or a numeric string) is an error,
never a silent zero.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from math import copysign
from typing import Annotated, NotRequired

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    with_config,
)
from pydantic_core import from_json
from typing_extensions import TypedDict

from voice_usage.provider import Page

__all__ = [
    "FlireoOrganization",
    "Pagination",
    "UsageLog",
    "UsagePage",
    "UsageSummary",
    "parse_organization",
    "parse_usage_log",
    "parse_usage_page",
]


def _as_utc(value: datetime) -> datetime:
    # The vendor writes `...Z`; a timestamp without an offset is read as UTC, as the API is.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    # Even a `Z` timestamp is moved onto `datetime.UTC` (pydantic gives its own zone object):
    # comparisons and arithmetic between datetimes of one zone object skip `utcoffset()` calls,
    # which more than pays for this once-per-log conversion downstream.
    return value.astimezone(UTC)


Instant = Annotated[datetime, Field(strict=True), AfterValidator(_as_utc)]
"""An ISO 8601 timestamp (strict: a bare number is not read as epoch seconds), in UTC."""

Quantity = Annotated[Decimal, Field(strict=True, ge=0, allow_inf_nan=False)]
"""A non-negative number of seconds, minutes or euros; a JSON number or numeric string."""

Count = Annotated[int, Field(strict=True, ge=0)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


@with_config(ConfigDict(extra="allow"))
class UsageLog(TypedDict):
    """One usage log: one call, as `/usage` lists it.

    A `TypedDict`, not a model: a page holds up to 1000 logs, and validating them into plain
    dicts in one `TypeAdapter` pass is about twice as fast as building model objects. Unknown
    fields stay in the dict.
    """

    id: str
    """The log's identifier (not always the call's)."""
    created_at: Instant
    """When the log was written (the vendor does not say whether that is the call's start or end)."""
    duration_seconds: NotRequired[Quantity | None]
    """Measured duration in seconds, shape (a)."""
    duration_sec: NotRequired[Quantity | None]
    """Measured duration in seconds, shapes (b), (c), (d)."""
    minutes_used: NotRequired[Quantity | None]
    """Minutes charged for the call, after the vendor's rounding (shape (a) only)."""
    cost: NotRequired[Quantity | None]
    """EUR charged for the call (shape (a) only)."""
    call_id: NotRequired[str | None]
    number_id: NotRequired[str | None]
    call_type: NotRequired[str | None]
    phone_number: NotRequired[str | None]
    agent_name: NotRequired[str | None]
    business_name: NotRequired[str | None]
    byok_stt: NotRequired[bool | None]
    byok_llm: NotRequired[bool | None]
    byok_tts: NotRequired[bool | None]


class Pagination(_Wire):
    """`pagination`: the matched total and the page asked for."""

    total: Count
    limit: Count | None = None
    offset: Count | None = None


class UsageSummary(_Wire):
    """`summary`: the vendor's totals over everything the date filter matched (not one page)."""

    total_calls: Count | None = None
    total_seconds: Quantity | None = Field(
        default=None, validation_alias=AliasChoices("total_seconds", "total_duration_seconds")
    )
    total_minutes: Quantity | None = Field(
        default=None, validation_alias=AliasChoices("total_minutes", "total_duration_minutes")
    )
    total_cost: Quantity | None = None


@with_config(ConfigDict(extra="allow"))
class UsagePage(TypedDict):
    """One `/usage` response; the logs come under `logs` or `usage`, depending on the shape."""

    logs: NotRequired[list[UsageLog]]
    usage: NotRequired[list[UsageLog]]
    pagination: NotRequired[Pagination | None]
    summary: NotRequired[UsageSummary | None]


class FlireoOrganization(_Wire):
    """`GET /organizations`: the account's balance snapshot, in minutes (not euros).

    `minutes_balance` is fractional in the spec-rendered reference (`500.5`) although an older page
    says integer; the billing guide names the organization `company_name` instead of `name`.
    Other fields (`active_*`, `children`, `email`...) are kept as they come.
    """

    id: str | None = None
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "company_name"))
    minutes_balance: Annotated[Decimal, Field(strict=True, allow_inf_nan=False)] | None = None
    """Pre-paid minutes left (may go negative on some platforms; kept as given); `None` when the
    body does not carry it (the SDK's tests send `{"id", "name"}` alone, its v1.0.1 type
    `credits_balance` instead): a figure the body does not carry is unknown, not an error."""
    monthly_usage_minutes: Quantity | None = None
    """Minutes used this calendar month (resets on the 1st at midnight UTC)."""
    active_numbers: Count | None = None
    active_agents: Count | None = None
    active_calls: Count | None = None


_USAGE_PAGE: TypeAdapter[UsagePage] = TypeAdapter(UsagePage)
_USAGE_LOG: TypeAdapter[UsageLog] = TypeAdapter(UsageLog)
_ORGANIZATION: TypeAdapter[FlireoOrganization] = TypeAdapter(FlireoOrganization)


def parse_usage_page(content: bytes) -> Page[UsageLog]:
    """One `/usage` body as a page; the summary travels in `meta`.

    A body in the documented types takes the fast path (`_read_plain_page`); anything else is
    validated by the `UsagePage` model, which accepts what the vendor's looser forms allow and
    explains what it refuses. Both give the same result.

    Raises:
        ValidationError: a field of the wrong type; `ValueError` when the body has neither or
            both of the list keys.
    """
    try:
        page = _read_plain_page(content)
    except _Irregular:
        page = _USAGE_PAGE.validate_json(content)
    logs, usage = page.get("logs"), page.get("usage")
    if (logs is None) == (usage is None):
        which = (
            "both 'logs' and 'usage' are present" if logs is not None else "no 'logs' or 'usage'"
        )
        raise ValueError(f"expected the usage logs under 'logs' or 'usage': {which}")
    pagination = page.get("pagination")
    total = pagination.total if pagination is not None else None
    return Page(logs if logs is not None else usage or [], total=total, meta=page.get("summary"))


# -- the fast path -------------------------------------------------------------------------------
#
# Validating a page of 1000 logs with the `UsagePage` model costs about three times `json.loads`
# alone, mostly in pydantic calling back into Python for each Decimal and timestamp. Real pages
# are regular: every field in its documented JSON type. For those, parsing the JSON into plain
# objects and checking a few types per log gives the same dicts in well under half the time.
# Anything unexpected (a numeric string, a bool where a number goes, an unusual timestamp, a body
# that is not JSON) raises `_Irregular`, and the model takes over: it alone decides what is
# accepted and how errors read. `tests/providers/test_flireo_wire_paths.py` holds the two paths
# to the same reading on generated bodies.


class _Irregular(Exception):
    """The body is not in the plain documented types: let the model validate it."""


_QUANTITY, _INSTANT = object(), object()
_LOG_RULES: dict[str, object] = {
    "id": str,
    "created_at": _INSTANT,
    **dict.fromkeys(("duration_seconds", "duration_sec", "minutes_used", "cost"), _QUANTITY),
    **dict.fromkeys(
        ("call_id", "number_id", "call_type", "phone_number", "agent_name", "business_name"), str
    ),
    **dict.fromkeys(("byok_stt", "byok_llm", "byok_tts"), bool),
}
"""What each documented log field must be: a JSON type, or a quantity or instant to convert."""
_SUMMARY_QUANTITIES = frozenset(
    {
        "total_seconds",
        "total_duration_seconds",
        "total_minutes",
        "total_duration_minutes",
        "total_cost",
    }
)
_DECIMALS: dict[float, Decimal] = {}
"""Decimals of the numbers seen; logs repeat a few prices and durations many times."""
_DECIMALS_KEPT = 4096
_EXACT_WHOLE_FLOATS = 2.0**53
_from_iso = datetime.fromisoformat


def _quantity(value: object) -> Decimal:
    """A JSON number as the model reads it: non-negative, finite, as a `Decimal`.

    pydantic turns a JSON float into the Decimal of its shortest round-trip digits, written
    without a fraction when it is whole (`100.0` becomes `Decimal('100')`); so does this.
    """
    kind = type(value)
    if kind is not int and kind is not float:  # a bool is neither, as for the model
        raise _Irregular
    number: float = value  # type: ignore[assignment]
    if not number and kind is float and copysign(1.0, number) < 0:
        raise _Irregular  # -0.0 equals 0 as a key, but the model writes it Decimal('-0')
    found = _DECIMALS.get(number)
    if found is None:
        if kind is int:
            if number < 0:
                raise _Irregular
            found = Decimal(number)
        elif 0 <= number < _EXACT_WHOLE_FLOATS:  # also refuses NaN and infinities
            found = Decimal(int(number)) if number.is_integer() else Decimal(repr(number))
        else:  # digits past a float's precision are written differently: the model decides
            raise _Irregular
        # Whole numbers past 2**53 stay out: a float equal to one is written otherwise.
        if len(_DECIMALS) < _DECIMALS_KEPT and number < _EXACT_WHOLE_FLOATS:
            _DECIMALS[number] = found
    return found


def _instant(value: object) -> datetime:
    """A `...Z` timestamp in the extended ISO 8601 form, as an instant on `datetime.UTC`."""
    # Only the vendor's usual form, `2026-10-10T23:59:26.836Z`, with up to six digits of
    # fraction; the others (week dates, offsets, no seconds...) have edge cases the model
    # settles. `fromisoformat` checks the digits; this checks the form around them.
    if type(value) is not str or value[4:17:3] != "--T::" or value[-1] != "Z":
        raise _Irregular
    size = len(value)
    if size != 20 and not (22 <= size <= 27 and value[19] == "."):
        raise _Irregular
    try:
        instant = _from_iso(value)
    except ValueError:
        raise _Irregular from None
    if instant.tzinfo is not UTC:
        raise _Irregular
    return instant


def _check_logs(logs: object) -> None:
    if type(logs) is not list:
        raise _Irregular
    decimals = _DECIMALS
    for log in logs:
        if type(log) is not dict or type(log.get("id")) is not str:
            raise _Irregular
        # One pass over the log's own fields (fewer than the documented ones), converting in
        # place: replacing a value while iterating is allowed, adding a key is not.
        for key, value in log.items():
            rule = _LOG_RULES.get(key)
            if rule is None or value is None:
                continue  # an unknown field is kept as sent; a documented one may be null
            if rule is _QUANTITY:
                # The common case inline, a number seen before; zero, which may be -0.0, and
                # anything new go through `_quantity`.
                kind = type(value)
                known = decimals.get(value) if value and (kind is int or kind is float) else None
                log[key] = known if known is not None else _quantity(value)
            elif rule is _INSTANT:
                log[key] = _instant(value)
            elif type(value) is not rule:
                raise _Irregular
        if type(log.get("created_at")) is not datetime:  # missing or null
            raise _Irregular


def _read_plain_page(content: bytes) -> UsagePage:
    """The page as the model would give it, when every field is in its documented JSON type.

    Raises:
        _Irregular: anything else, for the model to validate.
    """
    try:
        # pydantic's own JSON reader: the model's numbers, and keys interned across the page.
        page = from_json(content, allow_inf_nan=False, cache_strings="keys")
    except ValueError:  # not JSON (or not UTF-8): the model's error says so better
        raise _Irregular from None
    if type(page) is not dict:
        raise _Irregular
    for key in ("logs", "usage"):
        if key in page:
            _check_logs(page[key])
    try:
        if (pagination := page.get("pagination")) is not None:
            page["pagination"] = Pagination.model_validate(pagination)
        if (summary := page.get("summary")) is not None:
            if type(summary) is not dict:
                raise _Irregular
            page["summary"] = UsageSummary.model_validate(
                {
                    key: _quantity(value)
                    if key in _SUMMARY_QUANTITIES and value is not None
                    else value
                    for key, value in summary.items()
                }
            )
    except ValidationError:
        raise _Irregular from None
    return page  # type: ignore[return-value]


def parse_usage_log(content: bytes | str) -> UsageLog:
    """Validate one log's JSON, as it comes off the wire."""
    return _USAGE_LOG.validate_json(content)


def parse_organization(content: bytes) -> Page[FlireoOrganization]:
    """The `/organizations` body as a one-item page."""
    return Page([_ORGANIZATION.validate_json(content)])
