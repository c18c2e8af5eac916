"""The Vapi provider against its emulator and against hand-made bodies.

Expected figures come from the emulator's own data (`VapiEmulator.totals`, its calls), worked out
apart from the provider's code, or by hand from the bodies written here.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    CallPart,
    ConfigurationError,
    NotFoundError,
    ResponseValidationError,
    UsageRecord,
)
from voice_usage.emulator import EmulatorRequest, EmulatorServer, Fault
from voice_usage_vapi import VapiProvider, cost_split, is_failed
from voice_usage_vapi._provider import exact_cost, reconcile_split
from voice_usage_vapi._wire import Call
from voice_usage_vapi.emulator import DEMO_ASSISTANTS, VapiEmulator

pytestmark = pytest.mark.emulator

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
TODAY = date(2026, 11, 20)
SINCE, UNTIL = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
OCTOBER = {"since": "2026-10-01", "until": "2026-11-01", "granularity": "call"}


def fetch(
    emulator: VapiEmulator,
    sleeps: Any,
    *,
    page_size: int = 1000,
    faults: list[Fault] = (),  # type: ignore[assignment]
    **query: Any,
) -> tuple[list[UsageRecord], Any, list[EmulatorRequest]]:
    with EmulatorServer(emulator) as server:
        for fault in faults:
            server.faults.add(fault)
        with voice_usage.connect(
            VapiProvider(page_size=page_size),
            api_key=KEY,
            base_url=server.base_url,
            sleep=sleeps,
            async_sleep=sleeps.asleep,
        ) as connection:
            result = connection.fetch(**{**OCTOBER, **query})
            records = result.to_list()
        return records, result, list(server.requests)


def ended_calls(emulator: VapiEmulator, since: datetime = SINCE, until: datetime = UNTIL) -> list:
    return [c for c in emulator.calls_between(since, until) if c.ended_call]


# -- every ended call once, costs to the emulator's own total --------------------------------------


@pytest.mark.parametrize("v2", [True, False], ids=["v2", "call-fallback"])
@pytest.mark.parametrize("page_size", [7, 1000])
def test_every_ended_call_once_with_the_emulators_totals(sleeps, v2, page_size):
    emulator = VapiEmulator(KEY, v2=v2, today=TODAY)
    records, result, requests = fetch(emulator, sleeps, page_size=page_size)
    expected = emulator.totals(SINCE, UNTIL)
    ids = [r.call_id for r in records]
    assert len(ids) == len(set(ids)) == expected["calls"] > 100
    assert set(ids) == {c.call_id for c in ended_calls(emulator)}
    total = sum((r.cost for r in records), Decimal(0))
    assert total == expected["cost"]
    assert total.quantize(Decimal("0.01")) == expected["cost"].quantize(Decimal("0.01"))
    assert sum(r.failed_calls for r in records) == expected["failed"]
    assert sum(r.duration_seconds for r in records) == expected["seconds"]
    assert {r.currency for r in records} == {"USD"}
    assert {r.cost_source for r in records} == {voice_usage.CostSource.REPORTED}
    assert result.warnings == [] and result.report.reconciled
    assert {r.path for r in requests} == ({"/v2/call"} if v2 else {"/v2/call", "/call"})


def test_the_fallback_gives_the_same_records_as_v2(sleeps):
    by_v2, _, _ = fetch(VapiEmulator(KEY, today=TODAY), sleeps, page_size=9)
    by_call, _, _ = fetch(VapiEmulator(KEY, v2=False, today=TODAY), sleeps, page_size=9)
    assert sorted(by_v2, key=lambda r: r.call_id) == sorted(by_call, key=lambda r: r.call_id)


def test_components_sum_to_each_cost_and_name_vapis_items(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    records, _, _ = fetch(emulator, sleeps)
    calls = {c.call_id: c for c in ended_calls(emulator)}
    for record in records:
        assert record.cost_components is not None
        assert sum(record.cost_components.values(), Decimal(0)) == record.cost
        assert set(record.cost_components) <= {
            "transport", "transcriber", "model", "voice", "vapi", "analysis",
        }  # fmt: skip
        call = calls[record.call_id]
        # Each item is Vapi's own figure, exactly as sent (items of one kind summed).
        for item in {i["type"] for i in call.items}:
            sent = sum(i["cost"] for i in call.items if i["type"] == item)
            assert record.cost_components[item] == sent


def test_what_each_cost_covers(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    records, _, _ = fetch(emulator, sleeps)
    calls = {c.call_id: c for c in ended_calls(emulator)}
    seen = Counter()
    for record in records:
        call = calls[record.call_id]
        if record.cost == 0:
            assert record.cost_covers == ()
            seen["free"] += 1
        elif call.line == "vapi":
            assert record.cost_covers == tuple(CallPart)  # a Vapi number: the line too
            seen["vapi line"] += 1
        else:
            # The user's own Twilio number, or a web call: no transport charge from Vapi.
            assert record.cost_covers == (
                CallPart.PLATFORM, CallPart.STT, CallPart.LLM, CallPart.TTS,
            )  # fmt: skip
            seen["own line or web"] += 1
    assert min(seen.values()) > 5 and len(seen) == 3


def test_one_record_per_call_with_its_ids_and_times(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    records, _, _ = fetch(emulator, sleeps)
    calls = {c.call_id: c for c in ended_calls(emulator)}
    kinds = Counter()
    for record in records:
        call = calls[record.call_id]
        assert record.grain is voice_usage.Grain.EVENT and record.calls == 1
        assert record.period_start == call.created
        assert record.agent_id == (call.assistant_id or call.squad_id or call.workflow_id)
        assert record.number_id == call.number_id
        assert record.extras.get("carrier_call_id") == call.carrier_call_id
        assert record.extras["ended_reason"] == call.ended_reason
        assert record.failed_calls == int(call.failed)
        assert record.duration_seconds == call.talk_seconds
        platform = [i for i in call.items if i["type"] == "vapi"]
        if platform:
            assert record.billed_minutes == Decimal(repr(platform[0]["minutes"]))
        kinds["squad" if call.squad_id else "workflow" if call.workflow_id else "assistant"] += 1
    assert len(kinds) == 3


def test_day_windows_sum_to_the_same_totals(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    days, _, _ = fetch(emulator, sleeps, granularity="day")
    expected = emulator.totals(SINCE, UNTIL)
    assert [d.period_start for d in days] == [SINCE + timedelta(days=n) for n in range(31)]
    assert sum(d.calls for d in days) == expected["calls"]
    assert sum(d.cost for d in days) == expected["cost"]
    assert sum(d.duration_seconds for d in days) == expected["seconds"]
    month, _, _ = fetch(emulator, sleeps, granularity="month")
    assert [m.cost for m in month] == [expected["cost"]]


# -- how the lists are read -------------------------------------------------------------------------


def test_v2_is_read_ascending_page_by_page_over_the_period(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    records, _, requests = fetch(emulator, sleeps, page_size=50)
    pages = -(-len(records) // 50)
    assert [r.param("page") for r in requests] == [str(n) for n in range(1, pages + 1)]
    for request in requests:
        assert request.param("sortOrder") == "ASC"
        assert request.param("limit") == "50"
        assert request.param("createdAtGe") == "2026-10-01T00:00:00.000000Z"
        assert request.param("createdAtLt") == "2026-11-01T00:00:00.000000Z"
    assert [r.period_start for r in records] == sorted(r.period_start for r in records)


def test_the_call_walk_reads_again_the_edge_instant_and_drops_nothing(sleeps):
    # Half the calls share their instant with the call before: page edges fall inside such
    # groups, which a strict `createdAtLt` would cut (dropping calls) and `createdAtLe` repeats.
    emulator = VapiEmulator(KEY, v2=False, tie_rate=0.5, calls_per_day=(12, 12), today=TODAY)
    calls = ended_calls(emulator)
    group = max(Counter(c.created for c in calls).values())
    records, result, requests = fetch(emulator, sleeps, page_size=group + 1)
    assert {r.call_id for r in records} == {c.call_id for c in calls}
    assert len(records) == len(calls)
    shared = Counter(c.created for c in calls)
    edges = [
        datetime.fromisoformat(r.param("createdAtLe").replace("Z", "+00:00"))
        for r in requests
        if r.param("createdAtLe")
    ]
    assert any(shared[edge] > 1 for edge in edges), "no page edge fell on a shared instant"
    assert result.warnings == [] and result.report.dropped_duplicates == 0


def call_body(call_id: str, created: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "orgId": "org",
        "createdAt": created,
        "updatedAt": created,
        "status": "ended",
        "startedAt": created,
        "endedAt": created,
        "cost": 0,
        **extra,
    }


def mock_call_list(answer: Any) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """`/v2/call` missing; `/call` answered by ``answer(request)``."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v2/call":
            return httpx.Response(404, json={"message": "Cannot GET /v2/call", "statusCode": 404})
        return httpx.Response(200, json=answer(request))

    return httpx.MockTransport(handler), seen


def fetch_mock(transport: httpx.MockTransport, page_size: int = 3, **query: Any) -> Any:
    with voice_usage.connect(
        VapiProvider(page_size=page_size),
        api_key=KEY,
        base_url="https://api.vapi.ai",
        transport=transport,
        concurrency=1,
    ) as connection:
        result = connection.fetch(**{**OCTOBER, **query})
        return result.to_list(), result


def test_a_full_call_page_of_one_instant_is_refused_not_looped():
    instant = "2026-10-05T10:00:00.000Z"
    transport, seen = mock_call_list(lambda r: [call_body(f"c{n}", instant) for n in range(3)])
    with pytest.raises(ResponseValidationError, match="created at 2026-10-05T10:00:00") as caught:
        fetch_mock(transport)
    assert str(caught.value).startswith("vapi: unexpected response from /call")
    assert len(seen) == 2  # /v2/call (404), then one /call page


def test_call_pages_out_of_creation_order_are_refused():
    stamps = ["2026-10-05T10:00:00Z", "2026-10-07T10:00:00Z", "2026-10-06T10:00:00Z"]
    transport, _ = mock_call_list(lambda r: [call_body(f"c{n}", s) for n, s in enumerate(stamps)])
    with pytest.raises(ResponseValidationError, match="not in createdAt order"):
        fetch_mock(transport)


def test_call_pages_oldest_first_are_walked_forward():
    stamps = [f"2026-10-{day:02d}T10:00:00Z" for day in (2, 3, 3, 4, 5, 6, 7)]
    rows = [call_body(f"c{n}", s) for n, s in enumerate(stamps)]

    def oldest_first(request: httpx.Request) -> list[Any]:
        params = request.url.params
        lo = datetime.fromisoformat(params["createdAtGe"].replace("Z", "+00:00"))
        hi = datetime.fromisoformat(params["createdAtLt"].replace("Z", "+00:00"))
        picked = [
            r
            for r in rows
            if lo <= datetime.fromisoformat(r["createdAt"].replace("Z", "+00:00")) < hi
        ]
        return picked[: int(params["limit"])]

    transport, seen = mock_call_list(oldest_first)
    records, result = fetch_mock(transport)
    assert [r.call_id for r in records] == [f"c{n}" for n in range(7)]
    # [Oct 1, Nov 1) -> c0 c1 c2; [Oct 3 (c2), Nov 1) -> c1 c2 c3; [Oct 4) -> c3 c4 c5; [Oct 6) -> c5 c6.
    assert [r.url.params.get("createdAtGe") for r in seen[1:]] == [
        "2026-10-01T00:00:00.000000Z",
        "2026-10-03T10:00:00.000000Z",
        "2026-10-04T10:00:00.000000Z",
        "2026-10-06T10:00:00.000000Z",
    ]
    assert result.warnings == []


# -- warnings: not ended, retention, a split that does not add up ---------------------------------


def test_calls_not_ended_are_skipped_and_counted(sleeps):
    emulator = VapiEmulator(KEY, stuck_rate=0.1, today=TODAY)
    records, result, _ = fetch(emulator, sleeps)
    stuck = [c for c in emulator.calls_between(SINCE, UNTIL) if not c.ended_call]
    assert len(stuck) > 5
    assert len(records) == emulator.totals(SINCE, UNTIL)["calls"]
    assert result.warnings == [
        f"vapi: {len(stuck)} call(s) not ended yet skipped (in-progress: {len(stuck)}); their "
        "cost is final only once they end: fetch again later"
    ]


@pytest.mark.parametrize("v2", [True, False], ids=["v2", "call-fallback"])
def test_calls_beyond_retention(sleeps, v2):
    emulator = VapiEmulator(KEY, v2=v2, retention_days=30, today=TODAY)  # from 2026-10-21
    records, result, _ = fetch(emulator, sleeps)
    kept = [c for c in ended_calls(emulator) if c.created.date() >= date(2026, 10, 21)]
    assert {r.call_id for r in records} == {c.call_id for c in kept}
    if v2:  # only /v2/call says so; /call just lists fewer calls
        assert any("beyond your plan's call-history retention" in w for w in result.warnings)
    else:
        assert result.warnings == []


def _rewrite_first_call(change: Any, call_id: str | None = None) -> Fault:
    """The first call of the first `/v2/call` page (or the call ``call_id``), changed."""

    def rewrite(body: Any, request: EmulatorRequest) -> Any:
        for call in body["results"]:
            if call_id in (None, call["id"]):
                change(call)
                break
        return body

    return Fault(action="rewrite", rewrite=rewrite, path="/v2/call")


def test_a_breakdown_that_does_not_add_up_keeps_the_reported_cost(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    first = next(c for c in ended_calls(emulator) if c.cost)
    raised = float(first.cost + Decimal("0.05"))

    def change(call: dict[str, Any]) -> None:
        call["cost"] = raised

    fault = _rewrite_first_call(change, first.call_id)
    records, result, _ = fetch(emulator, sleeps, faults=[fault])
    record = next(r for r in records if r.call_id == first.call_id)
    assert record.cost == Decimal(repr(raised))
    assert record.cost_components is None
    assert record.cost_covers is not None and CallPart.PLATFORM in record.cost_covers
    assert "not to the reported" in record.cost_note
    assert result.warnings == [
        "vapi: 1 call(s) whose cost items do not add up to the reported cost; the reported cost "
        f"is kept, without a split: {first.call_id}"
    ]
    expected = emulator.totals(SINCE, UNTIL)["cost"] + Decimal("0.05")
    assert sum(r.cost for r in records) == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda call: call.update(cost="0.12"), "results.0.cost"),
        (lambda call: call.update(cost=None) or call.pop("cost"), None),
        (lambda call: call.update(createdAt="2026-10-01T10:00:00.000"), "results.0.createdAt"),
        (lambda call: call.update(cost=-0.5), "results.0.cost"),
        (lambda call: call["costs"][0].update(cost=True), "results.0.costs.0.cost"),
        (lambda call: call.pop("id"), "results.0.id"),
    ],
    ids=[
        "cost a string",
        "cost absent",
        "zoneless time",
        "negative cost",
        "item cost bool",
        "no id",
    ],
)
def test_bad_calls_are_named_errors_never_zeros(sleeps, change, field):
    emulator = VapiEmulator(KEY, today=TODAY)
    if field is None:
        # A call without a cost is not an error: it is left unpriced, and counted in a warning.
        records, result, _ = fetch(emulator, sleeps, faults=[_rewrite_first_call(change)])
        unpriced = [r for r in records if r.cost is None]
        assert len(unpriced) == 1 and unpriced[0].cost_components is None
        assert "without a cost yet" in result.warnings[0]
        return
    with pytest.raises(ResponseValidationError) as caught:
        fetch(emulator, sleeps, faults=[_rewrite_first_call(change)])
    assert caught.value.field == field
    assert str(caught.value).startswith("vapi: unexpected response from /v2/call")


def test_a_body_of_another_shape_is_a_named_error(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    fault = Fault(action="body", body=b'[{"id": "c1"}]', path="/v2/call")
    with pytest.raises(ResponseValidationError, match="vapi: unexpected response from /v2/call"):
        fetch(emulator, sleeps, faults=[fault])


def test_a_call_listed_twice_across_pages_counts_once(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    repeated: dict[str, Any] = {}

    def rewrite(body: Any, request: EmulatorRequest) -> Any:
        if request.param("page") == "1":
            repeated.update(body["results"][-1])
        else:
            body["results"][0] = repeated
        return body

    fault = Fault(action="rewrite", rewrite=rewrite, path="/v2/call")
    with EmulatorServer(emulator) as server:
        server.faults.add(fault, times=2)
        with voice_usage.connect(
            VapiProvider(page_size=50), api_key=KEY, base_url=server.base_url
        ) as connection:
            result = connection.fetch(**OCTOBER)
            records = result.to_list()
    assert len(records) == len({r.call_id for r in records})
    assert result.report.dropped_duplicates == 1
    assert f"vapi: call {repeated['id']} listed twice; counted once" in result.warnings
    assert not result.report.reconciled  # one call of totalItems was never read


# -- the rules, by hand ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "failed"),
    [
        ("customer-ended-call", 0),
        ("assistant-ended-call", 0),
        ("assistant-said-end-call-phrase", 0),
        ("voicemail", 0),
        ("silence-timed-out", 0),
        ("exceeded-max-duration", 0),
        ("manually-canceled", 0),
        ("assistant-forwarded-call", 0),
        ("customer-busy", 1),
        ("customer-did-not-answer", 1),
        ("twilio-failed-to-connect-call", 1),
        ("vonage-failed-to-connect-call", 1),
        ("assistant-request-failed", 1),
        ("assistant-not-found", 1),
        ("pipeline-error-openai-llm-failed", 1),
        ("call.start.error-subscription-insufficient-credits", 1),
        ("call.in-progress.error-vapifault-worker-died", 1),
        ("call.ringing.error-sip-inbound-call-failed-to-connect", 1),
        ("worker-shutdown", 1),
        (None, None),
    ],
)
def test_the_failure_rule(reason, failed):
    assert is_failed(reason) == failed


def _call(**fields: Any) -> Call:
    body = {"id": "c", "orgId": "o", "createdAt": "2026-10-01T00:00:00Z",
            "updatedAt": "2026-10-01T00:00:00Z", **fields}  # fmt: skip
    return Call.model_validate_json(json.dumps(body))


def test_the_breakdown_is_read_when_costs_are_absent():
    call = _call(
        cost=0.2,
        costBreakdown={
            "transport": 0, "stt": 0.02, "llm": 0.03, "tts": 0.05, "vapi": 0.09, "total": 0.2,
            "analysisCostBreakdown": {"summary": 0.006, "successEvaluation": 0.004},
        },
    )  # fmt: skip
    split = cost_split(call)
    assert split is not None
    assert split.items == {
        "transport": Decimal(0),
        "stt": Decimal("0.02"),
        "llm": Decimal("0.03"),
        "tts": Decimal("0.05"),
        "vapi": Decimal("0.09"),
        "analysis": Decimal("0.010"),
    }
    # No transport charge: the user's own carrier number, telephony not covered.
    assert split.covered == (CallPart.PLATFORM, CallPart.STT, CallPart.LLM, CallPart.TTS)
    assert sum(split.items.values()) == Decimal("0.2")


def test_costs_items_of_one_kind_are_summed_under_vapis_name():
    call = _call(
        cost=0.07,
        costs=[
            {"type": "model", "cost": 0.01, "promptTokens": 1, "completionTokens": 1},
            {"type": "model", "cost": 0.02, "promptTokens": 1, "completionTokens": 1},
            {"type": "knowledge-base", "cost": 0.04},
        ],
    )
    split = cost_split(call)
    assert split is not None
    assert split.items == {"model": Decimal("0.03"), "knowledge-base": Decimal("0.04")}
    assert split.covered == (CallPart.LLM,)
    assert cost_split(_call(cost=0.07)) is None


def test_the_emulators_money_is_exact_decimals_in_the_json_text():
    emulator = VapiEmulator(KEY, today=TODAY)
    calls = ended_calls(emulator)
    request = EmulatorRequest("GET", "/v2/call", {"limit": ["1000"], "sortOrder": ["ASC"],
                              "createdAtGe": ["2026-10-01T00:00:00Z"],
                              "createdAtLt": ["2026-11-01T00:00:00Z"]}, {}, "http://x")  # fmt: skip
    # Read the body's numbers as their decimal text, not through a float.
    body = json.loads(emulator.handle(request).body, parse_float=Decimal)
    sent = {c["id"]: c for c in body["results"]}
    for call in calls:
        items = [i["cost"] for i in call.items]
        assert all(isinstance(i, Decimal) and i == i.quantize(Decimal("1e-8")) for i in items)
        assert call.cost == sum(items, Decimal(0))
        assert sent[call.call_id]["cost"] == call.cost
        assert [i["cost"] for i in sent[call.call_id]["costs"]] == items
        assert sent[call.call_id]["costBreakdown"]["total"] == call.cost
    total = emulator.totals(SINCE, UNTIL)["cost"]
    assert total == total.quantize(Decimal("1e-8"))  # no float noise in 18th places


def test_a_cost_added_as_doubles_by_the_vendor_is_read_as_the_exact_sum(sleeps):
    emulator = VapiEmulator(KEY, float_sums=True, today=TODAY)
    calls = {c.call_id: c for c in ended_calls(emulator)}
    noisy = [c for c in calls.values() if Decimal(repr(c.float_cost)) != c.cost]
    assert len(noisy) > 10  # the doubles really do carry rounding here
    records, result, _ = fetch(emulator, sleeps)
    for record in records:
        call = calls[record.call_id]
        assert record.cost == call.cost
        assert record.cost_components is not None
        assert sum(record.cost_components.values()) == call.cost
    assert sum(r.cost for r in records) == emulator.totals(SINCE, UNTIL)["cost"]
    assert result.warnings == []


def test_exact_cost_takes_the_items_sum_only_for_a_doubles_rounding():
    items = [{"type": "transcriber", "cost": 0.1}, {"type": "vapi", "cost": 0.2}]
    noisy = _call(cost=0.1 + 0.2, costs=items)  # 0.30000000000000004
    split = cost_split(noisy)
    assert split is not None and exact_cost(noisy, split.items) == Decimal("0.3")
    # Any other gap is the vendor's figure, kept as sent.
    assert exact_cost(_call(cost=0.3000001, costs=items), split.items) == Decimal("0.3000001")
    assert exact_cost(_call(cost=0.3, costs=items), split.items) == Decimal("0.3")
    # The items are added in their listed order: 0.1 + 0.2 + 0.3 is 0.6000000000000001 as
    # doubles, 0.3 + 0.2 + 0.1 is 0.6. The noisy figure is the sum's only in the first order.
    three = [*items, {"type": "model", "cost": 0.3}]
    forward = _call(cost=0.6000000000000001, costs=three)
    backward = _call(cost=0.6000000000000001, costs=three[::-1])
    parts = {"transcriber": Decimal("0.1"), "vapi": Decimal("0.2"), "model": Decimal("0.3")}
    assert exact_cost(forward, parts) == Decimal("0.6")
    assert exact_cost(backward, parts) == Decimal("0.6000000000000001")


def test_float_rounding_in_the_vendors_sum_is_carried_by_the_largest_item():
    # 0.1 + 0.2 added as doubles is 0.30000000000000004: Vapi's cost may carry that.
    items = {"transcriber": Decimal("0.1"), "vapi": Decimal("0.2")}
    fixed = reconcile_split(items, Decimal(repr(0.1 + 0.2)))
    assert fixed == {"transcriber": Decimal("0.1"), "vapi": Decimal("0.20000000000000004")}
    assert reconcile_split(items, Decimal("0.3")) == items
    assert reconcile_split(items, Decimal("0.35")) is None  # a real gap: no split
    assert reconcile_split({"vapi": Decimal(0)}, Decimal("-0.0000001")) is None


# -- options and filters -------------------------------------------------------------------------


def test_endpoint_call_reads_only_the_old_list(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    records, _, requests = fetch(emulator, sleeps, options={"endpoint": "call"})
    assert {r.path for r in requests} == {"/call"}
    assert len(records) == emulator.totals(SINCE, UNTIL)["calls"]


def test_endpoint_v2_reports_a_missing_v2_instead_of_falling_back(sleeps):
    with pytest.raises(NotFoundError, match=r"^vapi: HTTP 404.*Cannot GET /v2/call"):
        fetch(VapiEmulator(KEY, v2=False, today=TODAY), sleeps, options={"endpoint": "v2"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "v3"}, "vapi: option endpoint='v3' is not one of auto, v2, call"),
        ({"sauce": "x"}, "vapi: unknown option 'sauce' (Vapi understands: endpoint, source)"),
    ],
)
def test_bad_options_are_configuration_errors(options, message):
    query = voice_usage.UsageQuery(**{**OCTOBER, "options": options})
    with pytest.raises(ConfigurationError) as caught:
        VapiProvider().plan(query)
    assert str(caught.value) == message


@pytest.mark.parametrize("v2", [True, False], ids=["v2", "call-fallback"])
def test_two_assistants_are_two_walks(sleeps, v2):
    emulator = VapiEmulator(KEY, v2=v2, today=TODAY)
    records, result, requests = fetch(emulator, sleeps, agent_ids=DEMO_ASSISTANTS)
    expected = [c for c in ended_calls(emulator) if c.assistant_id in DEMO_ASSISTANTS]
    assert {r.call_id for r in records} == {c.call_id for c in expected}
    assert len(records) == len(expected)
    assert {r.param("assistantId") for r in requests} == set(DEMO_ASSISTANTS)
    assert result.report.reconciled and result.warnings == []


def test_a_total_that_moves_while_paging_is_said(sleeps):
    def rewrite(body: Any, request: EmulatorRequest) -> Any:
        body["metadata"]["totalItems"] += 1
        return body

    fault = Fault(action="rewrite", rewrite=rewrite, path="/v2/call", query={"page": "2"})
    emulator = VapiEmulator(KEY, today=TODAY)
    _, result, _ = fetch(emulator, sleeps, page_size=100, faults=[fault])
    calls = emulator.totals(SINCE, UNTIL)["calls"]
    assert (
        f"vapi: metadata.totalItems changed from {calls} to {calls + 1} while paging: calls were "
        "added or deleted meanwhile, so some may be missed; fetch again"
    ) in result.warnings


def test_the_emulators_bodies_are_json_the_provider_reads():
    emulator = VapiEmulator(KEY, today=TODAY)
    request = EmulatorRequest("GET", "/v2/call", {"limit": ["2"]}, {}, "http://x")
    body = json.loads(emulator.handle(request).body)
    assert body["metadata"] == {"itemsPerPage": 2, "totalItems": body["metadata"]["totalItems"],
                                "currentPage": 1}  # fmt: skip
    assert len(body["results"]) == 2


def test_a_warning_about_many_calls_names_the_first_three(sleeps):
    emulator = VapiEmulator(KEY, today=TODAY)
    raised = [c for c in ended_calls(emulator) if c.cost][:5]
    ids = {c.call_id for c in raised}

    def rewrite(body: Any, request: EmulatorRequest) -> Any:
        for call in body["results"]:
            if call["id"] in ids:
                call["cost"] += 0.5
        return body

    fault = Fault(action="rewrite", rewrite=rewrite, path="/v2/call")
    _, result, _ = fetch(emulator, sleeps, faults=[fault])
    first = ", ".join(c.call_id for c in raised[:3])
    assert result.warnings == [
        "vapi: 5 call(s) whose cost items do not add up to the reported cost; the reported cost "
        f"is kept, without a split: {first}, ..."
    ]
