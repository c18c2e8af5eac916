"""Client-side rate limiting: the documented budget, and the server's X-RateLimit headers."""

import httpx

from voice_usage import RateLimit
from voice_usage._engine._http import RateGate


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_documented_budget_spaces_requests_over_the_window():
    clock = Clock(100.0)
    gate = RateGate(RateLimit(requests=3, per_seconds=60), monotonic=clock, wall=clock)
    assert [gate.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert gate.reserve() == 60.0  # the 4th waits for the 1st to leave the window
    clock.now += 10
    assert gate.reserve() == 50.0
    clock.now += 200
    assert gate.reserve() == 0.0


def test_headers_take_over_and_a_spent_budget_waits_for_the_reset():
    clock = Clock()
    gate = RateGate(RateLimit(requests=1, per_seconds=60), monotonic=clock, wall=clock)
    gate.observe(
        httpx.Headers({"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": str(int(clock.now) + 30)})
    )
    assert [gate.reserve(), gate.reserve()] == [0.0, 0.0]  # more than the documented 1 a minute
    assert gate.reserve() == 30.0  # the server's two are spent: wait for its reset
    clock.now += 31
    assert gate.reserve() == 0.0  # the window reset


def test_a_reset_given_as_seconds_from_now():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    gate.observe(httpx.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"}))
    assert gate.reserve() == 12.0


def test_unreadable_headers_are_ignored():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    gate.observe(httpx.Headers({"X-RateLimit-Remaining": "lots", "X-RateLimit-Reset": "soon"}))
    assert gate.reserve() == 0.0
