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

from voice_usage import UsageRecord
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


def reference_csv(items: list[UsageRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in items:
        data: dict[str, Any] = record.model_dump(mode="json")
        row = ["" if data[c] is None else data[c] for c in CSV_COLUMNS[:-1]]
        row.append(json.dumps(data["extras"], sort_keys=True) if data["extras"] else "")
        writer.writerow([csv_cell(cell) for cell in row])  # vendor text made inert, one by one
    return out.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.lists(records(), max_size=40))
def test_jsonl_json_and_csv_bytes_are_those_of_one_record_at_a_time(items):
    jsonl, array, table = io.StringIO(), io.StringIO(), io.StringIO()
    assert write_jsonl(items, jsonl) == len(items)
    assert write_json(items, array) == len(items)
    assert write_csv(items, table) == len(items)
    assert jsonl.getvalue() == reference_jsonl(items)
    assert json.loads(array.getvalue()) == [json.loads(r.model_dump_json()) for r in items]
    assert table.getvalue() == reference_csv(items)


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
