"""AgentPhone's usage API on the wire: pydantic models of the documented response bodies.

The shapes follow the vendor's spec (`agentphone-usage-openapi.yml`, transcribed from the Fern
reference at https://agentphone.ai/docs/api-reference/usage). Models keep unknown fields
(`extra="allow"`, they end up in record extras) and are strict about the numbers: a count must be
a JSON integer, never a string or a float.

Two fields the spec does not declare are read when present, because the vendor's own MCP server
types them (`AgentPhone-AI/agentphone-mcp`, `src/api.ts`): `voiceMinutes` on daily and monthly
points, and `webhooks` and `days`/`months` are optional since that client omits them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

__all__ = [
    "AGENT_USAGE",
    "DAILY_USAGE",
    "MONTHLY_USAGE",
    "NUMBER_USAGE",
    "USAGE",
    "AgentUsageItem",
    "AgentUsageResponse",
    "DailyUsagePoint",
    "DailyUsageResponse",
    "MonthlyUsagePoint",
    "MonthlyUsageResponse",
    "NumberLimits",
    "NumberUsageItem",
    "NumberUsageResponse",
    "PlanInfo",
    "PlanLimits",
    "UsageSnapshot",
    "UsageStats",
    "exclusive_end",
    "parse_month",
    "parse_timestamp",
]

Count = Annotated[int, Field(strict=True, ge=0)]
"""A count: a non-negative JSON integer (`"3"` and `3.5` are rejected)."""

Minutes = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
"""Minutes as a JSON number, read exactly as Decimal."""


def parse_timestamp(value: Any) -> Any:
    """Read an ISO 8601 timestamp; one without an offset is taken as UTC.

    The vendor writes `2024-06-01T00:00:00Z`. Anything that is not a string is left to pydantic,
    which rejects it (a Unix number is not accepted as a datetime here).
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp string, got {type(value).__name__}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an ISO 8601 timestamp, got {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]
"""A vendor timestamp as an aware UTC datetime."""

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-01(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?)?$")


def parse_month(value: Any) -> date:
    """Read a monthly point's `month` as the first day of that month.

    The format is not documented (the reference shows `"string"`); `YYYY-MM` is the likely form,
    and `YYYY-MM-01` or a midnight timestamp on the first of the month are accepted too.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.replace(day=1)
    if not isinstance(value, str) or not (match := _MONTH.match(value.strip())):
        raise ValueError(f"expected a month such as '2025-01', got {value!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"expected a month such as '2025-01', got {value!r}")
    return date(year, month, 1)


def _strict_date(value: Any) -> Any:
    """A day label: `2025-01-09`, or a midnight timestamp whose date part is taken as written."""
    if not isinstance(value, str):
        raise ValueError(f"expected a date string such as '2025-01-09', got {value!r}")
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        stamp = None
    if stamp is None or stamp.time() != datetime.min.time():
        raise ValueError(f"expected a date such as '2025-01-09', got {value!r}")
    return stamp.date()


Day = Annotated[date, BeforeValidator(_strict_date)]
MonthStart = Annotated[date, BeforeValidator(parse_month)]


def exclusive_end(end: datetime) -> datetime:
    """Turn the vendor's inclusive `periodEnd` into an exclusive end.

    The vendor writes the last second of the period (`2024-06-30T23:59:59Z`): that second is
    inside the period, so the exclusive end is the next whole second (`2024-07-01T00:00:00Z`).
    An end already on a whole minute (`...T00:00:00Z`) is read as exclusive and kept.
    """
    if end.second == 0 and end.microsecond == 0:
        return end
    return end.replace(microsecond=0) + timedelta(seconds=1)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# --- /v1/usage/daily and /v1/usage/monthly ----------------------------------------------------


class DailyUsagePoint(_Wire):
    """One day of `/v1/usage/daily`."""

    date: Day
    messages: Count
    calls: Count
    webhooks: Count | None = None
    voiceMinutes: Minutes | None = None


class DailyUsageResponse(_Wire):
    """`/v1/usage/daily?days=N`: one point per day of the last N days."""

    data: list[DailyUsagePoint]
    days: Count | None = None


class MonthlyUsagePoint(_Wire):
    """One month of `/v1/usage/monthly`."""

    month: MonthStart
    messages: Count
    calls: Count
    webhooks: Count | None = None
    voiceMinutes: Minutes | None = None


class MonthlyUsageResponse(_Wire):
    """`/v1/usage/monthly?months=N`: one point per month of the last N months."""

    data: list[MonthlyUsagePoint]
    months: Count | None = None


# --- /v1/usage/by-agent and /v1/usage/by-number -----------------------------------------------


class AgentUsageItem(_Wire):
    """One agent (or the `Unassigned` bucket, `agentId` null) in `/v1/usage/by-agent`."""

    agentId: str | None
    agentName: str | None = None
    messages: Count
    calls: Count
    """Completed calls."""
    totalSeconds: Count
    """Total call seconds: the only duration figure in the usage API."""
    isOrphan: bool = False


class AgentUsageResponse(_Wire):
    """`/v1/usage/by-agent?period=...`: per-agent usage over the current calendar period."""

    data: list[AgentUsageItem]
    period: str
    periodStart: Timestamp
    periodEnd: Timestamp
    """Inclusive: the last second of the period (see `exclusive_end`)."""


class NumberUsageItem(_Wire):
    """One phone number in `/v1/usage/by-number`."""

    numberId: str
    phoneNumber: str
    country: str
    status: str
    messages: Count
    calls: Count
    agentId: str | None = None
    agentName: str | None = None


class NumberUsageResponse(_Wire):
    """`/v1/usage/by-number`: usage per phone number, with the linked agent."""

    data: list[NumberUsageItem]


# --- /v1/usage: the plan and quota snapshot ---------------------------------------------------

_Int = Annotated[int, Field(strict=True)]


class _Snapshot(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class PlanLimits(_Snapshot):
    """The plan's limits."""

    numbers: _Int
    messages_per_month: _Int = Field(alias="messagesPerMonth")
    voice_minutes_per_month: _Int = Field(alias="voiceMinutesPerMonth")
    max_call_duration_minutes: _Int = Field(alias="maxCallDurationMinutes")
    concurrent_calls: _Int = Field(alias="concurrentCalls")


class PlanInfo(_Snapshot):
    """The account's plan."""

    name: str
    limits: PlanLimits


class NumberLimits(_Snapshot):
    """Phone numbers in use against the plan's limit."""

    used: _Int
    limit: _Int
    remaining: _Int


class UsageStats(_Snapshot):
    """Message, call and webhook counts: all time and over rolling windows."""

    total_messages: _Int = Field(alias="totalMessages")
    messages_last_24h: _Int = Field(alias="messagesLast24h")
    messages_last_7d: _Int = Field(alias="messagesLast7d")
    messages_last_30d: _Int = Field(alias="messagesLast30d")
    total_calls: _Int = Field(alias="totalCalls")
    calls_last_24h: _Int = Field(alias="callsLast24h")
    calls_last_7d: _Int = Field(alias="callsLast7d")
    calls_last_30d: _Int = Field(alias="callsLast30d")
    total_webhook_deliveries: _Int = Field(alias="totalWebhookDeliveries")
    successful_webhook_deliveries: _Int = Field(alias="successfulWebhookDeliveries")
    failed_webhook_deliveries: _Int = Field(alias="failedWebhookDeliveries")


class UsageSnapshot(_Snapshot):
    """`GET /v1/usage`: plan name and limits, numbers used, call and message stats, period.

    Counts only: AgentPhone reports no minutes used and no money here (and has no balance
    endpoint in its public API).
    """

    plan: PlanInfo
    numbers: NumberLimits
    stats: UsageStats
    period_start: Timestamp = Field(alias="periodStart")
    period_end: Timestamp = Field(alias="periodEnd")


DAILY_USAGE = TypeAdapter(DailyUsageResponse)
MONTHLY_USAGE = TypeAdapter(MonthlyUsageResponse)
AGENT_USAGE = TypeAdapter(AgentUsageResponse)
NUMBER_USAGE = TypeAdapter(NumberUsageResponse)
USAGE = TypeAdapter(UsageSnapshot)
