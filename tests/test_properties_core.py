"""Property-based tests of the core's invariants."""

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import voice_usage._schema as schema
from voice_usage import (
    Granularity,
    Rate,
    UsageRecord,
    price_record,
    read_jsonl,
    rollup,
    write_jsonl,
)
from voice_usage._schema import parse_instant

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
seconds = st.integers(min_value=0, max_value=4 * 3600)
money = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)
minutes = st.decimals(
    min_value=0, max_value=10_000, places=3, allow_nan=False, allow_infinity=False
)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_+", min_size=1, max_size=20)
extras = st.dictionaries(
    st.text(min_size=1, max_size=10),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20)),
    max_size=4,
)


@st.composite
def events(draw: st.DrawFn) -> UsageRecord:
    start = draw(instants)
    duration = draw(seconds)
    cost = draw(st.one_of(st.none(), money))
    return UsageRecord(
        provider=draw(st.sampled_from(["flireo", "ultravox", "agentphone"])),
        grain="event",
        period_start=start,
        period_end=start + timedelta(seconds=max(duration, 1)),
        calls=1,
        failed_calls=draw(st.sampled_from([None, 0, 1])),
        duration_seconds=Decimal(duration),
        billed_minutes=draw(st.one_of(st.none(), minutes)),
        cost=cost,
        currency=None if cost is None else draw(st.sampled_from(["EUR", "USD"])),
        cost_source=None if cost is None else draw(st.sampled_from(["reported", "rate_card"])),
        cost_note=draw(st.one_of(st.none(), st.text(max_size=30))),
        agent_id=draw(st.one_of(st.none(), ids)),
        number_id=draw(st.one_of(st.none(), ids)),
        call_id=draw(ids),
        extras=draw(extras),
    )


@given(st.lists(events(), max_size=20))
def test_json_lines_round_trip_exactly(records):
    out = io.StringIO()
    write_jsonl(records, out)
    again = list(read_jsonl(out.getvalue()))
    assert list(read_jsonl(io.StringIO(out.getvalue()))) == records  # as a file
    assert again == records
    for a, b in zip(again, records, strict=True):
        assert str(a.cost) == str(b.cost)  # the very same digits, not just an equal value


@given(
    cost=st.one_of(st.none(), money),
    currency=st.one_of(st.none(), st.sampled_from(["EUR", "USD", "eur", "XX"])),
    source=st.one_of(st.none(), st.sampled_from(["reported", "rate_card"])),
)
def test_a_record_never_carries_a_cost_without_a_currency(cost, currency, source):
    try:
        record = UsageRecord(
            provider="p",
            grain="window",
            period_start=EPOCH,
            period_end=EPOCH + timedelta(days=1),
            cost=cost,
            currency=currency,
            cost_source=source,
        )
    except ValidationError:
        return
    if record.cost is not None:
        assert record.currency is not None and len(record.currency) == 3
        assert record.cost_source is not None


@settings(max_examples=50)
@given(st.lists(events(), min_size=1, max_size=60))
def test_rollup_totals_equal_the_sum_of_their_parts(records):
    # one currency and one provider, as a provider's own stream is
    records = [
        r.model_copy(update={"provider": "p", "currency": "EUR" if r.cost is not None else None})
        for r in records
    ]
    for granularity in (Granularity.HOUR, Granularity.DAY, Granularity.MONTH):
        windows = list(rollup(records, granularity))
        assert sum(w.calls or 0 for w in windows) == len(records)
        assert sum(w.duration_seconds or 0 for w in windows) == sum(
            r.duration_seconds or 0 for r in records
        )
        costed_windows = [w for w in windows if w.cost is not None]
        uncosted = sum(1 for r in records if r.cost is None)
        if uncosted == 0:
            assert len(costed_windows) == len(windows)
            assert sum(w.cost for w in costed_windows) == sum(r.cost for r in records)
        for window in windows:
            assert window.period_start < window.period_end


rates = st.builds(
    Rate,
    provider=st.just("p"),
    price_per_minute=st.decimals(
        min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False
    ),
    currency=st.sampled_from(["EUR", "USD"]),
    increment_seconds=st.sampled_from([1, 6, 60]),
    minimum_charge=st.decimals(
        min_value=0, max_value=Decimal("0.05"), places=2, allow_nan=False, allow_infinity=False
    ),
    effective_from=st.just(EPOCH.date()),
    source=st.just("https://example.com/pricing"),
    checked=st.just(EPOCH.date()),
)


@given(events(), rates)
def test_repricing_under_the_card_a_cost_came_from_reproduces_it(record, rate):
    priced = price_record(record, rate)
    again = price_record(priced, rate)
    assert again.cost == priced.cost
    assert again.billed_minutes == priced.billed_minutes
    assert priced.currency == rate.currency and priced.cost_source == "rate_card"


@given(events(), rates)
def test_per_call_pricing_matches_a_hand_formula(record, rate):
    priced = price_record(record, rate)
    duration = int(record.duration_seconds)
    increments = -(-duration // rate.increment_seconds)
    billed = (Decimal(increments * rate.increment_seconds) / 60).quantize(Decimal("0.000001"))
    expected = Decimal(increments * rate.increment_seconds) * rate.price_per_minute / 60
    if duration > 0:
        expected = max(expected, rate.minimum_charge)
    assert priced.billed_minutes == billed
    assert abs(priced.cost - expected) <= Decimal("0.0000005")


@given(instants, st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_parse_instant_converts_any_offset_to_the_same_utc_instant(instant, offset_minutes):
    from datetime import timezone

    local = instant.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert parse_instant(local.isoformat()) == instant
    assert parse_instant(instant.isoformat().replace("+00:00", "Z")) == instant


@contextlib.contextmanager
def fast_paths() -> Iterator[None]:
    """The records' fast paths as users run them, not fully validated as the suite's other tests.

    Not a fixture: hypothesis runs a test's examples within one function-scoped fixture.
    """
    original, schema._STRICT_RECORDS = schema._STRICT_RECORDS, False
    try:
        yield
    finally:
        schema._STRICT_RECORDS = original


@given(events())
def test_the_trusted_fast_path_builds_the_same_record_as_validation(record):
    values = {name: getattr(record, name) for name in UsageRecord.model_fields}
    values["grain"] = values["grain"].value  # plain strings are coerced as validation does
    with fast_paths():
        fast = UsageRecord.trusted(**values)
    assert fast == record
    assert fast.grain is record.grain
    assert fast.model_dump_json() == record.model_dump_json()


@given(events(), st.sets(st.sampled_from(sorted(set(UsageRecord.model_fields) - {"extras"}))))
def test_a_template_builds_the_same_record_as_validation(record, shared):
    values = {name: getattr(record, name) for name in UsageRecord.model_fields}
    fixed = {name: values.pop(name) for name in shared}
    with fast_paths():
        fast = UsageRecord.template(**fixed)(**values)
    assert fast == record
    assert fast.model_dump_json() == record.model_dump_json()


@given(events(), st.sets(st.sampled_from(sorted(set(UsageRecord.model_fields) - {"extras"}))))
def test_a_row_template_builds_the_same_record_as_validation(record, shared):
    values = {name: getattr(record, name) for name in UsageRecord.model_fields}
    fixed = {name: values.pop(name) for name in shared}
    with fast_paths():
        fast = UsageRecord.row_template(tuple(values), **fixed)(*values.values())
    assert fast == record
    assert fast.model_fields_set == set(UsageRecord.model_fields)
    assert fast.model_dump_json() == record.model_dump_json()


def _split(cost: Decimal | None, how: int, part: Decimal) -> dict[str, Decimal] | None:
    """Cost components of ``cost``: none, the cost itself, the same value in other digits, one
    other amount (which rarely is the cost), or two parts that add up."""
    if cost is None or how == 0:
        return None
    if how == 1:
        return {"call": cost}
    if how == 2:
        return {"call": cost.quantize(Decimal("0.00000001"))}
    if how == 3:
        return {"call": part}
    part = min(part, cost)
    return {"minutes": part, "sip": cost - part}


@given(
    st.lists(st.tuples(events(), st.integers(0, 4), money), min_size=2, max_size=4),
    st.sets(st.sampled_from(sorted(set(UsageRecord.model_fields) - {"extras"}))),
)
def test_one_row_template_builds_each_record_as_validation_does(made, shared):
    # Several records from one builder, the fixed values taken from the first: a record is right
    # or refused as full validation has it, whatever the records built before it.
    records = [
        {
            **{name: getattr(record, name) for name in UsageRecord.model_fields},
            "cost_components": _split(record.cost, how, part),
        }
        for record, how, part in made
    ]
    fixed = {name: records[0][name] for name in shared}
    names = tuple(name for name in UsageRecord.model_fields if name not in shared)
    built = []
    with fast_paths():
        event = UsageRecord.row_template(names, **fixed)
        for values in records:
            values.update(fixed)
            try:
                expected = UsageRecord(**values)
            except ValidationError:
                with pytest.raises(ValueError):
                    event(*(values[name] for name in names))
            else:
                built.append((event(*(values[name] for name in names)), expected))
    for fast, expected in built:  # checked once all are built: no record shares another's values
        assert fast == expected
        assert fast.model_dump_json() == expected.model_dump_json()
        assert list(fast.__dict__) == list(UsageRecord.model_fields)  # the model's order
        assert (fast.__pydantic_extra__, fast.__pydantic_private__) == (None, None)
        assert fast.model_fields_set == set(UsageRecord.model_fields)
