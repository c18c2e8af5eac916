"""`cost_note` is prose for people: no code parses it (design decision 10).

Code may write a note, copy a note whole into another (a roll-up's, a row's), test whether there
is one, leave duplicates out, and sort whole notes (so a list of reasons reads the same every run); it may not look inside one (`startswith`, `split`, a regular
expression, a slice). The structured fields (`rate_card`, `cost_components`, `cost_covers`,
`cost_estimate`) say what code needs to know.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTES = {"cost_note", "cost_notes", "uncosted_notes"}
COPYING_CALLS = {"append", "join"}


def _sources() -> list[Path]:
    files = sorted((ROOT / "src").rglob("*.py"))
    files += sorted((ROOT / "providers").glob("*/src/**/*.py"))
    return files


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _writes_a_note(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` is (inside) the value given to a `cost_note`."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.keyword) and parent.arg == "cost_note":
            return True
        if isinstance(parent, ast.Dict):
            for key, value in zip(parent.keys, parent.values, strict=True):
                if value is node and isinstance(key, ast.Constant) and key.value == "cost_note":
                    return True
        if not isinstance(parent, ast.JoinedStr | ast.FormattedValue | ast.BinOp | ast.IfExp):
            return False
        node = parent
    return False


def _allowed(node: ast.Attribute, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if _writes_a_note(node, parents):
        return True
    if isinstance(parent, ast.Call) and node in parent.args:
        func = parent.func
        if isinstance(func, ast.Name) and func.id == "sorted":  # whole notes put in order
            return True
        return isinstance(func, ast.Attribute) and func.attr in COPYING_CALLS
    if isinstance(parent, ast.Attribute) and parent.attr in COPYING_CALLS:  # notes.append(...)
        return True
    if isinstance(parent, ast.Dict) and node in parent.values:  # copied whole to a column
        return True
    if isinstance(parent, ast.Compare):  # leaving duplicates out: `note not in notes`
        return all(isinstance(op, ast.In | ast.NotIn) for op in parent.ops)
    if isinstance(parent, ast.BoolOp | ast.If | ast.UnaryOp | ast.Assert):  # is there a note
        return True
    if isinstance(parent, ast.Return):  # a property handing the note on whole
        return True
    if isinstance(parent, ast.keyword | ast.Assign):  # handed on whole, under another name
        return isinstance(parent, ast.keyword) or all(
            isinstance(t, ast.Name | ast.Attribute) for t in parent.targets
        )
    return False


def test_no_code_reads_inside_a_cost_note():
    offences = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = _parents(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in NOTES
                and isinstance(node.ctx, ast.Load)
                and not _allowed(node, parents)
            ):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offences == [], "cost_note is read, not only written or copied: " + ", ".join(offences)


def test_the_check_catches_a_parse():
    tree = ast.parse("label = record.cost_note.removeprefix('rate card ')")
    parents = _parents(tree)
    [node] = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "cost_note"]
    assert not _allowed(node, parents)
    tree = ast.parse("for note in totals.cost_notes:\n    pass")
    parents = _parents(tree)
    [node] = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "cost_notes"]
    assert not _allowed(node, parents)
