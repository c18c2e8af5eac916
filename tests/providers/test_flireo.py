"""Flireo provider against its emulator over loopback: paging, shapes, costs, reconciliation, errors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    AuthenticationError,
    BadRequestError,
    CostSource,
    Grain,
    PaymentRequiredError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    UnsupportedQueryError,
    UsageQuery,
    load_rate_book,
)
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage.testing import check_provider, check_records
from voice_usage_flireo import FlireoEmulator, FlireoOrganization, FlireoProvider
from voice_usage_flireo.emulator import spread

pytestmark = pytest.mark.emulator

OCT = ("2026-10-01", "2026-11-01")
OCT_PARAMS = {"start_date": "2026-10-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}


def october_2345(day: date) -> int:
    """20 days of 76 logs and 11 days of 75: 20 * 76 + 11 * 75 = 1520 + 825 = 2345 in October."""
    if day.year == 2026 and day.month == 10:
        return 76 if day.day <= 20 else 75
    return 40  # neighbouring months have logs too; they must not leak in


@pytest.fixture
def serve_flireo(serve: Any, fake_key: str) -> Callable[..., EmulatorServer]:
    """``serve_flireo(**options)`` serves a `FlireoEmulator` with those options, for this test."""
    return lambda **options: serve(FlireoEmulator(api_key=fake_key, **options))


def connect(
    server: EmulatorServer, key: str, sleeps: Any, **options: Any
) -> voice_usage.Connection:
    provider = options.pop("provider", "flireo")
    return voice_usage.connect(
        provider,
        api_key=key,
        base_url=server.base_url,
        sleep=sleeps,
        async_sleep=sleeps.asleep,
        **options,
    )


def raw_usage(server: EmulatorServer, key: str, **params: Any) -> dict[str, Any]:
    """The server's own answer, read without the provider (an independent view of its totals)."""
    response = httpx.get(
        f"{server.base_url}/usage",
        params=params,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,  # a summary over 200,000 logs: what this checks is the figures, not the speed
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def usage_requests(server: EmulatorServer) -> list[Any]:
    return [r for r in server.requests if r.path == "/usage"]


# -- the contract ------------------------------------------------------------------------------


def test_static_contract() -> None:
    check_provider(FlireoProvider())
    provider = voice_usage.load_registry().get("flireo")
    assert isinstance(provider, FlireoProvider)
    assert provider.default_base_url == "https://api.hmsovereign.com/api/v1"
    assert provider.rate_limit is not None
    assert (provider.rate_limit.requests, provider.rate_limit.per_seconds) == (100, 60)


def test_page_size_is_bounded_by_the_documented_maximum() -> None:
    with pytest.raises(ValueError, match="between 1 and 1000"):
        FlireoProvider(page_size=1001)


def test_agent_and_number_filters_are_refused_before_any_request(fake_key: str) -> None:
    # A closed port: were a request made, the error would be a TransportError instead.
    with voice_usage.connect("flireo", api_key=fake_key, base_url="http://127.0.0.1:9") as flireo:
        with pytest.raises(UnsupportedQueryError, match="flireo: the API has no agent filter"):
            flireo.fetch("2026-10-01", "2026-10-02", "call", agent_ids=("a",))
        with pytest.raises(UnsupportedQueryError, match="flireo: the API has no phone-number"):
            flireo.fetch("2026-10-01", "2026-10-02", "call", number_ids=("n",))
        with pytest.raises(UnsupportedQueryError, match=r"unknown option 'foo'.*takes no options"):
            flireo.fetch("2026-10-01", "2026-10-02", options={"foo": "1"})


# -- the must-show walk --------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 8])
def test_2345_logs_in_three_requests_of_1000(
    serve_flireo: Any, fake_key: str, sleeps: Any, concurrency: int
) -> None:
    server = serve_flireo(logs_per_day=october_2345, shape="c")
    with connect(server, fake_key, sleeps, concurrency=concurrency) as flireo:
        result = flireo.fetch(*OCT, granularity="call")
        records = check_records(result, result.query, provider="flireo")

    assert len(records) == 2345
    requests = usage_requests(server)
    assert len(requests) == 3
    assert sorted(r.param("offset") for r in requests) == ["0", "1000", "2000"]
    for request in requests:
        assert request.param("limit") == "1000"
        assert request.param("start_date") == OCT_PARAMS["start_date"]
        assert request.param("end_date") == OCT_PARAMS["end_date"]
        assert request.headers["authorization"] == f"Bearer {fake_key}"
    assert result.report.requests == 3
    assert sleeps == []

    summary = raw_usage(server, fake_key, limit=1, **OCT_PARAMS)["summary"]
    assert summary["total_calls"] == 2345
    assert sum(r.duration_seconds for r in records) == summary["total_duration_seconds"]
    assert sum(r.billed_minutes for r in records) == summary["total_duration_minutes"]
    assert len({r.extras["log_id"] for r in records}) == 2345
    assert all(r.grain is Grain.EVENT and r.calls == 1 for r in records)
    assert all(
        datetime(2026, 10, 1, tzinfo=UTC) <= r.period_start < datetime(2026, 11, 1, tzinfo=UTC)
        for r in records
    )
    assert result.report.reconciled
    assert {c.figure for c in result.report.reconciliations} == {
        "calls",
        "duration_seconds",
        "billed_minutes",
    }
    assert result.warnings == []


@pytest.mark.parametrize("shape", ["a", "b", "c", "d"])
def test_every_documented_shape(serve_flireo: Any, fake_key: str, sleeps: Any, shape: str) -> None:
    server = serve_flireo(logs_per_day=october_2345, shape=shape)
    with connect(server, fake_key, sleeps) as flireo:
        result = flireo.fetch(*OCT, granularity="call")
        records = result.to_list()

    assert len(records) == 2345
    body = raw_usage(server, fake_key, limit=1000, offset=0, **OCT_PARAMS)
    summary = body["summary"]
    listed = body["usage" if shape == "b" else "logs"]
    assert len(listed) == 1000
    seconds = summary.get("total_seconds", summary.get("total_duration_seconds"))
    minutes = summary.get("total_minutes", summary.get("total_duration_minutes"))
    if shape in ("a", "c", "d"):
        assert summary["total_calls"] == 2345
        assert len(usage_requests(server)) == 3 + 1  # the walk, then the raw read above
    else:
        # The billing guide's shape has no pagination block: the walk stops at a short page.
        assert "pagination" not in body
        assert len(usage_requests(server)) == 3 + 1
    if seconds is not None:
        assert sum(r.duration_seconds for r in records) == seconds
    assert sum(r.billed_minutes for r in records) == minutes
    assert result.report.reconciled and result.warnings == []
    if shape == "a":
        assert all(r.cost_source is CostSource.REPORTED for r in records)
        assert all(r.call_id and r.call_id.startswith("call-") for r in records)
        assert sum(r.cost for r in records) == Decimal(str(summary["total_cost"]))
    else:
        assert all(r.cost_source is CostSource.RATE_CARD for r in records)
        assert all(r.call_id is None for r in records)
    if shape == "b":
        assert all(r.number_id for r in records)
        # The vendor's total_cost is checked against the rate-card prices.
        assert "cost (rate card vs. vendor total_cost)" in {
            c.figure for c in result.report.reconciliations
        }
    if shape == "c":
        assert {r.extras["call_type"] for r in records} == {"phone", "web"}
        assert all("agent_name" in r.extras for r in records)
    if shape == "d":
        assert all({"byok_stt", "byok_llm", "byok_tts"} <= r.extras.keys() for r in records)


def test_reported_cost_is_used_as_given(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    # The vendor's cost (here EUR 0.05/min, as in its documented example) wins over the card.
    server = serve_flireo(logs_per_day=3, shape="a", price_per_minute="0.05")
    with connect(server, fake_key, sleeps) as flireo:
        records = flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
    logs = raw_usage(
        server, fake_key, start_date="2026-10-01T00:00:00Z", end_date="2026-10-02T00:00:00Z"
    )["logs"]
    assert len(records) == len(logs) == 3
    for record, log in zip(records, logs, strict=True):
        assert record.extras["log_id"] == log["id"]
        assert record.cost == Decimal(str(log["cost"]))
        assert record.cost == Decimal("0.05") * log["minutes_used"]
        assert record.currency == "EUR"
        assert record.cost_source is CostSource.REPORTED
        assert record.billed_minutes == log["minutes_used"]


def test_rate_card_cost_when_the_vendor_gives_none(
    serve_flireo: Any, fake_key: str, sleeps: Any
) -> None:
    server = serve_flireo(logs_per_day=5, shape="d")
    with connect(server, fake_key, sleeps) as flireo:
        records = flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
    logs = raw_usage(
        server, fake_key, start_date="2026-10-01T00:00:00Z", end_date="2026-10-02T00:00:00Z"
    )["logs"]
    assert "cost" not in logs[0] and "minutes_used" not in logs[0]
    for record, log in zip(records, logs, strict=True):
        minutes = math.ceil(log["duration_sec"] / 60)  # whole minutes, rounded up per call
        assert record.duration_seconds == log["duration_sec"]
        assert record.billed_minutes == minutes
        assert record.cost == Decimal("0.07") * minutes
        assert record.currency == "EUR"
        assert record.cost_source is CostSource.RATE_CARD
        assert record.cost_note is not None and "flireo/call@" in record.cost_note


def test_documented_example_84_seconds_bill_2_minutes() -> None:
    provider = FlireoProvider()
    log = voice_usage_flireo_log(
        {"id": "u", "duration_sec": 84, "created_at": "2025-12-13T10:00:00.000Z"}
    )
    record = provider.record(log)
    assert record.billed_minutes == 2
    assert record.cost == Decimal("0.14")
    assert record.cost_source is CostSource.RATE_CARD
    assert record.period_start == datetime(2025, 12, 13, 10, tzinfo=UTC)
    assert record.period_end == datetime(2025, 12, 13, 10, 1, 24, tzinfo=UTC)


def test_minutes_used_wins_over_the_rounding_rule() -> None:
    log = voice_usage_flireo_log(
        {
            "id": "u",
            "duration_seconds": 84,
            "minutes_used": 1.5,
            "created_at": "2026-01-02T00:00:00Z",
        }
    )
    record = FlireoProvider().record(log)
    assert record.billed_minutes == Decimal("1.5")
    assert record.cost == Decimal("0.105")  # 1.5 min * EUR 0.07


def test_no_rate_card_in_force_leaves_cost_unknown_with_a_reason() -> None:
    log = voice_usage_flireo_log(
        {"id": "u", "duration_sec": 61, "created_at": "2019-08-24T14:15:22Z"}
    )
    record = FlireoProvider().record(log)
    assert record.cost is None and record.cost_source is None and record.currency is None
    assert record.cost_note is not None and "no rate card" in record.cost_note
    assert record.billed_minutes == 2  # per-call rounding still applies


def test_a_user_rate_card_prices_the_logs(tmp_path: Any) -> None:
    card = tmp_path / "cards.toml"
    card.write_text(
        '[[rate]]\nprovider = "flireo"\nprice_per_minute = "0.06"\ncurrency = "EUR"\n'
        "increment_seconds = 60\neffective_from = 2025-12-01\n"  # same key: overrides
        'covers = ["platform"]\n'
        'source = "https://example.invalid/contract"\nchecked = 2026-11-01\n'
    )
    book = load_rate_book([card], use_env=False)
    log = voice_usage_flireo_log(
        {"id": "u", "duration_sec": 130, "created_at": "2026-10-02T00:00:00Z"}
    )
    assert FlireoProvider().record(log, book).cost == Decimal("0.18")  # 3 min * 0.06


def voice_usage_flireo_log(data: dict[str, Any]) -> Any:
    from voice_usage_flireo._wire import parse_usage_log

    return parse_usage_log(json.dumps(data))  # as it comes off the wire


# -- periods and roll-ups ------------------------------------------------------------------------


def test_boundary_log_is_counted_once(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    # A log at exactly 00:00:00 each day; the emulator's end_date is inclusive.
    server = serve_flireo(logs_per_day=10, midnight_logs=True)
    with connect(server, fake_key, sleeps) as flireo:
        first = flireo.fetch("2026-10-01", "2026-10-03", granularity="call")
        first_records = first.to_list()
        second = flireo.fetch("2026-10-03", "2026-10-05", granularity="call")
        second_records = second.to_list()
        whole = flireo.fetch("2026-10-01", "2026-10-05", granularity="call").to_list()

    assert len(first_records) == len(second_records) == 20
    assert len(whole) == 40
    ids = [r.extras["log_id"] for r in first_records + second_records]
    assert len(set(ids)) == 40
    assert {r.extras["log_id"] for r in whole} == set(ids)
    midnight = datetime(2026, 10, 3, tzinfo=UTC)
    assert [r.period_start for r in first_records if r.period_start == midnight] == []
    assert [r.period_start for r in second_records if r.period_start == midnight] == [midnight]
    # The server matched 21 logs for the first period (its end is inclusive): said, not hidden.
    assert any("outside" in w for w in first.warnings)
    assert first.report.reconciled  # the summary describes what the server matched


@pytest.mark.parametrize(
    ("granularity", "expected_windows"), [("day", 31), ("hour", 744), ("month", 1)]
)
def test_rollups_are_utc_windows_of_the_events(
    serve_flireo: Any, fake_key: str, sleeps: Any, granularity: str, expected_windows: int
) -> None:
    server = serve_flireo(logs_per_day=october_2345, shape="b")
    with connect(server, fake_key, sleeps) as flireo:
        windows = flireo.fetch(*OCT, granularity=granularity).to_list()
        events = flireo.fetch(*OCT, granularity="call").to_list()

    assert len(windows) == expected_windows  # every hour of October has calls
    assert all(w.grain is Grain.WINDOW for w in windows)
    assert sum(w.calls for w in windows) == 2345
    assert sum(w.duration_seconds for w in windows) == sum(e.duration_seconds for e in events)
    assert sum(w.billed_minutes for w in windows) == sum(e.billed_minutes for e in events)
    assert sum(w.cost for w in windows) == sum(e.cost for e in events)
    if granularity == "day":
        by_day = {w.period_start.date(): w.calls for w in windows}
        assert by_day[date(2026, 10, 1)] == 76 and by_day[date(2026, 10, 31)] == 75
        assert all(w.period_end - w.period_start == timedelta(days=1) for w in windows)
    if granularity == "month":
        (month,) = windows
        assert (month.period_start, month.period_end) == (
            datetime(2026, 10, 1, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=UTC),
        )
        assert month.cost_source is CostSource.RATE_CARD and month.currency == "EUR"


# -- reconciliation ------------------------------------------------------------------------------


class _OvercountingEmulator(FlireoEmulator):
    """A server whose summary claims one call and one minute more than its logs."""

    def _summary(self, matched: Any) -> dict[str, Any]:
        summary = super()._summary(matched)
        summary["total_calls"] += 1
        summary["total_minutes"] += 1
        return summary


def test_a_summary_mismatch_is_data_on_the_result(fake_key: str, sleeps: Any) -> None:
    emulator = _OvercountingEmulator(api_key=fake_key, logs_per_day=4, shape="a")
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as flireo:
        result = flireo.fetch("2026-10-01", "2026-10-02", granularity="call")
        records = result.to_list()
    assert len(records) == 4
    assert not result.report.reconciled
    failed = {c.figure: c for c in result.report.reconciliations if not c.ok}
    assert set(failed) == {"calls", "billed_minutes"}
    assert (failed["calls"].reported, failed["calls"].computed) == (5, 4)
    assert any("MISMATCH" in w and "calls" in w for w in result.warnings)


def test_vendor_total_cost_disagreeing_with_the_rate_card_is_flagged(
    serve_flireo: Any, fake_key: str, sleeps: Any
) -> None:
    # Billing-guide shape: no per-log cost, but a summary total_cost at EUR 0.05/min.
    server = serve_flireo(logs_per_day=6, shape="b", price_per_minute="0.05")
    with connect(server, fake_key, sleeps) as flireo:
        result = flireo.fetch("2026-10-01", "2026-10-02", granularity="call")
        records = result.to_list()
    (check,) = [c for c in result.report.reconciliations if c.figure.startswith("cost")]
    minutes = sum(r.billed_minutes for r in records)
    assert check.reported == minutes * Decimal("0.05")
    assert check.computed == minutes * Decimal("0.07")
    assert not check.ok
    assert any("cost" in w for w in result.warnings)


def test_plain_minute_totals_are_explained(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    server = serve_flireo(logs_per_day=50, shape="d", summary_minutes="plain")
    with connect(server, fake_key, sleeps) as flireo:
        result = flireo.fetch("2026-10-01", "2026-10-02", granularity="call")
        records = result.to_list()
    seconds = sum(r.duration_seconds for r in records)
    plain = (seconds / 60).quantize(Decimal("0.01"))
    assert sum(r.billed_minutes for r in records) > plain  # per-call rounding bills more
    assert result.report.reconciled
    figures = {c.figure: c for c in result.report.reconciliations}
    assert figures["minutes (total seconds / 60)"].reported == plain
    (warning,) = result.warnings
    assert "total seconds / 60" in warning and "per-call" in warning


class _ShiftingEmulator(FlireoEmulator):
    """Pages overlap by one log: what a new log at the top does to offset paging."""

    def _page(self, matched: Any, offset: int, limit: int) -> Any:
        return super()._page(matched, max(0, offset - 1) if offset else 0, limit)


def test_duplicates_across_pages_are_dropped(fake_key: str, sleeps: Any) -> None:
    emulator = _ShiftingEmulator(api_key=fake_key, logs_per_day=october_2345, shape="c")
    with EmulatorServer(emulator) as server, connect(server, fake_key, sleeps) as flireo:
        result = flireo.fetch(*OCT, granularity="call")
        records = result.to_list()
    # Pages hold logs 0-999, 999-1998 and 1999-2344: log 999 twice, every log still seen.
    assert len(records) == 2345
    assert len({r.extras["log_id"] for r in records}) == 2345
    assert result.report.dropped_duplicates == 1
    assert result.report.reconciled
    assert any("repeated across pages" in w for w in result.warnings)


# -- wire tolerance ------------------------------------------------------------------------------


def test_unknown_fields_are_kept_as_extras(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    server = serve_flireo(
        logs_per_day=2,
        shape="c",
        extra_log_fields={"region": "eu-west", "tags": ["a", "b"], "meta": {"x": 1}},
    )
    with connect(server, fake_key, sleeps) as flireo:
        records = flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
    assert len(records) == 2
    for record in records:
        assert record.extras["region"] == "eu-west"
        assert record.extras["tags"] == ["a", "b"]
        assert record.extras["meta"] == {"x": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            b'{"logs": [{"id": "x", "duration_sec": "long", "created_at": "2026-10-01T00:00:00Z"}]}',
            "logs.0.duration_sec",
        ),
        (
            b'{"logs": [{"id": "x", "duration_sec": 5, "created_at": 1790000000}]}',
            "logs.0.created_at",
        ),
        (
            b'{"logs": [{"id": "x", "duration_sec": -5, "created_at": "2026-10-01T00:00:00Z"}]}',
            "logs.0.duration_sec",
        ),
        (b'{"calls": []}', ""),
    ],
)
def test_a_body_of_the_wrong_shape_names_the_field(
    serve_flireo: Any, fake_key: str, sleeps: Any, body: bytes, field: str
) -> None:
    server = serve_flireo()
    server.faults.add(Fault(action="body", body=body, path="/usage"))
    with (
        connect(server, fake_key, sleeps) as flireo,
        pytest.raises(ResponseValidationError) as info,
    ):
        flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
    assert str(info.value).startswith("flireo: unexpected response from /usage")
    if field:
        assert info.value.field == field
    else:
        assert "'logs' or 'usage'" in str(info.value)


def test_a_malformed_body_is_a_provider_error(
    serve_flireo: Any, fake_key: str, sleeps: Any
) -> None:
    server = serve_flireo()
    server.faults.add(Fault(action="html", path="/usage"))
    with (
        connect(server, fake_key, sleeps) as flireo,
        pytest.raises(ResponseValidationError, match="expected JSON"),
    ):
        flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()


# -- balance ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "balance", "extra"),
    [
        ("spec", Decimal("500.5"), "has_local_models_access"),
        ("reference", Decimal(500), "active_calls"),
        ("billing", Decimal("500.5"), None),
    ],
)
def test_balance_snapshot(
    serve_flireo: Any, fake_key: str, sleeps: Any, shape: str, balance: Decimal, extra: str | None
) -> None:
    server = serve_flireo(organization_shape=shape)
    with connect(server, fake_key, sleeps) as flireo:
        snapshot = flireo.balance()
    assert isinstance(snapshot, FlireoOrganization)
    assert snapshot.name == "Acme Corp"
    assert snapshot.minutes_balance == balance
    assert snapshot.monthly_usage_minutes == 120
    if extra is not None:
        assert extra in snapshot.model_dump()
    assert [r.path for r in server.requests] == ["/organizations"]


# -- errors ----------------------------------------------------------------------------------------


def test_401_flat_body(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    server = serve_flireo()
    with connect(server, "wrong-key", sleeps) as flireo, pytest.raises(AuthenticationError) as info:
        flireo.fetch(*OCT, granularity="call").to_list()
    assert info.value.status_code == 401
    assert info.value.vendor_code == "Unauthorized"
    assert info.value.vendor_message == "Invalid or missing API key"
    assert len(server.requests) == 1  # never retried
    assert "wrong-key" not in str(info.value)


def test_402_nested_body(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    server = serve_flireo()
    server.faults.add(Fault(status=402))
    with connect(server, fake_key, sleeps) as flireo, pytest.raises(PaymentRequiredError) as info:
        flireo.fetch(*OCT, granularity="call").to_list()
    assert info.value.vendor_code == "insufficient_credits"
    assert str(info.value).startswith("flireo: HTTP 402")
    assert "insufficient_credits" in str(info.value)
    assert len(server.requests) == 1


def test_429_with_retry_after_then_success(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    server = serve_flireo(logs_per_day=october_2345)
    server.faults.add(Fault(status=429, headers={"Retry-After": "1"}))
    with connect(server, fake_key, sleeps) as flireo:
        result = flireo.fetch(*OCT, granularity="call")
        records = result.to_list()
    assert len(records) == 2345
    assert sleeps == [1]
    assert len(usage_requests(server)) == 4
    assert result.report.reconciled


def test_429_with_a_long_retry_after_gives_up_at_once(
    serve_flireo: Any, fake_key: str, sleeps: Any
) -> None:
    server = serve_flireo()
    server.faults.add(Fault(status=429, headers={"Retry-After": "3600"}))
    with connect(server, fake_key, sleeps) as flireo, pytest.raises(RateLimitError) as info:
        flireo.fetch(*OCT, granularity="call").to_list()
    assert info.value.retry_after == 3600
    assert info.value.vendor_code == "rate_limit_exceeded"
    assert sleeps == []


def test_server_errors_are_retried(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    server = serve_flireo(logs_per_day=3)
    server.faults.add(Fault(status=503), times=2)
    with connect(server, fake_key, sleeps) as flireo:
        records = flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
    assert len(records) == 3
    assert len(sleeps) == 2


def test_validation_errors_in_both_forms(fake_key: str, sleeps: Any) -> None:
    # A page size above 1000 is refused by the server: the provider never asks for one, so ask
    # directly, then check how each documented error form reads.
    for status, error in [(400, BadRequestError), (422, UnprocessableEntityError)]:
        emulator = FlireoEmulator(api_key=fake_key, validation_status=status)
        with EmulatorServer(emulator) as server:
            response = httpx.get(
                f"{server.base_url}/usage",
                params={"limit": 1001},
                headers={"Authorization": f"Bearer {fake_key}"},
            )
            assert response.status_code == status
            vendor = FlireoProvider().parse_error(status, response.json())
            assert "1000" in (vendor.message or "")
            server.faults.add(Fault(status=status, body=response.content))
            with connect(server, fake_key, sleeps) as flireo, pytest.raises(error) as info:
                flireo.fetch(*OCT, granularity="call").to_list()
        assert "less than or equal to 1000" in str(info.value)
        if status == 422:
            assert info.value.vendor_code == "invalid_request"
            assert "(parameter limit)" in str(info.value)


def test_rate_limit_headers_are_respected_before_a_429(fake_key: str) -> None:
    clock = _Clock(1_790_000_000.0)
    emulator = FlireoEmulator(
        api_key=fake_key, logs_per_day=500, rate_limit=3, rate_window=60, clock=clock
    )
    with (
        EmulatorServer(emulator) as server,
        voice_usage.connect(
            FlireoProvider(page_size=100),
            api_key=fake_key,
            base_url=server.base_url,
            concurrency=1,
            sleep=clock.sleep,
            wall=clock,
            monotonic=clock,
        ) as flireo,
    ):
        records = flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
    assert len(records) == 500
    assert len(server.requests) == 5
    assert emulator.budget is not None and emulator.budget.throttled == 0  # never had to say 429
    # 1,790,000,000 is 20 s into the minute that starts at 1,789,999,980: three requests fit it,
    # then the gate waited the 40 s to X-RateLimit-Reset, and its 50 ms margin for a reset given
    # in whole seconds, before the fourth.
    assert clock.slept == [pytest.approx(40.05)]


class _Clock:
    """A fake clock for both ends: sleeping advances it."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# -- the emulator itself ---------------------------------------------------------------------------


def test_emulator_is_deterministic_and_seeded(fake_key: str) -> None:
    def first_page(**options: Any) -> list[dict[str, Any]]:
        with EmulatorServer(FlireoEmulator(api_key=fake_key, **options)) as server:
            return raw_usage(server, fake_key, limit=5, **OCT_PARAMS)["logs"]  # type: ignore[no-any-return]

    assert first_page() == first_page()
    assert first_page(seed=1) != first_page()


def test_emulator_pagination_rules(serve_flireo: Any, fake_key: str) -> None:
    server = serve_flireo(logs_per_day=spread(250, date(2026, 10, 1), date(2026, 10, 3)))
    params = {"start_date": "2026-10-01", "end_date": "2026-10-02"}  # dates; end day inclusive
    default = raw_usage(server, fake_key, **params)
    assert default["pagination"] == {"total": 250, "limit": 100, "offset": 0}
    assert len(default["logs"]) == 100
    last = raw_usage(server, fake_key, offset=200, **params)
    assert len(last["logs"]) == 50
    beyond = raw_usage(server, fake_key, offset=300, **params)
    assert beyond["logs"] == [] and beyond["summary"] == default["summary"]
    stamps = [log["created_at"] for log in default["logs"] + last["logs"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    response = httpx.get(
        f"{server.base_url}/usage",
        params={"limit": 1001},
        headers={"Authorization": f"Bearer {fake_key}"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed"
    assert set(response.headers) >= {
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }
    unauthorized = httpx.get(f"{server.base_url}/usage")
    assert unauthorized.status_code == 401


def test_emulator_serves_a_far_page_of_a_large_range_lazily(fake_key: str) -> None:
    emulator = FlireoEmulator(api_key=fake_key, logs_per_day=6452, shape="d")  # 200,012 in Oct
    with EmulatorServer(emulator) as server:
        body = raw_usage(server, fake_key, limit=1000, offset=199_000, **OCT_PARAMS)
    assert body["pagination"]["total"] == 31 * 6452
    assert len(body["logs"]) == 1000
    assert body["summary"]["total_calls"] == 31 * 6452


def test_demo_emulator_defaults() -> None:
    emulator = FlireoProvider().emulator("k")
    assert isinstance(emulator, FlireoEmulator)
    assert emulator.api_key == "k"
    assert emulator.shape == "a"
    assert emulator.budget is not None
    assert (emulator.budget.requests, emulator.budget.per_seconds) == (100, 60)  # as documented


def test_fault_hooks_latency_and_a_body_cut_short(
    serve_flireo: Any, fake_key: str, sleeps: Any
) -> None:
    server = serve_flireo(logs_per_day=5)
    server.faults.latency = 0.01
    server.faults.add(Fault(action="truncate", path="/usage"))
    with connect(server, fake_key, sleeps) as flireo:
        records = flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
    assert len(records) == 5
    assert len(server.requests) == 2  # the cut-short body was retried once
    assert len(sleeps) == 1


def test_the_vendor_path_prefix_is_served(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    server = serve_flireo(logs_per_day=5)
    with voice_usage.connect(
        "flireo",
        api_key=fake_key,
        base_url=f"{server.base_url}/api/v1",
        sleep=sleeps,
        async_sleep=sleeps.asleep,
    ) as flireo:
        records = flireo.fetch("2026-10-01", "2026-10-02", granularity="call").to_list()
        snapshot = flireo.balance()
    assert len(records) == 5
    assert snapshot.minutes_balance == Decimal("500.5")
    assert [r.path for r in server.requests] == ["/api/v1/usage", "/api/v1/organizations"]


# -- the fast record path ------------------------------------------------------------------------

_ODD_PAGES = [
    # Documented nulls, an unknown field, a log without cost but with minutes, one without any
    # duration, one outside the range, one on a far offset, and a log repeated on the next page.
    b'{"logs": [{"id": "a", "created_at": "2026-10-01T00:00:00Z", "duration_sec": 84,'
    b' "call_type": null, "region": null, "byok_stt": true},'
    b' {"id": "b", "created_at": "2026-10-01T01:00:00+02:00", "minutes_used": 1.5},'
    b' {"id": "c", "created_at": "2026-10-01T02:00:00", "cost": 0.25, "call_id": "k"},'
    b' {"id": "d", "created_at": "2026-09-30T23:59:59Z", "duration_seconds": 10.5}],'
    b' "pagination": {"total": 6}, "summary": {"total_calls": 5}}',
    b'{"logs": [{"id": "c", "created_at": "2026-10-01T02:00:00Z", "cost": 0.25},'
    b' {"id": "e", "created_at": "2026-10-02T00:00:00Z", "duration_seconds": 0,'
    b' "number_id": "n"}],'
    b' "pagination": {"total": 6}, "summary": {"total_calls": 5}}',
]


def _emulator_pages(shape: str) -> list[bytes]:
    """Every page of two days of 120 logs, 100 logs a page."""
    from voice_usage.emulator import EmulatorRequest

    emulator = FlireoEmulator(shape=shape, logs_per_day=120, rate_limit=None)  # type: ignore[arg-type]
    query = {"start_date": ["2026-10-01"], "end_date": ["2026-10-02"], "limit": ["100"]}
    pages = [
        emulator.handle(
            EmulatorRequest("GET", "/usage", {**query, "offset": [str(offset)]}, {}, "http://t")
        ).body
        for offset in range(0, 300, 100)
    ]
    assert (
        sum(len(json.loads(page).get("logs", json.loads(page).get("usage", []))) for page in pages)
        == 240
    )
    return pages


@pytest.mark.parametrize("pages", ["a", "b", "c", "d", "odd"])
def test_the_fast_record_path_builds_what_full_validation_builds(pages: str, monkeypatch) -> None:
    import voice_usage._schema as schema
    from voice_usage import FetchReport

    bodies = _ODD_PAGES if pages == "odd" else _emulator_pages(pages)
    plan = FlireoProvider().plan(UsageQuery(since="2026-10-01", until="2026-10-03"))

    def run(strict: bool) -> tuple[list[Any], FetchReport]:
        monkeypatch.setattr(schema, "_STRICT_RECORDS", strict)
        report = FetchReport("flireo")
        parsed = (plan.walks[0].parse(body) for body in bodies)
        return list(plan.to_records(parsed, report)), report

    validated, validated_report = run(strict=True)
    fast, fast_report = run(strict=False)
    assert fast == validated
    assert [r.model_dump_json() for r in fast] == [r.model_dump_json() for r in validated]
    assert fast_report.warnings == validated_report.warnings
    assert fast_report.reconciliations == validated_report.reconciliations
    # In "odd", "b" (23:00 UTC) and "d" fall before the range; "c" is repeated on page two.
    assert len(fast) == (3 if pages == "odd" else 240)


def test_odd_logs_by_hand(monkeypatch) -> None:
    import voice_usage._schema as schema
    from voice_usage import FetchReport

    monkeypatch.setattr(schema, "_STRICT_RECORDS", False)
    plan = FlireoProvider().plan(UsageQuery(since="2026-10-01", until="2026-10-03"))
    report = FetchReport("flireo")
    a, c, e = plan.to_records((plan.walks[0].parse(body) for body in _ODD_PAGES), report)
    # 84 s bill 2 whole minutes at EUR 0.07; a documented null is dropped, an unknown one kept.
    assert (a.billed_minutes, a.cost, a.cost_source) == (2, Decimal("0.14"), CostSource.RATE_CARD)
    assert a.extras == {"byok_stt": True, "region": None, "log_id": "a"}
    assert a.period_end - a.period_start == timedelta(seconds=84)
    # A reported cost without any duration: no billed minutes, the cost as given.
    assert (c.billed_minutes, c.cost, c.cost_source, c.call_id) == (
        None,
        Decimal("0.25"),
        CostSource.REPORTED,
        "k",
    )
    assert c.period_start == datetime(2026, 10, 1, 2, tzinfo=UTC)  # no offset: read as UTC
    # A zero-second call bills nothing and lasts the one second a period needs.
    assert (e.billed_minutes, e.cost, e.number_id) == (0, 0, "n")
    assert e.period_end - e.period_start == timedelta(seconds=1)
    assert report.dropped_duplicates == 1
    assert [(r.figure, r.reported, r.computed) for r in report.reconciliations] == [("calls", 5, 5)]
