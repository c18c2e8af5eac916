"""`voice-usage compare` against the three vendors' emulators, serving hand-made usage.

The emulators speak each vendor's documented wire format; here they serve a few calls chosen so
that every figure can be worked out by hand (the arithmetic is in the comments).

All usage is on today's date (UTC), and the period is the current calendar month, because
AgentPhone reports call durations only per agent for the current calendar period.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

import voice_usage
from voice_usage.cli import Settings, cli
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage_agentphone.emulator import AgentPhoneEmulator
from voice_usage_flireo.emulator import FlireoEmulator
from voice_usage_ultravox.emulator import EmulatedCall, UltravoxEmulator

TODAY = datetime.now(UTC).date()
SINCE = TODAY.replace(day=1)
UNTIL = date(SINCE.year + SINCE.month // 12, SINCE.month % 12 + 1, 1)
MIDNIGHT = datetime.combine(TODAY, time.min, UTC)

# Flireo: three logs of 84 s, 30 s and 601 s, in the SDK's shape (no cost, no minutes).
# The EUR 0.07/min card rounds up per call: 2 + 1 + 11 = 14 min -> EUR 0.98.
FLIREO_SECONDS = (84, 30, 601)


class HandFlireo(FlireoEmulator):
    def __init__(self, api_key: str) -> None:
        super().__init__(api_key, shape="c", logs_per_day=lambda day: 3 if day == TODAY else 0)

    def _log(self, day: date, index: int, count: int) -> Any:
        return replace(super()._log(day, index, count), seconds=FLIREO_SECONDS[index])


# Ultravox: four calls. Billed durations (rounded to 6 s by the vendor) 84 s + 30 s + 606 s
# = 720 s = 12 call minutes; one call also has 30 s of SIP = 0.5 SIP minutes; one call failed
# (system error, not billed). Cost: 12 x USD 0.05 + 0.5 x USD 0.005 = USD 0.6025 -> EUR 0.54225.
# Talk time: 84 + 30 + 601 + 12 = 727 s.
def ultravox_call(
    n: int, talk: int, billed: int | None, *, sip: int | None = None, failed: bool = False
) -> EmulatedCall:
    created = MIDNIGHT + timedelta(minutes=n)
    joined = created + timedelta(seconds=1)
    return EmulatedCall(
        call_id=f"00000000-0000-4000-8000-00000000000{n}",
        created=created,
        joined=joined,
        ended=joined + timedelta(seconds=talk),
        end_reason="system_error" if failed else "hangup",
        billing_status="BILLING_STATUS_FREE_SYSTEM_ERROR" if failed else "BILLING_STATUS_BILLED",
        billed_seconds=None if billed is None else Decimal(billed),
        sip=sip is not None,
        sip_billed_seconds=None if sip is None else Decimal(sip),
        sip_termination="SIP_TERMINATION_NORMAL" if sip is not None else None,
        agent_id="9a3c0f4e-5b1d-4c2a-8e7f-1d2b3c4d5e6f",
        agent_name="Front desk",
        voice_id="2e5a7c9b-1d3f-4b6a-8c0e-2f4a6b8c0d1e",
        metadata={},
        short_summary="",
    )


ULTRAVOX_CALLS = [
    ultravox_call(1, 84, 84),
    ultravox_call(2, 30, 30, sip=30),
    ultravox_call(3, 601, 606),
    ultravox_call(4, 12, None, failed=True),
]


class HandUltravox(UltravoxEmulator):
    def calls_on(self, day: date) -> list[EmulatedCall]:
        return list(ULTRAVOX_CALLS) if day == TODAY else []


# AgentPhone, per agent this month: 2 calls / 114 s and 1 unassigned call / 601 s. The webhook
# card, USD 0.13/min per second with a 1 cent minimum per call, on windows (approximate):
# 114/60 x 0.13 = 0.247; 601/60 x 0.13 = 1.30216666.. -> 1.302167; USD 1.549167 -> EUR 1.394250.
AGENT_USAGE = [
    {
        "agentId": "agent_a",
        "agentName": "Support",
        "messages": 0,
        "calls": 2,
        "totalSeconds": 114,
        "isOrphan": False,
    },
    {
        "agentId": None,
        "agentName": "Unassigned",
        "messages": 0,
        "calls": 1,
        "totalSeconds": 601,
        "isOrphan": True,
    },
]


@pytest.fixture
def servers(serve: Any, fake_key: str) -> dict[str, EmulatorServer]:
    return {
        "flireo": serve(HandFlireo(fake_key)),
        "ultravox": serve(HandUltravox(fake_key)),
        "agentphone": serve(AgentPhoneEmulator(fake_key, agent_usage=AGENT_USAGE)),
    }


@pytest.fixture
def env(servers: dict[str, EmulatorServer], env_for: Any) -> dict[str, str]:
    return {"VOICE_USAGE_RATECARDS": "", **env_for(*servers.values())}


def run(env: dict[str, str], *args: str, obj: Settings | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False, obj=obj)


COMPARE = (
    "compare",
    "flireo",
    "ultravox",
    "agentphone",
    "--since",
    SINCE.isoformat(),
    "--until",
    UNTIL.isoformat(),
    "--option",
    "agentphone:view=by-agent",
)


def test_compare_json_matches_hand_computed_figures(env: dict[str, str], fake_key: str) -> None:
    result = run(env, *COMPARE, "--currency", "EUR", "--fx", "USD:EUR=0.9", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["errors"] == []
    assert data["fx"] == [{"from": "USD", "to": "EUR", "rate": "0.9", "label": "USD:EUR=0.9"}]
    rows = {row["provider"]: row for row in data["rows"]}
    assert list(rows) == ["flireo", "ultravox", "agentphone"]

    flireo = rows["flireo"]
    assert (flireo["calls"], Decimal(flireo["duration_seconds"])) == (3, 715)
    assert Decimal(flireo["billed_minutes"]) == 14
    assert (Decimal(flireo["cost"]), flireo["currency"]) == (Decimal("0.98"), "EUR")
    assert Decimal(flireo["converted_cost"]) == Decimal("0.98")
    assert Decimal(flireo["cost_per_minute"]) == Decimal("0.07")
    assert flireo["cost_source"] == "rate_card"

    ultravox = rows["ultravox"]
    assert (ultravox["calls"], ultravox["failed_calls"]) == (4, 1)
    assert Decimal(ultravox["duration_seconds"]) == 727
    assert Decimal(ultravox["billed_minutes"]) == 12
    assert (Decimal(ultravox["cost"]), ultravox["currency"]) == (Decimal("0.6025"), "USD")
    assert Decimal(ultravox["converted_cost"]) == Decimal("0.54225")
    assert ultravox["billed_from"] == "billing"
    assert Decimal(ultravox["items"]["sip"]["billed_minutes"]) == Decimal("0.5")

    agentphone = rows["agentphone"]
    assert agentphone["calls"] == 3
    assert Decimal(agentphone["billed_minutes"]) == Decimal("11.916667")  # 715 s / 60
    assert (Decimal(agentphone["cost"]), agentphone["currency"]) == (Decimal("1.549167"), "USD")
    assert Decimal(agentphone["converted_cost"]) == Decimal("1.394250")
    assert agentphone["cost_source"] == "approximate" and agentphone["cost_estimate"] is True

    total = data["total"]
    assert total["calls"] == 10
    assert Decimal(total["converted_cost"]) == Decimal("0.98") + Decimal("0.54225") + Decimal(
        "1.394250"
    )
    assert fake_key not in result.stdout + result.stderr


def test_compare_without_the_rate_fails_naming_it(env: dict[str, str]) -> None:
    result = run(env, *COMPARE, "--currency", "EUR", "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--fx: no exchange rate for USD:EUR" in result.stderr and "USD:EUR=RATE" in result.stderr
    assert "agentphone" in result.stderr and "ultravox" in result.stderr


def test_compare_table_names_the_rate_and_the_sources(env: dict[str, str]) -> None:
    result = run(env, *COMPARE, "--currency", "EUR", "--fx", "USD:EUR=0.9")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for name in ("flireo", "ultravox", "agentphone", "total"):
        assert name in out
    assert "FX: 1 USD = 0.9 EUR (--fx USD:EUR=0.9)" in out
    assert "0.9800 EUR" in out and "0.5423 EUR" in out  # converted, shown to 4 places
    assert "rate cards:" in out and "flireo/call@" in out
    assert "approximate" in out


def test_one_provider_failing_forever_still_shows_the_others(
    env: dict[str, str],
    servers: dict[str, EmulatorServer],
    sleeps: Any,
) -> None:
    servers["ultravox"].faults.add(Fault(status=500), times=None)
    settings = Settings(
        connect=functools.partial(voice_usage.Connection, sleep=sleeps, async_sleep=sleeps.asleep)
    )
    result = run(
        env, *COMPARE, "--currency", "EUR", "--fx", "USD:EUR=0.9", "--format", "json", obj=settings
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [row["provider"] for row in data["rows"]] == ["flireo", "agentphone"]
    [error] = data["errors"]
    assert error["provider"] == "ultravox" and error["error"] == "ServerError"
    assert "voice-usage: error: ultravox: HTTP 500" in result.stderr
    assert sleeps  # the retries waited through the injected sleep


def test_compare_csv_has_one_line_per_row_and_the_rate(env: dict[str, str]) -> None:
    result = run(env, *COMPARE, "--currency", "EUR", "--fx", "USD:EUR=0.9", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("provider,group,basis,records,calls")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "flireo",
        "ultravox",
        "agentphone",
        "total",
    ]
    assert all(line.endswith("USD:EUR=0.9") for line in lines[1:])


def test_compare_group_by_day(env: dict[str, str]) -> None:
    result = run(
        env,
        "compare",
        "flireo",
        "ultravox",
        "--since",
        SINCE.isoformat(),
        "--until",
        UNTIL.isoformat(),
        "--group-by",
        "day",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    # Flireo lists logs: only today has a row. Ultravox reports every day, most with 0 calls.
    assert [r["group"] for r in rows if r["provider"] == "flireo"] == [TODAY.isoformat()]
    busy = [(r["provider"], r["group"], r["calls"]) for r in rows if r["calls"]]
    assert busy == [("flireo", TODAY.isoformat(), 3), ("ultravox", TODAY.isoformat(), 4)]


def test_compare_with_no_provider_takes_those_with_keys(env: dict[str, str]) -> None:
    partial = {k: v for k, v in env.items() if not k.startswith("AGENTPHONE")}
    result = run(
        partial,
        "compare",
        "--since",
        SINCE.isoformat(),
        "--until",
        UNTIL.isoformat(),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["provider"] for row in data["rows"]] == ["flireo", "ultravox"]
    assert (
        "skipped agentphone: no API key; set AGENTPHONE_API_KEY or pass api_key=" in result.stderr
    )


def test_bad_arguments_exit_2(env: dict[str, str]) -> None:
    assert run(env, *COMPARE, "--fx", "USD:EUR=0.9").exit_code == 2  # --fx without --currency
    assert run(env, *COMPARE, "--currency", "EUR", "--fx", "USD-EUR").exit_code == 2
    assert run(env, *COMPARE, "--option", "agentphone-view").exit_code == 2
    assert (
        run(env, "compare", "nosuch", "--since", "2026-10-01", "--until", "2026-11-01").exit_code
        == 2
    )


def test_fetch_group_by_agent(env: dict[str, str]) -> None:
    result = run(
        env,
        "fetch",
        "ultravox",
        "--since",
        SINCE.isoformat(),
        "--until",
        UNTIL.isoformat(),
        "--group-by",
        "agent",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    [window] = json.loads(result.stdout)
    assert window["agent_id"] == "9a3c0f4e-5b1d-4c2a-8e7f-1d2b3c4d5e6f"
    assert window["calls"] == 4 and window["grain"] == "window"


# -- like for like ------------------------------------------------------------------------------
# The same hand-made usage over the 60 days up to the end of this month (two 30-day months of
# fixed charges), with an AgentPhone account holding 3 numbers and Ultravox on the Pro plan.
# At USD:EUR=0.92:
#   flireo      EUR 0.98, covers platform; 715 s = 11.916667 min
#               telephony USD 0.0085 x 11.9166.. = 0.101292 USD -> EUR 0.093189
#               llm       EUR 0.03   x 11.9166.. = EUR 0.3575; stt and tts stay gaps: no all-in
#   ultravox    USD 0.6025 -> EUR 0.5543, covers platform, stt, llm, tts; 727 s = 12.116667 min
#               telephony USD 0.0085 x 12.1166.. = 0.102992 USD -> EUR 0.094753
#               Pro USD 100/month x 60/30 days = USD 200 -> EUR 184
#               all-in 0.5543 + 184 + 0.094753 = EUR 184.649053
#   agentphone  USD 1.549167 -> EUR 1.425234, covers everything (telephony included)
#               3 numbers x USD 3.00 x 60/30 = USD 18 -> EUR 16.56
#               all-in 1.425234 + 16.56 = EUR 17.985234
LIKE_SINCE = UNTIL - timedelta(days=60)
LIKE_FOR_LIKE = (
    "compare",
    "flireo",
    "ultravox",
    "agentphone",
    "--since",
    LIKE_SINCE.isoformat(),
    "--until",
    UNTIL.isoformat(),
    "--option",
    "agentphone:view=by-agent",
    "--currency",
    "EUR",
    "--fx",
    "USD:EUR=0.92",
    "--format",
    "json",
)
ADD_COSTS = ("--add-cost", "telephony=USD:0.0085", "--add-cost", "flireo.llm=EUR:0.03")


@pytest.fixture
def three_numbers(env: dict[str, str], fake_key: str) -> Iterator[dict[str, str]]:
    from voice_usage_agentphone.emulator import DEMO_AGENTS

    emulator = AgentPhoneEmulator(fake_key, agents=DEMO_AGENTS[:3], agent_usage=AGENT_USAGE)
    with EmulatorServer(emulator) as server:
        yield {**env, "AGENTPHONE_BASE_URL": server.base_url}


def test_each_row_says_what_its_cost_covers_and_one_line_names_the_gaps(three_numbers):
    result = run(three_numbers, *LIKE_FOR_LIKE)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {row["provider"]: row for row in data["rows"]}
    assert rows["flireo"]["cost_covers"] == ["platform"]
    assert rows["ultravox"]["cost_covers"] == ["platform", "stt", "llm", "tts"]
    assert rows["agentphone"]["cost_covers"] == ["platform", "telephony", "stt", "llm", "tts"]
    assert (
        "not like for like: flireo: no stt, llm, tts, telephony; ultravox: no telephony"
        in (data["notes"])
    )
    # Nothing assumed: the rows with gaps have no all-in figure, never a 0.
    assert rows["flireo"]["all_in_cost"] is None and rows["ultravox"]["all_in_cost"] is None
    assert rows["flireo"]["all_in_per_minute"] is None
    assert rows["agentphone"]["all_in_cost"] == "17.985234"
    # Fixed charges, their own figure: Pro for 60 days, 3 numbers for 60 days.
    assert rows["ultravox"]["fixed_cost"] == "184.000000"
    [pro] = rows["ultravox"]["fixed"]
    assert (pro["line"], pro["count"], pro["cost"]) == (
        "ultravox/subscription[pro]@2025-01-01",
        1,
        "200.000000",
    )
    assert rows["agentphone"]["fixed_cost"] == "16.560000"
    [numbers] = rows["agentphone"]["fixed"]
    assert (numbers["count"], numbers["cost"]) == (3, "18.000000")
    assert rows["flireo"]["fixed_cost"] == "0"
    # One definition of calls (attempted), and Ultravox's connected calls beside it.
    assert (rows["ultravox"]["calls"], rows["ultravox"]["connected_calls"]) == (4, 4)


def test_add_cost_fills_the_gaps_it_names_and_the_all_in_figures_match_by_hand(three_numbers):
    result = run(three_numbers, *LIKE_FOR_LIKE, *ADD_COSTS)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {row["provider"]: row for row in data["rows"]}
    flireo, ultravox, agentphone = rows["flireo"], rows["ultravox"], rows["agentphone"]
    assert [(a["part"], a["cost"], a["converted_cost"]) for a in flireo["assumed"]] == [
        ("llm", "0.357500", "0.357500"),
        ("telephony", "0.101292", "0.093189"),
    ]
    assert flireo["gaps"] == ["stt", "tts"] and flireo["all_in_cost"] is None
    assert [(a["part"], a["cost"], a["converted_cost"]) for a in ultravox["assumed"]] == [
        ("telephony", "0.102992", "0.094753")
    ]
    assert ultravox["gaps"] == []
    assert ultravox["all_in_cost"] == "184.649053"
    per_minute = (Decimal("184.649053") / (Decimal(727) / 60)).quantize(Decimal("0.000001"))
    assert Decimal(ultravox["all_in_per_minute"]) == per_minute
    # AgentPhone's cost covers telephony: it is never charged the assumed price.
    assert agentphone["assumed"] == [] and agentphone["all_in_cost"] == "17.985234"
    assert agentphone["all_in_per_minute"] == "1.509250"  # 17.985234 / (715/60)
    assert data["notes"][:2] == [
        "not like for like: flireo: no stt, tts",
        "assumed (--add-cost, per minute of measured duration): flireo.llm=EUR:0.03 for "
        "flireo; telephony=USD:0.0085 for flireo, ultravox",
    ]


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("video=USD:0.01", "unknown component 'video'; known: platform, telephony, stt, llm, tts"),
        ("telephony=usd:0.01", "currency must be an ISO 4217 code"),
        ("telephony=USD:-0.01", "price must be a non-negative number"),
        ("telephony=USD:cheap", "price must be a non-negative number"),
        ("telephony=USD:nan", "price must be a non-negative number"),
        ("vapy.telephony=USD:0.01", "provider 'vapy' is not installed"),
        ("telephony", "expected [PROVIDER.]COMPONENT=CUR:PRICE"),
    ],
)
@pytest.mark.parametrize("command", ["compare", "reprice"])
def test_a_bad_add_cost_is_one_line_and_exit_2_before_any_request(value, phrase, command):
    # Base URLs nobody listens on: any request would fail with exit 1, not 2.
    env = {
        "VOICE_USAGE_RATECARDS": "",
        "FLIREO_API_KEY": "k",
        "FLIREO_BASE_URL": "http://127.0.0.1:9",
    }
    head = (
        ["compare", "flireo"] if command == "compare" else ["reprice", "flireo", "--to", "ultravox"]
    )
    result = run(env, *head, "--since", "2026-10-01", "--until", "2026-11-01", "--add-cost", value)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0] and value in lines[0], lines
