"""Reports from the store: the same answers as live, without a request, and never a partial total."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from voice_usage._store import sync
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer
from voice_usage_agentphone import AgentPhoneProvider
from voice_usage_agentphone.emulator import AgentPhoneEmulator
from voice_usage_flireo import FlireoProvider
from voice_usage_flireo.emulator import FlireoEmulator

pytestmark = pytest.mark.emulator

NOW = datetime(2026, 10, 1, 6, tzinfo=UTC)
SINCE, UNTIL = "2026-09-01", "2026-09-08"


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any request, sync or async, fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was made while answering from the store")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


@pytest.fixture
def synced(fake_key: str, store_url: str) -> Iterator[tuple[EmulatorServer, dict[str, str]]]:
    with EmulatorServer(FlireoEmulator(fake_key, rate_limit=None)) as server:
        sync(
            FlireoProvider(),
            store=store_url,
            now=NOW,
            since=SINCE,
            until=UNTIL,
            api_key=fake_key,
            base_url=server.base_url,
        )
        env = {
            "FLIREO_API_KEY": fake_key,
            "FLIREO_BASE_URL": server.base_url,
            "VOICE_USAGE_STORE": store_url,
            "VOICE_USAGE_RATECARDS": "",
            "VOICE_USAGE_CONFIG": "",
        }
        yield server, env


@pytest.mark.parametrize(
    "command",
    [
        ("compare", "flireo", "--format", "json"),
        ("compare", "flireo", "--group-by", "day", "--format", "json"),
        ("fetch", "flireo", "--granularity", "day", "--format", "json"),
        ("reprice", "flireo", "--to", "ultravox,agentphone", "--format", "json"),
    ],
)
def test_the_store_answers_as_the_vendor_does(
    synced: tuple[EmulatorServer, dict[str, str]], command: tuple[str, ...]
) -> None:
    _, env = synced
    args = (*command, "--since", SINCE, "--until", UNTIL)
    live = run(env, *args)
    assert live.exit_code == 0, live.stderr
    stored = run(env, *args, "--from-store")
    assert stored.exit_code == 0, stored.stderr
    assert json.loads(stored.stdout) == json.loads(live.stdout)


def test_stored_calls_are_the_vendor_calls(synced: tuple[EmulatorServer, dict[str, str]]) -> None:
    _, env = synced
    args = (
        "fetch",
        "flireo",
        "--granularity",
        "call",
        "--format",
        "json",
        "--since",
        SINCE,
        "--until",
        UNTIL,
    )
    live = json.loads(run(env, *args).stdout)
    stored = json.loads(run(env, *args, "--from-store").stdout)
    key = lambda r: r["call_id"]  # noqa: E731  (the store gives time order, the vendor its own)
    assert sorted(stored, key=key) == sorted(live, key=key)
    assert len(stored) == 7 * 80


def test_export_from_the_store(
    synced: tuple[EmulatorServer, dict[str, str]], tmp_path: Path
) -> None:
    _, env = synced
    files = {}
    for name, extra in (("live", ()), ("stored", ("--from-store",))):
        out = tmp_path / f"{name}.jsonl"
        done = run(
            env,
            "export",
            "flireo",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--granularity",
            "day",
            "--output",
            str(out),
            *extra,
        )
        assert done.exit_code == 0, done.stderr
        files[name] = out.read_text()
    assert files["stored"] == files["live"]


def test_no_request_is_made_from_the_store(
    synced: tuple[EmulatorServer, dict[str, str]], no_requests: None
) -> None:
    _, env = synced
    for command in (
        ("compare", "flireo"),
        ("fetch", "flireo", "--granularity", "call"),
        ("reprice", "flireo", "--to", "ultravox"),
    ):
        done = run(env, *command, "--since", SINCE, "--until", UNTIL, "--from-store")
        assert done.exit_code == 0, (command, done.stderr)
    live = run(env, "compare", "flireo", "--since", SINCE, "--until", UNTIL)
    assert live.exit_code == 1  # the guard works: a live compare trips it


def test_a_range_the_store_does_not_cover_is_named_never_summed_in_part(
    synced: tuple[EmulatorServer, dict[str, str]], no_requests: None
) -> None:
    _, env = synced
    done = run(
        env,
        "compare",
        "flireo",
        "--since",
        "2026-08-30",
        "--until",
        "2026-09-10",
        "--from-store",
        "--format",
        "json",
    )
    assert done.exit_code == 1
    body = json.loads(done.stdout)
    assert body["rows"] == []
    (error,) = body["errors"]
    assert "does not cover [2026-08-30, 2026-09-01), [2026-09-08, 2026-09-10)" in error["message"]
    assert "voice-usage sync flireo --since 2026-08-30" in error["message"]
    fetched = run(
        env, "fetch", "flireo", "--since", "2026-09-07", "--until", "2026-09-09", "--from-store"
    )
    assert fetched.exit_code == 1
    assert fetched.stdout == ""
    assert "does not cover [2026-09-08, 2026-09-09)" in fetched.stderr


def test_compare_from_the_store_reaches_past_the_vendor_retention(
    fake_key: str, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Synced in October 2025; a year and a half later AgentPhone's daily usage (365 days) no
    # longer reaches September 2025, and the live compare says so. The store still answers.
    then, later = date(2025, 10, 1), date(2027, 4, 1)
    monkeypatch.setattr("voice_usage_agentphone._provider.utc_today", lambda: then)
    with EmulatorServer(AgentPhoneEmulator(fake_key, today=then)) as server:
        result = sync(
            AgentPhoneProvider(today=then),
            store=store_url,
            now=datetime(2025, 10, 1, 3, tzinfo=UTC),
            since="2025-09-01",
            api_key=fake_key,
            base_url=server.base_url,
        )
        assert result.new == 30
        expected = [
            r
            for r in json.loads(
                run(
                    {
                        "AGENTPHONE_API_KEY": fake_key,
                        "AGENTPHONE_BASE_URL": server.base_url,
                        "VOICE_USAGE_RATECARDS": "",
                    },
                    "fetch",
                    "agentphone",
                    "--since",
                    "2025-09-01",
                    "--until",
                    "2025-10-01",
                    "--format",
                    "json",
                ).stdout
            )
        ]
    assert len(expected) == 30
    monkeypatch.setattr("voice_usage_agentphone._provider.utc_today", lambda: later)
    env = {
        "AGENTPHONE_API_KEY": fake_key,
        "VOICE_USAGE_STORE": store_url,
        "VOICE_USAGE_RATECARDS": "",
    }
    live = run(env, "fetch", "agentphone", "--since", "2025-09-01", "--until", "2025-10-01")
    assert live.exit_code == 2  # refused before any request: the vendor no longer has it
    assert "reaches back 365 days at most" in live.stderr

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was made while answering from the store")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)
    stored = run(
        env,
        "compare",
        "agentphone",
        "--since",
        "2025-09-01",
        "--until",
        "2025-10-01",
        "--from-store",
        "--format",
        "json",
    )
    assert stored.exit_code == 0, stored.stderr
    (row,) = json.loads(stored.stdout)["rows"]
    assert row["provider"] == "agentphone"
    assert row["calls"] == sum(r["calls"] for r in expected)
    fetched = run(
        env,
        "fetch",
        "agentphone",
        "--since",
        "2025-09-01",
        "--until",
        "2025-10-01",
        "--from-store",
        "--format",
        "json",
    )
    assert json.loads(fetched.stdout) == expected


def test_from_store_without_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    done = run(
        {"VOICE_USAGE_STORE": str(missing)},
        "compare",
        "flireo",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--from-store",
    )
    assert done.exit_code == 1
    assert done.stderr.strip() == (
        f"voice-usage: error: store {missing}: no such file; run 'voice-usage sync' to fill it first"
    )
    assert not missing.exists()


def test_the_html_report_from_the_store_is_the_same_page(
    synced: tuple[EmulatorServer, dict[str, str]], tmp_path: Path
) -> None:
    _, env = synced
    pages = {}
    for name, extra in (("live", ()), ("stored", ("--from-store",))):
        out = tmp_path / f"{name}.html"
        done = run(
            env,
            "report",
            "flireo",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--output",
            str(out),
            *extra,
        )
        assert done.exit_code == 0, done.stderr
        pages[name] = out.read_bytes()
    # The same page, but for where the records came from, and the reconciliation with the
    # vendor's own totals: those come with a live answer (a sync checks them, and reports a
    # mismatch, when it fetches).
    assert b"<p>Records fetched from the vendors&#x27; APIs.</p>" in pages["live"]
    assert b"<p>Records read from the history store " in pages["stored"]
    assert b"without a request to the vendors.</p>" in pages["stored"]
    assert b"Ranges missing from the store</h3><p>None: the store covers" in pages["stored"]
    live, stored = (
        re.sub(
            rb"<p>Records [^<]*</p>|Reconciliation with the vendors' own totals</h3>.*?<h3>"
            rb"|<h3>Ranges missing from the store</h3><p>[^<]*</p>",
            b"",
            page,
            flags=re.S,
        )
        for page in (pages["live"], pages["stored"])
    )
    assert b"calls: vendor reported 560, records sum to 560" in pages["live"]
    assert stored == live


def test_the_html_report_names_the_ranges_the_store_lacks_and_exits_1(
    synced: tuple[EmulatorServer, dict[str, str]], tmp_path: Path, no_requests: None
) -> None:
    _, env = synced
    out = tmp_path / "wider.html"
    done = run(
        env, "report", "flireo", "--since", SINCE, "--until", "2026-09-09",
        "--output", str(out), "--from-store",
    )  # fmt: skip
    assert done.exit_code == 1
    assert "does not cover [2026-09-08, 2026-09-09)" in done.stderr
    page = out.read_text(encoding="utf-8")
    missing = page[page.index("Ranges missing from the store</h3>") :]
    assert missing.startswith("Ranges missing from the store</h3><ul><li>flireo: the store ")
    assert "does not cover [2026-09-08, 2026-09-09)" in missing.split("</ul>")[0]
    assert 'id="failed"' in page  # and named at the top, not summed in part
