"""Shared fixtures: cassette layout and scrubbing, recorded sleeps, the placeholder key, emulators
served over loopback, and a guard that fails a test that really sleeps."""

from __future__ import annotations

import os

# Every record a provider builds with UsageRecord.trusted() is fully validated in the tests.
os.environ["VOICE_USAGE_STRICT_RECORDS"] = "1"

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import voice_usage
from voice_usage._engine import _http
from voice_usage._engine._rate_gate import _RESET_MARGIN
from voice_usage.emulator import Emulator, EmulatorServer

# Shared, noisy machines: no per-example deadline, and slow data generation is not a failure.
settings.register_profile(
    "voice-usage", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("voice-usage")

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"

FAKE_KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
"""A recognizable placeholder key: tests assert it never leaks anywhere."""


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    # Replay-only by default (pytest-recording's record mode "none"); never set record_mode here.
    return {
        "filter_headers": ["authorization", "x-api-key", "cookie"],
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query"],
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    # Cassettes live at the repository root, one folder per test module.
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


class Sleeps(list[float]):
    """Records the delays a component asked to sleep, instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)

    @property
    def total(self) -> float:
        return sum(self)


@pytest.fixture
def sleeps() -> Iterator[Sleeps]:
    yield Sleeps()


@pytest.fixture
def fake_key() -> str:
    """The placeholder key every emulator in the suite is served with."""
    return FAKE_KEY


@pytest.fixture
def serve() -> Iterator[Callable[[Emulator], EmulatorServer]]:
    """Serves emulators on loopback for one test: ``server = serve(FlireoEmulator(fake_key))``.

    Every server started is stopped when the test ends, failed or not.
    """
    servers: list[EmulatorServer] = []

    def start(emulator: Emulator) -> EmulatorServer:
        server = EmulatorServer(emulator).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def server(emulator: Emulator, serve: Callable[[Emulator], EmulatorServer]) -> EmulatorServer:
    """The module's `emulator` fixture, served on loopback for one test."""
    return serve(emulator)


def credentials_env(server: EmulatorServer) -> dict[str, str]:
    """The environment the CLI reads a served emulator's provider from.

    Each credential the emulator lets in goes to `<NAME>_<CREDENTIAL>` (`FLIREO_API_KEY`,
    `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN`), and the server's address to `<NAME>_BASE_URL`.
    """
    prefix = server.emulator.name.upper()
    env = {f"{prefix}_{name.upper()}": value for name, value in server.emulator.credentials.items()}
    env[f"{prefix}_BASE_URL"] = server.base_url
    return env


@pytest.fixture
def env_for() -> Callable[..., dict[str, str]]:
    """``env_for(*servers)``: the CLI's environment for served emulators (see `credentials_env`)."""

    def merged(*servers: EmulatorServer) -> dict[str, str]:
        return {name: value for s in servers for name, value in credentials_env(s).items()}

    return merged


@pytest.fixture
def cli_run(env_for: Callable[..., dict[str, str]]) -> Callable[..., Any]:
    """``cli_run(server, *args, env=..., settings=...)``: the CLI, in process, reading the served
    emulator's provider (``server`` may be `None`); exceptions are raised, not caught."""
    from click.testing import CliRunner

    from voice_usage.cli import cli

    def run(
        server: EmulatorServer | None,
        *args: str,
        env: dict[str, str] | None = None,
        settings: Any = None,
    ) -> Any:
        served = env_for(server) if server is not None else {}
        return CliRunner().invoke(
            cli, list(args), env={**served, **(env or {})}, obj=settings, catch_exceptions=False
        )

    return run


@pytest.fixture
def open_connection(
    fake_key: str, sleeps: Sleeps
) -> Iterator[Callable[..., voice_usage.Connection]]:
    """``open_connection(provider, **options)``: `voice_usage.connect` with the placeholder key
    (unless ``credentials`` are given) and the recorded sleeps; closed when the test ends."""
    opened: list[voice_usage.Connection] = []

    def open_(provider: Any, **options: Any) -> voice_usage.Connection:
        if "credentials" not in options:
            options.setdefault("api_key", fake_key)
        options.setdefault("sleep", sleeps)
        options.setdefault("async_sleep", sleeps.asleep)
        connection = voice_usage.connect(provider, **options)
        opened.append(connection)
        return connection

    yield open_
    for connection in opened:
        connection.close()


REAL_SLEEP_LIMIT = 0.01
"""Seconds a test may really sleep in one call (a yield to other threads, a short poll) unmarked."""


@pytest.fixture(autouse=True)
def no_real_sleep(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fails a test in which anything (an emulator thread included) really sleeps longer than
    `REAL_SLEEP_LIMIT`: waits go through the injected `sleeps` seam instead.

    A test that must spend real time (a real socket timeout against a server that hangs) says so
    with ``@pytest.mark.real_time("why")``.
    """
    if request.node.get_closest_marker("real_time") is not None:
        yield
        return
    slept: list[tuple[str, float]] = []
    real_sleep, real_async_sleep = time.sleep, asyncio.sleep
    # A thread an earlier test left behind (an emulator still dripping a body) is not this test's.
    earlier = set(threading.enumerate()) - {threading.current_thread()}

    def note(seconds: float) -> None:
        thread = threading.current_thread()
        if seconds > REAL_SLEEP_LIMIT and thread not in earlier:
            slept.append((thread.name, seconds))

    def by_design(caller: str, seconds: float) -> bool:
        # `subprocess` polls a child it waits for with a timeout: waiting, not a sleep to guard.
        # The rate gate holds a request that falls just past a server window's reset until the
        # new window surely opens (at most its reset margin): pacing by the clock, not a retry.
        return caller == "subprocess" or (caller == _http.__name__ and seconds <= _RESET_MARGIN)

    def sleep(seconds: float) -> None:
        if not by_design(sys._getframe(1).f_globals.get("__name__", ""), seconds):
            note(seconds)
        real_sleep(seconds)

    async def async_sleep(delay: float, result: Any = None) -> Any:
        if not by_design(sys._getframe(1).f_globals.get("__name__", ""), delay):
            note(delay)
        return await real_async_sleep(delay, result)

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(asyncio, "sleep", async_sleep)
    yield
    if slept:
        calls = ", ".join(f"{seconds:g} s in {thread}" for thread, seconds in slept[:5])
        pytest.fail(
            f"really slept {len(slept)} time(s): {calls}; inject `sleeps`, or mark the test "
            "@pytest.mark.real_time with the reason",
            pytrace=False,
        )
