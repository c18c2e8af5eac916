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


# The documented example of GET /v1/usage/by-agent (https://agentphone.ai/docs/api-reference/
# usage/get-usage-by-agent-v-1-usage-by-agent-get), verbatim: June 2024, before any shipped card.
DOCUMENTED_BY_AGENT: dict[str, Any] = {
    "data": [
        {
            "agentId": "a1b2c3d4-e5f6-7890-ab12-cd34ef567890",
            "agentName": "Support Agent Alpha",
            "messages": 152,
            "calls": 47,
            "totalSeconds": 7320,
            "isOrphan": False,
        },
        {
            "agentId": "b2c3d4e5-f678-9012-ab34-cd56ef789012",
            "agentName": "Sales Agent Beta",
            "messages": 98,
            "calls": 30,
            "totalSeconds": 5400,
            "isOrphan": False,
        },
        {
            "agentId": None,
            "agentName": "Unassigned",
            "messages": 25,
            "calls": 5,
            "totalSeconds": 600,
            "isOrphan": True,
        },
    ],
    "period": "month",
    "periodStart": "2024-06-01T00:00:00Z",
    "periodEnd": "2024-06-30T23:59:59Z",
}


def _by_agent_records(
    server: EmulatorServer, today: Any, since: str, until: str
) -> list[voice_usage.UsageRecord]:
    from voice_usage_agentphone import AgentPhoneProvider

    provider = AgentPhoneProvider(today=lambda: today)
    with voice_usage.connect(provider, api_key=KEY, base_url=server.base_url) as connection:
        return connection.fetch(since, until, options={"view": "by-agent"}).to_list()


def test_rule8_vendor_bodies_read_agentphone_documented_by_agent_example_as_its_page_says():
    from datetime import date

    from voice_usage_agentphone import AgentPhoneEmulator

    page = (ROOT / "docs" / "providers" / "agentphone.md").read_text(encoding="utf-8")
    with EmulatorServer(AgentPhoneEmulator(api_key=KEY, today=date(2026, 12, 15))) as server:
        # Asked for by its own period on the command line: refused before any request, exit 2.
        env = {"AGENTPHONE_API_KEY": KEY, "AGENTPHONE_BASE_URL": server.base_url}
        window = ["--since", "2024-06-01", "--until", "2024-07-01"]
        refused = CliRunner().invoke(
            cli, ["fetch", "agentphone", *window, "--option", "view=by-agent"], env=env
        )
        assert refused.exit_code == 2, refused.stderr
        assert "covers only the current calendar month" in refused.stderr
        assert len(refused.stderr.splitlines()) == 1 and server.requests == []
        assert "refused before any request with an `UnsupportedQueryError` (exit 2)" in page

        # The body verbatim, read with the provider's clock in its month: records without cost.
        body = json.dumps(DOCUMENTED_BY_AGENT).encode()
        server.faults.add(Fault(action="body", body=body, path="/v1/usage/by-agent"), None)
        june = _by_agent_records(server, date(2024, 6, 15), "2024-06-01", "2024-07-01")
        assert [r.calls for r in june] == [47, 30, 5]
        assert all(r.cost is None and "no rate card" in (r.cost_note or "") for r in june)
        assert "`AgentPhoneProvider(today=date(2024, 6, 15))`" in page

        # The same figures stated as the current month: priced as the page's worked example.
        server.faults.clear()
        current = {
            **DOCUMENTED_BY_AGENT,
            "periodStart": "2026-12-01T00:00:00Z",
            "periodEnd": "2026-12-31T23:59:59Z",
        }
        body = json.dumps(current).encode()
        server.faults.add(Fault(action="body", body=body, path="/v1/usage/by-agent"), None)
        december = _by_agent_records(server, date(2026, 12, 15), "2026-12-01", "2027-01-01")
    worked = {}
    for line in page.splitlines():  # | Support Agent Alpha | 47 | 7320 | ... | **15.86** |
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 6 and cells[5].startswith("**"):
            worked[cells[0]] = cells[5].strip("*")
    assert worked == {
        "Support Agent Alpha": "15.86",
        "Sales Agent Beta": "11.70",
        "Unassigned": "1.30",
    }
    assert {r.extras["agentName"]: f"{r.cost:.2f}" for r in december} == worked
