"""How records become rows: the fast JSON text is the standard encoder's, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from voice_usage import CallPart, CostSource, Grain, UsageRecord
from voice_usage._store._rows import _ENCODE_JSON, codec, record_key

STANDARD = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"log_id": "log-1"},
        {"ünï": 'cödé \n\t"quoted" \\ \u2028', "n": -0.0, "big": 10**30, "e": 1e16},
        {"nested": {"a": [1, 2.5, None, "x", True, False, []]}, "z": {}},
        {"floats": [0.1, 1e-7, 123456789.123, float("inf"), float("-inf")]},
        {"2": "key order", "1": "as written", "10": "kept"},
    ],
)
def test_extras_text_is_the_standard_encoders(value: dict[str, Any]) -> None:
    assert _ENCODE_JSON(value) == STANDARD(value)


def test_a_value_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _ENCODE_JSON({"when": object()})


def test_the_body_is_the_standard_encoders_text_of_the_fields_set() -> None:
    start = datetime(2026, 9, 1, 12, tzinfo=UTC)
    record = UsageRecord(
        provider="flireo",
        account="ünï",
        grain=Grain.EVENT,
        period_start=start,
        period_end=datetime(2026, 9, 1, 12, 1, 24, 500, tzinfo=UTC),
        calls=1,
        duration_seconds=Decimal("84.250"),
        cost=Decimal("0.14"),
        currency="EUR",
        cost_source=CostSource.RATE_CARD,
        cost_components={"transport": Decimal("0.14")},
        cost_covers=(CallPart.TTS,),
        cost_estimate=True,
        call_id='c "1"',
        extras={"b": [1, 2.5], "a": None},
    )
    expected = {  # the fields with a value, the table's columns aside: those always set first
        "grain": "event",
        "period_end": 1_788_264_084_000_500,  # microseconds since 1970 UTC
        "cost_estimate": True,
        "item": "call",
        "extras": {"b": [1, 2.5], "a": None},
        "account": "ünï",
        "duration_seconds": "84.250",
        "cost_source": "rate_card",
        "cost_components": {"transport": "0.14"},
        "cost_covers": ["tts"],
        "call_id": 'c "1"',
    }
    for dialect in ("sqlite", "postgresql"):
        rows = codec(dialect)
        row = rows.stamped_row("", "call", "call:c", record, datetime(2026, 9, 2, tzinfo=UTC))
        assert row[rows.all_columns.index("body")] == STANDARD(expected)
        assert rows.record(row[3:-1]) == record


_START = datetime(2026, 9, 1, 12, tzinfo=UTC)
_END = datetime(2026, 9, 1, 12, 1, 24, 500, tzinfo=UTC)
_STAMPS = "2026-09-01T12:00:00.000000+00:00|2026-09-01T12:01:24.000500+00:00"


@pytest.mark.parametrize(
    ("grain", "ids", "key"),
    [
        (Grain.EVENT, {"call_id": "c-1", "agent_id": "a"}, "call:c-1"),
        (Grain.EVENT, {"call_id": "", "item": "sip"}, f"event|{_STAMPS}|sip|||"),
        (Grain.EVENT, {}, f"event|{_STAMPS}|call|||"),
        (
            Grain.WINDOW,
            {"item": "sip", "agent_id": "a1", "number_id": "+31", "call_id": "c-1"},
            f"window|{_STAMPS}|sip|a1|+31|c-1",
        ),
    ],
)
def test_a_written_row_holds_the_records_key(grain: Grain, ids: dict[str, str], key: str) -> None:
    # A write's row makes the key itself, from the values it takes from the record anyway:
    # the key worked out by hand, and the rest of the row as a row given that key.
    record = UsageRecord(
        provider="flireo", grain=grain, period_start=_START, period_end=_END, **ids
    )
    assert record_key(record) == key
    for dialect in ("sqlite", "postgresql"):
        rows = codec(dialect)
        synced = datetime(2026, 9, 2, tzinfo=UTC)
        assert rows.written_row("acme", "call", record, synced) == (
            rows.stamped_row("acme", "call", key, record, synced)
        )
        assert rows.written_row("acme", "call", record, synced)[:3] == ("acme", "call", key)
