"""The API key never leaks: not in output, logs, exceptions, written files or cassettes.

A recognizable fake key drives every command and every provider, under DEBUG logging, through
the success path and every error path (including a vendor that echoes the key back in an error
message or in a field of the wrong type). The key must appear nowhere: stdout, stderr, the log
records, a log file, exception text and attributes, tracebacks, exported files. The key is sent
only to the configured base URL's origin: a plain http:// base URL that is not loopback is
refused before any request, and a redirect to another origin is never followed with it.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

import voice_usage
from voice_usage import InsecureBaseURLError, Provider, RetryPolicy
from voice_usage._engine._fetch import Connection
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

SECRET = "vu-test-key-5f0c2d9e8a7b4c3d"
TODAY = date(2026, 10, 20)
ROOT = Path(__file__).resolve().parent.parent
QUICK = RetryPolicy(max_attempts=2, initial_delay=0.0, jitter=0.0)


# -- set-ups -------------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Any, EmulatorRequest], Any]:
    def rewrite(body: Any, request: EmulatorRequest) -> Any:
        target = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
        return body

    return rewrite


@dataclass(frozen=True)
class Setup:
    provider: Callable[[type[Provider]], Provider]
    emulator: Callable[[Provider], Emulator]
    window: tuple[str, str, str]
    """since, until, granularity."""
    echo_field: str
    """A numeric field of the first page, where an echoing vendor puts the key."""
    env: Callable[[str], dict[str, str]] = lambda key: {}
    """The provider's credential variables holding ``key`` (default: `<NAME>_API_KEY`)."""
    credentials: Callable[[str], dict[str, str]] = lambda key: {"api_key": key}
    """The connection's credentials holding ``key``."""


def _flireo_emulator(provider: Provider) -> Emulator:
    from voice_usage_flireo.emulator import FlireoEmulator

    return FlireoEmulator(SECRET, logs_per_day=30)


def _ultravox_emulator(provider: Provider) -> Emulator:
    from voice_usage_ultravox.emulator import UltravoxEmulator

    return UltravoxEmulator(SECRET, calls_per_day=(6, 6), today=TODAY)


def _twilio_emulator(provider: Provider) -> Emulator:
    from voice_usage_twilio.emulator import TwilioEmulator

    return TwilioEmulator(SECRET, calls_per_day=(6, 6))


TWILIO_SID = "AC0123456789abcdef0123456789abcdef"  # the emulator's placeholder account


def _retell_emulator(provider: Provider) -> Emulator:
    from voice_usage_retell.emulator import RetellEmulator

    return RetellEmulator(SECRET, calls_per_day=(6, 6), today=TODAY)


def _vapi_emulator(provider: Provider) -> Emulator:
    from voice_usage_vapi.emulator import VapiEmulator

    return VapiEmulator(SECRET, calls_per_day=(6, 6), today=TODAY)


SETUPS = {
    "flireo": Setup(
        lambda cls: cls(page_size=25),  # type: ignore[call-arg]
        _flireo_emulator,
        ("2026-10-01", "2026-10-02", "call"),
        "logs.0.duration_seconds",
    ),
    "ultravox": Setup(
        lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        _ultravox_emulator,
        ("2026-10-01", "2026-10-02", "call"),
        "results.0.billedDuration",
    ),
    "retell": Setup(
        lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        _retell_emulator,
        ("2026-10-01", "2026-10-02", "call"),
        "items.0.duration_ms",
    ),
    "vapi": Setup(
        lambda cls: cls(page_size=5),  # type: ignore[call-arg]
        _vapi_emulator,
        ("2026-10-01", "2026-10-02", "call"),
        "results.0.cost",
    ),
    "agentphone": Setup(
        lambda cls: cls(today=TODAY),  # type: ignore[call-arg]
        lambda provider: provider.emulator(SECRET),
        ("2026-10-05", "2026-10-12", "day"),
        "data.0.calls",
    ),
    "twilio": Setup(
        lambda cls: cls(page_size=4),  # type: ignore[call-arg]
        _twilio_emulator,
        ("2026-10-01", "2026-10-02", "call"),
        "usage_records.0.count",
        env=lambda key: {"TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": key},
        credentials=lambda key: {"account_sid": TWILIO_SID, "auth_token": key},
    ),
}


def credential_env(name: str, key: str) -> dict[str, str]:
    return SETUPS[name].env(key) or {f"{name.upper()}_API_KEY": key}


def carried(request: EmulatorRequest) -> bool:
    """Whether a request carried the key: plainly, or inside an HTTP Basic token."""
    for value in request.headers.values():
        if SECRET in value:
            return True
        scheme, _, token = value.partition(" ")
        if scheme == "Basic" and SECRET in base64.b64decode(token).decode():
            return True
    return False


PROVIDERS = [name for name in load_registry().names() if name in SETUPS]


def test_every_installed_provider_is_driven_here():
    registry = load_registry()
    implemented = [n for n in registry.names() if registry.get(n).capabilities.implemented]
    assert sorted(implemented) == sorted(PROVIDERS)


class Recorder(Emulator):
    """Another host: records every request, so a test can say the key never reached it."""

    def authorized(self, request: EmulatorRequest) -> bool:
        return True

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        return json_response({"ok": True})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


ECHO = {
    "error": {"code": f"bad_key_{SECRET}", "message": f"The key {SECRET} is not valid"},
    "message": f"Invalid API key {SECRET}",
    "detail": f"Invalid API key {SECRET}",
}

# name -> how to break the server (faults), and whether the fetch still succeeds
Breaker = Callable[[EmulatorServer, Setup, EmulatorServer], None]
BREAKERS: dict[str, Breaker] = {
    "ok": lambda server, setup, other: None,
    "401 echoing the key": lambda server, setup, other: server.faults.add(
        Fault(status=401, body=json.dumps(ECHO).encode()), None
    ),
    "402 echoing the key": lambda server, setup, other: server.faults.add(
        Fault(status=402, body=json.dumps(ECHO).encode()), None
    ),
    "422 field map echoing the key": lambda server, setup, other: server.faults.add(
        Fault(status=422, body=json.dumps({"apiKey": [f"{SECRET} is invalid"]}).encode()), None
    ),
    "429 over the cap": lambda server, setup, other: server.faults.add(
        Fault(status=429, headers={"Retry-After": "3600"}), None
    ),
    "503 forever": lambda server, setup, other: server.faults.add(Fault(status=503), None),
    "reset forever": lambda server, setup, other: server.faults.add(Fault(action="reset"), None),
    "read timeout": lambda server, setup, other: server.faults.add(
        Fault(action="hang", delay=0.6), None
    ),
    "html page": lambda server, setup, other: server.faults.add(Fault(action="html"), None),
    "key echoed in a misfit field": lambda server, setup, other: server.faults.add(
        Fault(action="rewrite", rewrite=_set(setup.echo_field, SECRET)), None
    ),
    "key echoed as a whole misfit body": lambda server, setup, other: server.faults.add(
        Fault(action="body", body=f'{{"error": "{SECRET}"'.encode()), None
    ),
    "redirect to another host": lambda server, setup, other: server.faults.add(
        Fault(action="redirect", location=f"{other.base_url}/collect"), None
    ),
}


@dataclass
class World:
    registry: Registry
    servers: dict[str, EmulatorServer]
    other: EmulatorServer
    log_file: Path
    connect: Callable[..., Connection]
    """Opens a connection that retries quickly and sleeps into `sleeps`."""

    @property
    def settings(self) -> Settings:
        """The command line's settings: these providers, these connections."""
        return Settings(load_registry=lambda: self.registry, connect=self.connect)

    def env(self, **override: str) -> dict[str, str]:
        env = {}
        for name, server in self.servers.items():
            env.update(credential_env(name, SECRET))
            env[f"{name.upper()}_BASE_URL"] = server.base_url
        env.update(override)
        return env


@pytest.fixture
def world(sleeps, tmp_path, caplog) -> Iterator[World]:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    installed = load_registry()
    registry = Registry()
    for name in PROVIDERS:
        info = installed.providers[name]
        registry.add(
            SETUPS[name].provider(type(info.provider.resolved())), info.distribution, info.version
        )

    def quick(*args: Any, **options: Any) -> Connection:
        options.setdefault("sleep", sleeps)
        options.setdefault("async_sleep", sleeps.asleep)
        options.setdefault("retry", QUICK)
        options.setdefault("timeout", httpx.Timeout(5.0))
        return Connection(*args, **options)

    servers = {
        name: EmulatorServer(SETUPS[name].emulator(registry.get(name))).start()
        for name in PROVIDERS
    }
    other = EmulatorServer(Recorder()).start()
    try:
        yield World(registry, servers, other, log_file, quick)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
        for server in [*servers.values(), other]:
            server.stop()


def assert_no_secret(*texts: str, files: tuple[Path, ...] = ()) -> None:
    for text in texts:
        assert SECRET not in text
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"the key is in {path}"


def exception_texts(exc: BaseException | None) -> list[str]:
    """Everything an exception shows or carries, its chain included."""
    texts = []
    while exc is not None:
        texts += [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
        texts += [repr(value) for value in vars(exc).values()]
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return texts


def invoke(world: World, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--debug", *args], env=env or world.env(), obj=world.settings)


BREAKER_PARAMS = [
    pytest.param(
        breaker,
        marks=pytest.mark.real_time("a real socket read timeout against a server that hangs"),
    )
    if breaker == "read timeout"
    else breaker
    for breaker in BREAKERS
]


def check_cli(world: World, result: Result, caplog: Any, tmp_path: Path) -> None:
    files = tuple(p for p in tmp_path.rglob("*") if p.is_file())
    assert world.log_file in files
    assert_no_secret(
        result.stdout,
        result.stderr,
        caplog.text,
        *exception_texts(result.exception),
        files=files,
    )
    for request in world.other.requests:  # nothing reaches another host, let alone the key
        raise AssertionError(f"a request reached another host: {request}")


# -- the library ---------------------------------------------------------------------------------


@pytest.mark.parametrize("breaker", BREAKER_PARAMS)
@pytest.mark.parametrize("name", PROVIDERS)
def test_the_library_never_shows_the_key(name, breaker, world, caplog, tmp_path):
    server = world.servers[name]
    setup = SETUPS[name]
    BREAKERS[breaker](server, setup, world.other)
    error: BaseException | None = None
    # Only the hang needs a short read timeout; the others keep a generous one.
    timeout = httpx.Timeout(0.2 if breaker == "read timeout" else 5.0)
    connection = world.connect(
        world.registry.get(name),
        credentials=setup.credentials(SECRET),
        base_url=server.base_url,
        timeout=timeout,
    )
    try:
        result = connection.fetch(*setup.window)
        records = result.to_list()
        assert_no_secret(repr(result), repr(result.warnings), *(repr(r) for r in records))
    except voice_usage.VoiceUsageError as exc:
        error = exc
    finally:
        connection.close()
    assert (error is None) == (breaker == "ok"), error
    if error is not None:
        assert isinstance(error, voice_usage.ProviderError) and error.provider == name
    assert_no_secret(
        repr(connection), caplog.text, *exception_texts(error), files=(world.log_file,)
    )
    assert world.other.requests == []
    assert "vu-test" not in caplog.text  # not even a prefix of the key
    if breaker == "ok":
        # The key did travel where it belongs: to the provider's own server.
        assert any(carried(r) for r in server.requests)


def test_connection_refused_never_shows_the_key(world, caplog):
    name = PROVIDERS[0]
    closed = f"http://127.0.0.1:{_closed_port()}"
    with (
        world.connect(world.registry.get(name), api_key=SECRET, base_url=closed) as connection,
        pytest.raises(voice_usage.TransportError) as caught,
    ):
        connection.fetch(*SETUPS[name].window).to_list()
    assert_no_secret(caplog.text, *exception_texts(caught.value))


def test_a_connection_and_its_sessions_hold_the_key_as_a_secret(world):
    name = PROVIDERS[0]
    with world.connect(world.registry.get(name), api_key=SECRET) as connection:
        session = connection._session()
        assert_no_secret(repr(connection), repr(session), str(vars(session)))


# -- the command line ----------------------------------------------------------------------------

CLI_BREAKERS = [
    "ok",
    "401 echoing the key",
    "503 forever",
    "key echoed in a misfit field",
    "redirect to another host",
]


@pytest.mark.parametrize("breaker", CLI_BREAKERS)
@pytest.mark.parametrize("name", PROVIDERS)
def test_fetch_and_balance_never_show_the_key(name, breaker, world, caplog, tmp_path):
    BREAKERS[breaker](world.servers[name], SETUPS[name], world.other)
    since, until, granularity = SETUPS[name].window
    fetched = invoke(
        world, "fetch", name, "--since", since, "--until", until, "--granularity", granularity
    )
    assert fetched.exit_code == (0 if breaker == "ok" else 1), fetched.output
    check_cli(world, fetched, caplog, tmp_path)
    balance = invoke(world, "balance", name, "--format", "json")
    check_cli(world, balance, caplog, tmp_path)


def test_a_one_line_error_never_shows_the_key(world, caplog):
    name = PROVIDERS[0]
    BREAKERS["401 echoing the key"](world.servers[name], SETUPS[name], world.other)
    since, until, granularity = SETUPS[name].window
    result = CliRunner().invoke(
        cli,
        ["fetch", name, "--since", since, "--until", until, "--granularity", granularity],
        env=world.env(),
        obj=world.settings,
    )
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"voice-usage: error: {name}: HTTP 401") and "***" in line
    assert_no_secret(result.stdout, result.stderr, caplog.text)


@pytest.mark.parametrize("breaker", ["ok", "401 echoing the key", "key echoed in a misfit field"])
def test_compare_reprice_and_export_never_show_the_key(breaker, world, caplog, tmp_path):
    failing = PROVIDERS[-1]
    BREAKERS[breaker](world.servers[failing], SETUPS[failing], world.other)
    window = ("--since", "2026-10-05", "--until", "2026-10-07")
    results = [
        invoke(world, "compare", *PROVIDERS, *window, "--format", "json"),
        invoke(world, "compare", *window, "--format", "csv"),
        invoke(world, "reprice", failing, "--to", ",".join(PROVIDERS), *window),
    ]
    for suffix in (".jsonl", ".csv", ".parquet"):
        output = tmp_path / f"export{suffix}"
        results.append(invoke(world, "export", failing, *window, "--output", str(output)))
    for result in results:
        assert result.exit_code == (0 if breaker == "ok" else 1), result.output
        check_cli(world, result, caplog, tmp_path)


def test_commands_without_requests_never_show_the_key(world, caplog, tmp_path):
    for args in (["providers", "--format", "json"], ["providers"], ["ratecards", "--all"]):
        result = invoke(world, *args)
        assert result.exit_code == 0, result.output
        check_cli(world, result, caplog, tmp_path)


def test_the_demo_never_shows_a_key_from_the_environment(world, caplog, tmp_path):
    result = invoke(world, "demo", "--days", "2")
    assert result.exit_code == 0, result.output
    check_cli(world, result, caplog, tmp_path)


def test_a_missing_key_error_names_the_variable_not_a_value(world):
    name = PROVIDERS[0]
    env = world.env(**{f"{name.upper()}_API_KEY": ""})
    result = CliRunner().invoke(
        cli, ["fetch", name, "--since", "2026-10-01", "--until", "2026-10-02"], env=env
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"voice-usage: error: {name}: no API key; set {name.upper()}_API_KEY or pass api_key="
    )


# -- where the key may go ------------------------------------------------------------------------

INSECURE = [
    "http://api.example.com/v1",
    "http://10.0.0.5:8080",
    "http://192.168.1.20",
    "http://0.0.0.0:8000",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "http://127.0.0.1@api.example.com",
    "http://[::ffff:a00:5]",
    "ftp://api.example.com",
    "api.example.com",
]


@pytest.mark.parametrize("url", INSECURE)
@pytest.mark.parametrize("name", PROVIDERS)
def test_a_base_url_the_key_could_leak_through_is_refused(name, url):
    with pytest.raises(InsecureBaseURLError, match=name) as caught:
        voice_usage.connect(name, credentials=SETUPS[name].credentials(SECRET), base_url=url)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_cli_refuses_an_insecure_base_url_from_the_environment(name):
    env = {
        **credential_env(name, SECRET),
        f"{name.upper()}_BASE_URL": "http://usage.example.com",
    }
    result = CliRunner().invoke(
        cli, ["fetch", name, "--since", "2026-10-01", "--until", "2026-10-02"], env=env
    )
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"voice-usage: error: {name}: refusing plain http:// base URL")
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:9000/api", "http://[::1]:7000"]
)
def test_plain_http_to_loopback_is_allowed(url):
    name = PROVIDERS[0]
    connection = voice_usage.connect(name, api_key=SECRET, base_url=url)
    connection.close()
    assert connection.base_url == url


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_cross_origin_redirect_never_carries_the_key(name, world):
    server = world.servers[name]
    # Same machine, another port: another origin all the same.
    server.faults.add(Fault(action="redirect", location=f"{world.other.base_url}/steal"))
    with (
        voice_usage.connect(
            world.registry.get(name),
            credentials=SETUPS[name].credentials(SECRET),
            base_url=server.base_url,
        ) as connection,
        pytest.raises(voice_usage.UnsafeRedirectError),
    ):
        connection.fetch(*SETUPS[name].window).to_list()
    assert world.other.requests == []
    # One request per endpoint read (Twilio reads two at once), none repeated after the refusal.
    paths = [request.path for request in server.requests]
    assert len(paths) == len(set(paths)) and len(paths) <= 2


# -- cassettes ------------------------------------------------------------------------------------

CASSETTES = sorted((ROOT / "cassettes").rglob("*.yaml"))
CREDENTIAL_HEADERS = {"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization"}
PLACEHOLDER = ("<", "REDACTED", "***", "PLACEHOLDER", "test-key", "placeholder")


def test_there_are_cassettes_to_scan():
    assert len(CASSETTES) >= 10


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_cassette_holds_no_credential(path):
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    data = yaml.safe_load(text)
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        for name, values in (request.get("headers") or {}).items():
            if name.lower() in CREDENTIAL_HEADERS:
                for value in values if isinstance(values, list) else [values]:
                    assert any(mark in str(value) for mark in PLACEHOLDER), (
                        f"{path.name}: request header {name} holds a real-looking value"
                    )
        url = httpx.URL(request["uri"])
        for key in url.params:
            assert not any(word in key.lower() for word in ("key", "token", "secret", "password"))
        for name in response.get("headers") or {}:
            assert name.lower() != "set-cookie", f"{path.name}: a response sets a cookie"


def test_recording_filters_every_providers_key_header(vcr_config):
    filtered = {h.lower() for h in vcr_config["filter_headers"]}
    for name in load_registry().names():
        for header in load_registry().get(name).auth.header_names:
            assert header.lower() in filtered, f"{name}'s {header} would be recorded"
