from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from voice_usage import ConfigurationError, Granularity, Totals, UsageRecord, rollup
from voice_usage._rollup import bucket


def event(at: datetime, seconds: int, cost: str | None = "0.07", **extra: object) -> UsageRecord:
    return UsageRecord.model_validate(
        {
            "provider": "p",
            "grain": "event",
            "period_start": at,
            "period_end": at + timedelta(seconds=seconds),
            "calls": 1,
            "duration_seconds": Decimal(seconds),
            "billed_minutes": Decimal(-(-seconds // 60)),
            "cost": None if cost is None else Decimal(cost),
            "currency": "EUR" if cost else None,
            "cost_source": "reported" if cost else None,
            "cost_note": None if cost else "no cost",
            **extra,
        }
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("granularity", "instant", "start", "end"),
    [
        (
            Granularity.HOUR,
            utc(2026, 10, 1, 13, 59, 59),
            utc(2026, 10, 1, 13),
            utc(2026, 10, 1, 14),
        ),
        (Granularity.DAY, utc(2026, 10, 31, 23, 59), utc(2026, 10, 31), utc(2026, 11, 1)),
        (Granularity.MONTH, utc(2026, 12, 15), utc(2026, 12, 1), utc(2027, 1, 1)),
        (Granularity.MONTH, utc(2028, 2, 29, 5), utc(2028, 2, 1), utc(2028, 3, 1)),
    ],
)
def test_buckets_are_utc_half_open(granularity, instant, start, end):
    assert bucket(instant, granularity) == (start, end)


def test_daily_rollup_sums_each_day():
    records = [
        event(utc(2026, 10, 1, 9), 84),
        event(utc(2026, 10, 1, 23, 59, 59), 30),
        event(utc(2026, 10, 2, 0), 601),
    ]
    days = list(rollup(records, Granularity.DAY))
    assert [(d.period_start, d.period_end) for d in days] == [
        (utc(2026, 10, 1), utc(2026, 10, 2)),
        (utc(2026, 10, 2), utc(2026, 10, 3)),
    ]
    assert [d.calls for d in days] == [2, 1]
    assert [d.duration_seconds for d in days] == [114, 601]
    assert [d.billed_minutes for d in days] == [3, 11]  # 2 + 1, and 11
    assert [d.cost for d in days] == [Decimal("0.14"), Decimal("0.07")]
    assert all(d.grain == "window" and d.currency == "EUR" for d in days)


def test_rollup_clips_windows_to_the_query():
    days = list(
        rollup(
            [event(utc(2026, 10, 1, 9), 60)],
            Granularity.DAY,
            since=utc(2026, 10, 1, 6),
            until=utc(2026, 10, 1, 18),
        )
    )
    assert (days[0].period_start, days[0].period_end) == (utc(2026, 10, 1, 6), utc(2026, 10, 1, 18))


def test_an_unknown_cost_makes_the_total_unknown_with_a_reason():
    [day] = rollup(
        [event(utc(2026, 10, 1, 9), 60), event(utc(2026, 10, 1, 10), 60, cost=None)],
        Granularity.DAY,
    )
    assert day.cost is None and day.currency is None and day.cost_source is None
    assert day.cost_note == "1 of 2 records have no cost: no cost"


def test_totals_refuse_to_mix_currencies():
    totals = Totals()
    totals.add(event(utc(2026, 10, 1), 60))
    usd = event(utc(2026, 10, 1), 60).model_copy(update={"currency": "USD"})
    with pytest.raises(ConfigurationError, match="cannot add USD to EUR without an exchange rate"):
        totals.add(usd)


def test_uniform_dimensions_are_kept_and_mixed_ones_dropped():
    same = [event(utc(2026, 10, 1, h), 60, agent_id="a1", number_id=f"n{h}") for h in (1, 2)]
    [day] = rollup(same, Granularity.DAY)
    assert day.agent_id == "a1"
    assert day.number_id is None


def test_rollup_of_sums_equals_sum_of_parts():
    records = [event(utc(2026, 10, 1) + timedelta(hours=7 * i), 17 * i + 5) for i in range(40)]
    months = list(rollup(records, Granularity.MONTH))
    days = list(rollup(records, Granularity.DAY))
    assert (
        sum(d.duration_seconds for d in days)
        == months[0].duration_seconds
        == sum(r.duration_seconds for r in records)
    )
    assert sum(d.calls for d in days) == months[0].calls == 40


def window(day: int, agent: str | None, seconds: int) -> UsageRecord:
    start = utc(2026, 10, day)
    return UsageRecord(
        provider="p",
        grain="window",
        period_start=start,
        period_end=start + timedelta(days=1),
        calls=2,
        duration_seconds=Decimal(seconds),
        agent_id=agent,
    )


def test_windows_broken_down_by_agent_keep_the_breakdown_when_rolled_up():
    daily = [window(1, "a1", 60), window(2, "a1", 30), window(1, "a2", 10), window(3, None, 5)]
    months = list(rollup(daily, Granularity.MONTH))
    assert [(m.agent_id, m.calls, m.duration_seconds) for m in months] == [
        (None, 2, 5),
        ("a1", 4, 90),
        ("a2", 2, 10),
    ]
