"""Fixed charges: a plan's subscription and a price per number, pro rata, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from voice_usage import load_rate_book
from voice_usage._pricing._allin import fixed_charges

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS_30 = START + timedelta(days=30)
BOOK = load_rate_book(use_env=False)


def test_an_ultravox_account_on_pro_pays_usd_100_for_30_days():
    figure = fixed_charges(BOOK, "ultravox", START, DAYS_30, plan="PRO", told=True)
    assert figure.costs == {"USD": Decimal("100")} and figure.unknown is None
    [line] = figure.lines
    assert line["line"] == "ultravox/subscription[pro]@2025-01-01" and line["count"] == 1


def test_pay_as_you_go_has_no_subscription_and_an_unread_plan_is_unknown():
    assert fixed_charges(BOOK, "ultravox", START, DAYS_30, plan=None, told=True).costs == {}
    unknown = fixed_charges(BOOK, "ultravox", START, DAYS_30)
    assert unknown.costs == {} and "did not say the account's plan" in (unknown.unknown or "")


def test_an_agentphone_account_with_3_numbers_pays_usd_9_for_30_days():
    figure = fixed_charges(BOOK, "agentphone", START, DAYS_30, numbers=3, told=True)
    assert figure.costs == {"USD": Decimal("9.00")}  # 3 x USD 3.00 x 30/30
    # 10 days of 3 numbers: 3 x 3.00 x 10/30 = USD 3.00
    assert fixed_charges(
        BOOK, "agentphone", START, START + timedelta(days=10), numbers=3
    ).costs == {"USD": Decimal("3.00")}
    assert "how many numbers" in (fixed_charges(BOOK, "agentphone", START, DAYS_30).unknown or "")


def test_a_user_card_states_a_count_the_vendor_does_not_tell(tmp_path: Path):
    card = tmp_path / "mine.toml"
    card.write_text(
        '[[fixed]]\nprovider = "agentphone"\nname = "number"\nprice_per_month = "3.00"\n'
        'currency = "USD"\nper = "number"\ncount = 2\neffective_from = 2025-06-01\n'
        'source = "https://example.invalid/ours"\nchecked = 2026-11-30\n',
        encoding="utf-8",
    )
    book = load_rate_book([card], use_env=False)
    assert fixed_charges(book, "agentphone", START, DAYS_30).costs == {"USD": Decimal("6.00")}
    # The vendor's own count wins when it tells one.
    assert fixed_charges(book, "agentphone", START, DAYS_30, numbers=5).costs == {
        "USD": Decimal("15.00")
    }
    assert fixed_charges(book, "flireo", START, DAYS_30).costs == {}
