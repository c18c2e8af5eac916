"""How many requests a connection keeps in flight: argument, environment, command line."""

import os

import pytest
from click.testing import CliRunner

import voice_usage
from voice_usage.cli import Settings, cli
from voice_usage.testing import FakeProvider


def test_the_default_is_eight(monkeypatch, fake_key):
    monkeypatch.delenv("VOICE_USAGE_CONCURRENCY", raising=False)
    assert voice_usage.connect(FakeProvider(), api_key=fake_key).concurrency == 8


def test_the_environment_sets_the_default_and_an_argument_wins(monkeypatch, fake_key):
    monkeypatch.setenv("VOICE_USAGE_CONCURRENCY", "3")
    assert voice_usage.connect(FakeProvider(), api_key=fake_key).concurrency == 3
    assert voice_usage.connect(FakeProvider(), api_key=fake_key, concurrency=1).concurrency == 1


@pytest.mark.parametrize(("raw", "phrase"), [("lots", "whole number"), ("0", "at least 1")])
def test_a_bad_environment_value_is_a_configuration_error(monkeypatch, raw, phrase, fake_key):
    monkeypatch.setenv("VOICE_USAGE_CONCURRENCY", raw)
    with pytest.raises(voice_usage.ConfigurationError, match=f"VOICE_USAGE_CONCURRENCY.*{phrase}"):
        voice_usage.connect(FakeProvider(), api_key=fake_key)


def test_the_command_line_option_reaches_every_connection(monkeypatch, fake_key):
    monkeypatch.delenv("VOICE_USAGE_CONCURRENCY", raising=False)
    seen: list[int] = []
    environment: list[str | None] = []

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        environment.append(os.environ.get("VOICE_USAGE_CONCURRENCY"))
        seen.append(voice_usage.Connection(*args, **kwargs).concurrency)
        raise voice_usage.ConfigurationError("seen; no request needed")

    result = CliRunner().invoke(
        cli,
        ["--concurrency", "2", "balance", "flireo"],
        env={"FLIREO_API_KEY": fake_key},
        obj=Settings(connect=spy),
    )
    assert seen == [2], result.output
    assert "seen; no request needed" in result.stderr
    assert environment == [None]  # passed as an argument, not written into the environment
    result = CliRunner().invoke(cli, ["--concurrency", "0", "providers"])
    assert result.exit_code == 2


def test_the_environment_variable_reaches_the_command_line(monkeypatch, fake_key):
    monkeypatch.setenv("VOICE_USAGE_CONCURRENCY", "3")
    seen: list[int | None] = []

    def spy(*args, concurrency=None, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(concurrency)
        raise voice_usage.ConfigurationError("seen; no request needed")

    CliRunner().invoke(
        cli, ["balance", "flireo"], env={"FLIREO_API_KEY": fake_key}, obj=Settings(connect=spy)
    )
    assert seen == [3]
