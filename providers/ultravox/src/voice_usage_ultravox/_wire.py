"""Ultravox wire models: the response bodies of the usage endpoints, as the OpenAPI document has them.

Field names follow the document's `components.schemas` (camelCase on the wire, snake_case here).
Unknown fields are kept (`extra="allow"`); the fields that carry numbers are strict: counts are
JSON integers, minutes are JSON numbers (read as exact Decimals), durations are duration strings
in one of the forms `parse_duration` knows. Each body is validated in one go by a module-level
`TypeAdapter`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)
from pydantic.alias_generators import to_camel

from voice_usage_ultravox._duration import parse_duration

__all__ = [
    "ACCOUNT",
    "AGENT_USAGE",
    "BILLING_USAGE",
    "CALL_LIST",
    "CALL_USAGE",
    "Account",
    "AgentBasic",
    "AgentDailyUsage",
    "AgentUsage",
    "BillingUsageDay",
    "Call",
    "CallStatistics",
    "CallUsage",
    "DailyCallStatistics",
    "HourlyCallStatistics",
    "PaginatedCallList",
    "SipDetails",
    "UsageResponse",
]


def _number(value: Any) -> Any:
    # JSON numbers only: a string or a boolean where the document says `number` is a misfit.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a JSON number, got {type(value).__name__}")
    return value


def _duration(value: Any) -> Decimal:
    return parse_duration(value, field="duration")


def _optional_duration(value: Any) -> Decimal | None:
    return None if value is None else parse_duration(value, field="duration")


Count = Annotated[int, Field(strict=True, ge=0)]
"""A count: a non-negative JSON integer."""
Minutes = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
"""Minutes: a non-negative JSON number (a double on the wire), read exactly as a Decimal."""
Seconds = Annotated[Decimal, BeforeValidator(_duration)]
"""A duration string, read as exact seconds."""
OptionalSeconds = Annotated[Decimal | None, BeforeValidator(_optional_duration)]
"""A nullable duration string."""
Day = Annotated[date, Field(strict=True)]
"""A `YYYY-MM-DD` date (strict: a number is not a date)."""
Instant = Annotated[AwareDatetime, Field(strict=True)]
"""An ISO 8601 date-time with an offset (strict: a number is not a date-time)."""


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="allow", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class CallStatistics(_Wire):
    """`CallStatistics`: call counts and durations over some period."""

    total_count: Count
    error_count: Count
    duration: Seconds
    joined_count: Count
    billed_minutes: Minutes

    @model_validator(mode="after")
    def _errors_within_total(self) -> Self:
        if self.error_count > self.total_count:
            raise ValueError(
                f"errorCount ({self.error_count}) exceeds totalCount ({self.total_count})"
            )
        return self


class DailyCallStatistics(CallStatistics):
    """`DailyCallStatistics`: one UTC day."""

    date: Day


class HourlyCallStatistics(DailyCallStatistics):
    """`HourlyCallStatistics`: one UTC hour of one day."""

    hour: Annotated[int, Field(strict=True, ge=0, le=23)]


class CallUsage(_Wire):
    """`CallUsage`, the body of `GET /api/accounts/me/usage/calls`."""

    all_time: CallStatistics
    daily: list[DailyCallStatistics]
    hourly: list[HourlyCallStatistics]


class BillingUsageDay(_Wire):
    """`BillingUsageDay`: billed minutes of one UTC day."""

    date: Day
    minutes: Minutes
    sip_minutes: Minutes


class UsageResponse(_Wire):
    """`UsageResponse`, the body of `GET /api/accounts/me/billing/usage`."""

    daily_usage: list[BillingUsageDay]
    total_minutes: Minutes
    total_sip_minutes: Minutes


class AgentBasic(_Wire):
    """`AgentBasic`."""

    agent_id: str
    name: str


class AgentDailyUsage(_Wire):
    """`AgentDailyUsage`: one agent's billed minutes and calls on one UTC day."""

    date: Day
    billed_minutes: Minutes
    calls: Count


class AgentUsage(_Wire):
    """`AgentUsage`: one item of the bare array `GET /api/agents/usage` answers."""

    agent: AgentBasic
    usage: list[AgentDailyUsage]


class SipDetails(_Wire):
    """`CallSipDetails`: the SIP leg, billed apart from call minutes."""

    billed_duration: OptionalSeconds = None
    termination_reason: str | None = None


class Call(_Wire):
    """`Call`, reduced to what usage needs; every other field is kept as an extra."""

    call_id: str
    created: Instant
    joined: Instant | None = None
    ended: Instant | None = None
    end_reason: str | None = None
    """An open set: `unjoined`, `hangup`, `agent_hangup`, `timeout`, `connection_error`,
    `system_error`, or null while the call goes on."""
    billed_duration: OptionalSeconds = None
    billed_side_input_tokens: Annotated[int, Field(strict=True, ge=0)] | None = None
    billed_side_output_tokens: Annotated[int, Field(strict=True, ge=0)] | None = None
    billing_status: str
    """`BILLING_STATUS_*`; an open set (unknown values are kept and left unpriced)."""
    agent_id: str | None = None
    agent: AgentBasic | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    sip_details: SipDetails | None = None


class PaginatedCallList(_Wire):
    """`PaginatedCallList`, one page of `GET /api/calls`."""

    next: str | None = None
    previous: str | None = None
    results: list[Call]
    total: Annotated[int, Field(strict=True, ge=0)] | None = None


class Account(_Wire):
    """`Account`, the body of `GET /api/accounts/me`: free time and subscription."""

    account_id: str
    name: str
    billing_url: str | None = None
    free_time_used: Seconds
    """Seconds of free call time used so far."""
    free_time_remaining: Seconds
    """Seconds of free call time left."""
    has_active_subscription: bool
    subscription_tier: str | None = None
    subscription_cadence: str | None = None
    subscription_expiration: Instant | None = None
    subscription_scheduled_update: Instant | None = None
    subscription_renewal: Instant | None = None
    active_calls: Count
    allowed_concurrent_calls: Count | None = None
    allowed_voices: Count | None = None
    allowed_corpora: Count | None = None


CALL_USAGE = TypeAdapter(CallUsage)
BILLING_USAGE = TypeAdapter(UsageResponse)
AGENT_USAGE = TypeAdapter(list[AgentUsage])
CALL_LIST = TypeAdapter(PaginatedCallList)
ACCOUNT = TypeAdapter(Account)
