"""Ultravox duration strings: every form the API may send, and clear errors for the rest."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voice_usage_ultravox import DurationFormatError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        # protobuf JSON Duration (the call settings' "3600s", the docs' '300s')
        ("84s", "84"),
        ("0s", "0"),
        ("3600s", "3600"),
        ("62.400s", "62.4"),
        ("0.000000001s", "0.000000001"),
        ("  120s ", "120"),
        # Django DurationField: HH:MM:SS[.ffffff] and D HH:MM:SS[.ffffff]
        ("00:01:24", "84"),
        ("00:01:02.400000", "62.4"),
        ("12:00:00", "43200"),
        ("1 02:03:04", "93784"),
        ("2 00:00:00.5", "172800.5"),
        ("1 day, 0:00:01", "86401"),
        ("3 days, 1:00:00", "262800"),
        ("100:00:00", "360000"),
        # ISO 8601
        ("PT84S", "84"),
        ("PT1M24S", "84"),
        ("PT1H", "3600"),
        ("PT62.4S", "62.4"),
        ("P1DT2H3M4S", "93784"),
        ("P1D", "86400"),
        ("P1W", "604800"),
        ("pt1m", "60"),
    ],
)
def test_every_documented_form_is_read_exactly(text, seconds):
    assert parse_duration(text) == Decimal(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "84",
        "84 s",
        "1m",
        "1h30m",
        "-5s",
        "-00:00:05",
        "PT",
        "P",
        "P1DT",
        "P1M",
        "P1Y",
        "00:61:00",
        "00:00:60",
        "1:2:3",
        "<string>",
        "84.1234567891s",
        "NaNs",
        "12:00",
    ],
)
def test_anything_else_names_the_field_and_the_value(text):
    with pytest.raises(DurationFormatError) as caught:
        parse_duration(text, field="daily[3].duration")
    message = str(caught.value)
    assert message.startswith("daily[3].duration: ")
    assert repr(text) in message
    assert "expected" in message
    assert caught.value.field == "daily[3].duration"
    assert caught.value.value == text


@pytest.mark.parametrize("value", [84, 84.5, None, True, ["84s"]])
def test_a_non_string_is_refused(value):
    with pytest.raises(DurationFormatError, match="expected a duration string"):
        parse_duration(value, field="billedDuration")


def test_negative_durations_are_refused_with_the_reason():
    with pytest.raises(DurationFormatError, match="negative duration"):
        parse_duration("-1.5s", field="duration")


@pytest.mark.parametrize(
    ("seconds", "style", "text"),
    [
        ("84", "protobuf", "84s"),
        ("62.4", "protobuf", "62.400s"),
        ("0.0000015", "protobuf", "0.000001500s"),
        ("62.4", "django", "00:01:02.400000"),
        ("93784", "django", "1 02:03:04"),
        ("0", "django", "00:00:00"),
        ("62.4", "iso", "PT62.4S"),
    ],
)
def test_format_writes_the_vendor_forms(seconds, style, text):
    assert format_duration(Decimal(seconds), style) == text


def test_format_refuses_negative_and_unknown_styles():
    with pytest.raises(ValueError, match="negative"):
        format_duration(Decimal(-1))
    with pytest.raises(ValueError, match="unknown duration style"):
        format_duration(Decimal(1), "minutes")


@given(
    micros=st.integers(min_value=0, max_value=400 * 86_400 * 1_000_000),
    style=st.sampled_from(["protobuf", "django", "iso"]),
)
def test_every_written_form_reads_back_to_the_same_seconds(micros, style):
    seconds = Decimal(micros) / 1_000_000
    assert parse_duration(format_duration(seconds, style)) == seconds
