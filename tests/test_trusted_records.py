"""UsageRecord.trusted(): the fast path still refuses a broken record."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import voice_usage._schema as schema
from voice_usage import CostSource, Grain, UsageRecord

START = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_path() -> Iterator[None]:
    original, schema._STRICT_RECORDS = schema._STRICT_RECORDS, False
    yield
    schema._STRICT_RECORDS = original


def base(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "provider": "p",
        "grain": Grain.EVENT,
        "period_start": START,
        "period_end": START + timedelta(seconds=84),
        "calls": 1,
        "duration_seconds": Decimal(84),
        "cost": Decimal("0.14"),
        "currency": "EUR",
        "cost_source": CostSource.REPORTED,
    }
    values.update(overrides)
    return values


BROKEN_INVARIANTS = [
    ({"currency": None}, ValueError, "currency is missing"),
    ({"cost_source": None}, ValueError, "cost_source is missing"),
    ({"cost": None}, ValueError, "cost_source is set but cost is None"),
    ({"period_end": START}, ValueError, "must be after period_start"),
    ({"failed_calls": 2}, ValueError, "cannot exceed calls"),
    ({"period_start": datetime(2026, 10, 1)}, ValueError, "timezone-aware"),
    ({"period_end": "2026-10-02"}, TypeError, "must be a datetime"),
    ({"grain": "call"}, ValueError, "is not a valid Grain"),
    ({"cost_source": "guessed"}, ValueError, "is not a valid CostSource"),
    ({"cost": Decimal(10) ** 16}, ValueError, "past any plausible figure"),
]
"""Values that break a record's invariants, the error each must raise and a phrase of it."""


@pytest.mark.parametrize(("overrides", "error", "phrase"), BROKEN_INVARIANTS)
def test_invariants_are_enforced(overrides, error, phrase):
    with pytest.raises(error, match=phrase):
        UsageRecord.trusted(**base(**overrides))


def test_unknown_fields_are_refused():
    with pytest.raises(TypeError, match="no field"):
        UsageRecord.trusted(**base(duration=3))


def test_records_are_independent_and_frozen():
    first = UsageRecord.trusted(**base())
    second = UsageRecord.trusted(**base())
    assert first.extras is not second.extras
    with pytest.raises(Exception, match="frozen"):
        first.cost = Decimal(0)  # type: ignore[misc]
    assert first.model_fields_set == set(base())


def test_strict_mode_validates_fully(monkeypatch):
    monkeypatch.setattr(schema, "_STRICT_RECORDS", True)
    with pytest.raises(ValueError, match="duration_seconds"):
        UsageRecord.trusted(**base(duration_seconds=Decimal(-1)))


def test_a_template_fixes_shared_values_and_the_call_supplies_the_rest():
    event = UsageRecord.template(provider="p", grain="event", calls=1)
    values = base()
    shared = {"provider", "grain", "calls"}
    record = event(**{k: v for k, v in values.items() if k not in shared})
    assert record == UsageRecord(**values)
    assert record.grain is Grain.EVENT  # coerced once, when the template was made
    assert record.model_fields_set == set(values)
    overridden = event(**{**values, "grain": "window", "calls": 3, "failed_calls": 1})
    assert (overridden.calls, overridden.failed_calls) == (3, 1)


@pytest.mark.parametrize(
    ("overrides", "phrase"),
    [
        ({"currency": None}, "currency is missing"),
        ({"period_end": START}, "must be after period_start"),
        ({"period_start": datetime(2026, 10, 1)}, "timezone-aware"),
        ({"period_end": "2026-10-02"}, "must be a datetime"),
    ],
)
def test_a_template_enforces_the_invariants_on_every_record(overrides, phrase):
    event = UsageRecord.template(provider="p", grain=Grain.EVENT)
    with pytest.raises((ValueError, TypeError), match=phrase):
        event(**{**base(), **overrides})


def test_a_template_needs_the_required_fields_and_knows_only_record_fields():
    with pytest.raises(TypeError, match="no field"):
        UsageRecord.template(provider="p", minutes=3)
    with pytest.raises(TypeError, match="per call"):
        UsageRecord.template(provider="p", extras={"shared": True})
    without_grain = UsageRecord.template(provider="p")
    values = {k: v for k, v in base().items() if k != "grain"}
    with pytest.raises(TypeError, match="needs grain"):
        without_grain(**values)
    with pytest.raises(TypeError, match="needs period_start"):
        without_grain(**{**values, "grain": Grain.EVENT, "period_start": None})


def test_a_template_converts_offsets_and_keeps_any_zero_offset_zone():
    from datetime import timezone

    from pydantic import TypeAdapter

    event = UsageRecord.template(provider="p", grain=Grain.EVENT)
    plus_two = timezone(timedelta(hours=2))
    local = event(**base(period_start=START.astimezone(plus_two)))
    assert local.period_start == START and local.period_start.tzinfo is UTC
    parsed = TypeAdapter(datetime).validate_python("2026-10-01T00:00:00Z")  # pydantic's own UTC
    kept = event(**base(period_start=parsed))
    assert kept.period_start is parsed
    assert kept.model_dump_json() == UsageRecord(**base()).model_dump_json()


def test_each_template_record_gets_its_own_extras():
    event = UsageRecord.template(provider="p", grain=Grain.EVENT)
    first, second = event(**base()), event(**base())
    assert first.extras == {} and first.extras is not second.extras


def row_of(
    values: dict[str, object], shared: set[str]
) -> tuple[tuple[str, ...], tuple[object, ...]]:
    names = tuple(k for k in values if k not in shared)
    return names, tuple(values[k] for k in names)


def test_a_row_template_takes_the_other_values_by_position():
    values = base(call_id="c-1", extras={"kept": True})
    names, row = row_of(values, {"provider", "grain", "calls"})
    event = UsageRecord.row_template(names, provider="p", grain="event", calls=1)
    record = event(*row)
    assert record == UsageRecord(**values)
    assert record.grain is Grain.EVENT
    assert record.model_fields_set == set(values)
    assert record.extras == {"kept": True} and record.agent_id is None and record.item == "call"
    assert record.model_dump_json() == UsageRecord(**values).model_dump_json()


def test_a_row_template_gives_each_record_its_own_extras_and_fields_set():
    names, row = row_of(base(), {"provider"})
    event = UsageRecord.row_template(names, provider="p")
    first, second = event(*row), event(*row)
    assert first.extras == {} and first.extras is not second.extras
    assert first.model_fields_set == set(base()) and first.model_fields_set is not (
        second.model_fields_set
    )


@pytest.mark.parametrize(("overrides", "error", "phrase"), BROKEN_INVARIANTS)
def test_a_row_template_enforces_the_invariants_on_every_record(overrides, error, phrase):
    values = base(**{"failed_calls": None, **overrides})
    names, row = row_of(values, {"provider"})
    event = UsageRecord.row_template(names, provider="p")
    with pytest.raises(error, match=phrase):
        event(*row)


def test_a_row_template_applies_fixed_values_and_makes_negative_zero_zero():
    names = ("period_start", "period_end", "duration_seconds")
    event = UsageRecord.row_template(
        names,
        provider="p",
        grain=Grain.EVENT,
        cost=Decimal("-0"),
        currency="EUR",
        cost_source="reported",
    )
    record = event(START, START + timedelta(seconds=1), Decimal("-0.0"))
    assert str(record.cost) == "0" and str(record.duration_seconds) == "0.0"
    assert record.cost_source is CostSource.REPORTED
    failing = UsageRecord.row_template(names, provider="p", grain=Grain.EVENT, calls=2)
    with pytest.raises(ValueError, match="an event is one call"):
        failing(START, START + timedelta(seconds=1), None)


def test_a_row_template_refuses_unknown_repeated_or_missing_values():
    with pytest.raises(TypeError, match="no field"):
        UsageRecord.row_template(("period_start", "minutes"), provider="p")
    with pytest.raises(TypeError, match="once"):
        UsageRecord.row_template(("provider", "period_start"), provider="p")
    with pytest.raises(TypeError, match="once"):
        UsageRecord.row_template(("period_start", "period_start"))
    with pytest.raises(TypeError, match="per call"):
        UsageRecord.row_template(("period_start",), extras={})
    event = UsageRecord.row_template(("period_start", "period_end"), provider="p")
    with pytest.raises(TypeError, match="needs grain"):
        event(START, START + timedelta(seconds=1))
    with pytest.raises(TypeError):
        event(START)


def test_a_row_template_validates_fully_in_strict_mode(monkeypatch):
    names = ("period_start", "period_end", "duration_seconds")
    event = UsageRecord.row_template(names, provider="p", grain=Grain.EVENT)
    monkeypatch.setattr(schema, "_STRICT_RECORDS", True)
    with pytest.raises(ValueError, match="duration_seconds"):
        event(START, START + timedelta(seconds=1), Decimal(-1))
    record = event(START, START + timedelta(seconds=1), Decimal(3))
    assert record.model_fields_set == {"provider", "grain", *names}


def test_row_templates_of_the_same_names_keep_their_own_fixed_values():
    names = ("period_start", "period_end")
    first = UsageRecord.row_template(names, provider="p", grain=Grain.EVENT, calls=1)
    compiled = dict(schema._ROW_MAKERS)
    second = UsageRecord.row_template(names, provider="q", grain="window", calls=3)
    assert compiled == schema._ROW_MAKERS  # the same names: compiled once
    end = START + timedelta(hours=1)
    assert (first(START, end).provider, first(START, end).calls) == ("p", 1)
    made = second(START, end)
    assert (made.provider, made.grain, made.calls) == ("q", Grain.WINDOW, 3)
    assert made.model_fields_set == {"provider", "grain", "calls", *names}
