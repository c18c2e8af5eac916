"""The Retell provider against its emulator over loopback, and on hand-made bodies.

Expected figures are worked out from the emulator's own calls (cents added as Decimals, then
divided by 100), never taken from the provider's output.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    CallPart,
    CostSource,
    Grain,
    PaginationError,
    ResponseValidationError,
    UsageRecord,
)
from voice_usage.emulator import EmulatorRequest, EmulatorServer, Fault
from voice_usage.testing import check_provider, check_records
from voice_usage_retell import PRODUCT_PARTS, RetellProvider, parts_of
from voice_usage_retell._provider import start_range
from voice_usage_retell.emulator import DEMO_AGENTS, EmulatedCall, Product, RetellEmulator

pytestmark = pytest.mark.emulator

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
OCT_1 = datetime(2026, 10, 1, tzinfo=UTC)
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
OCT_1_MS = 1_790_812_800_000  # 2026-10-01T00:00:00Z
NOV_1_MS = 1_793_491_200_000  # 2026-11-01T00:00:00Z


def fetch(
    emulator: RetellEmulator,
    sleeps: Any,
    since: Any = "2026-10-01",
    until: Any = "2026-11-01",
    granularity: str = "call",
    *,
    page_size: int = 40,
    concurrency: int | None = None,
    **filters: Any,
) -> tuple[list[UsageRecord], voice_usage.FetchResult, EmulatorServer]:
    with (
        EmulatorServer(emulator) as server,
        voice_usage.connect(
            RetellProvider(page_size=page_size),
            api_key=KEY,
            base_url=server.base_url,
            sleep=sleeps,
            async_sleep=sleeps.asleep,
            concurrency=concurrency,
        ) as connection,
    ):
        result = connection.fetch(since, until, granularity, **filters)
        records = result.to_list()
    return records, result, server


def october(emulator: RetellEmulator) -> list[EmulatedCall]:
    return emulator.calls_between(OCT_1_MS, NOV_1_MS - 1)


def test_the_provider_meets_the_contract():
    check_provider(RetellProvider())


def test_the_milliseconds_of_the_range():
    # 2026-10-01T00:00:00Z is 1,790,812,800 s after the epoch (20,727 days of 86,400 s).
    assert OCT_1_MS == 20_727 * 86_400_000
    query = voice_usage.UsageQuery(since="2026-10-01", until="2026-11-01")
    assert start_range(query) == (OCT_1_MS, NOV_1_MS - 1)
    # A since between two milliseconds starts at the next whole one; until stays exclusive.
    odd = voice_usage.UsageQuery(
        since=datetime(2026, 10, 1, 0, 0, 0, 500, tzinfo=UTC),
        until=datetime(2026, 10, 1, 0, 0, 1, 1500, tzinfo=UTC),
    )
    assert start_range(odd) == (OCT_1_MS + 1, OCT_1_MS + 1001)


# -- a month across several pages --------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, None], ids=["sequential", "concurrent"])
def test_a_month_across_several_pages_lists_every_call_once(sleeps, concurrency):
    emulator = RetellEmulator(KEY, today=date(2026, 10, 31))  # the 31st is partly not rated
    records, result, server = fetch(emulator, sleeps, concurrency=concurrency)
    calls = october(emulator)
    assert len(calls) > 5 * 40  # several pages of 40
    assert len(server.requests) == -(-len(calls) // 40)
    assert [r.call_id for r in records] == [c.call_id for c in calls]  # each once, in order
    check_records(records, result.query, provider="retell")
    assert result.warnings == [] and sleeps == []

    # USD = the cents total / 100, exactly: summed here from the emulator's product lines.
    cents = sum((p.cost for c in calls if c.has_cost for p in c.products), Decimal(0))
    assert sum((r.cost for r in records if r.cost is not None), Decimal(0)) == cents / 100
    for record, call in zip(records, calls, strict=True):
        assert record.duration_seconds == Decimal(call.duration_ms) / 1000
        if not call.has_cost:
            assert record.cost is None and "no call_cost yet" in record.cost_note
            continue
        assert record.cost == call.combined_cents / 100
        assert record.currency == "USD" and record.cost_source is CostSource.REPORTED
        assert record.cost_components is not None
        assert sum(record.cost_components.values(), Decimal(0)) == record.cost
        assert record.cost_components == {p.product: p.cost / 100 for p in call.products}
        assert record.billed_minutes == Decimal(call.billed_seconds) / 60


def test_the_request_asks_for_the_range_ascending_in_the_largest_pages(sleeps):
    _records, _result, server = fetch(RetellEmulator(KEY), sleeps, page_size=1000)
    first = server.requests[0]
    assert (first.method, first.path) == ("POST", "/v3/list-calls")
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.json() == {
        "filter_criteria": {
            "start_timestamp": {"op": "bt", "type": "range", "value": [OCT_1_MS, NOV_1_MS - 1]}
        },
        "sort_order": "ascending",
        "limit": 1000,
    }
    assert RetellProvider().page_size == 1000  # the default is the largest page


def test_the_next_page_is_asked_with_the_key_the_last_one_gave(sleeps):
    _records, _result, server = fetch(RetellEmulator(KEY), sleeps)
    bodies = [r.json() for r in server.requests]
    assert "pagination_key" not in bodies[0]
    for body in bodies[1:]:
        assert body["pagination_key"]
        assert {k: v for k, v in body.items() if k != "pagination_key"} == bodies[0]
    assert len({b["pagination_key"] for b in bodies[1:]}) == len(bodies) - 1


def test_day_windows_sum_to_the_same_as_the_calls(sleeps):
    emulator = RetellEmulator(KEY, today=date(2026, 10, 31))
    calls, _, _ = fetch(emulator, sleeps)
    days, _result, _ = fetch(emulator, sleeps, granularity="day")
    assert len(days) == 31 and all(d.grain is Grain.WINDOW for d in days)
    by_day: dict[datetime, list[UsageRecord]] = defaultdict(list)
    for call in calls:
        by_day[call.period_start.replace(hour=0, minute=0, second=0, microsecond=0)].append(call)
    for day in days:
        events = by_day[day.period_start]
        assert day.calls == len(events)
        assert day.duration_seconds == sum((e.duration_seconds for e in events), Decimal(0))
        costs = [e.cost for e in events]
        # A day with a call not rated yet has no known total: None, never a partial sum.
        expected = None if None in costs else sum(costs, Decimal(0))
        assert day.cost == expected
    priced = [d for d in days if d.cost is not None]
    assert len(priced) == 30 and days[-1].cost is None  # October 31 has calls not rated yet
    assert sum(d.calls or 0 for d in days) == len(calls)


def test_the_v2_fallback_gives_the_same_records(sleeps):
    records, _, _ = fetch(RetellEmulator(KEY), sleeps)
    legacy, result, server = fetch(RetellEmulator(KEY, versions=("v2",)), sleeps)
    assert legacy == records
    paths = [r.path for r in server.requests]
    assert paths[0] == "/v3/list-calls" and set(paths[1:]) == {"/v2/list-calls"}
    v2 = [r.json() for r in server.requests[1:]]
    assert v2[0]["filter_criteria"] == {
        "start_timestamp": {"lower_threshold": OCT_1_MS, "upper_threshold": NOV_1_MS - 1}
    }
    # v2 pages by the last call id of the previous page, exclusive.
    assert [b.get("pagination_key") for b in v2[1:]] == [
        records[40 * n - 1].call_id for n in range(1, len(v2))
    ]
    assert result.warnings == [
        "retell: /v3/list-calls answered 404; read the legacy /v2/list-calls instead"
    ]


@pytest.mark.parametrize("concurrency", [1, None], ids=["sequential", "concurrent"])
def test_the_v2_fallback_ends_on_a_full_last_page_with_an_empty_one(sleeps, concurrency):
    start = OCT_1_MS + 3_600_000
    calls = [simple_call(f"call_{n:02d}", start + n * 1000) for n in range(6)]
    emulator = RetellEmulator(KEY, versions=("v2",), generate=False, extra_calls=calls)
    records, _, server = fetch(emulator, sleeps, page_size=3, concurrency=concurrency)
    assert [r.call_id for r in records] == [c.call_id for c in calls]
    # 404, two full pages, then an empty page ends the walk.
    assert len(server.requests) == 4


# -- the edges of the range, in milliseconds ---------------------------------------------------


def simple_call(call_id: str, start_ms: int, cents: str = "12.5", **fields: Any) -> EmulatedCall:
    return EmulatedCall(
        call_id=call_id,
        start_ms=start_ms,
        duration_ms=fields.pop("duration_ms", 30_000),
        billed_seconds=fields.pop("billed_seconds", 30),
        products=fields.pop(
            "products", (Product("retell_platform", Decimal(cents), Decimal("0.1")),)
        ),
        **fields,
    )


@pytest.mark.parametrize("versions", [("v3", "v2"), ("v2",)], ids=["v3", "v2"])
def test_a_call_one_millisecond_before_until_is_in_and_one_at_until_is_out(sleeps, versions):
    edge = [
        simple_call("call_at_since", OCT_1_MS),
        simple_call("call_before_since", OCT_1_MS - 1),
        simple_call("call_before_until", NOV_1_MS - 1),
        simple_call("call_at_until", NOV_1_MS),
    ]
    emulator = RetellEmulator(KEY, versions=versions, generate=False, extra_calls=edge)
    records, result, _ = fetch(emulator, sleeps)
    assert [r.call_id for r in records] == ["call_at_since", "call_before_until"]
    assert records[1].period_start == datetime(2026, 10, 31, 23, 59, 59, 999000, tzinfo=UTC)
    # The server's filter kept the outside calls away: nothing to warn about but the endpoint.
    legacy = ["retell: /v3/list-calls answered 404; read the legacy /v2/list-calls instead"]
    assert result.warnings == ([] if "v3" in versions else legacy)


def test_calls_the_server_sends_outside_the_range_are_left_out_and_said(sleeps):
    # A server that ignores the filter: the client keeps [since, until) itself.
    edge = [simple_call("in", OCT_1_MS + 5), simple_call("late", NOV_1_MS)]
    emulator = RetellEmulator(KEY, generate=False, extra_calls=edge)
    with EmulatorServer(emulator) as server:

        def widen(body: Any, request: EmulatorRequest) -> Any:
            body["items"] = [c.to_json() for c in edge]
            return body

        server.faults.add(Fault(action="rewrite", rewrite=widen))
        with voice_usage.connect(
            RetellProvider(), api_key=KEY, base_url=server.base_url, sleep=sleeps
        ) as connection:
            result = connection.fetch("2026-10-01", "2026-11-01", "call")
            records = result.to_list()
    assert [r.call_id for r in records] == ["in"]
    assert any("1 call(s) starting outside" in w for w in result.warnings)


# -- one record per call -----------------------------------------------------------------------


def one(body_call: dict[str, Any], sleeps: Any) -> tuple[UsageRecord, list[str]]:
    """The record of one hand-made call body, served as a v3 page."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [body_call], "has_more": False})

    with voice_usage.connect(
        RetellProvider(),
        api_key=KEY,
        transport=httpx.MockTransport(handler),
        sleep=sleeps,
        concurrency=1,
    ) as connection:
        result = connection.fetch("2026-10-01", "2026-11-01", "call")
        (record,) = result.to_list()
    return record, result.warnings


def phone_call(**changes: Any) -> dict[str, Any]:
    body = simple_call(
        "call_a1",
        OCT_1_MS + 90_000,
        direction="outbound",
        from_number="+14155550100",
        to_number="+33612345678",
    ).to_json()
    body.update(changes)
    return body


def test_number_id_is_the_retell_side_number(sleeps):
    outbound, _ = one(phone_call(), sleeps)
    assert outbound.number_id == "+14155550100"  # from_number on an outbound call
    inbound, _ = one(phone_call(direction="inbound"), sleeps)
    assert inbound.number_id == "+33612345678"  # to_number on an inbound call
    web = {
        k: v
        for k, v in phone_call(call_type="web_call").items()
        if k not in ("direction", "from_number", "to_number")
    }
    record, _ = one(web, sleeps)
    assert record.number_id is None and record.agent_id == DEMO_AGENTS[0].agent_id


@pytest.mark.parametrize(
    ("status", "reason", "failed"),
    [
        ("ended", "user_hangup", 0),
        ("error", "error_llm_websocket_open", 1),
        ("not_connected", "dial_no_answer", 1),
        ("ongoing", None, None),
    ],
)
def test_failed_calls_come_from_the_call_status(sleeps, status, reason, failed):
    record, _ = one(phone_call(call_status=status, disconnection_reason=reason), sleeps)
    assert record.failed_calls == failed
    assert record.extras["call_status"] == status
    assert record.extras["disconnection_reason"] == reason


def test_the_cost_in_cents_becomes_us_dollars_exactly(sleeps):
    cost = {
        "product_costs": [
            {"product": "retell_platform", "unit_price": 0.091667, "cost": 7.1},
            {"product": "elevenlabs_tts", "unit_price": 0.025, "cost": 1.9},
            {"product": "gpt-4.1-mini", "unit_price": 0.026667, "cost": 2.0267},
            {"product": "retell_twilio", "unit_price": 0.025, "cost": 1.9},
        ],
        "total_duration_seconds": 76,
        "total_duration_unit_price": 0.168334,
        "combined_cost": 12.9267,
    }
    record, warnings = one(phone_call(call_cost=cost, duration_ms=75_250), sleeps)
    assert record.cost == Decimal("0.129267")  # 12.9267 cents
    assert record.cost_components == {
        "retell_platform": Decimal("0.071"),
        "elevenlabs_tts": Decimal("0.019"),
        "gpt-4.1-mini": Decimal("0.020267"),
        "retell_twilio": Decimal("0.019"),
    }
    assert record.cost_covers == (
        CallPart.PLATFORM,
        CallPart.TELEPHONY,
        CallPart.STT,
        CallPart.LLM,
        CallPart.TTS,
    )
    assert record.duration_seconds == Decimal("75.25")
    assert record.billed_minutes == Decimal(76) / 60
    assert record.extras["unit_price_cents_per_second"] == "0.168334"
    assert warnings == []


def test_products_that_do_not_add_up_keep_the_reported_total_and_warn(sleeps):
    # Retell's documented example: elevenlabs_tts 60 cents, combined_cost 70 cents.
    cost = {
        "product_costs": [{"product": "elevenlabs_tts", "unit_price": 1, "cost": 60}],
        "total_duration_seconds": 60,
        "total_duration_unit_price": 1,
        "combined_cost": 70,
    }
    record, warnings = one(phone_call(call_cost=cost), sleeps)
    assert record.cost == Decimal("0.70")
    assert record.cost_components == {
        "elevenlabs_tts": Decimal("0.6"),
        "unitemized": Decimal("0.1"),
    }
    assert record.cost_covers == (CallPart.TTS,)
    assert warnings == [
        "retell: 1 call(s) whose product_costs do not add up to combined_cost; the reported "
        "total is kept (first: call call_a1: products elevenlabs_tts 60 cents, combined_cost 70 cents)"
    ]


def test_more_itemized_than_billed_keeps_the_total_without_a_split(sleeps):
    cost = {"product_costs": [{"product": "retell_platform", "cost": 80}], "combined_cost": 70}
    record, warnings = one(phone_call(call_cost=cost), sleeps)
    assert record.cost == Decimal("0.7") and record.cost_components is None
    assert record.billed_minutes is None  # no total_duration_seconds given
    assert "do not add up" in warnings[0]


def test_an_unknown_product_is_kept_as_a_component_and_named_in_a_warning(sleeps):
    cost = {
        "product_costs": [
            {"product": "retell_platform", "cost": 5.5},
            {"product": "warm_transfer_fee", "cost": 2},
        ],
        "combined_cost": 7.5,
        "total_duration_seconds": 60,
    }
    record, warnings = one(phone_call(call_cost=cost), sleeps)
    assert record.cost_components == {
        "retell_platform": Decimal("0.055"),
        "warm_transfer_fee": Decimal("0.02"),
    }
    assert record.cost_covers == (CallPart.PLATFORM, CallPart.STT)
    assert warnings == [
        "retell: unknown product(s) warm_transfer_fee: kept as cost components, not counted in "
        "cost_covers (what they pay for is not known)"
    ]


def test_a_transfer_leg_is_a_component_of_its_own(sleeps):
    cost = {
        "product_costs": [
            {"product": "retell_twilio", "cost": 1.5},
            {"product": "retell_twilio", "cost": 0.75, "is_transfer_leg_cost": True},
        ],
        "combined_cost": 2.25,
    }
    record, _ = one(phone_call(call_cost=cost), sleeps)
    assert record.cost_components == {
        "retell_twilio": Decimal("0.015"),
        "retell_twilio (transfer leg)": Decimal("0.0075"),
    }


def test_a_call_without_cost_yet_has_none_with_the_reason(sleeps):
    body = phone_call()
    del body["call_cost"]
    record, _ = one(body, sleeps)
    assert record.cost is None and record.cost_components is None and record.cost_covers is None
    assert record.cost_note == "Retell has not reported this call's cost (no call_cost yet)"
    placeholder = {
        "product_costs": [],
        "combined_cost": 0,
        "total_duration_seconds": 0,
        "total_duration_unit_price": 0,
    }
    ongoing, _ = one(phone_call(call_status="ongoing", call_cost=placeholder), sleeps)
    assert ongoing.cost is None and ongoing.billed_minutes is None  # zeros of a call not over
    assert "the call is ongoing, not over" in ongoing.cost_note


def test_a_call_not_connected_costs_a_reported_zero(sleeps):
    zero = {
        "product_costs": [],
        "combined_cost": 0,
        "total_duration_seconds": 0,
        "total_duration_unit_price": 0,
    }
    record, _ = one(phone_call(call_status="not_connected", call_cost=zero, duration_ms=0), sleeps)
    assert record.cost == Decimal(0) and record.cost_source is CostSource.REPORTED
    # It pays for nothing, and says so: covering nothing is known, not unknown.
    assert record.cost_components == {} and record.cost_covers == ()
    assert record.failed_calls == 1 and record.duration_seconds == Decimal(0)


def test_product_names_map_to_the_parts_they_pay_for():
    assert parts_of("retell_platform") == (CallPart.PLATFORM, CallPart.STT)
    assert parts_of("elevenlabs_tts") == (CallPart.TTS,)
    assert parts_of("deepgram_asr") == (CallPart.STT,)
    assert parts_of("gpt-4o-mini") == (CallPart.LLM,)
    assert parts_of("claude-4.5-haiku") == (CallPart.LLM,)
    assert parts_of("gpt-realtime") == (CallPart.STT, CallPart.LLM, CallPart.TTS)
    assert parts_of("retell_twilio") == (CallPart.TELEPHONY,)
    assert parts_of("warm_transfer_fee") is None
    assert all(parts for parts in PRODUCT_PARTS.values())


def test_agent_filter_is_sent_and_number_filter_is_applied_after_listing(sleeps):
    emulator = RetellEmulator(KEY)
    agent = DEMO_AGENTS[1].agent_id
    records, _, server = fetch(emulator, sleeps, agent_ids=[agent])
    assert server.requests[0].json()["filter_criteria"]["agent"] == [{"agent_id": agent}]
    expected = [c.call_id for c in october(emulator) if c.agent.agent_id == agent]
    assert [r.call_id for r in records] == expected and expected
    number = "+14155550111"
    records, _, _ = fetch(emulator, sleeps, number_ids=[number])
    assert records and {r.number_id for r in records} == {number}


def test_an_unknown_option_is_refused_before_any_request(fake_key):
    # A closed port: were a request made, the error would be a TransportError instead.
    with (
        voice_usage.connect(
            RetellProvider(), api_key=fake_key, base_url="http://127.0.0.1:9"
        ) as retell,
        pytest.raises(voice_usage.UnsupportedQueryError, match="retell: unknown option 'x'"),
    ):
        retell.fetch("2026-10-01", "2026-10-02", options={"x": "1"})


# -- pages that do not add up, bodies that are not Retell's -------------------------------------


def test_a_page_that_repeats_a_call_is_a_pagination_error(sleeps):
    emulator = RetellEmulator(KEY)
    with EmulatorServer(emulator) as server:
        first: list[Any] = []

        def remember(body: Any, request: EmulatorRequest) -> Any:
            first.extend(body["items"])
            return body

        def repeat(body: Any, request: EmulatorRequest) -> Any:
            body["items"].insert(0, first[-1])  # the previous page's last call again
            return body

        server.faults.add(Fault(action="rewrite", rewrite=remember))
        server.faults.add(Fault(action="rewrite", rewrite=repeat))
        with (
            voice_usage.connect(
                RetellProvider(page_size=40), api_key=KEY, base_url=server.base_url
            ) as c,
            pytest.raises(PaginationError, match="listed again on page 2") as caught,
        ):
            c.fetch("2026-10-01", "2026-11-01", "call").to_list()
        assert len(server.requests) <= 3  # page 3 may be in flight already: no more
    assert caught.value.provider == "retell"
    assert str(caught.value).startswith(f"retell: call {first[-1]['call_id']} listed again")


def test_a_page_served_twice_is_a_pagination_error_not_a_loop(sleeps):
    emulator = RetellEmulator(KEY)
    with EmulatorServer(emulator) as server:
        pages: list[Any] = []

        def replay(body: Any, request: EmulatorRequest) -> Any:
            pages.append(body)
            if len(pages) == 3:  # page 3 is page 2 again, with a fresh key
                return {**pages[1], "pagination_key": "c29tZXRoaW5nIGVsc2U="}
            return body

        server.faults.add(Fault(action="rewrite", rewrite=replay), None)
        with (
            voice_usage.connect(
                RetellProvider(page_size=40), api_key=KEY, base_url=server.base_url
            ) as c,
            pytest.raises(PaginationError, match="page 3"),
        ):
            c.fetch("2026-10-01", "2026-11-01", "call").to_list()


def test_a_key_that_repeats_is_a_pagination_error(sleeps):
    emulator = RetellEmulator(KEY)
    with EmulatorServer(emulator) as server:

        def stuck(body: Any, request: EmulatorRequest) -> Any:
            if request.json().get("pagination_key"):
                body["pagination_key"] = request.json()["pagination_key"]
            return body

        server.faults.add(Fault(action="rewrite", rewrite=stuck), None)
        with (
            voice_usage.connect(
                RetellProvider(page_size=40), api_key=KEY, base_url=server.base_url
            ) as c,
            pytest.raises(PaginationError, match="the cursor repeats"),
        ):
            c.fetch("2026-10-01", "2026-11-01", "call").to_list()
        assert len(server.requests) == 2  # page 2 gave back the key that asked for it


def served(body: Any, sleeps: Any) -> voice_usage.FetchResult:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(body).encode())

    connection = voice_usage.connect(
        RetellProvider(), api_key=KEY, transport=httpx.MockTransport(handler), concurrency=1
    )
    return connection.fetch("2026-10-01", "2026-11-01", "call")


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (
            {"call_cost": {"product_costs": [], "combined_cost": "70"}},
            "items.0.call_cost.combined_cost",
            "expected a JSON number",
        ),
        (
            {"call_cost": {"product_costs": [{"product": "x", "cost": True}], "combined_cost": 1}},
            "items.0.call_cost.product_costs.0.cost",
            "expected a JSON number",
        ),
        (
            {"call_cost": {"product_costs": [], "combined_cost": -5}},
            "items.0.call_cost.combined_cost",
            "greater than or equal to 0",
        ),
        ({"duration_ms": -1000}, "items.0.duration_ms", "greater than or equal to 0"),
        (
            {"call_cost": {"product_costs": [], "combined_cost": 0, "total_duration_seconds": -2}},
            "items.0.call_cost.total_duration_seconds",
            "greater than or equal to 0",
        ),
        ({"start_timestamp": "1790812800000"}, "items.0.start_timestamp", "integer"),
    ],
    ids=[
        "cents-as-text",
        "cents-as-boolean",
        "negative-total",
        "negative-duration",
        "negative-billed",
        "timestamp-as-text",
    ],
)
def test_bad_figures_are_named_errors_never_zeros(sleeps, change, field, why):
    body = {"items": [phone_call(**change)], "has_more": False}
    with pytest.raises(ResponseValidationError) as caught:
        served(body, sleeps).to_list()
    error = caught.value
    assert error.provider == "retell" and error.field == field
    assert str(error).startswith(
        f"retell: unexpected response from /v3/list-calls: field {field!r}"
    )
    assert why in str(error)


def test_has_more_without_a_key_is_a_named_error_not_a_silent_end(sleeps):
    body = {"items": [phone_call()], "has_more": True}
    with pytest.raises(ResponseValidationError) as caught:
        served(body, sleeps).to_list()
    assert caught.value.field == "pagination_key"
    assert "has_more is true but no pagination_key was given" in str(caught.value)


def test_a_page_without_items_or_has_more_is_a_named_error(sleeps):
    with pytest.raises(ResponseValidationError, match="field 'has_more'"):
        served({"items": []}, sleeps).to_list()
    with pytest.raises(ResponseValidationError, match="field 'items'"):
        served({"has_more": False}, sleeps).to_list()


def test_the_emulator_answers_404_without_v3_and_400_for_a_bad_body():
    emulator = RetellEmulator(KEY, versions=("v2",))
    with (
        EmulatorServer(emulator) as server,
        httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}
        ) as client,
    ):
        missing = client.post("/v3/list-calls", json={})
        assert missing.status_code == 404
        assert missing.json() == {
            "status": "error",
            "message": "The requested resource was not found.",
        }
        too_many = client.post("/v2/list-calls", json={"limit": 1001})
        assert too_many.status_code == 400
        assert client.post("/v2/list-calls", json={"limit": 2}).status_code == 200
        assert client.get("/v2/list-calls").status_code == 404
        unauthorized = client.post(
            "/v2/list-calls", json={}, headers={"Authorization": "Bearer nope"}
        )
        assert unauthorized.status_code == 401


def test_the_emulators_billing_follows_retells_exceptions():
    from voice_usage_retell.emulator import billed_seconds_for

    front, collections, _ = DEMO_AGENTS
    assert billed_seconds_for(front, 4_200) == 10  # dynamic AI-first opening: 10 s minimum
    assert billed_seconds_for(front, 60_000) == 60
    assert billed_seconds_for(collections, 60_000) == 72  # 4,200 tokens: 60 s x 4200/3500
    assert billed_seconds_for(collections, 4_200) == 6  # no minimum for a static opening


def test_calls_not_rated_yet_have_no_cost_and_say_why(sleeps):
    emulator = RetellEmulator(KEY, today=date(2026, 10, 31))  # some of today's calls are not rated
    records, _, _ = fetch(emulator, sleeps)
    unrated = {c.call_id for c in october(emulator) if not c.has_cost}
    assert unrated
    for record in records:
        if record.call_id in unrated:
            assert record.cost is None and record.billed_minutes is None
            assert record.cost_note == "Retell has not reported this call's cost (no call_cost yet)"
        else:
            assert record.cost is not None
