"""Repricing: per-call rounding, minimum charges, windows labelled approximate; worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from voice_usage import (
    CallPart,
    ConfigurationError,
    CostSource,
    Grain,
    Rate,
    RateBook,
    RepriceTarget,
    UsageRecord,
    load_rate_book,
    reprice,
    reprice_comparison,
)

START = datetime(2026, 10, 5, 9, tzinfo=UTC)


def rate(
    provider: str, price: str, currency: str, increment: int, minimum: str = "0", **kw
) -> Rate:
    return Rate(
        covers=("platform",),
        provider=provider,
        price_per_minute=Decimal(price),
        currency=currency,
        increment_seconds=increment,
        minimum_charge=Decimal(minimum),
        effective_from=kw.pop("effective_from", date(2025, 1, 1)),
        source="https://example.invalid/pricing",
        checked=date(2026, 11, 1),
        **kw,
    )


PER_MINUTE = rate("minutely", "0.07", "EUR", 60)
PER_SECOND = rate("secondly", "0.13", "USD", 1, minimum="0.01")
BOOK = RateBook([PER_MINUTE, PER_SECOND, rate("secondly", "0.005", "USD", 6, item="sip")])


def call(
    seconds: int,
    index: int = 0,
    *,
    provider: str = "origin",
    billed: str | None = None,
    cost: str | None = "0.50",
) -> UsageRecord:
    start = START + timedelta(minutes=20 * index)
    return UsageRecord(
        provider=provider,
        grain=Grain.EVENT,
        period_start=start,
        period_end=start + timedelta(seconds=max(seconds, 1)),
        calls=1,
        duration_seconds=Decimal(seconds),
        billed_minutes=None if billed is None else Decimal(billed),
        cost=None if cost is None else Decimal(cost),
        currency="EUR" if cost else None,
        cost_source=CostSource.REPORTED if cost else None,
        cost_note=None if cost else "unknown",
        call_id=f"c{index}",
    )


THREE_CALLS = [call(84, 0), call(30, 1), call(601, 2)]


def test_a_per_minute_card_rounds_each_call_up_2_plus_1_plus_11():
    priced = list(reprice(THREE_CALLS, "minutely", book=BOOK))
    assert [r.billed_minutes for r in priced] == [Decimal(2), Decimal(1), Decimal(11)]
    assert sum(r.billed_minutes for r in priced if r.billed_minutes) == 14
    # 14 minutes x EUR 0.07
    assert sum(r.cost for r in priced if r.cost) == Decimal("0.98")
    assert all(r.currency == "EUR" and r.cost_source is CostSource.RATE_CARD for r in priced)
    assert all(not r.cost_estimate for r in priced)
    assert priced[0].cost_note.startswith("rate card minutely/call@2025-01-01: EUR 0.07/min")


def test_a_per_second_card_with_a_minimum_charges_the_exact_sum():
    priced = list(reprice(THREE_CALLS, "secondly", book=BOOK))
    # 84 s -> 84/60*0.13 = 0.182; 30 s -> 0.065; 601 s -> 1.30216666... -> 1.302167 (half-up)
    assert [r.cost for r in priced] == [Decimal("0.182"), Decimal("0.065"), Decimal("1.302167")]
    assert sum(r.cost for r in priced if r.cost) == Decimal("1.549167")
    # billed minutes are the exact durations: 715 s
    assert sum(r.billed_minutes for r in priced if r.billed_minutes) * 60 == pytest.approx(715)
    assert all(r.currency == "USD" for r in priced)


def test_the_minimum_charge_applies_per_call():
    [short] = reprice([call(3)], "secondly", book=BOOK)
    assert short.cost == Decimal("0.01")  # 3/60 * 0.13 = 0.0065 < 1 cent
    [silent] = reprice([call(0)], "secondly", book=BOOK)
    assert silent.cost == Decimal(0)  # no talk, no minimum


def test_reprice_is_pure():
    records = list(THREE_CALLS)
    before = [r.model_dump() for r in records]
    list(reprice(records, "secondly", book=BOOK))
    assert [r.model_dump() for r in records] == before


def test_a_window_is_priced_on_its_minutes_and_labelled_approximate():
    window = UsageRecord(
        provider="origin",
        grain=Grain.WINDOW,
        period_start=START,
        period_end=START + timedelta(days=1),
        calls=3,
        duration_seconds=Decimal(715),
    )
    [priced] = reprice([window], "minutely", book=BOOK)
    assert priced.cost_estimate
    assert priced.billed_minutes == Decimal("11.916667")  # 715 / 60, no per-call rounding
    assert priced.cost == (Decimal(715) / 60 * Decimal("0.07")).quantize(Decimal("0.000001"))
    assert "approximate" in (priced.cost_note or "")


def test_a_window_with_only_billed_minutes_is_priced_on_them_approximately():
    window = UsageRecord(
        provider="origin",
        grain=Grain.WINDOW,
        period_start=START,
        period_end=START + timedelta(days=1),
        calls=2,
        billed_minutes=Decimal("12.5"),
    )
    [priced] = reprice([window], "secondly", book=BOOK)
    assert priced.cost_estimate and priced.cost == Decimal("1.625")  # 12.5 x 0.13
    assert "origin's billed minutes" in (priced.cost_note or "")


def test_the_same_vendors_card_keeps_its_own_billed_minutes():
    mine = call(84, provider="minutely", billed="2")
    [priced] = reprice([mine], PER_MINUTE)
    assert priced.billed_minutes == Decimal(2) and priced.cost == Decimal("0.14")


def test_a_record_whose_item_has_no_card_says_why():
    sip = call(60).model_copy(update={"item": "sip"})
    [priced] = reprice([sip], "minutely", book=BOOK)
    assert priced.cost is None and "no rate card for minutely/sip" in (priced.cost_note or "")


def test_the_card_in_force_on_each_calls_date_is_used():
    old = rate("shifty", "0.10", "USD", 60, effective_until=date(2026, 10, 6))
    new = rate("shifty", "0.20", "USD", 60, effective_from=date(2026, 10, 6))
    book = RateBook([old, new])
    before = call(60)
    after = call(60).model_copy(
        update={
            "period_start": datetime(2026, 10, 7, tzinfo=UTC),
            "period_end": datetime(2026, 10, 7, 0, 1, tzinfo=UTC),
        }
    )
    assert [r.cost for r in reprice([before, after], "shifty", book=book)] == [
        Decimal("0.10"),
        Decimal("0.20"),
    ]


def test_targets_parse_and_are_checked_against_the_book():
    assert RepriceTarget.parse("agentphone:hosted") == RepriceTarget("agentphone", "hosted")
    assert RepriceTarget.parse("ultravox").label == "ultravox"
    with pytest.raises(ConfigurationError, match="no rate card for 'nobody'"):
        RepriceTarget("nobody").check(BOOK)
    with pytest.raises(ConfigurationError, match="no rate card for 'secondly:gold'"):
        RepriceTarget("secondly", "gold").check(BOOK)


def test_shipped_cards_price_the_three_calls():
    book = load_rate_book(use_env=False)
    flireo = list(reprice(THREE_CALLS, "flireo", book=book))
    assert sum(r.billed_minutes for r in flireo if r.billed_minutes) == 14
    assert sum(r.cost for r in flireo if r.cost) == Decimal("0.98")  # EUR 0.07 per minute
    hosted = list(reprice(THREE_CALLS, "agentphone:hosted", book=book))
    # 715 s at USD 0.22/min, per second: 0.308 + 0.11 + 2.203667
    assert sum(r.cost for r in hosted if r.cost) == Decimal("2.621667")


def test_side_by_side_rows_as_run_and_per_target():
    sip = call(60, 3, cost="0.01").model_copy(update={"item": "sip"})
    result = reprice_comparison(
        [*THREE_CALLS, sip],
        ["minutely", "secondly"],
        book=BOOK,
        currency="EUR",
        fx=["USD:EUR=0.9"],
    )
    as_run, minutely, secondly = result.rows
    assert (as_run.provider, as_run.basis) == ("origin", "as run")
    assert as_run.cost == Decimal("1.51") and as_run.calls == 3  # 3 calls at 0.50 + SIP 0.01
    assert minutely.basis == "minutely rate card"
    assert minutely.billed_minutes == 14 and minutely.cost == Decimal("0.98")
    assert "1 sip record(s) (1.00 min) not priced: minutely has no 'sip' card" in minutely.notes
    assert secondly.cost == Decimal("1.549167") + Decimal("0.005")  # calls + 1 SIP minute
    assert secondly.converted_cost == (
        (Decimal("1.554167") * Decimal("0.9")).quantize(Decimal("0.000001"))
    )
    assert [r.label for r in result.fx] == ["USD:EUR=0.9"]


def test_side_by_side_says_when_windows_made_it_approximate():
    window = UsageRecord(
        provider="origin",
        grain=Grain.WINDOW,
        period_start=START,
        period_end=START + timedelta(days=1),
        calls=3,
        duration_seconds=Decimal(715),
    )
    result = reprice_comparison([window], ["minutely"], book=BOOK)
    assert result.rows[1].cost_estimate and result.rows[1].cost_source == "approximate"
    assert result.notes[0].startswith("approximate: window records carry no per-call durations")


def test_side_by_side_needs_a_target():
    with pytest.raises(ConfigurationError, match="at least one rate card"):
        reprice_comparison(THREE_CALLS, [], book=BOOK)


def test_the_library_refuses_a_currency_that_is_not_iso_4217():
    from voice_usage import ConfigurationError
    from voice_usage._analysis._reprice import reprice_comparison

    with pytest.raises(ConfigurationError, match=r"^the currency must be an ISO 4217 code"):
        reprice_comparison([], ["ultravox"], currency="EURO")


def test_a_vendors_own_split_does_not_survive_repricing():
    # A Vapi call: 84 s for EUR 0.50, split by the vendor into its own items.
    split = call(84).model_copy(
        update={
            "cost_components": {"transport": Decimal("0.10"), "vapi": Decimal("0.40")},
            "cost_covers": (CallPart.PLATFORM, CallPart.TELEPHONY),
        }
    )
    UsageRecord.model_validate(split.model_dump())  # a valid record to begin with
    [priced] = reprice([split], "secondly", book=BOOK)
    assert priced.cost == Decimal("0.182")  # 84/60 x USD 0.13
    # The vendor's items are gone: the new cost is the card's one line item, covering what the
    # card says its price covers.
    assert priced.cost_components == {"call": Decimal("0.182")}
    assert priced.cost_covers == BOOK.find("secondly", priced.period_start).covers
    no_duration = split.model_copy(update={"duration_seconds": None})
    [unpriced] = reprice([no_duration], "secondly", book=BOOK)
    assert unpriced.cost is None
    assert unpriced.cost_components is None and unpriced.cost_covers is None
