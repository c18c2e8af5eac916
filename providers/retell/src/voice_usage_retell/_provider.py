"""The Retell adapter: calls with their cost by product, in the units Retell uses.

`--granularity call` (and every coarser one, rolled up by the core) reads `POST /v3/list-calls`:
a start-time range for `[since, until)` in milliseconds, ascending, 1,000 calls a page, following
`pagination_key` while `has_more`. A deployment without v3 answers 404 there; the walk then
reads `POST /v2/list-calls` (a bare array, paged by the last call id) with the same filter.

One `event` record per call. Retell reports money in US cents: `cost` is `combined_cost / 100`
USD (`reported`), split by `product_costs` into `cost_components`, and `cost_covers` names the
parts of the call those products pay for (`PRODUCT_PARTS`). `billed_minutes` is
`call_cost.total_duration_seconds / 60`, which includes Retell's billing adjustments.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from voice_usage.provider import (
    CallPart,
    CostSource,
    FetchPlan,
    FetchReport,
    Grain,
    Granularity,
    Page,
    PaginationError,
    RateBook,
    TokenPaging,
    UsageQuery,
    UsageRecord,
    Walk,
    check_page_size,
    covers,
)
from voice_usage_retell import NAME, Retell
from voice_usage_retell._wire import CALL_LIST_V2, CALL_LIST_V3, Call, CallCost

__all__ = [
    "FAILED_STATUSES",
    "MAX_PAGE_SIZE",
    "PRODUCT_PARTS",
    "RetellProvider",
    "parts_of",
]

V3_PATH: Final = "/v3/list-calls"
V2_PATH: Final = "/v2/list-calls"

MAX_PAGE_SIZE: Final = 1000
"""The largest `limit` list-calls accepts (documented for v2: default 50, at most 1,000)."""

FAILED_STATUSES: Final = frozenset({"error", "not_connected"})
"""`call_status` values counted as failed calls."""
FINISHED_STATUSES: Final = frozenset({"ended", *FAILED_STATUSES})
"""Statuses of calls that are over: their cost, once reported, is final."""

_CENTS: Final = Decimal(100)
_MS: Final = Decimal(1000)
_SECOND: Final = timedelta(seconds=1)
UNITEMIZED: Final = "unitemized"
"""The component holding what `combined_cost` has beyond the sum of its `product_costs`."""

_PLATFORM = (CallPart.PLATFORM, CallPart.STT)
PRODUCT_PARTS: Final[Mapping[str, tuple[CallPart, ...]]] = MappingProxyType(
    {
        # Retell's own fee ("voice infrastructure", once "voice engine"): speech recognition,
        # turn-taking and orchestration, so it pays for the platform and for speech to text.
        "retell_platform": _PLATFORM,
        "retell_voice_infrastructure": _PLATFORM,
        "voice_infrastructure": _PLATFORM,
        "voice_engine": _PLATFORM,
        "retell_voice_engine": _PLATFORM,
        # Telephony through Retell's numbers.
        "retell_twilio": (CallPart.TELEPHONY,),
        "retell_telnyx": (CallPart.TELEPHONY,),
        "retell_telephony": (CallPart.TELEPHONY,),
        "telephony": (CallPart.TELEPHONY,),
        "twilio": (CallPart.TELEPHONY,),
        "telnyx": (CallPart.TELEPHONY,),
        # The language model, by tokens beyond the included prompt, or as Retell's own LLM.
        "llm_token_usage": (CallPart.LLM,),
        "retell_llm": (CallPart.LLM,),
    }
)
"""Retell product names mapped to the parts of a call they pay for.

Names not listed are matched by pattern (`parts_of`): `*_tts` is text to speech, `*_asr` and
`*_stt` speech to text, a name with `realtime` a speech-to-speech model (speech to text, the
model and text to speech at once), and model names (`gpt-`, `claude`, `gemini`, ...) the LLM.
"""

_LLM_PREFIXES: Final = ("gpt", "o1", "o3", "o4", "claude", "gemini", "llama", "deepseek", "mistral")


def parts_of(product: str) -> tuple[CallPart, ...] | None:
    """The parts of a call ``product`` pays for, or `None` for a product nobody mapped."""
    name = product.strip().lower()
    if name in PRODUCT_PARTS:
        return PRODUCT_PARTS[name]
    if "realtime" in name:
        return (CallPart.STT, CallPart.LLM, CallPart.TTS)
    if name.endswith("_tts") or name == "tts":
        return (CallPart.TTS,)
    if name.endswith(("_asr", "_stt")) or name in ("asr", "stt"):
        return (CallPart.STT,)
    if name.startswith(_LLM_PREFIXES) or name.endswith("_llm") or name == "llm":
        return (CallPart.LLM,)
    return None


def _millis(instant: datetime) -> int:
    """The first whole millisecond at or after ``instant`` (the wire has no finer unit)."""
    micros = (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return math.ceil(micros / 1000)


def _instant(millis: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)


def start_range(query: UsageQuery) -> tuple[int, int]:
    """`[lower, upper]`, both inclusive, in ms: the calls that start in `[since, until)`."""
    return _millis(query.since), _millis(query.until) - 1


class RetellProvider(Retell):
    """Retell AI (retellai.com): calls with their cost by product, in US cents.

    Args:
        page_size: `limit` asked of list-calls (at most `MAX_PAGE_SIZE`).
    """

    def __init__(self, *, page_size: int = MAX_PAGE_SIZE) -> None:
        self.page_size = check_page_size(page_size, MAX_PAGE_SIZE)

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Call]:
        """`POST /v3/list-calls` for the query's range, `/v2/list-calls` where v3 is absent."""
        # Retell reports its costs (no rate card needed), and declares no option: the core
        # refuses any before this is called.
        return FetchPlan(
            walks=[self.walk(query)],
            to_records=lambda pages, report: _records(pages, report, query),
            granularity=Granularity.CALL,
        )

    def walk(self, query: UsageQuery) -> Walk[Call]:
        """The v3 walk for ``query``, with the v2 walk as its fallback."""
        lower, upper = start_range(query)
        agents = list(query.agent_ids)
        v3_filter: dict[str, Any] = {
            "start_timestamp": {"op": "bt", "type": "range", "value": [lower, upper]}
        }
        if agents:
            v3_filter["agent"] = [{"agent_id": agent} for agent in agents]
        v2_filter: dict[str, Any] = {
            "start_timestamp": {"lower_threshold": lower, "upper_threshold": upper}
        }
        if agents:
            v2_filter["agent_id"] = agents
        order = {"sort_order": "ascending", "limit": self.page_size}
        limit = self.page_size

        def parse_v2(content: bytes) -> Page[Call]:
            calls = CALL_LIST_V2.validate_json(content)
            # v2 pages by the last call id (exclusive); a short page is the last one.
            last = calls[-1].call_id if calls and len(calls) >= limit else None
            return Page(calls, next_token=last, meta=V2_PATH)

        legacy = Walk(
            path=V2_PATH,
            parse=parse_v2,
            paging=TokenPaging("pagination_key", "body"),
            method="POST",
            body={"filter_criteria": v2_filter, **order},
        )
        return Walk(
            path=V3_PATH,
            parse=_parse_v3,
            paging=TokenPaging("pagination_key", "body"),
            method="POST",
            body={"filter_criteria": v3_filter, **order},
            fallback=legacy,
        )

    def emulator(self, api_key: str) -> Any:
        """A `RetellEmulator` of both list-calls endpoints."""
        from voice_usage_retell.emulator import RetellEmulator

        return RetellEmulator(api_key)


def _parse_v3(content: bytes) -> Page[Call]:
    page = CALL_LIST_V3.validate_json(content)
    return Page(page.items, next_token=page.pagination_key if page.has_more else None)


# -- records -----------------------------------------------------------------------------------


@dataclass
class _Order:
    """Checks that the walk lists each call once, in ascending start order.

    Pages are sorted by `start_timestamp`: a call that starts before the last one seen, or that
    was already listed at the same instant, means the walk is repeating itself or lost its
    order, and totals from it cannot be trusted. Only the calls of the latest instant are kept,
    so memory stays flat however many calls there are.
    """

    latest: int = -1
    at_latest: set[str] = field(default_factory=set)
    page: int = 0

    def check(self, call: Call, start: int) -> None:
        if start < self.latest or (start == self.latest and call.call_id in self.at_latest):
            listed = "listed again" if call.call_id in self.at_latest else "out of order"
            raise PaginationError(
                NAME,
                f"call {call.call_id} {listed} on page {self.page} (it starts at {start} ms, "
                f"the walk was at {self.latest} ms): the listing repeats itself; refusing to "
                "count calls twice",
            )
        if start > self.latest:
            self.latest, self.at_latest = start, set()
        self.at_latest.add(call.call_id)


@dataclass
class _Notes:
    """What the records noticed, reported once per fetch as warnings."""

    outside: int = 0
    unstarted: int = 0
    unknown_products: set[str] = field(default_factory=set)
    mismatched: list[str] = field(default_factory=list)
    endpoint: str = V3_PATH

    def report(self, report: FetchReport, query: UsageQuery) -> None:
        if self.endpoint != V3_PATH:
            report.warn(f"{NAME}: {V3_PATH} answered 404; read the legacy {self.endpoint} instead")
        if self.outside:
            report.warn(
                f"{NAME}: {self.outside} call(s) starting outside [{query.since.isoformat()}, "
                f"{query.until.isoformat()}) ignored"
            )
        if self.unstarted:
            report.warn(f"{NAME}: {self.unstarted} call(s) without a start_timestamp ignored")
        if self.unknown_products:
            names = ", ".join(sorted(self.unknown_products))
            report.warn(
                f"{NAME}: unknown product(s) {names}: kept as cost components, not counted in "
                "cost_covers (what they pay for is not known)"
            )
        if self.mismatched:
            report.warn(
                f"{NAME}: {len(self.mismatched)} call(s) whose product_costs do not add up to "
                f"combined_cost; the reported total is kept (first: {self.mismatched[0]})"
            )


def _records(
    pages: Iterator[Page[Call]], report: FetchReport, query: UsageQuery
) -> Iterator[UsageRecord]:
    order = _Order()
    notes = _Notes()
    numbers = frozenset(query.number_ids)
    for page in pages:
        order.page += 1
        if page.meta == V2_PATH:
            notes.endpoint = V2_PATH
        for call in page.items:
            if call.start_timestamp is None:
                notes.unstarted += 1
                continue
            order.check(call, call.start_timestamp)
            started = _instant(call.start_timestamp)
            if not query.contains(started):
                notes.outside += 1
                continue
            record = _record(call, started, notes)
            if numbers and record.number_id not in numbers:
                continue
            yield record
    notes.report(report, query)


def _number_of(call: Call) -> str | None:
    """The Retell-side number: the one called (inbound) or the one calling (outbound)."""
    if call.direction == "inbound":
        return call.to_number
    if call.direction == "outbound":
        return call.from_number
    return None


def _record(call: Call, started: datetime, notes: _Notes) -> UsageRecord:
    ended = None if call.end_timestamp is None else _instant(call.end_timestamp)
    # An event ends when the call ended; a call not ended (or of no length) gets a nominal second.
    end = ended if ended is not None and ended > started else started + _SECOND
    status = call.call_status
    if status in FAILED_STATUSES:
        failed: int | None = 1
    elif status == "ended":
        failed = 0
    else:
        failed = None  # registered or ongoing: not over yet
    extras: dict[str, Any] = {
        "call_type": call.call_type,
        "call_status": status,
        "disconnection_reason": call.disconnection_reason,
    }
    for key in ("direction", "agent_version", "agent_name"):
        value = getattr(call, key)
        if value is not None:
            extras[key] = value
    if call.telephony_identifier is not None and call.telephony_identifier.twilio_call_sid:
        extras["twilio_call_sid"] = call.telephony_identifier.twilio_call_sid
    values: dict[str, Any] = {
        "provider": NAME,
        "grain": Grain.EVENT,
        "call_id": call.call_id,
        "period_start": started,
        "period_end": end,
        "calls": 1,
        "failed_calls": failed,
        "duration_seconds": None if call.duration_ms is None else Decimal(call.duration_ms) / _MS,
        "agent_id": call.agent_id,
        "number_id": _number_of(call),
        "extras": extras,
    }
    cost = call.call_cost
    if cost is not None and cost.total_duration_seconds is not None:
        values["billed_minutes"] = cost.total_duration_seconds / 60
    if cost is None or status not in FINISHED_STATUSES:
        # Before a call is over Retell may send a placeholder call_cost of zeros: not a cost.
        why = "no call_cost yet" if cost is None else f"the call is {status}, not over"
        values["cost_note"] = f"Retell has not reported this call's cost ({why})"
        if cost is not None and status not in FINISHED_STATUSES:
            values.pop("billed_minutes", None)
        return UsageRecord(**values)
    if cost.total_duration_unit_price is not None:
        extras["unit_price_cents_per_second"] = str(cost.total_duration_unit_price)
    values.update(_priced(call.call_id, cost, notes))
    return UsageRecord(**values)


def _covers(parts: list[CallPart], cost: CallCost, total: Decimal) -> tuple[CallPart, ...] | None:
    """What the call's cost pays for: the mapped products' parts.

    A call that cost nothing and lists no product (never connected) pays for nothing, which is
    known: `()`, so a roll-up of it with connected calls still says what their costs cover. Only
    products nobody mapped, or a cost with no product at all, leave it unknown (`None`).
    """
    if parts:
        return covers(parts)
    return () if total == 0 and not cost.product_costs else None


def _priced(call_id: str, cost: CallCost, notes: _Notes) -> dict[str, Any]:
    """`cost` and its structure from `call_cost`: cents to US dollars, exactly."""
    total = cost.combined_cost / _CENTS
    components: dict[str, Decimal] = {}
    parts: list[CallPart] = []
    for line in cost.product_costs:
        name = f"{line.product} (transfer leg)" if line.is_transfer_leg_cost else line.product
        components[name] = components.get(name, Decimal(0)) + line.cost / _CENTS
        found = parts_of(line.product)
        if found is None:
            notes.unknown_products.add(line.product)
        else:
            parts.extend(found)
    itemized = sum(components.values(), Decimal(0))
    split: dict[str, Decimal] | None = components
    if itemized != total or any(amount < 0 for amount in components.values()):
        shown = ", ".join(f"{line.product} {line.cost}" for line in cost.product_costs) or "none"
        notes.mismatched.append(
            f"call {call_id}: products {shown} cents, combined_cost {cost.combined_cost} cents"
        )
        negative = any(amount < 0 for amount in components.values())
        if itemized < total and not negative:
            # Retell billed more than it itemized: the rest is a line of its own.
            split = {**components, UNITEMIZED: total - itemized}
        else:
            split = None  # more itemized than billed, or a discount: no exact split exists
    return {
        "cost": total,
        "currency": "USD",
        "cost_source": CostSource.REPORTED,
        "cost_note": "reported by Retell: combined_cost in US cents / 100",
        "cost_components": split,
        "cost_covers": _covers(parts, cost, total),
    }
