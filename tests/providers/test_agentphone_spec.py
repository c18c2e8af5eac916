"""Every response of the AgentPhone emulator fits the vendor's own spec, schema for schema.

The spec is the usage part of AgentPhone's Fern-generated OpenAPI document, vendored in
`tests/specs/agentphone-usage-openapi.yml` (its source and version in its header; `trim.py
--check` holds it to a newer document of the vendor's).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS32Validator

from voice_usage.emulator import EmulatorServer
from voice_usage_agentphone import AgentPhoneEmulator

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "tests" / "specs" / "agentphone-usage-openapi.yml"

# (path, query parameters, expected status): the documented parameter ranges and their edges.
REQUESTS: list[tuple[str, dict[str, str], int]] = [
    ("/v1/usage", {}, 200),
    ("/v1/usage/daily", {}, 200),
    ("/v1/usage/daily", {"days": "1"}, 200),
    ("/v1/usage/daily", {"days": "7"}, 200),
    ("/v1/usage/daily", {"days": "365"}, 200),
    ("/v1/usage/daily", {"days": "0"}, 422),
    ("/v1/usage/daily", {"days": "366"}, 422),
    ("/v1/usage/daily", {"days": "-3"}, 422),
    ("/v1/usage/daily", {"days": "ten"}, 422),
    ("/v1/usage/monthly", {}, 200),
    ("/v1/usage/monthly", {"months": "1"}, 200),
    ("/v1/usage/monthly", {"months": "24"}, 200),
    ("/v1/usage/monthly", {"months": "0"}, 422),
    ("/v1/usage/monthly", {"months": "25"}, 422),
    ("/v1/usage/monthly", {"months": "2.5"}, 422),
    ("/v1/usage/by-number", {}, 200),
    ("/v1/usage/by-agent", {"period": "week"}, 200),
    ("/v1/usage/by-agent", {"period": "month"}, 200),
    ("/v1/usage/by-agent", {"period": "year"}, 200),
    ("/v1/usage/by-agent", {"period": "month", "tz": "America/New_York"}, 200),
    ("/v1/usage/by-agent", {"period": "week", "tz": "Asia/Kolkata"}, 200),
    ("/v1/usage/by-agent", {"period": "year", "tz": "Pacific/Chatham"}, 200),
    ("/v1/usage/by-agent", {}, 422),
    ("/v1/usage/by-agent", {"period": "day"}, 422),
]

EMULATORS = {
    "spec shape": {"today": date(2026, 11, 22)},
    "with voiceMinutes": {"today": date(2026, 11, 22), "voice_minutes": True},
    "leap day": {"today": date(2028, 2, 29)},
    "new year": {"today": date(2027, 1, 1)},
    "new account": {"today": date(2026, 3, 8), "history_days": 3},
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    assert SPEC_PATH.is_file(), f"the vendor spec is missing: {SPEC_PATH}"
    loaded = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def response_validator(spec: dict[str, Any], path: str, status: int) -> OAS32Validator:
    declared = spec["paths"][path]["get"]["responses"]
    assert str(status) in declared, f"the spec declares no {status} for {path}"
    schema = declared[str(status)]["content"]["application/json"]["schema"]
    # The response schema, with the spec's components beside it so that its $refs resolve.
    return OAS32Validator({**schema, "components": spec["components"]})


def test_the_spec_is_the_one_the_emulator_serves(spec):
    assert set(spec["paths"]) == {path for path, _, _ in REQUESTS}
    assert spec["servers"][0]["url"] == "https://api.agentphone.ai"


@pytest.mark.parametrize("variant", list(EMULATORS))
def test_every_emulator_response_fits_the_spec(spec, fake_key, variant):
    emulator = AgentPhoneEmulator(api_key=fake_key, **EMULATORS[variant])
    headers = {"Authorization": f"Bearer {fake_key}"}
    with EmulatorServer(emulator) as server, httpx.Client(base_url=server.base_url) as client:
        for path, params, status in REQUESTS:
            answer = client.get(path, params=params, headers=headers)
            where = f"{variant}: GET {path} {params}"
            assert answer.status_code == status, f"{where}: {answer.status_code} {answer.text}"
            assert answer.headers["content-type"] == "application/json", where
            body = answer.json()
            errors = [e.message for e in response_validator(spec, path, status).iter_errors(body)]
            assert errors == [], f"{where}: {errors[:3]}"
            if status == 200 and "data" in body:
                assert body["data"], f"{where}: an empty list proves little"


def test_the_documented_agent_items_fit_the_spec(spec, fake_key):
    documented = [
        {"agentId": "a1b2c3d4-e5f6-7890-ab12-cd34ef567890", "agentName": "Support Agent Alpha",
         "messages": 152, "calls": 47, "totalSeconds": 7320, "isOrphan": False},
        {"agentId": None, "agentName": "Unassigned", "messages": 25, "calls": 5,
         "totalSeconds": 600, "isOrphan": True},
    ]  # fmt: skip
    emulator = AgentPhoneEmulator(
        api_key=fake_key, today=date(2026, 11, 22), agent_usage=documented
    )
    with EmulatorServer(emulator) as server:
        answer = httpx.get(
            f"{server.base_url}/v1/usage/by-agent",
            params={"period": "month"},
            headers={"Authorization": f"Bearer {fake_key}"},
        )
    assert answer.json()["data"] == documented
    assert (
        list(response_validator(spec, "/v1/usage/by-agent", 200).iter_errors(answer.json())) == []
    )


def test_the_validator_does_catch_a_misfit(spec):
    """The schemas are live: a body of the wrong shape is reported."""
    validator = response_validator(spec, "/v1/usage/daily", 200)
    wrong = {"data": [{"date": "2025-01-09", "messages": 1, "calls": "3", "webhooks": 0}]}
    messages = [e.message for e in validator.iter_errors(wrong)]
    assert any("'days' is a required property" in m for m in messages)
    nested = [e.message for e in validator.iter_errors({**wrong, "days": 1})]
    assert nested == ["'3' is not of type 'integer'"]
