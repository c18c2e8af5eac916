"""Rule 4: a figure says what it is, and unknown stays unknown.

Odd values do not pass silently: an event is one call, and a vendor's `-0.0` is zero, written
`0`. Tables round half-up; a reason for an unknown cost comes from the records without one; an
empty period invents no figure the provider never reports; and a provider's cost for one period
is the same whatever the rows are grouped by, each row saying where it was read and what it covers.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import voice_usage
from voice_usage import Grain, UsageRecord
from voice_usage import _schema as schema
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer, Fault

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
START = datetime(2026, 11, 1, 10, tzinfo=UTC)


def _event(**values: Any) -> dict[str, Any]:
    return {
        "provider": "flireo",
        "grain": "event",
        "period_start": START,
        "period_end": datetime(2026, 11, 1, 10, 1, 24, tzinfo=UTC),
        "calls": 1,
        "duration_seconds": Decimal(84),
        "call_id": "c1",
        **values,
    }


@pytest.fixture(params=["fast", "strict"])
def fast_and_strict(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records built by trusted() and templates, both as providers build them and validated."""
    monkeypatch.setattr(schema, "_STRICT_RECORDS", request.param == "strict")


@pytest.mark.parametrize("calls", [0, 2])
def test_rule4_figure_says_what_it_is_an_event_is_one_call(calls, fast_and_strict):
    for build in (UsageRecord, UsageRecord.trusted, UsageRecord.template(provider="flireo")):
        with pytest.raises(ValueError, match=f"an event is one call: calls must be 1, got {calls}"):
            build(**_event(calls=calls))
    assert UsageRecord(**_event(calls=None)).calls is None  # a vendor that does not count
    window = UsageRecord(**_event(grain="window", calls=calls))
    assert window.calls == calls


def test_rule4_figure_says_what_it_is_an_event_of_two_calls_in_a_records_file_is_refused(
    tmp_path: Path,
):
    good = UsageRecord(**_event())
    line = json.loads(good.model_dump_json())
    path = tmp_path / "records.jsonl"
    path.write_text(
        good.model_dump_json() + "\n" + json.dumps({**line, "calls": 2}) + "\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["reprice", "--to", "flireo", "--input", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"voice-usage: error: {path}, line 2: ")
    assert "an event is one call: calls must be 1, got 2" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("zero", ["-0", "-0.0", "-0E-6"])
def test_rule4_figure_says_what_it_is_minus_zero_is_zero(zero, fast_and_strict):
    figures = {"cost": Decimal(zero), "currency": "EUR", "cost_source": "reported"}
    figures |= {"duration_seconds": Decimal(zero), "billed_minutes": Decimal(zero)}
    for build in (UsageRecord, UsageRecord.trusted, UsageRecord.template(provider="flireo")):
        record = build(**_event(**figures))
        for name in ("cost", "duration_seconds", "billed_minutes"):
            value = getattr(record, name)
            assert value == 0 and not value.is_signed(), (build, name)
        out = io.StringIO()
        voice_usage.write_jsonl([record], out)
        assert '"-0' not in out.getvalue()


def test_rule4_figure_says_what_it_is_a_vendors_minus_zero_cost_is_written_0():
    from voice_usage_flireo import FlireoEmulator

    def minus_zero(body: Any, request: Any) -> Any:
        for log in body["logs"]:
            log["cost"] = -0.0
        return body

    with EmulatorServer(FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=2)) as server:
        server.faults.add(Fault(action="rewrite", rewrite=minus_zero, path="/usage"), None)
        env = {"FLIREO_API_KEY": KEY, "FLIREO_BASE_URL": server.base_url}
        args = ["fetch", "flireo", "--since", "2026-11-01", "--until", "2026-11-02"]
        result = CliRunner().invoke(
            cli, [*args, "--granularity", "call", "--format", "jsonl"], env=env
        )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["cost"] for r in records] == ["0", "0"]
    assert all(r["grain"] == Grain.EVENT.value for r in records)


def _flireo_with(rewrite_log: Any) -> EmulatorServer:
    from voice_usage_flireo import FlireoEmulator

    def rewrite(body: Any, request: Any) -> Any:
        for index, log in enumerate(body["logs"]):
            rewrite_log(index, log)
        return body

    server = EmulatorServer(FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=2))
    server.faults.add(Fault(action="rewrite", rewrite=rewrite, path="/usage"), None)
    return server


def _cli(server: EmulatorServer, *args: str) -> Any:
    env = {"FLIREO_API_KEY": KEY, "FLIREO_BASE_URL": server.base_url}
    return CliRunner().invoke(cli, list(args), env=env)


WINDOW = ["--since", "2026-11-01", "--until", "2026-11-02"]


def test_rule4_figure_says_what_it_is_tables_round_half_up_as_documented():
    figures = [("0.00005", "2.125"), ("0.12345", "2.135")]

    def halves(index: int, log: dict[str, Any]) -> None:
        cost, minutes = figures[index]
        log["cost"], log["minutes_used"] = json.loads(cost), json.loads(minutes)

    with _flireo_with(halves) as server:
        result = _cli(server, "fetch", "flireo", *WINDOW, "--granularity", "call")
    assert result.exit_code == 0, result.stderr
    # Half-up, by hand: 0.00005 -> 0.0001 (not 0.0000), 0.12345 -> 0.1235, 2.125 -> 2.13.
    for shown in ("0.0001 EUR", "0.1235 EUR", "2.13", "2.14"):
        assert shown in result.stdout
    assert "0.0000 EUR" not in result.stdout and "0.1234 EUR" not in result.stdout


def test_rule3_one_line_an_absurd_vendor_figure_is_the_providers_error_exit_1():
    def absurd(index: int, log: dict[str, Any]) -> None:
        log["cost"] = 1e300

    with _flireo_with(absurd) as server:
        fetched = _cli(server, "fetch", "flireo", *WINDOW, "--granularity", "call")
        compared = _cli(server, "compare", "flireo", *WINDOW)
    for result in (fetched, compared):
        assert result.exit_code == 1, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1
        assert errors[0].startswith(
            "voice-usage: error: flireo: a record could not be made from the response: cost"
        )
    assert "out of range" not in fetched.stderr + compared.stderr


@pytest.mark.parametrize("name", ["cost", "duration_seconds", "billed_minutes"])
def test_rule4_figure_says_what_it_is_a_figure_past_any_plausible_one_is_refused(
    name, fast_and_strict
):
    figures = {"cost": Decimal(0), "currency": "EUR", "cost_source": "reported"}
    for build in (UsageRecord, UsageRecord.trusted, UsageRecord.template(provider="flireo")):
        with pytest.raises(ValueError, match=name):
            build(**_event(**{**figures, name: Decimal("1e15")}))
        assert getattr(build(**_event(**{**figures, name: Decimal("999999999999999")})), name)


def _priced(note: str, cost: str | None, minute: int) -> UsageRecord:
    start = datetime(2026, 11, 1, 10, minute, tzinfo=UTC)
    priced = {"cost": Decimal(cost), "currency": "USD", "cost_source": "reported"} if cost else {}
    return UsageRecord(
        **_event(period_start=start, period_end=start + timedelta(seconds=30), cost_note=note),
        **priced,
    )


def test_rule4_figure_says_what_it_is_unknown_cost_reasons_come_from_uncosted_records_only():
    from voice_usage._analysis._rows import RowTotals, build_row
    from voice_usage._rollup import Totals

    records = [
        _priced("free (FREE_CONSOLE): no call charge", "0", 1),
        _priced("billing pending (B): not billed yet", None, 2),
        _priced("rate card flireo/call@2025-12-01", "0.07", 3),
        _priced("billing pending (A): not billed yet", None, 4),
        _priced("refunded (REFUNDED): no call charge", "0", 5),
    ]
    expected = "2 of 5 records have no cost: billing pending (A): not billed yet; billing pending (B): not billed yet"
    for order in (records, records[::-1]):  # the same reasons in the same order, either way
        totals, row_totals = Totals(), RowTotals()
        for record in order:
            totals.add(record)
            row_totals.add(record)
        assert totals.cost_note == expected
        assert build_row("flireo", row_totals).unknown["cost"] == expected


def test_rule4_figure_says_what_it_is_an_empty_period_invents_no_zero_a_provider_never_reports():
    from voice_usage_agentphone import AgentPhoneEmulator, AgentPhoneProvider
    from voice_usage_flireo import FlireoEmulator

    today = date(2026, 12, 1)
    flireo = FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=0)
    with (
        EmulatorServer(AgentPhoneEmulator(api_key=KEY, today=today)) as agentphone_server,
        EmulatorServer(flireo) as flireo_server,
        voice_usage.connect(
            AgentPhoneProvider(today=lambda: today),
            api_key=KEY,
            base_url=agentphone_server.base_url,
        ) as agentphone,
        voice_usage.connect("flireo", api_key=KEY, base_url=flireo_server.base_url) as flireo_c,
    ):
        comparison = voice_usage.compare([agentphone, flireo_c], "2026-12-05", "2026-12-06")
    assert comparison.ok, comparison.errors
    for row in comparison.rows:
        assert row.records == 0 and row.calls == 0
        assert row.failed_calls is None  # neither API counts failed calls: not 0
        assert row.unknown["failed_calls"] == f"{row.provider} does not report it"
        assert row.duration_seconds == 0  # no calls last no time: a known 0


def test_rule4_figure_says_what_it_is_ultravox_cost_is_the_same_whatever_the_grouping():
    from voice_usage_ultravox.emulator import UltravoxEmulator

    # L6: the ledger (provider, day, month rows) and per-agent usage (agent rows) once gave
    # different costs for one period without a word. Both now price the same parts, and say it.
    window = ["--since", "2026-11-01", "--until", "2026-11-04", "--format", "json"]
    with EmulatorServer(UltravoxEmulator(api_key=KEY)) as server:
        env = {"ULTRAVOX_API_KEY": KEY, "ULTRAVOX_BASE_URL": server.base_url}
        runs = {
            by: CliRunner().invoke(cli, ["compare", "ultravox", *window, "--group-by", by], env=env)
            for by in ("provider", "day", "agent")
        }
    rows = {}
    for by, result in runs.items():
        assert result.exit_code == 0, result.stderr
        rows[by] = json.loads(result.stdout)["rows"]
    totals = {by: sum(Decimal(r["cost"]) for r in found) for by, found in rows.items()}
    assert len(rows["agent"]) > 1 and len(rows["day"]) == 3
    assert totals["provider"] == totals["day"] == totals["agent"] > 0
    for by, found in rows.items():
        for row in found:  # each row says where its cost was read and what it covers
            assert row["billed_from"] in ("billing", "usage"), (by, row)
            assert row["cost_covers"], (by, row)
    assert {r["billed_from"] for r in rows["agent"]} == {"usage"}
    assert {tuple(r["cost_covers"]) for r in rows["agent"]} == {
        tuple(r["cost_covers"]) for r in rows["provider"]
    }
