"""Flireo's two readings of a `/usage` body agree: the fast path and the `UsagePage` model.

The fast path (`json.loads` and type checks) must give exactly what the model gives whenever it
takes a body, and hand everything else to the model. Bodies are generated around the edges that
matter: numbers written as floats, whole floats, huge and negative ones, numeric strings, bools,
timestamps in many ISO 8601 forms, and fields of the wrong type.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from voice_usage_flireo import FlireoEmulator
from voice_usage_flireo._fastpath import Irregular, read_plain_page
from voice_usage_flireo._wire import _USAGE_PAGE

pytestmark = pytest.mark.emulator

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
numbers = (
    st.integers(min_value=-5, max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=0, max_value=10_000).map(lambda x: round(x, 3))
    | st.integers(min_value=0, max_value=10**6).map(float)
    | st.sampled_from([0.07, 0.1, 100.0, 1e-7, 2.0**53, 2.0**53 - 1, -0.0, 1e300])
)
quantities = numbers | st.sampled_from(["1.5", "abc", True, None, [1]])
digits = st.integers(min_value=0, max_value=10**9)
stamps = st.one_of(
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.tuples(st.datetimes(), st.integers(min_value=0, max_value=9)).map(
        lambda pair: pair[0].strftime("%Y-%m-%dT%H:%M:%S") + "." + "123456789"[: pair[1]] + "Z"
    ),
    st.datetimes().map(lambda d: d.isoformat() + "+02:00"),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-10-10T23:59:26.836Z",
            "2026-10-10T23:59:60Z",
            "2026-10-10T24:00:00Z",
            "2026-W41-6T23:59:26Z",
            "2026-10-10 23:59:26Z",
            "2026-10-10T23:59:26,5Z",
            "2026-10-10T23:59Z",
            "2026-10-10",
            "20261010T235926Z",
            "2026-02-30T00:00:00Z",
            "2026-10-10T23:59:26.Z",
        ]
    ),
    digits,
    st.none(),
)
optional_text = st.none() | st.text(max_size=6) | st.integers() | st.booleans()
logs = st.fixed_dictionaries(
    {"id": st.text(max_size=8) | st.integers(), "created_at": stamps},
    optional={
        "duration_seconds": quantities,
        "duration_sec": quantities,
        "minutes_used": quantities,
        "cost": quantities,
        "call_id": optional_text,
        "number_id": optional_text,
        "agent_name": optional_text,
        "byok_stt": st.none() | st.booleans() | st.integers(0, 1) | st.just("true"),
        "region": json_values,
    },
)


def _vendor_stamp(instant: datetime, fraction_digits: int) -> str:
    """`2026-10-10T23:59:26.836Z`, with 0 to 6 digits of fraction (years below 1000 padded)."""
    text = f"{instant.year:04d}-{instant:%m-%dT%H:%M:%S}"
    if fraction_digits:
        text += "." + f"{instant.microsecond:06d}"[:fraction_digits]
    return text + "Z"


regular_stamps = st.builds(_vendor_stamp, st.datetimes(), st.integers(min_value=0, max_value=6))
regular_numbers = (
    st.integers(min_value=0, max_value=10**12)
    | st.floats(min_value=0, max_value=1e6)
    | st.decimals(min_value=0, max_value=10**6, places=4).map(float)
)
regular_logs = st.fixed_dictionaries(
    {"id": st.text(max_size=8), "created_at": regular_stamps},
    optional={
        "duration_seconds": regular_numbers,
        "duration_sec": regular_numbers | st.none(),
        "minutes_used": regular_numbers,
        "cost": regular_numbers | st.none(),
        "call_id": st.text(max_size=6),
        "phone_number": st.none() | st.text(max_size=6),
        "byok_llm": st.none() | st.booleans(),
        "tags": json_values,
    },
)
counts = st.integers(min_value=-1, max_value=10**6) | st.sampled_from([1.0, "3", True, None])
pages = st.fixed_dictionaries(
    {},
    optional={
        "logs": st.lists(regular_logs | logs, max_size=4) | st.none(),
        "usage": st.lists(regular_logs, max_size=2),
        "pagination": st.none()
        | st.fixed_dictionaries({"total": counts}, optional={"limit": counts, "offset": counts}),
        "summary": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "total_calls": counts,
                "total_minutes": quantities,
                "total_duration_seconds": quantities,
                "total_cost": quantities,
                "note": json_values,
            },
        ),
        "extra": json_values,
    },
)

regular_pages = st.fixed_dictionaries(
    {"logs": st.lists(regular_logs, min_size=1, max_size=5)},
    optional={
        "pagination": st.fixed_dictionaries(
            {"total": st.integers(min_value=0, max_value=10**6)},
            optional={"limit": st.integers(0, 1000), "offset": st.integers(0, 10**6)},
        ),
        "summary": st.fixed_dictionaries(
            {},
            optional={
                "total_calls": st.integers(min_value=0, max_value=10**6),
                "total_seconds": regular_numbers,
                "total_duration_minutes": regular_numbers,
                "total_cost": regular_numbers,
            },
        ),
    },
)


def exact(value: Any) -> Any:
    """A value with everything that tells two results apart made visible, Decimals' digits too."""
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), value.tzinfo)
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, BaseModel):
        return (type(value).__name__, exact(value.model_dump()), exact(value.model_extra))
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    return (type(value).__name__, value)


def assert_same_reading(body: bytes) -> None:
    try:
        reference = exact(_USAGE_PAGE.validate_json(body))
    except ValidationError:
        reference = "refused"
    try:
        fast = exact(read_plain_page(body))
    except Irregular:
        return  # the model reads it, whatever the fast path would have said
    assert fast == reference


@given(regular_pages | pages)
@example({"logs": [{"id": "a", "created_at": "2026-10-10T23:59:26Z", "cost": -0.0}]})
@example({"logs": [{"id": "a", "created_at": "2026-10-10T23:59:26Z", "cost": 100.0}]})
@example({"logs": [{"id": "a", "created_at": "2026-10-10T23:59:26Z", "cost": 2.0**53}]})
@example({"summary": {"total_cost": 12.5, "total_calls": 3}, "usage": []})
@example(
    {
        "logs": [
            {"id": "a", "created_at": "2026-10-10T23:59:26Z", "cost": 2**60},
            {"id": "b", "created_at": "2026-10-10T23:59:26Z", "cost": 2.0**60},
        ]
    }
)
def test_the_fast_path_reads_a_body_as_the_model_does(page: dict[str, Any]) -> None:
    assert_same_reading(json.dumps(page).encode())


@given(st.binary(max_size=40) | st.sampled_from([b"", b"[]", b"null", b'{"logs": {}}', b"\xff"]))
def test_what_is_not_a_page_goes_to_the_model(body: bytes) -> None:
    assert_same_reading(body)


@pytest.mark.parametrize("shape", ["a", "b", "c", "d"])
def test_every_documented_shape_takes_the_fast_path(shape: str) -> None:
    from voice_usage.emulator import EmulatorRequest

    emulator = FlireoEmulator(shape=shape, logs_per_day=50, rate_limit=None)  # type: ignore[arg-type]
    query = {"start_date": ["2026-10-01"], "end_date": ["2026-10-02"]}
    body = emulator.handle(EmulatorRequest("GET", "/usage", query, {}, "http://t")).body
    fast = read_plain_page(body)  # raises Irregular if the fast path would not take it
    assert exact(fast) == exact(_USAGE_PAGE.validate_json(body))
    assert len(fast.get("logs", fast.get("usage", []))) == 100


def test_the_fast_path_knows_exactly_the_fields_the_models_document() -> None:
    from voice_usage_flireo._fastpath import LOG_RULES, SUMMARY_QUANTITIES
    from voice_usage_flireo._wire import UsageLog, UsageSummary

    # A field added to the model but not to the fast path would pass unchecked as an extra.
    assert set(LOG_RULES) == set(UsageLog.__annotations__)
    decimal_names: set[str] = set()
    for name, info in UsageSummary.model_fields.items():
        if "Decimal" in str(info.annotation):
            aliases = info.validation_alias
            choices = getattr(aliases, "choices", None) or [name]
            decimal_names.update(str(choice) for choice in choices)
    assert decimal_names == set(SUMMARY_QUANTITIES)


# Whole fetches, read both ways: a few ids (so that logs repeat on a page and across pages),
# and the values each reading must send to the model (a null documented field, an unknown
# field, -0.0, a numeric string) mixed into otherwise regular logs.
record_logs = st.fixed_dictionaries(
    {
        "id": st.sampled_from("abcdef"),
        "created_at": st.builds(
            _vendor_stamp,
            st.datetimes(min_value=datetime(2026, 9, 30), max_value=datetime(2026, 10, 12)),
            st.integers(min_value=0, max_value=6),
        ),
    },
    optional={
        "duration_seconds": st.sampled_from([34, 84.5, 0, -0.0, 7.0, "12", None]),
        "minutes_used": st.sampled_from([1, 2, 0.5, None, "2"]),
        "cost": st.sampled_from([0.07, 0.14, 0, -0.0, None, "0.21"]),
        "call_id": st.none() | st.text(max_size=4),
        "agent_name": st.none() | st.sampled_from(["Sales", "Support"]),
        "region": json_values,
    },
)


def _fetch_both_ways(bodies: list[bytes]) -> tuple[Any, Any]:
    import voice_usage._schema as schema
    from voice_usage import FetchReport, UsageQuery
    from voice_usage_flireo import FlireoProvider
    from voice_usage_flireo._wire import parse_usage_page

    provider = FlireoProvider()
    plan = provider.plan(UsageQuery(since="2026-10-01", until="2026-10-11", granularity="call"))
    results = []
    for parse, strict in ((parse_usage_page, True), (plan.walks[0].parse, False)):
        original, schema._STRICT_RECORDS = schema._STRICT_RECORDS, strict
        report = FetchReport("flireo")
        try:
            pages = (parse(body) for body in bodies)
            records = [exact(r.model_dump()) for r in plan.to_records(pages, report)]
        except ValueError as exc:  # pydantic's ValidationError too
            results.append(("refused", type(exc).__name__))
        else:
            results.append((records, report.dropped_duplicates, report.warnings))
        finally:
            schema._STRICT_RECORDS = original
    return results[0], results[1]


@given(st.lists(st.lists(record_logs, max_size=5), min_size=1, max_size=4))
@example([[{"id": "a", "created_at": "2026-10-01T00:00:00Z", "duration_seconds": -0.0}]])
@example([[{"id": "a", "created_at": "2026-10-01T00:00:00Z", "cost": "0.21"}]])
@example([[{"id": "a", "created_at": "2026-10-01T00:00:00Z", "call_id": None, "region": "eu"}]])
@example(
    [
        [{"id": "a", "created_at": "2026-10-01T00:00:00Z"}],
        [
            {"id": "b", "created_at": "2026-10-01T00:00:01Z"},
            {"id": "a", "created_at": "2026-10-01T00:00:02Z"},
        ],
    ]
)
def test_a_fetch_gives_the_same_records_by_either_reading(pages: list[list[Any]]) -> None:
    bodies = [json.dumps({"logs": logs}).encode() for logs in pages]
    model, fast = _fetch_both_ways(bodies)
    assert fast == model
    if model[0] == "refused":
        return
    # Which logs are kept, worked out apart: an id already listed on its own page or on the
    # one before is a repeat, dropped and counted; every other log is in the window or not.
    kept, dropped, previous = [], 0, set[str]()
    for logs in pages:
        current: set[str] = set()
        for log in logs:
            if log["id"] in current or log["id"] in previous:
                dropped += 1
                continue
            current.add(log["id"])
            if "2026-10-01" <= log["created_at"][:10] <= "2026-10-10":
                kept.append(log["id"])
        previous = current
    records, duplicates, _ = model
    assert [record["extras"]["log_id"][1] for record in records] == kept
    assert duplicates == dropped
