"""The Retell provider replaying hand-authored cassettes of the vendor's documented bodies.

Cassettes: `cassettes/test_retell_cassettes/`, each citing its source. They replay against the
real base URL with the default transport (vcrpy patches it); the network stays blocked.
Expected figures are worked out by hand in each cassette's header.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import voice_usage
from voice_usage import CallPart, CostSource


@pytest.fixture
def retell(open_connection):
    return open_connection("retell", base_url="https://api.retellai.com", concurrency=1)


@pytest.mark.vcr
def test_documented_example_in_a_v3_page(retell):
    result = retell.fetch("2023-12-23", "2023-12-24", "call")
    (record,) = result.to_list()
    assert record.call_id == "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
    assert record.agent_id == "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"
    assert record.period_start == datetime(2023, 12, 23, 3, 33, 27, 333000, tzinfo=UTC)
    assert record.period_end == datetime(2023, 12, 23, 3, 33, 48, 855000, tzinfo=UTC)
    assert record.duration_seconds == Decimal(10)
    # The example is still `registered`: its call_cost is not a price yet.
    assert record.cost is None and record.billed_minutes is None
    assert (
        record.cost_note
        == "Retell has not reported this call's cost (the call is registered, not over)"
    )
    assert record.failed_calls is None and record.number_id is None
    assert record.extras["disconnection_reason"] == "agent_hangup"
    assert result.warnings == []


@pytest.mark.vcr
def test_documented_cost_on_an_ended_phone_call(retell):
    result = retell.fetch("2023-12-23", "2023-12-24", "call")
    (record,) = result.to_list()
    assert record.cost == Decimal("0.70") and record.currency == "USD"
    assert record.cost_source is CostSource.REPORTED
    assert record.cost_components == {
        "elevenlabs_tts": Decimal("0.6"),
        "unitemized": Decimal("0.1"),
    }
    assert record.cost_covers == (CallPart.TTS,)
    assert record.billed_minutes == Decimal(1) and record.duration_seconds == Decimal(10)
    assert record.number_id == "+12137771235"  # inbound: the number called
    assert record.failed_calls == 0
    assert result.warnings == [
        "retell: 1 call(s) whose product_costs do not add up to combined_cost; the reported "
        "total is kept (first: call Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6: products elevenlabs_tts "
        "60 cents, combined_cost 70 cents)"
    ]


@pytest.mark.vcr
def test_two_pages(retell):
    result = retell.fetch("2026-10-05", "2026-10-06", "call")
    first, second, third = result.to_list()
    assert first.cost == Decimal("0.275167")
    assert first.cost_components == {
        "retell_platform": Decimal("0.116417"),
        "elevenlabs_tts": Decimal("0.03175"),
        "gpt-4.1": Decimal("0.09525"),
        "retell_twilio": Decimal("0.03175"),
    }
    assert first.billed_minutes == Decimal(127) / 60 and first.duration_seconds == Decimal("125.4")
    assert first.cost_covers == (
        CallPart.PLATFORM,
        CallPart.TELEPHONY,
        CallPart.STT,
        CallPart.LLM,
        CallPart.TTS,
    )
    assert first.number_id == "+12137771234"  # outbound: the number calling
    assert first.extras["twilio_call_sid"] == "CA5f1e8f2a7c3b4d6e9f0a1b2c3d4e5f60"
    assert (second.cost, second.failed_calls) == (Decimal(0), 1)
    assert second.extras["disconnection_reason"] == "dial_no_answer"
    assert third.cost == Decimal("0.021667") and third.billed_minutes == Decimal(10) / 60
    assert sum(r.cost for r in (first, second, third)) == Decimal("0.296834")
    assert result.warnings == []


@pytest.mark.vcr
def test_v2_fallback(retell):
    result = retell.fetch("2026-10-05", "2026-10-06", "call")
    records = result.to_list()
    assert [r.call_id for r in records] == [
        "call_0b1f6c3a9e2d4a7f8c5b0e1d2f3a",
        "call_7d2e9a4b1c6f3e8a0d5b2c7e9f1a",
        "call_c4a8e1f7b3d9a2c6e0f4b8d1a5c9",
    ]
    assert sum(r.cost for r in records) == Decimal("0.296834")  # the same as test_two_pages
    assert result.warnings == [
        "retell: /v3/list-calls answered 404; read the legacy /v2/list-calls instead"
    ]


@pytest.mark.vcr
def test_unauthorized(retell, fake_key):
    with pytest.raises(voice_usage.AuthenticationError) as caught:
        retell.fetch("2026-10-05", "2026-10-06", "call").to_list()
    assert str(caught.value) == (
        "retell: HTTP 401 authentication failed (check the API key) API key is missing or invalid."
    )
    assert fake_key not in repr(caught.value)
