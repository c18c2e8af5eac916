"""Emulator responses and cassette bodies checked against a trimmed copy of Twilio's schemas.

`tests/providers/schemas/twilio-api-v2010-trimmed.json` holds the Calls list and Usage Records
page schemas cut from Twilio's OpenAPI document (its `_source` names the document and commit),
with one stated difference: a Usage Record's `price` may be a string, as Twilio sends it.
"""

import json
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from voice_usage.emulator import EmulatorServer
from voice_usage_twilio.emulator import DEMO_ACCOUNT_SID, TwilioEmulator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = json.loads(
    (Path(__file__).parent / "schemas" / "twilio-api-v2010-trimmed.json").read_text()
)
CASSETTES = ROOT / "cassettes" / "test_twilio_cassettes"
URI = "urn:twilio-trimmed"
REGISTRY = Registry().with_resource(
    URI, Resource.from_contents(SCHEMAS, default_specification=DRAFT4)
)


def check(kind: str, body: Any) -> None:
    validator = OAS30ReadValidator({"$ref": f"{URI}#/{kind}"}, registry=REGISTRY)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:3])
    items = body["calls"] if kind == "call_page" else []
    for call in items:  # Twilio's own format name, date-time-rfc-2822
        for field in ("start_time", "end_time", "date_created", "date_updated"):
            if call.get(field):
                assert parsedate_to_datetime(call[field]).tzinfo is not None, (field, call[field])


def test_the_trimmed_schema_names_its_source():
    assert (
        "twilio/twilio-oai" in SCHEMAS["_source"] and "twilio_api_v2010.json" in SCHEMAS["_source"]
    )


def test_the_schema_check_refuses_a_misfit():
    with pytest.raises(AssertionError, match="is not of type"):
        check("call_page", {"calls": [{"sid": 42}], "next_page_uri": None})


def test_emulator_pages_fit_the_schemas(fake_key):
    emulator = TwilioEmulator(fake_key, calls_per_day=(5, 5))
    base = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
    with EmulatorServer(emulator) as server:

        def get(path):
            return httpx.get(server.base_url + path, auth=(DEMO_ACCOUNT_SID, fake_key)).json()

        check(
            "call_page",
            get(f"{base}/Calls.json?StartTime>=2026-10-01&StartTime<=2026-10-02&PageSize=3"),
        )
        check(
            "call_page",
            get(f"{base}/Calls.json?StartTime=2026-10-01&PageSize=3&Page=1&PageToken=PA1"),
        )
        for kind in ("Daily", "Monthly"):
            check(
                "usage_page",
                get(f"{base}/Usage/Records/{kind}.json?StartDate=2026-10-01&EndDate=2026-11-30"),
            )


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.stem)
def test_cassette_bodies_fit_the_schemas(path):
    for interaction in yaml.safe_load(path.read_text())["interactions"]:
        body = json.loads(interaction["response"]["body"]["string"])
        check("call_page" if "calls" in body else "usage_page", body)
