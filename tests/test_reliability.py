"""Reliability end to end: the command line under faults, bounded failure, explicit partial results.

The fault suite (tests/test_faults.py) drives the library; this module drives the `voice-usage`
command the way a person or a cron job does, against the same emulators over loopback:

- 429 with `Retry-After: 1` twice, then the data: the complete result, after >= 2 s of waiting;
- 503 forever: exit 1 with one line on stderr, within the documented retry budget;
- a redirect to another host: refused, the other host never sees a request (nor the key);
- a provider or a page failing: what is missing is said, and nothing partial passes for complete;
- no request can hang: every client has finite timeouts and a deadline for the whole response.

It also checks that every row of the table in docs/reliability.md names a test that exists.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

import voice_usage
from voice_usage import (
    Provider,
    RetryPolicy,
    ServerError,
    TransportError,
    compare,
)
from voice_usage._engine._constants import DEFAULT_REQUEST_DEADLINE
from voice_usage._engine._fetch import Connection
from voice_usage._engine._http import AsyncSession, Session
from voice_usage._engine._plugins import Registry, load_registry
from voice_usage.cli import Settings, cli
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
ROOT = Path(__file__).resolve().parent.parent
POLICY = RetryPolicy()


def documented_wait_bound(policy: RetryPolicy) -> float:
    """The most a default fetch waits before giving up on a status that never clears.

    Backoff wait n (from 1) is at most min(initial * 2**(n-1) + jitter, max_delay); there are
    max_attempts - 1 of them, and never more than max_wait_total in all.
    """
    waits = [
        min(policy.initial_delay * 2**n + policy.jitter, policy.max_delay)
        for n in range(policy.max_attempts - 1)
    ]
    return min(sum(waits), policy.max_wait_total)


def test_the_documented_default_budget():
    # docs/reliability.md states these figures: keep them in step with RetryPolicy.
    assert (POLICY.max_attempts, POLICY.max_wait_total) == (5, 60.0)
    assert documented_wait_bound(POLICY) == 9.5  # 1 + 1.5 + 2.5 + 4.5
    docs = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert "5 attempts" in docs and "9.5 s" in docs and "60 s" in docs


# -- the set-ups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    provider: Callable[[type[Provider]], Provider]
    emulator: Callable[[Provider], Emulator]
    args: tuple[str, ...]
    """`--since`, `--until` and `--granularity` values."""
    path: str


def _flireo_emulator(provider: Provider) -> Emulator:
    from voice_usage_flireo.emulator import FlireoEmulator

    return FlireoEmulator(KEY, logs_per_day=60)


def _ultravox_emulator(provider: Provider) -> Emulator:
    from voice_usage_ultravox.emulator import UltravoxEmulator

    return UltravoxEmulator(KEY, calls_per_day=(12, 12), today=TODAY)


CALLS = ("--since", "2026-10-01", "--until", "2026-10-02", "--granularity", "call")
SETUPS = {
    "flireo": Setup(
        lambda cls: cls(page_size=25),  # type: ignore[call-arg]
        _flireo_emulator,
        CALLS,
        "/usage",
    ),
    "ultravox": Setup(
        lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        _ultravox_emulator,
        CALLS,
        "/api/calls",
    ),
    "agentphone": Setup(
        lambda cls: cls(today=TODAY),  # type: ignore[call-arg]
        lambda provider: provider.emulator(KEY),
        ("--since", "2026-10-05", "--until", "2026-10-12", "--granularity", "day"),
        "/v1/usage/daily",
    ),
}
PROVIDERS = [name for name in load_registry().names() if name in SETUPS]


@pytest.fixture
def registry() -> Registry:
    """The installed providers, set up for small pages."""
    installed = load_registry()
    chosen = Registry()
    for name in PROVIDERS:
        info = installed.providers[name]
        chosen.add(
            SETUPS[name].provider(type(info.provider.resolved())), info.distribution, info.version
        )
    return chosen


@pytest.fixture
def settings(registry: Registry, sleeps: Any) -> Settings:
    """The command line's settings: those providers, and every connection sleeps into `sleeps`."""
    return Settings(
        load_registry=lambda: registry,
        connect=functools.partial(Connection, sleep=sleeps, async_sleep=sleeps.asleep),
    )


@pytest.fixture
def servers(registry: Registry) -> Iterator[dict[str, EmulatorServer]]:
    started = {}
    try:
        for name in PROVIDERS:
            server = EmulatorServer(SETUPS[name].emulator(registry.get(name))).start()
            started[name] = server
        yield started
    finally:
        for server in started.values():
            server.stop()


def env_for(servers: dict[str, EmulatorServer]) -> dict[str, str]:
    env = {}
    for name, server in servers.items():
        env[f"{name.upper()}_API_KEY"] = KEY
        env[f"{name.upper()}_BASE_URL"] = server.base_url
    return env


def invoke(*args: str, env: dict[str, str], obj: Settings) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False, obj=obj)


def fetch_json(name: str, servers: dict[str, EmulatorServer], obj: Settings) -> Result:
    return invoke(
        "fetch", name, *SETUPS[name].args, "--format", "json", env=env_for(servers), obj=obj
    )


def fault_free_records(name: str, registry: Registry, obj: Settings) -> list[dict[str, Any]]:
    emulator = SETUPS[name].emulator(registry.get(name))
    with EmulatorServer(emulator) as server:
        result = fetch_json(name, {name: server}, obj)
    assert result.exit_code == 0, result.stderr
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


class Recorder(Emulator):
    """Another host: anything that reaches it is recorded."""

    def authorized(self, request: EmulatorRequest) -> bool:
        return True

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        return json_response({"stolen": True})


# -- must show: 429 twice, then the data ---------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_fetch_after_429_twice_returns_the_complete_result_after_2_s(
    name, registry, servers, sleeps, settings
):
    expected = fault_free_records(name, registry, settings)
    server = servers[name]
    server.faults.add(Fault(status=429, headers={"Retry-After": "1"}), times=2)
    result = fetch_json(name, servers, settings)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected  # every record, none twice
    assert sleeps == [1.0, 1.0] and sleeps.total >= 2.0
    assert [r.path for r in server.requests[:3]] == [SETUPS[name].path] * 3


# -- must show: 503 forever exits 1 within the documented budget ----------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_fetch_against_503_forever_exits_1_within_the_retry_budget(
    name, registry, servers, sleeps, settings
):
    server = servers[name]
    server.faults.add(Fault(status=503), times=None)
    started = time.monotonic()
    result = invoke("fetch", name, *SETUPS[name].args, env=env_for(servers), obj=settings)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"voice-usage: error: {name}: HTTP 503 server error")
    assert f"(GET {SETUPS[name].path}: gave up after {POLICY.max_attempts} attempts and " in line
    assert len(server.requests) == POLICY.max_attempts
    assert len(sleeps) == POLICY.max_attempts - 1
    assert sleeps.total <= documented_wait_bound(POLICY) <= POLICY.max_wait_total
    assert f"{sleeps.total:.1f} s of waiting" in line
    assert elapsed < 5  # nothing really slept; the budget is in the recorded waits


def test_the_wait_budget_caps_long_retry_afters(registry, servers, sleeps, settings):
    name = PROVIDERS[0]
    servers[name].faults.add(Fault(status=429, headers={"Retry-After": "45"}), times=None)
    result = invoke("fetch", name, *SETUPS[name].args, env=env_for(servers), obj=settings)
    assert result.exit_code == 1
    assert sleeps == [45.0]  # a second 45 s wait would pass the 60 s budget
    assert "gave up after 2 attempts and 45.0 s of waiting" in result.stderr


# -- must show: a cross-host redirect does not deliver the key ------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_cross_host_redirect_does_not_deliver_the_key(name, registry, servers, sleeps, settings):
    with EmulatorServer(Recorder()) as other:
        location = f"{other.base_url}{SETUPS[name].path}"
        servers[name].faults.add(Fault(action="redirect", location=location), times=None)
        result = CliRunner().invoke(
            cli, ["--debug", "fetch", name, *SETUPS[name].args], env=env_for(servers), obj=settings
        )
        assert other.requests == []
    assert result.exit_code == 1
    assert isinstance(result.exception, voice_usage.UnsafeRedirectError)
    assert "refusing to send the API key" in str(result.exception)
    assert KEY not in result.stdout + result.stderr + str(result.exception)


def test_a_redirect_to_the_same_host_is_followed_with_the_key(registry, servers, sleeps, settings):
    name = PROVIDERS[0]
    server = servers[name]
    path = SETUPS[name].path
    expected = fault_free_records(name, registry, settings)
    server.faults.add(Fault(action="redirect", location=f"{server.base_url}{path}", path=path))
    result = fetch_json(name, servers, settings)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected


# -- partial results are explicit ----------------------------------------------------------------


def _compare_options(servers: dict[str, EmulatorServer]) -> dict[str, dict[str, Any]]:
    return {name: {"api_key": KEY, "base_url": server.base_url} for name, server in servers.items()}


def test_compare_carries_the_provider_it_could_not_fetch(registry, servers, sleeps):
    failing = PROVIDERS[-1]
    servers[failing].faults.add(Fault(status=503), times=None)
    window = {"since": "2026-10-05", "until": "2026-10-07"}
    comparison = compare(
        PROVIDERS,
        **window,
        registry=registry,
        connect_options=_compare_options(servers),
        sleep=sleeps,
        async_sleep=sleeps.asleep,
    )
    assert not comparison.ok
    (failure,) = comparison.errors
    assert (failure.provider, failure.error) == (failing, "ServerError")
    assert failure.message.startswith(f"{failing}: HTTP 503 server error")
    assert f"gave up after {POLICY.max_attempts} attempts" in failure.message
    assert sorted(row.provider for row in comparison.rows) == sorted(set(PROVIDERS) - {failing})
    # The rows it has are complete: the same as a comparison of those providers alone.
    for server in servers.values():
        server.faults.clear()
    alone = compare(
        [p for p in PROVIDERS if p != failing],
        **window,
        registry=registry,
        connect_options=_compare_options(servers),
    )
    assert alone.ok
    assert [r.to_json() for r in comparison.rows] == [r.to_json() for r in alone.rows]
    data = comparison.to_json()
    assert data["errors"] == [failure.to_json()]


def test_compare_cli_prints_the_rows_it_has_and_exits_1(registry, servers, sleeps, settings):
    failing = PROVIDERS[-1]
    servers[failing].faults.add(Fault(status=503), times=None)
    result = invoke(
        "compare",
        *PROVIDERS,
        "--since",
        "2026-10-05",
        "--until",
        "2026-10-07",
        "--format",
        "json",
        env=env_for(servers),
        obj=settings,
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [e["provider"] for e in data["errors"]] == [failing]
    assert failing not in {row["provider"] for row in data["rows"]}
    assert f"voice-usage: error: {failing}: HTTP 503" in result.stderr


@pytest.mark.parametrize("name", [p for p in ("flireo", "ultravox") if p in PROVIDERS])
def test_a_fetch_failing_mid_walk_never_returns_a_partial_list(name, registry, servers, sleeps):
    faults = servers[name].faults
    later_pages_fail = Fault(status=503, path=SETUPS[name].path, after=1)
    since, until, granularity = SETUPS[name].args[1::2]
    with voice_usage.connect(
        registry.get(name),
        api_key=KEY,
        base_url=servers[name].base_url,
        sleep=sleeps,
        async_sleep=sleeps.asleep,
    ) as connection:
        faults.add(later_pages_fail, times=None)
        with pytest.raises(ServerError):
            connection.fetch(since, until, granularity).to_list()
        # Streaming: the records of the first page arrive, then the error, never a clean end.
        faults.clear()
        faults.add(later_pages_fail, times=None)
        streamed = []
        with pytest.raises(ServerError):
            for record in connection.fetch(since, until, granularity):
                streamed.append(record)
        assert streamed  # a caller streaming must finish the iteration to have the answer


@pytest.mark.parametrize(
    ("output_format", "looks_complete"),
    [("table", False), ("json", False), ("jsonl", True), ("csv", True)],
)
def test_a_cli_fetch_failing_mid_walk_exits_1(
    output_format, looks_complete, registry, servers, sleeps, settings
):
    name = "flireo" if "flireo" in PROVIDERS else PROVIDERS[0]
    servers[name].faults.add(Fault(status=503, path=SETUPS[name].path, after=1), times=None)
    result = invoke(
        "fetch",
        name,
        *SETUPS[name].args,
        "--format",
        output_format,
        env=env_for(servers),
        obj=settings,
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(f"voice-usage: error: {name}: HTTP 503")
    if output_format == "table":
        assert result.stdout == ""  # the table is printed only once the fetch completed
    if output_format == "json":
        with pytest.raises(json.JSONDecodeError):  # an unclosed array: it cannot pass for whole
            json.loads(result.stdout)
    if looks_complete:
        # Streamed lines stay streamed: only the exit status (and stderr) tells they stop short.
        assert result.stdout


def test_reprice_of_a_failed_fetch_prints_nothing(registry, servers, sleeps, settings):
    name = PROVIDERS[0]
    servers[name].faults.add(Fault(status=503), times=None)
    result = invoke(
        "reprice",
        name,
        "--to",
        ",".join(PROVIDERS),
        *SETUPS[name].args[:4],
        env=env_for(servers),
        obj=settings,
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"voice-usage: error: {name}: HTTP 503")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_an_export_that_fails_leaves_no_partial_file(
    suffix, registry, servers, sleeps, tmp_path, settings
):
    name = "flireo" if "flireo" in PROVIDERS else PROVIDERS[0]
    servers[name].faults.add(Fault(status=503, path=SETUPS[name].path, after=1), times=None)
    output = tmp_path / f"usage{suffix}"
    result = invoke(
        "export",
        name,
        *SETUPS[name].args[:4],
        "--output",
        str(output),
        env=env_for(servers),
        obj=settings,
    )
    assert result.exit_code == 1
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []  # nor the partial file it was writing


# -- no request can hang -------------------------------------------------------------------------


def test_every_client_has_finite_timeouts_and_a_deadline():
    provider = load_registry().get(PROVIDERS[0])
    sync, concurrent = Session(provider, api_key=KEY), AsyncSession(provider, api_key=KEY)
    try:
        for client, session in ((sync._client, sync), (concurrent._client, concurrent)):
            timeout = client.timeout
            for phase in (timeout.connect, timeout.read, timeout.write, timeout.pool):
                assert phase is not None and 0 < phase <= 60
            assert session.deadline == DEFAULT_REQUEST_DEADLINE <= 300
            assert client.follow_redirects is False  # redirects are checked by hand
    finally:
        sync.close()
        asyncio.run(concurrent.aclose())


@pytest.mark.real_time("the request deadline is wall-clock time against a body that drips")
@pytest.mark.parametrize("concurrency", [1, 8], ids=["sequential", "concurrent"])
def test_a_body_that_drips_forever_stops_at_the_request_deadline(
    concurrency, registry, servers, sleeps
):
    name = PROVIDERS[0]
    servers[name].faults.add(Fault(action="drip", delay=0.02), times=None)
    started = time.monotonic()
    with (
        voice_usage.connect(
            registry.get(name),
            api_key=KEY,
            base_url=servers[name].base_url,
            retry=RetryPolicy(max_attempts=2),
            timeout=httpx.Timeout(1.0),  # every byte comes well within the read timeout
            deadline=0.3,
            concurrency=concurrency,
            sleep=sleeps,
            async_sleep=sleeps.asleep,
        ) as connection,
        pytest.raises(TransportError, match=r"took over 0\.3 s") as caught,
    ):
        since, until, granularity = SETUPS[name].args[1::2]
        connection.fetch(since, until, granularity).to_list()
    assert caught.value.attempts == 2
    assert time.monotonic() - started < 3


# -- the table in docs/reliability.md ------------------------------------------------------------


@functools.cache
def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_row_of_the_reliability_table_names_a_test_that_exists():
    docs = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    rows = [
        line
        for line in docs.splitlines()
        if line.startswith("|") and not re.match(r"^\|\s*(-+|Fault|What)", line)
    ]
    assert len(rows) >= 30
    for row in rows:
        references = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", row)
        assert references, f"a row of docs/reliability.md names no test: {row}"
        for path, name in references:
            assert name in _test_names(ROOT / path), f"{path}::{name} does not exist ({row})"
