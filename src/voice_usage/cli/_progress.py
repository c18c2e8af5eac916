"""Progress on stderr while long fetches run, only when stderr is a terminal.

Nothing is printed when stderr is a file or a pipe, so logs and tests stay clean.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TypeVar

from rich.console import Console
from rich.status import Status

from voice_usage.cli._render import DataConsole

__all__ = ["FetchProgress", "counted"]

T = TypeVar("T")

_EVERY = 100


class FetchProgress(AbstractContextManager["FetchProgress"]):
    """A one-line spinner on stderr: `fetching flireo 1200 · ultravox 340 records`.

    `update(provider, count)` may be called from any thread. Inactive (a no-op) unless stderr
    is a terminal, or ``force`` is set.
    """

    def __init__(
        self, providers: Sequence[str], *, console: Console | None = None, force: bool = False
    ) -> None:
        self.console = console or DataConsole(stderr=True)
        self.active = force or self.console.is_terminal
        self.counts: dict[str, int | None] = dict.fromkeys(providers)
        self._lock = threading.Lock()
        self._status: Status | None = None

    def _text(self) -> str:
        parts = [f"{name} {'…' if n is None else n}" for name, n in self.counts.items()]
        return "fetching " + " · ".join(parts) + " records"

    def update(self, provider: str, count: int) -> None:
        """Set how many records ``provider`` has streamed so far."""
        with self._lock:
            self.counts[provider] = count
            if self._status is not None:
                self._status.update(self._text())

    def __enter__(self) -> FetchProgress:
        if self.active:
            self._status = Status(self._text(), console=self.console)
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def counted(
    items: Iterable[T], provider: str, progress: FetchProgress, *, taken: list[int] | None = None
) -> Iterator[T]:
    """``items`` unchanged, reporting the running count to ``progress``.

    An item counts once its consumer has come back for the next one (a writer has written it).
    With ``taken``, ``taken[0]`` holds that count when the items end or fail.
    """
    count = 0
    try:
        for item in items:
            yield item
            count += 1
            if not count % _EVERY:
                progress.update(provider, count)
    finally:
        if taken is not None:
            taken[0] = count
    progress.update(provider, count)
