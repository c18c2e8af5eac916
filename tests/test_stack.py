"""`compare --stack A+B`: vendors that serve the same calls, taken as one row.

The figures are worked by hand: an agent platform (USD 0.50 for 10 calls, 600 s, covering the
platform and the speech pipeline) over a phone line (USD 0.17, covering telephony), in EUR at
0.9: (0.50 + 0.17) x 0.9 = EUR 0.603, all-in 0.603 / 10 min = EUR 0.0603 a minute.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from voice_usage import ConfigurationError, compare
from voice_usage._analysis._allin import all_in_rows
from voice_usage._analysis._comparison import ComparisonRow
from voice_usage._analysis._rows import convert_rows
from voice_usage._analysis._stack import parse_stack, stack_row
from voice_usage._pricing._fx import FxRates
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer

FX = FxRates.coerce(["USD:EUR=0.9"])
PIPELINE = ("platform", "stt", "llm", "tts")


def row(provider: str, cost: str, covers: tuple[str, ...], **figures: object) -> ComparisonRow:
    return ComparisonRow(
        provider=provider,
        records=3,
        cost=Decimal(cost),
        currency="USD",
        costs={"USD": Decimal(cost)},
        cost_source="reported",
        cost_covers=covers,
        **figures,  # type: ignore[arg-type]
    )


def prepared(*rows: ComparisonRow, currency: str | None = "EUR") -> list[ComparisonRow]:
    """Member rows as compare has them: converted, all-in worked out (no fixed charges)."""
    converted = convert_rows(list(rows), currency, FX)
    return all_in_rows(converted, currency=currency, fx=FX, fixed={})


PLATFORM = row(
    "agent",
    "0.50",
    PIPELINE,
    calls=10,
    failed_calls=1,
    duration_seconds=Decimal(600),
    billed_minutes=Decimal(10),
)
LINE = row("line", "0.17", ("telephony",), calls=12, billed_minutes=Decimal(14))


def test_a_stack_sums_the_cost_and_unites_what_it_covers():
    members = prepared(PLATFORM, LINE)
    assert [m.all_in_cost for m in members] == [None, None]  # each alone is not all-in
    stack = stack_row(members, ("agent", "line"), currency="EUR", fx=FX)
    assert stack.provider == "agent+line"
    assert (stack.cost, stack.currency, stack.converted_cost) == (
        Decimal("0.603"),
        "EUR",
        Decimal("0.603"),
    )
    assert stack.cost_covers == ("platform", "telephony", "stt", "llm", "tts")
    assert stack.gaps == () and stack.double_counted == ()
    # Calls and minutes are the platform's: the phone line adds cost, not calls.
    assert (stack.calls, stack.failed_calls, stack.duration_seconds, stack.billed_minutes) == (
        10,
        1,
        600,
        10,
    )
    assert (stack.all_in_cost, stack.all_in_per_minute, stack.all_in_currency) == (
        Decimal("0.603"),
        Decimal("0.0603"),
        "EUR",
    )
    assert stack.cost_per_minute == Decimal("0.0603")  # per billed minute of the platform


def test_a_part_paid_by_two_members_is_flagged_and_not_counted_in_an_all_in():
    bundled = row(
        "bundle", "1.00", (*PIPELINE, "telephony"), calls=10, duration_seconds=Decimal(600)
    )
    stack = stack_row(prepared(bundled, LINE), ("bundle", "line"), currency="EUR", fx=FX)
    assert stack.double_counted == ("telephony",)
    assert stack.cost == Decimal("1.053")  # (1.00 + 0.17) x 0.9: the sum is shown...
    assert stack.all_in_cost is None  # ...but never offered as an all-in figure
    assert "telephony by bundle and line" in stack.unknown["all_in_cost"]


def test_a_gap_no_member_covers_is_priced_only_by_add_cost():
    speech_only = row("speech", "0.20", ("stt", "tts"), calls=10, duration_seconds=Decimal(600))
    llm = row("model", "0.10", ("llm",), calls=10, billed_minutes=Decimal(10))
    stack = stack_row(prepared(speech_only, llm), ("speech", "model"), currency="EUR", fx=FX)
    assert stack.gaps == ("platform", "telephony")
    assert stack.all_in_cost is None
    assert "no price for platform, telephony" in stack.unknown["all_in_cost"]


def test_members_in_two_currencies_need_a_target_currency():
    eur = ComparisonRow(
        provider="eur",
        records=1,
        cost=Decimal(1),
        currency="EUR",
        costs={"EUR": Decimal(1)},
        cost_covers=PIPELINE,
        calls=1,
    )
    stack = stack_row(prepared(eur, LINE, currency=None), ("eur", "line"), currency=None, fx=FX)
    assert stack.cost is None and "pass --currency" in stack.unknown["cost"]


def test_a_member_without_a_row_leaves_the_stack_unknown():
    stack = stack_row(prepared(PLATFORM), ("agent", "line"), currency="EUR", fx=FX)
    assert stack.cost is None and "no row for line" in stack.unknown["cost"]


@pytest.mark.parametrize("text", ["ultravox", "ultravox+", "+twilio", "twilio+twilio"])
def test_a_stack_needs_two_different_members(text):
    with pytest.raises(ConfigurationError, match="two or more different providers"):
        parse_stack(text)
    assert parse_stack(" ultravox + twilio ") == ("ultravox", "twilio")


def test_every_member_must_be_compared():
    with pytest.raises(ConfigurationError, match="twilio is not compared"):
        compare(["ultravox"], "2026-10-01", "2026-11-01", stacks=["ultravox+twilio"])


def test_compare_ultravox_twilio_as_one_stack_from_the_emulators():
    from voice_usage_twilio.emulator import DEMO_ACCOUNT_SID, TwilioEmulator
    from voice_usage_ultravox.emulator import UltravoxEmulator

    with (
        EmulatorServer(TwilioEmulator("vu-test-token")) as twilio,
        EmulatorServer(UltravoxEmulator(api_key="vu-test-key")) as ultravox,
    ):
        env = {
            "TWILIO_ACCOUNT_SID": DEMO_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": "vu-test-token",
            "TWILIO_BASE_URL": twilio.base_url,
            "ULTRAVOX_API_KEY": "vu-test-key",
            "ULTRAVOX_BASE_URL": ultravox.base_url,
        }
        args = ["compare", "ultravox", "twilio", "--since", "2026-10-01", "--until", "2026-11-01"]
        result = CliRunner().invoke(
            cli, [*args, "--stack", "ultravox+twilio", "--format", "json"], env=env
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {r["provider"]: r for r in data["rows"]}
    (stack,) = data["stacks"]
    assert stack["provider"] == "ultravox+twilio"
    # Ultravox's missing telephony is filled by Twilio's real (reported) cost.
    assert rows["ultravox"]["gaps"] == ["telephony"]
    assert rows["twilio"]["cost_covers"] == ["telephony"]
    assert Decimal(stack["cost"]) == Decimal(rows["ultravox"]["cost"]) + Decimal(
        rows["twilio"]["cost"]
    )
    assert stack["cost_covers"] == ["platform", "telephony", "stt", "llm", "tts"]
    assert stack["gaps"] == [] and stack["double_counted"] == []
    assert stack["calls"] == rows["ultravox"]["calls"]
    fixed = Decimal(rows["ultravox"]["fixed_cost"]) + Decimal(rows["twilio"]["fixed_cost"])
    assert Decimal(stack["all_in_cost"]) == Decimal(stack["cost"]) + fixed
    assert data["total"] is not None and all(
        r["provider"] != stack["provider"] for r in data["rows"]
    )
