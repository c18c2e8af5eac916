"""Emulator answers and cassette bodies validated against a trimmed schema of Retell's list-calls.

The schema (`tests/providers/schemas/retell-list-calls.schema.json`, in this repository) describes
the parts voice-usage reads, trimmed by hand from Retell's SDK types (its header names them): the
v3 page, the v2 bare array, the call, its `call_cost` and product lines, with the fields Retell
marks required. Every kind of body the emulator serves, and every 200 body of the cassettes, must
fit it.
"""

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from voice_usage.emulator import EmulatorServer
from voice_usage_retell.emulator import DEMO_AGENTS, RetellEmulator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).parent / "schemas" / "retell-list-calls.schema.json"
CASSETTES = ROOT / "cassettes" / "test_retell_cassettes"
OCTOBER = [1_790_812_800_000, 1_793_491_199_999]


@pytest.fixture(scope="module")
def validators() -> dict[str, Draft202012Validator]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    pages = {"v3": "#/$defs/V3Page", "v2": "#/$defs/V2Page"}
    return {
        version: Draft202012Validator({"$ref": ref, **{k: schema[k] for k in ("$id", "$defs")}})
        for version, ref in pages.items()
    }


def problems(validator: Draft202012Validator, body: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)
    ][:5]


def test_the_checks_have_teeth(validators):
    v3 = validators["v3"]
    call = {
        "call_id": "c",
        "agent_id": "a",
        "agent_version": 1,
        "call_status": "ended",
        "call_type": "web_call",
        "access_token": "t",
    }
    assert problems(v3, {"items": [call], "has_more": False}) == []
    assert problems(v3, {"items": [call]})  # has_more is required
    assert problems(v3, {"items": [{**call, "call_type": "phone_call"}], "has_more": False})
    assert problems(v3, {"items": [{**call, "start_timestamp": 1.5}], "has_more": False})
    cost = {
        "product_costs": [],
        "combined_cost": "70",
        "total_duration_seconds": 1,
        "total_duration_unit_price": 1,
    }
    assert problems(v3, {"items": [{**call, "call_cost": cost}], "has_more": False})
    assert problems(validators["v2"], {"items": []})  # v2 is a bare array


def emulator_bodies(key: str) -> list[tuple[str, Any]]:
    """Every kind of body the emulator answers: pages of both versions, filtered and not."""
    bodies: list[tuple[str, Any]] = []
    auth = {"Authorization": f"Bearer {key}"}
    emulator = RetellEmulator(key, calls_per_day=(20, 30), today=date(2026, 10, 31))
    with (
        EmulatorServer(emulator) as server,
        httpx.Client(base_url=server.base_url, headers=auth) as client,
    ):

        def post(version: str, body: dict[str, Any]) -> Any:
            response = client.post(f"/{version}/list-calls", json=body)
            assert response.status_code == 200, response.text
            bodies.append((version, response.json()))
            return response.json()

        v3_range = {"start_timestamp": {"op": "bt", "type": "range", "value": OCTOBER}}
        page = post("v3", {"filter_criteria": v3_range, "sort_order": "ascending", "limit": 300})
        while page["has_more"]:
            page = post(
                "v3",
                {
                    "filter_criteria": v3_range,
                    "sort_order": "ascending",
                    "limit": 300,
                    "pagination_key": page["pagination_key"],
                },
            )
        agent = {**v3_range, "agent": [{"agent_id": DEMO_AGENTS[2].agent_id}]}
        post("v3", {"filter_criteria": agent, "include_total": True, "limit": 1000})
        post("v3", {})
        v2_range = {
            "start_timestamp": {"lower_threshold": OCTOBER[0], "upper_threshold": OCTOBER[1]}
        }
        post("v2", {"filter_criteria": v2_range, "sort_order": "ascending", "limit": 1000})
        post("v2", {"filter_criteria": {"agent_id": [DEMO_AGENTS[0].agent_id]}})
    return bodies


@pytest.mark.emulator
def test_every_emulator_response_fits_the_schema(validators, fake_key):
    bodies = emulator_bodies(fake_key)
    assert len(bodies) > 5
    kinds = set()
    for version, body in bodies:
        assert problems(validators[version], body) == [], version
        items = body["items"] if version == "v3" else body
        kinds |= {(c["call_type"], c["call_status"], "call_cost" in c) for c in items}
    # The emulated calls cover what the schema allows: web and phone, failed, not rated yet
    # (some of the emulated today's calls, October 31).
    assert {("phone_call", "not_connected", True), ("web_call", "error", True)} <= kinds
    assert {("phone_call", "ended", False), ("web_call", "ended", False)} <= kinds


def cassette_bodies() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in cassette["interactions"]:
            if interaction["response"]["status"]["code"] != 200:
                continue
            version = httpx.URL(interaction["request"]["uri"]).path.split("/")[1]
            found.append((version, json.loads(interaction["response"]["body"]["string"])))
    return found


def test_every_cassette_body_fits_the_schema(validators):
    bodies = cassette_bodies()
    assert {version for version, _ in bodies} == {"v2", "v3"}
    assert len(bodies) >= 5
    for version, body in bodies:
        assert problems(validators[version], body) == [], version
