"""An emulator of Vapi's call lists, for the demo and the tests.

Serves, from deterministic data for any date range (each UTC day's calls are drawn from a random
generator seeded with the day):

- `GET /v2/call`: `{results, metadata}` pages (`page` from 1, `limit` at most 1000, `sortOrder`
  `ASC`/`DESC`, newest first by default), `metadata.itemsBeyondRetention` when a retention is set;
- `GET /call`: a bare array of at most `limit` calls (100 by default), newest first, no paging;
- both filtered by `createdAtGt/Ge/Lt/Le`, `assistantId` and `phoneNumberId`;
- `POST /analytics`: `{"queries": [AnalyticsQuery]}` checked against the documented shape
  (tables, operations, columns, groups, `timeRange`), answered with one `AnalyticsQueryResult`
  per query, summed from the same calls. Emulated: the `call` table; `sum`, `avg`, `count`,
  `min`, `max` of `id`, `cost` and `duration` (minutes); groups `type`, `assistantId`,
  `endedReason`, `status`; steps `hour`, `day`, `month` in UTC. Anything else the document
  allows is a 400 naming it, never a made-up figure.

`v2=False` makes `/v2/call` answer 404, as a deployment without it does. Auth is
`Authorization: Bearer <private key>`; errors are NestJS bodies (`{"statusCode", "message",
"error"}`). Faults (429 with `Retry-After`, resets, cut bodies...) are scripted on the
`EmulatorServer`.

Money is held as exact decimals (each cost item at most 8 decimals, a call's `cost` their exact sum,
`costBreakdown` the same figures by part) and written as JSON numbers whose text is that decimal, so
every total a test works out is exact. `float_sums=True` sends `cost` as Vapi's servers may
compute it instead: the items added as doubles, carrying the float's rounding (0.1 + 0.2 =
0.30000000000000004). Calls share their creation instant now and then (a campaign starts calls in
a batch), which is what a window walk of `/call` must survive.
"""

from __future__ import annotations

import functools
import operator
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from voice_usage.emulator import Emulator, EmulatorRequest, EmulatorResponse, json_response

__all__ = ["DEMO_ASSISTANTS", "DEMO_NUMBERS", "EmulatedCall", "VapiEmulator"]

ORG_ID = "5d6f1b0e-3c2a-4e8b-9f7d-1a2b3c4d5e6f"
DEMO_ASSISTANTS: tuple[str, ...] = (
    "7f3e9a1c-2b4d-4e6f-8a0c-1d3e5f7a9b2c",
    "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5e7a",
)
"""Assistant ids of the demo org."""
SQUAD_ID = "9b1d3f5a-7c9e-4b2d-8f4a-6c8e0a2c4e6b"
WORKFLOW_ID = "4a6c8e0b-2d4f-4c6e-9a1b-3c5e7a9c1e3d"
DEMO_NUMBERS: tuple[tuple[str, str], ...] = (
    ("3e5a7c9e-1b3d-4f5a-8c7e-9a1c3e5a7c9b", "vapi"),
    ("8c0e2a4c-6e8a-4c0e-9b2d-4f6a8c0e2a4d", "twilio"),
)
"""Phone-number ids and the line they use: a Vapi number (transport charged by Vapi) and one
imported from the user's own Twilio account (no transport charge: Twilio bills the user)."""

_REASONS: tuple[tuple[str, float], ...] = (
    ("customer-ended-call", 0.42),
    ("assistant-ended-call", 0.18),
    ("silence-timed-out", 0.08),
    ("voicemail", 0.06),
    ("exceeded-max-duration", 0.02),
    ("customer-busy", 0.06),
    ("customer-did-not-answer", 0.08),
    ("twilio-failed-to-connect-call", 0.03),
    ("pipeline-error-openai-llm-failed", 0.04),
    ("call.in-progress.error-vapifault-deepgram-transcriber-failed", 0.03),
)
_NOT_CONNECTED = frozenset(
    {"customer-busy", "customer-did-not-answer", "twilio-failed-to-connect-call"}
)
FAILED = frozenset(
    {
        "customer-busy",
        "customer-did-not-answer",
        "twilio-failed-to-connect-call",
        "pipeline-error-openai-llm-failed",
        "call.in-progress.error-vapifault-deepgram-transcriber-failed",
    }
)
"""The emulator's reasons that the documented failure rule counts as failed."""

_PER_MINUTE = {
    "transport": Decimal("0.01"),
    "transcriber": Decimal("0.01"),
    "vapi": Decimal("0.05"),
}
_PROMPT_TOKEN = Decimal("0.00000015")
_COMPLETION_TOKEN = Decimal("0.0000006")
_VOICE_CHARACTER = Decimal("0.00003")
_SUMMARY = Decimal("0.0004")
_PLACES = Decimal("0.00000001")


def _wire_instant(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _money(value: Decimal) -> Decimal:
    return value.quantize(_PLACES)


def json_number(value: Decimal) -> float:
    """``value`` as a JSON number whose text reads back as exactly ``value``.

    `json.dumps` writes a float as its shortest text, which is the decimal itself for amounts of
    up to 15 significant digits; a value that would not come back whole is refused, not rounded.
    """
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} does not survive as a JSON number")
    return number


@dataclass(frozen=True)
class EmulatedCall:
    """One call of the emulated org."""

    call_id: str
    created: datetime
    started: datetime | None
    ended: datetime | None
    status: str
    ended_reason: str | None
    call_type: str
    assistant_id: str | None
    squad_id: str | None
    workflow_id: str | None
    number_id: str | None
    line: str | None
    """`vapi`, `twilio` (the user's own account) or `None` for a web call."""
    carrier_call_id: str | None
    items: tuple[dict[str, Any], ...]
    """`costs[]`, each `cost` an exact `Decimal` (written as a JSON number)."""

    @property
    def ended_call(self) -> bool:
        """Whether the call has ended (only ended calls have a final cost)."""
        return self.status == "ended"

    @property
    def cost(self) -> Decimal | None:
        """The call's cost in USD: its items' exact sum; `None` before the call ends."""
        if not self.ended_call:
            return None
        return sum((item["cost"] for item in self.items), Decimal(0))

    @property
    def float_cost(self) -> float | None:
        """`cost` as a server adding the items as doubles computes it (`float_sums=True`)."""
        if not self.ended_call:
            return None
        return functools.reduce(operator.add, (float(item["cost"]) for item in self.items), 0.0)

    @property
    def talk_seconds(self) -> Decimal | None:
        """`endedAt - startedAt`, exact; 0 for a call never started, `None` before it ends."""
        if self.ended is None:
            return None
        if self.started is None:
            return Decimal(0)
        return Decimal((self.ended - self.started) // timedelta(microseconds=1)) / 1_000_000

    @property
    def failed(self) -> bool:
        """Whether the documented failure rule counts the call as failed."""
        return self.ended_reason in FAILED

    def breakdown(self) -> dict[str, Any]:
        """`costBreakdown`: the items by part, and `total`."""
        by_type: dict[str, Decimal] = {}
        for item in self.items:
            by_type[item["type"]] = by_type.get(item["type"], Decimal(0)) + item["cost"]
        model = next((i for i in self.items if i["type"] == "model"), None)
        voice = next((i for i in self.items if i["type"] == "voice"), None)
        zero = Decimal(0)
        breakdown: dict[str, Any] = {
            "transport": json_number(by_type.get("transport", zero)),
            "stt": json_number(by_type.get("transcriber", zero)),
            "llm": json_number(by_type.get("model", zero)),
            "tts": json_number(by_type.get("voice", zero)),
            "vapi": json_number(by_type.get("vapi", zero)),
            "total": json_number(self.cost or zero),
            "llmPromptTokens": model["promptTokens"] if model else 0,
            "llmCompletionTokens": model["completionTokens"] if model else 0,
            "ttsCharacters": voice["characters"] if voice else 0,
        }
        if "analysis" in by_type:
            breakdown["analysisCostBreakdown"] = {
                "summary": json_number(by_type["analysis"]),
                "summaryPromptTokens": 310,
                "summaryCompletionTokens": 42,
            }
        return breakdown

    def to_json(self, *, float_sums: bool = False) -> dict[str, Any]:
        """The call as the `Call` schema has it (the fields usage reads, and a few others).

        Args:
            float_sums: Send `cost` as the items added as doubles (`float_cost`).
        """
        body: dict[str, Any] = {
            "id": self.call_id,
            "orgId": ORG_ID,
            "type": self.call_type,
            "createdAt": _wire_instant(self.created),
            "updatedAt": _wire_instant(self.ended or self.created),
            "status": self.status,
            "name": None,
            "messages": [],
            "assistantOverrides": {"variableValues": {}},
        }
        if self.started is not None:
            body["startedAt"] = _wire_instant(self.started)
        if self.ended is not None:
            body["endedAt"] = _wire_instant(self.ended)
        if self.ended_reason is not None:
            body["endedReason"] = self.ended_reason
        for key, value in (
            ("assistantId", self.assistant_id),
            ("squadId", self.squad_id),
            ("workflowId", self.workflow_id),
            ("phoneNumberId", self.number_id),
        ):
            if value is not None:
                body[key] = value
        if self.line is not None:
            body["phoneCallProvider"] = self.line
            body["phoneCallTransport"] = "pstn"
            body["phoneCallProviderId"] = self.carrier_call_id
        if self.ended_call:
            body["cost"] = self.float_cost if float_sums else json_number(self.cost or Decimal(0))
            body["costs"] = [{**item, "cost": json_number(item["cost"])} for item in self.items]
            body["costBreakdown"] = self.breakdown()
        return body


class _BadRequest(Exception):
    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


class VapiEmulator(Emulator):
    """Vapi's call lists over deterministic data.

    Args:
        api_key: The private key the `Authorization: Bearer` header must carry.
        v2: Serve `GET /v2/call`; `False` answers it 404, as an older deployment does.
        calls_per_day: Inclusive range of calls drawn for each UTC day.
        stuck_rate: Share of calls left `in-progress` (never ended: no final cost).
        tie_rate: Share of calls created at the same instant as the call before.
        retention_days: Calls older than this many days before `today` are not listed (and
            `/v2/call` says `itemsBeyondRetention`); `None` keeps every call.
        float_sums: Send each call's `cost` as its items added as doubles (with the float's
            rounding), as Vapi's servers may; the items themselves stay exact.
        seed: Changes every generated figure; the same seed always gives the same data.
        today: The emulated current date.
    """

    name = "vapi"

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        v2: bool = True,
        calls_per_day: tuple[int, int] = (4, 10),
        stuck_rate: float = 0.0,
        tie_rate: float = 0.15,
        retention_days: int | None = None,
        float_sums: bool = False,
        seed: str = "vapi-demo",
        today: date | None = None,
    ) -> None:
        super().__init__(api_key)
        self.v2 = v2
        self.calls_per_day = calls_per_day
        self.stuck_rate = stuck_rate
        self.tie_rate = tie_rate
        self.retention_days = retention_days
        self.float_sums = float_sums
        self.seed = seed
        self.today = today or datetime.now(UTC).date()
        self._days: dict[date, list[EmulatedCall]] = {}

    # -- errors --------------------------------------------------------------------------------

    def unauthorized(self, request: EmulatorRequest) -> EmulatorResponse:
        """NestJS's 401 body."""
        return json_response(
            {"statusCode": 401, "message": "Invalid Key.", "error": "Unauthorized"}, 401
        )

    def error(self, status: int, request: EmulatorRequest) -> EmulatorResponse:
        """NestJS's body for a scripted status."""
        if status == 429:
            return json_response(
                {"statusCode": 429, "message": "ThrottlerException: Too Many Requests"}, 429
            )
        if status >= 500:
            return json_response({"statusCode": status, "message": "Internal server error"}, status)
        return json_response(
            {"statusCode": status, "message": f"Injected error (HTTP {status})"}, status
        )

    # -- data ----------------------------------------------------------------------------------

    def calls_on(self, day: date) -> list[EmulatedCall]:
        """Every call created on UTC ``day``, in creation order (the same on every run)."""
        calls = self._days.get(day)
        if calls is None:
            calls = self._days[day] = self._generate(day)
        return calls

    def calls_between(self, since: datetime, until: datetime) -> list[EmulatedCall]:
        """Calls created in `[since, until)`, listed or not, in creation order."""
        found: list[EmulatedCall] = []
        day = since.date()
        while datetime.combine(day, time.min, UTC) < until:
            found.extend(c for c in self.calls_on(day) if since <= c.created < until)
            day += timedelta(days=1)
        return found

    def retained(self, call: EmulatedCall) -> bool:
        """Whether the call is within the plan's call-history retention."""
        if self.retention_days is None:
            return True
        return call.created.date() >= self.today - timedelta(days=self.retention_days)

    def totals(self, since: datetime, until: datetime) -> dict[str, Any]:
        """The emulator's own figures for `[since, until)`: ended, listed calls only."""
        calls = [c for c in self.calls_between(since, until) if c.ended_call and self.retained(c)]
        return {
            "calls": len(calls),
            "failed": sum(1 for c in calls if c.failed),
            "seconds": sum((c.talk_seconds or Decimal(0) for c in calls), Decimal(0)),
            "cost": sum((c.cost or Decimal(0) for c in calls), Decimal(0)),
        }

    def _generate(self, day: date) -> list[EmulatedCall]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        count = rng.randint(*self.calls_per_day)
        midnight = datetime.combine(day, time.min, UTC)
        offsets = sorted(rng.randrange(86_400_000) for _ in range(count))
        calls: list[EmulatedCall] = []
        for ms in offsets:
            created = midnight + timedelta(milliseconds=ms)
            if calls and rng.random() < self.tie_rate:
                created = calls[-1].created  # started in the same batch
            calls.append(self._call(rng, created))
        return calls

    def _call(self, rng: random.Random, created: datetime) -> EmulatedCall:
        call_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        roll = rng.random()
        assistant_id = squad_id = workflow_id = None
        if roll < 0.8:
            assistant_id = rng.choice(DEMO_ASSISTANTS)
        elif roll < 0.9:
            squad_id = SQUAD_ID
        else:
            workflow_id = WORKFLOW_ID
        kind = rng.choice(("inboundPhoneCall", "outboundPhoneCall", "webCall"))
        number_id = line = carrier_id = None
        if kind != "webCall":
            number_id, line = rng.choice(DEMO_NUMBERS)
            carrier_id = "CA" + uuid.UUID(int=rng.getrandbits(128)).hex
        reason = rng.choices([r for r, _ in _REASONS], [w for _, w in _REASONS])[0]
        if kind == "webCall" and reason in _NOT_CONNECTED:
            reason = "customer-ended-call"
        if rng.random() < self.stuck_rate:
            # The telephony "completed" callback never came: still in progress, no final cost.
            started = created + timedelta(milliseconds=rng.randrange(800, 3000))
            return EmulatedCall(
                call_id, created, started, None, "in-progress", None, kind, assistant_id,
                squad_id, workflow_id, number_id, line, carrier_id, (),
            )  # fmt: skip
        if reason in _NOT_CONNECTED:
            ended = created + timedelta(milliseconds=rng.randrange(5_000, 30_000))
            items = self._items(rng, Decimal(0), line, squad=False, analysis=False)
            return EmulatedCall(
                call_id, created, None, ended, "ended", reason, kind, assistant_id, squad_id,
                workflow_id, number_id, line, carrier_id, items,
            )  # fmt: skip
        started = created + timedelta(milliseconds=rng.randrange(800, 3000))
        talk_ms = rng.randrange(8_000, 600_000)
        ended = started + timedelta(milliseconds=talk_ms)
        items = self._items(
            rng,
            Decimal(talk_ms) / 60_000,
            line,
            squad=squad_id is not None,
            analysis=rng.random() < 0.5,
        )
        return EmulatedCall(
            call_id, created, started, ended, "ended", reason, kind, assistant_id, squad_id,
            workflow_id, number_id, line, carrier_id, items,
        )  # fmt: skip

    def _items(
        self, rng: random.Random, minutes: Decimal, line: str | None, *, squad: bool, analysis: bool
    ) -> tuple[dict[str, Any], ...]:
        """`costs[]` for a call of ``minutes``: what Vapi charges, item by item."""
        transport_rate = _PER_MINUTE["transport"] if line == "vapi" else Decimal(0)
        items: list[dict[str, Any]] = [
            {
                "type": "transport",
                "provider": {"vapi": "vapi.sip", "twilio": "twilio", None: "daily"}[line],
                "minutes": float(minutes),
                "cost": _money(minutes * transport_rate),
            }
        ]
        # A squad hands the call from one assistant to the next: an item of each kind per assistant.
        shares = (Decimal("0.4"), Decimal("0.6")) if squad else (Decimal(1),)
        for share in shares:
            part = minutes * share
            prompt = int(part * rng.randrange(300, 900))
            completion = int(part * rng.randrange(40, 120))
            characters = int(part * rng.randrange(500, 900))
            items += [
                {
                    "type": "transcriber",
                    "transcriber": {"provider": "deepgram", "model": "nova-3"},
                    "minutes": float(part),
                    "cost": _money(part * _PER_MINUTE["transcriber"]),
                },
                {
                    "type": "model",
                    "model": {"provider": "openai", "model": "gpt-4o-mini"},
                    "promptTokens": prompt,
                    "completionTokens": completion,
                    "cost": _money(prompt * _PROMPT_TOKEN + completion * _COMPLETION_TOKEN),
                },
                {
                    "type": "voice",
                    "voice": {"provider": "11labs", "voiceId": "burt"},
                    "characters": characters,
                    "cost": _money(characters * _VOICE_CHARACTER),
                },
            ]
        items.append(
            {
                "type": "vapi",
                "subType": "normal",
                "minutes": float(minutes),
                "cost": _money(minutes * _PER_MINUTE["vapi"]),
            }
        )
        if analysis:
            items.append(
                {
                    "type": "analysis",
                    "analysisType": "summary",
                    "model": {"provider": "openai", "model": "gpt-4o"},
                    "promptTokens": 310,
                    "completionTokens": 42,
                    "cost": _SUMMARY,
                }
            )
        return tuple(items)

    # -- routing -------------------------------------------------------------------------------

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer an authorized request."""
        path = request.path.rstrip("/") or "/"
        try:
            if path == "/v2/call" and self.v2 and request.method == "GET":
                return self._v2_calls(request)
            if path == "/call" and request.method == "GET":
                return self._calls(request)
            if path == "/analytics" and request.method == "POST":
                return self._analytics(request)
        except _BadRequest as exc:
            return json_response(
                {"message": exc.messages, "error": "Bad Request", "statusCode": 400}, 400
            )
        return json_response(
            {
                "message": f"Cannot {request.method} {request.path}",
                "error": "Not Found",
                "statusCode": 404,
            },
            404,
        )

    def _matching(self, request: EmulatorRequest) -> tuple[list[EmulatedCall], bool]:
        """Calls the filters select, in creation order, and whether some lie beyond retention."""
        bounds = {
            name: self._instant(request, name)
            for name in ("createdAtGt", "createdAtGe", "createdAtLt", "createdAtLe")
        }
        lo = bounds["createdAtGe"] or bounds["createdAtGt"]
        hi = bounds["createdAtLt"] or bounds["createdAtLe"]
        first = (lo or datetime.combine(self.today - timedelta(days=30), time.min, UTC)).date()
        last = (hi or datetime.combine(self.today, time.max, UTC)).date()
        assistant = request.param("assistantId")
        number = request.param("phoneNumberId")
        found: list[EmulatedCall] = []
        beyond = False
        day = first
        while day <= last:
            for call in self.calls_on(day):
                c = call.created
                if (
                    (bounds["createdAtGt"] is not None and not c > bounds["createdAtGt"])
                    or (bounds["createdAtGe"] is not None and not c >= bounds["createdAtGe"])
                    or (bounds["createdAtLt"] is not None and not c < bounds["createdAtLt"])
                    or (bounds["createdAtLe"] is not None and not c <= bounds["createdAtLe"])
                    or (assistant is not None and call.assistant_id != assistant)
                    or (number is not None and call.number_id != number)
                ):
                    continue
                if not self.retained(call):
                    beyond = True
                    continue
                found.append(call)
            day += timedelta(days=1)
        return found, beyond

    @staticmethod
    def _instant(request: EmulatorRequest, name: str) -> datetime | None:
        value = request.param(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _BadRequest(f"{name} must be a valid ISO 8601 date string") from None
        if parsed.tzinfo is None:
            raise _BadRequest(f"{name} must be a valid ISO 8601 date string")
        return parsed.astimezone(UTC)

    @staticmethod
    def _number(request: EmulatorRequest, name: str, default: int, low: int, high: int) -> int:
        value = request.param(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise _BadRequest(
                f"{name} must be a number conforming to the specified constraints"
            ) from None
        if number < low:
            raise _BadRequest(f"{name} must not be less than {low}")
        if number > high:
            raise _BadRequest(f"{name} must not be greater than {high}")
        return number

    def _v2_calls(self, request: EmulatorRequest) -> EmulatorResponse:
        limit = self._number(request, "limit", 100, 0, 1000)
        page = self._number(request, "page", 1, 1, 1_000_000)
        order = request.param("sortOrder", "DESC")
        if order not in ("ASC", "DESC"):
            raise _BadRequest("sortOrder must be one of the following values: ASC, DESC")
        calls, beyond = self._matching(request)
        if order == "DESC":
            calls.reverse()
        chunk = calls[(page - 1) * limit : page * limit]
        metadata: dict[str, Any] = {
            "itemsPerPage": limit,
            "totalItems": len(calls),
            "currentPage": page,
        }
        if self.retention_days is not None:
            metadata["itemsBeyondRetention"] = beyond
        return json_response(
            {
                "results": [c.to_json(float_sums=self.float_sums) for c in chunk],
                "metadata": metadata,
            }
        )

    def _calls(self, request: EmulatorRequest) -> EmulatorResponse:
        limit = self._number(request, "limit", 100, 0, 1000)
        calls, _ = self._matching(request)
        calls.reverse()  # newest first
        return json_response([c.to_json(float_sums=self.float_sums) for c in calls[:limit]])

    # -- analytics -------------------------------------------------------------------------------

    def _analytics(self, request: EmulatorRequest) -> EmulatorResponse:
        try:
            body = request.json()
        except ValueError:
            raise _BadRequest("body must be JSON") from None
        queries = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(queries, list) or not queries:
            raise _BadRequest("queries must be an array", "queries should not be empty")
        answers = [self._query(query, n) for n, query in enumerate(queries)]
        return json_response(answers)  # the documented 200 (NestJS may say 201 for a POST)

    def _query(self, query: Any, n: int) -> dict[str, Any]:
        where = f"queries.{n}"
        if not isinstance(query, dict):
            raise _BadRequest(f"{where} must be an object")
        table = query.get("table")
        if table not in _TABLES:
            raise _BadRequest(
                f"{where}.table must be one of the following values: call, subscription"
            )
        if table != "call":
            raise _BadRequest(f"{where}.table {table!r} is not emulated")
        name = query.get("name")
        if not isinstance(name, str):
            raise _BadRequest(f"{where}.name must be a string")
        operations = query.get("operations")
        if not isinstance(operations, list) or not operations:
            raise _BadRequest(f"{where}.operations must be an array")
        checked = [
            self._operation(op, f"{where}.operations.{i}") for i, op in enumerate(operations)
        ]
        groups = query.get("groupBy") or []
        if not isinstance(groups, list) or any(g not in _GROUPS for g in groups):
            raise _BadRequest(f"{where}.groupBy each value must be one of: {', '.join(_GROUPS)}")
        unemulated = [g for g in groups if g not in _GROUP_FIELDS]
        if unemulated:
            raise _BadRequest(f"{where}.groupBy {unemulated[0]!r} is not emulated")
        start, end, step, timezone = self._time_range(query.get("timeRange"), f"{where}.timeRange")
        buckets: dict[tuple[Any, ...], list[EmulatedCall]] = {}
        for call in self.calls_between(start, end):
            bucket = self._bucket(call.created if step else start, step or "day")
            key = (bucket, *(_GROUP_FIELDS[g](call) for g in groups))
            buckets.setdefault(key, []).append(call)
        result = []
        for key in sorted(buckets, key=lambda k: tuple("" if v is None else str(v) for v in k)):
            calls = buckets[key]
            row: dict[str, Any] = {"date": key[0]}
            row.update(zip(groups, key[1:], strict=True))
            for operation, column, alias in checked:
                row[alias] = _aggregate(operation, column, calls)
            result.append(row)
        echo = {"start": _wire_instant(start), "end": _wire_instant(end), "timezone": timezone}
        return {
            "name": name,
            "timeRange": {"step": step, **echo} if step else echo,
            "result": result,
        }

    @staticmethod
    def _operation(op: Any, where: str) -> tuple[str, str, str]:
        if not isinstance(op, dict):
            raise _BadRequest(f"{where} must be an object")
        operation, column, alias = op.get("operation"), op.get("column"), op.get("alias")
        if operation not in _OPERATIONS:
            raise _BadRequest(
                f"{where}.operation must be one of the following values: {', '.join(_OPERATIONS)}"
            )
        if column not in _COLUMNS:
            raise _BadRequest(
                f"{where}.column must be one of the following values: {', '.join(_COLUMNS)}"
            )
        if operation == "history" or column not in ("id", "cost", "duration"):
            raise _BadRequest(f"{where}: {operation} of {column} is not emulated")
        if alias is not None and (not isinstance(alias, str) or len(alias) > 40):
            raise _BadRequest(f"{where}.alias must be shorter than or equal to 40 characters")
        return operation, column, alias or f"{operation}{column[0].upper()}{column[1:]}"

    def _time_range(self, value: Any, where: str) -> tuple[datetime, datetime, str | None, str]:
        value = value or {}
        if not isinstance(value, dict):
            raise _BadRequest(f"{where} must be an object")
        now = datetime.combine(self.today, time(12), UTC)
        bounds = []
        for field_name, default in (("start", now - timedelta(days=7)), ("end", now)):
            text = value.get(field_name)
            if text is None:
                bounds.append(default)
                continue
            try:
                instant = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            except ValueError:
                instant = None
            if instant is None or instant.tzinfo is None:
                raise _BadRequest(f"{where}.{field_name} must be a valid ISO 8601 date string")
            bounds.append(instant.astimezone(UTC))
        step = value.get("step")  # none: one bucket for the whole range, as documented
        if step is not None and step not in _STEPS_DOCUMENTED:
            raise _BadRequest(
                f"{where}.step must be one of the following values: {', '.join(_STEPS_DOCUMENTED)}"
            )
        if step not in (None, "hour", "day", "month"):
            raise _BadRequest(f"{where}.step {step!r} is not emulated")
        timezone = value.get("timezone", "UTC")
        if timezone != "UTC":
            raise _BadRequest(f"{where}.timezone {timezone!r} is not emulated (UTC only)")
        return bounds[0], bounds[1], step, timezone

    @staticmethod
    def _bucket(instant: datetime, step: str) -> str:
        """The bucket's `date`: a day as the documented example has it, an hour as an instant."""
        if step == "hour":
            return _wire_instant(instant.replace(minute=0, second=0, microsecond=0))
        if step == "month":
            return instant.date().replace(day=1).isoformat()
        return instant.date().isoformat()


_TABLES = ("call", "subscription")
_OPERATIONS = ("sum", "avg", "count", "min", "max", "history")
_COLUMNS = (
    "id", "cost", "costBreakdown.llm", "costBreakdown.stt", "costBreakdown.tts",
    "costBreakdown.vapi", "costBreakdown.transport", "costBreakdown.analysisBreakdown.summary",
    "costBreakdown.transcriber", "costBreakdown.ttsCharacters", "costBreakdown.llmPromptTokens",
    "costBreakdown.llmCompletionTokens", "costBreakdown.llmCachedPromptTokens", "duration",
    "concurrency", "minutesUsed",
)  # fmt: skip
_GROUPS = ("type", "assistantId", "endedReason", "analysis.successEvaluation", "status")
_GROUP_FIELDS: dict[str, Any] = {
    "type": lambda call: call.call_type,
    "assistantId": lambda call: call.assistant_id,
    "endedReason": lambda call: call.ended_reason,
    "status": lambda call: call.status,
}
_STEPS_DOCUMENTED = (
    "second", "minute", "hour", "day", "week", "month", "quarter", "year", "decade", "century",
    "millennium",
)  # fmt: skip


def _aggregate(operation: str, column: str, calls: list[EmulatedCall]) -> Any:
    """One aggregation over ``calls``, as a JSON number (`null` when no call has the value)."""
    if operation == "count":
        return len(calls)
    values: list[Decimal]
    if column == "cost":
        values = [c.cost for c in calls if c.cost is not None]
    elif column == "duration":  # minutes of call time, of the calls that ended
        values = [c.talk_seconds / 60 for c in calls if c.talk_seconds is not None]
    else:
        values = [Decimal(1) for _ in calls]
    if not values:
        return None
    if operation == "sum":
        result = sum(values, Decimal(0))
    elif operation == "avg":
        result = sum(values, Decimal(0)) / len(values)
    else:
        result = min(values) if operation == "min" else max(values)
    return json_number(result) if column == "cost" and operation != "avg" else float(result)
