"""The Ultravox adapter: which endpoint answers which query, and how its bodies become records.

- `day` and `hour`: `GET /api/accounts/me/usage/calls`, whose `daily` and `hourly` buckets become
  `window` records; `allTime` reconciles their sums.
- `call`: `GET /api/calls`, cursor-paginated, one `event` record per call.
- option `source=billing`: `GET /api/accounts/me/billing/usage`, the billed minutes the invoice is
  made of, per UTC day, as `item="call"` and `item="sip"` windows (the authoritative total).
- option `source=agents`: `GET /api/agents/usage`, per-agent daily windows.

Ultravox reports minutes but no money, so every cost comes from the Ultravox rate card.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from voice_usage.provider import (
    AccountFacts,
    ConfigurationError,
    CursorPaging,
    FetchPlan,
    FetchReport,
    Grain,
    Granularity,
    Page,
    ParamValue,
    Rate,
    RateBook,
    RateCardError,
    UnsupportedQueryError,
    UsageQuery,
    UsageRecord,
    VendorError,
    Walk,
    covers,
    default_rate_book,
    parse_vendor_error,
    price_record,
    priced_by,
    unpriced,
)
from voice_usage_ultravox import FILTER_OPTIONS, NAME, Ultravox
from voice_usage_ultravox._duration import DurationFormatError, format_duration, parse_duration
from voice_usage_ultravox._wire import (
    ACCOUNT,
    AGENT_USAGE,
    BILLING_USAGE,
    CALL_LIST,
    CALL_USAGE,
    Account,
    AgentUsage,
    Call,
    CallStatistics,
    CallUsage,
    DailyCallStatistics,
    HourlyCallStatistics,
    UsageResponse,
)

__all__ = [
    "BILLING_MAX_DAYS",
    "BILLING_OPTIONS",
    "FREE_BILLING_STATUSES",
    "UltravoxProvider",
]


USAGE_CALLS_PATH: Final = "/api/accounts/me/usage/calls"
BILLING_USAGE_PATH: Final = "/api/accounts/me/billing/usage"
CALLS_PATH: Final = "/api/calls"
AGENTS_USAGE_PATH: Final = "/api/agents/usage"
ACCOUNT_PATH: Final = "/api/accounts/me"

BILLING_MAX_DAYS: Final = 90
"""`billing/usage` answers at most 90 days a request (`toDate` at most 90 days after `fromDate`)."""

BILLING_OPTIONS: Final[Mapping[str, str]] = MappingProxyType({"source": "billing"})
"""The query options that ask for the billed totals Ultravox invoices (for `compare`)."""

FREE_BILLING_STATUSES: Final = frozenset(
    {
        "BILLING_STATUS_FREE_CONSOLE",
        "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
        "BILLING_STATUS_FREE_MINUTES",
        "BILLING_STATUS_FREE_SYSTEM_ERROR",
        "BILLING_STATUS_FREE_OTHER",
    }
)
"""Statuses of calls that cost nothing (a SIP leg may still be billed)."""
BILLED: Final = "BILLING_STATUS_BILLED"
PENDING: Final = "BILLING_STATUS_PENDING"
REFUNDED: Final = "BILLING_STATUS_REFUNDED"

ERROR_END_REASONS: Final = frozenset({"connection_error", "system_error"})
"""End reasons counted as failed calls, as `errorCount` counts "calls that ended in error"."""

SOURCES: Final = ("calls", "billing", "agents")

_DAY: Final = timedelta(days=1)
_HOUR: Final = timedelta(hours=1)
_TICK: Final = timedelta(microseconds=1)
_SECOND: Final = timedelta(seconds=1)
_MINUTES_TOLERANCE: Final = Decimal("0.001")
_SECONDS_TOLERANCE: Final = Decimal("0.001")

# Call fields the OpenAPI document declares and usage does not need: not copied into extras.
# Fields outside this set and outside the wire model (new fields) are kept as extras.
_CALL_FIELDS_LEFT_OUT: Final = frozenset(
    {
        "clientVersion",
        "firstSpeaker",
        "firstSpeakerSettings",
        "inactivityMessages",
        "initialOutputMedium",
        "joinTimeout",
        "joinUrl",
        "languageHint",
        "maxDuration",
        "medium",
        "model",
        "recordingEnabled",
        "systemPrompt",
        "temperature",
        "timeExceededMessage",
        "voice",
        "externalVoice",
        "voiceOverrides",
        "transcriptOptional",
        "vadSettings",
        "shortSummary",
        "summary",
        "experimentalSettings",
        "initialState",
        "requestContext",
        "dataConnectionConfig",
        "callbacks",
    }
)


def _is_midnight(instant: datetime) -> bool:
    return instant.timetz().replace(tzinfo=None) == time.min


def _wire_instant(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _inclusive_range(query: UsageQuery) -> dict[str, ParamValue]:
    """`fromDate`/`toDate` (both inclusive) covering `[since, until)` exactly.

    Whole days are sent as dates, as the vendor documents (a date-only `toDate` means the end of
    that day), so `until` 2026-11-01 becomes `toDate=2026-10-31`: the boundary day is not counted
    twice. Other instants are sent as UTC date-times, `toDate` one microsecond before `until`.
    """
    if _is_midnight(query.since) and _is_midnight(query.until):
        return {
            "fromDate": query.since.date().isoformat(),
            "toDate": (query.until - _DAY).date().isoformat(),
        }
    return {"fromDate": _wire_instant(query.since), "toDate": _wire_instant(query.until - _TICK)}


def billing_chunks(since: date, until: date) -> list[tuple[date, date]]:
    """`[fromDate, toDate)` pairs of at most `BILLING_MAX_DAYS` days, end to end, covering the range."""
    chunks = []
    start = since
    while start < until:
        end = min(start + timedelta(days=BILLING_MAX_DAYS), until)
        chunks.append((start, end))
        start = end
    return chunks


@dataclass(frozen=True)
class _Options:
    """`query.options`, checked: the data source and the vendor filters."""

    source: str = "calls"
    filters: dict[str, ParamValue] = field(default_factory=dict)
    plan: str | None = None
    """The account's plan (`pro`), when the user says it: its own rates (SIP) are used."""

    @classmethod
    def parse(cls, query: UsageQuery) -> _Options:
        source = "calls"
        plan: str | None = None
        filters: dict[str, ParamValue] = {}
        if query.agent_ids:
            for agent_id in query.agent_ids:
                _check_uuid("agent id", agent_id)
            filters["agentIds"] = list(query.agent_ids)
        for name, value in query.options.items():
            if name == "source":
                if value not in SOURCES:
                    raise ConfigurationError(
                        f"{NAME}: option source={value!r} is not one of {', '.join(SOURCES)}"
                    )
                source = value
            elif name in ("durationMin", "durationMax"):
                try:
                    filters[name] = format_duration(parse_duration(value, field=f"option {name}"))
                except DurationFormatError as exc:
                    raise ConfigurationError(f"{NAME}: {exc}") from None
            elif name in ("timeOfDayStart", "timeOfDayEnd"):
                try:
                    time.fromisoformat(value)
                except ValueError:
                    raise ConfigurationError(
                        f"{NAME}: option {name} must be a time of day HH:MM:SS[.ffffff], "
                        f"got {value!r}"
                    ) from None
                filters[name] = value
            elif name == "voiceId":
                _check_uuid("option voiceId", value)
                filters[name] = value
            elif name == "search":
                if not value:
                    raise ConfigurationError(f"{NAME}: option search must not be empty")
                filters[name] = value
            elif name.startswith("metadata.") and len(name) > len("metadata."):
                filters[name] = value
            elif name == "plan":
                if not value:
                    raise ConfigurationError(f"{NAME}: option plan must name a plan, e.g. pro")
                plan = value.lower()
            else:
                known = ", ".join(("source", "plan", *FILTER_OPTIONS, "metadata.<key>"))
                raise ConfigurationError(
                    f"{NAME}: unknown option {name!r} (Ultravox understands: {known})"
                )
        return cls(source, filters, plan)


def _check_uuid(what: str, value: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ConfigurationError(f"{NAME}: {what} must be a UUID, got {value!r}") from None


class _Pricer:
    """Rate-card lookups for one fetch (the rate book keeps its answers per day)."""

    def __init__(self, book: RateBook, plan: str | None = None) -> None:
        self.book = book
        self.plan = plan

    def rate(self, item: str, at: datetime) -> Rate | str:
        """The rate in force (the plan's own, where the card has one), or why there is none."""
        if self.plan is not None:
            # Without a price of the plan's own for this item, the default price applies.
            with contextlib.suppress(RateCardError):
                return self.book.find(NAME, at, item=item, variant=self.plan)
        try:
            return self.book.find(NAME, at, item=item)
        except RateCardError as exc:
            return f"cannot price: {exc}"

    def price(self, record: UsageRecord) -> UsageRecord:
        """``record`` priced on its vendor-rated `billed_minutes` (exact), or left without cost."""
        rate = self.rate(record.item, record.period_start)
        if isinstance(rate, str):
            return unpriced(record, rate)
        return price_record(record, rate, vendor_rated=True)


def _clip(start: datetime, end: datetime, query: UsageQuery) -> tuple[datetime, datetime] | None:
    lo, hi = max(start, query.since), min(end, query.until)
    return (lo, hi) if lo < hi else None


def _single_agent(query: UsageQuery) -> str | None:
    return query.agent_ids[0] if len(query.agent_ids) == 1 else None


class UltravoxProvider(Ultravox):
    """Ultravox (ultravox.ai): call usage aggregates, billed minutes, calls, per-agent usage.

    Args:
        page_size: `pageSize` asked of `GET /api/calls`.
    """

    def __init__(self, *, page_size: int = 100) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.page_size = page_size

    # -- planning ------------------------------------------------------------------------------

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Any]:
        """Describe the walks answering ``query``; see the module docstring for the mapping."""
        options = _Options.parse(query)
        pricer = _Pricer(rates if rates is not None else default_rate_book(), options.plan)
        if query.number_ids:
            raise UnsupportedQueryError(
                NAME, "Ultravox has no phone-number filter (filter by agent instead)"
            )
        if options.source == "billing":
            return self._plan_billing(query, options, pricer)
        if options.source == "agents":
            return self._plan_agents(query, options, pricer)
        if query.granularity is Granularity.CALL:
            return self._plan_calls(query, options, pricer)
        if query.granularity in (Granularity.DAY, Granularity.HOUR):
            return self._plan_usage(query, options, pricer)
        raise UnsupportedQueryError(
            NAME, f"granularity {query.granularity.value!r} is not reported natively"
        )

    def _plan_usage(
        self, query: UsageQuery, options: _Options, pricer: _Pricer
    ) -> FetchPlan[CallUsage]:
        walk = Walk(
            path=USAGE_CALLS_PATH,
            parse=_parse_call_usage,
            params={**_inclusive_range(query), **options.filters},
        )
        hourly = query.granularity is Granularity.HOUR
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: _usage_records(pages, report, query, pricer, hourly),
            granularity=query.granularity,
        )

    def _plan_calls(self, query: UsageQuery, options: _Options, pricer: _Pricer) -> FetchPlan[Call]:
        walk = Walk(
            path=CALLS_PATH,
            parse=_parse_call_page,
            params={**_inclusive_range(query), **options.filters, "pageSize": self.page_size},
            paging=CursorPaging(),
        )
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: _call_records(pages, report, query, pricer),
            granularity=Granularity.CALL,
        )

    def _plan_billing(
        self, query: UsageQuery, options: _Options, pricer: _Pricer
    ) -> FetchPlan[UsageResponse]:
        if query.granularity is not Granularity.DAY:
            raise UnsupportedQueryError(
                NAME, "billing usage (source=billing) is reported per UTC day only"
            )
        if options.filters:
            names = ", ".join(sorted("agent" if k == "agentIds" else k for k in options.filters))
            raise UnsupportedQueryError(
                NAME, f"billing usage (source=billing) is account-wide; it cannot filter by {names}"
            )
        if not (_is_midnight(query.since) and _is_midnight(query.until)):
            raise UnsupportedQueryError(
                NAME,
                "billing usage (source=billing) is reported per UTC day: since and until "
                "must be dates (midnight UTC)",
            )
        chunks = billing_chunks(query.since.date(), query.until.date())
        walks = [
            Walk(
                path=BILLING_USAGE_PATH,
                parse=_parse_billing_usage,
                params={"fromDate": start.isoformat(), "toDate": end.isoformat()},
            )
            for start, end in chunks
        ]
        return FetchPlan(
            walks=walks,
            to_records=lambda pages, report: _billing_records(pages, report, query, pricer),
            granularity=Granularity.DAY,
        )

    def _plan_agents(
        self, query: UsageQuery, options: _Options, pricer: _Pricer
    ) -> FetchPlan[AgentUsage]:
        if query.granularity is not Granularity.DAY:
            raise UnsupportedQueryError(
                NAME, "per-agent usage (source=agents) is reported per UTC day only"
            )
        walk = Walk(
            path=AGENTS_USAGE_PATH,
            parse=_parse_agent_usage,
            params={**_inclusive_range(query), **options.filters},
        )
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: _agent_records(pages, report, query, pricer),
            granularity=Granularity.DAY,
        )

    def billing_query(self, query: UsageQuery) -> UsageQuery | None:
        """``query`` answered from `billing/usage` (`source=billing`): the invoiced minutes.

        `None` when billing usage cannot answer it: the endpoint is account-wide and per UTC
        day, so a query filtered by agent or vendor filter, or not on day boundaries, keeps its
        usage records as the billed figures.
        """
        if query.agent_ids or query.number_ids or set(query.options) - {"source"}:
            return None
        if query.options.get("source", "calls") not in ("calls", "billing"):
            return None
        if not (_is_midnight(query.since) and _is_midnight(query.until)):
            return None
        granularity = (
            Granularity.DAY if query.granularity.rank < Granularity.DAY.rank else query.granularity
        )
        return UsageQuery(
            since=query.since,
            until=query.until,
            granularity=granularity,
            options={**query.options, **BILLING_OPTIONS},
        )

    # -- account and errors --------------------------------------------------------------------

    def balance(self) -> Walk[Account]:
        """`GET /api/accounts/me`: free time used and remaining, subscription, limits."""
        return Walk(path=ACCOUNT_PATH, parse=_parse_account)

    def account_facts(self, snapshot: Any) -> AccountFacts | None:
        """The subscription tier of `GET /api/accounts/me` (`PRO` on the Pro plan)."""
        if not isinstance(snapshot, Account):
            return None
        return AccountFacts(plan=snapshot.subscription_tier)

    def emulator(self, api_key: str) -> Any:
        """An `UltravoxEmulator` with demo data."""
        from voice_usage_ultravox.emulator import UltravoxEmulator

        return UltravoxEmulator(api_key=api_key)

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        """Django REST framework bodies: `{"detail": "..."}`, or field maps, nested or not."""
        if isinstance(body, dict) and body and "detail" not in body and "error" not in body:
            messages = list(_drf_messages(body))
            if messages:
                return VendorError("validation_error", "; ".join(messages))
        return parse_vendor_error(body)


def _drf_messages(value: Any, path: str = "") -> Iterator[str]:
    """`field: message` lines of a DRF validation body (`{"field": ["msg"], "nested": {...}}`)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            where = path if key == "non_field_errors" else f"{path}.{key}" if path else str(key)
            yield from _drf_messages(inner, where)
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            text = " ".join(value)
            yield f"{path}: {text}" if path else text
        else:
            for index, item in enumerate(value):
                yield from _drf_messages(item, f"{path}[{index}]")
    elif value is not None:
        yield f"{path}: {value}" if path else str(value)


# -- parsers (one per endpoint; a misfit body raises pydantic's ValidationError) ---------------


def _parse_call_usage(content: bytes) -> Page[CallUsage]:
    return Page([CALL_USAGE.validate_json(content)])


def _parse_billing_usage(content: bytes) -> Page[UsageResponse]:
    return Page([BILLING_USAGE.validate_json(content)])


def _parse_agent_usage(content: bytes) -> Page[AgentUsage]:
    return Page(AGENT_USAGE.validate_json(content))


def _parse_call_page(content: bytes) -> Page[Call]:
    page = CALL_LIST.validate_json(content)
    return Page(page.results, total=page.total, next_url=page.next)


def _parse_account(content: bytes) -> Page[Account]:
    return Page([ACCOUNT.validate_json(content)])


# -- records -----------------------------------------------------------------------------------


@dataclass
class _Sums:
    """Sums of the records produced, to reconcile with a vendor total."""

    calls: int = 0
    failed: int = 0
    seconds: Decimal = Decimal(0)
    minutes: Decimal = Decimal(0)

    def add(self, stats: CallStatistics) -> None:
        self.calls += stats.total_count
        self.failed += stats.error_count
        self.seconds += stats.duration
        self.minutes += stats.billed_minutes

    def reconcile(self, report: FetchReport, total: CallStatistics, what: str) -> None:
        report.reconcile(f"calls ({what})", reported=total.total_count, computed=self.calls)
        report.reconcile(f"failed_calls ({what})", reported=total.error_count, computed=self.failed)
        report.reconcile(
            f"duration_seconds ({what})",
            reported=total.duration,
            computed=self.seconds,
            tolerance=_SECONDS_TOLERANCE,
        )
        report.reconcile(
            f"billed_minutes ({what})",
            reported=total.billed_minutes,
            computed=self.minutes,
            tolerance=_MINUTES_TOLERANCE,
        )


def _usage_records(
    pages: Iterator[Page[CallUsage]],
    report: FetchReport,
    query: UsageQuery,
    pricer: _Pricer,
    hourly: bool,
) -> Iterator[UsageRecord]:
    agent_id = _single_agent(query)
    what = "hourly buckets against allTime" if hourly else "daily buckets against allTime"
    for page in pages:
        for usage in page.items:
            sums = _Sums()
            outside = 0
            buckets: Sequence[DailyCallStatistics] = usage.hourly if hourly else usage.daily
            for bucket in buckets:
                start = datetime.combine(bucket.date, time.min, UTC)
                if isinstance(bucket, HourlyCallStatistics):
                    start += timedelta(hours=bucket.hour)
                period = _clip(start, start + (_HOUR if hourly else _DAY), query)
                if period is None:
                    outside += 1
                    continue
                sums.add(bucket)
                yield pricer.price(
                    UsageRecord(
                        provider=NAME,
                        grain=Grain.WINDOW,
                        period_start=period[0],
                        period_end=period[1],
                        calls=bucket.total_count,
                        failed_calls=bucket.error_count,
                        duration_seconds=bucket.duration,
                        billed_minutes=bucket.billed_minutes,
                        agent_id=agent_id,
                        connected_calls=_connected(bucket, report),
                        extras=_json_extras(bucket),
                    )
                )
            if outside:
                report.warn(
                    f"{NAME}: {outside} bucket(s) outside [{query.since.isoformat()}, "
                    f"{query.until.isoformat()}) ignored"
                )
            sums.reconcile(report, usage.all_time, what)


def _connected(bucket: CallStatistics, report: FetchReport) -> int | None:
    """A bucket's joined calls, unless it says more joined than were made (then unknown)."""
    if bucket.joined_count <= bucket.total_count:
        return bucket.joined_count
    report.warn(
        f"{NAME}: a usage bucket reports {bucket.joined_count} joined calls of "
        f"{bucket.total_count}; connected calls are left unknown"
    )
    return None


def _json_extras(model: Any) -> dict[str, Any]:
    """Unknown wire fields (already JSON values), kept verbatim."""
    return dict(model.model_extra or {})


def _call_records(
    pages: Iterator[Page[Call]], report: FetchReport, query: UsageQuery, pricer: _Pricer
) -> Iterator[UsageRecord]:
    walked = 0
    total: int | None = None
    outside = 0
    previous_page: set[str] = set()
    for index, page in enumerate(pages):
        if index == 0:
            total = page.total
        # A call listed again on the next page (the list moved while paging) counts once;
        # checking against the previous page only keeps memory flat.
        current: set[str] = set()
        for call in page.items:
            call_id = str(call.call_id)
            if call_id in current or call_id in previous_page:
                report.dropped_duplicates += 1
                report.warn(f"{NAME}: call {call_id} listed twice across pages; counted once")
                continue
            current.add(call_id)
            walked += 1
            if not query.contains(call.created):
                outside += 1
                continue
            yield _call_record(call, pricer)
        previous_page = current
    if outside:
        report.warn(f"{NAME}: {outside} call(s) created outside the queried period ignored")
    if total is not None:
        report.reconcile("calls (listed against the list's total)", reported=total, computed=walked)


def _call_record(call: Call, pricer: _Pricer) -> UsageRecord:
    created = call.created
    # An event ends when the call ended; a call still going gets a nominal second.
    end = call.ended if call.ended is not None and call.ended > created else created + _SECOND
    if call.ended is not None and call.joined is not None:
        micros = max(0, (call.ended - call.joined) // _TICK)
        duration: Decimal | None = Decimal(micros) / 1_000_000
    elif call.ended is not None:
        duration = Decimal(0)  # never joined: no call time
    else:
        duration = None  # still going
    if call.end_reason is None:
        failed: int | None = None if call.ended is None else 0
    else:
        failed = 1 if call.end_reason in ERROR_END_REASONS else 0

    extras: dict[str, Any] = {
        "billing_status": call.billing_status,
        "end_reason": call.end_reason,
    }
    if call.billed_duration is not None:
        extras["billed_duration_seconds"] = str(call.billed_duration)
    if call.joined is not None:
        extras["joined"] = call.joined.isoformat()
    if call.ended is not None:
        extras["ended"] = call.ended.isoformat()
    if call.agent is not None:
        extras["agent_name"] = call.agent.name
    if call.billed_side_input_tokens is not None:
        extras["billed_side_input_tokens"] = call.billed_side_input_tokens
    if call.billed_side_output_tokens is not None:
        extras["billed_side_output_tokens"] = call.billed_side_output_tokens
    if call.metadata:
        extras["metadata"] = dict(call.metadata)
    sip: _Sip | None = None
    if call.sip_details is not None:
        extras["sip_termination_reason"] = call.sip_details.termination_reason
        sip_seconds = call.sip_details.billed_duration
        if sip_seconds is not None:
            extras["sip_billed_seconds"] = str(sip_seconds)
            sip = _Sip(sip_seconds / 60, pricer.rate("sip", created))
    extras.update(
        (key, value)
        for key, value in (call.model_extra or {}).items()
        if key not in _CALL_FIELDS_LEFT_OUT
    )

    record = UsageRecord(
        provider=NAME,
        grain=Grain.EVENT,
        call_id=call.call_id,
        period_start=created,
        period_end=end,
        calls=1,
        connected_calls=1 if call.joined is not None else 0,
        failed_calls=failed,
        duration_seconds=duration,
        agent_id=_agent_of(call),
        extras=extras,
    )
    return _price_call(record, call, pricer, sip)


@dataclass(frozen=True)
class _Sip:
    """A call's SIP minutes, billed apart from its call minutes, and the card that prices them."""

    minutes: Decimal
    rate: Rate | str


def _agent_of(call: Call) -> str | None:
    if call.agent_id:
        return call.agent_id
    return call.agent.agent_id if call.agent is not None else None


def _price_call(record: UsageRecord, call: Call, pricer: _Pricer, sip: _Sip | None) -> UsageRecord:
    """A call's cost from its billing status and billed duration, plus its SIP minutes.

    Billed calls are priced on `billedDuration` (already rounded by Ultravox), free and refunded
    calls are a known zero, pending calls are marked and left unpriced until billed. SIP
    minutes are a line item of their own (`sip_minutes`), even on a free call, which "may still
    have a non-zero sip bill".
    """
    status = call.billing_status
    billed = call.billed_duration
    if status in FREE_BILLING_STATUSES or status == REFUNDED:
        rate = pricer.rate("call", record.period_start)
        if isinstance(rate, str):
            return unpriced(record, rate)
        why = "refunded" if status == REFUNDED else "free"
        return _with_cost(
            record,
            Decimal(0),
            rate,
            billed_minutes=Decimal(0),
            note=f"{why} ({status}): no call charge; rate card {rate.label}",
            sip=sip,
        )
    if status == BILLED and billed is not None:
        return _priced_minutes(record, billed / 60, pricer, sip)
    if status == PENDING:
        marked = {**record.extras, "billing_pending": True}
        if billed is not None:
            # Calls created before 2025-05-28 may keep the pending status although billed.
            priced = _priced_minutes(record, billed / 60, pricer, sip)
            return priced.model_copy(
                update={
                    "extras": marked,
                    "cost_note": f"{priced.cost_note}; billing status still pending ({PENDING})",
                }
            )
        return record.model_copy(
            update={
                "extras": marked,
                "cost_note": f"billing pending ({PENDING}): the call is not billed yet",
            }
        )
    if status == BILLED:
        return record.model_copy(
            update={
                "cost_note": f"{BILLED} without a billedDuration: the billed time is unknown",
            }
        )
    return record.model_copy(
        update={
            "cost_note": f"unexpected billing status {status!r}: cost unknown",
        }
    )


def _priced_minutes(
    record: UsageRecord, minutes: Decimal, pricer: _Pricer, sip: _Sip | None
) -> UsageRecord:
    rate = pricer.rate(record.item, record.period_start)
    if isinstance(rate, str):
        return unpriced(record, rate).model_copy(update={"billed_minutes": minutes})
    return _with_cost(
        record,
        rate.charge_minutes(minutes),
        rate,
        billed_minutes=minutes,
        note=f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min "
        "on the billed duration",
        sip=sip,
    )


def _with_cost(
    record: UsageRecord,
    cost: Decimal,
    rate: Rate,
    *,
    billed_minutes: Decimal,
    note: str,
    sip: _Sip | None,
) -> UsageRecord:
    priced = priced_by(record, cost, rate, note=note, billed_minutes=billed_minutes)
    if sip is None:
        return priced
    if isinstance(sip.rate, str) or sip.rate.currency != rate.currency:
        # The SIP minutes cannot be priced: the call's cost is then not known in full.
        why = sip.rate if isinstance(sip.rate, str) else "the SIP card is in another currency"
        return unpriced(priced, f"{note}; SIP minutes {sip.minutes} not priced: {why}")
    sip_cost = sip.rate.charge_minutes(sip.minutes)
    data = priced.model_dump()
    data.update(
        cost=cost + sip_cost,
        cost_components={rate.line_item: cost, sip.rate.line_item: sip_cost},
        cost_covers=covers([*rate.covers, *sip.rate.covers]),
        cost_note=f"{note}; SIP minutes {sip.minutes} at {sip.rate.label}: {sip_cost}",
    )
    return UsageRecord.model_validate(data)


def _billing_records(
    pages: Iterator[Page[UsageResponse]],
    report: FetchReport,
    query: UsageQuery,
    pricer: _Pricer,
) -> Iterator[UsageRecord]:
    seen: set[date] = set()
    reported_minutes = reported_sip = Decimal(0)
    minutes = sip = Decimal(0)
    outside = 0
    for page in pages:
        for usage in page.items:
            reported_minutes += usage.total_minutes
            reported_sip += usage.total_sip_minutes
            for day in usage.daily_usage:
                start = datetime.combine(day.date, time.min, UTC)
                if not query.contains(start):
                    outside += 1
                    continue
                if day.date in seen:
                    report.dropped_duplicates += 1
                    report.warn(f"{NAME}: billing usage for {day.date} given twice; kept once")
                    continue
                seen.add(day.date)
                minutes += day.minutes
                sip += day.sip_minutes
                for item, billed in (("call", day.minutes), ("sip", day.sip_minutes)):
                    yield pricer.price(
                        UsageRecord(
                            provider=NAME,
                            grain=Grain.WINDOW,
                            item=item,
                            period_start=start,
                            period_end=start + _DAY,
                            billed_minutes=billed,
                            extras={"source": "billing", **_json_extras(day)},
                        )
                    )
    if outside:
        report.warn(f"{NAME}: {outside} billing day(s) outside the queried period ignored")
    report.reconcile(
        "billed_minutes (billing days against totalMinutes)",
        reported=reported_minutes,
        computed=minutes,
        tolerance=_MINUTES_TOLERANCE,
    )
    report.reconcile(
        "sip_minutes (billing days against totalSipMinutes)",
        reported=reported_sip,
        computed=sip,
        tolerance=_MINUTES_TOLERANCE,
    )


def _agent_records(
    pages: Iterator[Page[AgentUsage]], report: FetchReport, query: UsageQuery, pricer: _Pricer
) -> Iterator[UsageRecord]:
    outside = 0
    for page in pages:
        for agent_usage in page.items:
            agent = agent_usage.agent
            for day in agent_usage.usage:
                start = datetime.combine(day.date, time.min, UTC)
                period = _clip(start, start + _DAY, query)
                if period is None:
                    outside += 1
                    continue
                yield pricer.price(
                    UsageRecord(
                        provider=NAME,
                        grain=Grain.WINDOW,
                        period_start=period[0],
                        period_end=period[1],
                        calls=day.calls,
                        billed_minutes=day.billed_minutes,
                        agent_id=agent.agent_id,
                        extras={"agent_name": agent.name, **_json_extras(day)},
                    )
                )
    if outside:
        report.warn(f"{NAME}: {outside} agent-day(s) outside the queried period ignored")
