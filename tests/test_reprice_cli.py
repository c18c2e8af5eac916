"""`voice-usage reprice`: from a JSON Lines file and from a vendor's emulator; figures by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from voice_usage import CostSource, Grain, UsageRecord, write_jsonl
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer
from voice_usage_flireo.emulator import FlireoEmulator

DAY = date(2026, 10, 14)
START = datetime(2026, 10, 14, 9, tzinfo=UTC)
SECONDS = (84, 30, 601)


def call(index: int, seconds: int) -> UsageRecord:
    start = START + timedelta(minutes=15 * index)
    return UsageRecord(
        provider="flireo",
        grain=Grain.EVENT,
        period_start=start,
        period_end=start + timedelta(seconds=seconds),
        calls=1,
        duration_seconds=Decimal(seconds),
        billed_minutes=Decimal(-(-seconds // 60)),
        cost=Decimal("0.07") * (-(-seconds // 60)),
        currency="EUR",
        cost_source=CostSource.REPORTED,
        call_id=f"c{index}",
    )


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "calls.jsonl"
    with path.open("w", encoding="utf-8") as out:
        write_jsonl([call(i, s) for i, s in enumerate(SECONDS)], out)
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(
        cli, list(args), env={"VOICE_USAGE_RATECARDS": "", **(env or {})}, catch_exceptions=False
    )


def rows_of(result: Any) -> dict[str, dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return {row["provider"]: row for row in json.loads(result.stdout)["rows"]}


def test_reprice_a_jsonl_file_under_two_cards(jsonl: Path) -> None:
    result = run(
        "reprice", "--input", str(jsonl), "--to", "ultravox,agentphone:hosted", "--format", "json"
    )
    rows = rows_of(result)
    assert list(rows) == ["flireo", "ultravox", "agentphone:hosted"]
    # As run: 2 + 1 + 11 = 14 min at EUR 0.07 = EUR 0.98.
    assert rows["flireo"]["basis"] == "as run"
    assert Decimal(rows["flireo"]["cost"]) == Decimal("0.98")
    # Ultravox, 6-second increments: 84 -> 84, 30 -> 30, 601 -> 606 s = 720 s = 12 min x 0.05.
    assert Decimal(rows["ultravox"]["billed_minutes"]) == 12
    assert Decimal(rows["ultravox"]["cost"]) == Decimal("0.60")
    assert rows["ultravox"]["currency"] == "USD"
    # AgentPhone hosted, per second at USD 0.22: 0.308 + 0.11 + 2.203667 (601/60 x 0.22, half-up).
    assert Decimal(rows["agentphone:hosted"]["cost"]) == Decimal("2.621667")
    assert rows["agentphone:hosted"]["cost_estimate"] is False


def test_reprice_in_one_currency_names_the_rate(jsonl: Path) -> None:
    result = run(
        "reprice",
        "--input",
        str(jsonl),
        "--to",
        "ultravox",
        "--currency",
        "EUR",
        "--fx",
        "USD:EUR=0.9",
        "--format",
        "json",
    )
    data = json.loads(result.stdout)
    ultravox = {r["provider"]: r for r in data["rows"]}["ultravox"]
    assert Decimal(ultravox["converted_cost"]) == Decimal("0.54")  # 0.60 x 0.9
    assert [r["label"] for r in data["fx"]] == ["USD:EUR=0.9"]
    missing = run("reprice", "--input", str(jsonl), "--to", "ultravox", "--currency", "EUR")
    assert missing.exit_code == 2 and "USD:EUR" in missing.stderr


def test_reprice_table_says_what_it_priced_as(jsonl: Path) -> None:
    result = run("reprice", "--input", str(jsonl), "--to", "ultravox")
    assert result.exit_code == 0, result.stderr
    assert "as run" in result.stdout and "ultravox rate card" in result.stdout
    assert "ultravox/call@" in result.stdout


def test_windows_are_labelled_approximate(tmp_path: Path) -> None:
    window = UsageRecord(
        provider="agentphone",
        grain=Grain.WINDOW,
        period_start=START,
        period_end=START + timedelta(days=1),
        calls=3,
        duration_seconds=Decimal(715),
    )
    path = tmp_path / "windows.jsonl"
    path.write_text(window.model_dump_json() + "\n", encoding="utf-8")
    result = run("reprice", "--input", str(path), "--to", "flireo")
    assert result.exit_code == 0, result.stderr
    assert "approximate: window records carry no per-call durations" in result.stdout
    data = rows_of(run("reprice", "--input", str(path), "--to", "flireo", "--format", "json"))
    assert data["flireo"]["cost_estimate"] is True
    # 715 s / 60 x EUR 0.07, no per-call rounding possible
    assert Decimal(data["flireo"]["cost"]) == (Decimal(715) / 60 * Decimal("0.07")).quantize(
        Decimal("0.000001")
    )


def test_bad_reprice_arguments_exit_2(jsonl: Path) -> None:
    assert run("reprice", "--input", str(jsonl), "--to", "nobody").exit_code == 2
    assert run("reprice", "flireo", "--to", "ultravox").exit_code == 2  # no period, no input
    assert run("reprice", "--input", str(jsonl) + ".missing", "--to", "ultravox").exit_code == 2
    assert run("reprice", "--input", str(jsonl), "--to", ",").exit_code == 2


class ThreeLogs(FlireoEmulator):
    """Flireo's wire format, with three logs of 84, 30 and 601 s on one day."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key, shape="c", logs_per_day=lambda day: 3 if day == DAY else 0)

    def _log(self, day: date, index: int, count: int) -> Any:
        return replace(super()._log(day, index, count), seconds=SECONDS[index])


def test_reprice_fetches_the_calls_from_the_provider(fake_key: str) -> None:
    with EmulatorServer(ThreeLogs(fake_key)) as server:
        env = {"FLIREO_API_KEY": fake_key, "FLIREO_BASE_URL": server.base_url}
        result = run(
            "reprice",
            "flireo",
            "--since",
            "2026-10-01",
            "--until",
            "2026-11-01",
            "--to",
            "ultravox",
            "--to",
            "agentphone",
            "--format",
            "json",
            env=env,
        )
    rows = rows_of(result)
    # As run, priced by Flireo's own card: 14 min x EUR 0.07.
    assert rows["flireo"]["calls"] == 3 and Decimal(rows["flireo"]["cost"]) == Decimal("0.98")
    assert Decimal(rows["ultravox"]["cost"]) == Decimal("0.60")
    # AgentPhone webhook, per second at USD 0.13: 0.182 + 0.065 + 1.302167.
    assert Decimal(rows["agentphone"]["cost"]) == Decimal("1.549167")


def test_reprice_with_a_user_rate_card(jsonl: Path, tmp_path: Path) -> None:
    cards = tmp_path / "negotiated.toml"
    cards.write_text(
        """
[[rate]]
provider = "ultravox"
item = "call"
price_per_minute = "0.04"
currency = "USD"
increment_seconds = 60
covers = ["platform", "stt", "llm", "tts"]
effective_from = 2025-01-01
source = "https://example.invalid/our-contract"
checked = 2026-11-01
""",
        encoding="utf-8",
    )
    result = run(
        "reprice",
        "--input",
        str(jsonl),
        "--to",
        "ultravox",
        "--ratecards",
        str(cards),
        "--format",
        "json",
    )
    rows = rows_of(result)
    # Per minute rounded up: 14 min x USD 0.04 = USD 0.56.
    assert Decimal(rows["ultravox"]["cost"]) == Decimal("0.56")


def test_reprice_reads_stdin(jsonl: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["reprice", "--input", "-", "--to", "ultravox", "--format", "csv"],
        input=jsonl.read_text(encoding="utf-8"),
        env={"VOICE_USAGE_RATECARDS": ""},
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["flireo", "ultravox"]


def test_reprice_rows_say_what_they_cover_and_add_only_named_assumptions(jsonl: Path) -> None:
    result = run(
        "reprice",
        "--input",
        str(jsonl),
        "--to",
        "ultravox,agentphone:hosted",
        "--add-cost",
        "telephony=USD:0.0085",
        "--format",
        "json",
    )
    rows = rows_of(result)
    ultravox, hosted = rows["ultravox"], rows["agentphone:hosted"]
    assert ultravox["cost_covers"] == ["platform", "stt", "llm", "tts"]
    # 715 s = 11.916667 min x USD 0.0085 = 0.101292; no Pro plan named: no subscription.
    [telephony] = ultravox["assumed"]
    assert (telephony["part"], telephony["cost"]) == ("telephony", "0.101292")
    assert ultravox["fixed_cost"] == "0" and ultravox["all_in_cost"] == "0.701292"
    # AgentPhone hosted covers the phone line: nothing assumed; its numbers are not known here.
    assert hosted["cost_covers"] == ["platform", "telephony", "stt", "llm", "tts"]
    assert hosted["assumed"] == [] and hosted["all_in_cost"] is None
    assert "how many numbers" in hosted["unknown"]["fixed_cost"]
