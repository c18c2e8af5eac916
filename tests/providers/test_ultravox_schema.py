"""Emulator responses and cassette bodies validated against Ultravox's own OpenAPI document.

The document (`tests/specs/ultravox-openapi.yaml`: the vendor's, trimmed to the paths read) is
loaded once per session;
each response is checked against the schema its path documents for a 200, `$ref`s into
`components/schemas` resolved, formats (uuid, date, date-time) checked, as a read (read-only
fields, which are most of them, are required in a response). A missing document fails
the tests: it is the contract, never a reason to skip.
"""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from voice_usage.emulator import EmulatorServer
from voice_usage_ultravox.emulator import DEMO_AGENTS, DEMO_VOICES, UltravoxEmulator

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "specs" / "ultravox-openapi.yaml"
CASSETTES = ROOT / "cassettes" / "test_ultravox_cassettes"
SPEC_URI = "urn:ultravox-openapi"
PATHS = (
    "/api/accounts/me/usage/calls",
    "/api/accounts/me/billing/usage",
    "/api/calls",
    "/api/agents/usage",
    "/api/accounts/me",
)


def _null_alternatives(node: Any) -> Any:
    """Make drf-spectacular's `nullable: true` beside `allOf`/`oneOf` (no `type`) explicit.

    OAS 3.0.3 gives `nullable` effect only next to `type`, and openapi-schema-validator follows
    that, so `sipDetails: null` (`allOf: [CallSipDetails], nullable: true`) would be refused
    although the document means "a CallSipDetails or null". Such schemas become
    `anyOf: [<the schema>, {enum: [null]}]`; nothing else changes.
    """
    if isinstance(node, list):
        return [_null_alternatives(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _null_alternatives(value) for key, value in node.items()}
    if (
        node.get("nullable") is True
        and "type" not in node
        and ("allOf" in node or "oneOf" in node or "anyOf" in node or "$ref" in node)
    ):
        inner = {k: v for k, v in node.items() if k not in ("nullable", "description")}
        return {"anyOf": [inner, {"enum": [None]}], "description": node.get("description", "")}
    return node


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    assert SPEC.is_file(), f"Ultravox's OpenAPI document is missing at {SPEC}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)
    return _null_alternatives(document)


@pytest.fixture(scope="session")
def validators(spec) -> dict[str, OAS30ReadValidator]:
    registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT4)
    )
    found = {}
    for path in PATHS:
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]
        found[path] = OAS30ReadValidator(
            _rebase(copy.deepcopy(schema)),
            registry=registry,
            format_checker=OAS30ReadValidator.FORMAT_CHECKER,
        )
    return found


def _rebase(node: Any) -> Any:
    # A path's response schema refers to `#/components/...`: point it at the registered document.
    if isinstance(node, dict):
        return {k: (f"{SPEC_URI}{v}" if k == "$ref" else _rebase(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def problems(validator: OAS30ReadValidator, body: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(body)
    ][:5]


def test_the_checks_have_teeth(validators):
    usage = validators["/api/accounts/me/usage/calls"]
    good = {
        "allTime": {
            "totalCount": 1,
            "errorCount": 0,
            "duration": "1s",
            "joinedCount": 1,
            "billedMinutes": 0.1,
        },
        "daily": [],
        "hourly": [],
    }
    assert problems(usage, good) == []
    assert problems(usage, {**good, "daily": [{**good["allTime"], "date": "2026-13-01"}]})
    assert problems(usage, {**good, "allTime": {**good["allTime"], "totalCount": "1"}})
    assert problems(usage, {"allTime": good["allTime"], "daily": []})  # hourly is required
    calls = validators["/api/calls"]
    assert problems(calls, {"results": [{"callId": "not-a-uuid"}]})
    agents = validators["/api/agents/usage"]
    assert problems(agents, [{"agent": {"agentId": DEMO_AGENTS[0][0]}, "usage": []}])  # no name


def emulator_bodies(style: str, key: str) -> list[tuple[str, Any]]:
    """Every kind of body the emulator answers, in one duration style."""
    emulator = UltravoxEmulator(api_key=key, duration_style=style, max_page_size=25)
    headers = {"X-API-Key": key}
    bodies: list[tuple[str, Any]] = []
    with (
        EmulatorServer(emulator) as server,
        httpx.Client(base_url=server.base_url, headers=headers) as client,
    ):

        def get(path: str, params: Any = None) -> None:
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text
            bodies.append((path, response.json()))

        month = {"fromDate": "2026-10-01", "toDate": "2026-10-31"}
        get("/api/accounts/me/usage/calls", month)
        get("/api/accounts/me/usage/calls", {"fromDate": "2026-01-01", "toDate": "2026-12-31"})
        get(
            "/api/accounts/me/usage/calls",
            {
                **month,
                "agentIds": [DEMO_AGENTS[0][0]],
                "voiceId": DEMO_VOICES[0],
                "durationMax": "120s",
                "metadata.source": "sip",
                "search": "booking",
            },
        )
        get("/api/accounts/me/usage/calls", {"fromDate": "2030-01-01", "toDate": "2029-01-01"})
        get("/api/accounts/me/billing/usage", {"fromDate": "2026-06-01", "toDate": "2026-08-30"})
        get("/api/accounts/me/billing/usage")
        get("/api/agents/usage", month)
        get("/api/agents/usage", {**month, "agentIds": [DEMO_AGENTS[1][0]]})
        get("/api/accounts/me")
        url: str | None = "/api/calls"
        params: Any = {**month, "pageSize": 40}
        pages = 0
        while url is not None:
            response = client.get(url, params=params)
            body = response.json()
            bodies.append(("/api/calls", body))
            url, params = body["next"], None
            pages += 1
        assert pages > 2
    return bodies


@pytest.mark.emulator
@pytest.mark.parametrize("style", ["protobuf", "django", "iso", "mixed"])
def test_every_emulator_response_fits_the_vendor_schema(validators, style, fake_key):
    bodies = emulator_bodies(style, fake_key)
    assert {path for path, _ in bodies} == set(PATHS)
    for path, body in bodies:
        assert problems(validators[path], body) == [], path


def test_calls_the_emulator_serves_cover_every_variant_the_schema_allows(validators, fake_key):
    emulator = UltravoxEmulator(api_key=fake_key)
    calls = emulator.calls_between(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    )
    statuses = {c.billing_status for c in calls}
    assert {
        "BILLING_STATUS_BILLED",
        "BILLING_STATUS_PENDING",
        "BILLING_STATUS_REFUNDED",
        "BILLING_STATUS_FREE_CONSOLE",
        "BILLING_STATUS_FREE_MINUTES",
        "BILLING_STATUS_FREE_SYSTEM_ERROR",
        "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
    } <= statuses
    assert {c.end_reason for c in calls} >= {
        "unjoined",
        "hangup",
        "system_error",
        "connection_error",
    }
    page = {"next": None, "previous": None, "results": [c.to_json("protobuf") for c in calls]}
    assert any(c["sipDetails"] is None for c in page["results"])
    assert any(c["sipDetails"] is not None for c in page["results"])
    assert problems(validators["/api/calls"], page) == []


def cassette_bodies() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in cassette["interactions"]:
            if interaction["response"]["status"]["code"] != 200:
                continue
            url = httpx.URL(interaction["request"]["uri"])
            found.append((url.path, json.loads(interaction["response"]["body"]["string"])))
    return found


def test_every_cassette_body_fits_the_vendor_schema(validators):
    bodies = cassette_bodies()
    assert len(bodies) >= 5
    for path, body in bodies:
        assert problems(validators[path], body) == [], path
