"""The Vapi adapter: calls listed with their reported USD cost, one event record per ended call.

- `GET /v2/call`: page/limit pages, ascending by creation, `createdAtGe`/`createdAtLt` for
  `[since, until)`; `metadata.totalItems` reconciles the count, `metadata.itemsBeyondRetention`
  becomes a warning.
- `GET /call`, where a deployment answers 404 for `/v2/call`: a bare array with no paging, walked
  by narrowing the `createdAt` window from the page's edge row (see `_CallWindows`).
- `POST /analytics` with `--option source=analytics` (day or hour windows per assistant, Vapi's
  own sums) or `source=both` (the calls, checked against those sums); see `_analytics`.

Vapi reports money, so every cost is `reported`; hour, day and month windows are the core's
roll-ups of the calls.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

from voice_usage.provider import (
    CallPart,
    ConfigurationError,
    CostSource,
    CursorPaging,
    FetchPlan,
    FetchReport,
    Grain,
    Granularity,
    Page,
    PageRepeats,
    ParamValue,
    RateBook,
    UsageQuery,
    UsageRecord,
    VendorError,
    Walk,
    check_page_size,
    covers,
    parse_vendor_error,
)
from voice_usage_vapi import NAME, Vapi
from voice_usage_vapi._analytics import (
    ANALYTICS_PATH,
    AnalyticsCheck,
    analytics_records,
    analytics_walk,
)
from voice_usage_vapi._wire import CALL_LIST, CALL_PAGE, Call, CostItem, PaginationMeta

__all__ = [
    "COVERS",
    "FAILED_REASONS",
    "NOT_FAILED_REASONS",
    "VapiProvider",
    "cost_split",
    "exact_cost",
    "is_failed",
]

V2_CALLS_PATH: Final = "/v2/call"
CALLS_PATH: Final = "/call"
ENDPOINTS: Final = ("auto", "v2", "call")
"""Values of option `endpoint`: `/v2/call` falling back to `/call` on 404, or only one of them."""
SOURCES: Final = ("calls", "analytics", "both")
"""Values of option `source`: the calls (default), `POST /analytics` sums, or the calls checked
against those sums."""
MAX_LIMIT: Final = 1000
"""`limit` is documented as 0..1000 on `GET /call` (and `/v2/*` lists take at most 1000)."""

COVERS: Final[Mapping[str, CallPart]] = {
    "transport": CallPart.TELEPHONY,
    "transcriber": CallPart.STT,
    "stt": CallPart.STT,
    "model": CallPart.LLM,
    "llm": CallPart.LLM,
    "voice": CallPart.TTS,
    "tts": CallPart.TTS,
    "vapi": CallPart.PLATFORM,
}
"""The part of a call each of Vapi's cost items pays for (`costs[].type` and `costBreakdown`
names). Others (`analysis`, `voicemail-detection`, `knowledge-base`, `chat`) are kept as
components but pay for no part of the call itself."""

FAILED_REASONS: Final = frozenset(
    {
        "customer-busy",
        "customer-did-not-answer",
        "customer-did-not-give-microphone-permission",
        "assistant-not-found",
        "assistant-not-valid",
        "assistant-request-returned-invalid-assistant",
        "assistant-request-returned-no-assistant",
        "assistant-request-returned-forwarding-phone-number",
        "assistant-join-timed-out",
        "phone-call-provider-bypass-enabled-but-no-call-received",
        "call.ringing.sip-inbound-caller-hungup-before-call-connect",
        "twilio-reported-customer-misdialed",
        "vonage-rejected",
        "vonage-disconnected",
        "worker-shutdown",
    }
)
"""`endedReason`s of calls that did not happen or broke although their name says neither
`error` nor `failed` (every reason that does is a failure too; see `is_failed`)."""

NOT_FAILED_REASONS: Final = frozenset(
    {
        "voicemail",
        "silence-timed-out",
        "exceeded-max-duration",
        "customer-ended-call",
        "assistant-ended-call",
        "manually-canceled",
    }
)
"""Reasons that are never failures, whatever a later rule says: the call happened and ended
in a way the assistant was configured for."""

_TICK: Final = timedelta(microseconds=1)
_SECOND: Final = timedelta(seconds=1)
_NOISE: Final = Decimal("0.000001")
"""Largest gap between a call's items and its cost taken as the vendor's float rounding: Vapi
adds its items as binary doubles (0.1 + 0.2 is 0.30000000000000004)."""
_EXAMPLES: Final = 3
"""Call ids quoted in a warning about several calls."""


def is_failed(ended_reason: str | None) -> int | None:
    """`failed_calls` of an ended call from its `endedReason`: 1, 0, or `None` when not given.

    A call failed when it did not happen or broke: its reason names an `error` or a `failed`
    step (`pipeline-error-*`, `call.start.error-*`, `call.in-progress.error-*`,
    `twilio-failed-to-connect-call`, `assistant-request-failed`...) or is in `FAILED_REASONS`
    (busy, no answer, no assistant...). `NOT_FAILED_REASONS` (voicemail, silence timeout, a
    hang-up...) and every other reason count as calls that happened.
    """
    if ended_reason is None:
        return None
    if ended_reason in NOT_FAILED_REASONS:
        return 0
    if ended_reason in FAILED_REASONS or "error" in ended_reason or "failed" in ended_reason:
        return 1
    return 0


@dataclass(frozen=True)
class CostSplit:
    """A call's cost items by Vapi's names, and the parts of the call they pay for."""

    items: dict[str, Decimal]
    """Item name -> USD, as Vapi names it; summed when a name repeats (a squad's assistants)."""
    covered: tuple[CallPart, ...]
    """Parts paid for: those of the items charged more than zero."""


def cost_split(call: Call) -> CostSplit | None:
    """The items of ``call``'s cost: `costs[]` by type, else `costBreakdown`; `None` without either.

    `costBreakdown.total` is the cost again, not an item; its analysis figures are summed as one
    `analysis` item, as `costs[]` names it.
    """
    items: dict[str, Decimal] = {}
    if call.costs:
        for item in call.costs:
            items[item.type] = items.get(item.type, Decimal(0)) + item.cost
    elif call.cost_breakdown is not None:
        breakdown = call.cost_breakdown
        for name in ("transport", "stt", "llm", "tts", "vapi", "chat"):
            value = getattr(breakdown, name)
            if value is not None:
                items[name] = value
        analysis = breakdown.analysis_cost_breakdown
        if analysis is not None:
            parts = [
                analysis.summary,
                analysis.structured_data,
                analysis.success_evaluation,
                analysis.structured_output,
            ]
            if any(part is not None for part in parts):
                items["analysis"] = sum((p for p in parts if p is not None), Decimal(0))
    else:
        return None
    charged = [COVERS[name] for name, value in items.items() if value > 0 and name in COVERS]
    return CostSplit(items, covers(charged))


def exact_cost(call: Call, items: Mapping[str, Decimal]) -> Decimal | None:
    """``call``'s cost without the rounding of adding its items as binary doubles.

    Vapi's servers add a call's `costs[]` as doubles, so items of 0.1 and 0.2 may come with a
    `cost` of 0.30000000000000004. When the reported cost is exactly what adding the items as
    doubles in their listed order gives, it is their exact decimal sum that was charged; any other
    reported cost stands as sent.
    """
    cost = call.cost
    total = sum(items.values(), Decimal(0))
    if cost is None or total == cost or not call.costs:
        return cost
    doubles = functools.reduce(operator.add, (float(item.cost) for item in call.costs), 0.0)
    return total if Decimal(repr(doubles)) == cost else cost


def reconcile_split(items: dict[str, Decimal], cost: Decimal) -> dict[str, Decimal] | None:
    """``items`` made to sum exactly to ``cost``, or `None` when they do not add up.

    A gap of at most `_NOISE` (the vendor's float rounding) is carried by the largest item; a
    larger one means the split is not the whole cost, and no split is given.
    """
    total = sum(items.values(), Decimal(0))
    if total == cost:
        return items
    gap = cost - total
    if not items or abs(gap) > _NOISE:
        return None
    largest = max(items, key=lambda name: (items[name], name))
    if items[largest] + gap < 0:
        return None
    return {**items, largest: items[largest] + gap}


def _wire_instant(instant: datetime) -> str:
    # Microseconds kept: a window edge rounded to milliseconds would drop the calls between.
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encode(params: Mapping[str, ParamValue]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(v)) for v in value)
    return urlencode(pairs)


@dataclass(frozen=True)
class _V2Pages:
    """Parses `GET /v2/call` pages and links each to the next (`page` + 1) while any remain."""

    params: Mapping[str, ParamValue]
    """The first request's parameters, `page` excluded."""

    def __call__(self, content: bytes) -> Page[Call]:
        page = CALL_PAGE.validate_json(content)
        meta = page.metadata
        got = len(page.results)
        if got > meta.items_per_page:
            raise ValueError(
                f"page {meta.current_page} has {got} calls, more than itemsPerPage "
                f"({meta.items_per_page})"
            )
        seen = (meta.current_page - 1) * meta.items_per_page + got
        more = got > 0 and seen < meta.total_items
        if more and got < meta.items_per_page:
            raise ValueError(
                f"page {meta.current_page} has {got} calls, fewer than itemsPerPage "
                f"({meta.items_per_page}), but totalItems ({meta.total_items}) says more follow"
            )
        next_url = (
            f"{V2_CALLS_PATH}?{_encode({**self.params, 'page': meta.current_page + 1})}"
            if more
            else None
        )
        return Page(page.results, total=meta.total_items, next_url=next_url, meta=meta)


@dataclass(frozen=True)
class _CallWindows:
    """Parses `GET /call` answers and narrows the `createdAt` window for the next request.

    `/call` returns at most `limit` calls of the window, with no cursor. A short answer is the
    last. A full one is in creation order (newest first in practice; the order is not
    documented, so either is accepted and an unordered answer refused): newest first, the next
    window is `[since, oldest seen]`; oldest first, `[newest seen, until)`. The edge is
    inclusive, so calls sharing the edge row's instant are read again rather than dropped (the
    records drop them again by id). A full page whose calls all share one instant cannot be
    walked past: it is refused rather than looped on.
    """

    filters: Mapping[str, ParamValue]
    since: datetime
    until: datetime
    limit: int

    def first(self) -> dict[str, ParamValue]:
        return {
            **self.filters,
            "createdAtGe": _wire_instant(self.since),
            "createdAtLt": _wire_instant(self.until),
            "limit": self.limit,
        }

    def __call__(self, content: bytes) -> Page[Call]:
        calls = CALL_LIST.validate_json(content)
        if len(calls) < self.limit:
            return Page(calls, meta=CALLS_PATH)
        stamps = [call.created_at for call in calls]
        newest, oldest = max(stamps), min(stamps)
        if newest == oldest:
            raise ValueError(
                f"all {len(calls)} calls of a full page were created at {stamps[0].isoformat()}: "
                f"the window cannot narrow past them (ask for a larger page, limit <= {MAX_LIMIT})"
            )
        pairs = list(itertools.pairwise(stamps))
        if all(a >= b for a, b in pairs):
            window = {
                "createdAtGe": _wire_instant(self.since),
                "createdAtLe": _wire_instant(oldest),
            }
        elif all(a <= b for a, b in pairs):
            window = {
                "createdAtGe": _wire_instant(newest),
                "createdAtLt": _wire_instant(self.until),
            }
        else:
            raise ValueError(
                "the calls are not in createdAt order, so the window cannot be narrowed safely"
            )
        params = {**self.filters, **window, "limit": self.limit}
        return Page(calls, next_url=f"{CALLS_PATH}?{_encode(params)}", meta=CALLS_PATH)


@dataclass(frozen=True)
class _Options:
    """`query.options`, checked."""

    endpoint: str = "auto"
    source: str = "calls"

    @classmethod
    def parse(cls, query: UsageQuery) -> _Options:
        endpoint, source = "auto", "calls"
        for name, value in query.options.items():
            if name == "endpoint":
                if value not in ENDPOINTS:
                    raise ConfigurationError(
                        f"{NAME}: option endpoint={value!r} is not one of {', '.join(ENDPOINTS)}"
                    )
                endpoint = value
            elif name == "source":
                if value not in SOURCES:
                    raise ConfigurationError(
                        f"{NAME}: option source={value!r} is not one of {', '.join(SOURCES)}"
                    )
                source = value
            else:
                raise ConfigurationError(
                    f"{NAME}: unknown option {name!r} (Vapi understands: endpoint, source)"
                )
        if source == "analytics" and query.number_ids:
            raise ConfigurationError(
                f"{NAME}: option source=analytics sums calls per assistant, not per phone "
                "number: drop --number, or read the calls (source=calls)"
            )
        return cls(endpoint, source)


class VapiProvider(Vapi):
    """Vapi (vapi.ai): every call with its reported USD cost and the items it is made of.

    Args:
        page_size: `limit` asked of `GET /v2/call` and `GET /call` (at most 1000).
    """

    def __init__(self, *, page_size: int = MAX_LIMIT) -> None:
        self.page_size = check_page_size(page_size, MAX_LIMIT)

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Any]:
        """One walk per assistant and phone-number filter (all calls when there is none).

        Vapi reports every cost itself: ``rates`` is not used.
        """
        options = _Options.parse(query)
        if options.source == "analytics":
            step = query.granularity
            return FetchPlan(
                walks=[analytics_walk(query, step)],
                to_records=lambda pages, report: analytics_records(
                    pages, report, query, step, is_failed
                ),
                granularity=step,
            )
        walks: list[Walk[Any]] = [
            self._walk(query, options, filters)
            for filters in _filter_sets(query.agent_ids, query.number_ids)
        ]
        if options.source == "both":
            walks.insert(0, analytics_walk(query, Granularity.DAY))
        check = AnalyticsCheck(is_failed) if options.source == "both" else None
        return FetchPlan(
            walks=walks,
            to_records=lambda pages, report: _records(pages, report, query, check),
            granularity=Granularity.CALL,
        )

    def _walk(
        self, query: UsageQuery, options: _Options, filters: Mapping[str, ParamValue]
    ) -> Walk[Any]:
        windows = _CallWindows(filters, query.since, query.until, self.page_size)
        fallback = Walk(CALLS_PATH, windows, windows.first(), CursorPaging())
        if options.endpoint == "call":
            return fallback
        params: dict[str, ParamValue] = {
            **filters,
            "sortOrder": "ASC",
            "limit": self.page_size,
            "createdAtGe": _wire_instant(query.since),
            "createdAtLt": _wire_instant(query.until),
        }
        return Walk(
            V2_CALLS_PATH,
            _V2Pages(params),
            {**params, "page": 1},
            CursorPaging(),
            fallback=fallback if options.endpoint == "auto" else None,
        )

    def emulator(self, api_key: str) -> Any:
        """The bundled emulator of Vapi's call lists."""
        from voice_usage_vapi.emulator import VapiEmulator

        return VapiEmulator(api_key)

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        """NestJS error bodies: `{"message": str | [str], "error": "Not Found", "statusCode"}`."""
        if isinstance(body, dict) and isinstance(body.get("message"), list):
            messages = "; ".join(str(m) for m in body["message"])
            error = body.get("error")
            return VendorError(error if isinstance(error, str) else None, messages)
        return parse_vendor_error(body)


def _filter_sets(
    agent_ids: Sequence[str], number_ids: Sequence[str]
) -> list[dict[str, ParamValue]]:
    """The list filters to send, one set per request: the API takes one id of each at a time."""
    agents: list[dict[str, ParamValue]] = [{"assistantId": a} for a in agent_ids] or [{}]
    numbers: list[dict[str, ParamValue]] = [{"phoneNumberId": n} for n in number_ids] or [{}]
    return [{**agent, **number} for agent in agents for number in numbers]


# -- records -----------------------------------------------------------------------------------


@dataclass
class _Calls:
    """How many calls something happened to, and the first few of their ids (memory stays flat)."""

    count: int = 0
    first: list[str] = field(default_factory=list)

    def append(self, call_id: str) -> None:
        self.count += 1
        if len(self.first) < _EXAMPLES:
            self.first.append(call_id)

    def __len__(self) -> int:
        return self.count

    def __str__(self) -> str:
        shown = ", ".join(self.first)
        return f"{shown}, ..." if self.count > len(self.first) else shown


@dataclass
class _Tally:
    """What the record loop set aside, to say in warnings once the pages are read."""

    not_ended: Counter[str] = field(default_factory=Counter)
    no_cost: _Calls = field(default_factory=_Calls)
    unsplit: _Calls = field(default_factory=_Calls)
    outside: int = 0
    bad_times: _Calls = field(default_factory=_Calls)
    beyond_retention: bool = False
    listed: int = 0
    """Calls `/v2/call` listed (each once), to reconcile with its `totalItems`."""
    reported_total: int | None = None
    """The sum of `totalItems` over the walks' first pages."""
    total_moved: tuple[int, int] | None = None
    """A walk's `totalItems` on its first page and on a later one, when they differ."""

    def warn(self, report: FetchReport, query: UsageQuery) -> None:
        if self.not_ended:
            states = ", ".join(f"{state}: {n}" for state, n in sorted(self.not_ended.items()))
            report.warn(
                f"{NAME}: {sum(self.not_ended.values())} call(s) not ended yet skipped ({states}); "
                "their cost is final only once they end: fetch again later"
            )
        if self.no_cost:
            report.warn(
                f"{NAME}: {len(self.no_cost)} ended call(s) without a cost yet (Vapi fills it "
                f"in after the call's analysis), left unpriced: {self.no_cost}"
            )
        if self.unsplit:
            report.warn(
                f"{NAME}: {len(self.unsplit)} call(s) whose cost items do not add up to the "
                f"reported cost; the reported cost is kept, without a split: {self.unsplit}"
            )
        if self.bad_times:
            report.warn(
                f"{NAME}: {len(self.bad_times)} call(s) ended before they started; their "
                f"duration is left unknown: {self.bad_times}"
            )
        if self.outside:
            report.warn(
                f"{NAME}: {self.outside} call(s) created outside [{query.since.isoformat()}, "
                f"{query.until.isoformat()}) ignored"
            )
        if self.beyond_retention:
            report.warn(
                f"{NAME}: some calls of the period lie beyond your plan's call-history retention "
                "(metadata.itemsBeyondRetention): Vapi did not list them, so the totals miss them"
            )
        if self.total_moved is not None:
            before, after = self.total_moved
            report.warn(
                f"{NAME}: metadata.totalItems changed from {before} to {after} while paging: "
                "calls were added or deleted meanwhile, so some may be missed; fetch again"
            )


def _records(
    pages: Iterator[Page[Any]],
    report: FetchReport,
    query: UsageQuery,
    check: AnalyticsCheck | None = None,
) -> Iterator[UsageRecord]:
    tally = _Tally()
    event = UsageRecord.template(provider=NAME, grain=Grain.EVENT, calls=1)
    repeats: PageRepeats[str] = PageRepeats()
    walk_total = 0
    for page in pages:
        meta = page.meta
        if meta == ANALYTICS_PATH:
            if check is not None:
                check.expect(page)
            continue
        windowed = meta == CALLS_PATH
        if isinstance(meta, PaginationMeta):
            if meta.current_page == 1:  # a walk starts (one per filter set)
                walk_total = meta.total_items
                tally.reported_total = (tally.reported_total or 0) + walk_total
            elif meta.total_items != walk_total and tally.total_moved is None:
                tally.total_moved = (walk_total, meta.total_items)
            tally.beyond_retention = tally.beyond_retention or bool(meta.items_beyond_retention)
        # Only the previous page can list a call again.
        repeats.next_page()
        for call in page.items:
            if windowed and repeats.on_previous_page(call.id):
                continue  # /call windows share their edge instant: read again by design
            if repeats.repeated(call.id):
                report.dropped_duplicates += 1
                report.warn(f"{NAME}: call {call.id} listed twice; counted once")
                continue
            if not windowed:
                tally.listed += 1
            if not query.contains(call.created_at):
                tally.outside += 1
                continue
            if not _ended(call):
                tally.not_ended[call.status or "no status"] += 1
                continue
            record = _record(event, call, tally)
            if check is not None:
                check.add(record, call.assistant_id)
            yield record
    tally.warn(report, query)
    if check is not None:
        check.reconcile(report)
    if tally.reported_total is not None:
        report.reconcile(
            "calls (listed against metadata.totalItems)",
            reported=tally.reported_total,
            computed=tally.listed,
        )


def _ended(call: Call) -> bool:
    if call.status is not None:
        return call.status == "ended"
    return call.ended_at is not None


def _record(event: Callable[..., UsageRecord], call: Call, tally: _Tally) -> UsageRecord:
    created = call.created_at
    ended = call.ended_at
    end = ended if ended is not None and ended > created else created + _SECOND
    duration: Decimal | None
    if ended is None:
        duration = None
    elif call.started_at is None:
        duration = Decimal(0)  # never started: no call time
    elif ended < call.started_at:
        tally.bad_times.append(call.id)
        duration = None
    else:
        duration = Decimal((ended - call.started_at) // _TICK) / 1_000_000

    platform = [item for item in call.costs or () if item.type == "vapi"]
    billed = _minutes(platform)

    values: dict[str, Any] = {}
    if call.cost is None:
        tally.no_cost.append(call.id)
        values["cost_note"] = "Vapi has not reported this call's cost yet"
    else:
        split = cost_split(call)
        cost = call.cost if split is None else exact_cost(call, split.items)
        values.update(cost=cost, currency="USD", cost_source=CostSource.REPORTED)
        if split is not None and cost is not None:
            values["cost_covers"] = split.covered if cost > 0 else ()
            components = reconcile_split(split.items, cost)
            if components is None:
                tally.unsplit.append(call.id)
                values["cost_note"] = (
                    f"cost items sum to {sum(split.items.values(), Decimal(0))} USD, not to the "
                    f"reported {cost} USD: the reported cost is kept, without a split"
                )
            else:
                values["cost_components"] = components
    return event(
        period_start=created,
        period_end=end,
        call_id=call.id,
        failed_calls=is_failed(call.ended_reason),
        duration_seconds=duration,
        billed_minutes=billed,
        agent_id=call.assistant_id or call.squad_id or call.workflow_id,
        number_id=call.phone_number_id,
        extras=_extras(call),
        **values,
    )


def _minutes(items: list[CostItem]) -> Decimal | None:
    minutes = [item.minutes for item in items]
    if not minutes or any(m is None for m in minutes):
        return None
    return sum((m for m in minutes if m is not None), Decimal(0))


def _extras(call: Call) -> dict[str, Any]:
    extras: dict[str, Any] = {"org_id": call.org_id}
    for key, value in (
        ("type", call.type),
        ("status", call.status),
        ("ended_reason", call.ended_reason),
        ("assistant_id", call.assistant_id),
        ("squad_id", call.squad_id),
        ("workflow_id", call.workflow_id),
        ("customer_id", call.customer_id),
        ("campaign_id", call.campaign_id),
        ("phone_call_provider", call.phone_call_provider),
        ("phone_call_transport", call.phone_call_transport),
        ("carrier_call_id", call.phone_call_provider_id),
    ):
        if value is not None:
            extras[key] = value
    if call.started_at is not None:
        extras["started_at"] = call.started_at.isoformat()
    if call.ended_at is not None:
        extras["ended_at"] = call.ended_at.isoformat()
    return extras
