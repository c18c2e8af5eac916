"""An emulator of Retell's list-calls endpoints, for the demo and the tests.

Serves, from deterministic data for any range (each UTC day's calls are drawn from a random
generator seeded with the day), the two endpoints the provider reads:

- `POST /v3/list-calls`: `{items, has_more, pagination_key}` (and `total` with `include_total`),
  `filter_criteria.start_timestamp` as a `bt` range or a `ge`/`gt`/`le`/`lt`/`eq` number filter
  (epoch ms, bounds inclusive), `filter_criteria.agent` (OR of agent ids), `sort_order`
  (`descending` by default), `limit` (50 by default, at most 1,000), an opaque `pagination_key`;
- `POST /v2/list-calls`: the legacy form, a bare array, `start_timestamp` as
  `{lower_threshold, upper_threshold}` (inclusive), `agent_id` (a list), `pagination_key` the
  last call id seen (exclusive).

`versions` chooses which of the two a deployment has: without `v3`, `/v3/list-calls` answers
404, as a deployment from before the move would. Auth is `Authorization: Bearer`; errors are
Retell's `{"status": "error", "message": ...}` bodies. Faults are scripted on the server.

Calls carry what the vendor documents: money in US cents by product (`call_cost`), the billed
duration after Retell's billing exceptions (a 10-second minimum for agents with a dynamic
AI-first opening, a surcharge of tokens / 3,500 for long prompts), ms timestamps. Each call's
`combined_cost` is the exact sum of its products.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from voice_usage.emulator import Emulator, EmulatorRequest, EmulatorResponse, json_response

__all__ = ["DEMO_AGENTS", "DemoAgent", "EmulatedCall", "Product", "RetellEmulator"]

_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CENT_QUANTUM = Decimal("0.0001")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass(frozen=True)
class DemoAgent:
    """An agent of the emulated account and how its calls are billed."""

    agent_id: str
    name: str
    tts: str
    """TTS product name."""
    llm: str
    """LLM product name."""
    dynamic_opening: bool
    """Opens with an AI-generated message: calls under 10 s are billed as 10 s."""
    prompt_tokens: int
    """Prompt size: past 3,500 tokens the billed duration is scaled by tokens / 3,500."""


DEMO_AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent(
        "agent_7c1f4e2a9b3d5e6f8a0b1c2d", "Front desk", "elevenlabs_tts", "gpt-4.1", True, 1800
    ),
    DemoAgent(
        "agent_2b8e6d4c0a9f7e5d3c1b0a9f", "Collections", "cartesia_tts", "gpt-4.1-mini", False, 4200
    ),
    DemoAgent(
        "agent_5d3c1b9a7f5e3d1c9b7a5f3e",
        "After hours",
        "elevenlabs_tts",
        "claude-4.5-haiku",
        True,
        900,
    ),
)
"""Agents of the demo account."""

PRICES_CENTS_PER_MINUTE: dict[str, Decimal] = {
    "retell_platform": Decimal("5.5"),
    "elevenlabs_tts": Decimal("1.5"),
    "cartesia_tts": Decimal("1.5"),
    "gpt-4.1": Decimal("4.5"),
    "gpt-4.1-mini": Decimal("1.6"),
    "claude-4.5-haiku": Decimal("2.4"),
    "retell_twilio": Decimal("1.5"),
}
"""What the emulated products cost, in US cents a billed minute."""

RETELL_NUMBERS = ("+14155550100", "+14155550111")
"""The account's own numbers (the Retell side of phone calls)."""


@dataclass(frozen=True)
class Product:
    """One `product_costs` line."""

    product: str
    cost: Decimal
    """US cents."""
    unit_price: Decimal
    """US cents per second."""


@dataclass(frozen=True)
class EmulatedCall:
    """One call of the emulated account."""

    call_id: str
    start_ms: int
    duration_ms: int | None
    call_status: str = "ended"
    call_type: str = "phone_call"
    direction: str | None = "inbound"
    agent: DemoAgent = DEMO_AGENTS[0]
    from_number: str | None = "+12125550123"
    to_number: str | None = RETELL_NUMBERS[0]
    disconnection_reason: str | None = "user_hangup"
    billed_seconds: int | None = None
    """`total_duration_seconds`; `None` when the call has no `call_cost` yet."""
    products: tuple[Product, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    """More fields of the call body, verbatim (or replacing generated ones)."""

    @property
    def has_cost(self) -> bool:
        """Whether the body carries a `call_cost`."""
        return self.billed_seconds is not None

    @property
    def combined_cents(self) -> Decimal:
        """`combined_cost`: the exact sum of the products, in cents."""
        return sum((p.cost for p in self.products), Decimal(0))

    @property
    def failed(self) -> bool:
        """Whether the call counts as failed (`error` or `not_connected`)."""
        return self.call_status in ("error", "not_connected")

    def to_json(self) -> dict[str, Any]:
        """The call as `V3PhoneCallResponse`/`V3WebCallResponse` (and v2's `CallResponse`)."""
        body: dict[str, Any] = {
            "call_id": self.call_id,
            "call_type": self.call_type,
            "agent_id": self.agent.agent_id,
            "agent_version": 3,
            "agent_name": self.agent.name,
            "call_status": self.call_status,
            "start_timestamp": self.start_ms,
            "metadata": {},
            "retell_llm_dynamic_variables": {},
            "data_storage_setting": "everything",
            "opt_in_signed_url": False,
        }
        if self.duration_ms is not None:
            body["end_timestamp"] = self.start_ms + self.duration_ms
            body["duration_ms"] = self.duration_ms
            body["transcript"] = "Agent: Hello, how can I help?\nUser: I'd like to book a visit."
            body["disconnection_reason"] = self.disconnection_reason
        if self.call_type == "phone_call":
            body["direction"] = self.direction
            body["from_number"] = self.from_number
            body["to_number"] = self.to_number
            body["telephony_identifier"] = {
                "twilio_call_sid": "CA" + self.call_id[-32:].rjust(32, "0")
            }
        else:
            body["access_token"] = "placeholder-web-call-access-token"
        if self.billed_seconds is not None:
            body["call_cost"] = {
                "product_costs": [
                    {"product": p.product, "unit_price": float(p.unit_price), "cost": float(p.cost)}
                    for p in self.products
                ],
                "total_duration_seconds": self.billed_seconds,
                "total_duration_unit_price": float(
                    sum((p.unit_price for p in self.products), Decimal(0))
                ),
                "combined_cost": float(self.combined_cents),
            }
        body.update(self.extra)
        return body


def products_for(agent: DemoAgent, billed_seconds: int, *, phone: bool) -> tuple[Product, ...]:
    """The `product_costs` of a call of ``billed_seconds``: each price times the seconds."""
    names = ["retell_platform", agent.tts, agent.llm] + (["retell_twilio"] if phone else [])
    lines = []
    for name in names:
        per_second = PRICES_CENTS_PER_MINUTE[name] / 60
        cost = (per_second * billed_seconds).quantize(_CENT_QUANTUM, ROUND_HALF_UP)
        lines.append(Product(name, cost, per_second.quantize(Decimal("0.000001"), ROUND_HALF_UP)))
    return tuple(lines)


def billed_seconds_for(agent: DemoAgent, duration_ms: int) -> int:
    """Retell's billed duration: whole seconds, the 10 s minimum, the long-prompt surcharge."""
    seconds = math.ceil(duration_ms / 1000)
    if agent.dynamic_opening and seconds < 10:
        seconds = 10
    if agent.prompt_tokens > 3500:
        seconds = math.ceil(seconds * agent.prompt_tokens / 3500)
    return seconds


class _BadRequest(Exception):
    pass


def _ms(day: date) -> int:
    return (datetime.combine(day, time.min, UTC) - _EPOCH) // timedelta(milliseconds=1)


def _encode(call: EmulatedCall) -> str:
    return base64.urlsafe_b64encode(f"{call.start_ms}:{call.call_id}".encode()).decode()


class RetellEmulator(Emulator):
    """Retell's list-calls endpoints over deterministic data.

    Args:
        api_key: The key `Authorization: Bearer` must carry.
        versions: The list-calls endpoints this deployment has (`v3`, `v2`).
        calls_per_day: Inclusive range of calls drawn for each UTC day.
        seed: Changes every generated figure; the same seed always gives the same data.
        extra_calls: Calls served besides the generated ones (a test's edge cases).
        generate: False to serve only ``extra_calls``.
        today: The emulated current date: the default range of a request without one, and the
            day whose calls are partly not rated yet (no `call_cost`).
    """

    name = "retell"

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        versions: Sequence[str] = ("v3", "v2"),
        calls_per_day: tuple[int, int] = (4, 10),
        seed: str = "retell-demo",
        extra_calls: Iterable[EmulatedCall] = (),
        generate: bool = True,
        today: date | None = None,
    ) -> None:
        super().__init__(api_key)
        self.versions = frozenset(versions)
        self.calls_per_day = calls_per_day
        self.seed = seed
        self.generate = generate
        self.today = today or datetime.now(UTC).date()
        self._extra: dict[date, list[EmulatedCall]] = {}
        for call in extra_calls:
            day = (_EPOCH + timedelta(milliseconds=call.start_ms)).date()
            self._extra.setdefault(day, []).append(call)
        self._days: dict[date, list[EmulatedCall]] = {}

    # -- auth and errors -----------------------------------------------------------------------

    def unauthorized(self, request: EmulatorRequest) -> EmulatorResponse:
        """Retell's 401."""
        return json_response({"status": "error", "message": "API key is missing or invalid."}, 401)

    def error(self, status: int, request: EmulatorRequest) -> EmulatorResponse:
        """Retell's error body for a scripted status."""
        messages = {
            429: "Account rate limited, please throttle your requests.",
            404: "The requested resource was not found.",
        }
        message = messages.get(
            status,
            "An unexpected server error occurred."
            if status >= 500
            else f"Injected error (HTTP {status}).",
        )
        return json_response({"status": "error", "message": message}, status)

    # -- data ----------------------------------------------------------------------------------

    def calls_on(self, day: date) -> list[EmulatedCall]:
        """Every call starting on UTC ``day``, in start order (the same on every run)."""
        if day not in self._days:
            generated = self._generate(day) if self.generate else []
            calls = generated + self._extra.get(day, [])
            self._days[day] = sorted(calls, key=lambda c: (c.start_ms, c.call_id))
        return self._days[day]

    def calls_between(self, lower_ms: int, upper_ms: int) -> list[EmulatedCall]:
        """Calls starting in `[lower_ms, upper_ms]` (both inclusive), in start order."""
        if upper_ms < lower_ms:
            return []
        found: list[EmulatedCall] = []
        day = (_EPOCH + timedelta(milliseconds=lower_ms)).date()
        last = (_EPOCH + timedelta(milliseconds=upper_ms)).date()
        while day <= last:
            found.extend(c for c in self.calls_on(day) if lower_ms <= c.start_ms <= upper_ms)
            day += timedelta(days=1)
        return found

    def _generate(self, day: date) -> list[EmulatedCall]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        count = rng.randint(*self.calls_per_day)
        midnight = _ms(day)
        # Retell rates a call shortly after it ends: some of today's calls have no cost yet.
        lag = 0.3 if day >= self.today else 0.0
        return [self._call(rng, midnight + rng.randrange(_DAY_MS), lag) for _ in range(count)]

    def _call(self, rng: random.Random, start_ms: int, unrated: float) -> EmulatedCall:
        call_id = "call_" + "".join(rng.choice("0123456789abcdef") for _ in range(28))
        agent = rng.choice(DEMO_AGENTS)
        phone = rng.random() < 0.75
        direction = rng.choice(("inbound", "inbound", "outbound")) if phone else None
        ours, theirs = rng.choice(RETELL_NUMBERS), f"+1212555{rng.randrange(10_000):04d}"
        from_number, to_number = (theirs, ours) if direction == "inbound" else (ours, theirs)
        duration_ms: int | None = rng.randrange(3_000, 600_000)
        roll = rng.random()
        status, reason = "ended", rng.choice(("user_hangup", "agent_hangup", "call_transfer"))
        priced = True
        if phone and direction == "outbound" and roll < 0.08:
            status, reason, duration_ms = (
                "not_connected",
                rng.choice(("dial_no_answer", "dial_busy")),
                0,
            )
        elif roll < 0.12:
            status, reason = "error", "error_llm_websocket_open"
        elif roll < 0.17:
            duration_ms = rng.randrange(1_000, 9_999)  # a short call: the 10 s minimum applies
        if rng.random() < unrated:
            priced = False  # ended, not rated yet
        assert duration_ms is not None
        billed = 0 if status == "not_connected" else billed_seconds_for(agent, duration_ms)
        return EmulatedCall(
            call_id=call_id,
            start_ms=start_ms,
            duration_ms=duration_ms,
            call_status=status,
            call_type="phone_call" if phone else "web_call",
            direction=direction,
            agent=agent,
            from_number=from_number if phone else None,
            to_number=to_number if phone else None,
            disconnection_reason=reason,
            billed_seconds=billed if priced else None,
            products=products_for(agent, billed, phone=phone) if priced and billed else (),
        )

    # -- routing -------------------------------------------------------------------------------

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer an authorized request."""
        version = {"/v3/list-calls": "v3", "/v2/list-calls": "v2"}.get(request.path.rstrip("/"))
        if version is None or version not in self.versions or request.method != "POST":
            return self.error(404, request)
        try:
            body = request.json() if request.body else {}
            if not isinstance(body, dict):
                raise _BadRequest("the request body must be a JSON object")
            return self._v3(body) if version == "v3" else self._v2(body)
        except (_BadRequest, ValueError) as exc:
            return json_response({"status": "error", "message": f"Invalid request: {exc}"}, 400)

    def _common(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool, int]:
        criteria = body.get("filter_criteria") or {}
        if not isinstance(criteria, dict):
            raise _BadRequest("filter_criteria must be an object")
        order = body.get("sort_order", "descending")
        if order not in ("ascending", "descending"):
            raise _BadRequest("sort_order must be ascending or descending")
        limit = body.get("limit", DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise _BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
        return criteria, order == "ascending", limit

    def _select(
        self, lower: int | None, upper: int | None, agents: set[str], ascending: bool
    ) -> list[EmulatedCall]:
        if lower is None:
            lower = _ms(self.today - timedelta(days=30))
        if upper is None:
            upper = _ms(self.today + timedelta(days=1)) - 1
        calls = [
            c for c in self.calls_between(lower, upper) if not agents or c.agent.agent_id in agents
        ]
        return calls if ascending else calls[::-1]

    def _v3(self, body: dict[str, Any]) -> EmulatorResponse:
        criteria, ascending, limit = self._common(body)
        lower, upper = _v3_range(criteria.get("start_timestamp"))
        agents = {a["agent_id"] for a in criteria.get("agent") or [] if isinstance(a, dict)}
        calls = self._select(lower, upper, agents, ascending)
        start = 0
        key = body.get("pagination_key")
        if key is not None:
            start = _position(calls, key) + 1
        skip = body.get("skip", 0)
        chunk = calls[start + skip : start + skip + limit]
        more = start + skip + limit < len(calls)
        page: dict[str, Any] = {"items": [c.to_json() for c in chunk], "has_more": more}
        if more:
            page["pagination_key"] = _encode(chunk[-1])
        if body.get("include_total"):
            page["total"] = len(calls)
        return json_response(page)

    def _v2(self, body: dict[str, Any]) -> EmulatorResponse:
        criteria, ascending, limit = self._common(body)
        window = criteria.get("start_timestamp") or {}
        lower, upper = window.get("lower_threshold"), window.get("upper_threshold")
        for value in (lower, upper):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise _BadRequest("start_timestamp thresholds must be integers (epoch ms)")
        agents = set(criteria.get("agent_id") or [])
        calls = self._select(lower, upper, agents, ascending)
        start = 0
        key = body.get("pagination_key")
        if key is not None:
            ids = [c.call_id for c in calls]
            if key not in ids:
                raise _BadRequest(f"pagination_key {key} is not a call of this listing")
            start = ids.index(key) + 1
        return json_response([c.to_json() for c in calls[start : start + limit]])


def _v3_range(spec: Any) -> tuple[int | None, int | None]:
    """Inclusive `[lower, upper]` ms of a v3 `start_timestamp` filter."""
    if spec is None:
        return None, None
    if not isinstance(spec, dict):
        raise _BadRequest("start_timestamp must be a filter object")
    op, value = spec.get("op"), spec.get("value")
    if op == "bt" and spec.get("type") == "range":
        if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
            raise _BadRequest("a range filter's value is [lower_bound, upper_bound] in epoch ms")
        return value[0], value[1]
    if spec.get("type") == "number" and type(value) is int:
        bounds = {
            "ge": (value, None),
            "gt": (value + 1, None),
            "le": (None, value),
            "lt": (None, value - 1),
            "eq": (value, value),
        }
        if op in bounds:
            return bounds[op]
    raise _BadRequest(f"unsupported start_timestamp filter {spec!r}")


def _position(calls: list[EmulatedCall], key: Any) -> int:
    """Index of the call an opaque v3 key points after."""
    try:
        start_ms, call_id = base64.urlsafe_b64decode(str(key).encode()).decode().split(":", 1)
        wanted = (int(start_ms), call_id)
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest("invalid pagination_key") from None
    for index, call in enumerate(calls):
        if (call.start_ms, call.call_id) == wanted:
            return index
    raise _BadRequest("pagination_key does not belong to this listing")
