"""The Ultravox provider against its emulator over loopback.

Expected figures are recomputed here from the emulated calls themselves (`calls_between`), never
from the emulator's own aggregation code nor from the provider's output.
"""

import math
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import httpx
import pytest

import voice_usage
from voice_usage import AuthenticationError, BadRequestError, Granularity, rollup
from voice_usage._engine._http import Session
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage.testing import check_records
from voice_usage_ultravox import UltravoxProvider
from voice_usage_ultravox.emulator import DEMO_AGENTS, UltravoxEmulator

pytestmark = pytest.mark.emulator

OCTOBER = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
END_OF_OCTOBER = datetime.combine(date(2026, 10, 31), time.max, UTC)
PROTOBUF = re.compile(r"^\d+(\.\d{3}|\.\d{6}|\.\d{9})?s$")
DJANGO = re.compile(r"^(\d+ )?\d{2}:\d{2}:\d{2}(\.\d{6})?$")


def connect(server, key, sleeps, **kw):
    return voice_usage.connect(
        "ultravox",
        api_key=key,
        base_url=server.base_url,
        sleep=sleeps,
        async_sleep=sleeps.asleep,
        **kw,
    )


def billed_seconds(call):
    """What a call adds to billedMinutes, read off its fields: billed calls only."""
    if call.billing_status == "BILLING_STATUS_BILLED" and call.billed_seconds is not None:
        return call.billed_seconds
    return Decimal(0)


def talk(call):
    if call.joined is None or call.ended is None:
        return Decimal(0)
    return Decimal((call.ended - call.joined) // timedelta(microseconds=1)) / 1_000_000


def expected_totals(calls):
    return {
        "calls": len(calls),
        "failed": sum(c.end_reason in ("connection_error", "system_error") for c in calls),
        "seconds": sum((talk(c) for c in calls), Decimal(0)),
        "minutes": sum((billed_seconds(c) for c in calls), Decimal(0)) / 60,
    }


def record_totals(records):
    return {
        "calls": sum(r.calls for r in records),
        "failed": sum(r.failed_calls for r in records),
        "seconds": sum((r.duration_seconds for r in records), Decimal(0)),
        "minutes": sum((r.billed_minutes for r in records), Decimal(0)),
    }


@pytest.mark.parametrize("style", ["protobuf", "django", "iso", "mixed"])
def test_a_month_of_days_sums_to_the_server_figures(style, fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key, duration_style=style)
    with EmulatorServer(emulator) as server:
        with connect(server, fake_key, sleeps) as connection:
            result = connection.fetch(*OCTOBER, granularity="day")
            records = check_records(result, result.query, provider="ultravox")
        (request,) = server.requests
        assert request.path == "/api/accounts/me/usage/calls"
        assert request.query == {"fromDate": ["2026-10-01"], "toDate": ["2026-10-31"]}
        assert request.headers["x-api-key"] == fake_key
    assert len(records) == 31
    assert [r.period_start.date() for r in records] == [
        date(2026, 10, 1) + timedelta(days=n) for n in range(31)
    ]
    calls = emulator.calls_between(OCTOBER[0], END_OF_OCTOBER)
    assert record_totals(records) == expected_totals(calls)
    assert sum(r.cost for r in records) == expected_totals(calls)["minutes"] * Decimal("0.05")
    assert result.report.reconciled and result.warnings == []
    assert not any(r.cost_estimate for r in records)


@pytest.mark.parametrize(("style", "pattern"), [("protobuf", PROTOBUF), ("django", DJANGO)])
def test_the_server_really_writes_durations_in_that_style(style, pattern, fake_key):
    with EmulatorServer(UltravoxEmulator(api_key=fake_key, duration_style=style)) as server:
        body = httpx.get(
            f"{server.base_url}/api/accounts/me/usage/calls",
            params={"fromDate": "2026-08-01", "toDate": "2026-10-31"},
            headers={"X-API-Key": fake_key},
        ).json()
    durations = [body["allTime"]["duration"]] + [d["duration"] for d in body["daily"]]
    assert all(pattern.match(d) for d in durations), durations
    if style == "django":
        assert any(" " in d for d in durations)  # 3 months' total is over a day: "D HH:MM:SS"


def test_hours_sum_to_the_days(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key, duration_style="mixed")
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        hours = connection.fetch("2026-10-01", "2026-10-04", "hour").to_list()
        days = connection.fetch("2026-10-01", "2026-10-04", "day").to_list()
    assert all(r.period_end - r.period_start == timedelta(hours=1) for r in hours)
    assert record_totals(hours) == record_totals(days)
    calls = emulator.calls_between(
        datetime(2026, 10, 1, tzinfo=UTC), datetime.combine(date(2026, 10, 3), time.max, UTC)
    )
    assert {r.period_start: r.calls for r in hours} == Counter(
        c.created.replace(minute=0, second=0, microsecond=0) for c in calls
    )


def test_calls_walk_a_cursor_list_of_several_pages_to_the_end(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key, max_page_size=40)
    calls = emulator.calls_between(OCTOBER[0], END_OF_OCTOBER)
    pages = math.ceil(len(calls) / 40)
    assert pages >= 4
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        result = connection.fetch(*OCTOBER, granularity="call")
        records = check_records(result, result.query, provider="ultravox")
        requests = list(server.requests)
    assert len(requests) == pages
    assert sorted(r.call_id for r in records) == sorted(c.call_id for c in calls)
    first, *rest = requests
    assert "cursor" not in first.query
    assert first.query["pageSize"] == ["100"]
    for request in rest:
        # The next URL carried every first-page parameter plus the cursor; nothing was added.
        assert set(request.query) == {"fromDate", "toDate", "pageSize", "cursor"}
        assert request.query["fromDate"] == ["2026-10-01"]
    assert len({r.query["cursor"][0] for r in rest}) == len(rest)
    assert result.report.reconciled
    by_status = Counter(r.extras["billing_status"] for r in records)
    assert by_status == Counter(c.billing_status for c in calls)


def test_calls_rolled_up_by_day_agree_with_the_daily_windows(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key, duration_style="django")
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        events = connection.fetch(*OCTOBER, granularity="call").to_list()
        days = connection.fetch(*OCTOBER, granularity="day").to_list()
    rolled = list(rollup(events, Granularity.DAY, since=OCTOBER[0], until=OCTOBER[1]))
    assert [(r.period_start, r.calls, r.failed_calls, r.duration_seconds) for r in rolled] == [
        (r.period_start, r.calls, r.failed_calls, r.duration_seconds) for r in days
    ]
    # Billed minutes agree wherever no call is still pending billing.
    known = {r.period_start: r.billed_minutes for r in rolled if r.billed_minutes is not None}
    assert known
    assert all(known[r.period_start] == r.billed_minutes for r in days if r.period_start in known)


def test_fetching_month_granularity_rolls_up_days(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key)
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        (month,) = connection.fetch(*OCTOBER, granularity="month").to_list()
    totals = expected_totals(emulator.calls_between(OCTOBER[0], END_OF_OCTOBER))
    assert (month.calls, month.billed_minutes) == (totals["calls"], totals["minutes"])


def test_a_120_day_billing_range_takes_two_requests_joined_without_gap_or_overlap(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key)
    since, until = date(2026, 6, 1), date(2026, 9, 29)
    assert (until - since).days == 120
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        result = connection.fetch(since, until, "day", options={"source": "billing"})
        records = check_records(result, result.query)
        requests = sorted(server.requests, key=lambda r: r.query["fromDate"])
    assert [(r.query["fromDate"], r.query["toDate"]) for r in requests] == [
        (["2026-06-01"], ["2026-08-30"]),  # 90 days, toDate exclusive
        (["2026-08-30"], ["2026-09-29"]),  # the next 30, starting where the first stopped
    ]
    all_days = [since + timedelta(days=n) for n in range(120)]
    for item in ("call", "sip"):
        days = [r.period_start.date() for r in records if r.item == item]
        assert days == all_days  # in order, each day once: no gap, no overlap
    calls = [c for d in all_days for c in emulator.calls_on(d)]
    minutes = sum((billed_seconds(c) for c in calls), Decimal(0)) / 60
    sip = sum((c.sip_billed_seconds or Decimal(0) for c in calls), Decimal(0)) / 60
    assert sum(r.billed_minutes for r in records if r.item == "call") == minutes
    assert sum(r.billed_minutes for r in records if r.item == "sip") == sip
    assert sum(r.cost for r in records) == minutes * Decimal("0.05") + sip * Decimal("0.005")
    assert result.report.reconciled


def test_billing_agrees_with_the_usage_aggregates(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key)
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        billing = connection.fetch(*OCTOBER, options={"source": "billing"}).to_list()
        usage = connection.fetch(*OCTOBER).to_list()
    assert [r.billed_minutes for r in billing if r.item == "call"] == [
        r.billed_minutes for r in usage
    ]


def test_the_emulator_refuses_more_than_90_days_with_a_drf_body(fake_key, sleeps):
    with EmulatorServer(UltravoxEmulator(api_key=fake_key)) as server:
        response = httpx.get(
            f"{server.base_url}/api/accounts/me/billing/usage",
            params={"fromDate": "2026-01-01", "toDate": "2026-04-02"},  # 91 days
            headers={"X-API-Key": fake_key},
        )
        ok = httpx.get(
            f"{server.base_url}/api/accounts/me/billing/usage",
            params={"fromDate": "2026-01-01", "toDate": "2026-04-01"},  # 90 days
            headers={"X-API-Key": fake_key},
        )
        bad_date = httpx.get(
            f"{server.base_url}/api/accounts/me/billing/usage",
            params={"fromDate": "01/01/2026"},
            headers={"X-API-Key": fake_key},
        )
        # A request the provider never makes (it splits at 90 days), made by hand: the DRF
        # field map becomes the error message.
        session = Session(UltravoxProvider(), api_key=fake_key, base_url=server.base_url)
        with session, pytest.raises(BadRequestError, match="toDate: toDate must be at most 90"):
            session.get(
                "/api/accounts/me/billing/usage", {"fromDate": "2026-01-01", "toDate": "2026-06-01"}
            )
    assert response.status_code == 400
    assert response.json() == {"toDate": ["toDate must be at most 90 days after fromDate."]}
    assert ok.status_code == 200 and len(ok.json()["dailyUsage"]) == 90
    assert bad_date.status_code == 400 and "fromDate" in bad_date.json()


def test_filters_reach_the_server_and_select_the_same_calls(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key)
    agents = (DEMO_AGENTS[0][0], DEMO_AGENTS[2][0])
    options = {
        "metadata.source": "sip",
        "durationMin": "PT1M",
        "timeOfDayStart": "06:00:00",
        "timeOfDayEnd": "20:00:00",
    }
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        days = connection.fetch(*OCTOBER, agent_ids=agents, options=options).to_list()
        events = connection.fetch(
            *OCTOBER, granularity="call", agent_ids=agents, options=options
        ).to_list()
        first = server.requests[0]
    assert first.query["agentIds"] == list(agents)  # repeated, in order
    assert first.query["metadata.source"] == ["sip"]
    assert first.query["durationMin"] == ["60s"]
    selected = [
        c
        for c in emulator.calls_between(OCTOBER[0], END_OF_OCTOBER)
        if c.agent_id in agents
        and c.metadata["source"] == "sip"
        and talk(c) >= 60
        and time(6) <= c.created.time() <= time(20)
    ]
    assert selected
    assert sum(r.calls for r in days) == len(selected) == len(events)
    assert {e.call_id for e in events} == {c.call_id for c in selected}


def test_per_agent_usage(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key)
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        result = connection.fetch(*OCTOBER, options={"source": "agents"})
        records = check_records(result, result.query)
    calls = emulator.calls_between(OCTOBER[0], END_OF_OCTOBER)
    for agent_id, name in DEMO_AGENTS:
        mine = [r for r in records if r.agent_id == agent_id]
        theirs = [c for c in calls if c.agent_id == agent_id]
        assert sum(r.calls for r in mine) == len(theirs)
        assert (
            sum(r.billed_minutes for r in mine)
            == sum((billed_seconds(c) for c in theirs), Decimal(0)) / 60
        )
        assert {r.extras["agent_name"] for r in mine} == {name}


def test_429_with_retry_after_is_waited_out(fake_key, sleeps):
    with EmulatorServer(UltravoxEmulator(api_key=fake_key)) as server:
        server.faults.add(Fault(status=429, headers={"Retry-After": "3"}), times=2)
        with connect(server, fake_key, sleeps) as connection:
            records = connection.fetch(*OCTOBER).to_list()
        assert len(server.requests) == 3
    assert len(records) == 31
    assert sleeps == [3.0, 3.0]


def test_server_errors_and_resets_are_retried_on_a_cursor_walk(fake_key, sleeps):
    emulator = UltravoxEmulator(api_key=fake_key, max_page_size=60)
    server = EmulatorServer(emulator)
    with server, connect(server, fake_key, sleeps, concurrency=1) as connection:
        result = connection.fetch(*OCTOBER, granularity="call")
        iterator = iter(result)
        first = next(iterator)  # page 1 served; fault the next request
        server.faults.add(Fault(status=503), times=1)
        server.faults.add(Fault(action="reset"), times=1)
        records = [first, *iterator]
    assert len(records) == len(emulator.calls_between(OCTOBER[0], END_OF_OCTOBER))
    assert len(sleeps) == 2


def test_a_wrong_key_is_an_authentication_error_without_the_key(fake_key, sleeps):
    server = EmulatorServer(UltravoxEmulator(api_key=fake_key))
    with server, connect(server, "wrong-key-123", sleeps) as connection:
        with pytest.raises(AuthenticationError) as caught:
            connection.fetch(*OCTOBER).to_list()
        assert len(server.requests) == 1  # never retried
    assert "Invalid API key" in str(caught.value)
    assert "wrong-key-123" not in str(caught.value)


def test_a_cut_body_and_an_html_page_are_reported(fake_key, sleeps):
    with EmulatorServer(UltravoxEmulator(api_key=fake_key)) as server:
        server.faults.add(Fault(action="html"), times=1)
        connection = connect(server, fake_key, sleeps)
        with connection, pytest.raises(voice_usage.ResponseValidationError, match="expected JSON"):
            connection.fetch(*OCTOBER).to_list()


def test_next_urls_are_absolute_and_built_from_the_request_origin(fake_key):
    with EmulatorServer(UltravoxEmulator(api_key=fake_key, max_page_size=5)) as server:
        body = httpx.get(
            f"{server.base_url}/api/calls",
            params={
                "fromDate": "2026-10-01",
                "toDate": "2026-10-10",
                "agentIds": [DEMO_AGENTS[0][0], DEMO_AGENTS[1][0]],
            },
            headers={"X-API-Key": fake_key},
        ).json()
        nxt = httpx.URL(body["next"])
        assert str(nxt).startswith(f"{server.base_url}/api/calls?")
        assert nxt.params.get_list("agentIds") == [DEMO_AGENTS[0][0], DEMO_AGENTS[1][0]]
        second = httpx.get(str(nxt), headers={"X-API-Key": fake_key}).json()
    assert body["previous"] is None and second["previous"] is not None
    assert {c["callId"] for c in body["results"]}.isdisjoint(c["callId"] for c in second["results"])


def test_the_data_is_deterministic_for_any_range(fake_key):
    one, two = UltravoxEmulator(api_key=fake_key), UltravoxEmulator(api_key="other")
    day = date(2031, 2, 28)
    assert one.calls_on(day) == two.calls_on(day)
    assert one.calls_on(date(1999, 12, 31))
    assert UltravoxEmulator(seed="elsewhere").calls_on(day) != one.calls_on(day)
    span = one.calls_between(
        datetime(2031, 2, 27, 12, tzinfo=UTC), datetime(2031, 3, 1, 11, 59, tzinfo=UTC)
    )
    assert all(datetime(2031, 2, 27, 12, tzinfo=UTC) <= c.created for c in span)
    assert {c.call_id for c in one.calls_on(day)} <= {c.call_id for c in span}


def test_the_provider_offers_its_emulator_for_the_demo(fake_key, sleeps):
    emulator = UltravoxProvider().emulator(fake_key)
    assert isinstance(emulator, UltravoxEmulator) and emulator.api_key == fake_key
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as connection:
        account = connection.balance()
        records = connection.fetch(date.today() - timedelta(days=7), date.today()).to_list()
    assert account.free_time_used == 1800
    assert len(records) == 7
