"""The Twilio provider replaying hand-authored cassettes of the vendor's documented bodies.

Cassettes: `cassettes/test_twilio_cassettes/`, each citing its source. They replay against the
real base URL with the default transport (vcrpy patches it); the network stays blocked.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from voice_usage import CostSource, Grain

SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  # Twilio's documented placeholder account


@pytest.fixture
def twilio(open_connection, fake_key):
    return open_connection(
        "twilio",
        credentials={"account_sid": SID, "auth_token": fake_key},
        base_url="https://api.twilio.com",
    )


@pytest.mark.vcr
def test_calls_documented_example(twilio):
    result = twilio.fetch("2019-10-18T16:00:00Z", "2019-10-18T18:00:00Z", "call")
    first, second = result.to_list()  # the list's order: most recent first
    assert (first.call_id, second.call_id) == (
        "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0",
    )
    assert first.grain is Grain.EVENT and first.account == SID
    # "start_time": "Fri, 18 Oct 2019 17:02:00 +0000", "end_time": "... 17:03:00 +0000"
    assert (first.period_start, first.period_end) == (
        datetime(2019, 10, 18, 17, 2, tzinfo=UTC),
        datetime(2019, 10, 18, 17, 3, tzinfo=UTC),
    )
    # "duration": "4" -> 4 s, billed as one whole minute; "price": "-0.200" USD -> 0.200.
    assert (first.duration_seconds, first.billed_minutes) == (4, 1)
    assert (first.cost, first.currency, first.cost_source) == (
        Decimal("0.200"),
        "USD",
        CostSource.REPORTED,
    )
    assert (first.failed_calls, first.number_id) == (0, "PNdeadbeefdeadbeefdeadbeefdeadbeef")
    assert first.extras["direction"] == "outbound-api"
    assert first.extras["parent_call_sid"] == "CAdeadbeefdeadbeefdeadbeefdeadbeef"
    # The second is priced in JPY, as documented: kept in its own currency.
    assert (second.cost, second.currency, second.duration_seconds) == (Decimal("0.100"), "JPY", 3)
    # Phone numbers and caller names are personal data: not copied into extras.
    assert not {"to", "from", "caller_name", "from_formatted"} & set(first.extras)
    assert result.warnings == []


@pytest.mark.vcr
def test_daily_usage_documented_example(twilio):
    result = twilio.fetch("2026-10-14", "2026-10-15", "day")
    records = {r.extras["category"]: r for r in result.to_list()}
    assert [(c, r.calls, r.billed_minutes, r.cost) for c, r in records.items()] == [
        ("calls-inbound", 300, 310, Decimal("2.635")),
        ("calls-outbound", 40, 30, Decimal("0.42")),
        ("calls-client", 0, 0, 0),
        ("calls-sip", 10, 10, Decimal("0.04")),
        # calls 352 / 352 min / 3.52 less the children: 2 calls, 2 min, 0.425.
        ("calls-other", 2, 2, Decimal("0.425")),
    ]
    assert sum(r.cost for r in records.values()) == Decimal("3.52")
    assert {r.currency for r in records.values()} == {"USD"}  # "usd" on the wire
    assert records["calls-inbound"].extras["description"] == "Inbound Voice Minutes"
    assert all(r.account == SID for r in records.values())
