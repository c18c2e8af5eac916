"""`voice-usage` against an AgentPhone-compatible server: the issue's "must show" items, end to end.

The server is the bundled emulator on loopback; the CLI finds it through `AGENTPHONE_BASE_URL`.
Expected figures are read from the emulator's own data, or worked out by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from click.testing import CliRunner

from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer
from voice_usage_agentphone import AgentPhoneEmulator
from voice_usage_agentphone import _provider as provider_module
from voice_usage_agentphone.emulator import DEMO_AGENTS

TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _pinned_today(monkeypatch):
    # The provider counts back from today: pin the date the registered provider uses.
    monkeypatch.setattr(provider_module, "utc_today", lambda: TODAY)
    monkeypatch.delenv("AGENTPHONE_MODE", raising=False)
    monkeypatch.delenv("VOICE_USAGE_RATECARDS", raising=False)


@pytest.fixture
def emulator(fake_key):
    return AgentPhoneEmulator(api_key=fake_key, today=TODAY)


@pytest.fixture
def run(server, env_for):
    env = env_for(server)

    def _run(*args: str, **extra_env: str):
        return CliRunner().invoke(cli, list(args), env={**env, **extra_env}, catch_exceptions=False)

    return _run


def test_thirty_daily_windows_whose_calls_match_the_server(run, server, emulator):
    since = (TODAY - timedelta(days=30)).isoformat()
    result = run(
        "fetch", "agentphone", "--since", since, "--until", TODAY.isoformat(),
        "--granularity", "day", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == 30
    days = [TODAY - timedelta(days=n) for n in range(30, 0, -1)]
    assert [r["period_start"] for r in records] == [f"{d.isoformat()}T00:00:00Z" for d in days]
    assert all(r["grain"] == "window" and r["provider"] == "agentphone" for r in records)
    assert [r["calls"] for r in records] == [emulator.day(d).calls for d in days]
    assert sum(r["calls"] for r in records) == sum(emulator.day(d).calls for d in days)
    assert all(r["cost"] is None and r["cost_note"] for r in records)
    assert [q.param("days") for q in server.requests] == ["31"]
    assert result.stderr == ""


def test_since_400_days_back_fails_naming_the_365_day_limit(run, server):
    since = (TODAY - timedelta(days=400)).isoformat()
    result = run("fetch", "agentphone", "--since", since, "--until", TODAY.isoformat())
    assert result.exit_code == 2  # a query the API cannot answer: a bad argument
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voice-usage: error: agentphone: ")
    assert "365 days" in lines[0] and "2025-11-23" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert server.requests == []


def by_hand(seconds: int, calls: int, per_minute: str) -> Decimal:
    plain = Decimal(seconds) / 60 * Decimal(per_minute)
    return max(plain, Decimal("0.01") * calls).quantize(Decimal("0.000001"), ROUND_HALF_UP)


@pytest.mark.parametrize(("mode", "price"), [("webhook", "0.13"), ("hosted", "0.22")])
def test_per_agent_records_for_the_current_month_with_rate_card_costs(run, emulator, mode, price):
    result = run(
        "fetch", "agentphone", "--since", "2026-11-01", "--until", "2026-12-01",
        "--option", "view=by-agent", "--option", "period=month", "--option", f"mode={mode}",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["agent_id"] for r in records] == [a.id for a in DEMO_AGENTS]
    unassigned = records[-1]
    assert unassigned["agent_id"] is None and unassigned["extras"]["agentName"] == "Unassigned"
    for index, record in enumerate(records):
        figures = emulator.agent_period(index, "month")
        assert record["period_start"] == "2026-11-01T00:00:00Z"
        assert record["period_end"] == "2026-12-01T00:00:00Z"
        assert record["calls"] == figures.calls
        assert Decimal(record["duration_seconds"]) == figures.seconds
        assert Decimal(record["cost"]) == by_hand(figures.seconds, figures.calls, price)
        assert record["currency"] == "USD" and record["cost_source"] == "rate_card"
        assert f"{mode} mode" in record["cost_note"]


def test_per_agent_costs_check_by_hand_for_one_agent(run, emulator):
    """One line of arithmetic spelled out, from the server's own per-agent figures."""
    result = run(
        "fetch", "agentphone", "--since", "2026-11-01", "--until", "2026-12-01",
        "--option", "view=by-agent", "--agent", DEMO_AGENTS[0].id, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (record,) = json.loads(result.stdout)
    figures = emulator.agent_period(0, "month")
    minutes = Decimal(figures.seconds) / 60
    assert Decimal(record["billed_minutes"]) == minutes.quantize(Decimal("0.000001"), ROUND_HALF_UP)
    expected = max(minutes * Decimal("0.13"), Decimal("0.01") * figures.calls)
    assert Decimal(record["cost"]) == expected.quantize(Decimal("0.000001"), ROUND_HALF_UP)


def test_the_table_shows_the_unassigned_bucket_and_approximate_costs(run):
    result = run(
        "fetch", "agentphone", "--since", "2026-11-01", "--until", "2026-12-01",
        "--option", "view=by-agent",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "rate_card (approx.)" in result.stdout
    assert "a1b2c3d4-e5f6-7890-ab12-cd34ef567890" in result.stdout


def test_a_month_query_that_cuts_the_vendor_period_says_what_to_ask(run):
    result = run(
        "fetch", "agentphone", "--since", "2026-11-01", "--until", "2026-11-22",
        "--option", "view=by-agent",
    )  # fmt: skip
    assert result.exit_code == 2  # a query the API cannot answer: a bad argument
    assert "since 2026-11-01T00:00:00Z until 2026-12-01T00:00:00Z" in result.stderr


def test_an_invalid_mode_is_a_usage_error(run):
    result = run(
        "fetch", "agentphone", "--since", "2026-11-01", "--until", "2026-12-01",
        "--option", "view=by-agent", "--option", "mode=cloud",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "mode must be webhook or hosted" in result.stderr
    result = run(
        "fetch", "agentphone", "--since", "2026-11-01", "--until", "2026-12-01",
        AGENTPHONE_MODE="cloud",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "AGENTPHONE_MODE must be webhook or hosted" in result.stderr


def test_months_warn_on_stderr_when_the_edges_cut_a_month(run):
    result = run(
        "fetch", "agentphone", "--since", "2025-01-15", "--until", "2026-11-01",
        "--granularity", "month", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 21
    assert "voice-usage: warning: agentphone: the query's edges cut the month(s) 2025-01" in (
        result.stderr
    )


def test_balance_shows_the_plan_and_quota(run, emulator):
    result = run("balance", "agentphone", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["plan"]["name"] == "pro"
    assert data["plan"]["limits"]["voice_minutes_per_month"] == 500
    assert data["numbers"] == {"used": 4, "limit": 10, "remaining": 6}
    lifetime = emulator.days(TODAY - timedelta(days=799), TODAY + timedelta(days=1))
    assert data["stats"]["total_calls"] == lifetime.calls
    assert data["period_start"] == "2026-11-01T00:00:00Z"
    table = run("balance", "agentphone")
    assert table.exit_code == 0, table.stderr
    assert "plan.limits.concurrent_calls" in table.stdout
    assert "numbers.remaining" in table.stdout


def test_providers_lists_agentphone_as_implemented(run):
    result = run("providers", "--format", "json")
    (entry,) = [p for p in json.loads(result.stdout)["providers"] if p["name"] == "agentphone"]
    caps = entry["capabilities"]
    assert caps["implemented"] and caps["granularities"] == ["day", "month"]
    assert caps["max_history_days"] == 365 and caps["balance"] and not caps["reports_cost"]
    assert any("No date range" in note for note in caps["notes"])


def test_the_console_script_against_the_emulator_with_the_real_date(fake_key):
    """The literal command, in a child process: provider and emulator both use today's date."""
    with EmulatorServer(AgentPhoneEmulator(api_key=fake_key)) as server:
        today = datetime.now(UTC).date()
        env = {
            **os.environ,
            "AGENTPHONE_API_KEY": fake_key,
            "AGENTPHONE_BASE_URL": server.base_url,
        }
        env.pop("AGENTPHONE_MODE", None)
        since = (today - timedelta(days=30)).isoformat()
        done = subprocess.run(
            [sys.executable, "-m", "voice_usage", "fetch", "agentphone", "--since", since,
             "--until", today.isoformat(), "--granularity", "day", "--format", "json"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if today != datetime.now(UTC).date():  # pragma: no cover - ran across midnight
            pytest.skip("the UTC date changed while the command ran")
        emulator = server.emulator
        assert isinstance(emulator, AgentPhoneEmulator)
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert len(records) == 30
    days = [today - timedelta(days=n) for n in range(30, 0, -1)]
    assert sum(r["calls"] for r in records) == sum(emulator.day(d).calls for d in days)
    assert fake_key not in done.stdout + done.stderr
