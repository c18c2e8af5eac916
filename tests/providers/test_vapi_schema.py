"""The Vapi emulator's answers and the Vapi cassettes fit Vapi's own schemas, for the parts read.

The schemas are trimmed from Vapi's OpenAPI document and SDK types into
`tests/providers/vapi_schema.json` (its `$comment` names the sources), so this test needs
nothing outside the repository.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from voice_usage.emulator import EmulatorRequest
from voice_usage_vapi.emulator import DEMO_ASSISTANTS, DEMO_NUMBERS, VapiEmulator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).with_name("vapi_schema.json")).read_text(encoding="utf-8"))
CASSETTES = ROOT / "cassettes" / "test_vapi_cassettes"
OCTOBER = {"createdAtGe": "2026-10-01T00:00:00.000Z", "createdAtLt": "2026-11-01T00:00:00.000Z"}


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]})


def answer(emulator: VapiEmulator, path: str, query: dict[str, str]) -> tuple[int, Any]:
    request = EmulatorRequest("GET", path, {k: [v] for k, v in query.items()}, {}, "http://x")
    response = emulator.handle(request)
    return response.status, json.loads(response.body)


EMULATORS = {
    "default": {"today": date(2026, 11, 20)},
    "stuck calls": {"today": date(2026, 11, 20), "stuck_rate": 0.2},
    "retention": {"today": date(2026, 11, 20), "retention_days": 30},
    "no v2": {"today": date(2026, 11, 20), "v2": False},
}

REQUESTS: list[tuple[str, dict[str, str], int, str]] = [
    ("/v2/call", {**OCTOBER, "limit": "50", "page": "1", "sortOrder": "ASC"}, 200, "CallPaginatedResponse"),
    ("/v2/call", {**OCTOBER, "limit": "50", "page": "3"}, 200, "CallPaginatedResponse"),
    ("/v2/call", {**OCTOBER, "limit": "1000", "page": "99"}, 200, "CallPaginatedResponse"),
    ("/v2/call", {**OCTOBER, "assistantId": DEMO_ASSISTANTS[0]}, 200, "CallPaginatedResponse"),
    ("/v2/call", {**OCTOBER, "phoneNumberId": DEMO_NUMBERS[1][0]}, 200, "CallPaginatedResponse"),
    ("/v2/call", {"limit": "1001"}, 400, "Error"),
    ("/v2/call", {"page": "0"}, 400, "Error"),
    ("/v2/call", {"createdAtGe": "2026-10-01T00:00:00"}, 400, "Error"),
    ("/call", {**OCTOBER, "limit": "1000"}, 200, "CallList"),
    ("/call", {"createdAtGe": "2026-10-01T00:00:00Z", "createdAtLe": "2026-10-03T11:00:00Z"}, 200, "CallList"),
    ("/call", {"limit": "abc"}, 400, "Error"),
    ("/nowhere", {}, 404, "Error"),
]  # fmt: skip


@pytest.mark.parametrize("setup", list(EMULATORS))
@pytest.mark.parametrize(("path", "query", "status", "schema"), REQUESTS)
def test_every_emulator_answer_fits_the_schema(setup, path, query, status, schema):
    emulator = VapiEmulator(**EMULATORS[setup])
    if path == "/v2/call" and not emulator.v2:
        status, schema = 404, "Error"
    got, body = answer(emulator, path, query)
    assert got == status
    validator(schema).validate(body)
    if schema != "Error":
        calls = body if schema == "CallList" else body["results"]
        assert calls or "99" in query.values() or setup == "retention"


def test_the_unauthorized_answer_fits_the_error_schema():
    emulator = VapiEmulator(today=date(2026, 11, 20))
    request = EmulatorRequest("GET", "/v2/call", {}, {"authorization": "Bearer no"}, "http://x")
    assert not emulator.authorized(request)
    validator("Error").validate(json.loads(emulator.unauthorized(request).body))


def test_the_schema_refuses_what_the_provider_refuses():
    call = {"id": "c", "orgId": "o", "createdAt": "2026-10-01T00:00:00Z", "updatedAt": "x"}
    assert validator("Call").is_valid(call)
    assert not validator("Call").is_valid({**call, "cost": "0.12"})
    assert not validator("Call").is_valid({k: v for k, v in call.items() if k != "orgId"})
    assert not validator("Call").is_valid({**call, "costs": [{"type": "vapi", "cost": 0.1}]})


def _cassette_bodies() -> list[Any]:
    found = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, interaction in enumerate(data["interactions"]):
            status = interaction["response"]["status"]["code"]
            url = httpx.URL(interaction["request"]["uri"])
            if status == 200 and url.path == "/analytics":
                schema = "AnalyticsResultList"
                request = json.loads(interaction["request"]["body"])
                validator("AnalyticsQueryDTO").validate(request)
            elif status == 200:
                schema = "CallPaginatedResponse" if url.path == "/v2/call" else "CallList"
            else:
                schema = "Error"
            body = json.loads(interaction["response"]["body"]["string"])
            found.append(pytest.param(body, schema, id=f"{path.stem}#{index}"))
    return found


@pytest.mark.parametrize(("body", "schema"), _cassette_bodies())
def test_every_cassette_body_fits_the_schema(body, schema):
    validator(schema).validate(body)
