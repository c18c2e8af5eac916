"""AgentPhone's documented examples, replayed through the provider from hand-authored cassettes.

Each cassette under `cassettes/test_agentphone_cassettes/` says which vendor page it comes from.
The provider's "today" is pinned so that it asks for exactly the documented request (for example
`days=7`); expected records are read off the documented bodies by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

import voice_usage
from voice_usage import BadRequestError, load_rate_book
from voice_usage.testing import check_records
from voice_usage_agentphone import AgentPhoneProvider, UsageSnapshot

pytestmark = pytest.mark.vcr


@pytest.fixture(autouse=True)
def _no_mode_env(monkeypatch):
    monkeypatch.delenv("AGENTPHONE_MODE", raising=False)
    monkeypatch.delenv("VOICE_USAGE_RATECARDS", raising=False)


def connect(today: date, fake_key: str, sleeps, **options):
    # The vendor's real https base URL: vcrpy answers from the cassette.
    return voice_usage.connect(
        AgentPhoneProvider(today=today),
        api_key=fake_key,
        concurrency=1,
        sleep=sleeps,
        **options,
    )


def fetch(connection, since, until, granularity="day", **filters):
    with connection:
        result = connection.fetch(since, until, granularity, **filters)
        records = check_records(result, result.query, provider="agentphone")
    return records, result


def test_daily_documented_example(fake_key, sleeps, vcr):
    # Today 2025-01-15: whole days from 2025-01-09 need "the last 7 days", the documented call.
    records, result = fetch(
        connect(date(2025, 1, 15), fake_key, sleeps), "2025-01-09", "2025-01-11"
    )
    assert [(r.period_start, r.period_end) for r in records] == [
        (datetime(2025, 1, 9, tzinfo=UTC), datetime(2025, 1, 10, tzinfo=UTC)),
        (datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 1, 11, tzinfo=UTC)),
    ]
    assert [r.calls for r in records] == [3, 5]
    assert [r.extras for r in records] == [
        {"messages": 12, "webhooks": 15},
        {"messages": 8, "webhooks": 13},
    ]
    assert all(r.duration_seconds is None and r.cost is None and r.cost_note for r in records)
    assert result.warnings == []
    assert vcr.all_played


def test_monthly_shape_from_the_spec(fake_key, sleeps, vcr):
    records, _ = fetch(
        connect(date(2025, 3, 10), fake_key, sleeps), "2025-01-01", "2025-04-01", "month"
    )
    assert [(r.period_start.date(), r.period_end.date()) for r in records] == [
        (date(2025, 1, 1), date(2025, 2, 1)),
        (date(2025, 2, 1), date(2025, 3, 1)),
        (date(2025, 3, 1), date(2025, 4, 1)),
    ]
    assert [r.calls for r in records] == [88, 71, 24]
    assert [r.extras["messages"] for r in records] == [310, 275, 96]
    assert vcr.all_played


BY_AGENT = {"view": "by-agent", "period": "month", "tz": "America/New_York"}


def test_by_agent_documented_example(fake_key, sleeps, vcr):
    records, result = fetch(
        connect(date(2024, 6, 15), fake_key, sleeps), "2024-06-01", "2024-07-01", options=BY_AGENT
    )
    # periodEnd 2024-06-30T23:59:59Z is the period's last second: the window ends at 1 July.
    assert {(r.period_start, r.period_end) for r in records} == {
        (datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))
    }
    assert [(r.agent_id, r.calls, r.duration_seconds) for r in records] == [
        ("a1b2c3d4-e5f6-7890-ab12-cd34ef567890", 47, 7320),
        ("b2c3d4e5-f678-9012-ab34-cd56ef789012", 30, 5400),
        (None, 5, 600),
    ]
    assert records[2].extras == {
        "agentName": "Unassigned",
        "messages": 25,
        "isOrphan": True,
        "period": "month",
        "tz": "America/New_York",
    }
    # The shipped rate card starts in 2025: June 2024 cannot be priced, and the records say so.
    for record in records:
        assert record.cost is None and record.cost_source is None
        assert "no rate card" in record.cost_note and "2024-06-01" in record.cost_note
    assert result.warnings == []
    assert vcr.all_played


@pytest.mark.default_cassette("test_by_agent_documented_example.yaml")
def test_by_agent_documented_example_under_a_user_rate_card(fake_key, sleeps, tmp_path):
    card = tmp_path / "negotiated.toml"
    card.write_text(
        '[[rate]]\nprovider = "agentphone"\nitem = "call"\nvariant = "webhook"\n'
        'price_per_minute = "0.13"\ncurrency = "USD"\nincrement_seconds = 1\n'
        'minimum_charge = "0.01"\neffective_from = 2024-01-01\n'
        'covers = ["platform", "telephony", "stt", "llm", "tts"]\n'
        'source = "https://example.invalid/our-contract"\nchecked = 2026-11-22\n',
        encoding="utf-8",
    )
    book = load_rate_book([card], use_env=False)
    records, _ = fetch(
        connect(date(2024, 6, 15), fake_key, sleeps, rate_book=book),
        "2024-06-01",
        "2024-07-01",
        options=BY_AGENT,
    )
    # 7320 s = 122 min x 0.13 = 15.86; 5400 s = 90 min x 0.13 = 11.70; 600 s = 10 min x 0.13 = 1.30;
    # the cent-per-call floors (0.47, 0.30, 0.05) are below.
    assert [r.cost for r in records] == [Decimal("15.86"), Decimal("11.70"), Decimal("1.30")]
    assert [r.billed_minutes for r in records] == [122, 90, 10]
    assert all(r.currency == "USD" and r.cost_source == "rate_card" for r in records)
    assert all(
        r.cost_estimate and "agentphone/call[webhook]@2024-01-01" in r.cost_note for r in records
    )


def test_by_number_documented_example(fake_key, sleeps, vcr):
    records, result = fetch(
        connect(date(2025, 1, 15), fake_key, sleeps),
        "2025-01-01",
        "2025-01-15",
        options={"view": "by-number"},
    )
    (record,) = records
    assert (record.number_id, record.agent_id, record.calls) == (
        "num_8f3a2b7c9d4e5f01",
        "agent_12345abcde",
        347,
    )
    assert record.extras == {
        "phoneNumber": "+14155552671",
        "country": "US",
        "status": "active",
        "messages": 1523,
        "agentName": "SupportBot Alpha",
        "periodStated": False,
    }
    assert record.cost is None and "per-number usage" in record.cost_note
    assert any("states no period" in warning for warning in result.warnings)
    assert vcr.all_played


def test_usage_documented_example(fake_key, sleeps, vcr):
    with connect(date(2025, 1, 8), fake_key, sleeps) as connection:
        snapshot = connection.balance()
    assert isinstance(snapshot, UsageSnapshot)
    assert snapshot.plan.name == "pro"
    limits = snapshot.plan.limits
    assert (limits.numbers, limits.messages_per_month, limits.voice_minutes_per_month) == (
        10,
        10000,
        500,
    )
    assert (limits.max_call_duration_minutes, limits.concurrent_calls) == (30, 5)
    assert (snapshot.numbers.used, snapshot.numbers.limit, snapshot.numbers.remaining) == (3, 10, 7)
    stats = snapshot.stats
    assert (stats.total_calls, stats.calls_last_24h, stats.calls_last_7d, stats.calls_last_30d) == (
        200,
        8,
        45,
        160,
    )
    assert (stats.total_messages, stats.failed_webhook_deliveries) == (4500, 50)
    assert snapshot.period_start == datetime(2025, 1, 1, tzinfo=UTC)
    assert snapshot.period_end == datetime(2025, 1, 8, tzinfo=UTC)
    assert snapshot.model_dump(mode="json")["stats"]["messages_last_7d"] == 850
    assert vcr.all_played


def test_rate_limit_envelope_then_success(fake_key, sleeps, vcr):
    records, _ = fetch(connect(date(2025, 1, 15), fake_key, sleeps), "2025-01-09", "2025-01-11")
    assert [r.calls for r in records] == [3, 5]
    assert list(sleeps) == [1.0]  # the vendor's Retry-After, honoured once
    assert vcr.all_played


def test_validation_error_envelope(fake_key, sleeps, vcr):
    options = {**BY_AGENT, "tz": "Mars/Olympus_Mons"}
    with pytest.raises(BadRequestError) as caught:
        fetch(
            connect(date(2024, 6, 15), fake_key, sleeps),
            "2024-06-01",
            "2024-07-01",
            options=options,
        )
    error = caught.value
    assert error.vendor_code == "VALIDATION_ERROR"
    assert error.vendor_message == "Validation failed (tz: Unknown IANA time zone)"
    assert str(error) == (
        "agentphone: HTTP 400 bad request [VALIDATION_ERROR] Validation failed "
        "(tz: Unknown IANA time zone)"
    )
    assert list(sleeps) == []  # a 400 is not retried
    assert vcr.all_played
