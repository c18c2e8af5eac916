"""`voice-usage fetch twilio ...` against the emulator, with Twilio's own credential variables.

Expected figures are recomputed from the emulated call legs, not taken from the program's output.
"""

import json
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer
from voice_usage_twilio.emulator import DEMO_ACCOUNT_SID, TwilioEmulator

pytestmark = pytest.mark.emulator

TOKEN = "vu-test-key-5f0c2d9e8a7b4c3d"
FETCH_OCTOBER = ["fetch", "twilio", "--since", "2026-10-01", "--until", "2026-11-01"]


def run(server, *args, sid=DEMO_ACCOUNT_SID, token=TOKEN):
    env = {
        "TWILIO_ACCOUNT_SID": sid,
        "TWILIO_AUTH_TOKEN": token,
        "TWILIO_BASE_URL": server.base_url,
        "TWILIO_API_KEY": "",
        "TWILIO_API_SECRET": "",
    }
    return CliRunner().invoke(cli, list(args), env=env)


def test_fetch_october_by_day_and_by_call_as_json():
    emulator = TwilioEmulator(TOKEN)
    october = emulator.calls_between(date(2026, 10, 1), date(2026, 10, 31))
    with EmulatorServer(emulator) as server:
        days = run(server, *FETCH_OCTOBER, "--granularity", "day", "--format", "json")
        calls = run(server, *FETCH_OCTOBER, "--granularity", "call", "--format", "json")
    assert days.exit_code == 0, days.output
    assert calls.exit_code == 0, calls.output
    assert calls.stderr == ""  # every day reconciled

    day_rows, call_rows = json.loads(days.stdout), json.loads(calls.stdout)
    assert len(day_rows) == 31 * 4  # four child categories a day, nothing left over
    assert {row["cost_covers"][0] for row in day_rows} == {"telephony"}
    assert all(row["duration_seconds"] is None for row in day_rows)
    per_day_windows = Counter()
    per_day_calls = Counter()
    for row in day_rows:
        per_day_windows[row["period_start"][:10]] += row["calls"]
    for row in call_rows:
        per_day_calls[row["period_start"][:10]] += 1
    assert per_day_windows == per_day_calls == Counter(c.start.date().isoformat() for c in october)

    total = sum((c.charge for c in october), Decimal(0))
    assert sum(Decimal(row["cost"]) for row in day_rows) == total
    assert sum(Decimal(row["cost"]) for row in call_rows) == total
    assert all(Decimal(row["cost"]) >= 0 and row["currency"] == "USD" for row in call_rows)
    failed = sum(1 for c in october if c.status in ("busy", "failed", "no-answer", "canceled"))
    assert sum(row["failed_calls"] for row in call_rows) == failed > 0


@pytest.mark.parametrize(
    ("sid", "token"),
    [("AC" + "f" * 32, TOKEN), (DEMO_ACCOUNT_SID, "vu-wrong-token-0f1e2d3c4b5a")],
    ids=["wrong SID", "wrong token"],
)
def test_a_wrong_sid_or_token_is_one_line_naming_twilio(sid, token):
    with EmulatorServer(TwilioEmulator(TOKEN)) as server:
        result = run(server, *FETCH_OCTOBER, "--granularity", "day", sid=sid, token=token)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("voice-usage: error: twilio: HTTP 401")
    assert "Authenticate" in line
    assert token not in result.output and TOKEN not in result.output


def test_providers_lists_twilios_own_variables():
    result = CliRunner().invoke(cli, ["providers", "--format", "json"])
    assert result.exit_code == 0
    (twilio,) = [p for p in json.loads(result.stdout)["providers"] if p["name"] == "twilio"]
    assert twilio["env"] == [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "TWILIO_BASE_URL",
    ]
    assert twilio["auth"] == "HTTP Basic"
