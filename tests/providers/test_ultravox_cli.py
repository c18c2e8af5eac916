"""`voice-usage fetch ultravox ...` against an Ultravox-compatible server (the emulator).

Expected figures are recomputed from the emulated calls, not taken from the program's output.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from voice_usage.emulator import EmulatorServer
from voice_usage_ultravox.emulator import UltravoxEmulator

pytestmark = pytest.mark.emulator

FETCH_OCTOBER = ["fetch", "ultravox", "--since", "2026-10-01", "--until", "2026-11-01"]


def october_calls(emulator):
    return emulator.calls_between(
        datetime(2026, 10, 1, tzinfo=UTC), datetime.combine(date(2026, 10, 31), time.max, UTC)
    )


def billed_minutes(calls):
    seconds = sum(
        (
            c.billed_seconds
            for c in calls
            if c.billing_status == "BILLING_STATUS_BILLED" and c.billed_seconds is not None
        ),
        Decimal(0),
    )
    return seconds / 60


@pytest.mark.parametrize("style", ["protobuf", "django"])
def test_fetch_a_month_by_day_as_json(style, cli_run, fake_key):
    emulator = UltravoxEmulator(api_key=fake_key, duration_style=style)
    with EmulatorServer(emulator) as server:
        result = cli_run(server, *FETCH_OCTOBER, "--granularity", "day", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 31
    assert all(row["grain"] == "window" and row["provider"] == "ultravox" for row in rows)
    assert [row["period_start"] for row in rows] == [
        f"{date(2026, 10, 1) + timedelta(days=n)}T00:00:00Z" for n in range(31)
    ]
    calls = october_calls(emulator)
    assert sum(row["calls"] for row in rows) == len(calls)
    assert sum(Decimal(row["billed_minutes"]) for row in rows) == billed_minutes(calls)
    assert {row["currency"] for row in rows} == {"USD"}
    assert {row["cost_source"] for row in rows} == {"rate_card"}
    assert result.stderr == ""  # no reconciliation warning


def test_the_exact_command_line_in_a_subprocess(fake_key):
    emulator = UltravoxEmulator(api_key=fake_key, duration_style="django")
    env = {**os.environ, "ULTRAVOX_API_KEY": fake_key}
    with EmulatorServer(emulator) as server:
        env["ULTRAVOX_BASE_URL"] = server.base_url
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "voice_usage",
                *FETCH_OCTOBER,
                "--granularity",
                "day",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 31
    assert sum(row["calls"] for row in rows) == len(october_calls(emulator))
    assert fake_key not in done.stdout + done.stderr


def test_fetch_calls_walks_every_page(cli_run, fake_key):
    emulator = UltravoxEmulator(api_key=fake_key, max_page_size=30)
    with EmulatorServer(emulator) as server:
        result = cli_run(server, *FETCH_OCTOBER, "--granularity", "call", "--format", "jsonl")
        pages = len(server.requests)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    calls = october_calls(emulator)
    assert pages == -(-len(calls) // 30) > 3
    assert sorted(row["call_id"] for row in rows) == sorted(c.call_id for c in calls)
    assert all(row["grain"] == "event" and row["calls"] == 1 for row in rows)


def test_fetch_billing_usage_over_120_days(cli_run, fake_key):
    emulator = UltravoxEmulator(api_key=fake_key)
    with EmulatorServer(emulator) as server:
        result = cli_run(
            server,
            "fetch",
            "ultravox",
            "--since",
            "2026-06-01",
            "--until",
            "2026-09-29",
            "--option",
            "source=billing",
            "--format",
            "json",
        )
        requests = sorted((r.query["fromDate"][0], r.query["toDate"][0]) for r in server.requests)
    assert result.exit_code == 0, result.output
    assert requests == [("2026-06-01", "2026-08-30"), ("2026-08-30", "2026-09-29")]
    rows = json.loads(result.stdout)
    assert [row["period_start"][:10] for row in rows if row["item"] == "call"] == [
        (date(2026, 6, 1) + timedelta(days=n)).isoformat() for n in range(120)
    ]
    calls = [c for n in range(120) for c in emulator.calls_on(date(2026, 6, 1) + timedelta(days=n))]
    assert sum(Decimal(r["billed_minutes"]) for r in rows if r["item"] == "call") == billed_minutes(
        calls
    )


def test_fetch_by_month_rolls_up_and_by_agent_keeps_agents(cli_run, fake_key):
    emulator = UltravoxEmulator(api_key=fake_key)
    with EmulatorServer(emulator) as server:
        month = cli_run(server, *FETCH_OCTOBER, "--granularity", "month", "--format", "json")
        agents = cli_run(server, *FETCH_OCTOBER, "--option", "source=agents", "--format", "json")
    (row,) = json.loads(month.stdout)
    assert row["calls"] == len(october_calls(emulator))
    assert len({r["agent_id"] for r in json.loads(agents.stdout)}) == 3


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--option", "colour=red"], 2, "unknown option 'colour'"),
        (["--option", "metadata.=x"], 2, "unknown option 'metadata.'"),
        (
            ["--option", "source=billing", "--granularity", "hour"],
            2,
            "'hour' is not available with source=billing (the API reports: day)",
        ),
        (["--number", "n1"], 2, "no phone-number filter"),
    ],
)
def test_bad_queries_fail_with_one_line(args, code, message, cli_run, fake_key):
    with EmulatorServer(UltravoxEmulator(api_key=fake_key)) as server:
        result = cli_run(server, *FETCH_OCTOBER, *args)
        assert server.requests == []
    assert result.exit_code == code
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_wrong_key_exits_1_without_the_key(cli_run, fake_key):
    with EmulatorServer(UltravoxEmulator(api_key="the-right-key")) as server:
        result = cli_run(server, *FETCH_OCTOBER, env={"ULTRAVOX_API_KEY": fake_key})
    assert result.exit_code == 1
    assert result.stderr.startswith("voice-usage: error: ultravox: HTTP 401")
    assert fake_key not in result.stderr


def test_balance_shows_the_account(cli_run, fake_key):
    with EmulatorServer(UltravoxEmulator(api_key=fake_key)) as server:
        result = cli_run(server, "balance", "ultravox", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["free_time_used"] == "1800"
