"""Trim a vendor's OpenAPI document to the paths voice-usage reads.

    python tests/specs/trim.py FULL.yaml OUT.yaml --path /v1/usage [--path ...] --header TEXT

Kept: the named paths (GET only), the `components/schemas` they reach through `$ref`, and every
field of those schemas (the emulator tests check whole responses). Dropped: every other path and
schema, and documentation only (`description`, `summary`, `example(s)`, `tags`, `x-*`). The same
function backs the test that holds a vendored copy to the full document when that is at hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

DOC_KEYS = frozenset({"description", "summary", "example", "examples", "tags", "externalDocs"})


def _undocumented(node: Any, *, in_properties: bool = False) -> Any:
    """``node`` without its documentation; a property that is *named* `description` stays."""
    if isinstance(node, list):
        return [_undocumented(item) for item in node]
    if not isinstance(node, dict):
        return node
    kept = {}
    for key, value in node.items():
        if not in_properties and (key in DOC_KEYS or key.startswith("x-")):
            continue
        kept[key] = _undocumented(value, in_properties=key == "properties" and not in_properties)
    return kept


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def trim(document: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The document reduced to ``paths`` (GET) and the schemas they reach."""
    kept_paths = {path: {"get": document["paths"][path]["get"]} for path in paths}
    schemas = document.get("components", {}).get("schemas", {})
    wanted: set[str] = set()
    todo = list(_refs(kept_paths))
    while todo:
        ref = todo.pop()
        name = ref.rsplit("/", 1)[-1]
        if ref.startswith("#/components/schemas/") and name not in wanted:
            wanted.add(name)
            todo.extend(_refs(schemas[name]))
    trimmed: dict[str, Any] = {"openapi": document["openapi"], "info": dict(document["info"])}
    if "servers" in document:
        trimmed["servers"] = [{"url": s["url"]} for s in document["servers"]]
    trimmed["paths"] = kept_paths
    if wanted:
        trimmed["components"] = {"schemas": {n: schemas[n] for n in sorted(wanted)}}
    return _undocumented(trimmed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("full", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--header", required=True, help="comment lines naming source and version")
    args = parser.parse_args()
    document = yaml.safe_load(args.full.read_text(encoding="utf-8"))
    body = yaml.safe_dump(trim(document, args.path), sort_keys=False, allow_unicode=True)
    header = "".join(f"# {line}\n" if line else "#\n" for line in args.header.splitlines())
    args.out.write_text(header + body, encoding="utf-8")


if __name__ == "__main__":
    main()
