"""The batched writers give the same bytes as writing each record on its own.

The reference here is the plain way: `model_dump_json()` a line, and `model_dump(mode="json")`
a CSV row, one write each. Records come from generated values, vendor text included (quotes,
commas, line breaks, non-ASCII), so what is compared is the writers' framing, not one example.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError

from voice_usage import Grain, UsageRecord
from voice_usage._outputs import _serialize
from voice_usage._outputs._serialize import CSV_COLUMNS, write_csv, write_json, write_jsonl
from voice_usage._outputs._text import csv_cell

START = datetime(2026, 10, 1, tzinfo=UTC)
text = st.text(max_size=12)
money = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def records(draw: st.DrawFn) -> UsageRecord:
    cost = draw(st.one_of(st.none(), money))
    start = START + timedelta(microseconds=draw(st.integers(0, 10**12)))
    return UsageRecord(
        provider="flireo",
        grain="event",
        period_start=start,
        period_end=start + timedelta(seconds=draw(st.integers(1, 7200))),
        calls=1,
        duration_seconds=draw(st.one_of(st.none(), money)),
        cost=cost,
        currency=None if cost is None else "EUR",
        cost_source=None if cost is None else "reported",
        cost_note=draw(st.one_of(st.none(), text)),
        call_id=draw(text),
        agent_id=draw(st.one_of(st.none(), text)),
        extras=draw(st.dictionaries(text, st.one_of(st.none(), st.integers(), text), max_size=3)),
    )


def reference_jsonl(items: list[UsageRecord]) -> str:
    return "".join(record.model_dump_json() + "\n" for record in items)


def cell(value: Any) -> Any:
    """Unknown as an empty cell, parts comma-separated, line items as sorted JSON (the rules)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def reference_csv(items: list[UsageRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in items:
        data: dict[str, Any] = record.model_dump(mode="json")
        row = [cell(data[c]) for c in CSV_COLUMNS[:-1]]
        row.append(json.dumps(data["extras"], sort_keys=True) if data["extras"] else "")
        writer.writerow([csv_cell(cell) for cell in row])  # vendor text made inert, one by one
    return out.getvalue()


def written(items: list[UsageRecord]) -> tuple[str, str, str]:
    """``items`` written as JSON Lines, a JSON array and CSV, each writer counting them all."""
    jsonl, array, table = io.StringIO(), io.StringIO(), io.StringIO()
    assert write_jsonl(items, jsonl) == len(items)
    assert write_json(items, array) == len(items)
    assert write_csv(items, table) == len(items)
    return jsonl.getvalue(), array.getvalue(), table.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.lists(records(), max_size=40))
def test_jsonl_json_and_csv_bytes_are_those_of_one_record_at_a_time(items):
    jsonl, array, table = written(items)
    assert jsonl == reference_jsonl(items)
    assert json.loads(array) == [json.loads(r.model_dump_json()) for r in items]
    assert table == reference_csv(items)


def test_records_read_before_a_failure_are_written(monkeypatch):
    monkeypatch.setattr(_serialize, "_BATCH_RECORDS", 1000)  # nothing would go out on its own

    def failing() -> Any:
        for second in range(3):
            yield UsageRecord(
                provider="flireo",
                grain="event",
                period_start=START + timedelta(seconds=second),
                period_end=START + timedelta(seconds=second + 1),
                cost=Decimal("0.07"),
                currency="EUR",
                cost_source="reported",
            )
        raise RuntimeError("the vendor went away")

    out = io.StringIO()
    with pytest.raises(RuntimeError, match="went away"):
        write_jsonl(failing(), out)
    assert len(out.getvalue().splitlines()) == 3


def test_a_large_set_is_written_in_a_few_writes_not_one_per_record(monkeypatch):
    monkeypatch.setattr(_serialize, "_BATCH_SECONDS", 3600.0)  # batches by count alone here

    class CountingWrites(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            CountingWrites.writes += 1
            return super().write(text)

    items = [
        UsageRecord(
            provider="flireo",
            grain="event",
            period_start=START + timedelta(seconds=n),
            period_end=START + timedelta(seconds=n + 1),
        )
        for n in range(2000)
    ]
    out = CountingWrites()
    write_jsonl(items, out)
    assert out.getvalue() == reference_jsonl(items)
    assert CountingWrites.writes <= 2000 // 512 + 2
    array = io.StringIO()
    write_json(items, array)  # batches joined: one separator between each two, none doubled
    assert array.getvalue() == "[\n  " + ",\n  ".join(r.model_dump_json() for r in items) + "\n]\n"


def test_csv_cells_remembered_per_output_are_forgotten_past_the_limit(monkeypatch):
    monkeypatch.setattr(_serialize, "_CACHED_CELLS", 3)
    items = [
        UsageRecord(
            provider="flireo",
            grain="event",
            period_start=START + timedelta(seconds=n),
            period_end=START + timedelta(seconds=n + 1),
            agent_id=f"=agent {n % 5}",  # repeats, and each needs its leading quote
            number_id=f"number {n}",
        )
        for n in range(40)
    ]
    out = io.StringIO()
    write_csv(items, out)
    assert out.getvalue() == reference_csv(items)
    assert "'=agent 4," in out.getvalue()


def test_values_no_validated_record_holds_are_written_as_the_serializer_writes_them():
    # Built without validation: naive times. The direct writers hand such a record to
    # pydantic's own serializer, which writes it as it is.
    odd = UsageRecord.model_construct(
        provider="flireo",
        grain=Grain.EVENT,
        period_start=datetime(2026, 10, 1),
        period_end=datetime(2026, 10, 1, 0, 0, 1),
        extras={"parts": ("a", 1.5), "ok": True},
    )
    jsonl, table = io.StringIO(), io.StringIO()
    write_jsonl([odd], jsonl)
    write_csv([odd], table)
    assert jsonl.getvalue() == reference_jsonl([odd])
    assert '"period_start":"2026-10-01T00:00:00"' in jsonl.getvalue()
    assert table.getvalue() == reference_csv([odd])


def test_a_subclass_of_the_record_is_written_as_a_record():
    class Tagged(UsageRecord):
        tag: str = "x"

    values: dict[str, Any] = {
        "provider": "flireo",
        "grain": "event",
        "period_start": START,
        "period_end": START + timedelta(1),
    }
    out, table = io.StringIO(), io.StringIO()
    write_jsonl([Tagged(**values)], out)
    write_csv([Tagged(**values)], table)
    assert out.getvalue() == UsageRecord(**values).model_dump_json() + "\n"  # no `tag`
    assert table.getvalue() == reference_csv([UsageRecord(**values)])


def test_a_count_given_as_a_boolean_is_written_as_the_serializers_write_it():
    # Built without validation: `True` where a count goes. pydantic writes it as the count 1 in
    # JSON and in the JSON form the CSV reference is made from (not `true`, as a boolean is).
    values: dict[str, Any] = {
        "provider": "flireo",
        "grain": Grain.EVENT,
        "period_start": START,
        "period_end": START + timedelta(seconds=1),
    }
    items = [UsageRecord(calls=1, **values), UsageRecord.model_construct(calls=True, **values)]
    jsonl, table = io.StringIO(), io.StringIO()
    write_jsonl(items, jsonl)
    write_csv(items, table)
    assert jsonl.getvalue() == reference_jsonl(items)
    assert table.getvalue() == reference_csv(items)
    assert table.getvalue().split("\n")[2].split(",")[5] == "1"


def test_text_that_utf8_cannot_hold_fails_as_the_records_serializer_fails():
    lone = UsageRecord(
        provider="flireo",
        grain="event",
        period_start=START,
        period_end=START + timedelta(seconds=1),
        call_id="call-\ud800",
    )
    with pytest.raises(PydanticSerializationError, match="surrogates not allowed"):
        lone.model_dump_json()
    with pytest.raises(PydanticSerializationError, match="surrogates not allowed"):
        write_jsonl([lone], io.StringIO())


# Runs of records that share their values' objects, as a page's records do, with other values
# varying: the CSV writer writes a run of repeating values once while it repeats, and vendor text
# here holds the separators JSON and CSV are cut at (`","`, `},{`, quotes, commas, line breaks).
shared = st.sampled_from(["acme", "ops, EU", 'q"t', "=x", "ünï", "a\nb", "-1", "%s %d {}"])
tricky = st.one_of(
    text,
    st.sampled_from(['","', "},{", "],[", ",", '"', "\\", "\x7f", "\u2028", "\x1b", "x%sy"]),
)
extras = st.one_of(
    st.fixed_dictionaries({"log_id": tricky}),
    st.dictionaries(
        tricky,
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            tricky,
            st.floats(allow_nan=False),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(tricky, st.integers(), max_size=2),
        ),
        max_size=3,
    ),
)


@st.composite
def batch_records(draw: st.DrawFn) -> UsageRecord:
    components = draw(st.one_of(st.none(), st.dictionaries(tricky, money, min_size=1, max_size=3)))
    cost = sum(components.values()) if components else draw(st.one_of(st.none(), money))
    source = None if cost is None else draw(st.sampled_from(["reported", "rate_card"]))
    start = START + timedelta(microseconds=draw(st.sampled_from([0, 1, 10**6, 86_399 * 10**6])))
    start += timedelta(days=draw(st.integers(-400_000, 3_000)))
    calls = draw(st.one_of(st.none(), st.integers(0, 3)))
    return UsageRecord(
        provider=draw(st.sampled_from(["flireo", "ultravox"])),
        account=draw(st.one_of(st.none(), shared)),
        grain="event" if calls == 1 else "window",
        period_start=start,
        period_end=start + timedelta(seconds=draw(st.integers(1, 7200))),
        calls=calls,
        duration_seconds=draw(st.one_of(st.none(), money)),
        billed_minutes=draw(st.one_of(st.none(), st.sampled_from(["1", "1.0", "1E+1", "0E-8"]))),
        cost=cost,
        currency=None if cost is None else draw(st.sampled_from(["EUR", "USD"])),
        cost_source=source,
        cost_note=draw(st.one_of(st.none(), shared)),
        rate_card=draw(st.one_of(st.none(), shared)) if source == "rate_card" else None,
        cost_components=components if cost is not None else None,
        cost_covers=None
        if cost is None
        else draw(st.lists(st.sampled_from(["platform", "telephony"]))),
        cost_estimate=draw(st.booleans()),
        item=draw(shared),
        agent_id=draw(st.one_of(st.none(), shared, tricky)),
        number_id=draw(st.one_of(st.none(), shared)),
        call_id=draw(st.one_of(st.none(), tricky)),
        extras=draw(extras),
    )


def repeated(items: list[UsageRecord], runs: list[int]) -> list[UsageRecord]:
    """``items``, each made a run of copies sharing their values' objects (as a page's do)."""
    return [
        record.model_copy() for record, run in zip(items, runs, strict=False) for _ in range(run)
    ]


@settings(max_examples=40)
@given(st.lists(batch_records(), max_size=12), st.lists(st.integers(1, 4), min_size=12))
def test_runs_of_shared_values_give_the_bytes_of_one_record_at_a_time(items, runs):
    items = repeated(items, runs)
    jsonl, array, table = written(items)
    assert jsonl == reference_jsonl(items)
    lines = jsonl.rstrip("\n").split("\n")
    assert array == ("[\n  " + ",\n  ".join(lines) + "\n]\n" if items else "[]\n")
    assert table == reference_csv(items)


def test_a_batch_with_text_utf8_cannot_hold_writes_the_records_before_it_then_fails():
    items = [
        UsageRecord(
            provider="flireo",
            grain="event",
            period_start=START + timedelta(seconds=n),
            period_end=START + timedelta(seconds=n + 1),
            call_id="call-\ud800" if n == 2 else f"call-{n}",
        )
        for n in range(4)
    ]
    out = io.StringIO()
    with pytest.raises(PydanticSerializationError, match="surrogates not allowed"):
        write_jsonl(items, out)
    assert out.getvalue() == reference_jsonl(items[:2])
