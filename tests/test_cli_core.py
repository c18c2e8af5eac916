"""The CLI's contract: commands, formats, exit codes, one-line errors."""

import functools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from voice_usage import Connection, RetryPolicy
from voice_usage._engine._plugins import Registry
from voice_usage.cli import Settings, cli
from voice_usage.emulator import Emulator, EmulatorServer, Fault, json_response
from voice_usage.testing import FakeCall, FakeProvider

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"


class FakeServer(Emulator):
    """Serves FakeProvider's wire format over loopback."""

    def __init__(self, calls: list[FakeCall]) -> None:
        super().__init__(KEY)
        self.calls = calls

    def handle(self, request):
        limit, offset = int(request.param("limit")), int(request.param("offset"))
        chunk = self.calls[offset : offset + limit]
        return json_response(
            {
                "calls": [
                    {
                        "id": c.id,
                        "started": c.started.isoformat(),
                        "seconds": c.seconds,
                        "cost": str(c.cost),
                    }
                    for c in chunk
                ],
                "total": len(self.calls),
            }
        )


CALLS = [
    FakeCall(
        f"c{i}", datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=7 * i), 60 + i, Decimal("0.05")
    )
    for i in range(10)
]


@pytest.fixture
def fake_registry() -> Settings:
    """Settings whose only provider is the fake one."""
    registry = Registry()
    registry.add(FakeProvider(name="fake", currency="EUR"), "voice-usage-fake", "1.2.3")
    return Settings(load_registry=lambda: registry)


@pytest.fixture
def server():
    with EmulatorServer(FakeServer(CALLS)) as running:
        yield running


def run(*args: str, env: dict[str, str] | None = None, obj: Settings | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False, obj=obj)


def test_providers_json_lists_the_installed_distributions():
    result = run("providers", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    by_name = {p["name"]: p for p in data["providers"]}
    for name in ("flireo", "ultravox", "agentphone"):
        assert by_name[name]["distribution"] == f"voice-usage-{name}"
        assert by_name[name]["version"]
        assert by_name[name]["env"] == [f"{name.upper()}_API_KEY", f"{name.upper()}_BASE_URL"]
    assert data["errors"] == []


def test_providers_table_runs():
    result = run("providers")
    assert result.exit_code == 0
    assert "flireo" in result.stdout


def test_fetch_json_records(fake_registry, server):
    env = {"FAKE_API_KEY": KEY, "FAKE_BASE_URL": server.base_url}
    result = run(
        "fetch",
        "fake",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-02",
        "--granularity",
        "call",
        "--format",
        "json",
        env=env,
        obj=fake_registry,
    )
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    # calls every 7 h from midnight: 0, 7, 14, 21 h fall on 1 October
    assert [r["call_id"] for r in records] == ["c0", "c1", "c2", "c3"]
    assert records[0]["cost"] == "0.05" and records[0]["currency"] == "EUR"
    assert records[0]["duration_seconds"] == "60"


@pytest.mark.parametrize("fmt", ["table", "jsonl", "csv"])
def test_fetch_other_formats(fake_registry, server, fmt):
    env = {"FAKE_API_KEY": KEY, "FAKE_BASE_URL": server.base_url}
    result = run(
        "fetch",
        "fake",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-02",
        "--granularity",
        "day",
        "--format",
        fmt,
        env=env,
        obj=fake_registry,
    )
    assert result.exit_code == 0, result.stderr
    if fmt == "jsonl":
        [day] = [json.loads(line) for line in result.stdout.splitlines()]
        assert day["calls"] == 4
        assert day["duration_seconds"] == str(60 + 61 + 62 + 63)
        assert day["cost"] == "0.20"
    elif fmt == "csv":
        assert result.stdout.splitlines()[0].startswith("provider,account,grain,period_start")
    else:
        assert "0.2000 EUR" in result.stdout


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (
            ["fetch", "nope", "--since", "2026-10-01", "--until", "2026-10-02"],
            "unknown provider 'nope'",
        ),
        (
            ["fetch", "fake", "--since", "last week", "--until", "2026-10-02"],
            "--since must be a date",
        ),
        (
            ["fetch", "fake", "--since", "2026-10-02", "--until", "2026-10-01"],
            "must be after --since",
        ),
        (
            [
                "fetch",
                "fake",
                "--since",
                "2026-10-01",
                "--until",
                "2026-10-02",
                "--granularity",
                "week",
            ],
            "'week' is not one of",
        ),
        (
            [
                "fetch",
                "fake",
                "--since",
                "2026-10-01",
                "--until",
                "2026-10-02",
                "--option",
                "novalue",
            ],
            "expected KEY=VALUE",
        ),
        (["fetch", "fake", "--until", "2026-10-02"], "Missing option '--since'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(fake_registry, args, phrase):
    result = run(*args, env={"FAKE_API_KEY": KEY}, obj=fake_registry)
    assert result.exit_code == 2
    assert phrase in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_key_exits_2_naming_the_variable(fake_registry):
    result = run(
        "fetch", "fake", "--since", "2026-10-01", "--until", "2026-10-02", obj=fake_registry
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "voice-usage: error: fake: no API key; set FAKE_API_KEY or pass api_key="
    )


def test_provider_error_exits_1_with_one_line_naming_the_provider(fake_registry, server):
    env = {"FAKE_API_KEY": "wrong-key-123456789", "FAKE_BASE_URL": server.base_url}
    result = run(
        "fetch",
        "fake",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-02",
        env=env,
        obj=fake_registry,
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("voice-usage: error: fake: HTTP 401")
    assert "wrong-key-123456789" not in result.stderr + result.stdout


def test_server_error_forever_exits_1_after_the_retry_budget(fake_registry, server, sleeps):
    fake_registry.connect = functools.partial(
        Connection, retry=RetryPolicy(max_attempts=3), sleep=sleeps, async_sleep=sleeps.asleep
    )
    server.faults.add(Fault(status=503), times=None)
    env = {"FAKE_API_KEY": KEY, "FAKE_BASE_URL": server.base_url}
    result = run(
        "fetch",
        "fake",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-02",
        env=env,
        obj=fake_registry,
    )
    assert result.exit_code == 1
    assert "fake: HTTP 503 server error" in result.stderr
    assert "after 3 attempts" in result.stderr
    assert len(server.requests) == 3


def test_debug_shows_the_traceback(fake_registry, server):
    env = {"FAKE_API_KEY": "wrong-key-123456789", "FAKE_BASE_URL": server.base_url}
    result = CliRunner().invoke(
        cli,
        ["--debug", "fetch", "fake", "--since", "2026-10-01", "--until", "2026-10-02"],
        env=env,
        obj=fake_registry,
    )
    assert result.exit_code == 1
    assert result.exception is not None
    assert "wrong-key-123456789" not in result.stderr
