"""The Vapi provider replaying hand-authored cassettes of the vendor's documented bodies.

Cassettes: `cassettes/test_vapi_cassettes/`, each citing its source. They replay against the real
base URL with the default transport (vcrpy patches it); the network stays blocked.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import voice_usage
from voice_usage import AuthenticationError, CallPart, CostSource, Grain
from voice_usage_vapi import VapiProvider

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"


def connect(sleeps, **options):
    return voice_usage.connect(
        VapiProvider(**options),
        api_key=KEY,
        base_url="https://api.vapi.ai",
        sleep=sleeps,
        async_sleep=sleeps.asleep,
    )


@pytest.mark.vcr
def test_documented_example_via_call(sleeps):
    with connect(sleeps) as vapi:
        result = vapi.fetch("2023-11-07", "2023-11-08", "call")
        (record,) = result.to_list()
    assert record.call_id == "<string>-ended" and record.grain is Grain.EVENT
    # The documented placeholders: cost 123, items 5 x 123 and analysis 3 x 123, not adding up.
    assert (record.cost, record.currency, record.cost_source) == (
        Decimal(123),
        "USD",
        CostSource.REPORTED,
    )
    assert record.cost_components is None
    assert record.cost_covers == tuple(CallPart)  # every item charged, the transport too
    assert record.failed_calls == 1  # "assistant-error"
    assert record.duration_seconds == 0 and record.billed_minutes is None
    assert record.period_start == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert record.extras["carrier_call_id"] == "<string>"
    assert result.warnings == [
        "vapi: 1 call(s) not ended yet skipped (queued: 1); their cost is final only once they "
        "end: fetch again later",
        "vapi: 1 call(s) whose cost items do not add up to the reported cost; the reported cost "
        "is kept, without a split: <string>-ended",
    ]


@pytest.mark.vcr
def test_v2_calls_two_pages(sleeps):
    with connect(sleeps, page_size=2) as vapi:
        result = vapi.fetch("2026-10-01", "2026-10-02", "call")
        own_line, squad, busy = result.to_list()
    assert result.warnings == [] and result.report.reconciled
    assert own_line.cost == Decimal("0.18311")
    assert own_line.cost_components == {
        "transport": Decimal(0),
        "transcriber": Decimal("0.0213"),
        "model": Decimal("0.0041"),
        "voice": Decimal("0.05121"),
        "vapi": Decimal("0.1065"),
    }
    # Twilio bills the user for the line: Vapi's cost does not cover telephony.
    assert own_line.cost_covers == (CallPart.PLATFORM, CallPart.STT, CallPart.LLM, CallPart.TTS)
    assert own_line.duration_seconds == Decimal("127.8")
    assert own_line.billed_minutes == Decimal("2.13")
    assert own_line.failed_calls == 0
    assert own_line.extras["carrier_call_id"] == "CA5f1e3d7c9b2a4e6f8d0c1b3a5e7f9d2c"
    assert squad.agent_id == "9b1d3f5a-7c9e-4b2d-8f4a-6c8e0a2c4e6b"
    assert squad.cost_components == {
        "transport": Decimal("0.05"),
        "transcriber": Decimal("0.05"),
        "model": Decimal("0.0083"),
        "voice": Decimal("0.0990"),
        "vapi": Decimal("0.25"),
        "analysis": Decimal("0.0004"),
    }
    assert squad.cost == Decimal("0.4577") and squad.cost_covers == tuple(CallPart)
    assert (squad.duration_seconds, squad.billed_minutes) == (Decimal(300), Decimal(5))
    assert (busy.cost, busy.cost_covers, busy.failed_calls) == (Decimal(0), (), 1)
    assert busy.duration_seconds == 0 and busy.number_id == squad.number_id


@pytest.mark.vcr
def test_documented_analytics_example(sleeps):
    with connect(sleeps) as vapi:
        result = vapi.fetch("2023-01-01", "2023-01-03", "day", options={"source": "analytics"})
        first, second = result.to_list()
    assert result.warnings == []
    # 120 minutes of calls costing 10.5 USD; a call refused the microphone: failed, costing 0.
    assert (first.period_start, first.period_end) == (
        datetime(2023, 1, 1, tzinfo=UTC),
        datetime(2023, 1, 2, tzinfo=UTC),
    )
    assert (first.grain, first.agent_id, first.calls, first.failed_calls) == (
        Grain.WINDOW, "123", 1, 0,
    )  # fmt: skip
    assert (first.cost, first.currency, first.duration_seconds) == (
        Decimal("10.5"), "USD", Decimal(7200),
    )  # fmt: skip
    assert first.cost_covers is None and first.cost_components is None
    assert second.period_start == datetime(2023, 1, 2, tzinfo=UTC)
    assert (second.calls, second.failed_calls, second.cost, second.duration_seconds) == (
        1, 1, Decimal(0), Decimal(0),
    )  # fmt: skip


@pytest.mark.vcr
def test_beyond_retention(sleeps):
    with connect(sleeps) as vapi:
        result = vapi.fetch("2026-06-01", "2026-07-01", "day")
        assert result.to_list() == []
    assert result.warnings == [
        "vapi: some calls of the period lie beyond your plan's call-history retention "
        "(metadata.itemsBeyondRetention): Vapi did not list them, so the totals miss them"
    ]


@pytest.mark.vcr
def test_rate_limited_then_served(sleeps):
    with connect(sleeps) as vapi:
        assert vapi.fetch("2026-10-01", "2026-10-02", "call").to_list() == []
    assert sleeps == [3.0]


@pytest.mark.vcr
def test_a_wrong_key(sleeps):
    with connect(sleeps) as vapi, pytest.raises(AuthenticationError) as caught:
        vapi.fetch("2026-10-01", "2026-10-02", "call").to_list()
    assert str(caught.value).startswith("vapi: HTTP 401")
    assert "Invalid Key." in str(caught.value) and KEY not in str(caught.value)
