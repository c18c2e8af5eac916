"""Rule 8: bodies the vendors themselves publish are read, or refused for a reason a user can act on.

- Flireo's `/organizations` bodies from its SDK's own tests carry no `minutes_balance`: the
  balance is then unknown, not an error.
- Flireo's documented `/usage` example shows one log of a total of 42: the walk is refused, but it
  stops at the first empty page instead of probing offsets 1, 2, 3... at once, and the command
  line says how many records it had written before the error.
- AgentPhone's by-agent view for a past period: the code and docs/providers/agentphone.md agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import voice_usage
from voice_usage import PaginationError
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer, Fault

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
ROOT = Path(__file__).resolve().parent.parent

# The OpenAPI-rendered reference's `/usage` example: one log, a total of 42.
DOCUMENTED_USAGE = {
    "logs": [
        {
            "id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
            "duration_sec": 180,
            "byok_stt": False,
            "byok_llm": False,
            "byok_tts": False,
            "phone_number": "string",
            "agent_name": "string",
            "business_name": "string",
            "created_at": "2026-11-01T14:15:22Z",
        }
    ],
    "pagination": {"total": 42, "limit": 100, "offset": 0},
    "summary": {"total_calls": 42, "total_duration_seconds": 7560, "total_duration_minutes": 126},
}
EMPTY_PAGE = {**DOCUMENTED_USAGE, "logs": []}


@pytest.fixture
def flireo() -> Iterator[EmulatorServer]:
    from voice_usage_flireo import FlireoEmulator

    with EmulatorServer(FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=3)) as server:
        yield server


def _invoke(server: EmulatorServer, *args: str) -> Any:
    env = {"FLIREO_API_KEY": KEY, "FLIREO_BASE_URL": server.base_url}
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.mark.parametrize(
    "body",
    [
        {"id": "o1", "name": "Acme"},
        {"id": "o1", "name": "Acme", "credits_balance": 12.5, "monthly_usage_minutes": 3},
    ],
)
def test_rule8_vendor_bodies_read_an_organization_without_minutes_balance_is_unknown(flireo, body):
    flireo.faults.add(
        Fault(action="body", body=json.dumps(body).encode(), path="/organizations"), None
    )
    result = _invoke(flireo, "balance", "flireo", "--format", "json")
    assert result.exit_code == 0, result.stderr
    snapshot = json.loads(result.stdout)
    assert snapshot["minutes_balance"] is None
    assert snapshot["name"] == "Acme"
    table = _invoke(flireo, "balance", "flireo")
    assert table.exit_code == 0, table.stderr
    assert "minutes_balance" in table.stdout
    with voice_usage.connect("flireo", api_key=KEY, base_url=flireo.base_url) as connection:
        assert connection.balance().minutes_balance is None


def _usage_requests(server: EmulatorServer) -> list[str]:
    return [r.query.get("offset", ["0"])[-1] for r in server.requests if r.path == "/usage"]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_rule8_vendor_bodies_read_a_short_walk_stops_at_the_first_empty_page(flireo, concurrency):
    flireo.faults.add(
        Fault(
            action="body",
            body=json.dumps(DOCUMENTED_USAGE).encode(),
            path="/usage",
            query={"offset": "0"},
        ),
        None,
    )
    flireo.faults.add(
        Fault(action="body", body=json.dumps(EMPTY_PAGE).encode(), path="/usage"), None
    )
    with (
        voice_usage.connect(
            "flireo", api_key=KEY, base_url=flireo.base_url, concurrency=concurrency
        ) as connection,
        pytest.raises(PaginationError, match="page at offset 1 has 0 items, expected 1"),
    ):
        connection.fetch("2026-11-01", "2026-11-02", "call").to_list()
    assert _usage_requests(flireo) == ["0", "1"]


def test_rule8_vendor_bodies_read_agentphone_by_agent_reads_the_current_period_as_its_page_says():
    from datetime import date

    from voice_usage_agentphone import AgentPhoneEmulator, AgentPhoneProvider

    today = date(2026, 12, 15)
    provider = AgentPhoneProvider(today=lambda: today)
    options = {"view": "by-agent"}
    with (
        EmulatorServer(AgentPhoneEmulator(api_key=KEY, today=today)) as server,
        voice_usage.connect(provider, api_key=KEY, base_url=server.base_url) as connection,
    ):
        with pytest.raises(voice_usage.UnsupportedQueryError) as refused:
            connection.fetch("2026-11-01", "2026-12-01", options=options).to_list()
        assert server.requests == []  # refused before any request, as the page says
        records = connection.fetch("2026-12-01", "2027-01-01", options=options).to_list()
    assert "covers only the current calendar month" in str(refused.value)
    assert records and all(r.period_start.date() == date(2026, 12, 1) for r in records)
    page = (ROOT / "docs" / "providers" / "agentphone.md").read_text(encoding="utf-8")
    assert "**The by-agent view reads the current calendar period only**" in page
    assert "refused before any request with an `UnsupportedQueryError`" in page
    examples = [line for line in page.splitlines() if "view=by-agent" in line and "$ " in line]
    assert examples and all("--since 2026-12-01 --until 2027-01-01" in e for e in examples)
    assert "The by-agent examples above are for December 2026" in page


def test_rule7_every_option_works_ultravox_agent_windows_by_month_stay_per_agent_as_its_page_says():
    from voice_usage_ultravox.emulator import UltravoxEmulator

    october = ("2026-10-01", "2026-11-01")
    with (
        EmulatorServer(UltravoxEmulator(api_key=KEY)) as server,
        voice_usage.connect("ultravox", api_key=KEY, base_url=server.base_url) as connection,
    ):
        days = connection.fetch(*october, "day", options={"source": "agents"}).to_list()
        months = connection.fetch(*october, "month", options={"source": "agents"}).to_list()
    agents = {r.agent_id for r in days}
    assert len(agents) > 1
    assert sorted(r.agent_id for r in months) == sorted(agents)  # one window per agent and month
    for agent in agents:
        assert sum(r.calls for r in months if r.agent_id == agent) == sum(
            r.calls for r in days if r.agent_id == agent
        )
    page = (ROOT / "docs" / "providers" / "ultravox.md").read_text(encoding="utf-8")
    assert "summed per\nmonth across agents" not in page and "across agents" not in page
    assert "agent windows stay\none per agent and month" in page
