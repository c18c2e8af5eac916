"""The chores `voice_usage.provider` does for every provider: UTC calendar floors and ceilings,
and dropping an id the list repeats on the adjacent page.

Expected instants are written out by hand from the calendar (2028 is a leap year, 2026 and 2100
are not; a month after December is January of the next year).
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from voice_usage.provider import (
    Granularity,
    PageRepeats,
    is_utc_boundary,
    utc_ceil,
    utc_floor,
    utc_midnight,
    utc_shift,
)

HOUR, DAY, MONTH = Granularity.HOUR, Granularity.DAY, Granularity.MONTH


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "granularity", "floor", "ceil"),
    [
        (utc(2026, 10, 1, 13, 59, 59, 999999), HOUR, utc(2026, 10, 1, 13), utc(2026, 10, 1, 14)),
        (utc(2026, 12, 31, 23, 0, 1), HOUR, utc(2026, 12, 31, 23), utc(2027, 1, 1)),
        (utc(2026, 10, 31, 0, 0, 0, 1), DAY, utc(2026, 10, 31), utc(2026, 11, 1)),
        (utc(2028, 2, 28, 12), DAY, utc(2028, 2, 28), utc(2028, 2, 29)),  # leap day follows
        (utc(2026, 2, 28, 12), DAY, utc(2026, 2, 28), utc(2026, 3, 1)),  # no leap day
        (utc(2026, 12, 15), MONTH, utc(2026, 12, 1), utc(2027, 1, 1)),  # across December
        (utc(2026, 12, 31, 23, 59, 59), MONTH, utc(2026, 12, 1), utc(2027, 1, 1)),
        (utc(2028, 2, 29, 5), MONTH, utc(2028, 2, 1), utc(2028, 3, 1)),  # leap February
        (utc(2100, 2, 28, 5), MONTH, utc(2100, 2, 1), utc(2100, 3, 1)),  # 2100 is not leap
        (utc(2026, 1, 31, 1), MONTH, utc(2026, 1, 1), utc(2026, 2, 1)),
    ],
)
def test_floor_and_ceil_inside_a_unit(instant, granularity, floor, ceil):
    assert utc_floor(instant, granularity) == floor
    assert utc_ceil(instant, granularity) == ceil
    assert not is_utc_boundary(instant, granularity)


@pytest.mark.parametrize(
    ("instant", "granularity"),
    [
        (utc(2026, 10, 1, 13), HOUR),
        (utc(2027, 1, 1), DAY),
        (utc(2028, 2, 29), DAY),
        (utc(2027, 1, 1), MONTH),
        (utc(2028, 3, 1), MONTH),
    ],
)
def test_an_instant_on_a_boundary_is_its_own_floor_and_ceiling(instant, granularity):
    assert utc_floor(instant, granularity) == instant
    assert utc_ceil(instant, granularity) == instant
    assert is_utc_boundary(instant, granularity)


def test_another_zone_is_read_in_utc():
    # 2026-11-01 01:30 at UTC+02:00 is 2026-10-31 23:30 UTC: October, not November.
    plus_two = datetime(2026, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert utc_floor(plus_two, MONTH) == utc(2026, 10, 1)
    assert utc_floor(plus_two, DAY) == utc(2026, 10, 31)
    assert utc_ceil(plus_two, DAY) == utc(2026, 11, 1)
    assert utc_floor(plus_two, DAY).tzinfo is UTC
    # Local midnight at UTC+02:00 is 22:00 UTC: not a UTC day boundary.
    assert not is_utc_boundary(datetime(2026, 11, 1, tzinfo=timezone(timedelta(hours=2))), DAY)
    assert is_utc_boundary(datetime(2026, 11, 1, 2, tzinfo=timezone(timedelta(hours=2))), DAY)


@pytest.mark.parametrize(
    ("instant", "granularity", "units", "expected"),
    [
        (utc(2026, 11, 15, 9), MONTH, 1, utc(2026, 12, 1)),
        (utc(2026, 12, 15, 9), MONTH, 1, utc(2027, 1, 1)),
        (utc(2026, 12, 1), MONTH, 13, utc(2028, 1, 1)),
        (utc(2026, 12, 1), MONTH, -23, utc(2025, 1, 1)),  # AgentPhone's 24-month reach
        (utc(2027, 1, 1), MONTH, -1, utc(2026, 12, 1)),
        (utc(2028, 2, 29, 7), DAY, 1, utc(2028, 3, 1)),
        (utc(2026, 3, 1, 7), DAY, -1, utc(2026, 2, 28)),
        (utc(2026, 12, 31, 23, 30), HOUR, 1, utc(2027, 1, 1)),
        (utc(2026, 12, 31, 23, 30), HOUR, 0, utc(2026, 12, 31, 23)),
    ],
)
def test_shift_counts_whole_units_from_the_unit_containing_the_instant(
    instant, granularity, units, expected
):
    assert utc_shift(instant, granularity, units) == expected


def test_midnight_of_a_date():
    assert utc_midnight(date(2028, 2, 29)) == utc(2028, 2, 29)
    assert utc_midnight(date(2028, 2, 29)).tzinfo is UTC


def test_a_call_has_no_calendar_boundary():
    with pytest.raises(ValueError, match="hour, day or month"):
        utc_floor(utc(2026, 1, 1), Granularity.CALL)


def test_page_repeats_drops_an_id_on_the_same_or_the_adjacent_page_only():
    pages = [["a", "b", "c"], ["c", "d", "d"], ["e"], ["a", "e"]]
    repeats: PageRepeats[str] = PageRepeats()
    kept, dropped = [], []
    for page in pages:
        repeats.next_page()
        for key in page:
            (dropped if repeats.repeated(key) else kept).append(key)
    # "c" repeats the last of page 1, "d" twice on page 2, "e" the adjacent page 3; "a" returns
    # three pages later, beyond the adjacent page, and is kept (memory stays two pages).
    assert kept == ["a", "b", "c", "d", "e", "a"]
    assert dropped == ["c", "d", "e"]


def test_a_page_checked_at_once_drops_the_same_ids_as_one_by_one():
    pages = [["a", "b", "c"], ["c", "d", "d"], ["e"], ["a", "e"], ["f", "g"], ["h"], ["g"]]
    repeats: PageRepeats[str] = PageRepeats()
    kept, dropped, fresh_pages = [], [], []
    for page in pages:
        fresh = repeats.next_page_of(page)
        fresh_pages.append(fresh)
        for key in page:
            (dropped if not fresh and repeats.repeated(key) else kept).append(key)
    # As above for the first four; "f", "g" and "h" are fresh, and "g" returns two pages
    # after its own, beyond the adjacent page.
    assert kept == ["a", "b", "c", "d", "e", "a", "f", "g", "h", "g"]
    assert dropped == ["c", "d", "e"]
    assert fresh_pages == [True, False, True, False, True, True, True]


def test_a_page_with_a_repeat_leaves_its_ids_to_the_item_checks():
    repeats: PageRepeats[int] = PageRepeats()
    assert repeats.next_page_of([1, 2])
    assert not repeats.next_page_of([3, 2])  # 2 was on the previous page
    assert not repeats.on_previous_page(3) and repeats.on_previous_page(2)
    assert not repeats.repeated(3) and repeats.repeated(2)
    assert repeats.next_page_of([4])  # the page before was (3): 1 and 2 are forgotten
    assert repeats.on_previous_page(3) and not repeats.on_previous_page(2)


def test_page_repeats_says_what_the_previous_page_listed():
    repeats: PageRepeats[int] = PageRepeats()
    repeats.next_page()
    assert not repeats.repeated(1)
    assert not repeats.on_previous_page(1)  # on this page, not the previous one
    repeats.next_page()
    assert repeats.on_previous_page(1)
    assert not repeats.on_previous_page(2)
    repeats.next_page()
    assert not repeats.on_previous_page(1)
