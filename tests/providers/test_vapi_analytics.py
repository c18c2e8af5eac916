"""Vapi's `POST /analytics`: day and hour windows from the vendor's own sums
(`--option source=analytics`), and those sums checked against the calls (`source=both`).

Expected figures are the emulator's own (`VapiEmulator.totals`, its calls), worked out apart from
the provider's code, or by hand from the documented example.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

import voice_usage
from voice_usage import ConfigurationError, Grain, ResponseValidationError, UnsupportedQueryError
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorRequest, EmulatorServer, Fault
from voice_usage_vapi import VapiProvider
from voice_usage_vapi.emulator import DEMO_ASSISTANTS, VapiEmulator

pytestmark = pytest.mark.emulator

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
TODAY = date(2026, 11, 20)
SINCE, UNTIL = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
SCHEMA = json.loads(Path(__file__).with_name("vapi_schema.json").read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]})


def fetch(emulator: VapiEmulator, sleeps: Any, *, faults: Any = (), **query: Any) -> Any:
    with EmulatorServer(emulator) as server:
        for fault in faults:
            server.faults.add(fault)
        with voice_usage.connect(
            VapiProvider(),
            api_key=KEY,
            base_url=server.base_url,
            sleep=sleeps,
            async_sleep=sleeps.asleep,
        ) as connection:
            result = connection.fetch(**{"since": SINCE, "until": UNTIL, **query})
            records = result.to_list()
        return records, result, list(server.requests)


def ended(emulator: VapiEmulator) -> list[Any]:
    return [c for c in emulator.calls_between(SINCE, UNTIL) if c.ended_call]


ANALYTICS = {"options": {"source": "analytics"}}
BOTH = {"options": {"source": "both"}}


def test_the_request_is_the_documented_query(sleeps):
    _, _, requests = fetch(VapiEmulator(KEY, today=TODAY), sleeps, granularity="day", **ANALYTICS)
    (request,) = requests
    assert (request.method, request.path) == ("POST", "/analytics")
    body = request.json()
    validator("AnalyticsQueryDTO").validate(body)
    assert body == {
        "queries": [
            {
                "table": "call",
                "name": "voice-usage",
                "operations": [
                    {"operation": "sum", "column": "cost"},
                    {"operation": "sum", "column": "duration"},
                    {"operation": "count", "column": "id"},
                ],
                "groupBy": ["assistantId", "endedReason"],
                "timeRange": {
                    "start": "2026-10-01T00:00:00.000000Z",
                    "end": "2026-11-01T00:00:00.000000Z",
                    "step": "day",
                    "timezone": "UTC",
                },
            }
        ]
    }


def test_day_windows_per_assistant_sum_to_the_calls(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    days, result, _ = fetch(emulator, sleeps, granularity="day", **ANALYTICS)
    expected = emulator.totals(SINCE, UNTIL)
    assert result.warnings == []
    assert {d.grain for d in days} == {Grain.WINDOW}
    assert sum(d.calls for d in days) == expected["calls"]
    assert sum(d.failed_calls for d in days) == expected["failed"]
    assert sum(d.cost for d in days) == expected["cost"]
    assert sum(d.duration_seconds for d in days) == expected["seconds"]
    # One window per day and assistant (squads and workflows have none: agent_id None).
    calls = ended(emulator)
    groups = Counter((c.created.date(), c.assistant_id) for c in calls)
    assert Counter((d.period_start.date(), d.agent_id) for d in days) == Counter(
        dict.fromkeys(groups, 1)
    )
    for day in days:
        assert day.calls == groups[(day.period_start.date(), day.agent_id)]
        assert day.period_end - day.period_start == timedelta(days=1)
        assert day.cost_covers is None and day.cost_components is None  # a sum cannot tell
        assert day.currency == "USD" and day.cost_source is voice_usage.CostSource.REPORTED


def test_a_month_is_the_days_rolled_up_and_hours_are_asked_by_the_hour(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    months, _, requests = fetch(emulator, sleeps, granularity="month", **ANALYTICS)
    expected = emulator.totals(SINCE, UNTIL)
    assert sum(m.cost for m in months) == expected["cost"]
    assert {m.period_start for m in months} == {SINCE}
    assert requests[0].json()["queries"][0]["timeRange"]["step"] == "day"
    hours, _, requests = fetch(
        emulator, sleeps, granularity="hour", until=SINCE + timedelta(days=2), **ANALYTICS
    )
    assert requests[0].json()["queries"][0]["timeRange"]["step"] == "hour"
    two_days = emulator.totals(SINCE, SINCE + timedelta(days=2))
    assert sum(h.cost for h in hours) == two_days["cost"]
    assert all(h.period_end - h.period_start == timedelta(hours=1) for h in hours)


def test_an_assistant_filter_keeps_its_windows(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    days, _, _ = fetch(
        emulator, sleeps, granularity="day", agent_ids=[DEMO_ASSISTANTS[0]], **ANALYTICS
    )
    mine = [c for c in ended(emulator) if c.assistant_id == DEMO_ASSISTANTS[0]]
    assert {d.agent_id for d in days} == {DEMO_ASSISTANTS[0]}
    assert sum(d.cost for d in days) == sum(c.cost for c in mine)


def test_calls_are_not_what_analytics_gives_and_numbers_are_not_its_groups(sleeps):
    with pytest.raises(UnsupportedQueryError, match="granularity 'call' is not available"):
        fetch(VapiEmulator(KEY, today=TODAY), sleeps, granularity="call", **ANALYTICS)
    query = voice_usage.UsageQuery(
        since=SINCE,
        until=UNTIL,
        granularity="day",
        number_ids=["n1"],
        options={"source": "analytics"},
    )
    with pytest.raises(ConfigurationError, match="sums calls per assistant, not per phone number"):
        VapiProvider().plan(query)
    query = voice_usage.UsageQuery(since=SINCE, until=UNTIL, options={"source": "billing"})
    with pytest.raises(ConfigurationError) as caught:
        VapiProvider().plan(query)
    assert str(caught.value) == "vapi: option source='billing' is not one of calls, analytics, both"


def test_the_cli_says_so_in_one_line_with_exit_2():
    with EmulatorServer(VapiEmulator(KEY, today=TODAY)) as server:
        env = {"VAPI_API_KEY": KEY, "VAPI_BASE_URL": server.base_url}
        args = ["fetch", "vapi", "--since", "2026-10-01", "--until", "2026-11-01"]
        wrong = CliRunner().invoke(
            cli, [*args, "--granularity", "call", "--option", "source=analytics"], env=env
        )
        right = CliRunner().invoke(
            cli,
            [*args, "--granularity", "day", "--option", "source=analytics", "--format", "json"],
            env=env,
        )
    assert wrong.exit_code == 2
    assert wrong.stderr.strip().splitlines() == [
        "voice-usage: error: vapi: granularity 'call' is not available with source=analytics (the API reports: day, hour)"
    ]
    assert right.exit_code == 0, right.output
    assert (
        sum(Decimal(r["cost"]) for r in json.loads(right.stdout))
        == VapiEmulator(KEY, today=TODAY).totals(SINCE, UNTIL)["cost"]
    )


# -- source=both: the calls, checked against the sums ---------------------------------------------


def test_both_gives_the_calls_and_reconciles_them_with_the_sums(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    records, result, requests = fetch(emulator, sleeps, granularity="call", **BOTH)
    # Walks may be read side by side; their pages reach the records in order (analytics first).
    assert Counter(r.path for r in requests) == {"/analytics": 1, "/v2/call": 1}
    assert {r.call_id for r in records} == {c.call_id for c in ended(emulator)}
    assert result.warnings == [] and result.report.reconciled
    figures = {check.figure: check for check in result.report.reconciliations}
    expected = emulator.totals(SINCE, UNTIL)
    assert figures["calls (POST /analytics against the calls)"].reported == expected["calls"]
    assert figures["cost (POST /analytics against the calls)"].computed == expected["cost"]
    assert (
        figures["duration_seconds (POST /analytics against the calls)"].computed
        == expected["seconds"]
    )


def test_a_day_the_sums_and_the_calls_disagree_on_is_named_with_both_figures(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    first = min(ended(emulator), key=lambda c: c.created)
    day = first.created.date()
    group = [
        c
        for c in ended(emulator)
        if c.created.date() == day and c.assistant_id == first.assistant_id
    ]
    calls_cost = sum(c.cost for c in group)

    def rewrite(body: Any, request: EmulatorRequest) -> Any:
        for row in body[0]["result"]:
            if row["date"] == day.isoformat() and row["assistantId"] == first.assistant_id:
                row["sumCost"] = float(Decimal(str(row["sumCost"])) + Decimal("0.5"))
                break
        return body

    fault = Fault(action="rewrite", rewrite=rewrite, path="/analytics")
    records, result, _ = fetch(emulator, sleeps, granularity="call", faults=[fault], **BOTH)
    assistant = first.assistant_id or "(none)"
    assert result.warnings[0] == (
        f"vapi: {day.isoformat()}, assistant {assistant}: cost {calls_cost + Decimal('0.5')} USD "
        f"by POST /analytics, {calls_cost} USD summed over the calls"
    )
    assert result.warnings[1].startswith(
        "vapi: reconciliation cost (POST /analytics against the calls): vendor reported "
    )
    assert len(result.warnings) == 2 and not result.report.reconciled
    # The records stay the calls': the vendor's sums are a check, not a figure.
    assert sum(r.cost for r in records) == emulator.totals(SINCE, UNTIL)["cost"]


def test_calls_not_ended_make_the_counts_differ_and_say_so(sleeps):
    emulator = VapiEmulator(KEY, stuck_rate=0.2, today=TODAY)
    _, result, _ = fetch(emulator, sleeps, granularity="call", **BOTH)
    stuck = [c for c in emulator.calls_between(SINCE, UNTIL) if not c.ended_call]
    assert stuck
    day = stuck[0].created.date().isoformat()
    assert any(
        w.startswith(f"vapi: {day}, assistant ") and ": calls " in w for w in result.warnings
    )
    assert any("not ended yet skipped" in w for w in result.warnings)


# -- bodies of another shape ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "voice-usage", "result": []}, None),
        ([{"name": "voice-usage", "timeRange": {}, "result": [{"date": "2026-10-01T00:00:00",
                                                                "countId": 1}]}], "0.result.0.date"),
        ([{"name": "voice-usage", "timeRange": {}, "result": [{"date": "2026-10-01",
                                                                "sumCost": "1.5", "countId": 1}]}],
         "0.result.0.sumCost"),
        ([{"name": "voice-usage", "timeRange": {}, "result": [{"date": "2026-10-01"}]}],
         "0.result.0.countId"),
        ([{"name": "someone-else", "timeRange": {}, "result": []}], None),
    ],
    ids=["not an array", "zoneless time", "cost a string", "no count", "no result of ours"],
)  # fmt: skip
def test_bodies_not_of_the_documented_shape_are_named_errors(sleeps, body, field):
    fault = Fault(action="body", body=json.dumps(body).encode(), path="/analytics")
    with pytest.raises(ResponseValidationError) as caught:
        fetch(
            VapiEmulator(KEY, today=TODAY), sleeps, granularity="day", faults=[fault], **ANALYTICS
        )
    assert str(caught.value).startswith("vapi: unexpected response from /analytics")
    if field is not None:
        assert caught.value.field == field


def test_a_group_without_a_cost_sum_leaves_its_cost_unknown_not_zero(sleeps):
    body = [{"name": "voice-usage", "timeRange": {}, "result": [
        {"date": "2026-10-01", "assistantId": "a", "endedReason": "customer-ended-call",
         "sumCost": None, "sumDuration": 2.5, "countId": 2},
    ]}]  # fmt: skip
    fault = Fault(action="body", body=json.dumps(body).encode(), path="/analytics")
    (day,), _, _ = fetch(
        VapiEmulator(KEY, today=TODAY), sleeps, granularity="day", faults=[fault], **ANALYTICS
    )
    assert (day.calls, day.failed_calls, day.duration_seconds) == (2, 0, Decimal("150.000"))
    assert day.cost is None and "no sum of cost" in day.cost_note


# -- the emulator's answers fit the documented shape ------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"table": "call", "name": "q", "operations": [{"operation": "sum", "column": "cost"}],
         "timeRange": {"start": "2026-10-01T00:00:00Z", "end": "2026-10-08T00:00:00Z", "step": "day"}},
        {"table": "call", "name": "q", "groupBy": ["type", "status"],
         "operations": [{"operation": "avg", "column": "duration", "alias": "avgMinutes"},
                        {"operation": "max", "column": "cost"}, {"operation": "count", "column": "id"}],
         "timeRange": {"start": "2026-10-01T00:00:00Z", "end": "2026-10-02T00:00:00Z", "step": "hour"}},
        {"table": "call", "name": "q", "operations": [{"operation": "min", "column": "cost"}]},
    ],
    ids=["days", "hours by type and status", "default range, no step"],
)  # fmt: skip
def test_every_analytics_answer_fits_the_schema(query):
    emulator = VapiEmulator(today=TODAY)
    validator("AnalyticsQueryDTO").validate({"queries": [query]})
    request = EmulatorRequest(
        "POST", "/analytics", {}, {}, "http://x", json.dumps({"queries": [query]}).encode()
    )
    response = emulator.handle(request)
    body = json.loads(response.body)
    assert response.status == 200
    validator("AnalyticsResultList").validate(body)
    assert body[0]["name"] == "q" and body[0]["result"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"queries": [{"table": "calls", "name": "q", "operations": [{"operation": "sum", "column": "cost"}]}]},
        {"queries": [{"table": "call", "name": "q", "operations": [{"operation": "median", "column": "cost"}]}]},
        {"queries": [{"table": "call", "name": "q", "operations": [{"operation": "sum", "column": "minutesUsed"}]}]},
        {"queries": [{"table": "call", "name": "q", "operations": [{"operation": "sum", "column": "cost"}],
                      "timeRange": {"timezone": "Europe/Paris"}}]},
    ],
    ids=["no queries", "unknown table", "unknown operation", "a column not emulated", "a timezone"],
)  # fmt: skip
def test_what_the_emulator_does_not_serve_is_a_400_naming_it(body):
    emulator = VapiEmulator(today=TODAY)
    request = EmulatorRequest("POST", "/analytics", {}, {}, "http://x", json.dumps(body).encode())
    response = emulator.handle(request)
    assert response.status == 400
    validator("Error").validate(json.loads(response.body))


def test_compare_reads_the_sums_when_asked_and_says_what_they_cannot_tell():
    emulator = VapiEmulator(KEY, today=TODAY)
    with EmulatorServer(emulator) as server:
        env = {"VAPI_API_KEY": KEY, "VAPI_BASE_URL": server.base_url}
        args = ["compare", "vapi", "--since", "2026-10-01", "--until", "2026-11-01"]
        result = CliRunner().invoke(
            cli, [*args, "--option", "vapi:source=analytics", "--format", "json"], env=env
        )
        paths = {r.path for r in server.requests}
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["rows"]
    expected = emulator.totals(SINCE, UNTIL)
    assert paths == {"/analytics"}  # no call list read
    assert (row["calls"], Decimal(row["cost"])) == (expected["calls"], expected["cost"])
    assert Decimal(row["duration_seconds"]) == expected["seconds"]
    assert row["cost_covers"] is None and row["partly_covers"] == {}
    assert row["unknown"]["all_in_cost"] == "nobody says what the cost covers"
