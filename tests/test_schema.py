import io
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from voice_usage import CostSource, Grain, Granularity, UsageQuery, UsageRecord
from voice_usage._outputs._serialize import (
    CSV_COLUMNS,
    read_jsonl,
    write_csv,
    write_json,
    write_jsonl,
)
from voice_usage._schema import parse_instant

START = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def record(**overrides: object) -> UsageRecord:
    data: dict[str, object] = {
        "provider": "flireo",
        "grain": "event",
        "period_start": START,
        "period_end": START + timedelta(seconds=84),
        "calls": 1,
        "duration_seconds": Decimal(84),
        "billed_minutes": Decimal(2),
        "cost": Decimal("0.14"),
        "currency": "EUR",
        "cost_source": "rate_card",
        "call_id": "call-_+31612345678_abc123",
    }
    data.update(overrides)
    return UsageRecord.model_validate(data)


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(map(str, e["loc"])) for e in exc.errors()}


def test_a_valid_record_keeps_its_values():
    r = record()
    assert r.grain is Grain.EVENT
    assert r.cost_source is CostSource.RATE_CARD
    assert r.cost == Decimal("0.14")
    assert r.item == "call"
    assert r.extras == {}


@pytest.mark.parametrize(
    ("overrides", "field", "phrase"),
    [
        ({"currency": None}, "", "currency is missing"),
        ({"period_start": datetime(2026, 10, 1, 12)}, "period_start", "timezone"),
        ({"period_end": datetime(2026, 10, 1, 13)}, "period_end", "timezone"),
        ({"period_end": START}, "", "must be after"),
        ({"period_end": START - timedelta(seconds=1)}, "", "must be after"),
        ({"duration_seconds": Decimal(-1)}, "duration_seconds", "greater than or equal"),
        ({"billed_minutes": Decimal("-0.5")}, "billed_minutes", "greater than or equal"),
        ({"cost": Decimal("-0.01")}, "cost", "greater than or equal"),
        ({"calls": -1}, "calls", "greater than or equal"),
        ({"failed_calls": -2}, "failed_calls", "greater than or equal"),
        ({"currency": "eur"}, "currency", "ISO 4217"),
        ({"currency": "EURO"}, "currency", "ISO 4217"),
        ({"cost_source": None}, "", "cost_source is missing"),
        ({"grain": "call"}, "grain", "'event' or 'window'"),
        ({"unknown_field": 1}, "unknown_field", "Extra inputs"),
        ({"duration_seconds": "NaN"}, "duration_seconds", "finite"),
        ({"failed_calls": 2}, "", "cannot exceed calls"),
    ],
)
def test_invalid_records_are_rejected_naming_the_field(overrides, field, phrase):
    with pytest.raises(ValidationError) as info:
        record(**overrides)
    assert field in error_fields(info.value)
    assert phrase in str(info.value)


def test_cost_source_without_cost_is_rejected():
    with pytest.raises(ValidationError, match="cost_source is set but cost is None"):
        record(cost=None, currency=None)


def test_datetimes_are_normalized_to_utc():
    amsterdam = timezone(timedelta(hours=2))
    r = record(
        period_start=datetime(2026, 10, 1, 14, 0, tzinfo=amsterdam),
        period_end=datetime(2026, 10, 1, 14, 1, 24, tzinfo=amsterdam),
    )
    assert r.period_start == START
    assert r.period_start.utcoffset() == timedelta(0)
    assert r.model_dump(mode="json")["period_start"] == "2026-10-01T12:00:00Z"


def test_unknown_cost_is_none_with_a_reason_not_zero():
    r = record(cost=None, currency=None, cost_source=None, cost_note="vendor reports no money")
    assert r.cost is None
    assert r.cost_note == "vendor reports no money"


def test_every_field_has_a_docstring():
    for name, info in UsageRecord.model_fields.items():
        assert info.description, f"UsageRecord.{name} has no docstring"
    for name, info in UsageQuery.model_fields.items():
        assert info.description, f"UsageQuery.{name} has no docstring"


def test_quantity_docstrings_state_units():
    fields = UsageRecord.model_fields
    assert "seconds" in (fields["duration_seconds"].description or "")
    assert "minutes" in (fields["billed_minutes"].description or "")
    assert "currency" in (fields["cost"].description or "")


# --- queries -------------------------------------------------------------------------------


def test_query_parses_dates_as_utc_midnight_and_offsets_to_utc():
    q = UsageQuery(since="2026-10-01", until="2026-11-01T02:00:00+02:00", granularity="call")
    assert q.since == datetime(2026, 10, 1, tzinfo=UTC)
    assert q.until == datetime(2026, 11, 1, tzinfo=UTC)
    assert q.granularity is Granularity.CALL
    assert q.contains(datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC))
    assert not q.contains(q.until)
    assert q.contains(q.since)


def test_query_naive_datetime_means_utc():
    q = UsageQuery(since="2026-10-01T08:30:00", until="2026-10-02")
    assert q.since == datetime(2026, 10, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "phrase"),
    [
        ("2026-11-01", "2026-10-01", "must be after since"),
        ("2026-10-01", "2026-10-01", "must be after since"),
        ("yesterday", "2026-10-01", "since must be a date"),
        ("2026-10-01", "2026-13-01", "until must be a date"),
    ],
)
def test_invalid_queries_are_rejected(since, until, phrase):
    with pytest.raises(ValidationError, match=phrase):
        UsageQuery(since=since, until=until)


def test_query_rejects_unknown_granularity_and_filters():
    with pytest.raises(ValidationError, match="granularity"):
        UsageQuery(since="2026-10-01", until="2026-10-02", granularity="week")
    with pytest.raises(ValidationError, match="agent"):
        UsageQuery(since="2026-10-01", until="2026-10-02", agent="a")  # type: ignore[call-arg]


def test_parse_instant_error_names_the_argument():
    with pytest.raises(ValueError, match="--since must be a date"):
        parse_instant("10/01/2026", name="--since")


# --- serialization -------------------------------------------------------------------------


def test_json_lines_write_decimals_as_strings_and_round_trip_exactly():
    records = [record(), record(call_id="b", cost=Decimal("0.070000"), extras={"byok_llm": True})]
    out = io.StringIO()
    assert write_jsonl(records, out) == 2
    lines = out.getvalue().split("\n")
    first = json.loads(lines[0])
    assert first["cost"] == "0.14"
    assert first["duration_seconds"] == "84"
    assert first["period_start"] == "2026-10-01T12:00:00Z"
    assert json.loads(lines[1])["cost"] == "0.070000"  # trailing zeros kept: exactly what was given
    assert list(read_jsonl(lines)) == records


def test_json_array_is_valid_json_even_when_empty():
    out = io.StringIO()
    write_json([], out)
    assert json.loads(out.getvalue()) == []
    out = io.StringIO()
    write_json([record(), record(call_id="x")], out)
    data = json.loads(out.getvalue())
    assert [r["call_id"] for r in data] == ["call-_+31612345678_abc123", "x"]
    assert {
        "provider",
        "account",
        "grain",
        "period_start",
        "period_end",
        "calls",
        "failed_calls",
        "duration_seconds",
        "billed_minutes",
        "cost",
        "currency",
        "cost_source",
        "agent_id",
        "number_id",
        "call_id",
    } <= set(data[0])


def test_csv_has_header_empty_cells_for_unknown_and_json_extras():
    out = io.StringIO()
    write_csv([record(failed_calls=None, extras={"call_type": "web"})], out)
    header, row = out.getvalue().splitlines()
    assert header.split(",") == list(CSV_COLUMNS)
    cells = dict(zip(CSV_COLUMNS, next(iter(__import__("csv").reader([row]))), strict=True))
    assert cells["cost"] == "0.14"
    assert cells["failed_calls"] == ""
    assert json.loads(cells["extras"]) == {"call_type": "web"}


def test_read_jsonl_names_line_and_field():
    good = record().model_dump_json()
    bad = json.dumps({**json.loads(good), "currency": None})
    from voice_usage import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"records.jsonl, line 3: .*currency is missing"):
        list(read_jsonl([good, "", bad], origin="records.jsonl"))


def test_json_array_writes_nothing_before_the_first_record():
    def failing():
        raise RuntimeError("the fetch failed")
        yield  # pragma: no cover

    out = io.StringIO()
    with pytest.raises(RuntimeError):
        write_json(failing(), out)
    assert out.getvalue() == ""


# Structured cost: what a cost is made of and what it pays for.


def test_cost_covers_is_a_sorted_set_of_known_parts():
    r = record(cost_covers=["tts", "platform", "tts", "llm"])
    assert [part.value for part in r.cost_covers or ()] == ["platform", "llm", "tts"]


def test_an_unknown_part_is_refused_naming_the_vocabulary():
    with pytest.raises(ValidationError, match="platform, telephony, stt, llm, tts"):
        record(cost_covers=["carrier"])


def test_components_must_add_up_to_the_cost_exactly():
    ok = record(cost_components={"minutes": Decimal("0.10"), "sip": Decimal("0.04")})
    assert ok.cost_components == {"minutes": Decimal("0.10"), "sip": Decimal("0.04")}
    with pytest.raises(ValidationError, match=r"sum to 0\.15, not to cost \(0\.14\)"):
        record(cost_components={"minutes": Decimal("0.10"), "sip": Decimal("0.05")})
    # One component is the cost itself: any digits of the same amount, and no other amount.
    assert record(cost_components={"call": Decimal("0.140")}).cost_components == {
        "call": Decimal("0.14")
    }
    with pytest.raises(ValidationError, match=r"sum to 0\.13, not to cost \(0\.14\)"):
        record(cost_components={"call": Decimal("0.13")})


def test_an_unknown_cost_has_no_split_and_covers_nothing():
    unknown = {"cost": None, "currency": None, "cost_source": None}
    with pytest.raises(ValidationError, match="both must be None when cost is None"):
        record(**unknown, cost_covers=["platform"])
    with pytest.raises(ValidationError, match="both must be None when cost is None"):
        record(**unknown, cost_components={"minutes": Decimal(0)})


def test_a_rate_card_label_goes_with_a_rate_card_cost():
    assert record(rate_card="flireo/call@2026-01-01").rate_card == "flireo/call@2026-01-01"
    with pytest.raises(ValidationError, match="rate_card is set but cost_source"):
        record(cost_source="reported", rate_card="flireo/call@2026-01-01")


def test_the_fast_builder_keeps_the_structured_cost_invariants():
    fields = {
        "provider": "vapi",
        "grain": Grain.EVENT,
        "period_start": START,
        "period_end": START + timedelta(seconds=60),
        "cost": Decimal("0.14"),
        "currency": "USD",
        "cost_source": CostSource.REPORTED,
    }
    with pytest.raises(ValueError, match="must add up exactly"):
        UsageRecord.trusted(**fields, cost_components={"model": Decimal("0.1")})
