"""The Ultravox provider replaying hand-authored cassettes of the vendor's documented bodies.

Cassettes: `cassettes/test_ultravox_cassettes/`, each citing its source. They replay against the
real base URL with the default transport (vcrpy patches it); the network stays blocked.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from voice_usage import CostSource, Grain


@pytest.fixture
def ultravox(open_connection):
    return open_connection("ultravox", base_url="https://api.ultravox.ai")


@pytest.mark.vcr
def test_usage_calls_documented_example(ultravox):
    result = ultravox.fetch("2023-12-25", "2023-12-26", "day")
    (record,) = result.to_list()
    assert record.grain is Grain.WINDOW
    assert (record.period_start, record.period_end) == (
        datetime(2023, 12, 25, tzinfo=UTC),
        datetime(2023, 12, 26, tzinfo=UTC),
    )
    assert (record.calls, record.failed_calls) == (123, 123)
    assert record.duration_seconds == Decimal(24600)
    assert record.billed_minutes == Decimal(123)
    assert record.connected_calls == 123 and record.extras == {}
    # The documented example is dated 2023: no Ultravox rate card reaches back that far.
    assert record.cost is None and "no rate card" in record.cost_note
    assert result.report.reconciled and len(result.report.reconciliations) == 4


@pytest.mark.vcr
@pytest.mark.default_cassette("test_usage_calls_documented_example.yaml")
def test_usage_calls_documented_example_by_hour(ultravox):
    (record,) = ultravox.fetch("2023-12-25", "2023-12-26", "hour").to_list()
    assert (record.period_start, record.period_end) == (
        datetime(2023, 12, 25, 14, tzinfo=UTC),
        datetime(2023, 12, 25, 15, tzinfo=UTC),
    )
    assert record.calls == 123


@pytest.mark.vcr
def test_usage_calls_hh_mm_ss_durations(ultravox):
    result = ultravox.fetch("2026-10-01", "2026-10-03", "day")
    first, second = result.to_list()
    assert first.duration_seconds == Decimal("750.5")  # 00:12:30.500000
    assert second.duration_seconds == Decimal(86400)  # 1 00:00:00
    assert (first.billed_minutes, second.billed_minutes) == (Decimal("12.6"), Decimal("1440.3"))
    assert first.cost == Decimal("0.63")  # 12.6 x USD 0.05
    assert second.cost == Decimal("72.015")  # 1440.3 x 0.05
    assert second.failed_calls == 1
    assert result.report.reconciled


@pytest.mark.vcr
def test_billing_usage_documented_schema(ultravox):
    result = ultravox.fetch("2026-10-01", "2026-10-03", "day", options={"source": "billing"})
    records = result.to_list()
    got = [(r.period_start.day, r.item, r.billed_minutes, r.cost) for r in records]
    assert got == [
        (1, "call", Decimal("12.3"), Decimal("0.615")),
        (1, "sip", Decimal("4.5"), Decimal("0.0225")),
        (2, "call", Decimal("0.7"), Decimal("0.035")),
        (2, "sip", Decimal("0.0"), Decimal(0)),
    ]
    assert all(r.cost_source is CostSource.RATE_CARD and r.currency == "USD" for r in records)
    assert result.report.reconciled


@pytest.mark.vcr
def test_calls_list_two_pages(ultravox):
    result = ultravox.fetch("2026-10-01", "2026-11-01", "call")
    billed, console, sip = result.to_list()
    assert billed.duration_seconds == Decimal("122.6")
    assert (billed.billed_minutes, billed.cost) == (Decimal("2.1"), Decimal("0.105"))
    assert billed.extras["metadata"] == {"source": "web"}
    assert console.cost == 0 and console.billed_minutes == 0
    assert console.extras["billing_status"] == "BILLING_STATUS_FREE_CONSOLE"
    assert console.duration_seconds == Decimal(300)
    assert sip.billed_minutes == Decimal("1.1")
    assert sip.extras["sip_billed_seconds"] == "66"
    # 1.1 call minutes x USD 0.05 and 1.1 SIP minutes x USD 0.005
    assert sip.cost_components == {
        "call_minutes": Decimal("0.055"),
        "sip_minutes": Decimal("0.0055"),
    }
    assert sip.cost == Decimal("0.0605")
    assert sip.extras["retentionPolicy"] == "retain"  # undeclared in the wire model: kept
    assert "systemPrompt" not in sip.extras
    assert {r.agent_id for r in (billed, console, sip)} == {"3c90c3cc-0d44-4b50-8888-8dd25736052a"}
    assert result.report.reconciled  # 3 calls walked, total 3


@pytest.mark.vcr
def test_rate_limited_then_served(ultravox, sleeps):
    result = ultravox.fetch("2026-10-01", "2026-10-02", "day", options={"source": "billing"})
    records = result.to_list()
    assert sleeps == [2.0]  # Retry-After honoured, not slept for real
    assert [r.billed_minutes for r in records] == [Decimal("2.5"), Decimal("0.0")]
