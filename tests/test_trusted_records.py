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


@pytest.mark.parametrize(
    ("overrides", "phrase"),
    [
        ({"currency": None}, "currency is missing"),
        ({"cost_source": None}, "cost_source is missing"),
        ({"cost": None}, "cost_source is set but cost is None"),
        ({"period_end": START}, "must be after period_start"),
        ({"failed_calls": 2}, "cannot exceed calls"),
        ({"period_start": datetime(2026, 10, 1)}, "timezone-aware"),
        ({"grain": "call"}, "is not a valid Grain"),
    ],
)
def test_invariants_are_enforced(overrides, phrase):
    with pytest.raises(ValueError, match=phrase):
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
