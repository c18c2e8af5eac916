"""`voice-usage fetch vapi ...` against the Vapi emulator: the issue's must-shows, end to end.

Expected figures are the emulator's own (`VapiEmulator.totals`), not the program's output.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from click.testing import CliRunner

import voice_usage
from voice_usage.cli import Settings, cli
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage_vapi.emulator import VapiEmulator

pytestmark = pytest.mark.emulator

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
TODAY = date(2026, 11, 20)
SINCE, UNTIL = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
FETCH = ["fetch", "vapi", "--since", "2026-10-01", "--until", "2026-11-01"]


def run(server: EmulatorServer, *args: str, key: str = KEY, settings: Any = None) -> Any:
    env = {"VAPI_API_KEY": key, "VAPI_BASE_URL": server.base_url}
    return CliRunner().invoke(cli, list(args), env=env, obj=settings, catch_exceptions=False)


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("v2", [True, False], ids=["v2", "call-fallback"])
def test_fetch_every_ended_call_as_jsonl(v2):
    emulator = VapiEmulator(KEY, v2=v2, today=TODAY)
    with EmulatorServer(emulator) as server:
        result = run(server, *FETCH, "--granularity", "call", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    rows = jsonl(result.stdout)
    expected = emulator.totals(SINCE, UNTIL)
    ended = {c.call_id for c in emulator.calls_between(SINCE, UNTIL) if c.ended_call}
    assert [row["call_id"] for row in rows].count(rows[0]["call_id"]) == 1
    assert {row["call_id"] for row in rows} == ended and len(rows) == expected["calls"]
    total = sum(Decimal(row["cost"]) for row in rows)
    assert total.quantize(Decimal("0.01")) == expected["cost"].quantize(Decimal("0.01"))
    assert total == expected["cost"]
    for row in rows:
        assert row["provider"] == "vapi" and row["grain"] == "event"
        assert row["currency"] == "USD" and row["cost_source"] == "reported"
        assert sum(Decimal(v) for v in row["cost_components"].values()) == Decimal(row["cost"])
        assert row["rate_card"] is None


@pytest.mark.parametrize("v2", [True, False], ids=["v2", "call-fallback"])
def test_day_windows_sum_to_the_same_totals(v2):
    emulator = VapiEmulator(KEY, v2=v2, today=TODAY)
    with EmulatorServer(emulator) as server:
        result = run(server, *FETCH, "--granularity", "day", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = jsonl(result.stdout)
    expected = emulator.totals(SINCE, UNTIL)
    assert len(rows) == 31 and {row["grain"] for row in rows} == {"window"}
    assert sum(row["calls"] for row in rows) == expected["calls"]
    assert sum(Decimal(row["cost"]) for row in rows) == expected["cost"]
    assert sum(Decimal(row["duration_seconds"]) for row in rows) == expected["seconds"]


def test_a_wrong_key_exits_1_with_one_line_naming_vapi():
    with EmulatorServer(VapiEmulator(KEY, today=TODAY)) as server:
        result = run(server, *FETCH, key="sk-wrong-" + KEY[::-1])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voice-usage: error: vapi: HTTP 401")
    assert "Invalid Key." in lines[0]
    assert "Traceback" not in result.output
    assert KEY not in result.output and KEY[::-1] not in result.output


def test_429_with_retry_after_is_honoured(sleeps):
    settings = Settings(
        connect=functools.partial(voice_usage.Connection, sleep=sleeps, async_sleep=sleeps.asleep)
    )
    emulator = VapiEmulator(KEY, today=TODAY)
    with EmulatorServer(emulator) as server:
        server.faults.add(Fault(status=429, headers={"Retry-After": "7"}, path="/v2/call"), 2)
        result = run(
            server, *FETCH, "--granularity", "call", "--format", "jsonl", settings=settings
        )
        requests = len(server.requests)
    assert result.exit_code == 0, result.output
    assert sleeps == [7.0, 7.0]
    assert requests == 3
    assert len(jsonl(result.stdout)) == emulator.totals(SINCE, UNTIL)["calls"]
    assert KEY not in result.output


def test_a_zoneless_timestamp_exits_1_naming_the_field():
    def rewrite(body: Any, request: Any) -> Any:
        body["results"][0]["endedAt"] = "2026-10-01T10:00:00"
        return body

    with EmulatorServer(VapiEmulator(KEY, today=TODAY)) as server:
        server.faults.add(Fault(action="rewrite", rewrite=rewrite))
        result = run(server, *FETCH, "--granularity", "call")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "voice-usage: error: vapi: unexpected response from /v2/call: field 'results.0.endedAt'"
    )
    assert "timezone" in line


def test_export_writes_the_split_as_json_in_csv_and_parquet(tmp_path):
    import csv

    import pyarrow.parquet as pq

    emulator = VapiEmulator(KEY, today=TODAY)
    outputs = {suffix: tmp_path / f"calls{suffix}" for suffix in (".csv", ".parquet")}
    with EmulatorServer(emulator) as server:
        for output in outputs.values():
            result = run(server, "export", *FETCH[1:], "--output", str(output))
            assert result.exit_code == 0, result.output
    with outputs[".csv"].open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    table = pq.read_table(outputs[".parquet"]).to_pylist()
    expected = emulator.totals(SINCE, UNTIL)
    # Parquet holds decimals to 9 places (a float's last digits of noise go); CSV holds them all.
    for written, places in ((rows, None), (table, Decimal("1e-9"))):
        assert len(written) == expected["calls"]
        for row in written:
            split = json.loads(row["cost_components"])
            total = sum(Decimal(v) for v in split.values())
            if places is not None:
                total = total.quantize(places)
            assert total == Decimal(str(row["cost"]))
            # What the cost covers is a comma-separated list of parts in CSV and Parquet.
            assert set(filter(None, row["cost_covers"].split(","))) <= {
                "platform",
                "telephony",
                "stt",
                "llm",
                "tts",
            }


def test_compare_with_ultravox_names_what_each_covers_and_prices_only_the_missing_minutes():
    from voice_usage_ultravox.emulator import UltravoxEmulator

    vapi = VapiEmulator(KEY, today=TODAY)
    ultravox = UltravoxEmulator(api_key="uv-test-key", today=TODAY)
    calls = [c for c in vapi.calls_between(SINCE, UNTIL) if c.ended_call]
    # From the emulator's own calls: only a call on Vapi's own number pays Vapi for its line,
    # so the others' call time goes without telephony (a call never answered has none).
    without = sum((c.talk_seconds for c in calls if c.line != "vapi"), Decimal(0)) / 60
    seconds = sum((c.talk_seconds for c in calls), Decimal(0))
    cost = sum((c.cost for c in calls), Decimal(0))
    assert 0 < without < seconds / 60
    price = Decimal("0.0085")
    with EmulatorServer(vapi) as v, EmulatorServer(ultravox) as u:
        env = {"VAPI_API_KEY": KEY, "VAPI_BASE_URL": v.base_url,
               "ULTRAVOX_API_KEY": "uv-test-key", "ULTRAVOX_BASE_URL": u.base_url}  # fmt: skip
        compare = ["compare", "vapi", "ultravox", "--since", "2026-10-01", "--until", "2026-11-01"]
        args = [*compare, "--add-cost", f"vapi.telephony=USD:{price}", "--format", "json"]
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
        table = CliRunner().invoke(cli, compare, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {row["provider"]: row for row in data["rows"]}
    row = rows["vapi"]
    assert row["cost_covers"] == ["platform", "stt", "llm", "tts"]
    minutes = without.quantize(Decimal("0.000001"), ROUND_HALF_UP)
    assert row["partly_covers"] == {"telephony": str(minutes)}
    [assumed] = row["assumed"]
    assert Decimal(assumed["minutes"]) == minutes and assumed["partly_covered"] is True
    added = (price * minutes).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    assert Decimal(assumed["cost"]) == added
    assert Decimal(row["all_in_cost"]) == cost + added  # Vapi has no fixed charges on its card
    assert rows["ultravox"]["cost_covers"] == ["platform", "stt", "llm", "tts"]
    assert rows["ultravox"]["partly_covers"] == {}
    assert rows["ultravox"]["gaps"] == ["telephony"]  # the price named vapi only
    assert table.exit_code == 0, table.output
    assert (
        "covers: vapi: platform, stt, llm, tts, and telephony on part of the calls; "
        "ultravox: platform, stt, llm, tts"
    ) in table.stdout
    assert f"vapi: no telephony on {without.quantize(Decimal('0.1'))} of " in table.stdout
