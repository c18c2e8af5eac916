"""Trim a vendor's OpenAPI document to the paths voice-usage reads.

    python tests/specs/trim.py FULL.yaml OUT.yaml --path /v1/usage [--path ...] --header TEXT
    python tests/specs/trim.py FULL.yaml OUT.yaml --path /v1/usage [--path ...] --check

Kept: the named paths (GET only), the `components/schemas` they reach through `$ref`, and every
field of those schemas (the emulator tests check whole responses). Dropped: every other path and
schema, and documentation only (`description`, `summary`, `example(s)`, `tags`, `x-*`).

`--check` writes nothing: it says whether OUT (a vendored copy) is still FULL trimmed, and exits 1
when it is not. Run it when a vendor publishes a new document; the test suite reads only the
vendored copies, so that a clone of the repository alone passes it.
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


def differences(trimmed: Any, vendored: Any, where: str = "") -> list[str]:
    """Where ``vendored`` differs from ``trimmed``, as JSON-pointer-like paths."""
    if isinstance(trimmed, dict) and isinstance(vendored, dict):
        found = []
        for key in sorted(set(trimmed) | set(vendored), key=str):
            here = f"{where}/{key}"
            if key not in vendored:
                found.append(f"{here}: missing from the vendored copy")
            elif key not in trimmed:
                found.append(f"{here}: not in the trimmed document")
            else:
                found.extend(differences(trimmed[key], vendored[key], here))
        return found
    if trimmed != vendored:
        return [f"{where or '/'}: {vendored!r} where the document has {trimmed!r}"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("full", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--path", action="append", required=True)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--header", help="comment lines naming source and version")
    action.add_argument("--check", action="store_true", help="compare OUT with FULL trimmed")
    args = parser.parse_args(argv)
    trimmed = trim(yaml.safe_load(args.full.read_text(encoding="utf-8")), args.path)
    if args.check:
        found = differences(trimmed, yaml.safe_load(args.out.read_text(encoding="utf-8")))
        for line in found:
            print(f"{args.out}: {line}")
        if not found:
            print(f"{args.out}: the vendored copy is {args.full} trimmed")
        return 1 if found else 0
    body = yaml.safe_dump(trimmed, sort_keys=False, allow_unicode=True)
    header = "".join(f"# {line}\n" if line else "#\n" for line in args.header.splitlines())
    args.out.write_text(header + body, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
