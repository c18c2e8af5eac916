"""Which price applies, and on what quantity."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from voice_usage import Rate, RateBook, UsageRecord, price_record

DAY = datetime(2026, 10, 1, 12, tzinfo=UTC)


def rate(
    price: str,
    start: date,
    *,
    variant: str | None = None,
    increment: int = 60,
    minimum: str = "0",
    provider: str = "v",
) -> Rate:
    return Rate(
        covers=("platform",),
        provider=provider,
        variant=variant,
        price_per_minute=Decimal(price),
        currency="USD",
        increment_seconds=increment,
        minimum_charge=Decimal(minimum),
        effective_from=start,
        source="https://example.com/pricing",
        checked=start,
    )


def test_a_newer_card_supersedes_an_older_one_in_force():
    book = RateBook([rate("0.05", date(2025, 1, 1)), rate("0.04", date(2026, 9, 1))])
    assert book.find("v", DAY).price_per_minute == Decimal("0.04")
    assert book.find("v", datetime(2026, 8, 31, tzinfo=UTC)).price_per_minute == Decimal("0.05")


def test_the_first_listed_variant_is_the_default_and_its_newest_price_wins():
    book = RateBook(
        [
            rate("0.13", date(2025, 6, 1), variant="webhook"),
            rate("0.22", date(2025, 6, 1), variant="hosted"),
            rate("0.12", date(2026, 1, 1), variant="webhook"),
        ]
    )
    assert book.find("v", DAY).price_per_minute == Decimal("0.12")
    assert book.find("v", DAY, variant="hosted").price_per_minute == Decimal("0.22")


def event(seconds: int, billed: str | None) -> UsageRecord:
    return UsageRecord(
        provider="v",
        grain="event",
        period_start=DAY,
        period_end=DAY + timedelta(seconds=seconds),
        calls=1,
        duration_seconds=Decimal(seconds),
        billed_minutes=None if billed is None else Decimal(billed),
    )


def test_an_event_the_vendor_rated_is_priced_on_its_billed_minutes():
    card = rate("0.05", date(2025, 1, 1), increment=6)
    # 84 s on a 6-second card would be 1.4 min; the vendor billed 1.5: its figure is priced
    priced = price_record(event(84, "1.5"), card)
    assert priced.billed_minutes == Decimal("1.5")
    assert priced.cost == Decimal("0.075000")


def test_another_vendors_card_rounds_the_measured_duration():
    card = rate("0.05", date(2025, 1, 1), increment=6, provider="other")
    priced = price_record(event(84, "1.5"), card)
    assert priced.billed_minutes == Decimal("1.4")  # 84 s is 14 increments of 6 s
    assert priced.cost == Decimal("0.070000")


def test_per_second_minutes_are_rounded_to_a_millionth_and_sum_exactly():
    card = rate("0.13", date(2025, 1, 1), increment=1, minimum="0.01", provider="other")
    priced = [price_record(event(s, None), card) for s in (84, 30, 601)]
    assert [p.billed_minutes for p in priced] == [
        Decimal("1.4"),
        Decimal("0.5"),
        Decimal("10.016667"),
    ]
    assert sum(p.billed_minutes for p in priced) == Decimal("11.916667")
    # cost from the exact seconds: 601 * 0.13 / 60 = 1.3021666... -> 1.302167
    assert [p.cost for p in priced] == [
        Decimal("0.182000"),
        Decimal("0.065000"),
        Decimal("1.302167"),
    ]
