import ast
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import voice_usage

INIT = Path(voice_usage.__file__)


def _type_checking_imports() -> set[str]:
    """The names `voice_usage/__init__.py` imports for type checkers (under TYPE_CHECKING)."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.name
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_all_is_sorted_and_every_name_is_loaded_from_where_type_checkers_see_it():
    exported = voice_usage.__all__
    assert exported == sorted(exported)
    lazy = set(voice_usage._WHERE)
    assert set(exported) == lazy | {"__version__"}
    assert _type_checking_imports() == lazy
    for name, module in voice_usage._WHERE.items():
        assert getattr(voice_usage, name) is getattr(importlib.import_module(module), name)


def test_an_unknown_name_is_an_attribute_error():
    try:
        voice_usage.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_importing_the_package_stays_light():
    # Nothing heavy until a name is used: not the HTTP stack, pydantic, the CLI or the servers.
    code = (
        "import sys, voice_usage\n"
        "heavy = ('httpx', 'pydantic', 'rich', 'click', 'http.server', 'voice_usage.cli',"
        " 'voice_usage.emulator', 'voice_usage._engine', 'voice_usage._analysis')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert voice_usage.__version__\n"
        "voice_usage.UsageRecord\n"
        "assert 'pydantic' in sys.modules and 'httpx' not in sys.modules\n"
        "voice_usage.run_demo\n"
        "assert 'voice_usage.cli' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exception_tree_has_one_root():
    for name in voice_usage.__all__:
        obj = getattr(voice_usage, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, voice_usage.VoiceUsageError), name


def test_the_plugin_api_is_sorted_and_complete():
    from voice_usage import provider

    exported = provider.__all__
    assert exported == sorted(exported)
    # Loaded on first use, so `dir()`; the modules it imports for that are no part of the API.
    public = {
        name
        for name in dir(provider)
        if not name.startswith("_") and not isinstance(getattr(provider, name), ModuleType)
    }
    assert set(exported) == public
