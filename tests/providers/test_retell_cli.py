"""`voice-usage fetch retell ...` against a Retell-compatible server (the emulator).

Expected figures are recomputed from the emulated calls (their cents added as Decimals), not
taken from the program's output.
"""

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer
from voice_usage_retell.emulator import RetellEmulator

pytestmark = pytest.mark.emulator

OCT_1_MS, NOV_1_MS = 1_790_812_800_000, 1_793_491_200_000
COMMAND = [
    "fetch",
    "retell",
    "--since",
    "2026-10-01",
    "--until",
    "2026-11-01",
    "--granularity",
    "call",
    "--format",
    "jsonl",
]


def test_the_exact_command_line_in_a_subprocess(fake_key):
    # About 2,170 calls: three pages of 1,000; the 31st has calls not rated yet.
    emulator = RetellEmulator(fake_key, calls_per_day=(60, 80), today=date(2026, 10, 31))
    with EmulatorServer(emulator) as server:
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        env.update(RETELL_API_KEY=fake_key, RETELL_BASE_URL=server.base_url)
        done = subprocess.run(
            [sys.executable, "-m", "voice_usage", *COMMAND],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        pages = len(server.requests)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    calls = emulator.calls_between(OCT_1_MS, NOV_1_MS - 1)
    # Every call once, in start order, across several pages of 1,000.
    assert [row["call_id"] for row in rows] == [c.call_id for c in calls]
    assert len(calls) > 2000 and pages == -(-len(calls) // 1000)
    assert any(row["cost"] is None for row in rows)
    cents = sum((c.combined_cents for c in calls if c.has_cost), Decimal(0))
    assert sum(Decimal(row["cost"]) for row in rows if row["cost"] is not None) == cents / 100
    for row in rows:
        assert row["provider"] == "retell" and row["grain"] == "event"
        if row["cost"] is None:
            assert row["cost_components"] is None and row["cost_covers"] is None
            continue
        assert row["currency"] == "USD" and row["cost_source"] == "reported"
        parts = [Decimal(v) for v in row["cost_components"].values()]
        assert sum(parts, Decimal(0)) == Decimal(row["cost"])
    assert fake_key not in done.stdout


def test_jsonl_across_several_pages_and_day_windows_sum_to_the_same(serve, cli_run, fake_key):
    server = serve(RetellEmulator(fake_key))
    events = cli_run(server, *COMMAND)
    days = cli_run(server, *COMMAND[:6], "--granularity", "day", "--format", "json")
    assert events.exit_code == 0 and days.exit_code == 0, events.output + days.output
    rows = [json.loads(line) for line in events.stdout.splitlines()]
    windows = json.loads(days.stdout)
    assert len(windows) == 31
    per_day: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        per_day[row["period_start"][:10]].append(row)
    for window in windows:
        mine = per_day[window["period_start"][:10]]
        assert window["calls"] == len(mine)
        total = sum(Decimal(r["cost"]) for r in mine)  # every October call is rated
        assert Decimal(window["cost"]) == total
    assert sum(Decimal(w["cost"]) for w in windows) == sum(Decimal(r["cost"]) for r in rows)


def test_the_v2_fallback_gives_the_same_lines(serve, cli_run, fake_key):
    current = cli_run(serve(RetellEmulator(fake_key)), *COMMAND)
    legacy = cli_run(serve(RetellEmulator(fake_key, versions=("v2",))), *COMMAND)
    assert current.exit_code == 0 and legacy.exit_code == 0
    assert legacy.stdout == current.stdout
    assert "read the legacy /v2/list-calls instead" in legacy.stderr


def test_a_wrong_key_exits_1_with_one_line_naming_retell(serve, env_for, fake_key):
    server = serve(RetellEmulator("the-right-key"))
    env = {**env_for(server), "RETELL_API_KEY": fake_key}
    result = CliRunner().invoke(cli, COMMAND, env=env)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("voice-usage: error: retell: HTTP 401 authentication failed")
    assert "API key is missing or invalid." in lines[0]
    assert "Traceback" not in result.output
    assert fake_key not in result.stdout and fake_key not in result.stderr


def test_a_missing_key_exits_2_naming_the_variable():
    result = CliRunner().invoke(cli, COMMAND, env={"RETELL_API_KEY": ""})
    assert result.exit_code == 2
    assert "RETELL_API_KEY" in result.stderr


def test_providers_lists_retell_with_what_it_reports():
    result = CliRunner().invoke(cli, ["providers", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    (retell,) = [p for p in json.loads(result.stdout)["providers"] if p["name"] == "retell"]
    assert retell["distribution"] == "voice-usage-retell"
    assert retell["capabilities"]["reports_cost"] is True
    assert retell["capabilities"]["granularities"] == ["call"]
