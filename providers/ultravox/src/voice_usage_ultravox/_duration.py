"""Ultravox duration strings, in every form the API may write them.

The OpenAPI document types durations only as `string`. Call settings use protobuf JSON
(`"3600s"`, `"62.400s"`); a Django REST framework `DurationField` would write `"HH:MM:SS[.ffffff]"`
or `"D HH:MM:SS[.ffffff]"`; ISO 8601 (`"PT1H2M3.5S"`) is accepted for safety. Anything else is an
error naming the field and the value, never a silent zero.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["DurationFormatError", "format_duration", "parse_duration"]

_PROTOBUF = re.compile(r"(?P<seconds>\d+(?:\.\d{1,9})?)s")
_CLOCK = re.compile(
    r"(?:(?P<days>\d+)(?: days?,)? )?"
    r"(?P<hours>\d+):(?P<minutes>[0-5]\d):(?P<seconds>[0-5]\d(?:\.\d{1,9})?)"
)
_ISO = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d{1,9})?)S)?)?",
    re.IGNORECASE,
)

_EXPECTED = "'84s', '62.400s', 'HH:MM:SS[.ffffff]', 'D HH:MM:SS' or ISO 8601 'PT1M24S'"


class DurationFormatError(ValueError):
    """A duration string in none of the known forms; names the field and the value."""

    def __init__(self, field: str, value: object, reason: str = "not a duration") -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {reason}: {value!r} (expected {_EXPECTED})")


def parse_duration(value: object, *, field: str = "duration") -> Decimal:
    """Seconds (exact, as a Decimal) of an Ultravox duration string.

    Accepts protobuf JSON (`"84s"`, `"62.400s"`), Django's `"HH:MM:SS[.ffffff]"` and
    `"D HH:MM:SS[.ffffff]"` (also Python's `"1 day, 2:03:04"`), and ISO 8601 (`"PT1M24.5S"`,
    `"P1DT2H"`). Surrounding blanks are ignored.

    Raises:
        DurationFormatError: for anything else (a negative duration, a number, an empty string,
            ISO years or months, which have no fixed length), naming ``field`` and the value.
    """
    if not isinstance(value, str):
        raise DurationFormatError(field, value, "expected a duration string")
    text = value.strip()
    if text.startswith("-"):
        raise DurationFormatError(field, value, "negative duration")
    if match := _PROTOBUF.fullmatch(text):
        return _tidy(Decimal(match["seconds"]))
    if match := _CLOCK.fullmatch(text):
        return _tidy(
            Decimal(int(match["days"] or 0) * 86_400)
            + Decimal(int(match["hours"]) * 3_600 + int(match["minutes"]) * 60)
            + Decimal(match["seconds"])
        )
    if (
        (match := _ISO.fullmatch(text))
        and text.upper() not in {"P", "PT"}
        and not text.upper().endswith("T")
    ):
        parts = match.groupdict()
        return _tidy(
            Decimal(int(parts["weeks"] or 0) * 604_800 + int(parts["days"] or 0) * 86_400)
            + Decimal(int(parts["hours"] or 0) * 3_600 + int(parts["minutes"] or 0) * 60)
            + Decimal((parts["seconds"] or "0").replace(",", "."))
        )
    raise DurationFormatError(field, value)


def _tidy(seconds: Decimal) -> Decimal:
    # "62.400s" and "00:01:02.400000" are the same 62.4 seconds: drop trailing zeros (no exponent).
    if seconds == seconds.to_integral_value():
        return seconds.quantize(Decimal(1))
    return seconds.normalize()


def format_duration(seconds: Decimal, style: str = "protobuf") -> str:
    """Write ``seconds`` the way Ultravox may.

    Styles: `protobuf` (`"62.400s"`), `django` (`"1 02:03:04.400000"`) or `iso` (`"PT62.4S"`).
    Used to send duration filters, and by the emulator.
    """
    if seconds < 0:
        raise ValueError(f"a usage duration cannot be negative, got {seconds}")
    if style == "protobuf":
        if seconds == seconds.to_integral_value():
            return f"{int(seconds)}s"
        for places in ("0.001", "0.000001", "0.000000001"):  # protobuf writes 3, 6 or 9 digits
            if seconds == seconds.quantize(Decimal(places)):
                return f"{seconds.quantize(Decimal(places))}s"
        return f"{seconds.quantize(Decimal('0.000000001'))}s"
    if style == "django":
        micros = int((seconds * 1_000_000).to_integral_value())
        days, rest = divmod(micros, 86_400_000_000)
        hours, rest = divmod(rest, 3_600_000_000)
        minutes, rest = divmod(rest, 60_000_000)
        secs, micro = divmod(rest, 1_000_000)
        text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
        if days:
            text = f"{days} {text}"
        if micro:
            text += f".{micro:06d}"
        return text
    if style == "iso":
        return f"PT{format(seconds.normalize(), 'f')}S"
    raise ValueError(f"unknown duration style {style!r} (protobuf, django or iso)")
