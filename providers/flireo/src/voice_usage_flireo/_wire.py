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
from typing import Annotated

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from voice_usage import Page

__all__ = [
    "FlireoOrganization",
    "Pagination",
    "UsageLog",
    "UsagePage",
    "UsageSummary",
    "parse_organization",
    "parse_usage_page",
]


def _as_utc(value: datetime) -> datetime:
    # The vendor writes `...Z`; a timestamp without an offset is read as UTC, as the API is.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


Instant = Annotated[datetime, Field(strict=True), AfterValidator(_as_utc)]
"""An ISO 8601 timestamp (strict: a bare number is not read as epoch seconds), in UTC."""

Quantity = Annotated[Decimal, Field(strict=True, ge=0, allow_inf_nan=False)]
"""A non-negative number of seconds, minutes or euros; a JSON number or numeric string."""

Count = Annotated[int, Field(strict=True, ge=0)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class UsageLog(_Wire):
    """One usage log: one call, as `/usage` lists it."""

    id: str
    """The log's identifier (not always the call's)."""
    created_at: Instant
    """When the log was written (the vendor does not say whether that is the call's start or end)."""
    duration_seconds: Quantity | None = Field(
        validation_alias=AliasChoices("duration_seconds", "duration_sec")
    )
    """Measured duration; `duration_seconds` in (a), `duration_sec` in (b), (c), (d)."""
    minutes_used: Quantity | None = None
    """Minutes charged for the call, after the vendor's rounding (shape (a) only)."""
    cost: Quantity | None = None
    """EUR charged for the call (shape (a) only)."""
    call_id: str | None = None
    number_id: str | None = None
    call_type: str | None = None
    phone_number: str | None = None
    agent_name: str | None = None
    business_name: str | None = None
    byok_stt: bool | None = None
    byok_llm: bool | None = None
    byok_tts: bool | None = None


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


class UsagePage(_Wire):
    """One `/usage` response, whichever list key it uses."""

    logs: list[UsageLog] | None = None
    usage: list[UsageLog] | None = None
    pagination: Pagination | None = None
    summary: UsageSummary | None = None

    @model_validator(mode="after")
    def _has_a_list(self) -> UsagePage:
        if self.logs is None and self.usage is None:
            raise ValueError("expected the usage logs under 'logs' or 'usage'")
        if self.logs is not None and self.usage is not None:
            raise ValueError("both 'logs' and 'usage' are present; expected one list")
        return self

    @property
    def items(self) -> list[UsageLog]:
        """The logs of this page, whichever key carried them."""
        return self.logs if self.logs is not None else (self.usage or [])


class FlireoOrganization(_Wire):
    """`GET /organizations`: the account's balance snapshot, in minutes (not euros).

    `minutes_balance` is fractional in the spec-rendered reference (`500.5`) although an older page
    says integer; the billing guide names the organization `company_name` instead of `name`.
    Other fields (`active_*`, `children`, `email`...) are kept as they come.
    """

    id: str | None = None
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "company_name"))
    minutes_balance: Annotated[Decimal, Field(strict=True, allow_inf_nan=False)]
    """Pre-paid minutes left (may go negative on some platforms; kept as given)."""
    monthly_usage_minutes: Quantity | None = None
    """Minutes used this calendar month (resets on the 1st at midnight UTC)."""
    active_numbers: Count | None = None
    active_agents: Count | None = None
    active_calls: Count | None = None


_USAGE_PAGE: TypeAdapter[UsagePage] = TypeAdapter(UsagePage)
_ORGANIZATION: TypeAdapter[FlireoOrganization] = TypeAdapter(FlireoOrganization)


def parse_usage_page(content: bytes) -> Page[UsageLog]:
    """One `/usage` body as a page; the summary travels in `meta`."""
    page = _USAGE_PAGE.validate_json(content)
    total = page.pagination.total if page.pagination is not None else None
    return Page(page.items, total=total, meta=page.summary)


def parse_organization(content: bytes) -> Page[FlireoOrganization]:
    """The `/organizations` body as a one-item page."""
    return Page([_ORGANIZATION.validate_json(content)])

