"""The AgentPhone provider against its emulator over loopback: windows, limits, views, errors.

Expected figures come from the emulator's own per-day data (read directly, not through the
provider) or are worked out by hand from the vendor's documented example.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

import voice_usage
from voice_usage import (
    AuthenticationError,
    BadRequestError,
    CallPart,
    ConfigurationError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
    UnsupportedQueryError,
    UsageQuery,
)
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage.testing import check_provider, check_records
from voice_usage_agentphone import AgentPhoneEmulator, AgentPhoneProvider, UsageSnapshot
from voice_usage_agentphone import _provider as provider_module
from voice_usage_agentphone._wire import DAILY_USAGE, MONTHLY_USAGE, exclusive_end, parse_month
from voice_usage_agentphone.emulator import DEMO_AGENTS

TODAY = date(2026, 11, 22)
ALPHA, BETA = DEMO_AGENTS[0].id, DEMO_AGENTS[1].id
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def by_hand(seconds: int | Decimal, calls: int, per_minute: str) -> Decimal:
    """USD for a window: minutes times the price, at least one cent per call."""
    plain = Decimal(seconds) / 60 * Decimal(per_minute)
    return max(plain, CENT * calls).quantize(MICRO, rounding=ROUND_HALF_UP)


@pytest.fixture(autouse=True)
def _no_mode_env(monkeypatch):
    monkeypatch.delenv("AGENTPHONE_MODE", raising=False)
    monkeypatch.delenv("VOICE_USAGE_RATECARDS", raising=False)


@pytest.fixture
def emulator(fake_key):
    return AgentPhoneEmulator(api_key=fake_key, today=TODAY)


@pytest.fixture
def connect(server, fake_key, sleeps):
    opened = []

    def _connect(provider=None, **options):
        connection = voice_usage.connect(
            provider or AgentPhoneProvider(today=TODAY),
            api_key=fake_key,
            base_url=server.base_url,
            sleep=sleeps,
            async_sleep=sleeps.asleep,
            **options,
        )
        opened.append(connection)
        return connection

    yield _connect
    for connection in opened:
        connection.close()


def fetch(connection, since, until, granularity="day", **filters):
    result = connection.fetch(since, until, granularity, **filters)
    records = check_records(result, result.query, provider="agentphone")
    return records, result


# --- contract -------------------------------------------------------------------------------


def test_meets_the_provider_contract():
    check_provider(AgentPhoneProvider(today=TODAY))
    check_provider(AgentPhoneProvider())


def test_is_registered_with_its_capabilities():
    provider = voice_usage.load_registry().get("agentphone")
    assert isinstance(provider, AgentPhoneProvider)
    caps = provider.capabilities
    assert caps.implemented and caps.balance and not caps.reports_cost
    assert caps.max_history_days == 365
    assert {g.value for g in caps.granularities} == {"day", "month"}
    assert {"view", "period", "tz", "mode"} <= caps.filters


def test_today_defaults_to_the_utc_date(monkeypatch):
    monkeypatch.setattr(provider_module, "utc_today", lambda: date(2030, 1, 2))
    assert AgentPhoneProvider().today() == date(2030, 1, 2)
    assert AgentPhoneProvider(today=lambda: date(2031, 5, 6)).today() == date(2031, 5, 6)


def test_emulator_comes_with_demo_data(fake_key):
    emulator = AgentPhoneProvider(today=TODAY).emulator(fake_key)
    assert isinstance(emulator, AgentPhoneEmulator)
    assert emulator.api_key == fake_key and emulator.current_date() == TODAY
    assert emulator.day(TODAY - timedelta(days=1)).calls > 0


# --- daily ----------------------------------------------------------------------------------


def test_thirty_days_give_thirty_daily_windows_summing_to_the_server(connect, server, emulator):
    since = TODAY - timedelta(days=30)
    records, result = fetch(connect(), since, TODAY)
    days = [since + timedelta(days=n) for n in range(30)]
    assert [r.period_start for r in records] == [midnight(d) for d in days]
    assert all(r.period_end - r.period_start == timedelta(days=1) for r in records)
    assert [r.calls for r in records] == [emulator.day(d).calls for d in days]
    assert sum(r.calls for r in records) == sum(emulator.day(d).calls for d in days)
    assert [r.extras["messages"] for r in records] == [emulator.day(d).messages for d in days]
    assert [r.extras["webhooks"] for r in records] == [emulator.day(d).webhooks for d in days]
    # "The last N days" counts today: 30 whole days back from yesterday need N = 31.
    assert [(q.path, q.param("days")) for q in server.requests] == [("/v1/usage/daily", "31")]
    assert result.warnings == []


def test_daily_counts_without_duration_have_no_cost_and_say_why(connect):
    records, _ = fetch(connect(), TODAY - timedelta(days=3), TODAY)
    for record in records:
        assert record.duration_seconds is None and record.cost is None
        assert record.cost_source is None and record.currency is None
        assert "without their duration" in record.cost_note
        assert "view=by-agent" in record.cost_note


def test_daily_voice_minutes_are_priced_approximately(fake_key, sleeps):
    emulator = AgentPhoneEmulator(api_key=fake_key, today=TODAY, voice_minutes=True)
    with EmulatorServer(emulator) as server:
        connection = voice_usage.connect(
            AgentPhoneProvider(today=TODAY),
            api_key=fake_key,
            base_url=server.base_url,
            sleep=sleeps,
        )
        records, _ = fetch(connection, TODAY - timedelta(days=7), TODAY)
        connection.close()
    assert len(records) == 7
    for record in records:
        figures = emulator.day(record.period_start.date())
        minutes = Decimal(str(round(figures.seconds / 60, 2)))  # what the emulator reports
        assert record.duration_seconds == minutes * 60
        assert record.cost == by_hand(minutes * 60, figures.calls, "0.13")
        assert record.currency == "USD" and record.cost_source == "rate_card"
        assert record.cost_estimate and "webhook mode" in record.cost_note


def test_since_beyond_365_days_is_refused_before_any_request(connect, server):
    with pytest.raises(UnsupportedQueryError) as caught:
        connect().fetch(TODAY - timedelta(days=400), TODAY, "day")
    message = str(caught.value)
    assert message.startswith("agentphone: ")
    assert "365 days" in message
    assert "2025-11-23" in message  # the earliest day: today minus 364
    assert server.requests == []


def test_the_earliest_reachable_day_is_answered(connect, server, emulator):
    earliest = TODAY - timedelta(days=364)
    records, _ = fetch(connect(), earliest, earliest + timedelta(days=2))
    assert [r.period_start for r in records] == [
        midnight(earliest),
        midnight(earliest) + timedelta(days=1),
    ]
    assert records[0].calls == emulator.day(earliest).calls
    assert server.requests[0].param("days") == "365"


def test_partial_days_at_the_edges_are_left_out_with_a_warning(connect):
    since = datetime(2026, 11, 10, 12, tzinfo=UTC)
    until = datetime(2026, 11, 15, 6, tzinfo=UTC)
    records, result = fetch(connect(), since, until)
    assert [r.period_start.day for r in records] == [11, 12, 13, 14]
    assert len(result.warnings) == 1
    assert "2026-11-10, 2026-11-15" in result.warnings[0]
    assert "whole UTC days" in result.warnings[0]


def test_a_query_without_a_whole_day_warns_and_sends_nothing(connect, server):
    records, result = fetch(
        connect(), datetime(2026, 11, 10, 8, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC)
    )
    assert records == [] and server.requests == []
    assert any("no whole UTC day" in w for w in result.warnings)


def test_a_day_missing_from_the_answer_is_reported_not_zeroed(connect, server):
    days = [TODAY - timedelta(days=n) for n in range(4, -1, -1)]  # 5 days up to today
    body = {
        "data": [
            {"date": d.isoformat(), "messages": 1, "calls": 2, "webhooks": 3}
            for d in days
            if d != TODAY - timedelta(days=2)
        ],
        "days": 5,
    }
    server.faults.add(Fault(action="body", body=json.dumps(body).encode()))
    records, result = fetch(connect(), TODAY - timedelta(days=4), TODAY)
    assert len(records) == 3
    assert result.warnings == [
        "agentphone: daily usage has no entry for 1 day(s) in the period (2026-11-20); "
        "they are left out, not counted as zero"
    ]


# --- monthly --------------------------------------------------------------------------------


def test_whole_months_come_from_the_monthly_endpoint(connect, server, emulator):
    records, result = fetch(connect(), "2025-12-01", "2026-11-01", "month")
    months = [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 11)]
    assert [r.period_start.date() for r in records] == months
    for record, start in zip(records, months, strict=True):
        stop = record.period_end.date()
        assert stop == (date(start.year + start.month // 12, start.month % 12 + 1, 1))
        assert record.calls == emulator.days(start, stop).calls
        assert record.cost is None and "monthly usage" in record.cost_note
    assert [(q.path, q.param("months")) for q in server.requests] == [("/v1/usage/monthly", "12")]
    assert result.warnings == []


def test_months_cut_by_the_edges_are_summed_from_days(connect, server, emulator):
    records, result = fetch(connect(), "2026-01-15", "2026-11-22", "month")
    assert [(q.path, q.param("days")) for q in server.requests] == [("/v1/usage/daily", "312")]
    assert records[0].period_start == datetime(2026, 1, 15, tzinfo=UTC)
    assert records[0].period_end == datetime(2026, 2, 1, tzinfo=UTC)
    assert records[0].calls == emulator.days(date(2026, 1, 15), date(2026, 2, 1)).calls
    assert records[-1].period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert records[-1].period_end == datetime(2026, 11, 22, tzinfo=UTC)
    assert records[-1].calls == emulator.days(date(2026, 11, 1), TODAY).calls
    assert len(records) == 11 and result.warnings == []


def test_months_cut_beyond_daily_reach_are_left_out_with_a_warning(connect, server, emulator):
    records, result = fetch(connect(), "2025-01-15", "2026-11-01", "month")
    assert records[0].period_start == datetime(2025, 2, 1, tzinfo=UTC)
    assert records[-1].period_start == datetime(2026, 10, 1, tzinfo=UTC)
    assert len(records) == 21
    assert server.requests[0].path == "/v1/usage/monthly"
    assert server.requests[0].param("months") == "22"
    assert len(result.warnings) == 1
    assert "cut the month(s) 2025-01" in result.warnings[0]


def test_months_beyond_24_are_refused(connect, server):
    with pytest.raises(UnsupportedQueryError, match=r"24 months at most.*2024-12"):
        connect().fetch("2024-01-01", "2025-01-01", "month")
    assert server.requests == []


def test_daily_and_monthly_views_refuse_agent_and_number_filters(connect):
    with pytest.raises(UnsupportedQueryError, match="view=by-agent"):
        connect().fetch("2026-11-01", "2026-11-10", "day", agent_ids=(ALPHA,))
    with pytest.raises(UnsupportedQueryError, match="view=by-number"):
        connect().fetch("2026-11-01", "2026-11-10", "day", number_ids=("num_x",))


# --- by agent -------------------------------------------------------------------------------

MONTH = {"view": "by-agent", "period": "month"}


def test_per_agent_records_for_the_current_month(connect, server, emulator):
    records, result = fetch(connect(), "2026-11-01", "2026-12-01", options=MONTH)
    assert [r.agent_id for r in records] == [a.id for a in DEMO_AGENTS]
    unassigned = records[-1]
    assert unassigned.agent_id is None
    assert unassigned.extras["agentName"] == "Unassigned"
    assert unassigned.extras["isOrphan"] is True
    for index, record in enumerate(records):
        figures = emulator.agent_period(index, "month")
        assert record.period_start == datetime(2026, 11, 1, tzinfo=UTC)
        assert record.period_end == datetime(2026, 12, 1, tzinfo=UTC)
        assert record.calls == figures.calls
        assert record.duration_seconds == figures.seconds
        assert record.extras["messages"] == figures.messages
        assert record.cost == by_hand(figures.seconds, figures.calls, "0.13")
        assert record.billed_minutes == (Decimal(figures.seconds) / 60).quantize(
            Decimal("0.000001")
        )
        assert record.currency == "USD" and record.cost_source == "rate_card"
        assert record.cost_estimate
        assert record.rate_card == "agentphone/call[webhook]@2025-06-01"
        assert record.cost_components == {"voice_webhook": record.cost}
        assert set(record.cost_covers) == set(CallPart)  # telephony included
    # Reminder Bot's calls are a few seconds long: the cent-per-call floor decides its cost.
    bot, bot_figures = records[2], emulator.agent_period(2, "month")
    assert bot.cost == CENT * bot_figures.calls
    assert "applied" in bot.cost_note and "not reached" not in bot.cost_note
    assert [(q.path, dict(q.query)) for q in server.requests] == [
        ("/v1/usage/by-agent", {"period": ["month"]})
    ]
    # Nobody said the mode: webhook is priced, and labelled an assumption.
    assert result.warnings == [
        "agentphone: priced in webhook mode, an assumption: AgentPhone's API does not say each "
        "agent's voice mode; set --option mode=hosted|webhook or AGENTPHONE_MODE to say it"
    ]
    assert "webhook mode (assumed" in records[0].cost_note


def test_an_agent_whose_entry_states_its_mode_is_priced_in_it():
    from voice_usage_agentphone import _wire
    from voice_usage_agentphone._provider import _stated_mode

    item = {"agentId": "a", "agentName": "A", "calls": 1, "totalSeconds": 60, "messages": 0}
    assert _stated_mode(_wire.AgentUsageItem.model_validate(item)) is None
    stated = _wire.AgentUsageItem.model_validate({**item, "voiceMode": "Hosted"})
    assert _stated_mode(stated) == "hosted"


DOCUMENTED = [  # https://agentphone.ai/docs/api-reference/usage/get-usage-by-agent-v-1-usage-by-agent-get
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
    # Not in the example: forty two-second calls, where the minimum per call decides.
    {
        "agentId": "d4e5f6a7-0000-0000-0000-000000000004",
        "agentName": "Short Calls",
        "messages": 0,
        "calls": 40,
        "totalSeconds": 120,
        "isOrphan": False,
    },
]


@pytest.fixture
def documented_server(fake_key):
    emulator = AgentPhoneEmulator(api_key=fake_key, today=TODAY, agent_usage=DOCUMENTED)
    with EmulatorServer(emulator) as running:
        yield running


def documented_costs(documented_server, fake_key, sleeps, options):
    with voice_usage.connect(
        AgentPhoneProvider(today=TODAY),
        api_key=fake_key,
        base_url=documented_server.base_url,
        sleep=sleeps,
    ) as connection:
        records, _ = fetch(connection, "2026-11-01", "2026-12-01", options=options)
    return records


def test_documented_figures_priced_by_hand_in_webhook_mode(documented_server, fake_key, sleeps):
    records = documented_costs(documented_server, fake_key, sleeps, MONTH)
    # 7320 s = 122 min x 0.13 = 15.86 (floor 47 x 0.01 = 0.47); 5400 s = 90 min x 0.13 = 11.70;
    # 600 s = 10 min x 0.13 = 1.30; 120 s = 2 min x 0.13 = 0.26 < 40 x 0.01 = 0.40.
    assert [r.cost for r in records] == [
        Decimal("15.86"),
        Decimal("11.70"),
        Decimal("1.30"),
        Decimal("0.40"),
    ]
    assert [r.billed_minutes for r in records] == [122, 90, 10, 2]
    assert [r.duration_seconds for r in records] == [7320, 5400, 600, 120]
    assert records[2].agent_id is None and records[2].calls == 5
    assert sum(r.cost for r in records) == Decimal("29.26")


def test_documented_figures_priced_by_hand_in_hosted_mode(documented_server, fake_key, sleeps):
    records = documented_costs(documented_server, fake_key, sleeps, {**MONTH, "mode": "hosted"})
    # 122 x 0.22 = 26.84; 90 x 0.22 = 19.80; 10 x 0.22 = 2.20; 2 x 0.22 = 0.44 > 0.40.
    assert [r.cost for r in records] == [
        Decimal("26.84"),
        Decimal("19.80"),
        Decimal("2.20"),
        Decimal("0.44"),
    ]
    assert all("hosted mode" in r.cost_note and "[hosted]" in r.cost_note for r in records)


def test_mode_from_the_environment_and_the_option_wins(
    documented_server, fake_key, sleeps, monkeypatch
):
    monkeypatch.setenv("AGENTPHONE_MODE", "hosted")
    records = documented_costs(documented_server, fake_key, sleeps, MONTH)
    assert records[0].cost == Decimal("26.84")
    records = documented_costs(documented_server, fake_key, sleeps, {**MONTH, "mode": "webhook"})
    assert records[0].cost == Decimal("15.86")


def test_an_invalid_mode_is_a_clear_error(connect, monkeypatch):
    with pytest.raises(ConfigurationError, match=r"webhook or hosted.*'cloud'"):
        connect().fetch("2026-11-01", "2026-12-01", options={**MONTH, "mode": "cloud"})
    monkeypatch.setenv("AGENTPHONE_MODE", "Hosted")
    with pytest.raises(ConfigurationError, match="AGENTPHONE_MODE must be webhook or hosted"):
        connect().fetch("2026-11-01", "2026-12-01", options=MONTH)


def test_a_time_zone_moves_the_period_and_the_inclusive_end_becomes_exclusive(connect, server):
    options = {**MONTH, "tz": "America/New_York"}
    records, _ = fetch(
        connect(), "2026-11-01T00:00:00-04:00", "2026-12-01T00:00:00-05:00", options=options
    )
    # Midnight in New York: still daylight time on 1 November (UTC-4), standard on 1 December.
    assert {r.period_start for r in records} == {datetime(2026, 11, 1, 4, tzinfo=UTC)}
    assert {r.period_end for r in records} == {datetime(2026, 12, 1, 5, tzinfo=UTC)}
    assert server.requests[0].param("tz") == "America/New_York"
    assert records[0].extras["tz"] == "America/New_York"


def test_a_query_that_cuts_the_vendor_period_is_refused_with_the_range_to_ask(connect):
    with pytest.raises(UnsupportedQueryError) as caught:
        connect().fetch("2026-11-01", "2026-11-22", options=MONTH).to_list()
    assert "cannot be cut" in str(caught.value)
    assert "since 2026-11-01T00:00:00Z until 2026-12-01T00:00:00Z" in str(caught.value)


def test_a_query_far_from_today_is_refused_before_any_request(connect, server):
    with pytest.raises(UnsupportedQueryError, match="current calendar month"):
        connect().fetch("2026-01-01", "2026-02-01", options=MONTH)
    assert server.requests == []


def test_week_and_year_periods(connect, emulator):
    week, _ = fetch(
        connect(), "2026-11-16", "2026-11-23", options={"view": "by-agent", "period": "week"}
    )
    assert {(r.period_start, r.period_end) for r in week} == {
        (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    }
    assert week[0].calls == emulator.days(date(2026, 11, 16), date(2026, 11, 23), 0).calls
    year, _ = fetch(
        connect(), "2026-01-01", "2027-01-01", options={"view": "by-agent", "period": "year"}
    )
    assert year[0].period_start == datetime(2026, 1, 1, tzinfo=UTC)
    assert year[0].calls == emulator.days(date(2026, 1, 1), date(2027, 1, 1), 0).calls


def test_the_agent_filter_keeps_those_agents(connect):
    records, _ = fetch(connect(), "2026-11-01", "2026-12-01", agent_ids=(BETA,), options=MONTH)
    assert [r.agent_id for r in records] == [BETA]


def test_no_rate_card_in_force_leaves_the_cost_unknown_with_the_reason(fake_key, sleeps):
    june = date(2024, 6, 15)
    with (
        EmulatorServer(AgentPhoneEmulator(api_key=fake_key, today=june)) as server,
        voice_usage.connect(
            AgentPhoneProvider(today=june), api_key=fake_key, base_url=server.base_url, sleep=sleeps
        ) as connection,
    ):
        records, _ = fetch(connection, "2024-06-01", "2024-07-01", options=MONTH)
    assert records and all(r.cost is None and r.cost_source is None for r in records)
    assert all(r.duration_seconds is not None for r in records)
    assert "no rate card" in records[0].cost_note and "2024-06-01" in records[0].cost_note


# --- by number ------------------------------------------------------------------------------


def test_per_number_records(connect, server, emulator):
    records, result = fetch(connect(), "2026-11-01", "2026-12-01", options={"view": "by-number"})
    assert [r.number_id for r in records] == [a.number_id for a in DEMO_AGENTS]
    assert [r.agent_id for r in records] == [a.id for a in DEMO_AGENTS]
    lifetime = [
        emulator.days(TODAY - timedelta(days=799), TODAY + timedelta(days=1), i) for i in range(4)
    ]
    assert [r.calls for r in records] == [f.calls for f in lifetime]
    assert [r.extras["messages"] for r in records] == [f.messages for f in lifetime]
    assert records[0].extras["phoneNumber"] == "+14155552671"
    assert records[-1].agent_id is None and "agentName" not in records[-1].extras
    assert all(r.cost is None and "per-number usage" in r.cost_note for r in records)
    assert any("states no period" in w for w in result.warnings)
    assert server.requests[0].path == "/v1/usage/by-number"


def test_per_number_filters(connect):
    records, _ = fetch(
        connect(),
        "2026-11-01",
        "2026-12-01",
        number_ids=("+14155552672",),
        options={"view": "by-number"},
    )
    assert [r.number_id for r in records] == [DEMO_AGENTS[1].number_id]
    records, _ = fetch(
        connect(), "2026-11-01", "2026-12-01", agent_ids=(ALPHA,), options={"view": "by-number"}
    )
    assert [r.number_id for r in records] == [DEMO_AGENTS[0].number_id]


# --- options --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"view": "agents"}, "view must be one of"),
        ({"view": "by-agent", "period": "day"}, "period must be week, month or year"),
        ({"period": "month"}, "apply to view=by-agent only"),
    ],
)
def test_bad_options_are_configuration_errors(options, message):
    query = UsageQuery(since="2026-11-01", until="2026-12-01", options=options)
    with pytest.raises(ConfigurationError, match=message):
        AgentPhoneProvider(today=TODAY).plan(query)


def test_an_option_not_declared_is_refused_by_the_core_check():
    # The core checks names against `capabilities.filters` before `plan()` is called.
    provider = AgentPhoneProvider(today=TODAY)
    query = UsageQuery(since="2026-11-01", until="2026-12-01", options={"veiw": "by-agent"})
    with pytest.raises(UnsupportedQueryError, match="agentphone: unknown option 'veiw'"):
        provider.capabilities.check(provider.name, query)


# --- balance --------------------------------------------------------------------------------


def test_balance_is_the_plan_and_quota_snapshot(connect, server, emulator):
    snapshot = connect().balance()
    assert isinstance(snapshot, UsageSnapshot)
    assert snapshot.plan.name == "pro"
    assert snapshot.plan.limits.voice_minutes_per_month == 500
    assert (snapshot.numbers.used, snapshot.numbers.limit, snapshot.numbers.remaining) == (4, 10, 6)
    lifetime = emulator.days(TODAY - timedelta(days=799), TODAY + timedelta(days=1))
    assert snapshot.stats.total_calls == lifetime.calls
    assert (
        snapshot.stats.calls_last_7d
        == emulator.days(TODAY - timedelta(days=6), TODAY + timedelta(days=1)).calls
    )
    assert snapshot.period_start == datetime(2026, 11, 1, tzinfo=UTC)
    assert [q.path for q in server.requests] == ["/v1/usage"]


# --- errors ---------------------------------------------------------------------------------


def test_a_wrong_key_is_an_authentication_error_without_the_key(server, sleeps):
    connection = voice_usage.connect(
        AgentPhoneProvider(today=TODAY),
        api_key="wrong-key-0123456789",
        base_url=server.base_url,
        sleep=sleeps,
    )
    with pytest.raises(AuthenticationError) as caught:
        connection.fetch(TODAY - timedelta(days=2), TODAY).to_list()
    connection.close()
    assert caught.value.vendor_message == "Invalid or missing API key"
    assert "wrong-key-0123456789" not in str(caught.value)
    assert len(server.requests) == 1


def test_rate_limits_are_retried_after_the_delay_the_vendor_asks(connect, server, sleeps):
    server.faults.add(Fault(status=429, headers={"Retry-After": "2"}), times=2)
    records, _ = fetch(connect(concurrency=1), TODAY - timedelta(days=2), TODAY)
    assert len(records) == 2
    assert list(sleeps) == [2.0, 2.0]
    assert len(server.requests) == 3


def test_a_lasting_rate_limit_carries_the_vendor_code(connect, server, sleeps):
    server.faults.add(Fault(status=429, headers={"Retry-After": "1"}), times=None)
    with pytest.raises(RateLimitError) as caught:
        connect(concurrency=1).fetch(TODAY - timedelta(days=2), TODAY).to_list()
    error = caught.value
    assert error.vendor_code == "RATE_LIMIT_EXCEEDED"
    assert error.vendor_message == "Rate limit exceeded. Limit: 5 requests per 3600s"
    assert error.retry_after == 1.0 and error.attempts == 5
    assert list(sleeps) == [1.0] * 4


def test_server_errors_are_retried_then_raised(connect, server, sleeps):
    server.faults.add(Fault(status=503), times=None)
    with pytest.raises(ServerError) as caught:
        connect(concurrency=1).fetch(TODAY - timedelta(days=2), TODAY).to_list()
    assert caught.value.vendor_code == "INTERNAL_ERROR"
    assert len(server.requests) == 5


def test_fastapi_validation_errors_carry_the_field_and_type(connect, server):
    detail = {
        "detail": [
            {
                "type": "less_than_equal",
                "loc": ["query", "days"],
                "msg": "Input should be less than or equal to 365",
                "input": "400",
                "ctx": {"le": 365},
            }
        ]
    }
    server.faults.add(Fault(status=422, body=json.dumps(detail).encode()))
    with pytest.raises(UnprocessableEntityError) as caught:
        connect().fetch(TODAY - timedelta(days=2), TODAY).to_list()
    assert caught.value.vendor_code == "less_than_equal"
    assert caught.value.vendor_message == "days: Input should be less than or equal to 365"
    assert len(server.requests) == 1  # a 422 is never retried


def test_a_plain_detail_becomes_the_message(connect):
    with pytest.raises(BadRequestError) as caught:
        connect().fetch(
            "2026-11-01", "2026-12-01", options={**MONTH, "tz": "Mars/Olympus_Mons"}
        ).to_list()
    assert caught.value.vendor_message == "Invalid timezone: Mars/Olympus_Mons"
    assert caught.value.vendor_code is None


def test_the_error_envelope_with_details():
    body = {
        "error": {
            "message": "Validation failed",
            "code": "VALIDATION_ERROR",
            "type": "invalid_request_error",
            "details": [
                {"field": "country", "message": "Unsupported country", "type": "value_error"}
            ],
        }
    }
    vendor = AgentPhoneProvider().parse_error(400, body)
    assert vendor.code == "VALIDATION_ERROR"
    assert vendor.message == "Validation failed (country: Unsupported country)"
    only_type = AgentPhoneProvider().parse_error(
        500, {"error": {"message": "boom", "type": "api_error"}}
    )
    assert (only_type.code, only_type.message) == ("api_error", "boom")
    assert AgentPhoneProvider().parse_error(404, {"detail": "Not Found"}).message == "Not Found"
    assert (
        AgentPhoneProvider().parse_error(502, "<html>bad gateway</html>").message
        == "<html>bad gateway</html>"
    )


# --- wire -----------------------------------------------------------------------------------


def test_a_count_of_the_wrong_type_names_the_field(connect, server):
    body = {
        "data": [{"date": TODAY.isoformat(), "messages": 1, "calls": "3", "webhooks": 0}],
        "days": 2,
    }
    server.faults.add(Fault(action="body", body=json.dumps(body).encode()))
    with pytest.raises(ResponseValidationError) as caught:
        connect().fetch(TODAY - timedelta(days=1), TODAY).to_list()
    assert caught.value.field == "data.0.calls"
    assert "/v1/usage/daily" in str(caught.value)


def test_unknown_fields_are_kept_as_extras(connect, server):
    yesterday = TODAY - timedelta(days=1)
    body = {
        "data": [
            {
                "date": yesterday.isoformat(),
                "messages": 4,
                "calls": 3,
                "webhooks": 7,
                "smsSegments": 9,
            }
        ],
        "days": 2,
        "timezone": "UTC",
    }
    server.faults.add(Fault(action="body", body=json.dumps(body).encode()))
    records, _ = fetch(connect(), yesterday, TODAY)
    assert records[0].extras == {"messages": 4, "webhooks": 7, "smsSegments": 9}


def test_the_mcp_shape_without_webhooks_or_days_is_read():
    body = b'{"data": [{"date": "2025-01-09", "messages": 12, "calls": 3, "voiceMinutes": 7.25}]}'
    parsed = DAILY_USAGE.validate_json(body)
    assert parsed.days is None and parsed.data[0].webhooks is None
    assert parsed.data[0].voiceMinutes == Decimal("7.25")
    monthly = MONTHLY_USAGE.validate_json(
        b'{"data": [{"month": "2025-01", "messages": 1, "calls": 2}]}'
    )
    assert monthly.data[0].month == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01", date(2025, 1, 1)),
        ("2025-12-01", date(2025, 12, 1)),
        ("2025-03-01T00:00:00Z", date(2025, 3, 1)),
    ],
)
def test_month_labels(text, expected):
    assert parse_month(text) == expected


@pytest.mark.parametrize("text", ["Jan 2025", "2025-13", "2025-01-15", "202501", ""])
def test_month_labels_that_are_refused(text):
    with pytest.raises(ValueError, match="expected a month"):
        parse_month(text)


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)),
        (datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)),
        (datetime(2024, 6, 30, 23, 59, 59, 999000, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)),
    ],
)
def test_the_inclusive_period_end_becomes_exclusive(end, expected):
    assert exclusive_end(end) == expected


# --- the emulator ---------------------------------------------------------------------------


def test_the_emulator_answers_an_out_of_range_days_with_fastapi_422(server, fake_key):
    headers = {"Authorization": f"Bearer {fake_key}"}
    answer = httpx.get(f"{server.base_url}/v1/usage/daily", params={"days": 400}, headers=headers)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "type": "less_than_equal",
                "loc": ["query", "days"],
                "msg": "Input should be less than or equal to 365",
                "input": "400",
                "ctx": {"le": 365},
            }
        ]
    }
    answer = httpx.get(f"{server.base_url}/v1/usage/by-agent", headers=headers)
    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "missing"
    assert httpx.get(f"{server.base_url}/v1/usage/daily").status_code == 401
    assert httpx.get(f"{server.base_url}/v1/nothing", headers=headers).status_code == 404


def test_the_emulator_figures_agree_across_endpoints(server, fake_key, emulator):
    headers = {"Authorization": f"Bearer {fake_key}"}
    daily = httpx.get(
        f"{server.base_url}/v1/usage/daily", params={"days": 22}, headers=headers
    ).json()
    monthly = httpx.get(
        f"{server.base_url}/v1/usage/monthly", params={"months": 1}, headers=headers
    ).json()
    agents = httpx.get(
        f"{server.base_url}/v1/usage/by-agent", params={"period": "month"}, headers=headers
    ).json()
    november = sum(p["calls"] for p in daily["data"])  # 1 to 22 November
    assert monthly["data"] == [
        {
            "month": "2026-11",
            "messages": sum(p["messages"] for p in daily["data"]),
            "calls": november,
            "webhooks": sum(p["webhooks"] for p in daily["data"]),
        }
    ]
    assert sum(a["calls"] for a in agents["data"]) == november
    assert agents["periodEnd"] == "2026-11-30T23:59:59Z"


def test_the_emulator_follows_its_today_function(fake_key):
    days = iter([date(2026, 1, 1), date(2026, 1, 2)])
    emulator = AgentPhoneEmulator(api_key=fake_key, today=lambda: next(days))
    assert emulator.current_date() == date(2026, 1, 1)
    assert emulator.current_date() == date(2026, 1, 2)
