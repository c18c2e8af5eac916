"""The Ultravox adapter without a server: planning, parameters, parsing, records, errors.

Bodies are served by `httpx.MockTransport`; every expected figure is worked out by hand.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

import voice_usage
from voice_usage import (
    AuthenticationError,
    BadRequestError,
    CallPart,
    ConfigurationError,
    CostSource,
    CursorPaging,
    Grain,
    Granularity,
    ResponseValidationError,
    UnsupportedQueryError,
    UsageQuery,
    load_registry,
)
from voice_usage.testing import check_provider, check_records
from voice_usage_ultravox import BILLING_OPTIONS, UltravoxProvider
from voice_usage_ultravox._provider import billing_chunks

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
AGENT = "9a3c0f4e-5b1d-4c2a-8e7f-1d2b3c4d5e6f"
OTHER_AGENT = "4f6e8d0c-2b1a-4d3c-9e8f-7a6b5c4d3e2f"
VOICE = "2e5a7c9b-1d3f-4b6a-8c0e-2f4a6b8c0d1e"


def query(since="2026-10-01", until="2026-11-01", granularity="day", **kw):
    return UsageQuery(since=since, until=until, granularity=granularity, **kw)


def served(routes, requests=None):
    """A MockTransport answering ``routes[path]`` (a body, a callable or (status, body))."""

    def handler(request: httpx.Request) -> httpx.Response:
        if requests is not None:
            requests.append(request)
        if request.headers.get("x-api-key") != KEY:
            return httpx.Response(401, json={"detail": "Invalid API key."})
        answer = routes[request.url.path]
        if callable(answer):
            answer = answer(request)
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)


def fetch(routes, q, requests=None, **kw):
    connection = voice_usage.connect(
        UltravoxProvider(), api_key=KEY, transport=served(routes, requests), concurrency=1, **kw
    )
    with connection:
        result = connection.fetch(q)
        records = result.to_list()
    return records, result


def stats(total, errors, duration, joined, minutes, **extra):
    return {
        "totalCount": total,
        "errorCount": errors,
        "duration": duration,
        "joinedCount": joined,
        "billedMinutes": minutes,
        **extra,
    }


# -- registration and contract -----------------------------------------------------------------


def test_registered_under_its_name_and_meets_the_contract():
    registry = load_registry()
    provider = registry.get("ultravox")
    assert isinstance(provider, UltravoxProvider)
    assert registry.providers["ultravox"].distribution == "voice-usage-ultravox"
    check_provider(provider)
    assert provider.auth.headers({"api_key": "k"}) == {"X-API-Key": "k"}
    assert provider.default_base_url == "https://api.ultravox.ai"
    assert provider.capabilities.granularities == {
        Granularity.CALL,
        Granularity.HOUR,
        Granularity.DAY,
    }
    assert not provider.capabilities.reports_cost
    assert provider.env_prefix == "ULTRAVOX"


def test_base_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("ULTRAVOX_API_KEY", KEY)
    monkeypatch.setenv("ULTRAVOX_BASE_URL", "http://127.0.0.1:9")
    connection = voice_usage.connect("ultravox")
    assert connection.base_url == "http://127.0.0.1:9"
    connection.close()


# -- planning ----------------------------------------------------------------------------------


def test_whole_days_become_inclusive_dates_without_the_boundary_day():
    plan = UltravoxProvider().plan(query())
    (walk,) = plan.walks
    assert walk.path == "/api/accounts/me/usage/calls"
    # [2026-10-01, 2026-11-01) -> fromDate=2026-10-01, toDate=2026-10-31 (inclusive, end of day)
    assert walk.params == {"fromDate": "2026-10-01", "toDate": "2026-10-31"}
    assert walk.paging is None
    assert plan.granularity is Granularity.DAY


def test_other_instants_become_utc_datetimes_one_microsecond_before_until():
    plan = UltravoxProvider().plan(
        query("2026-10-01T12:00:00+02:00", "2026-10-02T06:30:00Z", "hour")
    )
    assert plan.walks[0].params == {
        "fromDate": "2026-10-01T10:00:00.000000Z",
        "toDate": "2026-10-02T06:29:59.999999Z",
    }
    assert plan.granularity is Granularity.HOUR


def test_calls_are_a_cursor_walk_with_a_page_size():
    plan = UltravoxProvider(page_size=50).plan(query(granularity="call"))
    (walk,) = plan.walks
    assert walk.path == "/api/calls"
    assert isinstance(walk.paging, CursorPaging)
    assert walk.params["pageSize"] == 50
    assert walk.params["fromDate"] == "2026-10-01"


def test_filters_map_to_the_vendor_parameters():
    plan = UltravoxProvider().plan(
        query(
            agent_ids=(AGENT, OTHER_AGENT),
            options={
                "voiceId": VOICE,
                "durationMin": "PT5M",
                "durationMax": "00:20:00",
                "metadata.source": "sip",
                "search": "booking",
                "timeOfDayStart": "08:00:00",
                "timeOfDayEnd": "17:59:59.999999",
            },
        )
    )
    params = plan.walks[0].params
    assert params["agentIds"] == [AGENT, OTHER_AGENT]
    assert params["voiceId"] == VOICE
    assert params["durationMin"] == "300s"  # sent in the documented protobuf form
    assert params["durationMax"] == "1200s"
    assert params["metadata.source"] == "sip"
    assert params["search"] == "booking"
    assert params["timeOfDayStart"] == "08:00:00"
    assert params["timeOfDayEnd"] == "17:59:59.999999"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"source": "ledger"}, "source='ledger'"),
        ({"durationMin": "5 minutes"}, "option durationMin"),
        ({"timeOfDayStart": "8am"}, "timeOfDayStart"),
        ({"voiceId": "alloy"}, "voiceId must be a UUID"),
        ({"search": ""}, "search must not be empty"),
    ],
)
def test_bad_options_are_configuration_errors_naming_the_option(options, message):
    with pytest.raises(ConfigurationError, match=message) as caught:
        UltravoxProvider().plan(query(options=options))
    assert str(caught.value).startswith("ultravox: ")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"metadata.": "x"}, "unknown option 'metadata.'"),
    ],
)
def test_the_declared_options_refuse_an_unknown_one(options, message):
    # The core checks names against `capabilities.filters` before `plan()` is called.
    provider = UltravoxProvider()
    with pytest.raises(UnsupportedQueryError, match=message) as caught:
        provider.capabilities.check(provider.name, query(options=options))
    assert str(caught.value).startswith("ultravox: ")
    provider.capabilities.check(provider.name, query(options={"metadata.team": "a", "plan": "pro"}))


def test_an_agent_id_must_be_a_uuid():
    with pytest.raises(ConfigurationError, match="agent id must be a UUID, got 'front-desk'"):
        UltravoxProvider().plan(query(agent_ids=("front-desk",)))


def test_there_is_no_phone_number_filter():
    with pytest.raises(UnsupportedQueryError, match="no phone-number filter"):
        UltravoxProvider().plan(query(number_ids=("n1",)))


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("2026-01-01", "2026-01-02", [("2026-01-01", "2026-01-02")]),
        ("2026-01-01", "2026-04-01", [("2026-01-01", "2026-04-01")]),  # exactly 90 days
        ("2026-01-01", "2026-04-02", [("2026-01-01", "2026-04-01"), ("2026-04-01", "2026-04-02")]),
        # 120 days: 90 + 30, end to end
        ("2026-06-01", "2026-09-29", [("2026-06-01", "2026-08-30"), ("2026-08-30", "2026-09-29")]),
        (
            "2026-01-01",
            "2026-07-01",
            [
                ("2026-01-01", "2026-04-01"),
                ("2026-04-01", "2026-06-30"),
                ("2026-06-30", "2026-07-01"),
            ],
        ),
    ],
)
def test_billing_ranges_are_split_into_90_day_requests(since, until, expected):
    plan = UltravoxProvider().plan(query(since, until, options={"source": "billing"}))
    got = [(w.params["fromDate"], w.params["toDate"]) for w in plan.walks]
    assert got == expected
    assert all(w.path == "/api/accounts/me/billing/usage" for w in plan.walks)
    from datetime import date

    assert billing_chunks(date.fromisoformat(since), date.fromisoformat(until)) == [
        (date.fromisoformat(a), date.fromisoformat(b)) for a, b in expected
    ]


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (query(granularity="hour", options={"source": "billing"}), "per UTC day only"),
        (query(granularity="call", options={"source": "agents"}), "per UTC day only"),
        (query("2026-10-01T06:00:00Z", options={"source": "billing"}), "must be dates"),
        (query(agent_ids=(AGENT,), options={"source": "billing"}), "cannot filter by agent"),
        (query(options={"source": "billing", "search": "x"}), "cannot filter by search"),
    ],
)
def test_what_billing_and_agent_usage_cannot_answer(q, message):
    with pytest.raises(UnsupportedQueryError, match=message):
        UltravoxProvider().plan(q)


def test_billing_query_selects_the_billing_endpoint_when_it_can_answer():
    provider = UltravoxProvider()
    billing = provider.billing_query(query(granularity="call"))
    assert billing is not None
    assert billing.options == dict(BILLING_OPTIONS) == {"source": "billing"}
    assert billing.granularity is Granularity.DAY
    assert (billing.since, billing.until) == (query().since, query().until)
    month = provider.billing_query(query(granularity="month"))
    assert month is not None and month.granularity is Granularity.MONTH
    assert provider.plan(billing).walks[0].path == "/api/accounts/me/billing/usage"
    assert provider.billing_query(query(agent_ids=(AGENT,))) is None
    assert provider.billing_query(query(options={"search": "x"})) is None
    assert provider.billing_query(query("2026-10-01T06:00:00Z")) is None


# -- usage/calls -------------------------------------------------------------------------------


def usage_body():
    # Two days, two hours; allTime is their sum (by hand: 7 calls, 1 error, 84 + 62.4 = 146.4 s,
    # 1.5 + 1.2 = 2.7 billed minutes).
    return {
        "allTime": stats(7, 1, "146.400s", 6, 2.7),
        "daily": [
            stats(4, 0, "84s", 4, 1.5, date="2026-10-01"),
            stats(3, 1, "00:01:02.400000", 2, 1.2, date="2026-10-02", futureField="kept"),
        ],
        "hourly": [
            stats(4, 0, "PT1M24S", 4, 1.5, date="2026-10-01", hour=9),
            stats(3, 1, "62.4s", 2, 1.2, date="2026-10-02", hour=23),
        ],
    }


def test_daily_buckets_become_priced_windows_and_reconcile_with_all_time():
    q = query("2026-10-01", "2026-10-03")
    records, result = fetch({"/api/accounts/me/usage/calls": usage_body()}, q)
    check_records(records, q, provider="ultravox")
    first, second = records
    assert (first.period_start, first.period_end) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 10, 2, tzinfo=UTC),
    )
    assert first.grain is Grain.WINDOW and first.item == "call"
    assert (first.calls, first.failed_calls, first.duration_seconds) == (4, 0, Decimal(84))
    assert first.billed_minutes == Decimal("1.5")
    assert first.cost == Decimal("0.075")  # 1.5 min x USD 0.05
    assert (first.currency, first.cost_source) == ("USD", CostSource.RATE_CARD)
    assert first.rate_card == "ultravox/call@2025-01-01"
    assert first.cost_components == {"call_minutes": Decimal("0.075")}
    assert [p.value for p in first.cost_covers] == ["platform", "stt", "llm", "tts"]
    assert not first.cost_estimate
    assert first.connected_calls == 4 and first.extras == {}
    assert second.duration_seconds == Decimal("62.4")
    assert second.failed_calls == 1
    assert second.cost == Decimal("0.06")  # 1.2 x 0.05
    assert second.connected_calls == 2 and second.extras == {"futureField": "kept"}
    assert result.report.reconciled
    assert {c.figure.split(" ")[0] for c in result.report.reconciliations} == {
        "calls",
        "failed_calls",
        "duration_seconds",
        "billed_minutes",
    }
    assert result.warnings == []


def test_hourly_buckets_become_hour_windows():
    q = query("2026-10-01", "2026-10-03", "hour")
    records, result = fetch({"/api/accounts/me/usage/calls": usage_body()}, q)
    assert [(r.period_start, r.period_end) for r in records] == [
        (datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 10, 1, 10, tzinfo=UTC)),
        (datetime(2026, 10, 2, 23, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC)),
    ]
    assert records[0].duration_seconds == Decimal(84)
    assert result.report.reconciled


def test_a_partial_day_is_clipped_to_the_query():
    q = query("2026-10-01T12:00:00Z", "2026-10-02T06:00:00Z")
    records, _ = fetch({"/api/accounts/me/usage/calls": usage_body()}, q)
    assert [(r.period_start, r.period_end) for r in records] == [
        (datetime(2026, 10, 1, 12, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)),
        (datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 2, 6, tzinfo=UTC)),
    ]
    check_records(records, q)


def test_a_bucket_outside_the_range_is_dropped_and_reported():
    q = query("2026-10-02", "2026-10-03")
    records, result = fetch({"/api/accounts/me/usage/calls": usage_body()}, q)
    assert len(records) == 1
    assert any("1 bucket(s) outside" in w for w in result.warnings)
    # allTime still counts the dropped day: the mismatch is reported, not hidden.
    assert not result.report.reconciled


def test_a_mismatch_with_all_time_is_a_warning():
    body = usage_body()
    body["allTime"]["totalCount"] = 8
    _, result = fetch({"/api/accounts/me/usage/calls": body}, query("2026-10-01", "2026-10-03"))
    assert any("vendor reported 8, records sum to 7" in w for w in result.warnings)


def test_one_agent_filter_labels_the_windows():
    requests = []
    records, _ = fetch(
        {"/api/accounts/me/usage/calls": usage_body()},
        query("2026-10-01", "2026-10-03", agent_ids=(AGENT,)),
        requests,
    )
    assert {r.agent_id for r in records} == {AGENT}
    assert requests[0].url.params.get_list("agentIds") == [AGENT]


def test_dates_before_the_rate_card_have_no_cost_and_say_why():
    body = {
        "allTime": stats(1, 0, "60s", 1, 1.0),
        "daily": [stats(1, 0, "60s", 1, 1.0, date="2023-12-25")],
        "hourly": [],
    }
    (record,), _ = fetch({"/api/accounts/me/usage/calls": body}, query("2023-12-25", "2023-12-26"))
    assert record.cost is None and record.cost_source is None
    assert record.billed_minutes == Decimal(1)
    assert "no rate card for ultravox/call in force on 2023-12-25" in record.cost_note


@pytest.mark.parametrize(
    ("mutate", "field", "shown"),
    [
        (lambda b: b["daily"][0].update(duration="1h 24m"), "daily.0.duration", "1h 24m"),
        (lambda b: b["daily"][0].update(duration="<string>"), "daily.0.duration", "<string>"),
        (lambda b: b["daily"][0].update(billedMinutes="1.5"), "daily.0.billedMinutes", "1.5"),
        (lambda b: b["daily"][0].update(totalCount=4.5), "daily.0.totalCount", "4.5"),
        (lambda b: b["daily"][0].update(totalCount="4"), "daily.0.totalCount", "4"),
        (lambda b: b["hourly"][0].update(hour=24), "hourly.0.hour", "24"),
        (lambda b: b["daily"][0].update(errorCount=5), "daily.0", "5"),
        (lambda b: b.pop("allTime"), "allTime", ""),
    ],
)
def test_a_misfit_body_is_a_validation_error_naming_the_field(mutate, field, shown):
    body = usage_body()
    mutate(body)
    with pytest.raises(ResponseValidationError) as caught:
        fetch({"/api/accounts/me/usage/calls": body}, query("2026-10-01", "2026-10-03"))
    assert caught.value.field == field
    assert shown in str(caught.value)
    assert str(caught.value).startswith("ultravox: unexpected response from /api/accounts/me")


# -- billing/usage -----------------------------------------------------------------------------


def test_billing_days_become_call_and_sip_windows_priced_by_item():
    body = {
        "dailyUsage": [
            {"date": "2026-10-01", "minutes": 12.3, "sipMinutes": 4.5},
            {"date": "2026-10-02", "minutes": 0, "sipMinutes": 0},
        ],
        "totalMinutes": 12.3,
        "totalSipMinutes": 4.5,
    }
    q = query("2026-10-01", "2026-10-03", options={"source": "billing"})
    requests = []
    records, result = fetch({"/api/accounts/me/billing/usage": body}, q, requests)
    assert [dict(r.url.params) for r in requests] == [
        {"fromDate": "2026-10-01", "toDate": "2026-10-03"}  # toDate exclusive here
    ]
    check_records(records, q)
    by_item = {(r.period_start.day, r.item): r for r in records}
    call, sip = by_item[(1, "call")], by_item[(1, "sip")]
    assert call.billed_minutes == Decimal("12.3") and call.cost == Decimal("0.615")  # x 0.05
    assert sip.billed_minutes == Decimal("4.5") and sip.cost == Decimal("0.0225")  # x 0.005
    assert "ultravox/sip@2025-11-10" in sip.cost_note
    assert call.calls is None and call.duration_seconds is None  # not reported here
    assert by_item[(2, "call")].cost == 0 and by_item[(2, "call")].billed_minutes == 0
    assert result.report.reconciled


def test_sip_minutes_before_sip_billing_cost_nothing():
    body = {
        "dailyUsage": [{"date": "2025-11-09", "minutes": 1, "sipMinutes": 10}],
        "totalMinutes": 1,
        "totalSipMinutes": 10,
    }
    records, _ = fetch(
        {"/api/accounts/me/billing/usage": body},
        query("2025-11-09", "2025-11-10", options={"source": "billing"}),
    )
    sip = next(r for r in records if r.item == "sip")
    assert sip.cost == 0 and sip.billed_minutes == 10


def test_a_billing_day_given_twice_is_kept_once():
    def answer(request):
        start = request.url.params["fromDate"]
        day = {"2026-01-01": "2026-03-31", "2026-04-01": "2026-04-01"}[start]
        # The first chunk's last day is wrongly repeated by the second answer.
        days = [{"date": day, "minutes": 1.0, "sipMinutes": 0.0}]
        if start == "2026-04-01":
            days.insert(0, {"date": "2026-03-31", "minutes": 1.0, "sipMinutes": 0.0})
        return {"dailyUsage": days, "totalMinutes": float(len(days)), "totalSipMinutes": 0.0}

    records, result = fetch(
        {"/api/accounts/me/billing/usage": answer},
        query("2026-01-01", "2026-04-02", options={"source": "billing"}),
    )
    assert sorted({r.period_start.date().isoformat() for r in records}) == [
        "2026-03-31",
        "2026-04-01",
    ]
    assert result.report.dropped_duplicates == 1
    assert any("given twice" in w for w in result.warnings)


# -- calls -------------------------------------------------------------------------------------


def call(call_id, **fields):
    base = {
        "callId": call_id,
        "created": "2026-10-01T10:00:00Z",
        "joined": "2026-10-01T10:00:02Z",
        "ended": "2026-10-01T10:01:26Z",
        "endReason": "hangup",
        "billedDuration": "84s",
        "billedSideInputTokens": None,
        "billedSideOutputTokens": None,
        "billingStatus": "BILLING_STATUS_BILLED",
        "agentId": AGENT,
        "agent": {"agentId": AGENT, "name": "Front desk"},
        "metadata": {},
        "sipDetails": None,
        "systemPrompt": "You are a receptionist.",
        "joinUrl": None,
    }
    base.update(fields)
    return base


def calls_page(results, next_url=None, total=None):
    page = {"next": next_url, "previous": None, "results": results}
    if total is not None:
        page["total"] = total
    return page


def one_call(**fields):
    records, result = fetch(
        {"/api/calls": calls_page([call("c1", **fields)], total=1)}, query(granularity="call")
    )
    (record,) = records
    return record, result


def test_a_billed_call_is_priced_on_its_billed_duration():
    record, result = one_call()
    assert record.grain is Grain.EVENT and record.calls == 1 and record.call_id == "c1"
    assert record.period_start == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert record.period_end == datetime(2026, 10, 1, 10, 1, 26, tzinfo=UTC)
    assert record.duration_seconds == Decimal(84)  # ended - joined
    assert record.billed_minutes == Decimal("1.4")  # 84 s
    assert record.cost == Decimal("0.07")  # 1.4 x 0.05
    assert record.failed_calls == 0
    assert record.agent_id == AGENT
    assert record.extras["billing_status"] == "BILLING_STATUS_BILLED"
    assert record.extras["end_reason"] == "hangup"
    assert record.extras["billed_duration_seconds"] == "84"
    assert record.extras["agent_name"] == "Front desk"
    assert "systemPrompt" not in record.extras  # documented, not usage
    assert result.report.reconciled


def test_the_billed_duration_wins_over_the_measured_one():
    # 61 s measured, 66 s billed (the vendor's rounding): 1.1 min, never re-rounded by us.
    record, _ = one_call(ended="2026-10-01T10:01:03Z", billedDuration="00:01:06")
    assert record.duration_seconds == Decimal(61)
    assert record.billed_minutes == Decimal("1.1")
    assert record.cost == Decimal("0.055")


@pytest.mark.parametrize(
    "status",
    [
        "BILLING_STATUS_FREE_CONSOLE",
        "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
        "BILLING_STATUS_FREE_MINUTES",
        "BILLING_STATUS_FREE_SYSTEM_ERROR",
        "BILLING_STATUS_FREE_OTHER",
        "BILLING_STATUS_REFUNDED",
    ],
)
def test_free_and_refunded_calls_are_a_known_zero_with_the_status_kept(status):
    record, _ = one_call(billingStatus=status)
    assert record.cost == 0 and record.currency == "USD"
    assert record.cost_source is CostSource.RATE_CARD
    assert record.billed_minutes == 0
    assert status in record.cost_note
    assert record.extras["billing_status"] == status
    assert record.extras["billed_duration_seconds"] == "84"  # what the vendor said, kept


def test_a_pending_call_is_marked_and_unpriced():
    record, _ = one_call(
        billingStatus="BILLING_STATUS_PENDING", billedDuration=None, ended=None, endReason=None
    )
    assert record.cost is None and record.billed_minutes is None
    assert record.extras["billing_pending"] is True
    assert "BILLING_STATUS_PENDING" in record.cost_note
    assert record.duration_seconds is None  # still going
    assert record.failed_calls is None
    assert record.period_end == datetime(2026, 10, 1, 10, 0, 1, tzinfo=UTC)  # nominal second


def test_a_pending_call_with_a_billed_duration_is_priced_and_still_marked():
    # Calls created before 2025-05-28 may keep the pending status although billed.
    record, _ = one_call(billingStatus="BILLING_STATUS_PENDING")
    assert record.cost == Decimal("0.07")
    assert record.extras["billing_pending"] is True
    assert "pending" in record.cost_note


@pytest.mark.parametrize("status", ["BILLING_STATUS_UNSPECIFIED", "BILLING_STATUS_NEW_THING"])
def test_an_unexpected_status_leaves_the_cost_unknown(status):
    record, _ = one_call(billingStatus=status)
    assert record.cost is None
    assert status in record.cost_note


def test_a_billed_call_without_billed_duration_has_unknown_cost():
    record, _ = one_call(billedDuration=None)
    assert record.cost is None and "without a billedDuration" in record.cost_note


def test_sip_minutes_are_a_line_item_of_their_own_and_add_no_telephony():
    record, _ = one_call(
        sipDetails={"billedDuration": "90s", "terminationReason": "SIP_TERMINATION_NORMAL"}
    )
    # 1.4 call minutes x USD 0.05 = 0.07, and 1.5 SIP minutes x USD 0.005 = 0.0075
    assert record.cost_components == {
        "call_minutes": Decimal("0.07"),
        "sip_minutes": Decimal("0.0075"),
    }
    assert record.cost == Decimal("0.0775")
    assert record.rate_card == "ultravox/call@2025-01-01"
    assert CallPart.TELEPHONY not in record.cost_covers  # the carrier bills the line
    assert record.extras["sip_billed_seconds"] == "90"
    assert "sip_cost" not in record.extras
    assert record.extras["sip_termination_reason"] == "SIP_TERMINATION_NORMAL"


def test_the_pro_plan_prices_sip_minutes_at_its_own_rate():
    sip = {"billedDuration": "90s", "terminationReason": "SIP_TERMINATION_NORMAL"}
    records, _ = fetch(
        {"/api/calls": calls_page([call("c1", sipDetails=sip)], total=1)},
        query(granularity="call", options={"plan": "pro"}),
    )
    # 1.5 SIP minutes x USD 0.0048 (Pro) = 0.0072; the call minutes keep USD 0.05.
    assert records[0].cost_components == {
        "call_minutes": Decimal("0.07"),
        "sip_minutes": Decimal("0.0072"),
    }


def test_a_free_call_still_pays_its_sip_minutes():
    record, _ = one_call(
        billingStatus="BILLING_STATUS_FREE_MINUTES",
        sipDetails={"billedDuration": "60s", "terminationReason": "SIP_TERMINATION_NORMAL"},
    )
    assert record.cost_components == {"call_minutes": Decimal(0), "sip_minutes": Decimal("0.005")}
    assert record.cost == Decimal("0.005") and record.billed_minutes == 0


def test_an_unjoined_call_lasted_zero_seconds_and_error_ends_are_failures():
    record, _ = one_call(
        joined=None,
        endReason="unjoined",
        billedDuration=None,
        billingStatus="BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
    )
    assert record.duration_seconds == 0 and record.failed_calls == 0
    failed, _ = one_call(endReason="system_error")
    assert failed.failed_calls == 1


def test_unknown_call_fields_are_kept_as_extras():
    record, _ = one_call(
        recordingCost={"amount": 1},
        metadata={"crm": "42"},
        billedSideInputTokens=1200,
        billedSideOutputTokens=300,
    )
    assert record.extras["recordingCost"] == {"amount": 1}
    assert record.extras["metadata"] == {"crm": "42"}
    assert record.extras["billed_side_input_tokens"] == 1200
    assert record.extras["billed_side_output_tokens"] == 300


def test_the_cursor_is_followed_verbatim_without_re_sending_parameters():
    base = "https://api.ultravox.ai/api/calls"
    next_url = f"{base}?cursor=cD0yMDI2&fromDate=2026-10-01&pageSize=100&toDate=2026-10-31"

    def answer(request):
        if "cursor" in request.url.params:
            return calls_page([call("c2")], total=2)
        return calls_page([call("c1")], next_url=next_url, total=2)

    requests = []
    records, result = fetch({"/api/calls": answer}, query(granularity="call"), requests)
    assert [r.call_id for r in records] == ["c1", "c2"]
    assert str(requests[1].url) == next_url  # exactly as given, query string intact
    assert result.report.reconciled


def test_a_list_total_that_disagrees_is_a_warning():
    _, result = fetch({"/api/calls": calls_page([call("c1")], total=3)}, query(granularity="call"))
    assert any("vendor reported 3, records sum to 1" in w for w in result.warnings)


def test_a_call_outside_the_period_is_dropped_with_a_warning():
    records, result = fetch(
        {"/api/calls": calls_page([call("c1"), call("c0", created="2026-09-30T23:59:59Z")])},
        query(granularity="call"),
    )
    assert [r.call_id for r in records] == ["c1"]
    assert any("outside the queried period" in w for w in result.warnings)


def test_a_bad_billed_duration_names_the_field_and_value():
    with pytest.raises(ResponseValidationError) as caught:
        one_call(billedDuration="84 seconds")
    assert caught.value.field == "results.0.billedDuration"
    assert "84 seconds" in str(caught.value)


# -- agents/usage ------------------------------------------------------------------------------


def test_agent_usage_becomes_per_agent_daily_windows():
    body = [
        {
            "agent": {"agentId": AGENT, "name": "Front desk"},
            "usage": [{"date": "2026-10-01", "billedMinutes": 3.5, "calls": 2}],
        },
        {
            "agent": {"agentId": OTHER_AGENT, "name": "Appointments"},
            "usage": [
                {"date": "2026-10-01", "billedMinutes": 0.7, "calls": 1},
                {"date": "2026-10-02", "billedMinutes": 0, "calls": 0},
            ],
        },
    ]
    q = query("2026-10-01", "2026-10-03", options={"source": "agents"})
    records, _ = fetch({"/api/agents/usage": body}, q)
    check_records(records, q)
    assert [
        (r.agent_id, r.period_start.day, r.calls, r.billed_minutes, r.cost) for r in records
    ] == [
        (AGENT, 1, 2, Decimal("3.5"), Decimal("0.175")),
        (OTHER_AGENT, 1, 1, Decimal("0.7"), Decimal("0.035")),
        (OTHER_AGENT, 2, 0, Decimal(0), Decimal(0)),
    ]
    assert records[0].extras == {"agent_name": "Front desk"}


# -- errors and balance ------------------------------------------------------------------------


def test_drf_errors_are_read():
    provider = UltravoxProvider()
    assert provider.parse_error(401, {"detail": "Invalid API key."}).message == "Invalid API key."
    field_map = provider.parse_error(
        400,
        {
            "toDate": ["Too far.", "Really."],
            "metadata": {"source": ["Bad key."]},
            "non_field_errors": ["Nope."],
        },
    )
    assert field_map.code == "validation_error"
    assert field_map.message == "toDate: Too far. Really.; metadata.source: Bad key.; Nope."
    assert (
        provider.parse_error(400, {"items": [{"date": ["Bad."]}]}).message == "items[0].date: Bad."
    )
    assert provider.parse_error(500, "<html>oops</html>").message == "<html>oops</html>"


def test_status_errors_carry_the_drf_message():
    with pytest.raises(BadRequestError, match=r"toDate: at most 90 days"):
        fetch(
            {"/api/accounts/me/billing/usage": (400, {"toDate": ["at most 90 days"]})},
            query(options={"source": "billing"}),
        )
    with pytest.raises(AuthenticationError, match="Invalid API key"):
        connection = voice_usage.connect(
            UltravoxProvider(), api_key="wrong", concurrency=1, transport=served({})
        )
        connection.fetch(query()).to_list()


def test_balance_reads_the_account():
    body = {
        "accountId": "0c7e2a4b-6d8f-4a1c-9e3b-5d7f9a1c3e5b",
        "name": "Acme",
        "billingUrl": "https://app.ultravox.ai/billing",
        "freeTimeUsed": "00:25:00",
        "freeTimeRemaining": "300s",
        "hasActiveSubscription": False,
        "subscriptionTier": None,
        "subscriptionCadence": None,
        "subscriptionExpiration": None,
        "subscriptionScheduledUpdate": None,
        "subscriptionRenewal": None,
        "activeCalls": 1,
        "allowedConcurrentCalls": 5,
        "allowedVoices": None,
        "allowedCorpora": None,
    }
    connection = voice_usage.connect(
        UltravoxProvider(), api_key=KEY, concurrency=1, transport=served({"/api/accounts/me": body})
    )
    account = connection.balance()
    assert account.free_time_used == 1500 and account.free_time_remaining == 300
    assert account.allowed_concurrent_calls == 5
    assert account.model_dump(mode="json")["free_time_used"] == "1500"
