"""Retry decisions, with an injected sleep: delays are asserted, nothing really waits."""

import email.utils
from collections.abc import Callable

import httpx
import pytest

from voice_usage import (
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
    UnprocessableEntityError,
)
from voice_usage._engine._http import Session
from voice_usage._engine._retry import is_retryable, parse_retry_after
from voice_usage.testing import FakeProvider

NOW = 1_790_000_000.0


def scripted(
    *responses: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    script = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler), seen


def ok() -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def session(
    transport: httpx.MockTransport, sleeps: Callable[[float], None], **policy: float
) -> Session:
    return Session(
        FakeProvider(),
        api_key="vu-test-key-5f0c2d9e8a7b4c3d",
        transport=transport,
        sleep=sleeps,
        retry=RetryPolicy(**policy),
    )  # type: ignore[arg-type]


def test_parse_retry_after_seconds_date_and_garbage():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after(date, now=NOW) == pytest.approx(30.0)
    past = email.utils.formatdate(NOW - 30, usegmt=True)
    assert parse_retry_after(past, now=NOW) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_429_with_retry_after_seconds_waits_exactly_that(sleeps):
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "rate_limited"}), ok()
    )
    response = session(transport, sleeps).get("/x")
    assert response.status_code == 200
    assert len(seen) == 2
    assert sleeps == [2.0]


def test_429_with_retry_after_http_date(sleeps, monkeypatch):
    monkeypatch.setattr("voice_usage._engine._retry.time.time", lambda: NOW)
    date = email.utils.formatdate(NOW + 7, usegmt=True)
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": date}), ok())
    session(transport, sleeps).get("/x")
    assert sleeps == [pytest.approx(7.0)]


def test_retry_after_over_the_cap_raises_at_once(sleeps):
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}), ok())
    with pytest.raises(RateLimitError) as info:
        session(transport, sleeps, max_retry_after=60).get("/x")
    assert len(seen) == 1
    assert sleeps == []
    assert info.value.retry_after == 3600
    assert info.value.status_code == 429


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504])
def test_retryable_statuses_back_off_exponentially(status, sleeps):
    transport, seen = scripted(
        httpx.Response(status), httpx.Response(status), httpx.Response(status), ok()
    )
    response = session(transport, sleeps, initial_delay=0.5, jitter=0.0, max_delay=8).get("/x")
    assert response.status_code == 200
    assert len(seen) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped_and_jitter_bounded(sleeps):
    transport, _ = scripted(*([httpx.Response(503)] * 6), ok())
    session(transport, sleeps, max_attempts=7, initial_delay=1, max_delay=4, jitter=0.5).get("/x")
    assert len(sleeps) == 6
    for delay, base in zip(sleeps, [1, 2, 4, 4, 4, 4], strict=True):
        assert base <= delay <= min(base + 0.5, 4)


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (404, NotFoundError), (422, UnprocessableEntityError)],
)
def test_client_errors_are_never_retried(status, error, sleeps):
    transport, seen = scripted(httpx.Response(status, json={"detail": "no"}), ok())
    with pytest.raises(error):
        session(transport, sleeps).get("/x")
    assert len(seen) == 1
    assert sleeps == []


def test_attempt_budget_is_bounded_and_the_error_says_what_was_tried(sleeps):
    transport, seen = scripted(httpx.Response(503, json={"detail": "down"}))
    with pytest.raises(ServerError) as info:
        session(transport, sleeps, max_attempts=3, jitter=0).get("/x")
    assert len(seen) == 3
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)
    assert str(info.value).startswith("fake: HTTP 503")


def test_wait_budget_stops_before_exceeding_total_wait(sleeps):
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "20"}))
    with pytest.raises(RateLimitError):
        session(transport, sleeps, max_attempts=10, max_wait_total=50).get("/x")
    assert sleeps == [20.0, 20.0]  # a third wait would take the total to 60 > 50
    assert len(seen) == 3


def test_transport_errors_are_retried_then_raised_typed(sleeps):
    transport, seen = scripted(httpx.ConnectError("refused"))
    with pytest.raises(TransportError, match=r"fake: could not connect .*after 3 attempts"):
        session(transport, sleeps, max_attempts=3, jitter=0).get("/x")
    assert len(seen) == 3


def test_read_timeout_then_success(sleeps):
    transport, seen = scripted(httpx.ReadTimeout("slow"), ok())
    assert session(transport, sleeps, jitter=0).get("/x").status_code == 200
    assert len(seen) == 2 and len(sleeps) == 1


def test_unsupported_protocol_is_not_retried():
    assert not is_retryable(TransportError("p", "x", retryable=False))
    assert is_retryable(TransportError("p", "x"))
    assert not is_retryable(ValueError("x"))
