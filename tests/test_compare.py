"""compare(): rows, conversion, failures, grouping, billing endpoints; figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    ConfigurationError,
    CostSource,
    Grain,
    Granularity,
    GroupBy,
    MissingRateError,
    Registry,
    UsageRecord,
    compare,
    group_records,
)
from voice_usage.testing import FakeCall, FakeProvider, RecordsProvider

KEY = "test-key"
SINCE = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 1, tzinfo=UTC)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def event(
    provider: str,
    start: datetime,
    seconds: int,
    *,
    cost: str | None = None,
    currency: str = "USD",
    billed: str | None = None,
    agent: str | None = None,
    number: str | None = None,
    item: str = "call",
    failed: int | None = 0,
) -> UsageRecord:
    return UsageRecord(
        provider=provider,
        grain=Grain.EVENT,
        period_start=start,
        period_end=start + timedelta(seconds=max(seconds, 1)),
        calls=1,
        failed_calls=failed,
        duration_seconds=Decimal(seconds),
        billed_minutes=None if billed is None else Decimal(billed),
        cost=None if cost is None else Decimal(cost),
        currency=currency if cost is not None else None,
        cost_source=CostSource.REPORTED if cost is not None else None,
        cost_note=None if cost is not None else "no price known",
        agent_id=agent,
        number_id=number,
        call_id=f"{provider}-{start.isoformat()}-{seconds}",
        item=item,
    )


def options_for(*providers: Any) -> dict[str, dict[str, Any]]:
    return {p.name: {"api_key": KEY, "transport": p.transport(KEY)} for p in providers}


def run(*providers: Any, **kwargs: Any) -> voice_usage.Comparison:
    return compare(list(providers), SINCE, UNTIL, connect_options=options_for(*providers), **kwargs)


# Two vendors, hand-computed:
#   acme (USD): 84 s at 0.10, 30 s at 0.05, 601 s at 0.55 -> 3 calls, 715 s, billed 2+1+11 = 14 min,
#               cost 0.70 USD = 0.63 EUR at USD:EUR=0.9; 0.045 EUR per billed minute, 0.21 per call.
#   bolt (EUR): 60 s at 0.07, 120 s at 0.14 (1 failed) -> 2 calls, 180 s, 3 min, 0.21 EUR.
ACME = RecordsProvider(
    [
        event("acme", at(2), 84, cost="0.10", billed="2"),
        event("acme", at(3), 30, cost="0.05", billed="1"),
        event("acme", at(3, 18), 601, cost="0.55", billed="11"),
    ],
    name="acme",
)
BOLT = RecordsProvider(
    [
        event("bolt", at(2), 60, cost="0.07", currency="EUR", billed="1"),
        event("bolt", at(9), 120, cost="0.14", currency="EUR", billed="2", failed=1),
    ],
    name="bolt",
)


def test_rows_match_hand_computed_figures_in_one_currency():
    result = run(ACME, BOLT, currency="EUR", fx={"USD:EUR": "0.9"})
    assert result.ok and result.errors == []
    acme, bolt = result.row("acme"), result.row("bolt")
    assert (acme.calls, acme.failed_calls, acme.duration_seconds) == (3, 0, Decimal(715))
    assert acme.billed_minutes == Decimal(14)
    assert (acme.cost, acme.currency) == (Decimal("0.70"), "USD")
    assert (acme.converted_cost, acme.converted_currency) == (Decimal("0.63"), "EUR")
    assert acme.cost_per_minute == Decimal("0.045")
    assert acme.cost_per_call == Decimal("0.21")
    assert acme.unit_currency == "EUR"
    assert acme.cost_source == "reported"
    assert (bolt.calls, bolt.failed_calls, bolt.billed_minutes) == (2, 1, Decimal(3))
    assert bolt.converted_cost == Decimal("0.21")
    assert [r.label for r in result.fx] == ["USD:EUR=0.9"]  # EUR needed no rate
    assert result.total is not None
    assert result.total.calls == 5 and result.total.billed_minutes == Decimal(17)
    assert result.total.converted_cost == Decimal("0.84")


def test_without_a_currency_rows_stay_native_and_no_rate_is_used():
    result = run(ACME, BOLT)
    assert result.fx == []
    assert result.row("acme").converted_cost is None
    assert result.row("acme").cost_per_call == Decimal("0.233333")  # 0.70 / 3, USD
    assert result.row("acme").unit_currency == "USD"
    assert result.total is None  # USD and EUR do not add up without a rate


def test_a_missing_rate_is_an_error_naming_it_and_the_provider():
    with pytest.raises(MissingRateError) as caught:
        run(ACME, BOLT, currency="EUR")
    assert caught.value.pairs == [("USD", "EUR")]
    assert "USD:EUR" in str(caught.value) and "acme" in str(caught.value)


def test_a_rate_card_vendor_missing_rate_fails_before_fetching():
    requests: list[httpx.Request] = []

    class NoCost(RecordsProvider):
        pass

    vendor = NoCost([], name="ultravox", reports_cost=False)  # priced from a USD card

    def transport(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=[])

    with pytest.raises(MissingRateError, match="USD:EUR"):
        compare(
            [vendor],
            SINCE,
            UNTIL,
            currency="EUR",
            connect_options={
                "ultravox": {"api_key": KEY, "transport": httpx.MockTransport(transport)}
            },
        )
    assert requests == []


def test_one_failing_provider_is_reported_and_the_others_still_shown(sleeps):
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": "boom", "message": "down"})

    down = RecordsProvider([], name="down")
    options = options_for(ACME, BOLT)
    options["down"] = {"api_key": KEY, "transport": httpx.MockTransport(broken)}
    result = compare(
        [ACME, down, BOLT],
        SINCE,
        UNTIL,
        currency="EUR",
        fx={"USD:EUR": "0.9"},
        connect_options=options,
        sleep=sleeps,
        async_sleep=sleeps.asleep,
    )
    assert [r.provider for r in result.rows] == ["acme", "bolt"]
    assert not result.ok
    [error] = result.errors
    assert error.provider == "down" and error.error == "ServerError"
    assert error.message.startswith("down: HTTP 500")
    assert len(sleeps) >= 1  # it was retried (without really sleeping) before giving up
    data = result.to_json()
    assert data["errors"][0]["provider"] == "down"
    # a total over the providers that answered says which one it leaves out
    assert result.total is not None and result.total.provider == "total (without down)"
    assert result.total.calls == 5  # acme's 3 and bolt's 2


def test_uncosted_records_leave_the_cost_unknown_with_the_reason():
    free = RecordsProvider([event("free", at(2), 90), event("free", at(3), 30)], name="free")
    result = run(free, ACME, currency="EUR", fx=["USD:EUR=0.9"])
    row = result.row("free")
    assert row.calls == 2 and row.duration_seconds == Decimal(120)
    assert row.cost is None and row.converted_cost is None and row.cost_per_call is None
    assert row.unknown["cost"] == "2 of 2 records have no cost: no price known"
    assert row.unknown["billed_minutes"] == "not reported for 2 of 2 records"
    assert result.total is not None and result.total.converted_cost is None  # unknown stays unknown


def test_a_provider_with_no_usage_shows_zero_and_converts_to_zero():
    empty = RecordsProvider([], name="empty")
    result = run(empty, currency="EUR")
    row = result.row("empty")
    assert (row.calls, row.duration_seconds, row.billed_minutes, row.cost) == (0, 0, 0, 0)
    assert row.converted_cost == 0 and row.cost_per_minute is None
    assert result.fx == []


def test_costs_in_several_currencies_are_kept_apart_and_converted():
    mixed = RecordsProvider(
        [
            event("mixed", at(2), 60, cost="1.00", currency="USD"),
            event("mixed", at(3), 60, cost="2.00", currency="GBP"),
        ],
        name="mixed",
    )
    native = run(mixed)
    row = native.row("mixed")
    assert row.cost is None and row.currency is None
    assert row.costs == {"USD": Decimal("1.00"), "GBP": Decimal("2.00")}
    converted = run(mixed, currency="EUR", fx=["USD:EUR=0.9", "GBP:EUR=1.2"])
    assert converted.row("mixed").converted_cost == Decimal("0.9") + Decimal("2.4")
    with pytest.raises(MissingRateError, match="GBP:EUR"):
        run(mixed, currency="EUR", fx=["USD:EUR=0.9"])


def test_group_by_day_gives_one_row_per_provider_and_day():
    result = run(ACME, BOLT, group_by="day")
    keys = [(r.provider, r.group) for r in result.rows]
    assert keys == [
        ("acme", "2026-10-02"),
        ("acme", "2026-10-03"),
        ("bolt", "2026-10-02"),
        ("bolt", "2026-10-09"),
    ]
    assert result.row("acme", "2026-10-03").calls == 2
    assert result.row("acme", "2026-10-03").cost == Decimal("0.60")
    assert result.total is None


def test_group_by_month_and_agent_and_number():
    calls = RecordsProvider(
        [
            event("desk", at(2), 60, cost="1", agent="a1", number="n1"),
            event("desk", at(4), 60, cost="2", agent="a2", number="n1"),
            event("desk", datetime(2026, 10, 31, 23, tzinfo=UTC), 60, cost="4", agent="a1"),
        ],
        name="desk",
    )
    by_agent = run(calls, group_by="agent")
    assert [(r.group, r.cost) for r in by_agent.rows] == [("a1", Decimal(5)), ("a2", Decimal(2))]
    by_number = run(calls, group_by="number")
    assert [(r.group, r.calls) for r in by_number.rows] == [("n1", 2), (None, 1)]
    by_month = run(calls, group_by=GroupBy.MONTH)
    assert [(r.group, r.calls) for r in by_month.rows] == [("2026-10", 3)]


def test_billing_endpoint_figures_win_and_a_difference_is_a_warning():
    listed = [event("ledger", at(2), 84, billed="1.4"), event("ledger", at(3), 30, billed="0.5")]
    billed = [
        UsageRecord(
            provider="ledger",
            grain=Grain.WINDOW,
            period_start=at(2, 0),
            period_end=at(3, 0),
            billed_minutes=Decimal("2.5"),
            cost=Decimal("0.125"),
            currency="USD",
            cost_source=CostSource.RATE_CARD,
            rate_card="ledger/call@2025-01-01",
        ),
        UsageRecord(
            provider="ledger",
            grain=Grain.WINDOW,
            period_start=at(2, 0),
            period_end=at(3, 0),
            billed_minutes=Decimal("1"),
            cost=Decimal("0.005"),
            currency="USD",
            cost_source=CostSource.RATE_CARD,
            item="sip",
            rate_card="ledger/sip@2025-01-01",
        ),
    ]
    ledger = RecordsProvider(
        listed, name="ledger", billing=billed, granularities=[Granularity.CALL]
    )
    result = run(ledger)
    row = result.row("ledger")
    assert row.billed_from == "billing"
    assert row.calls == 2 and row.duration_seconds == Decimal(114)  # from the listed calls
    assert row.billed_minutes == Decimal("2.5")  # call minutes from the billing endpoint
    assert row.cost == Decimal("0.130")  # call 0.125 + SIP 0.005
    assert row.rate_cards == ("ledger/call@2025-01-01", "ledger/sip@2025-01-01")
    assert set(row.items) == {"call", "sip"}
    assert any("2.5 on the billing endpoint but 1.9" in w for w in result.warnings)
    without = run(ledger, use_billing=False)
    assert without.row("ledger").billed_minutes == Decimal("1.9")


def test_progress_is_reported_per_provider():
    seen: dict[str, int] = {}
    run(ACME, BOLT, progress=lambda name, count: seen.__setitem__(name, count))
    assert seen == {"acme": 3, "bolt": 2}


def test_no_provider_named_means_every_installed_one_with_a_key(monkeypatch):
    registry = Registry()
    registry.add(
        FakeProvider([FakeCall("c1", at(2), 60, Decimal("0.01"))], name="keyed"),
        "voice-usage-keyed",
        "1",
    )
    registry.add(FakeProvider(name="keyless"), "voice-usage-keyless", "1")
    monkeypatch.setenv("KEYED_API_KEY", KEY)
    monkeypatch.delenv("KEYLESS_API_KEY", raising=False)
    keyed = registry.get("keyed")
    assert isinstance(keyed, FakeProvider)
    result = compare(
        since=SINCE,
        until=UNTIL,
        registry=registry,
        connect_options={"keyed": {"transport": keyed.transport(KEY)}},
    )
    assert [r.provider for r in result.rows] == ["keyed"]
    assert [(s.provider, s.reason) for s in result.skipped] == [
        ("keyless", "no API key; set KEYLESS_API_KEY or pass api_key=")
    ]
    monkeypatch.delenv("KEYED_API_KEY")
    with pytest.raises(ConfigurationError, match="no provider to compare"):
        compare(since=SINCE, until=UNTIL, registry=registry)


def test_bad_arguments_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="must be after"):
        compare([ACME], "2026-10-02", "2026-10-01")
    with pytest.raises(ConfigurationError, match="ISO 4217"):
        run(ACME, currency="euro")
    with pytest.raises(ConfigurationError, match="not compared"):
        run(ACME, options={"bolt": {"x": "y"}})


def test_json_form_carries_the_contract_fields_as_strings():
    data = run(ACME, currency="EUR", fx=["USD:EUR=0.9"]).to_json()
    [row] = data["rows"]
    assert {"provider", "calls", "duration_seconds", "billed_minutes", "cost", "currency"} <= set(
        row
    )
    assert row["cost"] == "0.70" and row["converted_cost"] == "0.630000"
    assert data["fx"] == [{"from": "USD", "to": "EUR", "rate": "0.9", "label": "USD:EUR=0.9"}]
    assert data["errors"] == [] and data["since"] == "2026-10-01T00:00:00Z"


def test_group_records_makes_one_window_per_group():
    records = [
        event("desk", at(2), 60, cost="1", agent="a1"),
        event("desk", at(2, 13), 30, cost="2", agent="a2"),
        event("desk", at(5), 90, cost="4", agent="a1"),
    ]
    by_agent = list(group_records(records, "agent", since=SINCE, until=UNTIL))
    assert [(r.agent_id, r.calls, r.cost) for r in by_agent] == [
        ("a1", 2, Decimal(5)),
        ("a2", 1, Decimal(2)),
    ]
    assert all(r.grain is Grain.WINDOW and r.period_start == SINCE for r in by_agent)
    by_day = list(group_records(records, "day"))
    assert [(r.period_start.day, r.calls) for r in by_day] == [(2, 2), (5, 1)]
    [whole] = group_records(records, "provider")
    assert whole.calls == 3 and whole.period_start == at(2) and whole.cost == Decimal(7)


def test_fetch_progress_counts_and_stays_silent_off_a_terminal():
    import io

    from rich.console import Console

    from voice_usage.cli._progress import FetchProgress, counted

    quiet = FetchProgress(["a"], console=Console(file=io.StringIO()))
    assert not quiet.active
    with quiet:
        assert list(counted(range(250), "a", quiet)) == list(range(250))
    assert quiet.counts == {"a": 250}
    shown = io.StringIO()
    loud = FetchProgress(["a", "b"], console=Console(file=shown, force_terminal=True), force=True)
    with loud:
        loud.update("b", 7)
    assert loud.counts == {"a": None, "b": 7}
