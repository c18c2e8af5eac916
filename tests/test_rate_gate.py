"""Client-side pacing: the documented budget, the server's X-RateLimit headers, and no 429.

The last tests play a whole fetch against a simulated server that counts requests in fixed
windows as they arrive, with random latencies and eight requests in flight (so answers come
back out of order), on an injected clock: nothing really sleeps.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

import httpx
import pytest

from voice_usage._engine._rate_gate import RateGate
from voice_usage.provider import RateLimit

EPOCH = 1_790_000_000.0


class Clock:
    def __init__(self, now: float = EPOCH) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def headers(remaining: int, reset: float, limit: int | None = None) -> httpx.Headers:
    values = {"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(reset)}
    if limit is not None:
        values["X-RateLimit-Limit"] = str(limit)
    return httpx.Headers(values)


def test_the_documented_budget_holds_a_slot_until_a_window_after_the_answer():
    clock = Clock(100.0)
    gate = RateGate(RateLimit(requests=3, per_seconds=60), monotonic=clock, wall=clock)
    assert [gate.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert gate.reserve() == 60.0  # all three in flight: none frees before it ends and ages 60 s
    clock.now += 5
    gate.release()  # answered at 105: its slot frees at 165
    assert gate.reserve() == 60.0
    clock.now += 10
    assert gate.reserve() == 50.0
    clock.now += 50
    assert gate.reserve() == 0.0  # the fourth request goes at 165, not earlier
    assert gate.in_flight == 3


def test_a_request_told_to_wait_claims_nothing():
    clock = Clock(100.0)
    gate = RateGate(RateLimit(requests=1, per_seconds=10), monotonic=clock, wall=clock)
    assert gate.reserve() == 0.0
    assert gate.reserve() == 10.0
    assert gate.reserve() == 10.0
    assert gate.in_flight == 1


def test_headers_take_over_and_a_spent_budget_waits_for_the_reset():
    clock = Clock()
    gate = RateGate(RateLimit(requests=1, per_seconds=60), monotonic=clock, wall=clock)
    assert gate.reserve() == 0.0
    gate.release(headers(remaining=2, reset=int(clock.now) + 30))
    assert [gate.reserve(), gate.reserve()] == [0.0, 0.0]  # more than the documented 1 a minute
    assert gate.reserve() == pytest.approx(30.05)  # the server's two are spent: wait for its reset
    clock.now += 31
    # Past the reset, with no word of the new window's size, the documented budget applies
    # again: one a minute, and the first answer came back at the start.
    assert gate.reserve() == 29.0


def test_requests_in_flight_are_taken_off_what_the_server_says_remains():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    for _ in range(4):
        assert gate.reserve() == 0.0
    # The first answer says 5 remain, but the three others in flight may not be counted yet.
    gate.release(headers(remaining=5, reset=clock.now + 10))
    assert [gate.reserve(), gate.reserve()] == [0.0, 0.0]
    assert gate.reserve() > 0


def test_a_late_answer_never_raises_the_count_within_a_window():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    for _ in range(2):
        gate.reserve()
    gate.release(headers(remaining=0, reset=clock.now + 10))  # the later-counted one, first
    gate.release(headers(remaining=1, reset=clock.now + 10))  # the earlier-counted one, late
    assert gate.reserve() == pytest.approx(10.05)


def test_an_answer_about_an_earlier_window_is_ignored():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    gate.reserve()
    gate.reserve()
    gate.release(headers(remaining=0, reset=clock.now + 20))
    gate.release(headers(remaining=9, reset=clock.now - 5))
    assert gate.reserve() == pytest.approx(20.05)


def test_past_the_reset_a_new_window_allows_the_limit_less_what_is_in_flight():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    for _ in range(3):
        gate.reserve()
    gate.release(headers(remaining=0, reset=clock.now + 1, limit=4))
    clock.now += 2  # two requests still in flight may land in the new window
    assert [gate.reserve(), gate.reserve()] == [0.0, 0.0]
    assert gate.reserve() > 0


def test_requests_from_another_client_on_the_key_are_left_room_for():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    gate.reserve()
    # Ours is the only one sent, yet the server counted 6 of its 10: 5 came from elsewhere.
    gate.release(headers(remaining=4, reset=clock.now + 10, limit=10))
    assert [gate.reserve() for _ in range(4)] == [0.0] * 4
    assert gate.reserve() == pytest.approx(10.05)


def test_a_reset_given_as_seconds_from_now():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    gate.reserve()
    gate.release(headers(remaining=0, reset=12))
    assert gate.reserve() == pytest.approx(12.05)


def test_unreadable_headers_are_ignored():
    clock = Clock()
    gate = RateGate(None, monotonic=clock, wall=clock)
    gate.reserve()
    gate.release(httpx.Headers({"X-RateLimit-Remaining": "lots", "X-RateLimit-Reset": "soon"}))
    assert gate.reserve() == 0.0


# -- a whole fetch against a simulated server ------------------------------------------------


@dataclass
class Server:
    """Counts requests in fixed windows as they arrive; answers 429 past the budget."""

    limit: int
    window: float
    send_headers: bool
    counts: dict[int, int] = field(default_factory=dict)
    throttled: int = 0

    def answer(self, arrival: float) -> httpx.Headers:
        index = math.floor(arrival / self.window)
        used = self.counts[index] = self.counts.get(index, 0) + 1
        if used > self.limit:
            self.throttled += 1
        if not self.send_headers:
            return httpx.Headers()
        return headers(max(0, self.limit - used), (index + 1) * self.window, self.limit)


def simulate(
    server: Server, gate: RateGate, clock: Clock, *, requests: int, in_flight: int, seed: int
) -> float:
    """Play ``requests`` requests, ``in_flight`` at a time; returns when the last was read.

    Each request takes 5-60 ms to reach the server, which counts it then; its answer's headers
    take 5-60 ms back, and the client hands them to the gate up to 10 ms later (its event loop
    is busy). The body takes 5-40 ms more to read, and only then does that worker send again.
    """
    rng = random.Random(seed)
    events: list[tuple[float, int, str, int]] = []  # (time, order, what, worker)
    order = 0

    def push(at: float, what: str, worker: int) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, what, worker))

    started = clock.now
    left = requests
    for worker in range(in_flight):
        push(clock.now, "try", worker)
    answered: dict[int, httpx.Headers] = {}
    finished = started
    while events:
        at, _, what, worker = heapq.heappop(events)
        clock.now = at
        if what == "try":
            if left == 0:
                continue
            wait = gate.reserve()
            if wait > 0:
                push(at + wait, "try", worker)
                continue
            left -= 1
            push(at + rng.uniform(0.005, 0.060), "arrive", worker)
        elif what == "arrive":
            answered[worker] = server.answer(at)
            push(at + rng.uniform(0.005, 0.060) + rng.uniform(0, 0.010), "headers", worker)
        elif what == "headers":
            gate.release(answered.pop(worker))
            push(at + rng.uniform(0.005, 0.040), "read", worker)
        else:
            finished = at
            push(at, "try", worker)
    return finished - started


@pytest.mark.parametrize("send_headers", [True, False], ids=["headers", "no-headers"])
@pytest.mark.parametrize("seed", range(20))
def test_five_windows_of_pages_take_the_budget_bound_and_never_a_429(send_headers, seed):
    limit, window, requests = 20, 2.0, 100
    # Start somewhere inside a server window, not on its edge.
    clock = Clock(EPOCH + random.Random(seed).uniform(0, window))
    server = Server(limit, window, send_headers)
    gate = RateGate(RateLimit(limit, window), monotonic=clock, wall=clock)
    took = simulate(server, gate, clock, requests=requests, in_flight=8, seed=seed)
    assert server.throttled == 0
    # The budget bound: the last of five windows' worth of requests can go out no sooner than
    # four windows after the first, plus a round trip and its body.
    bound = (math.ceil(requests / limit) - 1) * window + 0.170
    assert took <= 1.1 * bound, (took, bound)
    assert max(server.counts.values()) <= limit


def test_a_vendor_that_allows_more_than_documented_is_used_fully():
    clock = Clock(EPOCH + 0.3)
    server = Server(limit=40, window=2.0, send_headers=True)
    gate = RateGate(RateLimit(20, 2.0), monotonic=clock, wall=clock)
    took = simulate(server, gate, clock, requests=120, in_flight=8, seed=1)
    assert server.throttled == 0
    assert took < 6.2  # 120 at 40 a window: three windows, not the documented six


# -- without headers: the tightest safe schedule ---------------------------------------------


def most_in_one_window(sent: list[tuple[float, float]], now: float, window: float) -> int:
    """The most requests any server window could count, were one more sent at ``now``.

    Worked out geometrically, not by the gate's rule: the server counts a request when it
    arrives, at any moment between its send and its answer (``inf`` while in flight), in fixed
    windows of ``window`` seconds whose alignment the client does not know. A window [t, t+W)
    can hold a request iff it was sent before t+W and answered at t or later; the new one
    arrives at ``now`` or later. The count is greatest for t at some answer, or where the new
    one first fits.
    """
    candidates = [answer for _, answer in sent if answer != math.inf]
    candidates += [now - window + 1e-9, now]
    best = 0
    for start in candidates:
        end = start + window
        held = sum(1 for send, answer in sent if send < end and answer >= start)
        best = max(best, held + (now < end))
    return best


@pytest.mark.parametrize("seed", range(10))
def test_without_headers_every_send_is_safe_and_none_waits_longer_than_it_must(seed):
    """Safe: no alignment of the server's windows and no arrival times consistent with what the
    client saw put more than the budget in one window. Tight: whenever the gate says wait, one
    more sent at once could be the budget's one too many, so no safe schedule sends sooner.
    """
    rng = random.Random(seed)
    limit, window = 4, 10.0
    clock = Clock(EPOCH)
    gate = RateGate(RateLimit(limit, window), monotonic=clock, wall=clock)
    sent: list[tuple[float, float]] = []  # (send, answer), answer inf while in flight
    answers: list[tuple[float, int]] = []
    waits = 0
    while len(sent) < 40:
        wait = gate.reserve()
        if wait == 0.0:
            assert most_in_one_window(sent, clock.now, window) <= limit
            heapq.heappush(answers, (clock.now + rng.uniform(0.01, 3.0), len(sent)))
            sent.append((clock.now, math.inf))
            continue
        waits += 1
        assert most_in_one_window(sent, clock.now, window) > limit  # sending now could 429
        # Run on to whichever comes first: an answer, or the moment the gate named.
        if answers and answers[0][0] <= clock.now + wait:
            clock.now, index = heapq.heappop(answers)
            gate.release()
            sent[index] = (sent[index][0], clock.now)
        else:
            clock.now += wait
    assert waits > 10


def test_a_slot_held_a_window_from_its_send_alone_would_overshoot():
    """Counting a request's window from its send is not enough when the server's windows are
    fixed: four sent at 0 and answered at 9 may all arrive at 9, so four more sent at 10 (one
    window after the sends) share the server's window [9, 19) with them."""
    sent = [(0.0, 9.0)] * 4 + [(10.0, math.inf)] * 3
    assert most_in_one_window(sent, 10.0, 10.0) == 8
    clock = Clock(EPOCH)
    gate = RateGate(RateLimit(4, 10.0), monotonic=clock, wall=clock)
    assert [gate.reserve() for _ in range(4)] == [0.0] * 4
    clock.now += 9
    for _ in range(4):
        gate.release()
    clock.now += 1
    assert gate.reserve() == pytest.approx(9.0)  # the gate waits for 19, a window after 9


def test_the_async_session_waits_for_the_gate_in_short_steps():
    # The fetch engine's event loop stands still while its caller works on a page, so one long
    # sleep would wake late by the caller's work; short steps ask the gate, on the real clock,
    # again and again, and the request goes out when the slot frees, not later.
    import asyncio

    from voice_usage._engine._http import AsyncSession
    from voice_usage.testing import FakeProvider

    clock, slept = Clock(), []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    provider = FakeProvider()
    provider.rate_limit = RateLimit(1, 2.0)  # one request every two seconds

    async def two_requests() -> None:
        async with AsyncSession(
            provider,
            api_key="test-key",
            transport=provider.transport("test-key"),
            sleep=sleep,
            monotonic=clock,
            wall=clock,
        ) as session:
            await session.get("/calls")
            await session.get("/calls")

    asyncio.run(two_requests())
    assert max(slept) <= 0.05
    assert len(slept) >= 40  # 2 s in steps of 50 ms (a last sliver where the sums round)
    assert sum(slept) == pytest.approx(2.0)
