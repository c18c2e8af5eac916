"""Rate cards: what is in force, where each line came from, overrides, and the `ratecards` command."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from voice_usage import (
    CallPart,
    ConfigurationError,
    Rate,
    load_rate_book,
)
from voice_usage.cli import cli

NEGOTIATED = """
[[rate]]
provider = "ultravox"
item = "call"
price_per_minute = "0.04"
currency = "USD"
increment_seconds = 60
minimum_charge = "0.02"
covers = ["platform", "stt", "llm", "tts"]
effective_from = 2025-01-01
source = "https://example.invalid/our-contract"
checked = 2026-11-01
note = "Negotiated."

[[rate]]
provider = "acme"
item = "call"
price_per_minute = "0.10"
currency = "GBP"
covers = ["platform", "telephony", "stt", "llm", "tts"]
effective_from = 2026-01-01
effective_until = 2027-01-01
source = "https://example.invalid/acme"
checked = 2026-11-01
"""


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "cards.toml"
    path.write_text(NEGOTIATED, encoding="utf-8")
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(
        cli, list(args), env={"VOICE_USAGE_RATECARDS": "", **(env or {})}, catch_exceptions=False
    )


def test_every_shipped_line_has_a_source_a_check_date_and_its_file():
    book = load_rate_book(use_env=False)
    assert {"flireo", "ultravox", "agentphone"} <= set(book.providers())
    for rate in book:
        assert rate.source.startswith("https://")
        assert rate.checked <= datetime.now(UTC).date()
        assert book.origin(rate) == f"voice_usage/ratecards/{rate.provider}.toml"


def test_a_user_file_overrides_the_same_key_and_adds_cards(user_file: Path):
    book = load_rate_book([user_file], use_env=False)
    at = datetime(2026, 10, 1, tzinfo=UTC)
    ultravox = book.find("ultravox", at)
    assert ultravox.price_per_minute == Decimal("0.04") and ultravox.increment_seconds == 60
    assert book.origin(ultravox) == str(user_file)
    assert book.find("acme", at).currency == "GBP"
    # the shipped SIP line of the same vendor is untouched
    assert book.origin(book.find("ultravox", at, item="sip")).startswith("voice_usage/")


def test_in_force_honours_effective_until(user_file: Path):
    book = load_rate_book([user_file], use_env=False)
    assert any(r.provider == "acme" for r in book.in_force(datetime(2026, 6, 1, tzinfo=UTC)))
    assert not book.in_force(datetime(2027, 1, 1, tzinfo=UTC), "acme")
    assert not book.in_force(datetime(2025, 12, 31, tzinfo=UTC), "acme")


def test_increment_in_words():
    def line(increment: int) -> Rate:
        return Rate(
            covers=("platform",),
            provider="x",
            price_per_minute=Decimal(1),
            currency="USD",
            increment_seconds=increment,
            effective_from=date(2025, 1, 1),
            source="https://example.invalid",
            checked=date(2026, 1, 1),
        )

    assert line(1).increment == "per second"
    assert line(6).increment == "per 6 s, rounded up per call"
    assert line(60).increment == "per minute, rounded up per call"


def test_ratecards_command_lists_lines_in_force():
    result = run("ratecards", "--at", "2026-10-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    labels = {r["label"] for r in data["rates"]}
    assert "flireo/call@2025-12-01" in labels
    assert "ultravox/sip@2025-11-10" in labels
    assert "ultravox/sip@2025-01-01" not in labels  # ended 2025-11-10
    flireo = next(r for r in data["rates"] if r["provider"] == "flireo")
    assert flireo["increment"] == "per minute, rounded up per call"
    assert flireo["origin"] == "voice_usage/ratecards/flireo.toml"
    assert flireo["effective_until"] is None


def test_ratecards_all_shows_past_lines_with_their_end():
    result = run("ratecards", "ultravox", "--all", "--format", "json")
    data = json.loads(result.stdout)
    ended = [r for r in data["rates"] if r["effective_until"]]
    assert [(r["label"], r["effective_until"]) for r in ended] == [
        ("ultravox/sip@2025-01-01", "2025-11-10")
    ]
    assert {r["provider"] for r in data["rates"]} == {"ultravox"}


def test_ratecards_table_shows_the_user_file(user_file: Path):
    result = run("ratecards", "--at", "2026-10-01", "--ratecards", str(user_file))
    assert result.exit_code == 0, result.stderr
    assert "acme" in result.stdout and "0.10 GBP" in result.stdout
    assert "per minute, rounded up per call" in result.stdout
    assert "ultravox/sip[pro]@2025-11-10 covers platform. SIP 0.48" in result.stdout
    assert "agentphone/call[hosted]@2025-06-01 covers everything." in result.stdout
    assert "fixed ultravox/subscription[pro]@2025-01-01: 100 USD/month" in result.stdout
    via_env = run(
        "ratecards",
        "acme",
        "--at",
        "2026-10-01",
        "--format",
        "json",
        env={"VOICE_USAGE_RATECARDS": str(user_file)},
    )
    [acme] = json.loads(via_env.stdout)["rates"]
    assert acme["origin"] == str(user_file) and acme["effective_until"] == "2027-01-01"


def test_ratecards_errors_exit_2(tmp_path: Path):
    assert run("ratecards", "nobody").exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rate]]\nprovider = 'x'\n", encoding="utf-8")
    result = run("ratecards", "--ratecards", str(bad))
    assert result.exit_code == 2 and "card x/call@? ([[rate]] #1): field" in result.stderr
    assert run("ratecards", "--ratecards", str(tmp_path / "missing.toml")).exit_code == 2


def test_a_missing_override_file_is_a_configuration_error(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_rate_book([tmp_path / "missing.toml"], use_env=False)


# -- what each price covers, inferred rules, fixed charges -----------------------------------------

AT = datetime(2026, 10, 1, tzinfo=UTC)


def test_every_shipped_price_says_what_it_covers_and_why_it_leaves_parts_out():
    book = load_rate_book(use_env=False)
    for rate in book:
        assert set(rate.covers) | set(rate.left_out) == set(CallPart)
        assert all(rate.leaves_out.get(part) for part in rate.left_out), rate.label
    flireo = book.find("flireo", AT)
    assert flireo.covers == (CallPart.PLATFORM,)
    assert "at cost" in flireo.leaves_out[CallPart.LLM]
    assert flireo.inferred == ("increment_seconds",) and flireo.line_item == "orchestration"
    ultravox = book.find("ultravox", AT)
    assert [p.value for p in ultravox.covers] == ["platform", "stt", "llm", "tts"]
    sip = book.find("ultravox", AT, item="sip")
    assert sip.covers == (CallPart.PLATFORM,) and sip.price_per_minute == Decimal("0.005")
    assert CallPart.TELEPHONY in sip.leaves_out  # the SIP fee is not the phone line
    pro_sip = book.find("ultravox", AT, item="sip", variant="pro")
    assert pro_sip.price_per_minute == Decimal("0.0048")
    for mode in ("webhook", "hosted"):
        assert set(book.find("agentphone", AT, variant=mode).covers) == set(CallPart)


def test_shipped_fixed_charges_for_30_days_by_hand():
    book = load_rate_book(use_env=False)
    start, end = AT, datetime(2026, 10, 31, tzinfo=UTC)
    [pro] = book.fixed_in_force("ultravox", AT)
    assert (pro.name, pro.variant, pro.per) == ("subscription", "pro", "account")
    assert pro.for_period(1, start, end) == Decimal("100")  # USD 100/month, 30 days
    [number] = book.fixed_in_force("agentphone", AT)
    assert (number.name, number.per, number.currency) == ("number", "number", "USD")
    assert number.for_period(3, start, end) == Decimal("9")  # 3 x USD 3.00
    # 36 hours of 3 numbers: 3 x 3.00 x 1.5 / 30 = 0.45
    assert number.for_period(3, start, start + timedelta(hours=36)) == Decimal("0.45")
    assert book.origin(number) == "voice_usage/ratecards/agentphone.toml"
    assert book.fixed_in_force("flireo", AT) == []


USER_CARD = """
[[rate]]
provider = "flireo"
item = "call"
price_per_minute = "0.07"
currency = "EUR"
increment_seconds = 1
covers = ["platform"]
effective_from = 2025-12-01
source = "https://example.invalid/flireo-told-us"
checked = 2026-11-30
note = "Flireo confirmed per-second billing in writing."

[[fixed]]
provider = "flireo"
name = "support"
price_per_month = "49"
currency = "EUR"
count = 1
effective_from = 2026-01-01
source = "https://example.invalid/contract"
checked = 2026-11-30
"""


def test_a_user_card_overrides_an_inferred_rule_and_states_a_fixed_charge(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(USER_CARD, encoding="utf-8")
    book = load_rate_book([path], use_env=False)
    flireo = book.find("flireo", AT)
    assert flireo.increment_seconds == 1 and flireo.inferred == ()
    assert book.origin(flireo) == str(path)
    [support] = book.fixed_in_force("flireo", AT)
    assert (support.count, support.per, support.price_per_month) == (1, "account", Decimal(49))
    assert book.by_label("flireo/call@2025-12-01") is flireo
    assert book.by_label("flireo/call@2024-01-01") is None


def test_ratecards_json_shows_covers_and_fixed_charges():
    result = run("ratecards", "ultravox", "agentphone", "--at", "2026-10-01", "--format", "json")
    data = json.loads(result.stdout)
    sip = next(r for r in data["rates"] if r["label"] == "ultravox/sip@2025-11-10")
    assert sip["covers"] == ["platform"] and sip["component"] == "sip_minutes"
    assert sip["inferred"] == ["increment_seconds"]
    assert set(sip["leaves_out"]) == {"telephony", "stt", "llm", "tts"}
    fixed = {f["label"]: f for f in data["fixed"]}
    assert fixed["ultravox/subscription[pro]@2025-01-01"]["price_per_month"] == "100"
    assert fixed["agentphone/number@2025-06-01"]["per"] == "number"
