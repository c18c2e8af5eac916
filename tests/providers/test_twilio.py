"""The Twilio provider against its emulator: Usage Records per day and month, the Calls list.

Expected figures are worked out independently: by hand for a day of four fixed call legs, and for
the emulator's random month from the raw `Calls.json` bodies read with the standard library.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    CostSource,
    Grain,
    MissingCredentialsError,
    ResponseValidationError,
    UnsupportedQueryError,
)
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage.provider import CallPart
from voice_usage.testing import check_provider, check_records
from voice_usage_twilio import CHILD_CATEGORIES, TwilioProvider, billed_minutes
from voice_usage_twilio.emulator import DEMO_ACCOUNT_SID, EmulatedCall, TwilioEmulator

TOKEN = "vu-test-key-5f0c2d9e8a7b4c3d"
SID = DEMO_ACCOUNT_SID
CREDENTIALS = {"account_sid": SID, "auth_token": TOKEN}
DAILY = f"/2010-04-01/Accounts/{SID}/Usage/Records/Daily.json"
MONTHLY = f"/2010-04-01/Accounts/{SID}/Usage/Records/Monthly.json"
CALLS = f"/2010-04-01/Accounts/{SID}/Calls.json"


class FixedDay(TwilioEmulator):
    """One day, 2026-10-05, of four legs whose figures are worked out by hand below."""

    def calls_on(self, day: date) -> list[EmulatedCall]:
        if day != date(2026, 10, 5):
            return []
        at = datetime(2026, 10, 5, 9, tzinfo=UTC)

        def leg(n: int, category: str, direction: str, status: str, seconds: int | None) -> Any:
            return EmulatedCall(
                sid=f"CA{n:032x}",
                category=category,
                direction=direction,
                status=status,
                start=at + timedelta(minutes=10 * n),
                seconds=seconds,
                to="sip:agent@demo.sip.twilio.com" if category == "calls-sip" else "+15555550100",
                from_="+15555550123",
            )

        return [
            leg(1, "calls-inbound", "inbound", "completed", 61),  # 2 min x 0.0085 = 0.017
            leg(2, "calls-outbound", "outbound-api", "completed", 30),  # 1 min x 0.014 = 0.014
            leg(3, "calls-sip", "inbound", "completed", 125),  # 3 min x 0.004 = 0.012
            leg(4, "calls-outbound", "outbound-api", "busy", 0),  # no minute, no charge
        ]


@pytest.fixture
def served(serve: Any, open_connection: Any) -> Any:
    """``served(emulator, **options)``: a connection to the served emulator (its `server` kept)."""

    def connected(emulator: TwilioEmulator, **options: Any) -> voice_usage.Connection:
        server = serve(emulator)
        connection = open_connection(
            TwilioProvider(**options), credentials=emulator.credentials, base_url=server.base_url
        )
        connection.server = server  # type: ignore[attr-defined]
        return connection

    return connected


def test_the_provider_keeps_the_plugin_contract():
    check_provider(TwilioProvider())


def test_a_day_of_four_legs_by_hand(served):
    twilio = served(FixedDay(TOKEN))
    days = twilio.fetch("2026-10-05", "2026-10-06", "day").to_list()
    by_category = {r.extras["category"]: r for r in days}
    assert set(by_category) == set(CHILD_CATEGORIES)  # nothing left over for calls-other
    figures = {c: (r.calls, r.billed_minutes, r.cost) for c, r in by_category.items()}
    assert figures == {
        "calls-inbound": (1, 2, Decimal("0.017")),
        "calls-outbound": (2, 1, Decimal("0.014")),
        "calls-client": (0, 0, 0),
        "calls-sip": (1, 3, Decimal("0.012")),
    }
    for record in days:
        assert (record.grain, record.account, record.currency) == (Grain.WINDOW, SID, "USD")
        assert record.cost_source is CostSource.REPORTED
        assert record.cost_covers == (CallPart.TELEPHONY,)
        assert record.duration_seconds is None  # Twilio reports rated minutes only
        assert (record.period_start, record.period_end) == (
            datetime(2026, 10, 5, tzinfo=UTC),
            datetime(2026, 10, 6, tzinfo=UTC),
        )

    result = twilio.fetch("2026-10-05", "2026-10-06", "call")
    calls = sorted(result.to_list(), key=lambda r: r.period_start)
    assert [(r.duration_seconds, r.billed_minutes, r.cost, r.failed_calls) for r in calls] == [
        (61, 2, Decimal("0.017"), 0),
        (30, 1, Decimal("0.014"), 0),
        (125, 3, Decimal("0.012"), 0),
        (0, 0, 0, 1),
    ]
    # The list writes "-0.01700": the charge is its size.
    assert calls[0].extras["price"] == "-0.01700"
    # The same day, both ways: 4 calls, 6 minutes, USD 0.043.
    assert sum(r.calls for r in days) == len(calls) == 4
    assert sum(r.billed_minutes for r in days) == sum(r.billed_minutes for r in calls) == 6
    assert sum(r.cost for r in days) == sum(r.cost for r in calls) == Decimal("0.043")
    assert result.report.reconciled and len(result.report.reconciliations) == 3
    assert result.warnings == []


def _raw_calls(server: EmulatorServer, since: str, until: str) -> list[dict[str, Any]]:
    """Every call of the list, read page by page with plain httpx (a second reading)."""
    calls: list[dict[str, Any]] = []
    target: str | None = f"{CALLS}?StartTime>={since}&StartTime<={until}&PageSize=100"
    while target is not None:
        body = httpx.get(server.base_url + target, auth=(SID, TOKEN)).json()
        calls += body["calls"]
        target = body["next_page_uri"]
    return calls


def test_october_per_day_usage_records_equal_the_calls_list(served):
    twilio = served(TwilioEmulator(TOKEN), page_size=7)
    windows = twilio.fetch("2026-10-01", "2026-11-01", "day").to_list()
    per_day: dict[date, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for record in windows:
        per_day[record.period_start.date()][0] += record.calls
        per_day[record.period_start.date()][1] += record.cost
    assert len(per_day) == 31

    expected: dict[date, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for call in _raw_calls(twilio.server, "2026-10-01", "2026-10-31"):
        day = parsedate_to_datetime(call["start_time"]).date()
        expected[day][0] += 1
        expected[day][1] += -Decimal(call["price"])  # "-0.02000" is a charge of 0.02
    assert per_day == expected

    calls = twilio.fetch("2026-10-01", "2026-11-01", "call")
    events = check_records(calls, calls.query, provider="twilio")
    assert len(events) == sum(n for n, _ in expected.values())
    assert all(r.cost is not None and r.cost >= 0 for r in events)
    assert calls.report.reconciled and len(calls.report.reconciliations) == 31 * 3


def test_paging_follows_next_page_uri_to_the_last_page(served):
    twilio = served(TwilioEmulator(TOKEN, calls_per_day=(9, 9)), page_size=4)
    records = twilio.fetch("2026-10-01", "2026-10-03", "call").to_list()
    assert len(records) == 18
    pages = [r for r in twilio.server.requests if r.path == CALLS]
    # 18 calls (and 9 more of the boundary day, filtered here) at 4 a page: 27 / 4 -> 7 pages.
    assert [r.param("Page", "0") for r in pages] == [str(n) for n in range(7)]
    assert all(r.param("PageToken") for r in pages[1:])
    assert len({r.call_id for r in records}) == 18


def test_whole_months_read_monthly_records(served):
    twilio = served(TwilioEmulator(TOKEN))
    months = twilio.fetch("2026-10-01", "2026-12-01", "month").to_list()
    assert {r.period_start for r in months} == {
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    }
    assert {r.period_end for r in months} == {
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    }
    assert {r.path for r in twilio.server.requests} == {MONTHLY}
    days = twilio.fetch("2026-10-01", "2026-11-01", "day").to_list()
    october = [r for r in months if r.period_start.month == 10]
    assert sum(r.cost for r in october) == sum(r.cost for r in days)
    # A part of a month is read by day and rolled up.
    part = twilio.fetch("2026-10-10", "2026-11-01", "month").to_list()
    assert {r.period_start for r in part} == {datetime(2026, 10, 10, tzinfo=UTC)}


def test_an_api_key_pair_authenticates_and_the_sid_stays_in_the_path(served):
    emulator = TwilioEmulator(TOKEN, api_key="SK" + "1" * 32, api_secret="vu-test-secret-0a1b")
    server = EmulatorServer(emulator).start()
    try:
        credentials = {
            "account_sid": SID,
            "api_key": "SK" + "1" * 32,
            "api_secret": "vu-test-secret-0a1b",
        }
        with voice_usage.connect("twilio", credentials=credentials, base_url=server.base_url) as c:
            assert c.fetch("2026-10-01", "2026-10-02", "day").to_list()
        token = base64.b64encode(("SK" + "1" * 32 + ":vu-test-secret-0a1b").encode()).decode()
        assert server.requests[0].headers["authorization"] == f"Basic {token}"
    finally:
        server.stop()


def test_a_call_not_priced_yet_has_no_cost_and_says_why(served):
    cutoff = datetime(2026, 10, 2, 12, tzinfo=UTC)
    twilio = served(TwilioEmulator(TOKEN, unpriced_since=cutoff))
    result = twilio.fetch("2026-10-02", "2026-10-03", "call")
    records = result.to_list()
    late = [r for r in records if r.period_start >= cutoff]
    assert late and all(r.cost is None and r.cost_covers is None for r in late)
    assert all("not priced this call yet" in r.cost_note for r in late)
    assert all(r.cost is not None for r in records if r.period_start < cutoff)
    assert any("cost on 2026-10-02 not reconciled" in w for w in result.warnings)


def test_a_difference_between_the_list_and_the_records_is_a_warning(served):
    twilio = served(TwilioEmulator(TOKEN))

    def one_more(body: Any, request: Any) -> Any:
        body["usage_records"][0]["count"] = str(int(body["usage_records"][0]["count"]) + 1)
        return body

    twilio.server.faults.add(Fault(action="rewrite", rewrite=one_more, path=DAILY))
    result = twilio.fetch("2026-10-01", "2026-10-02", "call")
    result.to_list()
    assert not result.report.reconciled
    (warning,) = result.warnings
    assert warning.startswith("twilio: reconciliation calls on 2026-10-01 (Calls list against")


def _categories(totals: dict[str, tuple[str, str, str]]) -> Any:
    def rewrite(body: Any, request: Any) -> Any:
        for record in body["usage_records"]:
            if record["category"] in totals:
                record["count"], record["usage"], record["price"] = totals[record["category"]]
        return body

    return rewrite


def test_what_no_child_names_is_calls_other_and_nothing_is_counted_twice(served):
    twilio = served(FixedDay(TOKEN))
    twilio.server.faults.add(
        Fault(action="rewrite", rewrite=_categories({"calls": ("6", "9", "0.05")})), times=None
    )
    records = twilio.fetch("2026-10-05", "2026-10-06", "day").to_list()
    other = [r for r in records if r.extras["category"] == "calls-other"]
    assert [(r.calls, r.billed_minutes, r.cost) for r in other] == [(2, 3, Decimal("0.007"))]
    assert sum(r.calls for r in records) == 6 and sum(r.cost for r in records) == Decimal("0.05")


def test_children_adding_up_to_more_than_the_total_leave_the_total_alone(served):
    twilio = served(FixedDay(TOKEN))
    twilio.server.faults.add(
        Fault(action="rewrite", rewrite=_categories({"calls": ("3", "6", "0.043")})), times=None
    )
    result = twilio.fetch("2026-10-05", "2026-10-06", "day")
    (record,) = result.to_list()
    assert (record.extras["category"], record.calls, record.cost) == ("calls", 3, Decimal("0.043"))
    assert "adding up to more than the total" in result.warnings[0]


@pytest.mark.parametrize(
    ("path", "field", "value", "message"),
    [
        (DAILY, "price", "abc", "price must be a decimal number, got 'abc'"),
        (DAILY, "price_unit", "credits", "price_unit must be an ISO 4217 currency code"),
        (DAILY, "start_date", "Oct 1st", "a date must be YYYY-MM-DD, got 'Oct 1st'"),
        (CALLS, "price", "free", "price must be a decimal number, got 'free'"),
        (CALLS, "start_time", "2026-10-01T10:00:00Z", "start_time must be an RFC 2822 date"),
    ],
)
def test_bad_figures_are_named_errors_never_zero(served, path, field, value, message):
    twilio = served(TwilioEmulator(TOKEN))
    key = "usage_records" if path == DAILY else "calls"

    def spoil(body: Any, request: Any) -> Any:
        body[key][0][field] = value
        return body

    twilio.server.faults.add(Fault(action="rewrite", rewrite=spoil, path=path), times=None)
    with pytest.raises(ResponseValidationError) as caught:
        twilio.fetch("2026-10-01", "2026-10-02", "day" if path == DAILY else "call").to_list()
    assert caught.value.provider == "twilio"
    assert message in str(caught.value) and f"{key}.0.{field}" in str(caught.value)


def test_days_must_be_whole_and_options_known():
    provider = TwilioProvider()
    with pytest.raises(UnsupportedQueryError, match="whole UTC days"):
        provider.plan(voice_usage.UsageQuery(since="2026-10-01T12:00", until="2026-10-02"))
    with pytest.raises(UnsupportedQueryError, match="agents"):
        provider.plan(
            voice_usage.UsageQuery(since="2026-10-01", until="2026-10-02", agent_ids=("a",))
        )


def test_missing_credentials_name_twilios_own_variables(monkeypatch):
    for name in ("ACCOUNT_SID", "AUTH_TOKEN", "API_KEY", "API_SECRET"):
        monkeypatch.delenv(f"TWILIO_{name}", raising=False)
    with pytest.raises(
        MissingCredentialsError, match=r"^twilio: no account SID; set TWILIO_ACCOUNT_SID$"
    ):
        voice_usage.connect("twilio")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    with pytest.raises(MissingCredentialsError) as caught:
        voice_usage.connect("twilio")
    assert str(caught.value) == (
        "twilio: no auth token; set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
        "(or TWILIO_API_KEY and TWILIO_API_SECRET)"
    )


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (119, 2), (120, 2), (3601, 61)],
)
def test_billed_minutes_round_each_leg_up(seconds, minutes):
    assert billed_minutes(seconds) == minutes


def test_the_emulators_pages_are_json_lists_of_the_documented_shape(served):
    twilio = served(TwilioEmulator(TOKEN))
    raw = httpx.get(
        twilio.server.base_url + f"{DAILY}?Category=calls&StartDate=2026-10-01&EndDate=2026-10-01",
        auth=(SID, TOKEN),
    )
    (record,) = json.loads(raw.content)["usage_records"]
    assert all(isinstance(record[k], str) for k in ("count", "usage", "price"))
    assert record["price_unit"] == "usd"
