"""An emulator of AgentPhone's usage API, for the demo and the tests.

It answers the five usage endpoints of the vendor's spec (`agentphone-usage-openapi.yml`) from
deterministic data relative to "today": four demo agents (the `Unassigned` bucket among them, with
a phone number of its own and no agent), each with calls, call seconds and messages per UTC day,
derived from a hash of the agent and the date. Every endpoint sums the same per-day figures, so the
daily, monthly, per-agent, per-number and account totals agree with each other.

Parameters are checked as the vendor documents them: `days` 1 to 365, `months` 1 to 24, `period`
week|month|year (required), and a bad value gets FastAPI's 422 `{"detail": [{loc, msg, type}]}`.
A missing or wrong key gets 401. Scripted faults (`voice_usage.emulator.Fault`) answer with the
vendor's error envelope `{"error": {"message", "code", "type", "details"}}`.

Simplifications (documented, not vendor facts): `callsLast24h` counts today's calls; a `tz` moves
the period's boundaries but the days summed are UTC days; `/v1/usage`'s period is the current
month to date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voice_usage.emulator import Emulator, EmulatorRequest, EmulatorResponse, json_response

__all__ = [
    "DEMO_AGENTS",
    "AgentPhoneEmulator",
    "DayFigures",
    "DemoAgent",
]

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DemoAgent:
    """An agent of the demo account, with the phone number linked to it."""

    id: str | None
    """`None` for the `Unassigned` bucket: calls with no agent attached."""
    name: str
    number_id: str
    phone_number: str
    calls_per_day: tuple[int, int]
    """Least and most calls a day."""
    seconds_per_call: tuple[int, int]
    """Least and most seconds of one call."""
    messages_per_day: tuple[int, int]


DEMO_AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent(
        "a1b2c3d4-e5f6-7890-ab12-cd34ef567890",
        "Support Agent Alpha",
        "num_8f3a2b7c9d4e5f01",
        "+14155552671",
        (0, 6),
        (60, 420),
        (1, 9),
    ),
    DemoAgent(
        "b2c3d4e5-f678-9012-ab34-cd56ef789012",
        "Sales Agent Beta",
        "num_2c4e6a8b0d1f3e57",
        "+14155552672",
        (0, 4),
        (90, 300),
        (0, 6),
    ),
    DemoAgent(
        "c3d4e5f6-7890-1234-ab56-cd78ef901234",
        "Reminder Bot",
        "num_7d9b1f3a5c2e4b68",
        "+14155552673",
        (4, 12),
        (2, 5),
        (0, 2),
    ),
    DemoAgent(
        None, "Unassigned", "num_5a7c9e1b3d2f4a60", "+14155552674", (0, 2), (20, 120), (0, 3)
    ),
)
"""Reminder Bot makes many short calls, so the 1 cent minimum per call shows in its cost."""


@dataclass(frozen=True)
class DayFigures:
    """One agent's (or the account's) usage on one UTC day."""

    calls: int = 0
    seconds: int = 0
    messages: int = 0

    @property
    def webhooks(self) -> int:
        """Webhook deliveries: one per call and one per message."""
        return self.calls + self.messages

    def __add__(self, other: DayFigures) -> DayFigures:
        return DayFigures(
            self.calls + other.calls, self.seconds + other.seconds, self.messages + other.messages
        )


def _pick(seed: bytes, index: int, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return low + seed[index] % (high - low + 1)


def _validation_error(
    name: str, kind: str, message: str, value: Any, **ctx: Any
) -> EmulatorResponse:
    item: dict[str, Any] = {"type": kind, "loc": ["query", name], "msg": message, "input": value}
    if ctx:
        item["ctx"] = ctx
    return json_response({"detail": [item]}, 422)


@dataclass
class _Param:
    name: str
    default: int
    low: int
    high: int


_DAYS = _Param("days", 30, 1, 365)
_MONTHS = _Param("months", 6, 1, 24)

_ERROR_CODES: Mapping[int, tuple[str, str, str]] = {
    400: ("VALIDATION_ERROR", "invalid_request_error", "Invalid request"),
    402: ("INSUFFICIENT_BALANCE", "billing_error", "Insufficient balance"),
    404: ("NOT_FOUND", "invalid_request_error", "Not found"),
    429: (
        "RATE_LIMIT_EXCEEDED",
        "rate_limit_error",
        "Rate limit exceeded. Limit: 5 requests per 3600s",
    ),
}


class AgentPhoneEmulator(Emulator):
    """AgentPhone's usage API over deterministic demo data.

    Args:
        api_key: The Bearer key the emulator accepts.
        today: The date (UTC) the data is relative to, or a function returning it; defaults to
            the real date, read on each request.
        history_days: How long the demo account has existed; earlier days have no usage.
        voice_minutes: Add `voiceMinutes` to daily and monthly points (the shape the vendor's MCP
            server types), besides the spec's `webhooks`.
        agents: The demo agents.
        agent_usage: Fixed `/v1/usage/by-agent` items, answered instead of the computed ones
            (the period is still the current one).
    """

    name = "agentphone"

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        today: date | Callable[[], date] | None = None,
        history_days: int = 800,
        voice_minutes: bool = False,
        agents: Sequence[DemoAgent] = DEMO_AGENTS,
        agent_usage: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(api_key)
        self.today = today
        self.history_days = history_days
        self.voice_minutes = voice_minutes
        self.agents = tuple(agents)
        self.agent_usage = agent_usage
        self._cache: dict[tuple[int, date], DayFigures] = {}

    # --- the data -------------------------------------------------------------------------------

    def current_date(self) -> date:
        """The emulator's today (UTC)."""
        if self.today is None:
            return datetime.now(UTC).date()
        if isinstance(self.today, date):
            return self.today
        return self.today()

    def agent_day(self, index: int, day: date) -> DayFigures:
        """Agent ``index``'s usage on ``day``: zero outside the account's life and after today."""
        today = self.current_date()
        if day > today or day <= today - timedelta(days=self.history_days):
            return DayFigures()
        key = (index, day)
        if key not in self._cache:
            agent = self.agents[index]
            seed = hashlib.sha256(f"{agent.number_id}|{day.isoformat()}".encode()).digest()
            calls = _pick(seed, 0, agent.calls_per_day)
            seconds = sum(_pick(seed, 1 + i % 24, agent.seconds_per_call) for i in range(calls))
            messages = _pick(seed, 30, agent.messages_per_day)
            self._cache[key] = DayFigures(calls, seconds, messages)
        return self._cache[key]

    def day(self, day: date) -> DayFigures:
        """The account's usage on ``day`` (all agents)."""
        total = DayFigures()
        for index in range(len(self.agents)):
            total += self.agent_day(index, day)
        return total

    def days(self, start: date, stop: date, index: int | None = None) -> DayFigures:
        """Usage over the days in `[start, stop)`: one agent's, or the account's."""
        total = DayFigures()
        day = start
        while day < stop:
            total += self.day(day) if index is None else self.agent_day(index, day)
            day += _DAY
        return total

    def _lifetime(self, index: int | None = None) -> DayFigures:
        today = self.current_date()
        return self.days(today - timedelta(days=self.history_days - 1), today + _DAY, index)

    # --- the API --------------------------------------------------------------------------------

    def unauthorized(self, request: EmulatorRequest) -> EmulatorResponse:
        """401 with a plain FastAPI `detail`."""
        return json_response({"detail": "Invalid or missing API key"}, 401)

    def error(self, status: int, request: EmulatorRequest) -> EmulatorResponse:
        """The vendor's error envelope for a scripted status."""
        code, kind, message = _ERROR_CODES.get(
            status,
            ("INTERNAL_ERROR", "api_error", "Internal server error")
            if status >= 500
            else (f"HTTP_{status}", "invalid_request_error", "Request failed"),
        )
        return json_response(
            {"error": {"message": message, "code": code, "type": kind, "details": []}}, status
        )

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Route a request to its endpoint."""
        routes: dict[str, Callable[[EmulatorRequest], EmulatorResponse]] = {
            "/v1/usage": self._usage,
            "/v1/usage/daily": self._daily,
            "/v1/usage/monthly": self._monthly,
            "/v1/usage/by-number": self._by_number,
            "/v1/usage/by-agent": self._by_agent,
        }
        route = routes.get(request.path.rstrip("/") or "/")
        if route is None:
            return json_response({"detail": "Not Found"}, 404)
        return route(request)

    def _int_param(self, request: EmulatorRequest, spec: _Param) -> int | EmulatorResponse:
        raw = request.param(spec.name)
        if raw is None:
            return spec.default
        try:
            value = int(raw.strip())
        except ValueError:
            return _validation_error(
                spec.name,
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
                raw,
            )
        if value < spec.low:
            return _validation_error(
                spec.name,
                "greater_than_equal",
                f"Input should be greater than or equal to {spec.low}",
                raw,
                ge=spec.low,
            )
        if value > spec.high:
            return _validation_error(
                spec.name,
                "less_than_equal",
                f"Input should be less than or equal to {spec.high}",
                raw,
                le=spec.high,
            )
        return value

    def _point(self, key: str, label: str, figures: DayFigures) -> dict[str, Any]:
        point: dict[str, Any] = {
            key: label,
            "messages": figures.messages,
            "calls": figures.calls,
            "webhooks": figures.webhooks,
        }
        if self.voice_minutes:
            point["voiceMinutes"] = round(figures.seconds / 60, 2)
        return point

    def _daily(self, request: EmulatorRequest) -> EmulatorResponse:
        days = self._int_param(request, _DAYS)
        if isinstance(days, EmulatorResponse):
            return days
        today = self.current_date()
        data = [
            self._point("date", day.isoformat(), self.day(day))
            for day in (today - timedelta(days=n) for n in range(days - 1, -1, -1))
        ]
        return json_response({"data": data, "days": days})

    def _monthly(self, request: EmulatorRequest) -> EmulatorResponse:
        months = self._int_param(request, _MONTHS)
        if isinstance(months, EmulatorResponse):
            return months
        today = self.current_date()
        current = today.year * 12 + today.month - 1
        data = []
        for index in range(current - months + 1, current + 1):
            start = date(index // 12, index % 12 + 1, 1)
            stop = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
            data.append(self._point("month", start.strftime("%Y-%m"), self.days(start, stop)))
        return json_response({"data": data, "months": months})

    def _by_number(self, request: EmulatorRequest) -> EmulatorResponse:
        data = []
        for index, agent in enumerate(self.agents):
            figures = self._lifetime(index)
            data.append(
                {
                    "numberId": agent.number_id,
                    "phoneNumber": agent.phone_number,
                    "country": "US",
                    "status": "active",
                    "messages": figures.messages,
                    "calls": figures.calls,
                    "agentId": agent.id,
                    "agentName": agent.name if agent.id else None,
                }
            )
        return json_response({"data": data})

    def period_bounds(self, period: str, tz: str | None = None) -> tuple[datetime, datetime]:
        """The current calendar period `[start, end)` in UTC, its boundaries at midnight in ``tz``."""
        zone = ZoneInfo(tz) if tz else UTC
        today = self.current_date()
        if period == "week":
            first = today - timedelta(days=today.weekday())
            after = first + timedelta(days=7)
        elif period == "month":
            first = today.replace(day=1)
            after = date(today.year + today.month // 12, today.month % 12 + 1, 1)
        else:
            first, after = date(today.year, 1, 1), date(today.year + 1, 1, 1)
        start = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
        end = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(UTC)
        return start, end

    def _by_agent(self, request: EmulatorRequest) -> EmulatorResponse:
        period = request.param("period")
        if period is None:
            return _validation_error("period", "missing", "Field required", None)
        if period not in ("week", "month", "year"):
            return _validation_error(
                "period",
                "enum",
                "Input should be 'week', 'month' or 'year'",
                period,
                expected="'week', 'month' or 'year'",
            )
        tz = request.param("tz") or None
        try:
            start, end = self.period_bounds(period, tz)
        except (ZoneInfoNotFoundError, ValueError):
            return json_response({"detail": f"Invalid timezone: {tz}"}, 400)
        if self.agent_usage is not None:
            data = [dict(item) for item in self.agent_usage]
        else:
            first, after = self._local_days(period)
            data = []
            for index, agent in enumerate(self.agents):
                figures = self.days(first, after, index)
                data.append(
                    {
                        "agentId": agent.id,
                        "agentName": agent.name,
                        "messages": figures.messages,
                        "calls": figures.calls,
                        "totalSeconds": figures.seconds,
                        "isOrphan": agent.id is None,
                    }
                )
        return json_response(
            {
                "data": data,
                "period": period,
                "periodStart": _stamp(start),
                "periodEnd": _stamp(end - timedelta(seconds=1)),
            }
        )

    def _local_days(self, period: str) -> tuple[date, date]:
        start, end = self.period_bounds(period)
        return start.date(), end.date()

    def agent_period(self, index: int, period: str) -> DayFigures:
        """Agent ``index``'s usage over the current calendar ``period`` (UTC days)."""
        first, after = self._local_days(period)
        return self.days(first, after, index)

    def _usage(self, request: EmulatorRequest) -> EmulatorResponse:
        today = self.current_date()
        lifetime = self._lifetime()
        last = {n: self.days(today - timedelta(days=n - 1), today + _DAY) for n in (1, 7, 30)}
        used = len(self.agents)
        month_start = today.replace(day=1)
        return json_response(
            {
                "plan": {
                    "name": "pro",
                    "limits": {
                        "numbers": 10,
                        "messagesPerMonth": 10000,
                        "voiceMinutesPerMonth": 500,
                        "maxCallDurationMinutes": 30,
                        "concurrentCalls": 5,
                    },
                },
                "numbers": {"used": used, "limit": 10, "remaining": max(0, 10 - used)},
                "stats": {
                    "totalMessages": lifetime.messages,
                    "messagesLast24h": last[1].messages,
                    "messagesLast7d": last[7].messages,
                    "messagesLast30d": last[30].messages,
                    "totalCalls": lifetime.calls,
                    "callsLast24h": last[1].calls,
                    "callsLast7d": last[7].calls,
                    "callsLast30d": last[30].calls,
                    "totalWebhookDeliveries": lifetime.webhooks,
                    "successfulWebhookDeliveries": lifetime.webhooks - lifetime.calls // 50,
                    "failedWebhookDeliveries": lifetime.calls // 50,
                },
                "periodStart": _stamp(datetime(month_start.year, month_start.month, 1, tzinfo=UTC)),
                "periodEnd": _stamp(
                    datetime(today.year, today.month, today.day, tzinfo=UTC) + _DAY
                ),
            }
        )


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
