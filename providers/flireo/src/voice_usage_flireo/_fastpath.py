"""A faster reader of `/usage` bodies: an optimization, which a provider need not copy.

`_wire.parse_usage_page` reads any body correctly through the `UsagePage` model, and the provider
would give the same records with it alone. This module only makes the common case cheaper; a
third-party provider should start with plain pydantic models and leave this kind of code out
until a benchmark shows its parsing matters.

Validating a page of 1000 logs with the `UsagePage` model costs about three times `json.loads`
alone, mostly in pydantic calling back into Python for each Decimal and timestamp. Real pages
are regular: every field in its documented JSON type. For those, parsing the JSON into plain
objects and checking a few types per log gives the same dicts in well under half the time.
Anything unexpected (a numeric string, a bool where a number goes, an unusual timestamp, a body
that is not JSON) raises `Irregular`, and the model takes over: it alone decides what is
accepted and how errors read. `tests/providers/test_flireo_wire_paths.py` holds the two paths
to the same reading on generated bodies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from math import copysign

from pydantic import ValidationError
from pydantic_core import from_json

from voice_usage.provider import Page
from voice_usage_flireo._wire import (
    Pagination,
    UsageLog,
    UsagePage,
    UsageSummary,
    parse_usage_page,
    usage_page,
)

__all__ = [
    "LOG_RULES",
    "SUMMARY_QUANTITIES",
    "Irregular",
    "parse_usage_page_fast",
    "read_plain_page",
]


def parse_usage_page_fast(content: bytes) -> Page[UsageLog]:
    """One `/usage` body as a page, as `_wire.parse_usage_page` reads it, sooner when regular.

    Raises:
        ValidationError: a field of the wrong type; `ValueError` when the body has neither or
            both of the list keys.
    """
    try:
        body = read_plain_page(content)
    except Irregular:
        return parse_usage_page(content)
    return usage_page(body)


class Irregular(Exception):
    """The body is not in the plain documented types: let the model validate it."""


_QUANTITY, _INSTANT = object(), object()
LOG_RULES: dict[str, object] = {
    "id": str,
    "created_at": _INSTANT,
    **dict.fromkeys(("duration_seconds", "duration_sec", "minutes_used", "cost"), _QUANTITY),
    **dict.fromkeys(
        ("call_id", "number_id", "call_type", "phone_number", "agent_name", "business_name"), str
    ),
    **dict.fromkeys(("byok_stt", "byok_llm", "byok_tts"), bool),
}
"""What each documented log field must be: a JSON type, or a quantity or instant to convert."""
SUMMARY_QUANTITIES = frozenset(
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
        raise Irregular
    number: float = value  # type: ignore[assignment]
    if not number and kind is float and copysign(1.0, number) < 0:
        raise Irregular  # -0.0 equals 0 as a key, but the model writes it Decimal('-0')
    found = _DECIMALS.get(number)
    if found is None:
        if kind is int:
            if number < 0:
                raise Irregular
            found = Decimal(number)
        elif 0 <= number < _EXACT_WHOLE_FLOATS:  # also refuses NaN and infinities
            found = Decimal(int(number)) if number.is_integer() else Decimal(repr(number))
        else:  # digits past a float's precision are written differently: the model decides
            raise Irregular
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
        raise Irregular
    size = len(value)
    if size != 20 and not (22 <= size <= 27 and value[19] == "."):
        raise Irregular
    try:
        instant = _from_iso(value)
    except ValueError:
        raise Irregular from None
    if instant.tzinfo is not UTC:
        raise Irregular
    return instant


_Plan = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""A log's quantity fields, its other string fields and its flag fields, by name."""
_PLANS: dict[tuple[str, ...], _Plan] = {}
"""The plan of each key set seen: the logs of a page nearly all have the same keys, in order."""
_PLANS_KEPT = 256


def _plan(keys: tuple[str, ...]) -> _Plan:
    """Which of ``keys`` to convert or check how; unknown fields are kept as sent."""
    if "id" not in keys or "created_at" not in keys:
        raise Irregular  # the model says which is missing
    plan = (
        tuple(key for key in keys if LOG_RULES.get(key) is _QUANTITY),
        tuple(key for key in keys if LOG_RULES.get(key) is str and key != "id"),
        tuple(key for key in keys if LOG_RULES.get(key) is bool),
    )
    if len(_PLANS) < _PLANS_KEPT:
        _PLANS[keys] = plan
    return plan


def _check_logs(logs: object) -> None:
    if type(logs) is not list:
        raise Irregular
    decimals, plans = _DECIMALS, _PLANS
    for log in logs:
        if type(log) is not dict:
            raise Irregular
        # The rules of a key set are worked out once (`_plan`); per log, only its documented
        # fields are visited, by name, and converted in place.
        keys = tuple(log)
        quantities, strings, flags = plans.get(keys) or _plan(keys)
        if type(log["id"]) is not str:
            raise Irregular
        log["created_at"] = _instant(log["created_at"])  # a null is not a str: irregular
        for key in quantities:
            value = log[key]
            if value is not None:
                # The common case inline, a number seen before; zero, which may be -0.0, and
                # anything new go through `_quantity`.
                kind = type(value)
                known = decimals.get(value) if value and (kind is int or kind is float) else None
                log[key] = known if known is not None else _quantity(value)
        for key in strings:
            value = log[key]
            if type(value) is not str and value is not None:
                raise Irregular
        for key in flags:
            value = log[key]
            if type(value) is not bool and value is not None:
                raise Irregular


def read_plain_page(content: bytes) -> UsagePage:
    """The page as the model would give it, when every field is in its documented JSON type.

    Raises:
        Irregular: anything else, for the model to validate.
    """
    try:
        # pydantic's own JSON reader: the model's numbers, and keys interned across the page.
        page = from_json(content, allow_inf_nan=False, cache_strings="keys")
    except ValueError:  # not JSON (or not UTF-8): the model's error says so better
        raise Irregular from None
    if type(page) is not dict:
        raise Irregular
    for key in ("logs", "usage"):
        if key in page:
            _check_logs(page[key])
    try:
        if (pagination := page.get("pagination")) is not None:
            page["pagination"] = Pagination.model_validate(pagination)
        if (summary := page.get("summary")) is not None:
            if type(summary) is not dict:
                raise Irregular
            page["summary"] = UsageSummary.model_validate(
                {
                    key: _quantity(value)
                    if key in SUMMARY_QUANTITIES and value is not None
                    else value
                    for key, value in summary.items()
                }
            )
    except ValidationError:
        raise Irregular from None
    return page  # type: ignore[return-value]
