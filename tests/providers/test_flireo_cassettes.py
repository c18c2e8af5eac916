"""Flireo's documented examples, replayed from hand-authored cassettes (replay-only).

Each cassette under `cassettes/test_flireo_cassettes/` says at its top which vendor page it was
built from. The client talks to the vendor's real base URL; vcrpy answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import voice_usage
from voice_usage import (
    AuthenticationError,
    CostSource,
    PaymentRequiredError,
    UnprocessableEntityError,
)
from voice_usage_flireo import FlireoOrganization, FlireoProvider

KEY = "fl_live_placeholder"


@pytest.fixture
def flireo(sleeps: Any) -> Iterator[voice_usage.Connection]:
    with voice_usage.connect(FlireoProvider(), api_key=KEY, concurrency=1, sleep=sleeps) as c:
        yield c


def figures(result: voice_usage.FetchResult) -> dict[str, tuple[Decimal, Decimal, bool]]:
    return {c.figure: (c.reported, c.computed, c.ok) for c in result.report.reconciliations}


@pytest.mark.vcr
def test_reference_shape_multi_page_walk(sleeps: Any, vcr: Any) -> None:
    provider = FlireoProvider(page_size=2)
    with voice_usage.connect(provider, api_key=KEY, concurrency=1, sleep=sleeps) as flireo:
        result = flireo.fetch("2025-12-01", "2026-01-01", granularity="call")
        records = result.to_list()

    assert vcr.play_count == 3 and vcr.all_played
    assert [r.call_id for r in records] == [
        "call-_+31612345682_abc127",
        "call-outbound-abc126",
        "call-_+31612345678_abc123",
        "call-_+31612345679_abc124",
        "call-_+31612345680_abc125",
    ]
    assert [r.duration_seconds for r in records] == [30, 125, 84, 0, 600]
    assert [r.billed_minutes for r in records] == [1, 3, 2, 0, 10]
    assert [r.cost for r in records] == [Decimal(x) for x in ("0.05", "0.15", "0.10", "0", "0.50")]
    assert {r.cost_source for r in records} == {CostSource.REPORTED}
    assert {r.currency for r in records} == {"EUR"}
    documented = records[2]
    assert documented.extras["log_id"] == "log-uuid-here"
    assert documented.period_start == datetime(2025, 12, 13, 10, 1, 24, tzinfo=UTC)
    # The log at exactly `since` belongs to the period.
    assert records[4].period_start == datetime(2025, 12, 1, tzinfo=UTC)
    assert figures(result) == {
        "calls": (Decimal(5), Decimal(5), True),
        "billed_minutes": (Decimal(16), Decimal(16), True),
        "cost": (Decimal("0.80"), Decimal("0.80"), True),
    }
    assert result.warnings == []
    assert sleeps == []


@pytest.mark.vcr
def test_billing_guide_example_verbatim(flireo: voice_usage.Connection) -> None:
    result = flireo.fetch("2025-12-01", "2026-01-01", granularity="call")
    (record,) = result.to_list()
    assert record.duration_seconds == 84
    assert record.billed_minutes == 2  # 84 s rounded up per call
    assert record.cost == Decimal("0.14")  # 2 min x EUR 0.07 from the rate card
    assert record.cost_source is CostSource.RATE_CARD
    assert record.number_id == "number-uuid"
    assert record.call_id is None
    # The example's summary describes 7200 s / 120 min / EUR 8.40: not this one log.
    assert figures(result) == {
        "duration_seconds": (Decimal(7200), Decimal(84), False),
        "billed_minutes": (Decimal(120), Decimal(2), False),
        "cost (rate card vs. vendor total_cost)": (Decimal("8.40"), Decimal("0.14"), False),
    }
    assert len(result.warnings) == 3
    assert all(w.startswith("flireo: reconciliation") and "MISMATCH" in w for w in result.warnings)


@pytest.mark.vcr
def test_sdk_types_shape(flireo: voice_usage.Connection) -> None:
    result = flireo.fetch("2026-01-01", "2026-02-01", granularity="call")
    phone, web = result.to_list()
    assert (phone.duration_seconds, phone.billed_minutes, phone.cost) == (95, 2, Decimal("0.14"))
    assert (web.duration_seconds, web.billed_minutes, web.cost) == (42, 1, Decimal("0.07"))
    assert phone.extras == {
        "log_id": "5d0c7a7e-3b7e-4c43-9d0e-2f1a8f5b6c01",
        "call_type": "phone",
        "phone_number": "+31850835037",
        "agent_name": "Customer Support",
        "business_name": "Acme Corp",
    }
    assert web.extras["call_type"] == "web" and "phone_number" not in web.extras
    assert result.report.reconciled and len(result.report.reconciliations) == 3


@pytest.mark.vcr
def test_openapi_example_log(flireo: voice_usage.Connection) -> None:
    result = flireo.fetch("2019-08-01", "2019-09-01", granularity="call")
    (record,) = result.to_list()
    assert record.extras == {
        "log_id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
        "phone_number": "string",
        "agent_name": "string",
        "business_name": "string",
        "byok_stt": False,
        "byok_llm": False,
        "byok_tts": False,
    }
    assert record.duration_seconds == 180 and record.billed_minutes == 3
    # 2019 predates every Flireo rate card: the cost is unknown, and says why.
    assert record.cost is None and record.cost_source is None
    assert record.cost_note is not None and "no rate card" in record.cost_note
    assert result.report.reconciled
    assert result.warnings == []


@pytest.mark.vcr
def test_unauthorized_flat_error(flireo: voice_usage.Connection) -> None:
    with pytest.raises(AuthenticationError) as info:
        flireo.fetch("2026-10-01", "2026-11-01", granularity="call").to_list()
    assert info.value.vendor_code == "Unauthorized"
    assert info.value.vendor_message == "Invalid or missing API key"
    assert str(info.value) == (
        "flireo: HTTP 401 authentication failed (check the API key) [Unauthorized] "
        "Invalid or missing API key"
    )


@pytest.mark.vcr
def test_insufficient_credits_nested_error(flireo: voice_usage.Connection) -> None:
    with pytest.raises(PaymentRequiredError) as info:
        flireo.fetch("2026-10-01", "2026-11-01", granularity="call").to_list()
    assert info.value.status_code == 402
    assert info.value.vendor_code == "insufficient_credits"
    assert info.value.vendor_message is not None
    assert info.value.vendor_message.startswith("Insufficient credits")


@pytest.mark.vcr
def test_validation_error_with_param(flireo: voice_usage.Connection) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        flireo.fetch("2026-10-01", "2026-11-01", granularity="call").to_list()
    assert info.value.vendor_code == "invalid_request"
    assert info.value.vendor_message == (
        "start_date must be an ISO 8601 date-time (parameter start_date)"
    )


@pytest.mark.vcr
def test_rate_limited_then_ok(flireo: voice_usage.Connection, sleeps: Any) -> None:
    result = flireo.fetch("2026-10-01", "2026-11-01", granularity="call")
    (record,) = result.to_list()
    assert sleeps == [45]  # Retry-After honoured, not slept for real
    assert record.billed_minutes == 2 and record.cost == Decimal("0.14")
    assert result.report.reconciled


@pytest.mark.vcr
def test_balance_reference_example(flireo: voice_usage.Connection) -> None:
    snapshot = flireo.balance()
    assert isinstance(snapshot, FlireoOrganization)
    assert snapshot.id == "550e8400-e29b-41d4-a716-446655440000"
    assert snapshot.name == "Acme Corp"
    assert snapshot.minutes_balance == 500
    assert snapshot.monthly_usage_minutes == 120
    assert (snapshot.active_numbers, snapshot.active_agents, snapshot.active_calls) == (3, 2, 1)


@pytest.mark.vcr
def test_balance_spec_example(flireo: voice_usage.Connection) -> None:
    snapshot = flireo.balance()
    assert snapshot.minutes_balance == Decimal("500.5")
    assert snapshot.name == "Acme Corporation"
    data = snapshot.model_dump(mode="json")
    assert data["minutes_balance"] == "500.5"
    assert data["has_local_models_access"] is False
    assert data["children"][0]["name"] == "Acme Benelux"


@pytest.mark.vcr
def test_balance_billing_guide_example(flireo: voice_usage.Connection) -> None:
    snapshot = flireo.balance()
    assert snapshot.name == "Your Company"
    assert snapshot.minutes_balance == 500
    assert snapshot.monthly_usage_minutes == 120
    assert snapshot.active_calls is None
