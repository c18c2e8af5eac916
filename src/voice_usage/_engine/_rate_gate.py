"""Client-side pacing: use a vendor's whole request budget, and never more, so it need not say 429.

Two views of the budget, and the server's wins when it gives one:

- **The documented budget** (`RateLimit`: so many requests per window). The server counts a
  request when it *arrives*, somewhere between when it was sent and when its answer came back,
  and the client knows neither the arrival time nor where the server's windows begin. So a
  request occupies the budget from when it is sent until one window after its answer: a new
  one is sent only while fewer than the budget's requests are in flight or ended within the
  last window. Whatever the latencies and however the server aligns its windows, no window of
  the server's then sees more than the budget (the proof is in `_DocumentedBudget`).
- **The server's headers** (`X-RateLimit-Remaining`, `X-RateLimit-Reset`, and
  `X-RateLimit-Limit` when sent). An answer's `Remaining` was counted when that request
  arrived; requests still in flight may not be in it yet, so they are taken off it. Answers come
  back out of order with several in flight: a figure is only ever lowered within one window,
  and an answer about an earlier window is ignored. Past the reset, a new window allows
  `Limit`, less what is still in flight.

`reserve()` claims a slot now (0.0) or says how long to wait before asking again; every claimed
request is given back with `release()`, answered or not: as soon as its answer's headers are in,
since the server counted it before answering, and not once its body has been read (reading a
large page would otherwise hold the slot longer, window after window).

Without headers, a slot is held a whole window after each answer. That is the least any client
can hold it without knowing where the server's windows begin: every span of one window is then
a window the server may be counting in. The price is the client's own lag (an answer handed over
late, a timer that fires late on a busy machine), paid once per window of the fetch, where the
server's headers let a client start each new window on time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from voice_usage._engine._provider import RateLimit

__all__ = ["RateGate"]

_RESET_MARGIN = 0.05
"""Seconds added to the server's reset time before a new window is used: the reset is often
given in whole seconds, and the two clocks may differ a little."""

_UNKNOWN = float("inf")

_EPOCH_SECONDS = 1e9
"""A reset above this is a Unix timestamp; below, seconds from now (both are in use)."""


@dataclass
class _ServerView:
    """What the server's headers said of its current window, and what was sent into it."""

    reset_at: float
    """Wall-clock time the window ends; `_UNKNOWN` for a window opened before any answer."""
    opens_at: float
    """Wall-clock time from which requests may be sent into it."""
    limit: int | None
    """Requests a whole window allows (`X-RateLimit-Limit`), when the server says."""
    charged: int
    """Requests of this gate's that may count in the window (sent in it, or in flight into it)."""
    others: int = 0
    """Requests the server counted that were not this gate's (another client on the key)."""
    remaining: int | None = None
    """Without a `limit`: the fewest the server said remain, less what may be uncounted."""

    @property
    def allowance(self) -> int:
        if self.limit is not None:
            return self.limit - self.charged - self.others
        return self.remaining if self.remaining is not None else 0

    def claim(self) -> None:
        self.charged += 1
        if self.remaining is not None:
            self.remaining -= 1

    def hear(self, remaining: int, limit: int | None, uncounted: int) -> None:
        """Take in one answer's figures for this window."""
        self.limit = limit if limit is not None else self.limit
        if self.limit is not None:
            # Every request of ours the server may have counted is charged already; whatever it
            # counted beyond them came from elsewhere.
            self.others = max(self.others, self.limit - remaining - self.charged)
        estimate = remaining - uncounted
        self.remaining = estimate if self.remaining is None else min(self.remaining, estimate)


class _DocumentedBudget:
    """At most `requests` arrivals at the server in any `per_seconds`, with unknown latencies.

    A request is counted from its send until `per_seconds` after its answer. Proof that no
    server window W sees more than the budget: let q be the last-sent of any budget+1 requests
    arriving within W. Each other one was sent before q and arrived after W began, which is
    after q's send less one window; it answered no earlier than it arrived. So at q's send each
    was in flight or had ended within the last window: the budget was full, and q waited.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.requests = limit.requests
        self.window = limit.per_seconds
        self.ended: deque[float] = deque()

    def end(self, now: float) -> None:
        """A request was answered (or failed) at ``now``."""
        self._forget(now)
        self.ended.append(now)

    def wait(self, now: float, in_flight: int) -> float:
        """Seconds before a request may be sent (0.0: now)."""
        self._forget(now)
        if len(self.ended) + in_flight < self.requests:
            return 0.0
        if self.ended:
            return self.ended[0] + self.window - now
        # Every slot is held by a request in flight: none frees before it ends and ages a window.
        return self.window

    def _forget(self, now: float) -> None:
        """Drop answers older than a window: they hold no slot any more (and memory stays flat)."""
        while self.ended and self.ended[0] <= now - self.window:
            self.ended.popleft()


class RateGate:
    """Keeps one account's requests inside its vendor's budget; thread-safe."""

    def __init__(
        self,
        limit: RateLimit | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self._monotonic = monotonic
        self._wall = wall
        self._documented = _DocumentedBudget(limit) if limit is not None else None
        self._server: _ServerView | None = None
        self._in_flight = 0
        self._unviewed = 0  # requests sent while no server view was held
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Requests claimed and not yet released."""
        return self._in_flight

    def reserve(self) -> float:
        """Claim a slot for one request now (returns 0.0), or return the seconds to wait first.

        A caller that is told to wait sleeps, then asks again: the slot was not claimed.
        """
        with self._lock:
            now = self._wall()
            self._roll(now)
            view = self._server
            if view is not None:
                if now < view.opens_at:
                    return view.opens_at - now
                if view.allowance <= 0:
                    if view.reset_at == _UNKNOWN:
                        # Spent before any answer told when this window ends.
                        return self.limit.per_seconds if self.limit is not None else 1.0
                    return view.reset_at + _RESET_MARGIN - now
                view.claim()
            elif self._documented is not None:
                wait = self._documented.wait(self._monotonic(), self._in_flight)
                if wait > 0:
                    return wait
            self._in_flight += 1
            self._unviewed += view is None
            return 0.0

    def release(self, headers: Mapping[str, str] | None = None) -> None:
        """A claimed request is over; ``headers`` are its answer's, when it was answered."""
        with self._lock:
            now = self._wall()
            self._roll(now)
            if headers is not None:
                self._observe(headers, now)
            self._in_flight = max(0, self._in_flight - 1)
            if self._documented is not None:
                self._documented.end(self._monotonic())

    def _roll(self, now: float) -> None:
        """Past the server's reset, move to its next window."""
        view = self._server
        if view is None or view.reset_at == _UNKNOWN or now < view.reset_at:
            return
        if view.limit is None:
            # No word of the new window's size: the documented budget applies until an answer
            # tells more.
            self._server, self._unviewed = None, self._in_flight
            return
        # Nothing is sent from the reset until `opens_at`, so what is in flight now is all that
        # may yet arrive in the new window from before it.
        self._server = _ServerView(
            reset_at=_UNKNOWN,
            opens_at=view.reset_at + _RESET_MARGIN,
            limit=view.limit,
            charged=self._in_flight,
        )

    def _observe(self, headers: Mapping[str, str], now: float) -> None:
        remaining, reset, limit = _read_headers(headers)
        if remaining is None or reset is None:
            return
        reset_at = reset if reset > _EPOCH_SECONDS else now + reset
        if reset_at <= now:
            return  # written in a window that is over: it says nothing of this one
        uncounted = self._in_flight - 1  # others in flight may not have arrived when it was written
        view = self._server
        if view is None or (
            view.reset_at != _UNKNOWN and reset_at >= view.reset_at + _RESET_MARGIN
        ):
            # The first word, or a window later than the one in view: everything sent since the
            # gate last had a view, or in flight, may count in it.
            charged = self._unviewed if view is None else self._in_flight
            view = self._server = _ServerView(reset_at, now, limit, charged)
            self._unviewed = 0
        elif view.reset_at == _UNKNOWN:
            view.reset_at = reset_at
        elif reset_at <= view.reset_at - _RESET_MARGIN:
            return
        view.hear(remaining, limit, uncounted)


def _read_headers(headers: Mapping[str, str]) -> tuple[int | None, float | None, int | None]:
    def number(name: str) -> float | None:
        value = headers.get(name)
        if value is None:
            return None
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if parsed >= 0 and parsed == parsed and parsed != float("inf") else None

    remaining, reset, limit = (
        number("x-ratelimit-remaining"),
        number("x-ratelimit-reset"),
        number("x-ratelimit-limit"),
    )
    return (
        None if remaining is None else int(remaining),
        reset,
        None if limit is None else int(limit),
    )
