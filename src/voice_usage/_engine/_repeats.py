"""Dropping an item that a list repeats on the adjacent page, in flat memory.

A vendor's list can move while it is walked: an item written during an offset walk shifts the
next page by one, so that page starts with the last item of this one; a cursor list re-read at a
window's edge lists the edge item twice. The repeat can only fall on the same page or the one
just before, so remembering the ids of two pages catches it however long the walk, where
remembering every id would grow with the walk.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import Generic, TypeVar

__all__ = ["PageRepeats"]

K = TypeVar("K", bound=Hashable)


class PageRepeats(Generic[K]):
    """The ids of the page being read and of the page before it.

    Call `next_page()` before reading each page's items, then `repeated(id)` per item::

        repeats = PageRepeats[str]()
        for page in pages:
            repeats.next_page()
            for item in page.items:
                if repeats.repeated(item.id):
                    report.dropped_duplicates += 1
                    continue
                ...
    """

    __slots__ = ("_current", "_previous")

    def __init__(self) -> None:
        self._current: set[K] = set()
        self._previous: set[K] = set()

    def next_page(self) -> None:
        """Start a page: the page read so far becomes the previous one."""
        self._previous, self._current = self._current, set()

    def next_page_of(self, keys: Collection[K]) -> bool:
        """Start a page whose items have ``keys``: whether none of them repeats.

        One set operation for the page instead of a `repeated()` call per item: when no key is
        listed twice on the page or on the previous one, all are remembered and `True` says
        the items need no check. On `False` the page is started as by `next_page()`, and each
        item is asked with `repeated()`, which counts the first listing as new as ever.
        """
        self._previous = previous = self._current
        current = set(keys)
        if len(current) == len(keys) and current.isdisjoint(previous):
            self._current = current
            return True
        self._current = set()
        return False

    def repeated(self, key: K) -> bool:
        """Whether ``key`` was listed already on this page or the previous one; remembers it."""
        if key in self._current or key in self._previous:
            return True
        self._current.add(key)
        return False

    def on_previous_page(self, key: K) -> bool:
        """Whether ``key`` was listed on the previous page (a walk that re-reads its edge)."""
        return key in self._previous
