"""`voice-usage demo`: the whole job against the bundled emulators, offline and deterministic."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import voice_usage
from voice_usage import run_demo

VENDORS = ("agentphone", "flireo", "retell", "twilio", "ultravox", "vapi")


def test_demo_command_exits_0_with_every_vendor(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.pop("VOICE_USAGE_RATECARDS", None)
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "voice_usage", "demo", "--report", str(tmp_path / "demo.html")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,  # only against a hang: speed is measured by benchmarks, not tests
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for step in ("1. fetch", "2. compare", "3. reprice", "4. report"):
        assert step in out
    page = tmp_path / "demo.html"
    assert f"Report written: {page}" in out
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    compare_table = out[out.index("2. compare") : out.index("3. reprice")]
    for vendor in VENDORS:
        assert f"│ {vendor}" in compare_table, vendor
    assert "FX: 1 USD = 0.92 EUR (--fx USD:EUR=0.92)" in out
    assert "error" not in done.stderr.lower()


def test_run_demo_returns_the_figures():
    result = run_demo(quiet=True)
    assert result.providers == list(VENDORS)
    assert result.comparison is not None and result.comparison.ok
    assert [row.provider for row in result.comparison.rows] == list(VENDORS)
    for row in result.comparison.rows:
        assert row.calls, row.provider  # every vendor has traffic in the last 30 days
    flireo = result.comparison.row("flireo")
    assert flireo.converted_currency == "EUR" and flireo.converted_cost is not None
    assert result.repricing is not None
    as_run, *targets = result.repricing.rows
    assert as_run.basis == "as run" and as_run.provider == "flireo"
    assert [t.provider for t in targets] == ["agentphone", "retell", "twilio", "ultravox", "vapi"]
    assert all(t.calls == as_run.calls and t.cost is not None for t in targets)
    assert (result.until - result.since).days == 30
    assert result.until == datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def test_demo_is_deterministic():
    first = run_demo(quiet=True, days=7)
    second = run_demo(quiet=True, days=7)
    assert first.comparison is not None and second.comparison is not None
    assert first.comparison.to_json() == second.comparison.to_json()


def test_demo_is_public():
    assert voice_usage.run_demo is run_demo
