"""When to retry, and how long to wait: configured as data, assembled by tenacity in one place.

Retried: transport errors (refused, reset, timeout, a body cut short) and the statuses in
`RETRYABLE_STATUSES` (408, 409, 429 and every 5xx). Never any other 4xx. A `Retry-After` header
(seconds or an HTTP date) is honoured as given, up to `RetryPolicy.max_retry_after`; a longer
one raises at once rather than stalling. Otherwise the wait is exponential with jitter. The budget
is bounded twice: in attempts, and in the total time spent waiting between them.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from voice_usage._exceptions import APIStatusError, TransportError

__all__ = [
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "build_async_retrying",
    "build_retrying",
    "is_retryable",
    "parse_retry_after",
    "retrying_options",
]

logger = logging.getLogger("voice_usage.http")

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Client statuses worth retrying; every status >= 500 is retried too."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up. The defaults suit vendor usage APIs."""

    max_attempts: int = 5
    """Requests at most, the first included."""
    max_wait_total: float = 60.0
    """Seconds that may be spent waiting between attempts, all retries together."""
    initial_delay: float = 0.5
    """First backoff delay in seconds when the vendor gives no `Retry-After`."""
    max_delay: float = 8.0
    """Cap of one backoff delay in seconds."""
    jitter: float = 0.5
    """Up to this many random seconds are added to a backoff delay."""
    max_retry_after: float = 60.0
    """A `Retry-After` longer than this raises at once instead of waiting."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date.

    Returns `None` when the header is absent or unreadable (then backoff applies).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed attempt is worth another: transient transport errors and retryable statuses."""
    if isinstance(exc, APIStatusError):
        return exc.status_code >= 500 or exc.status_code in RETRYABLE_STATUSES
    return isinstance(exc, TransportError) and exc.retryable


def _retry_after_of(state: RetryCallState) -> float | None:
    exc = state.outcome.exception() if state.outcome else None
    return getattr(exc, "retry_after", None)


class wait_retry_after:
    """Wait what `Retry-After` says (capped), else fall back to exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.cap = policy.max_retry_after
        self.fallback = wait_exponential_jitter(
            multiplier=policy.initial_delay, max=policy.max_delay, jitter=policy.jitter
        )

    def __call__(self, state: RetryCallState) -> float:
        retry_after = _retry_after_of(state)
        if retry_after is not None:
            return min(retry_after, self.cap)
        return float(self.fallback(state))


class stop_retry_after_over_cap(stop_base):
    """Stop at once when the vendor asks to wait longer than we are willing to."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __call__(self, state: RetryCallState) -> bool:
        retry_after = _retry_after_of(state)
        return retry_after is not None and retry_after > self.cap


class stop_wait_budget_spent(stop_base):
    """Stop when the next wait would take the total waiting past the budget.

    Counts the waits themselves (not the wall clock), so it behaves the same with an injected sleep.
    """

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def __call__(self, state: RetryCallState) -> bool:
        return state.idle_for + (state.upcoming_sleep or 0.0) > self.budget


def _log_retry(provider: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.debug(
            "%s: attempt %d failed (%s); retrying in %.2f s",
            provider,
            state.attempt_number,
            exc,
            state.upcoming_sleep,
        )

    return before_sleep


def retrying_options(policy: RetryPolicy, provider: str) -> dict[str, Any]:
    """The strategies of a retry loop, for `build_retrying` and `build_async_retrying`.

    They hold no state of their own (a loop keeps its attempts and waits), so a session builds
    them once and starts a loop per request with them.
    """
    return {
        "retry": retry_if_exception(is_retryable),
        "wait": wait_retry_after(policy),
        "stop": stop_any(
            stop_after_attempt(policy.max_attempts),
            stop_retry_after_over_cap(policy.max_retry_after),
            stop_wait_budget_spent(policy.max_wait_total),
        ),
        "before_sleep": _log_retry(provider),
        "reraise": True,
    }


def build_retrying(
    policy: RetryPolicy,
    provider: str,
    *,
    sleep: Callable[[float], None] | None = None,
    options: dict[str, Any] | None = None,
) -> Retrying:
    """The synchronous retry loop for one logical request (``options``: `retrying_options`)."""
    if options is None:
        options = retrying_options(policy, provider)
    return Retrying(sleep=sleep if sleep is not None else time.sleep, **options)


def build_async_retrying(
    policy: RetryPolicy,
    provider: str,
    *,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    options: dict[str, Any] | None = None,
) -> AsyncRetrying:
    """The asynchronous twin of `build_retrying`."""
    if options is None:
        options = retrying_options(policy, provider)
    if sleep is not None:
        return AsyncRetrying(sleep=sleep, **options)
    return AsyncRetrying(**options)
