"""The package's import graph: data flows one way through the layers, and nothing imports in a cycle.

Every `import` in `src/voice_usage` counts, including those inside functions and under
`TYPE_CHECKING`: a lazy import is still a dependency. Layers, lowest first (a module may import
its own layer or a lower one, never a higher one):

    base      _schema, _enums, _exceptions, _rollup, _optional, _version, _calendar, _lazy, emulator
    _pricing  rate cards, FX, repricing of records
    _engine   HTTP, retries, pagination, the fetch runner, plugin discovery (and hookspecs)
    _store    history store and sync
    _analysis roll-ups into rows, grouping, comparison
    _outputs  serialization, exports, FOCUS
    cli       the command line
    public    voice_usage, voice_usage.provider, voice_usage.testing (facades; nothing imports them)

Provider distributions import only the public modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "voice_usage"

LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "voice_usage._schema",
        "voice_usage._enums",
        "voice_usage._exceptions",
        "voice_usage._rollup",
        "voice_usage._optional",
        "voice_usage._version",
        "voice_usage._calendar",
        "voice_usage._lazy",
        "voice_usage.emulator",
    ),
    ("voice_usage._pricing",),
    ("voice_usage._engine", "voice_usage.hookspecs"),
    ("voice_usage._store",),
    ("voice_usage._analysis",),
    ("voice_usage._outputs",),
    ("voice_usage.cli", "voice_usage.__main__"),
    ("voice_usage", "voice_usage.provider", "voice_usage.testing", "voice_usage.dlt"),
)
PUBLIC_FOR_PROVIDERS = {
    "voice_usage.provider",
    "voice_usage.testing",
    "voice_usage.emulator",
    "voice_usage.hookspecs",
}


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    return {module_name(p, src): p for p in sorted((src / package).rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of ``path``, resolved to modules in ``known``."""
    text = path.read_text(encoding="utf-8")
    return imports_in(name, text, known, is_package=path.name == "__init__.py")


def imports_in(
    name: str, text: str, known: set[str], *, is_package: bool = False
) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in ``text``, the source of module ``name``."""
    here = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in known else target), node.lineno


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    if rank < 0:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return rank


def graph() -> dict[str, dict[str, int]]:
    found = modules()
    known = set(found)
    edges: dict[str, dict[str, int]] = {}
    for name, path in found.items():
        edges[name] = {
            target: line
            for target, line in imports(name, path, known)
            if target in known and target != name
        }
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected sets of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{source} (line {line}) imports {target}"
        for source, targets in graph().items()
        for target, line in targets.items()
        if layer_of(target) > layer_of(source)
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    assert cycles(graph()) == []


def test_the_checks_see_lazy_imports_and_cycles():
    """The walker itself: an import inside a function counts, relative imports resolve, and a
    loop is found."""
    source = (
        "import json\n"
        "def f():\n"
        "    from voice_usage.cli import _app\n"
        "    from ._engine import _fetch\n"
    )
    known = {"voice_usage.cli", "voice_usage.cli._app", "voice_usage._engine._fetch"}
    found = list(imports_in("voice_usage._schema", source, known))
    assert found == [
        ("json", 1),
        ("voice_usage.cli._app", 3),
        ("voice_usage._engine._fetch", 4),
    ]
    assert layer_of("voice_usage.cli._app") > layer_of("voice_usage._schema")
    assert layer_of("voice_usage._engine._fetch") > layer_of("voice_usage._pricing._fx")
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "provider_src", sorted((ROOT / "providers").glob("*/src")), ids=lambda p: p.parent.name
)
def test_providers_import_only_the_public_modules(provider_src: Path):
    private = []
    for path in sorted(provider_src.rglob("*.py")):
        name = module_name(path, provider_src)
        for target, line in imports(name, path, set()):
            if target.split(".")[0] == PACKAGE and target not in PUBLIC_FOR_PROVIDERS:
                private.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert private == []
