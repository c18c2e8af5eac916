"""Ultravox bodies as records: usage buckets and billing days as windows, calls as events.

Each function turns the pages of one walk into records, priced through a `Pricer`, and reconciles
what it produced with the vendor's own totals in the `FetchReport` once the pages run out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from voice_usage.provider import (
    FetchReport,
    Grain,
    Page,
    PageRepeats,
    UsageQuery,
    UsageRecord,
    utc_midnight,
)
from voice_usage_ultravox import NAME
from voice_usage_ultravox._pricing import Pricer, Sip, price_call
from voice_usage_ultravox._wire import (
    AgentUsage,
    Call,
    CallStatistics,
    CallUsage,
    DailyCallStatistics,
    HourlyCallStatistics,
    UsageResponse,
)

__all__ = ["agent_records", "billing_records", "call_records", "usage_records"]

ERROR_END_REASONS: Final = frozenset({"connection_error", "system_error"})
"""End reasons counted as failed calls, as `errorCount` counts "calls that ended in error"."""

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


def _clip(start: datetime, end: datetime, query: UsageQuery) -> tuple[datetime, datetime] | None:
    lo, hi = max(start, query.since), min(end, query.until)
    return (lo, hi) if lo < hi else None


def _single_agent(query: UsageQuery) -> str | None:
    return query.agent_ids[0] if len(query.agent_ids) == 1 else None


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


def usage_records(
    pages: Iterator[Page[CallUsage]],
    report: FetchReport,
    query: UsageQuery,
    pricer: Pricer,
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
                start = utc_midnight(bucket.date)
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


def call_records(
    pages: Iterator[Page[Call]], report: FetchReport, query: UsageQuery, pricer: Pricer
) -> Iterator[UsageRecord]:
    walked = 0
    total: int | None = None
    outside = 0
    # A call listed again on the next page (the list moved while paging) counts once.
    repeats: PageRepeats[str] = PageRepeats()
    for index, page in enumerate(pages):
        if index == 0:
            total = page.total
        repeats.next_page()
        for call in page.items:
            call_id = str(call.call_id)
            if repeats.repeated(call_id):
                report.dropped_duplicates += 1
                report.warn(f"{NAME}: call {call_id} listed twice across pages; counted once")
                continue
            walked += 1
            if not query.contains(call.created):
                outside += 1
                continue
            yield _call_record(call, pricer)
    if outside:
        report.warn(f"{NAME}: {outside} call(s) created outside the queried period ignored")
    if total is not None:
        report.reconcile("calls (listed against the list's total)", reported=total, computed=walked)


def _call_record(call: Call, pricer: Pricer) -> UsageRecord:
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
    sip: Sip | None = None
    if call.sip_details is not None:
        extras["sip_termination_reason"] = call.sip_details.termination_reason
        sip_seconds = call.sip_details.billed_duration
        if sip_seconds is not None:
            extras["sip_billed_seconds"] = str(sip_seconds)
            sip = Sip(sip_seconds / 60, pricer.rate("sip", created))
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
    return price_call(record, call, pricer, sip)


def _agent_of(call: Call) -> str | None:
    if call.agent_id:
        return call.agent_id
    return call.agent.agent_id if call.agent is not None else None


def billing_records(
    pages: Iterator[Page[UsageResponse]],
    report: FetchReport,
    query: UsageQuery,
    pricer: Pricer,
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
                start = utc_midnight(day.date)
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


def agent_records(
    pages: Iterator[Page[AgentUsage]], report: FetchReport, query: UsageQuery, pricer: Pricer
) -> Iterator[UsageRecord]:
    outside = 0
    for page in pages:
        for agent_usage in page.items:
            agent = agent_usage.agent
            for day in agent_usage.usage:
                start = utc_midnight(day.date)
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
