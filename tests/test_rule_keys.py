"""Rule 1: a key never appears in any output.

A key pasted with a trailing space or newline, or read from a CRLF file, is the same key: it is
stripped when read. A key with a control or non-ASCII character inside is refused in one line
that names where it came from and never shows it. Every transport error is redacted, and so is a
vendor's echo of the key in another letter case or a long start of it.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import voice_usage
from voice_usage import ConfigurationError, TransportError
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage.testing import FakeProvider

KEY = "sk_SECRETKEY_123456"
NO_RETRY = voice_usage.RetryPolicy(max_attempts=1)


def _flireo_emulator(key: str) -> EmulatorServer:
    from voice_usage_flireo import FlireoEmulator

    return EmulatorServer(FlireoEmulator(api_key=key, rate_limit=None, logs_per_day=3))


def _fetch(handler: Callable[[httpx.Request], httpx.Response]) -> list[voice_usage.UsageRecord]:
    connection = voice_usage.connect(
        FakeProvider(),
        api_key=KEY,
        transport=httpx.MockTransport(handler),
        concurrency=1,
        retry=NO_RETRY,
    )
    return connection.fetch("2026-10-01", "2026-10-02", "call").to_list()


@pytest.mark.parametrize("padding", [" ", "\t", "\n", "\r\n", " \r\n\t"])
def test_rule1_key_never_shown_a_key_with_surrounding_whitespace_is_stripped(padding):
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        return httpx.Response(200, json={"calls": [], "total": 0})

    connection = voice_usage.connect(
        FakeProvider(),
        api_key=f"{padding}{KEY}{padding}",
        transport=httpx.MockTransport(handler),
        concurrency=1,
    )
    assert connection.fetch("2026-10-01", "2026-10-02", "call").to_list() == []
    assert sent == [f"Bearer {KEY}"]


@pytest.mark.parametrize("padding", [" ", "\r\n"])
def test_rule1_key_never_shown_a_padded_key_from_the_environment_works_on_the_command_line(
    padding,
):
    with _flireo_emulator(KEY) as server:
        env = {"FLIREO_API_KEY": f"{KEY}{padding}", "FLIREO_BASE_URL": server.base_url}
        args = ["compare", "flireo", "--since", "2026-11-01", "--until", "2026-11-02"]
        result = CliRunner().invoke(cli, [*args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert KEY not in result.stdout + result.stderr
    assert json.loads(result.stdout)["errors"] == []


@pytest.mark.parametrize("inner", ["\x00", "\x1b", "\r", "\n", "\t", "é", "€"])
def test_rule1_key_never_shown_a_key_with_an_inner_control_character_is_refused(inner):
    key = KEY[:6] + inner + KEY[6:]
    with pytest.raises(ConfigurationError) as info:
        voice_usage.connect(FakeProvider(), api_key=key)
    message = str(info.value)
    assert message.startswith("fake: the API key from api_key= holds a control or non-ASCII")
    assert "\n" not in message
    assert KEY[:6] not in message and KEY[6:] not in message


def test_rule1_key_never_shown_a_refused_key_names_the_variable_in_one_line():
    env = {"FLIREO_API_KEY": f"{KEY[:4]}\x01{KEY[4:]}", "FLIREO_BASE_URL": "http://127.0.0.1:9"}
    result = CliRunner().invoke(cli, ["balance", "flireo"], env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "voice-usage: error: flireo: the API key from FLIREO_API_KEY holds a control or "
        "non-ASCII character (at position 5 of 20); copy it again\n"
    )


def test_rule1_key_never_shown_a_transport_error_quoting_the_header_is_redacted():
    # httpx refuses a header it cannot send with the header's value in its message.
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(f"Illegal header value b'Bearer {KEY}\\r\\n'")

    with pytest.raises(TransportError) as info:
        _fetch(handler)
    texts = [str(info.value), repr(info.value), repr(info.value.args), info.value.detail]
    assert all(KEY not in text for text in texts)
    assert "Illegal header value b'***" in str(info.value)  # the header, key and all


def test_rule1_key_never_shown_an_echo_in_another_case_or_a_long_start_is_redacted():
    echo = f"key {KEY.upper()} is invalid; also {KEY[:8]}... and {KEY.lower()}"

    def handler(request: httpx.Request) -> httpx.Response:
        # A start shorter than 8 characters is too common to be the key's: it stays.
        return httpx.Response(401, json={"error": "unauthorized", "message": f"{echo} sk_SECR"})

    with pytest.raises(voice_usage.AuthenticationError) as info:
        _fetch(handler)
    assert info.value.vendor_message == "key *** is invalid; also ***... and *** sk_SECR"
    shown = [str(info.value), repr(info.value.args), json.dumps(info.value.body)]
    for text in shown:
        assert KEY[:8].lower() not in text.lower()


# -- the property: generated keys, every command --------------------------------------------------

_CORE = st.text(string.ascii_letters + string.digits, min_size=12, max_size=40).map(
    lambda s: f"sk_{s}"
)
_SPACE = st.text(" \t\r\n\x0b\x0c", max_size=4)  # an environment holds no NUL
_INNER = st.sampled_from(["", "", "\x01", "\x07", "\x1b", "\r\n", "\x7f", "é"])


@settings(max_examples=15)
@given(core=_CORE, before=_SPACE, after=_SPACE, inner=_INNER, at=st.integers(1, 10))
def test_rule1_key_never_shown_for_any_generated_key_in_any_command(core, before, after, inner, at):
    key = before + core[:at] + inner + core[at:] + after
    with _flireo_emulator(core) as server:
        # The vendor echoes whatever key it got, upper-cased, in its 401 for /organizations.
        echo = Fault(
            status=401,
            body=json.dumps({"error": {"code": "bad", "message": core.upper()}}).encode(),
            path="/organizations",
        )
        server.faults.add(echo, None)
        env = {"FLIREO_API_KEY": key, "FLIREO_BASE_URL": server.base_url}
        window = ["--since", "2026-11-01", "--until", "2026-11-02"]
        runs = [
            ["fetch", "flireo", *window, "--granularity", "call", "--format", "csv"],
            ["balance", "flireo"],
            ["compare", "flireo", *window, "--format", "json"],
        ]
        results = [CliRunner().invoke(cli, args, env=env) for args in runs]
    for result in results:
        output = (result.stdout + result.stderr).lower()
        assert core[:8].lower() not in output and core.lower() not in output
        assert "traceback" not in output
        if inner:
            assert result.exit_code == 2
            assert len(result.stderr.splitlines()) == 1
    if not inner:
        assert [r.exit_code for r in results] == [0, 1, 0]
