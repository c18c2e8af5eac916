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
from typing import Annotated, NotRequired

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    with_config,
)
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
    "usage_page",
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
    """One `/usage` body as a page, read by the `UsagePage` model; the summary goes in `meta`.

    It reads every body the vendor may send; the provider uses `_fastpath.parse_usage_page_fast`,
    which gives the same page sooner for a regular body.

    Raises:
        ValidationError: a field of the wrong type; `ValueError` when the body has neither or
            both of the list keys.
    """
    return usage_page(_USAGE_PAGE.validate_json(content))


def usage_page(body: UsagePage) -> Page[UsageLog]:
    """A read `/usage` body as a page: the logs under whichever list key it has.

    Raises:
        ValueError: when the body has neither or both of the list keys.
    """
    logs, usage = body.get("logs"), body.get("usage")
    if (logs is None) == (usage is None):
        which = (
            "both 'logs' and 'usage' are present" if logs is not None else "no 'logs' or 'usage'"
        )
        raise ValueError(f"expected the usage logs under 'logs' or 'usage': {which}")
    pagination = body.get("pagination")
    total = pagination.total if pagination is not None else None
    return Page(logs if logs is not None else usage or [], total=total, meta=body.get("summary"))


def parse_usage_log(content: bytes | str) -> UsageLog:
    """Validate one log's JSON, as it comes off the wire."""
    return _USAGE_LOG.validate_json(content)


def parse_organization(content: bytes) -> Page[FlireoOrganization]:
    """The `/organizations` body as a one-item page."""
    return Page([_ORGANIZATION.validate_json(content)])
