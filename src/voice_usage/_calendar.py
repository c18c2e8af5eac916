"""UTC calendar arithmetic: the hour, day and month boundaries that periods are cut on.

Vendors report per UTC hour, day or month, and a query's `[since, until)` rarely falls on those
boundaries; these helpers say where the whole units inside or around an instant begin. Every
function works in UTC (an instant in another zone is converted first) and returns an aware UTC
datetime. A month is the calendar month, whatever its length: the unit after 2024-02-01 begins on
2024-03-01, the one after 2026-12-01 on 2027-01-01.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from voice_usage._enums import Granularity

__all__ = ["is_utc_boundary", "utc_ceil", "utc_floor", "utc_midnight", "utc_shift"]

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


def utc_floor(instant: datetime, granularity: Granularity) -> datetime:
    """The start of the UTC hour, day or month containing ``instant`` (itself on a boundary).

    Raises:
        ValueError: for `Granularity.CALL`, which has no calendar boundaries.
    """
    t = instant.astimezone(UTC)
    if granularity is Granularity.HOUR:
        return t.replace(minute=0, second=0, microsecond=0)
    if granularity is Granularity.DAY:
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is Granularity.MONTH:
        return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    raise ValueError(f"granularity must be hour, day or month, got {granularity!r}")


def utc_shift(instant: datetime, granularity: Granularity, units: int) -> datetime:
    """The start of the UTC hour, day or month ``units`` after the one containing ``instant``.

    A negative ``units`` counts back; ``units=1`` gives the end of the unit ``instant`` is in.
    """
    start = utc_floor(instant, granularity)
    if granularity is Granularity.HOUR:
        return start + units * _HOUR
    if granularity is Granularity.DAY:
        return start + units * _DAY
    index = start.year * 12 + (start.month - 1) + units
    return start.replace(year=index // 12, month=index % 12 + 1)


def utc_ceil(instant: datetime, granularity: Granularity) -> datetime:
    """The first UTC hour, day or month boundary at or after ``instant``."""
    floor = utc_floor(instant, granularity)
    return floor if floor == instant else utc_shift(floor, granularity, 1)


def is_utc_boundary(instant: datetime, granularity: Granularity) -> bool:
    """Whether ``instant`` is where a UTC hour, day or month begins."""
    return utc_floor(instant, granularity) == instant


def utc_midnight(day: date) -> datetime:
    """The instant UTC day ``day`` begins."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
