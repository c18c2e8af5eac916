"""`voice-usage fetch flireo` and `voice-usage balance flireo` against the Flireo emulator."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

import voice_usage
from voice_usage.cli import Settings, cli
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage_flireo import FlireoEmulator

pytestmark = pytest.mark.emulator

FETCH_OCTOBER = [
    "fetch",
    "flireo",
    "--since",
    "2026-10-01",
    "--until",
    "2026-11-01",
    "--granularity",
    "call",
    "--format",
    "json",
]
OCT_PARAMS = {"start_date": "2026-10-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}


def october_2345(day: date) -> int:
    """20 days of 76 logs and 11 days of 75: 1520 + 825 = 2345 logs in October 2026."""
    if day.year == 2026 and day.month == 10:
        return 76 if day.day <= 20 else 75
    return 40


@pytest.fixture
def serve_flireo(serve: Any, fake_key: str) -> Callable[..., EmulatorServer]:
    """``serve_flireo(**options)`` serves a `FlireoEmulator` with those options, for this test."""
    return lambda **options: serve(FlireoEmulator(api_key=fake_key, **options))


def invoke(
    args: list[str], server: EmulatorServer, key: str, settings: Settings | None = None
) -> Result:
    env = {"FLIREO_API_KEY": key, "FLIREO_BASE_URL": server.base_url}
    return CliRunner().invoke(cli, args, env=env, obj=settings)


def server_summary(server: EmulatorServer, key: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.base_url}/usage",
        params={"limit": 1, **OCT_PARAMS},
        headers={"Authorization": f"Bearer {key}"},
    )
    return response.json()["summary"]  # type: ignore[no-any-return]


def usage_requests(server: EmulatorServer) -> list[Any]:
    return [r for r in server.requests if r.path == "/usage"]


def test_fetch_october_2345_logs(serve_flireo: Any, fake_key: str) -> None:
    server = serve_flireo(logs_per_day=october_2345, shape="d")
    result = invoke(FETCH_OCTOBER, server, fake_key)
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == 2345
    requests = usage_requests(server)
    assert len(requests) == 3
    assert [r.param("limit") for r in requests] == ["1000"] * 3
    assert sorted(r.param("offset") for r in requests) == ["0", "1000", "2000"]
    summary = server_summary(server, fake_key)
    assert sum(Decimal(r["duration_seconds"]) for r in records) == summary["total_duration_seconds"]
    assert {r["provider"] for r in records} == {"flireo"}
    assert {r["grain"] for r in records} == {"event"}
    assert result.stderr == ""
    assert fake_key not in result.stdout


@pytest.mark.parametrize(
    ("shape", "options", "source"),
    [
        ("a", {}, "reported"),
        ("a", {"include_cost": False, "summary_cost": False}, "rate_card"),
        ("b", {}, "rate_card"),
        ("c", {}, "rate_card"),
        ("c", {"include_cost": True}, "reported"),
        ("d", {}, "rate_card"),
    ],
)
def test_fetch_each_shape_with_and_without_vendor_cost(
    serve_flireo: Any, fake_key: str, shape: str, options: dict[str, Any], source: str
) -> None:
    server = serve_flireo(logs_per_day=october_2345, shape=shape, **options)
    result = invoke(FETCH_OCTOBER, server, fake_key)
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == 2345
    assert len(usage_requests(server)) == 3
    summary = server_summary(server, fake_key)
    seconds = summary.get("total_seconds", summary.get("total_duration_seconds"))
    minutes = summary.get("total_minutes", summary.get("total_duration_minutes"))
    if seconds is not None:  # the reference shape (a) totals minutes, calls and cost only
        assert sum(Decimal(r["duration_seconds"]) for r in records) == seconds
    assert sum(Decimal(r["billed_minutes"]) for r in records) == minutes
    assert {r["cost_source"] for r in records} == {source}
    assert {r["currency"] for r in records} == {"EUR"}
    if "total_cost" in summary:
        total = sum(Decimal(r["cost"]) for r in records)
        assert total == Decimal(str(summary["total_cost"]))
    assert result.stderr == ""  # everything reconciled


def test_fetch_day_granularity(serve_flireo: Any, fake_key: str) -> None:
    server = serve_flireo(logs_per_day=october_2345, shape="c")
    args = [*FETCH_OCTOBER[:6], "--granularity", "day", "--format", "json"]
    result = invoke(args, server, fake_key)
    assert result.exit_code == 0, result.stderr
    windows = json.loads(result.stdout)
    assert len(windows) == 31
    assert [w["calls"] for w in windows] == [76] * 20 + [75] * 11
    assert {w["grain"] for w in windows} == {"window"}


def test_a_reconciliation_mismatch_is_a_warning(serve_flireo: Any, fake_key: str) -> None:
    server = serve_flireo(logs_per_day=10, shape="b", price_per_minute="0.05")
    args = [
        "fetch",
        "flireo",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-02",
        "--granularity",
        "call",
        "--format",
        "jsonl",
    ]
    result = invoke(args, server, fake_key)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 10
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("voice-usage: warning: flireo: reconciliation cost")
    assert "MISMATCH" in warning


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        (None, "HTTP 401"),
        (Fault(status=402), "HTTP 402"),
    ],
)
def test_auth_and_credit_errors_exit_1_with_one_line(
    serve_flireo: Any, fake_key: str, fault: Fault | None, cause: str
) -> None:
    server = serve_flireo()
    key = fake_key
    if fault is None:
        key = "fl_live_wrong_key_0000"
    else:
        server.faults.add(fault)
    result = invoke(FETCH_OCTOBER, server, key)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("voice-usage: error: flireo: ")
    assert cause in line
    assert ("insufficient_credits" in line) == (cause == "HTTP 402")
    assert ("Invalid or missing API key" in line) == (cause == "HTTP 401")
    assert "Traceback" not in result.output
    assert key not in result.output


def test_429_with_retry_after_then_success(serve_flireo: Any, fake_key: str, sleeps: Any) -> None:
    settings = Settings(
        connect=functools.partial(voice_usage.Connection, sleep=sleeps, async_sleep=sleeps.asleep)
    )
    server = serve_flireo(logs_per_day=october_2345)
    server.faults.add(Fault(status=429, headers={"Retry-After": "1"}))
    result = invoke(FETCH_OCTOBER, server, fake_key, settings)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2345
    assert sleeps == [1]
    assert len(usage_requests(server)) == 4
    assert result.stderr == ""


def test_balance_command(serve_flireo: Any, fake_key: str) -> None:
    server = serve_flireo(organization_shape="billing", minutes_balance="42.25")
    result = invoke(["balance", "flireo", "--format", "json"], server, fake_key)
    assert result.exit_code == 0, result.stderr
    snapshot = json.loads(result.stdout)
    assert snapshot["name"] == "Acme Corp"
    assert Decimal(snapshot["minutes_balance"]) == Decimal("42.25")
    assert snapshot["monthly_usage_minutes"] == "120"
    table = invoke(["balance", "flireo"], server, fake_key)
    assert table.exit_code == 0
    assert "minutes_balance" in table.stdout and "42.25" in table.stdout


def test_balance_401_exits_1(serve_flireo: Any) -> None:
    server = serve_flireo()
    result = invoke(["balance", "flireo"], server, "not-the-key")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("voice-usage: error: flireo: HTTP 401")


def test_console_script_in_a_subprocess(serve_flireo: Any, fake_key: str) -> None:
    server = serve_flireo(logs_per_day=october_2345, shape="a")
    env = {**os.environ, "FLIREO_API_KEY": fake_key, "FLIREO_BASE_URL": server.base_url}
    completed = subprocess.run(
        [sys.executable, "-m", "voice_usage", *FETCH_OCTOBER],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    records = json.loads(completed.stdout)
    assert len(records) == 2345
    assert len(usage_requests(server)) == 3
    summary = server_summary(server, fake_key)
    assert sum(Decimal(r["cost"]) for r in records) == Decimal(str(summary["total_cost"]))
