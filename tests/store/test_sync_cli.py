"""`voice-usage sync` on the command line, and every bad input as one line with its exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer
from voice_usage_flireo.emulator import FlireoEmulator

pytestmark = pytest.mark.emulator

# The CLI syncs complete days up to today: emulated logs run to "now", and a range in the past
# is given explicitly so the figures do not depend on the date the tests run.
SINCE, UNTIL = "2026-09-01", "2026-09-04"


@pytest.fixture
def flireo(fake_key: str) -> Iterator[EmulatorServer]:
    with EmulatorServer(FlireoEmulator(fake_key, rate_limit=None)) as server:
        yield server


@pytest.fixture
def env(flireo: EmulatorServer, fake_key: str, tmp_path: Path) -> dict[str, str]:
    return {
        "FLIREO_API_KEY": fake_key,
        "FLIREO_BASE_URL": flireo.base_url,
        "ULTRAVOX_API_KEY": "",
        "AGENTPHONE_API_KEY": "",
        "VOICE_USAGE_STORE": str(tmp_path / "usage.sqlite3"),
        "VOICE_USAGE_CONFIG": "",
        "VOICE_USAGE_RATECARDS": "",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_sync_then_sync_again(env: dict[str, str]) -> None:
    first = run(env, "sync", "flireo", "--since", SINCE, "--until", UNTIL, "--format", "json")
    assert first.exit_code == 0, first.stderr
    (result,) = json.loads(first.stdout)["results"]
    assert (result["provider"], result["account"]) == ("flireo", None)
    assert (result["new"], result["revised"], result["unchanged"]) == (240, 0, 0)
    assert (result["since"], result["until"]) == ("2026-09-01T00:00:00Z", "2026-09-04T00:00:00Z")
    assert result["requests"] == 1
    assert result["store"] == env["VOICE_USAGE_STORE"]

    again = run(env, "sync", "flireo", "--since", SINCE, "--until", UNTIL)
    assert again.exit_code == 0, again.stderr
    row = next(line for line in again.stdout.splitlines() if "flireo" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells == [
        "flireo",
        "(default)",
        "0",
        "0",
        "240",
        "0",
        "2026-09-01 .. 2026-09-04",
        "1",
        "ok",
    ]


def test_sync_without_providers_takes_those_with_credentials(env: dict[str, str]) -> None:
    done = run(env, "sync", "--since", SINCE, "--until", UNTIL, "--format", "json")
    assert done.exit_code == 0, done.stderr
    assert [r["provider"] for r in json.loads(done.stdout)["results"]] == ["flireo"]


def test_sync_of_a_named_account(env: dict[str, str], tmp_path: Path, fake_key: str) -> None:
    config = tmp_path / "voice-usage.toml"
    config.write_text(
        f'[[accounts.flireo]]\nname = "acme"\napi_key_env = "ACME_KEY"\nbase_url = "{env["FLIREO_BASE_URL"]}"\n'
    )
    env = {**env, "VOICE_USAGE_CONFIG": str(config), "ACME_KEY": fake_key, "FLIREO_API_KEY": ""}
    done = run(
        env, "sync", "--account", "acme", "--since", SINCE, "--until", UNTIL, "--format", "json"
    )
    assert done.exit_code == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert (result["account"], result["new"]) == ("acme", 240)
    fetched = run(
        env,
        "fetch",
        "flireo",
        "--account",
        "acme",
        "--since",
        SINCE,
        "--until",
        "2026-09-02",
        "--granularity",
        "call",
        "--format",
        "json",
    )
    assert fetched.exit_code == 0, fetched.stderr
    assert {r["account"] for r in json.loads(fetched.stdout)} == {"acme"}


def one_line(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return str(lines[0])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--lookback", "-1"), "--lookback must be 0 to 366 days, got -1"),
        (("--lookback", "5000"), "--lookback must be 0 to 366 days, got 5000"),
        (
            ("--since", "2026-09-10", "--until", "2026-09-01"),
            "--since (2026-09-10) must be before --until",
        ),
        (("--account", "nobody"), "--account 'nobody': flireo has no account by that name"),
        (("--parallel", "0"), "--parallel"),
    ],
)
def test_bad_arguments(env: dict[str, str], args: tuple[str, ...], expected: str) -> None:
    line = one_line(run(env, "sync", "flireo", *args), 2)
    assert expected in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[accounts.flireo]]\nname = "acme"\napi_key = "fl_live_abcdef123456"\n',
            "api_key is a key written into the file",
        ),
        (
            '[[accounts.flireo]]\nname = "acme"\napi_key_env = "K"\ncolour = "red"\n',
            "unknown field 'colour'",
        ),
        ("[defaults]\nx = 1\n", "unknown field 'defaults'"),
        (
            '[[accounts.flireo]]\nname = "acme"\napi_key_env = "fl-live-abc.def"\n',
            "api_key_env must name an environment variable",
        ),
        ("[[accounts.flireo]\n", "not valid TOML"),
    ],
)
def test_a_bad_accounts_file(env: dict[str, str], tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "voice-usage.toml"
    config.write_text(text)
    line = one_line(run({**env, "VOICE_USAGE_CONFIG": str(config)}, "sync", "flireo"), 2)
    assert f"accounts file {config}" in line
    assert expected in line
    assert "fl_live_abcdef123456" not in line
    assert "fl-live-abc.def" not in line


def test_a_store_in_a_missing_folder(env: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "missing" / "usage.sqlite3"
    line = one_line(run(env, "sync", "flireo", "--store", str(store)), 1)
    assert line == f"voice-usage: error: store {store}: the folder {store.parent} does not exist"


def test_a_corrupt_store(env: dict[str, str], tmp_path: Path) -> None:
    store = tmp_path / "usage.sqlite3"
    store.write_bytes(b"\x00garbage" * 1000)
    line = one_line(run(env, "sync", "flireo", "--store", str(store)), 1)
    assert line.startswith(f"voice-usage: error: store {store}: ")
    assert store.read_bytes() == b"\x00garbage" * 1000


def test_a_refused_postgresql_store_never_shows_its_password(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://usage:s3cret-pw@127.0.0.1:{port}/usage"
    line = one_line(run(env, "sync", "flireo", "--store", url), 1)
    assert line.startswith(
        f"voice-usage: error: store postgresql://usage:***@127.0.0.1:{port}/usage: "
    )
    assert "s3cret-pw" not in line
