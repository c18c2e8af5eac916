"""`tests/specs/trim.py`, which makes the vendored OpenAPI copies, on a document written here.

The copies under `tests/specs/` are what the emulator and cassette tests validate against; when a
vendor publishes a new document, `trim.py --check` says whether a copy is still that document
trimmed. Here both are held to a small document whose trimmed form is worked out by hand.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

TRIM = Path(__file__).resolve().parent / "specs" / "trim.py"

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Vendor", "version": "2.1", "description": "dropped"},
    "servers": [{"url": "https://api.vendor.example", "description": "production"}],
    "tags": [{"name": "usage"}],
    "paths": {
        "/usage": {
            "get": {
                "summary": "Usage",
                "tags": ["usage"],
                "x-fern-sdk-method-name": "list",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Page"}}
                        },
                    }
                },
            },
            "post": {"responses": {"201": {"description": "made"}}},
        },
        "/agents": {"get": {"responses": {"200": {"description": "OK"}}}},
    },
    "components": {
        "schemas": {
            "Page": {
                "type": "object",
                "description": "A page",
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "description": {"type": "string", "description": "a field so named"},
                },
                "example": {"items": []},
            },
            "Item": {
                "type": "object",
                "required": ["seconds"],
                "properties": {"seconds": {"type": "integer", "x-unit": "s"}},
            },
            "Agent": {"type": "object"},
        }
    },
}

# By hand: GET /usage only; Page and Item (reached through $ref), not Agent; documentation keys
# and x-* gone, except a property that is itself named `description`.
TRIMMED: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Vendor", "version": "2.1"},
    "servers": [{"url": "https://api.vendor.example"}],
    "paths": {
        "/usage": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Page"}}
                        }
                    }
                }
            }
        }
    },
    "components": {
        "schemas": {
            "Item": {
                "type": "object",
                "required": ["seconds"],
                "properties": {"seconds": {"type": "integer"}},
            },
            "Page": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "description": {"type": "string"},
                },
            },
        }
    },
}


@pytest.fixture(scope="module")
def trim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trim", TRIM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trim_keeps_the_paths_read_and_the_schemas_they_reach(trim):
    assert trim.trim(DOCUMENT, ["/usage"]) == TRIMMED


def write(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_the_written_copy_passes_its_own_check(trim, tmp_path, capsys):
    full = write(tmp_path, "full.yaml", DOCUMENT)
    copy = tmp_path / "copy.yaml"
    argv = [str(full), str(copy), "--path", "/usage"]
    assert trim.main([*argv, "--header", "Vendor 2.1\nfrom its site"]) == 0
    written = copy.read_text(encoding="utf-8")
    assert written.startswith("# Vendor 2.1\n# from its site\n")
    assert yaml.safe_load(written) == TRIMMED
    assert trim.main([*argv, "--check"]) == 0
    assert "the vendored copy is" in capsys.readouterr().out


def test_the_check_names_what_a_newer_document_changed(trim, tmp_path, capsys):
    newer = yaml.safe_load(yaml.safe_dump(DOCUMENT))
    newer["components"]["schemas"]["Item"]["properties"]["seconds"]["type"] = "number"
    newer["components"]["schemas"]["Item"]["properties"]["cost"] = {"type": "string"}
    copy = write(tmp_path, "copy.yaml", TRIMMED)
    full = write(tmp_path, "full.yaml", newer)
    assert trim.main([str(full), str(copy), "--path", "/usage", "--check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{copy}: /components/schemas/Item/properties/cost: missing from the vendored copy",
        f"{copy}: /components/schemas/Item/properties/seconds/type: 'integer' where the "
        "document has 'number'",
    ]
