"""Vapi's `POST /analytics`: the vendor's own sums, as a window source or a check of the calls.

The sums of cost, duration and calls per day (or hour) and assistant are records of their own
with `--option source=analytics`, and a check of the calls with `--option source=both`.

One query is sent: on the `call` table, `sum` of `cost` and `duration` and `count` of `id`,
grouped by `assistantId` and `endedReason` (the reason tells failed calls apart, by the same rule
as for calls), bucketed by `step` in UTC over `[since, until)`. The answer is an array of
`AnalyticsQueryResult`, one per query, each `result` row a group:
`{"date", "assistantId", "endedReason", "sumCost", "sumDuration", "countId"}`.

Reconciliation (`source=both`): the calls are read as usual and are the records; the analytics
sums are then compared, per UTC day and assistant, with the sums of those records: calls
(exactly), cost (within USD 0.000001 a call, Vapi's float sums) and duration (within 0.001 s a
call). A mismatch is a warning naming the day, the assistant, the figure and both values; the
records stay the calls' (the more detailed figures), and the period's totals are reconciliations
of the fetch report. Calls not ended yet are not records, so a day with some differs by them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from voice_usage.provider import (
    CostSource,
    FetchReport,
    Grain,
    Granularity,
    Page,
    UsageQuery,
    UsageRecord,
    Walk,
)
from voice_usage_vapi._wire import ANALYTICS, AnalyticsRow

__all__ = [
    "ANALYTICS_PATH",
    "QUERY_NAME",
    "AnalyticsCheck",
    "analytics_records",
    "analytics_walk",
]

NAME: Final = "vapi"
ANALYTICS_PATH: Final = "/analytics"
QUERY_NAME: Final = "voice-usage"
"""The `name` of the query sent, which names its result in the answer."""
STEPS: Final[Mapping[Granularity, timedelta]] = {
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
}
_MINUTE: Final = Decimal(60)
_MILLISECOND: Final = Decimal("0.001")
_COST_TOLERANCE: Final = Decimal("0.000001")
"""Per call: Vapi sums its costs as doubles."""
_SECONDS_TOLERANCE: Final = Decimal("0.001")
"""Per call: call times are read to the millisecond."""


def _seconds(minutes: Decimal) -> Decimal:
    """Minutes of call time (a float sum) as seconds, to the millisecond call times carry."""
    return (minutes * _MINUTE).quantize(_MILLISECOND)


def _instant(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def analytics_walk(query: UsageQuery, step: Granularity) -> Walk[AnalyticsRow]:
    """The one `POST /analytics` request for ``query``'s period, bucketed by ``step``."""
    body = {
        "queries": [
            {
                "table": "call",
                "name": QUERY_NAME,
                "operations": [
                    {"operation": "sum", "column": "cost"},
                    {"operation": "sum", "column": "duration"},
                    {"operation": "count", "column": "id"},
                ],
                "groupBy": ["assistantId", "endedReason"],
                "timeRange": {
                    "start": _instant(query.since),
                    "end": _instant(query.until),
                    "step": step.value,
                    "timezone": "UTC",
                },
            }
        ]
    }
    return Walk(ANALYTICS_PATH, _parse, method="POST", body=body)


def _parse(content: bytes) -> Page[AnalyticsRow]:
    results = ANALYTICS.validate_json(content)
    for result in results:
        if result.name == QUERY_NAME:
            return Page(result.result, meta=ANALYTICS_PATH)
    names = ", ".join(repr(r.name) for r in results) or "none"
    raise ValueError(f"no result named {QUERY_NAME!r} in the answer (results: {names})")


@dataclass
class _Group:
    """The analytics rows of one bucket and assistant, summed over their ended reasons."""

    calls: int = 0
    failed: int | None = 0
    cost: Decimal | None = Decimal(0)
    minutes: Decimal | None = Decimal(0)

    def add(self, row: AnalyticsRow, failed: Callable[[str | None], int | None]) -> None:
        self.calls += row.count_id
        if row.count_id == 0:
            return
        rule = failed(row.ended_reason)
        self.failed = (
            None if rule is None or self.failed is None else self.failed + rule * row.count_id
        )
        self.cost = None if row.sum_cost is None or self.cost is None else self.cost + row.sum_cost
        self.minutes = (
            None
            if row.sum_duration is None or self.minutes is None
            else self.minutes + row.sum_duration
        )


def _groups(
    rows: Iterator[AnalyticsRow], failed: Callable[[str | None], int | None]
) -> dict[tuple[datetime, str | None], _Group]:
    groups: dict[tuple[datetime, str | None], _Group] = {}
    for row in rows:
        key = (row.date, row.assistant_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group()
        group.add(row, failed)
    return groups


def analytics_records(
    pages: Iterator[Page[Any]],
    report: FetchReport,
    query: UsageQuery,
    step: Granularity,
    failed: Callable[[str | None], int | None],
) -> Iterator[UsageRecord]:
    """One `window` record per bucket and assistant, from the analytics answer."""
    rows = (row for page in pages for row in page.items)
    groups = _groups(rows, failed)
    wanted = set(query.agent_ids)
    outside = 0
    for (start, assistant), group in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        if wanted and assistant not in wanted:
            continue
        end = start + STEPS[step]
        if end <= query.since or start >= query.until:
            outside += 1
            continue
        values: dict[str, Any] = {}
        if group.calls and group.cost is None:
            values["cost_note"] = "Vapi's analytics gave no sum of cost for these calls"
        else:
            values.update(
                cost=group.cost if group.calls else Decimal(0),
                currency="USD",
                cost_source=CostSource.REPORTED,
                cost_note=(
                    "summed by Vapi (POST /analytics); a sum does not say which calls paid "
                    "for which part, so what it covers is not known"
                ),
            )
        yield UsageRecord(
            provider=NAME,
            grain=Grain.WINDOW,
            period_start=max(start, query.since),
            period_end=min(end, query.until),
            calls=group.calls,
            failed_calls=group.failed,
            duration_seconds=None if group.minutes is None else _seconds(group.minutes),
            agent_id=assistant,
            extras={"source": "analytics"},
            **values,
        )
    if outside:
        report.warn(
            f"{NAME}: {outside} analytics group(s) outside [{query.since.isoformat()}, "
            f"{query.until.isoformat()}) ignored"
        )


@dataclass
class _Sum:
    calls: int = 0
    cost: Decimal = Decimal(0)
    seconds: Decimal = Decimal(0)


@dataclass
class AnalyticsCheck:
    """The analytics sums, checked against the call records of the same period (`source=both`)."""

    failed: Callable[[str | None], int | None]
    expected: dict[tuple[datetime, str | None], _Group] = field(default_factory=dict)
    seen: dict[tuple[datetime, str | None], _Sum] = field(default_factory=dict)

    def expect(self, page: Page[Any]) -> None:
        """Take the analytics answer's rows."""
        for key, group in _groups(iter(page.items), self.failed).items():
            self.expected[key] = group

    def add(self, record: UsageRecord, assistant: str | None) -> None:
        """Count one call record under its UTC day and assistant (as analytics groups it)."""
        day = record.period_start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        total = self.seen.get((day, assistant))
        if total is None:
            total = self.seen[(day, assistant)] = _Sum()
        total.calls += record.calls or 0
        total.cost += record.cost or Decimal(0)
        total.seconds += record.duration_seconds or Decimal(0)

    def reconcile(self, report: FetchReport) -> None:
        """Warn of each day and assistant whose figures differ; reconcile the period's totals."""
        keys = sorted(set(self.expected) | set(self.seen), key=lambda k: (k[0], k[1] or ""))
        totals = {"calls": [Decimal(0), Decimal(0)], "cost": [Decimal(0), Decimal(0)],
                  "duration_seconds": [Decimal(0), Decimal(0)]}  # fmt: skip
        unknown: set[str] = set()
        calls_total = 0
        for key in keys:
            group = self.expected.get(key) or _Group()
            got = self.seen.get(key) or _Sum()
            calls_total += got.calls
            figures = {
                "calls": (Decimal(group.calls), Decimal(got.calls), Decimal(0)),
                "cost": (group.cost, got.cost, _COST_TOLERANCE * got.calls),
                "duration_seconds": (
                    None if group.minutes is None else _seconds(group.minutes),
                    got.seconds,
                    _SECONDS_TOLERANCE * got.calls,
                ),
            }
            for figure, (vendor, calls, tolerance) in figures.items():
                if vendor is None:
                    unknown.add(figure)
                    continue
                totals[figure][0] += vendor
                totals[figure][1] += calls
                if abs(vendor - calls) > tolerance:
                    day, assistant = key
                    unit = " USD" if figure == "cost" else " s" if figure != "calls" else ""
                    report.warn(
                        f"{NAME}: {day.date().isoformat()}, assistant {assistant or '(none)'}: "
                        f"{figure} {vendor}{unit} by POST /analytics, {calls}{unit} summed over "
                        "the calls"
                    )
        for figure, (vendor, calls) in totals.items():
            if figure in unknown:
                continue
            tolerance = {
                "calls": Decimal(0),
                "cost": _COST_TOLERANCE * calls_total,
                "duration_seconds": _SECONDS_TOLERANCE * calls_total,
            }[figure]
            report.reconcile(
                f"{figure} (POST /analytics against the calls)",
                reported=vendor,
                computed=calls,
                tolerance=tolerance,
            )
