"""Rule 3: one line, the right exit code, never a traceback.

- An output path that cannot be written is refused before any request (exit 2), not after the
  whole fetch with a traceback.
- A reader that stops early (`| head`) ends the command quietly with exit 0; Ctrl-C prints one
  line and exits 130.
- Bad dates through the library are a `VoiceUsageError` (and still a `ValueError`); a bad
  `VOICE_USAGE_CONCURRENCY` is one line from the commands that connect, and `providers`, which
  sends no request, does not fail on it.
- A streamed fetch that fails says how many records it had already written, and shows the
  warnings it had (a period ending in the future) before its error line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

import voice_usage
from voice_usage import InvalidQueryError, VoiceUsageError
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer, Fault

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
WINDOW = ["--since", "2026-11-01", "--until", "2026-11-02"]


@pytest.fixture
def flireo() -> Iterator[EmulatorServer]:
    from voice_usage_flireo import FlireoEmulator

    with EmulatorServer(FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=3)) as server:
        yield server


def _env(server: EmulatorServer, **extra: str) -> dict[str, str]:
    return {"FLIREO_API_KEY": KEY, "FLIREO_BASE_URL": server.base_url, **extra}


def _invoke(server: EmulatorServer, *args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=_env(server, **env))


def _one_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("where", "phrase"),
    [
        ("missing/x.csv", "the folder {tmp}/missing does not exist"),
        ("folder.csv", "{tmp}/folder.csv is a folder; name a file inside it"),
    ],
)
def test_rule3_one_line_an_output_path_that_cannot_be_written_is_refused_before_any_request(
    flireo, tmp_path, where, phrase
):
    (tmp_path / "folder.csv").mkdir()
    target = tmp_path / where
    result = _invoke(flireo, "export", "flireo", *WINDOW, "--output", str(target))
    line = _one_line(result, 2)
    assert phrase.format(tmp=tmp_path) in line
    assert line.startswith("voice-usage: error: Invalid value for --output: ")
    assert flireo.requests == []  # nothing was fetched for a file that cannot be written


def test_rule3_one_line_a_write_that_fails_late_is_one_line(flireo, tmp_path, monkeypatch):
    from voice_usage.cli import _fetch

    def full(*args: Any, **kwargs: Any) -> int:
        raise OSError(28, "No space left on device", str(tmp_path / "x.csv"))

    monkeypatch.setattr(_fetch, "write_csv", full)
    result = _invoke(flireo, "export", "flireo", *WINDOW, "--output", str(tmp_path / "x.csv"))
    assert _one_line(result, 2) == (
        f"voice-usage: error: {tmp_path / 'x.csv'}: No space left on device\n"
    )
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_rule3_one_line_a_reader_that_stops_early_ends_the_command_with_exit_0(tmp_path):
    from voice_usage_flireo import FlireoEmulator

    emulator = FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=400)
    with EmulatorServer(emulator) as server:
        args = ["fetch", "flireo", "--since", "2026-10-01", "--until", "2026-11-01"]
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voice_usage",
                *args,
                "--granularity",
                "call",
                "--format",
                "csv",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **_env(server)},
        )
        assert process.stdout is not None and process.stderr is not None
        header = process.stdout.readline()
        process.stdout.close()  # as `| head -1` does: the rest of ~12,000 rows has no reader
        error = process.stderr.read()
        process.stderr.close()
        code = process.wait(timeout=120)
    assert header.startswith(b"provider,account,grain")
    assert code == 0
    assert error == b""


def test_rule3_one_line_ctrl_c_is_one_line_and_exit_130(flireo, monkeypatch):
    from voice_usage.cli import _fetch

    def interrupted(*args: Any, **kwargs: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(_fetch, "print_records", interrupted)
    result = _invoke(flireo, "fetch", "flireo", *WINDOW, "--format", "jsonl")
    assert _one_line(result, 130) == "voice-usage: error: interrupted\n"
    assert "Aborted!" not in result.stderr


@pytest.mark.parametrize(
    ("since", "until", "granularity", "phrase"),
    [
        ("2026-02-30", "2026-03-02", "day", "since must be a date"),
        ("2026-03-02", "2026-03-01", "day", "until (2026-03-01T00:00:00+00:00) must be after"),
        ("2026-03-01", "2026-03-02", "week", "granularity: Input should be"),
    ],
)
def test_rule3_one_line_bad_dates_through_the_library_are_a_voice_usage_error(
    flireo, since, until, granularity, phrase
):
    with (
        voice_usage.connect("flireo", api_key=KEY, base_url=flireo.base_url) as connection,
        pytest.raises(InvalidQueryError, match=re.escape(phrase)) as info,
    ):
        connection.fetch(since, until, granularity)
    assert isinstance(info.value, VoiceUsageError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)
    with pytest.raises(VoiceUsageError, match="since must be a date"):
        voice_usage.compare(["flireo"], "2026-02-30", "2026-03-02")
    assert flireo.requests == []


def test_rule3_one_line_a_bad_concurrency_setting_fails_only_the_commands_that_connect(flireo):
    listed = _invoke(flireo, "providers", VOICE_USAGE_CONCURRENCY="abc")
    assert listed.exit_code == 0, listed.stderr
    assert "flireo" in listed.stdout
    fetched = _invoke(flireo, "fetch", "flireo", *WINDOW, VOICE_USAGE_CONCURRENCY="abc")
    assert _one_line(fetched, 2) == (
        "voice-usage: error: VOICE_USAGE_CONCURRENCY must be a whole number of requests, "
        "got 'abc'\n"
    )
    assert flireo.requests == []


# The OpenAPI-rendered reference's `/usage` example: one log of a total of 42.
_ONE_OF_42 = {
    "logs": [
        {
            "id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
            "duration_sec": 180,
            "created_at": "2026-11-01T14:15:22Z",
        }
    ],
    "pagination": {"total": 42, "limit": 100, "offset": 0},
}


@pytest.mark.parametrize("output_format", ["jsonl", "csv", "json"])
def test_rule8_vendor_bodies_read_a_refused_walk_says_how_many_records_were_written(
    flireo, output_format
):
    first = Fault(
        action="body", body=json.dumps(_ONE_OF_42).encode(), path="/usage", query={"offset": "0"}
    )
    empty = Fault(action="body", body=json.dumps({**_ONE_OF_42, "logs": []}).encode())
    flireo.faults.add(first, None)
    flireo.faults.add(empty, None)
    args = [*WINDOW, "--granularity", "call", "--format", output_format]
    result = _invoke(flireo, "fetch", "flireo", *args)
    line = _one_line(result, 1)
    assert "page at offset 1 has 0 items, expected 1 (total 42)" in line
    assert line.endswith(
        "; stdout has the 1 record written before this error, not the complete result\n"
    )
    assert "497f6eca" in result.stdout


def test_rule3_one_line_a_closed_connection_fetches_nothing_more(flireo):
    connection = voice_usage.connect("flireo", api_key=KEY, base_url=flireo.base_url)
    assert connection.fetch(*WINDOW[1::2], "call").to_list()
    connection.close()
    sent = len(flireo.requests)
    for call in (lambda: connection.fetch(*WINDOW[1::2], "call"), connection.balance):
        with pytest.raises(voice_usage.ConfigurationError, match="the connection is closed"):
            call()
    assert len(flireo.requests) == sent


def test_rule3_one_line_a_period_ending_in_the_future_is_warned_and_results_say_what_they_are(
    flireo,
):
    with voice_usage.connect("flireo", api_key=KEY, base_url=flireo.base_url) as connection:
        result = connection.fetch("2026-11-01", "9999-12-31", "month")
        assert repr(result) == (
            "<FetchResult 'flireo' [2026-11-01T00:00:00Z, 9999-12-31T00:00:00Z) month: "
            "not read yet, 1 warning(s)>"
        )
        assert result.warnings == [
            "flireo: the period ends in the future (9999-12-31T00:00:00Z): there is no usage "
            "after now yet"
        ]
        assert repr(result.report).startswith("<FetchReport 'flireo': 0 request(s), 1 warning(s)")
        recent = connection.fetch("2026-11-01", "2026-11-02", "day")
        assert recent.warnings == []


def test_rule3_one_line_a_fetch_that_fails_still_shows_the_warnings_it_had(flireo):
    # The trial's --until 9999-12-31 failed on timeouts with no word of the future period.
    body = json.dumps({"error": {"code": "bad_range", "message": "range too large"}}).encode()
    flireo.faults.add(Fault(status=400, body=body, path="/usage"), None)
    result = _invoke(flireo, "fetch", "flireo", "--since", "2026-11-01", "--until", "9999-12-31")
    assert result.exit_code == 1, result.stderr
    assert result.stderr.splitlines() == [
        "voice-usage: warning: flireo: the period ends in the future (9999-12-31T00:00:00Z): "
        "there is no usage after now yet",
        "voice-usage: error: flireo: HTTP 400 bad request [bad_range] range too large",
    ]
