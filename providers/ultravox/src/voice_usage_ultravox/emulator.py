"""An emulator of Ultravox's usage endpoints, for the demo and the tests.

Serves, from deterministic data for any date range (each UTC day's calls are drawn from a random
generator seeded with the day), the endpoints the provider reads:

- `GET /api/accounts/me/usage/calls`: `allTime`, `daily` and `hourly` aggregates;
- `GET /api/accounts/me/billing/usage`: billed call and SIP minutes per day, `toDate` exclusive,
  at most 90 days a request (400 beyond, with a DRF field-map body);
- `GET /api/calls`: calls, DRF cursor pagination with absolute `next`/`previous` URLs built from
  the request's origin, and every filter kept in them;
- `GET /api/agents/usage`: per-agent daily billed minutes and calls;
- `GET /api/accounts/me`: the account.

The usage endpoints and the call list honour the shared filters (`agentIds` repeated, `voiceId`,
`durationMin`/`durationMax`, `metadata.<key>`, `search`, `timeOfDayStart`/`timeOfDayEnd`,
`fromDate`/`toDate` inclusive). Auth is the `X-API-Key` header; errors are DRF bodies
(`{"detail": ...}`). Bodies follow the schemas of the vendor's OpenAPI document. Faults (429 with
`Retry-After`, resets, cut bodies...) are scripted on the `EmulatorServer`.

Aggregates are consistent with the calls: `billedMinutes` sums the billed durations of calls
whose status is `BILLING_STATUS_BILLED`; `errorCount` counts calls that ended with
`connection_error` or `system_error`; `duration` sums `ended - joined` of joined calls.
"""

from __future__ import annotations

import base64
import math
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from voice_usage.emulator import Emulator, EmulatorRequest, EmulatorResponse, json_response
from voice_usage_ultravox._duration import DurationFormatError, format_duration, parse_duration

__all__ = ["DEMO_AGENTS", "DEMO_VOICES", "EmulatedCall", "UltravoxEmulator"]

DurationStyle = Literal["protobuf", "django", "iso", "mixed"]

DEMO_AGENTS: tuple[tuple[str, str], ...] = (
    ("9a3c0f4e-5b1d-4c2a-8e7f-1d2b3c4d5e6f", "Front desk"),
    ("4f6e8d0c-2b1a-4d3c-9e8f-7a6b5c4d3e2f", "Appointments"),
    ("c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "After hours"),
)
"""Agent ids and names of the demo account."""

DEMO_VOICES: tuple[str, ...] = (
    "2e5a7c9b-1d3f-4b6a-8c0e-2f4a6b8c0d1e",
    "7b9d1f3a-5c7e-4a9b-8d1f-3a5c7e9b1d3f",
)
"""Voice ids used by the demo calls."""

ACCOUNT_ID = "0c7e2a4b-6d8f-4a1c-9e3b-5d7f9a1c3e5b"
ERROR_END_REASONS = frozenset({"connection_error", "system_error"})
_SIX = Decimal(6)
_DRF_DATETIME_ERROR = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
_DRF_DATE_ERROR = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."


def _wire_instant(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _minutes(seconds: Decimal) -> float:
    """Billed seconds (multiples of 6) as the double the API sends, e.g. 12.3."""
    return float(seconds / 60)


@dataclass(frozen=True)
class EmulatedCall:
    """One call of the emulated account."""

    call_id: str
    created: datetime
    joined: datetime | None
    ended: datetime | None
    end_reason: str | None
    billing_status: str
    billed_seconds: Decimal | None
    """`billedDuration`, rounded up to 6 seconds; `None` when the API sends null."""
    sip: bool
    sip_billed_seconds: Decimal | None
    sip_termination: str | None
    agent_id: str
    agent_name: str
    voice_id: str
    metadata: Mapping[str, str]
    short_summary: str

    @property
    def talk_seconds(self) -> Decimal:
        """`ended - joined`, exact; 0 for a call never joined or not ended."""
        if self.joined is None or self.ended is None:
            return Decimal(0)
        return Decimal((self.ended - self.joined) // timedelta(microseconds=1)) / 1_000_000

    @property
    def failed(self) -> bool:
        """Whether the call ended in error."""
        return self.end_reason in ERROR_END_REASONS

    @property
    def charged_seconds(self) -> Decimal:
        """Seconds counted in `billedMinutes`: those of billed calls only."""
        if self.billing_status == "BILLING_STATUS_BILLED" and self.billed_seconds is not None:
            return self.billed_seconds
        return Decimal(0)

    def to_json(self, style: str) -> dict[str, Any]:
        """The call as the OpenAPI `Call` schema has it (every required field present)."""
        return {
            "callId": self.call_id,
            "clientVersion": None,
            "created": _wire_instant(self.created),
            "joined": None if self.joined is None else _wire_instant(self.joined),
            "ended": None if self.ended is None else _wire_instant(self.ended),
            "endReason": self.end_reason,
            "billedDuration": (
                None if self.billed_seconds is None else format_duration(self.billed_seconds, style)
            ),
            "billedSideInputTokens": None,
            "billedSideOutputTokens": None,
            "billingStatus": self.billing_status,
            "firstSpeaker": "FIRST_SPEAKER_AGENT",
            "firstSpeakerSettings": {"agent": {}},
            "initialOutputMedium": "MESSAGE_MEDIUM_VOICE",
            "joinTimeout": "30s",
            "joinUrl": None,
            "maxDuration": "3600s",
            "model": "ultravox-v0.7",
            "recordingEnabled": False,
            "shortSummary": self.short_summary,
            "summary": None,
            "agent": {"agentId": self.agent_id, "name": self.agent_name},
            "agentId": self.agent_id,
            "experimentalSettings": None,
            "metadata": dict(self.metadata),
            "initialState": {},
            "requestContext": None,
            "sipDetails": (
                {
                    "billedDuration": (
                        None
                        if self.sip_billed_seconds is None
                        else format_duration(self.sip_billed_seconds, style)
                    ),
                    "terminationReason": self.sip_termination,
                }
                if self.sip
                else None
            ),
        }


class _BadRequest(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.body = body


@dataclass(frozen=True)
class _Filters:
    since: datetime
    until_inclusive: datetime
    agent_ids: frozenset[str]
    voice_id: str | None
    duration_min: Decimal | None
    duration_max: Decimal | None
    metadata: Mapping[str, str]
    search: str | None
    time_start: time
    time_end: time

    def days(self) -> Iterable[date]:
        day = self.since.date()
        while day <= self.until_inclusive.date():
            yield day
            day += timedelta(days=1)

    def matches(self, call: EmulatedCall) -> bool:
        if not self.since <= call.created <= self.until_inclusive:
            return False
        if self.agent_ids and call.agent_id not in self.agent_ids:
            return False
        if self.voice_id is not None and call.voice_id != self.voice_id:
            return False
        if self.duration_min is not None and call.talk_seconds < self.duration_min:
            return False
        if self.duration_max is not None and call.talk_seconds > self.duration_max:
            return False
        if any(call.metadata.get(k) != v for k, v in self.metadata.items()):
            return False
        if self.search is not None and self.search.lower() not in call.short_summary.lower():
            return False
        clock = call.created.time()
        return self.time_start <= clock <= self.time_end


class UltravoxEmulator(Emulator):
    """Ultravox's usage endpoints over deterministic data.

    Args:
        api_key: The key the `X-API-Key` header must carry.
        duration_style: How duration strings are written: `protobuf` (`"84.5s"`), `django`
            (`"HH:MM:SS.ffffff"`, `"D HH:MM:SS"` past a day), `iso` (`"PT84.5S"`), or `mixed`
            (the style changes from one bucket or call to the next).
        page_size: `pageSize` of `/api/calls` when the request gives none.
        max_page_size: The largest `pageSize` served (larger requests get this many).
        calls_per_day: Inclusive range of calls drawn for each UTC day.
        seed: Changes every generated figure; the same seed always gives the same data.
        today: The emulated current date (defaults of `billing/usage` and `/api/calls`).
    """

    name = "ultravox"

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        duration_style: DurationStyle = "protobuf",
        page_size: int = 100,
        max_page_size: int = 500,
        calls_per_day: tuple[int, int] = (3, 9),
        seed: str = "ultravox-demo",
        today: date | None = None,
    ) -> None:
        super().__init__(api_key)
        self.duration_style = duration_style
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.calls_per_day = calls_per_day
        self.seed = seed
        self.today = today or datetime.now(UTC).date()
        self._days: dict[date, list[EmulatedCall]] = {}

    # -- auth and errors -----------------------------------------------------------------------

    def authorized(self, request: EmulatorRequest) -> bool:
        """The key travels in `X-API-Key`."""
        return request.headers.get("x-api-key") == self.api_key

    def unauthorized(self, request: EmulatorRequest) -> EmulatorResponse:
        """DRF's answer to a missing or wrong key: 401 with a `{"detail": ...}` body."""
        if "x-api-key" not in request.headers:
            detail = "Authentication credentials were not provided."
        else:
            detail = "Invalid API key."
        return json_response({"detail": detail}, 401, {"WWW-Authenticate": "X-API-Key"})

    def error(self, status: int, request: EmulatorRequest) -> EmulatorResponse:
        """DRF's `{"detail": ...}` body for a scripted status."""
        if status == 429:
            return json_response({"detail": "Request was throttled."}, 429)
        if status >= 500:
            return json_response({"detail": "A server error occurred."}, status)
        return json_response({"detail": f"Injected error (HTTP {status})."}, status)

    # -- data ----------------------------------------------------------------------------------

    def calls_on(self, day: date) -> list[EmulatedCall]:
        """Every call created on UTC ``day``, in creation order (the same on every run)."""
        calls = self._days.get(day)
        if calls is None:
            calls = self._days[day] = self._generate(day)
        return calls

    def calls_between(self, since: datetime, until_inclusive: datetime) -> list[EmulatedCall]:
        """Calls created in `[since, until_inclusive]`, unfiltered, in creation order."""
        found: list[EmulatedCall] = []
        day = since.date()
        while day <= until_inclusive.date():
            found.extend(c for c in self.calls_on(day) if since <= c.created <= until_inclusive)
            day += timedelta(days=1)
        return found

    def _generate(self, day: date) -> list[EmulatedCall]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        count = rng.randint(*self.calls_per_day)
        midnight = datetime.combine(day, time.min, UTC)
        offsets = sorted(rng.randrange(86_400_000) for _ in range(count))
        return [self._call(rng, midnight + timedelta(milliseconds=ms)) for ms in offsets]

    def _call(self, rng: random.Random, created: datetime) -> EmulatedCall:
        call_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        agent_id, agent_name = rng.choice(DEMO_AGENTS)
        voice_id = rng.choice(DEMO_VOICES)
        sip = rng.random() < 0.35
        source = "sip" if sip else rng.choice(("web", "app"))
        talk = Decimal(rng.randrange(50, 6000)) / 10  # 5.0 s to 599.9 s
        roll = rng.random()
        joined: datetime | None = created + timedelta(milliseconds=rng.randrange(500, 4000))
        status = "BILLING_STATUS_BILLED"
        end_reason = rng.choice(("hangup", "hangup", "agent_hangup", "timeout"))
        if roll < 0.08:
            joined, end_reason, status = (
                None,
                "unjoined",
                "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
            )
        elif roll < 0.12:
            end_reason, status = "system_error", "BILLING_STATUS_FREE_SYSTEM_ERROR"
        elif roll < 0.15:
            end_reason = "connection_error"  # still billed
        elif roll < 0.20:
            status = "BILLING_STATUS_FREE_CONSOLE"
        elif roll < 0.23:
            status = "BILLING_STATUS_FREE_MINUTES"
        elif roll < 0.25:
            status = "BILLING_STATUS_REFUNDED"
        elif roll < 0.27:
            status = "BILLING_STATUS_PENDING"
        if joined is None:
            ended = created + timedelta(seconds=30)  # the join timeout
        else:
            ended = joined + timedelta(microseconds=int(talk * 1_000_000))
        rounded = Decimal(math.ceil(talk / _SIX)) * _SIX
        billed: Decimal | None
        if status in ("BILLING_STATUS_BILLED", "BILLING_STATUS_REFUNDED"):
            billed = rounded
        elif status == "BILLING_STATUS_FREE_MINUTES":
            billed = rounded  # counted against free minutes, not charged
        else:
            billed = None
        sip_billed = (rounded if joined is not None else Decimal(0)) if sip else None
        termination = (
            ("SIP_TERMINATION_NORMAL" if joined is not None else "SIP_TERMINATION_CANCELED")
            if sip
            else None
        )
        topic = rng.choice(("booking", "billing question", "opening hours", "cancellation"))
        return EmulatedCall(
            call_id=call_id,
            created=created,
            joined=joined,
            ended=ended,
            end_reason=end_reason,
            billing_status=status,
            billed_seconds=billed,
            sip=sip,
            sip_billed_seconds=sip_billed,
            sip_termination=termination,
            agent_id=agent_id,
            agent_name=agent_name,
            voice_id=voice_id,
            metadata={"source": source},
            short_summary=f"Caller asked about {topic}.",
        )

    def _style(self, index: int) -> str:
        if self.duration_style == "mixed":
            return ("protobuf", "django", "iso")[index % 3]
        return self.duration_style

    # -- routing -------------------------------------------------------------------------------

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer an authorized request."""
        routes = {
            "/api/accounts/me/usage/calls": self._usage_calls,
            "/api/accounts/me/billing/usage": self._billing_usage,
            "/api/calls": self._calls,
            "/api/agents/usage": self._agents_usage,
            "/api/accounts/me": self._account,
        }
        route = routes.get(request.path.rstrip("/") or "/")
        if route is None:
            return json_response({"detail": "Not found."}, 404)
        try:
            return route(request)
        except _BadRequest as exc:
            return json_response(exc.body, 400)

    # -- query parsing -------------------------------------------------------------------------

    def _filters(self, request: EmulatorRequest) -> _Filters:
        since = self._instant(request, "fromDate", end_of_day=False)
        until = self._instant(request, "toDate", end_of_day=True)
        if since is None:
            since = datetime.combine(self.today - timedelta(days=30), time.min, UTC)
        if until is None:
            until = datetime.combine(self.today, time.max, UTC)
        durations: dict[str, Decimal | None] = {}
        for name in ("durationMin", "durationMax"):
            value = request.param(name)
            try:
                durations[name] = None if value is None else parse_duration(value, field=name)
            except DurationFormatError:
                raise _BadRequest({name: ["Enter a valid duration."]}) from None
        times = {}
        for name, default in (("timeOfDayStart", time.min), ("timeOfDayEnd", time.max)):
            value = request.param(name)
            try:
                times[name] = default if value is None else time.fromisoformat(value)
            except ValueError:
                raise _BadRequest(
                    {
                        name: [
                            "Time has wrong format. Use one of these formats instead: hh:mm[:ss[.uuuuuu]]."
                        ]
                    }
                ) from None
        search = request.param("search")
        if search == "":
            raise _BadRequest({"search": ["This field may not be blank."]})
        agent_ids = frozenset(request.query.get("agentIds", ()))
        for name, values in (("agentIds", agent_ids), ("voiceId", [request.param("voiceId")])):
            for value in values:
                if value is not None:
                    try:
                        uuid.UUID(value)
                    except ValueError:
                        raise _BadRequest({name: [f"“{value}” is not a valid UUID."]}) from None
        metadata = {
            key.removeprefix("metadata."): values[-1]
            for key, values in request.query.items()
            if key.startswith("metadata.")
        }
        return _Filters(
            since=since,
            until_inclusive=until,
            agent_ids=agent_ids,
            voice_id=request.param("voiceId"),
            duration_min=durations["durationMin"],
            duration_max=durations["durationMax"],
            metadata=metadata,
            search=search,
            time_start=times["timeOfDayStart"],
            time_end=times["timeOfDayEnd"],
        )

    @staticmethod
    def _instant(request: EmulatorRequest, name: str, *, end_of_day: bool) -> datetime | None:
        value = request.param(name)
        if value is None:
            return None
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime.combine(day, time.max if end_of_day else time.min, UTC)
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _BadRequest({name: [_DRF_DATETIME_ERROR]}) from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)

    def _matching(self, request: EmulatorRequest) -> list[EmulatedCall]:
        filters = self._filters(request)
        return [
            call for day in filters.days() for call in self.calls_on(day) if filters.matches(call)
        ]

    # -- endpoints -----------------------------------------------------------------------------

    def _statistics(self, calls: Sequence[EmulatedCall], style: str) -> dict[str, Any]:
        return {
            "totalCount": len(calls),
            "errorCount": sum(1 for c in calls if c.failed),
            "duration": format_duration(sum((c.talk_seconds for c in calls), Decimal(0)), style),
            "joinedCount": sum(1 for c in calls if c.joined is not None),
            "billedMinutes": _minutes(sum((c.charged_seconds for c in calls), Decimal(0))),
        }

    def _usage_calls(self, request: EmulatorRequest) -> EmulatorResponse:
        calls = self._matching(request)
        by_day: dict[date, list[EmulatedCall]] = {}
        by_hour: dict[tuple[date, int], list[EmulatedCall]] = {}
        for call in calls:
            by_day.setdefault(call.created.date(), []).append(call)
            by_hour.setdefault((call.created.date(), call.created.hour), []).append(call)
        daily = [
            {**self._statistics(group, self._style(index)), "date": day.isoformat()}
            for index, (day, group) in enumerate(sorted(by_day.items()))
        ]
        hourly = [
            {**self._statistics(group, self._style(index)), "date": day.isoformat(), "hour": hour}
            for index, ((day, hour), group) in enumerate(sorted(by_hour.items()))
        ]
        return json_response(
            {
                "allTime": self._statistics(calls, self._style(len(daily))),
                "daily": daily,
                "hourly": hourly,
            }
        )

    def _billing_usage(self, request: EmulatorRequest) -> EmulatorResponse:
        start = self._date(request, "fromDate") or self.today.replace(day=1)
        end = self._date(request, "toDate") or self.today + timedelta(days=1)
        if end <= start:
            raise _BadRequest({"toDate": ["toDate must be after fromDate."]})
        if (end - start).days > 90:
            raise _BadRequest({"toDate": ["toDate must be at most 90 days after fromDate."]})
        days = []
        total = sip_total = Decimal(0)
        day = start
        while day < end:
            calls = self.calls_on(day)
            minutes = sum((c.charged_seconds for c in calls), Decimal(0)) / 60
            sip = sum((c.sip_billed_seconds or Decimal(0) for c in calls), Decimal(0)) / 60
            total += minutes
            sip_total += sip
            days.append(
                {"date": day.isoformat(), "minutes": float(minutes), "sipMinutes": float(sip)}
            )
            day += timedelta(days=1)
        return json_response(
            {
                "dailyUsage": days,
                "totalMinutes": float(total),
                "totalSipMinutes": float(sip_total),
            }
        )

    @staticmethod
    def _date(request: EmulatorRequest, name: str) -> date | None:
        value = request.param(name)
        if value is None:
            return None
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
        except ValueError:
            pass
        raise _BadRequest({name: [_DRF_DATE_ERROR]})

    def _calls(self, request: EmulatorRequest) -> EmulatorResponse:
        calls = self._matching(request)
        if request.param("sort", "-created") == "-created":
            calls.reverse()
        raw_size = request.param("pageSize")
        try:
            size = self.page_size if raw_size is None else int(raw_size)
        except ValueError:
            raise _BadRequest({"pageSize": ["A valid integer is required."]}) from None
        size = max(1, min(size, self.max_page_size))
        offset = self._cursor(request.param("cursor"))
        chunk = calls[offset : offset + size]
        base = [(k, v) for k, values in request.query.items() if k != "cursor" for v in values]

        def link(position: int) -> str:
            token = base64.urlsafe_b64encode(f"o={position}".encode()).decode()
            return f"{request.origin}{request.path}?{urlencode([*base, ('cursor', token)])}"

        return json_response(
            {
                "next": link(offset + size) if offset + size < len(calls) else None,
                "previous": link(max(0, offset - size)) if offset > 0 else None,
                "results": [
                    call.to_json(self._style(offset + index)) for index, call in enumerate(chunk)
                ],
                "total": len(calls),
            }
        )

    @staticmethod
    def _cursor(token: str | None) -> int:
        if token is None:
            return 0
        try:
            text = base64.urlsafe_b64decode(token.encode()).decode()
            if text.startswith("o="):
                return max(0, int(text[2:]))
        except (ValueError, UnicodeDecodeError):
            pass
        raise _BadRequest({"detail": "Invalid cursor"})

    def _agents_usage(self, request: EmulatorRequest) -> EmulatorResponse:
        calls = self._matching(request)
        per_agent: dict[str, dict[date, list[EmulatedCall]]] = {}
        names: dict[str, str] = {}
        for call in calls:
            names[call.agent_id] = call.agent_name
            per_agent.setdefault(call.agent_id, {}).setdefault(call.created.date(), []).append(call)
        body = [
            {
                "agent": {"agentId": agent_id, "name": names[agent_id]},
                "usage": [
                    {
                        "date": day.isoformat(),
                        "billedMinutes": _minutes(
                            sum((c.charged_seconds for c in group), Decimal(0))
                        ),
                        "calls": len(group),
                    }
                    for day, group in sorted(days.items())
                ],
            }
            for agent_id, days in sorted(per_agent.items(), key=lambda kv: names[kv[0]])
        ]
        return json_response(body)

    def _account(self, request: EmulatorRequest) -> EmulatorResponse:
        style = self._style(0)
        return json_response(
            {
                "accountId": ACCOUNT_ID,
                "name": "Demo clinic",
                "billingUrl": "https://app.ultravox.ai/billing",
                "freeTimeUsed": format_duration(Decimal(1800), style),
                "freeTimeRemaining": format_duration(Decimal(0), style),
                "hasActiveSubscription": True,
                "subscriptionTier": "PRO",
                "subscriptionCadence": "MONTHLY",
                "subscriptionExpiration": None,
                "subscriptionScheduledUpdate": None,
                "subscriptionRenewal": _wire_instant(
                    datetime.combine(
                        self.today.replace(day=1) + timedelta(days=32), time.min, UTC
                    ).replace(day=1)
                ),
                "activeCalls": 0,
                "allowedConcurrentCalls": None,
                "allowedVoices": 10,
                "allowedCorpora": 5,
            }
        )
