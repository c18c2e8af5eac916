"""Fault injection: every provider against its emulator over loopback, under every fault.

For each fault the outcome is one of two, and it is asserted: the fetch is retried and returns the
complete, correct answer (its totals checked against the emulator's own figures, and the records
equal to a fault-free fetch), or it raises a named, typed error that says which provider failed
and, for a bad body, which field. Never a silently partial, zeroed or double-counted result.

Nothing really sleeps: retries wait through the recorded `sleeps`. Read timeouts use a short
session timeout against a short server hang, so the suite stays fast.

docs/reliability.md lists these faults; every row there names a test here (checked by
tests/test_reliability.py).
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    FetchResult,
    PaginationError,
    Provider,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    TransportError,
    UnsafeRedirectError,
    UsageRecord,
    load_registry,
)
from voice_usage.emulator import (
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    EmulatorServer,
    Fault,
    json_response,
)

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
TODAY = date(2026, 10, 20)
POLICY = RetryPolicy()
"""The default budget: every test below runs under it."""
FAST_TIMEOUT = httpx.Timeout(0.5)
"""Short enough to keep the suite quick, long enough for any answer of a loaded machine."""
HANG = 3.0
"""A hang the client must not wait out (the server thread sleeps in the background)."""
REAL_TIMEOUT = pytest.mark.real_time("a real socket read timeout against a server that hangs")


# -- what each provider is tested with ---------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Totals of a fetch, as the records sum them or as the emulator's own data has them."""

    calls: int
    duration_seconds: Decimal | None
    cost: Decimal | None

    @classmethod
    def of(cls, records: list[UsageRecord]) -> Figures:
        durations = [r.duration_seconds for r in records if r.duration_seconds is not None]
        costs = [r.cost for r in records if r.cost is not None]
        return cls(
            calls=sum(r.calls or 0 for r in records),
            duration_seconds=sum(durations, Decimal(0)) if durations else None,
            cost=sum(costs, Decimal(0)) if costs else None,
        )


@dataclass(frozen=True)
class Breakage:
    """A body of the wrong shape: the real answer with one change, and the field to blame."""

    kind: str
    change: Callable[[Any], None]
    field: str
    query: dict[str, str] | None = None
    """Another query than the scenario's (for a field that only another endpoint has)."""


@dataclass(frozen=True)
class Scenario:
    """How one provider is faulted: its set-up, one query, and the emulator's own figures."""

    make: Callable[[type[Provider]], Provider]
    emulator: Callable[[Provider], Emulator]
    query: dict[str, str]
    path: str
    """The endpoint the query reads (faults aimed at it)."""
    expected: Callable[[Any], Figures]
    """Totals computed from the emulator's data, not from the provider's output."""
    paging: str | None
    """`offset`, `cursor` or `None`: what a later page means for this endpoint."""
    breakages: tuple[Breakage, ...] = field(default_factory=tuple)
    walk_path: str | None = None
    """The endpoint as parse errors name it, when it differs from `path` (Twilio's walks say
    `{account_sid}` where the request has the SID)."""
    method: str = "GET"
    """How the endpoint is read (`POST` for a search that takes a JSON body)."""


def _flireo_emulator(provider: Provider) -> Emulator:
    from voice_usage_flireo.emulator import FlireoEmulator

    return FlireoEmulator(KEY, logs_per_day=60)


def _flireo_expected(emulator: Any) -> Figures:
    # The emulator's own summary of [2026-10-01, 2026-10-02): its end_date is inclusive.
    totals = emulator.totals("2026-10-01T00:00:00Z", "2026-10-01T23:59:59.999Z")
    return Figures(totals["calls"], Decimal(totals["seconds"]), totals["cost"])


def _ultravox_emulator(provider: Provider) -> Emulator:
    from voice_usage_ultravox.emulator import UltravoxEmulator

    return UltravoxEmulator(KEY, calls_per_day=(12, 12), today=TODAY)


def _ultravox_expected(emulator: Any) -> Figures:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    calls = emulator.calls_between(start, start + timedelta(days=1, microseconds=-1))
    talk = sum((c.talk_seconds for c in calls), Decimal(0))  # ended - joined, exact
    billed = sum((c.charged_seconds for c in calls), Decimal(0))  # billed calls only
    # SIP minutes are a line item of each call's cost, USD 0.005 a minute, to a millionth.
    sip = sum(
        (
            (c.sip_billed_seconds / 60 * Decimal("0.005")).quantize(Decimal("0.000001"))
            for c in calls
            if c.sip_billed_seconds is not None
        ),
        Decimal(0),
    )
    return Figures(len(calls), talk, billed / 60 * Decimal("0.05") + sip)  # USD 0.05 a minute


def _twilio_emulator(provider: Provider) -> Emulator:
    from voice_usage_twilio.emulator import TwilioEmulator

    return TwilioEmulator(KEY, calls_per_day=(12, 12))


TWILIO_CALLS = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json"


def _twilio_expected(emulator: Any) -> Figures:
    calls = emulator.calls_on(date(2026, 10, 1))
    seconds = sum(c.seconds or 0 for c in calls)  # a failed leg without a duration had none
    return Figures(len(calls), Decimal(seconds), sum((c.charge for c in calls), Decimal(0)))


def _retell_emulator(provider: Provider) -> Emulator:
    from voice_usage_retell.emulator import RetellEmulator

    return RetellEmulator(KEY, calls_per_day=(12, 12), today=TODAY)


def _retell_expected(emulator: Any) -> Figures:
    start = 1_790_812_800_000  # 2026-10-01T00:00:00Z in ms
    calls = emulator.calls_between(start, start + 86_400_000 - 1)
    seconds = sum((Decimal(c.duration_ms) / 1000 for c in calls), Decimal(0))
    cents = sum((c.combined_cents for c in calls if c.has_cost), Decimal(0))  # exact cents
    return Figures(len(calls), seconds, cents / 100)


def _vapi_emulator(provider: Provider) -> Emulator:
    from voice_usage_vapi.emulator import VapiEmulator

    return VapiEmulator(KEY, calls_per_day=(12, 12), today=TODAY)


def _vapi_expected(emulator: Any) -> Figures:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    totals = emulator.totals(start, start + timedelta(days=1))  # ended calls, Vapi's own costs
    return Figures(totals["calls"], totals["seconds"], totals["cost"])


def _agentphone_expected(emulator: Any) -> Figures:
    return Figures(emulator.days(date(2026, 10, 5), date(2026, 10, 12)).calls, None, None)


def _set(path: str, value: Any) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        *parents, last = path.split(".")
        for part in parents:
            body = body[int(part)] if part.isdigit() else body[part]
        body[last] = value

    return change


def _drop(path: str) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        *parents, last = path.split(".")
        for part in parents:
            body = body[int(part)] if part.isdigit() else body[part]
        del body[last]

    return change


CALL_QUERY = {"since": "2026-10-01", "until": "2026-10-02", "granularity": "call"}

SCENARIOS: dict[str, Scenario] = {
    "flireo": Scenario(
        make=lambda cls: cls(page_size=25),  # type: ignore[call-arg]
        emulator=_flireo_emulator,
        query=CALL_QUERY,  # 60 logs: pages at offsets 0, 25, 50
        path="/usage",
        expected=_flireo_expected,
        paging="offset",
        breakages=(
            Breakage("missing field", _drop("logs.0.created_at"), "logs.0.created_at"),
            Breakage(
                "wrong type", _set("logs.0.duration_seconds", "twelve"), "logs.0.duration_seconds"
            ),
            Breakage("null number", _set("pagination.total", None), "pagination.total"),
        ),
    ),
    "ultravox": Scenario(
        make=lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        emulator=_ultravox_emulator,
        query=CALL_QUERY,  # 12 calls: 3 cursor pages
        path="/api/calls",
        expected=_ultravox_expected,
        paging="cursor",
        breakages=(
            Breakage("missing field", _drop("results.0.callId"), "results.0.callId"),
            Breakage(
                "wrong type", _set("results.0.billedDuration", 12), "results.0.billedDuration"
            ),
            Breakage(
                "null number",
                _set("daily.0.billedMinutes", None),
                "daily.0.billedMinutes",
                query={"since": "2026-10-01", "until": "2026-10-03", "granularity": "day"},
            ),
        ),
    ),
    "twilio": Scenario(
        make=lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        emulator=_twilio_emulator,
        # Not whole days: the Calls list alone (whole days add a Usage Records walk beside it).
        query={"since": "2026-10-01", "until": "2026-10-01T23:59:59Z", "granularity": "call"},
        path=TWILIO_CALLS,  # 12 legs: 3 pages by next_page_uri
        walk_path="/2010-04-01/Accounts/{account_sid}/Calls.json",
        expected=_twilio_expected,
        paging="cursor",
        breakages=(
            Breakage("missing field", _drop("calls.0.sid"), "calls.0.sid"),
            Breakage("wrong type", _set("calls.0.duration", "twelve"), "calls.0.duration"),
            Breakage("null number", _set("calls.0.account_sid", None), "calls.0.account_sid"),
        ),
    ),
    "retell": Scenario(
        make=lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        emulator=_retell_emulator,
        query=CALL_QUERY,  # 12 calls: 3 pages linked by pagination_key
        path="/v3/list-calls",
        expected=_retell_expected,
        paging="cursor",
        method="POST",
        breakages=(
            Breakage("missing field", _drop("items.0.call_id"), "items.0.call_id"),
            Breakage("wrong type", _set("items.0.duration_ms", "12"), "items.0.duration_ms"),
            Breakage(
                "null number", _set("items.0.start_timestamp", 1.5), "items.0.start_timestamp"
            ),
        ),
    ),
    "vapi": Scenario(
        make=lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        emulator=_vapi_emulator,
        query=CALL_QUERY,  # 12 calls: pages 1, 2 and 3 of /v2/call
        path="/v2/call",
        expected=_vapi_expected,
        paging="cursor",
        breakages=(
            Breakage("missing field", _drop("results.0.createdAt"), "results.0.createdAt"),
            Breakage("wrong type", _set("results.0.cost", "0.12"), "results.0.cost"),
            Breakage("null number", _set("metadata.totalItems", None), "metadata.totalItems"),
        ),
    ),
    "agentphone": Scenario(
        make=lambda cls: cls(today=TODAY),  # type: ignore[call-arg]
        emulator=lambda provider: provider.emulator(KEY),
        query={"since": "2026-10-05", "until": "2026-10-12", "granularity": "day"},
        path="/v1/usage/daily",
        expected=_agentphone_expected,
        paging=None,
        breakages=(
            Breakage("missing field", _drop("data.0.calls"), "data.0.calls"),
            Breakage("wrong type", _set("data.0.calls", "3"), "data.0.calls"),
            Breakage("null number", _set("data.0.messages", None), "data.0.messages"),
        ),
    ),
}

INSTALLED = load_registry().names()
PROVIDERS = [name for name in INSTALLED if name in SCENARIOS]
PAGED = [name for name in PROVIDERS if SCENARIOS[name].paging is not None]


def test_every_installed_provider_with_an_emulator_has_a_fault_scenario():
    registry = load_registry()
    missing = [
        name
        for name in registry.names()
        if registry.get(name).capabilities.implemented
        and registry.get(name).emulator(KEY) is not None
        and name not in SCENARIOS
    ]
    assert missing == [], f"add a fault scenario to tests/test_faults.py for {missing}"


# -- running one scenario ----------------------------------------------------------------------


@dataclass
class Run:
    """A scenario set up: its provider, emulator and server."""

    name: str
    scenario: Scenario
    provider: Provider
    emulator: Any
    server: EmulatorServer

    def connect(self, sleeps: Any, **options: Any) -> voice_usage.Connection:
        return voice_usage.connect(
            self.provider,
            credentials=self.emulator.credentials,
            base_url=options.pop("base_url", self.server.base_url),
            sleep=sleeps,
            async_sleep=sleeps.asleep,
            **options,
        )

    def fetch(
        self, sleeps: Any, query: dict[str, str] | None = None, **options: Any
    ) -> tuple[list[UsageRecord], FetchResult]:
        with self.connect(sleeps, **options) as connection:
            result = connection.fetch(**(query or self.scenario.query))
            with result:
                return result.to_list(), result

    def requests_to(self, path: str | None = None) -> list[EmulatorRequest]:
        wanted = path or self.scenario.path
        return [r for r in self.server.requests if r.path == wanted]

    def normal_answer(self, request: EmulatorRequest) -> Any:
        """What the emulator answers ``request`` without faults, decoded."""
        return json.loads(self.emulator.handle(request).body)


def _setup(name: str) -> tuple[Scenario, Provider, Any]:
    scenario = SCENARIOS[name]
    provider = scenario.make(type(load_registry().get(name)))
    return scenario, provider, scenario.emulator(provider)


@pytest.fixture(params=PROVIDERS)
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    name = request.param
    scenario, provider, emulator = _setup(name)
    with EmulatorServer(emulator) as server:
        yield Run(name, scenario, provider, emulator, server)


@pytest.fixture(params=PAGED)
def paged(request: pytest.FixtureRequest) -> Iterator[Run]:
    name = request.param
    scenario, provider, emulator = _setup(name)
    with EmulatorServer(emulator) as server:
        yield Run(name, scenario, provider, emulator, server)


class _NoSleep:
    def __call__(self, seconds: float) -> None:
        raise AssertionError("the baseline fetch must not wait")

    async def asleep(self, seconds: float) -> None:
        raise AssertionError("the baseline fetch must not wait")


@cache
def baseline(name: str) -> tuple[tuple[UsageRecord, ...], int]:
    """A fault-free fetch from a fresh emulator: its records and how many requests it made."""
    scenario, provider, emulator = _setup(name)
    with EmulatorServer(emulator) as server:
        run = Run(name, scenario, provider, emulator, server)
        records, result = run.fetch(_NoSleep())
        assert result.report.reconciled and not result.warnings
        return tuple(records), len(server.requests)


def assert_complete(run: Run, records: list[UsageRecord], result: FetchResult) -> None:
    """The complete, correct answer: the emulator's own totals, the fault-free records."""
    assert Figures.of(records) == run.scenario.expected(run.emulator)
    assert tuple(records) == baseline(run.name)[0]
    assert result.report.reconciled, result.warnings
    assert result.report.dropped_duplicates == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Recorder(Emulator):
    """Another host: records what reaches it and answers nothing useful."""

    def authorized(self, request: EmulatorRequest) -> bool:
        return True

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        return json_response({"stolen": True})


# -- the emulators' own figures are what a fault-free fetch returns ----------------------------


def test_a_fault_free_fetch_matches_the_emulators_own_figures(run, sleeps):
    records, result = run.fetch(sleeps)
    assert_complete(run, records, result)
    assert sleeps == []


# -- 429 with Retry-After ----------------------------------------------------------------------


def test_429_with_retry_after_seconds_twice_then_the_complete_result(run, sleeps):
    run.server.faults.add(
        Fault(status=429, headers={"Retry-After": "1"}, path=run.scenario.path), 2
    )
    records, result = run.fetch(sleeps)
    assert_complete(run, records, result)
    assert sleeps == [1.0, 1.0]
    assert sleeps.total >= 2
    assert len(run.server.requests) == baseline(run.name)[1] + 2


def test_429_with_retry_after_as_an_http_date(run, sleeps):
    when = email.utils.formatdate(time.time() + 5, usegmt=True)  # whole seconds: 4 < wait <= 5
    run.server.faults.add(Fault(status=429, headers={"Retry-After": when}, path=run.scenario.path))
    records, result = run.fetch(sleeps)
    assert_complete(run, records, result)
    assert len(sleeps) == 1 and 3.0 < sleeps[0] <= 5.0


def test_429_with_a_retry_after_over_the_cap_fails_at_once_naming_the_wait(run, sleeps):
    run.server.faults.add(Fault(status=429, headers={"Retry-After": "3600"}), None)
    with pytest.raises(voice_usage.RateLimitError) as caught:
        run.fetch(sleeps)
    error = caught.value
    assert error.provider == run.name and error.retry_after == 3600
    assert str(error).startswith(f"{run.name}: HTTP 429 rate limited")
    assert "asked to wait 3600 s, over the 60 s this client waits at most" in str(error)
    assert sleeps == [] and len(run.server.requests) == 1


def test_429_forever_gives_up_within_the_wait_budget(run, sleeps):
    run.server.faults.add(
        Fault(status=429, headers={"Retry-After": "20"}, path=run.scenario.path), None
    )
    with pytest.raises(voice_usage.RateLimitError) as caught:
        run.fetch(sleeps)
    # 20 s a wait: a fourth wait would take the total past the 60 s budget.
    assert sleeps == [20.0, 20.0, 20.0]
    assert sleeps.total <= POLICY.max_wait_total
    assert caught.value.attempts == 4
    method = run.scenario.method
    assert f"{method} {run.scenario.path}: gave up after 4 attempts and 60.0 s of waiting" in str(
        caught.value
    )


# -- 5xx ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("times", [1, 2], ids=["once", "twice"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_then_the_complete_result(run, sleeps, status, times):
    run.server.faults.add(Fault(status=status, path=run.scenario.path), times)
    records, result = run.fetch(sleeps)
    assert_complete(run, records, result)
    assert len(sleeps) == times
    for attempt, wait in enumerate(sleeps):  # exponential backoff with bounded jitter
        base = POLICY.initial_delay * 2**attempt
        assert base <= wait <= min(base + POLICY.jitter, POLICY.max_delay)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_forever_raise_after_the_attempt_budget(run, sleeps, status):
    run.server.faults.add(Fault(status=status), None)
    with pytest.raises(ServerError) as caught:
        run.fetch(sleeps)
    error = caught.value
    assert error.provider == run.name and error.status_code == status
    assert error.attempts == POLICY.max_attempts
    assert error.endpoint == run.scenario.path and error.waited == pytest.approx(sleeps.total)
    # The message says what was tried: where, how often, how long it waited.
    method = run.scenario.method
    assert (
        f"({method} {run.scenario.path}: gave up after {POLICY.max_attempts} attempts and "
        in str(error)
    )
    assert str(error).startswith(f"{run.name}: HTTP {status} server error")
    assert len(run.server.requests) == POLICY.max_attempts
    assert len(sleeps) == POLICY.max_attempts - 1
    assert sleeps.total <= POLICY.max_wait_total


# -- the connection ----------------------------------------------------------------------------


def test_connection_reset_twice_then_the_complete_result(run, sleeps):
    run.server.faults.add(Fault(action="reset", path=run.scenario.path), 2)
    records, result = run.fetch(sleeps)
    assert_complete(run, records, result)
    assert len(sleeps) == 2


def test_connection_reset_forever_is_a_transport_error(run, sleeps):
    run.server.faults.add(Fault(action="reset"), None)
    with pytest.raises(TransportError) as caught:
        run.fetch(sleeps)
    assert caught.value.provider == run.name
    assert caught.value.attempts == POLICY.max_attempts
    assert str(caught.value).startswith(f"{run.name}: ")
    assert len(run.server.requests) == POLICY.max_attempts


def test_connection_refused_is_a_transport_error_after_the_budget(run, sleeps):
    closed = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with pytest.raises(TransportError, match=f"could not connect to {closed}") as caught:
        run.fetch(sleeps, base_url=closed)
    assert caught.value.provider == run.name
    assert caught.value.attempts == POLICY.max_attempts
    assert len(sleeps) == POLICY.max_attempts - 1
    assert time.monotonic() - started < 5


@REAL_TIMEOUT
def test_a_read_timeout_is_retried_then_the_complete_result(run, sleeps):
    run.server.faults.add(Fault(action="hang", delay=HANG, path=run.scenario.path))
    started = time.monotonic()
    records, result = run.fetch(sleeps, timeout=FAST_TIMEOUT)
    assert_complete(run, records, result)
    assert len(sleeps) >= 1 and run.server.faults.pending == 0
    assert time.monotonic() - started < HANG  # the client gave up on the hang, it did not wait


@REAL_TIMEOUT
def test_a_read_timeout_forever_is_a_transport_error(run, sleeps):
    run.server.faults.add(Fault(action="hang", delay=0.5), None)
    started = time.monotonic()
    with pytest.raises(TransportError, match="timed out") as caught:
        run.fetch(sleeps, timeout=httpx.Timeout(0.1))
    assert caught.value.attempts == POLICY.max_attempts
    assert time.monotonic() - started < POLICY.max_attempts * 0.5


def test_a_body_cut_short_is_retried_then_the_complete_result(run, sleeps):
    run.server.faults.add(Fault(action="truncate", path=run.scenario.path))
    records, result = run.fetch(sleeps)
    assert_complete(run, records, result)
    assert len(sleeps) == 1


def test_a_body_cut_short_forever_is_a_transport_error(run, sleeps):
    run.server.faults.add(Fault(action="truncate"), None)
    with pytest.raises(TransportError) as caught:
        run.fetch(sleeps)
    # A reset mid-body reads as a network error, a clean close as a body cut short.
    assert "cut short" in str(caught.value) or "ReadError" in str(caught.value)
    assert caught.value.attempts == POLICY.max_attempts


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=503),
        Fault(action="reset"),
        Fault(action="truncate"),
        Fault(status=429, headers={"Retry-After": "1"}),
    ],
    ids=["503", "reset", "truncated", "429"],
)
def test_transient_faults_on_the_sequential_path(run, sleeps, fault):
    run.server.faults.add(dataclasses.replace(fault, path=run.scenario.path))
    records, result = run.fetch(sleeps, concurrency=1)
    assert_complete(run, records, result)
    assert len(sleeps) == 1


@REAL_TIMEOUT
def test_a_read_timeout_on_the_sequential_path(run, sleeps):
    run.server.faults.add(Fault(action="hang", delay=HANG, path=run.scenario.path))
    started = time.monotonic()
    records, result = run.fetch(sleeps, concurrency=1, timeout=FAST_TIMEOUT)
    assert_complete(run, records, result)
    assert time.monotonic() - started < HANG


# -- bodies that are not what the vendor documents ----------------------------------------------


def test_an_html_error_page_with_status_200_is_a_response_validation_error(run, sleeps):
    run.server.faults.add(Fault(action="html", path=run.scenario.path))
    with pytest.raises(ResponseValidationError, match="expected JSON, got text/html") as caught:
        run.fetch(sleeps)
    assert caught.value.provider == run.name
    shown = run.scenario.walk_path or run.scenario.path
    assert str(caught.value).startswith(f"{run.name}: unexpected response from {shown}")
    assert len(run.server.requests) == 1  # a page that is not the API is not retried


def test_an_empty_body_with_status_200_is_a_response_validation_error(run, sleeps):
    run.server.faults.add(Fault(action="body", body=b"", path=run.scenario.path))
    with pytest.raises(ResponseValidationError, match="expected JSON") as caught:
        run.fetch(sleeps)
    assert caught.value.provider == run.name


def _breakages() -> list[Any]:
    return [
        pytest.param(name, index, id=f"{name}-{breakage.kind.replace(' ', '-')}")
        for name in PROVIDERS
        for index, breakage in enumerate(SCENARIOS[name].breakages)
    ]


@pytest.mark.parametrize(("name", "index"), _breakages())
def test_json_of_the_wrong_shape_names_the_provider_and_the_field(name, index, sleeps):
    scenario, provider, emulator = _setup(name)
    breakage = scenario.breakages[index]

    def rewrite(body: Any, request: EmulatorRequest) -> Any:
        breakage.change(body)
        return body

    with EmulatorServer(emulator) as server:
        server.faults.add(Fault(action="rewrite", rewrite=rewrite))
        run = Run(name, scenario, provider, emulator, server)
        with pytest.raises(ResponseValidationError) as caught:
            run.fetch(sleeps, query=breakage.query)
        assert len(server.requests) == 1  # a misfit body is not retried
    error = caught.value
    assert error.provider == name
    assert error.field == breakage.field
    assert f"field {breakage.field!r}" in str(error)
    assert str(error).startswith(f"{name}: unexpected response from ")


# -- pages that do not add up ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Fault(status=503), Fault(action="reset"), Fault(action="truncate")],
    ids=["503", "reset", "truncated"],
)
def test_a_fault_on_a_later_page_is_retried_then_the_complete_result(paged, sleeps, fault):
    paged.server.faults.add(dataclasses.replace(fault, path=paged.scenario.path, after=1))
    records, result = paged.fetch(sleeps)
    assert_complete(paged, records, result)
    assert len(sleeps) == 1
    assert len(paged.server.requests) == baseline(paged.name)[1] + 1


def test_a_redirect_to_another_host_is_refused_and_the_key_never_sent(run, sleeps):
    with EmulatorServer(Recorder()) as other:
        location = f"{other.base_url}{run.scenario.path}"
        run.server.faults.add(Fault(action="redirect", location=location))
        with pytest.raises(UnsafeRedirectError, match="refusing to send the API key") as caught:
            run.fetch(sleeps)
        assert other.requests == []
    assert caught.value.provider == run.name
    assert KEY not in str(caught.value)
    assert len(run.server.requests) == 1  # not retried either


def test_a_redirect_to_another_host_on_a_later_page_is_refused(paged, sleeps):
    with EmulatorServer(Recorder()) as other:
        location = f"{other.base_url}{paged.scenario.path}"
        paged.server.faults.add(Fault(action="redirect", location=location, after=1))
        with pytest.raises(UnsafeRedirectError):
            paged.fetch(sleeps)
        assert other.requests == []


# Offset paging (Flireo `/usage`): limit/offset pages and a `pagination.total`.

flireo_only = pytest.mark.skipif("flireo" not in PROVIDERS, reason="flireo is not installed")


@pytest.fixture
def flireo() -> Iterator[Run]:
    scenario, provider, emulator = _setup("flireo")
    with EmulatorServer(emulator) as server:
        yield Run("flireo", scenario, provider, emulator, server)


def _previous_page(run: Run, request: EmulatorRequest) -> Any:
    offset = int(request.param("offset") or 0)
    earlier = dataclasses.replace(request, query={**request.query, "offset": [str(offset - 25)]})
    return run.normal_answer(earlier)


@flireo_only
def test_an_empty_page_mid_walk_is_a_pagination_error(flireo, sleeps):
    def empty(body: Any, request: EmulatorRequest) -> Any:
        body["logs"] = []
        return body

    flireo.server.faults.add(Fault(action="rewrite", rewrite=empty, query={"offset": "25"}))
    with pytest.raises(PaginationError, match="offset 25 has 0 items, expected 25") as caught:
        flireo.fetch(sleeps)
    assert caught.value.provider == "flireo"
    assert "refusing to return a partial result" in str(caught.value)


@flireo_only
def test_a_total_that_changes_during_the_walk_is_a_pagination_error(flireo, sleeps):
    def grown(body: Any, request: EmulatorRequest) -> Any:
        body["pagination"]["total"] += 1
        return body

    flireo.server.faults.add(Fault(action="rewrite", rewrite=grown, query={"offset": "50"}))
    with pytest.raises(PaginationError, match="total changed from 60 to 61"):
        flireo.fetch(sleeps)


@flireo_only
def test_the_same_record_on_two_pages_is_counted_once(flireo, sleeps):
    # Page 2 repeats page 1's last log ahead of its own 25: a log written while paging.
    def repeated(body: Any, request: EmulatorRequest) -> Any:
        body["logs"].insert(0, _previous_page(flireo, request)["logs"][-1])
        return body

    flireo.server.faults.add(Fault(action="rewrite", rewrite=repeated, query={"offset": "25"}))
    records, result = flireo.fetch(sleeps)
    assert Figures.of(records) == flireo.scenario.expected(flireo.emulator)
    assert tuple(records) == baseline("flireo")[0]
    assert len({r.call_id for r in records}) == len(records) == 60
    assert result.report.dropped_duplicates == 1
    assert result.report.reconciled
    assert any("dropped 1 usage log(s) repeated across pages" in w for w in result.warnings)


@flireo_only
def test_a_record_shifted_onto_the_next_page_is_reported_not_double_counted(flireo, sleeps):
    # Page 2's first log is replaced by page 1's last: one repeated, one lost, total unchanged.
    def shifted(body: Any, request: EmulatorRequest) -> Any:
        body["logs"][0] = _previous_page(flireo, request)["logs"][-1]
        return body

    flireo.server.faults.add(Fault(action="rewrite", rewrite=shifted, query={"offset": "25"}))
    records, result = flireo.fetch(sleeps)
    expected = flireo.scenario.expected(flireo.emulator)
    assert len({r.extras["log_id"] for r in records}) == len(records) == expected.calls - 1
    assert result.report.dropped_duplicates == 1
    assert not result.report.reconciled  # the vendor's summary disagrees, and it says so
    assert any(
        "calls: vendor reported 60, records sum to 59 (MISMATCH)" in w for w in result.warnings
    )


# Cursor paging (Ultravox `/api/calls`): absolute `next` links.

ultravox_only = pytest.mark.skipif("ultravox" not in PROVIDERS, reason="ultravox is not installed")


@pytest.fixture
def ultravox() -> Iterator[Run]:
    scenario, provider, emulator = _setup("ultravox")
    with EmulatorServer(emulator) as server:
        yield Run("ultravox", scenario, provider, emulator, server)


@ultravox_only
def test_a_cursor_that_repeats_is_a_pagination_error(ultravox, sleeps):
    def loop(body: Any, request: EmulatorRequest) -> Any:
        query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
        body["next"] = f"{request.origin}{request.path}?{query}"  # back to this very page
        return body

    ultravox.server.faults.add(Fault(action="rewrite", rewrite=loop, after=1))
    with pytest.raises(PaginationError, match="the cursor repeats") as caught:
        ultravox.fetch(sleeps)
    assert caught.value.provider == "ultravox"
    assert len(ultravox.server.requests) == 2  # stopped at once, no loop


@ultravox_only
def test_a_next_link_to_another_host_is_refused(ultravox, sleeps):
    with EmulatorServer(Recorder()) as other:

        def elsewhere(body: Any, request: EmulatorRequest) -> Any:
            body["next"] = body["next"].replace(request.origin, other.base_url)
            return body

        ultravox.server.faults.add(Fault(action="rewrite", rewrite=elsewhere))
        with pytest.raises(UnsafeRedirectError, match="refusing to send the API key"):
            ultravox.fetch(sleeps)
        assert other.requests == []


@ultravox_only
def test_an_empty_cursor_page_mid_walk_is_reported(ultravox, sleeps):
    # An empty page that still links on: the walk goes on, and the list's total exposes the gap.
    def empty(body: Any, request: EmulatorRequest) -> Any:
        body["results"] = []
        return body

    ultravox.server.faults.add(Fault(action="rewrite", rewrite=empty, after=1))
    records, result = ultravox.fetch(sleeps)
    assert len(records) == 12 - 5
    assert not result.report.reconciled
    assert any("vendor reported 12, records sum to 7 (MISMATCH)" in w for w in result.warnings)


@ultravox_only
def test_a_call_repeated_on_the_next_cursor_page_is_counted_once(ultravox, sleeps):
    first: list[Any] = []

    def remember(body: Any, request: EmulatorRequest) -> Any:
        first.append(body["results"][-1])
        return body

    def repeat(body: Any, request: EmulatorRequest) -> Any:
        body["results"].insert(0, first[0])
        return body

    ultravox.server.faults.add(Fault(action="rewrite", rewrite=remember))
    ultravox.server.faults.add(Fault(action="rewrite", rewrite=repeat))
    records, result = ultravox.fetch(sleeps)
    assert Figures.of(records) == ultravox.scenario.expected(ultravox.emulator)
    assert tuple(records) == baseline("ultravox")[0]
    assert result.report.reconciled  # 12 listed, 12 distinct calls
    assert result.report.dropped_duplicates == 1
    assert any(f"call {first[0]['callId']} listed twice across pages" in w for w in result.warnings)
