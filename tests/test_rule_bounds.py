"""Rule 6: inputs are bounded.

A response body past its limit is refused while it is read, once (a retry would read it again),
with one line naming the provider; a rate-card file past its limit (or `/dev/zero`) is refused
with one line naming the file; a price past any plausible one names the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import voice_usage
from voice_usage import ResponseValidationError
from voice_usage.cli import cli
from voice_usage.testing import FakeProvider

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
ROOT = Path(__file__).resolve().parent.parent
LIMIT = 4096
PAGE = b'{"calls": [], "total": 0, "padding": "' + b"x" * LIMIT + b'"}'

CARD = """\
[[rate]]
provider = "ultravox"
item = "call"
price_per_minute = "{price}"
currency = "USD"
increment_seconds = 6
effective_from = 2025-01-01
source = "https://example.com/contract"
checked = 2026-11-01
covers = ["platform"]
"""


def _fetch(transport: httpx.MockTransport, concurrency: int) -> list[voice_usage.UsageRecord]:
    connection = voice_usage.connect(
        FakeProvider(),
        api_key=KEY,
        transport=transport,
        concurrency=concurrency,
        max_response_bytes=LIMIT,
    )
    return connection.fetch("2026-10-01", "2026-10-02", "call").to_list()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_rule6_inputs_bounded_a_body_over_the_limit_is_refused_once_naming_the_provider(
    concurrency,
):
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=PAGE)

    with pytest.raises(ResponseValidationError) as info:
        _fetch(httpx.MockTransport(handler), concurrency)
    assert str(info.value) == (
        "fake: the response from fake.invalid/v1/calls is over 4096 bytes, the most one "
        "response may hold; refused before reading the rest"
    )
    assert len(requests) == 1  # not retried: a retry would read the same body again


def test_rule6_inputs_bounded_a_body_without_a_length_stops_at_the_limit():
    read: list[int] = []

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # far past the limit; the reader must stop early
            read.append(1)
            yield b" " * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    with pytest.raises(ResponseValidationError, match="over 4096 bytes"):
        _fetch(httpx.MockTransport(handler), 1)
    assert len(read) <= LIMIT // 1024 + 1


def test_rule6_inputs_bounded_a_body_within_the_limit_is_read():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"calls": [], "total": 0})

    assert _fetch(httpx.MockTransport(handler), 1) == []


@pytest.mark.parametrize("announced", [32 * 2**20, 32 * 2**20 + 1])
def test_rule6_inputs_bounded_the_documented_response_limit_is_the_default(announced):
    docs = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert "**32 MiB**" in docs and "**1 MiB**" in docs

    def handler(request: httpx.Request) -> httpx.Response:
        body = b'{"calls": [], "total": 0}'
        return httpx.Response(200, content=body, headers={"Content-Length": str(announced)})

    connection = voice_usage.connect(
        FakeProvider(), api_key=KEY, transport=httpx.MockTransport(handler), concurrency=1
    )
    fetch = connection.fetch("2026-10-01", "2026-10-02", "call")
    if announced > 32 * 2**20:  # refused on the announced length, before reading
        with pytest.raises(ResponseValidationError, match="is over 32 MiB"):
            fetch.to_list()
    else:
        assert fetch.to_list() == []


def test_rule6_inputs_bounded_a_rate_card_file_over_the_limit_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 2**20 + "\n" + CARD.format(price="0.01"), encoding="utf-8")
    for env in [{"VOICE_USAGE_RATECARDS": "/dev/zero"}, {"VOICE_USAGE_RATECARDS": str(big)}]:
        result = CliRunner().invoke(cli, ["ratecards"], env=env)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == (
            f"voice-usage: error: rate-card file {env['VOICE_USAGE_RATECARDS']} is over "
            "1024 KiB, the most a rate-card file may hold\n"
        )


def test_rule6_inputs_bounded_a_rate_card_file_that_is_not_text_is_named(tmp_path):
    card = tmp_path / "latin1.toml"
    card.write_bytes(CARD.format(price="0.01").encode() + b'note = "caf\xe9"\n')
    with pytest.raises(voice_usage.ConfigurationError, match=re.escape(str(card))):
        voice_usage.load_rate_book([card])


@pytest.mark.parametrize("price", ["1e40", "1000000.01"])
def test_rule6_inputs_bounded_an_absurd_price_names_the_file_and_the_field(tmp_path, price):
    card = tmp_path / "big.toml"
    card.write_text(CARD.format(price=price), encoding="utf-8")
    result = CliRunner().invoke(cli, ["ratecards", "ultravox", "--ratecards", str(card)])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"voice-usage: error: {card}: card ultravox/call@2025-01-01 ([[rate]] #1): "
        "field 'price_per_minute': "
    )
    assert len(result.stderr.splitlines()) == 1
