"""Provider discovery: entry points, conflicts, blocking, broken plugins."""

import importlib.metadata as md
import sys
import types
from typing import Any

import pluggy
import pytest

import voice_usage
from voice_usage import ConfigurationError, ProviderNotFoundError, hookimpl, load_registry
from voice_usage._engine import _plugins
from voice_usage._engine._entry_points import read_entry_points
from voice_usage._engine._plugins import get_plugin_manager
from voice_usage.testing import FakeProvider, check_provider


class FakeDist:
    def __init__(self, name: str, module: str, ep_name: str, version: str = "1.0") -> None:
        self.metadata = {"Name": name}
        self.version = version
        self.entry_points = [md.EntryPoint(name=ep_name, value=module, group="voice_usage")]


def plugin_module(name: str, *providers: Any, broken: bool = False) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def register_providers(register):  # type: ignore[no-untyped-def]
        if broken:
            raise RuntimeError("cannot register")
        for provider in providers:
            register(provider)

    module.register_providers = register_providers  # type: ignore[attr-defined]
    return module


@pytest.fixture(params=["dist-info folders", "importlib.metadata"])
def installed(request, monkeypatch, tmp_path):
    """Installs fake distributions, each with one entry point, found in the order installed.

    Either as metadata folders on disk, each in a folder of its own on the search path (read by
    `_entry_points`), or as `importlib.metadata` distributions (what discovery asks when that
    reader leaves an installation to it).
    """
    dists: list[FakeDist] = []
    folders: list[str] = []

    def install(dist_name: str, ep_name: str, module: types.ModuleType | None) -> None:
        module_name = f"fake_plugin_{ep_name}_{len(dists)}"
        if module is not None:
            monkeypatch.setitem(sys.modules, module_name, module)
        value = module_name if module else "no_such_module_xyz"
        dists.append(FakeDist(dist_name, value, ep_name))
        info = tmp_path / str(len(folders)) / f"{dist_name.replace('-', '_')}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[voice_usage]\n{ep_name} = {value}\n")
        folders.append(str(info.parent))

    if request.param == "importlib.metadata":
        monkeypatch.setattr(_plugins, "read_entry_points", lambda group: None)
        monkeypatch.setattr(md, "distributions", lambda: list(dists))
    else:
        monkeypatch.setattr(
            _plugins, "read_entry_points", lambda group: read_entry_points(group, folders)
        )
        monkeypatch.setattr(md, "distributions", lambda: pytest.fail("importlib.metadata asked"))
    return install


def test_installed_workspace_providers_are_found_through_entry_points():
    registry = load_registry()
    assert {"flireo", "ultravox", "agentphone"} <= set(registry.names())
    for name in ("flireo", "ultravox", "agentphone"):
        info = registry.providers[name]
        assert info.distribution == f"voice-usage-{name}"
        assert info.version == md.version(f"voice-usage-{name}")
        check_provider(info.provider)


def test_a_separate_distribution_registers_without_core_changes(installed):
    installed("voice-usage-acme", "acme", plugin_module("acme", FakeProvider(name="acme")))
    registry = load_registry()
    assert registry.names() == ["acme"]
    assert registry.providers["acme"].distribution == "voice-usage-acme"
    assert registry.get("acme").name == "acme"


def test_two_distributions_registering_one_name_is_an_error_naming_both(installed):
    installed("voice-usage-acme", "acme", plugin_module("a", FakeProvider(name="acme")))
    installed("acme-fork", "acme2", plugin_module("b", FakeProvider(name="acme")))
    installed("voice-usage-other", "other", plugin_module("c", FakeProvider(name="other")))
    registry = load_registry()
    with pytest.raises(ConfigurationError, match="voice-usage-acme, acme-fork"):
        registry.get("acme")
    assert registry.get("other").name == "other"  # the rest still works


def test_a_plugin_that_fails_to_import_is_reported_and_others_load(installed):
    installed("voice-usage-broken", "broken", None)
    installed("voice-usage-ok", "ok", plugin_module("ok", FakeProvider(name="ok")))
    registry = load_registry()
    assert registry.names() == ["ok"]
    [error] = registry.errors
    assert (error.name, error.distribution) == ("broken", "voice-usage-broken")
    assert "ModuleNotFoundError" in error.error
    with pytest.raises(ProviderNotFoundError, match="failed to load from voice-usage-broken"):
        registry.get("broken")


def test_a_plugin_whose_hook_raises_is_reported(installed):
    installed("voice-usage-bad", "bad", plugin_module("bad", broken=True))
    installed("voice-usage-ok", "ok", plugin_module("ok", FakeProvider(name="ok")))
    registry = load_registry()
    assert registry.names() == ["ok"]
    assert "cannot register" in registry.errors[0].error


def test_registering_something_that_is_not_a_provider_is_reported(installed):
    installed("voice-usage-odd", "odd", plugin_module("odd", object()))
    registry = load_registry()
    assert registry.names() == []
    assert "not a voice_usage.Provider" in registry.errors[0].error


def test_disable_env_blocks_providers(installed, monkeypatch):
    installed("voice-usage-a", "a", plugin_module("a", FakeProvider(name="a")))
    installed("voice-usage-b", "b", plugin_module("b", FakeProvider(name="b")))
    installed("voice-usage-c", "c", plugin_module("c", FakeProvider(name="c")))
    monkeypatch.setenv("VOICE_USAGE_DISABLE_PROVIDERS", " a, c ")
    assert load_registry().names() == ["b"]


def test_unknown_provider_lists_the_installed_ones(installed):
    installed("voice-usage-a", "a", plugin_module("a", FakeProvider(name="a")))
    with pytest.raises(
        ProviderNotFoundError, match="unknown provider 'nope'; installed providers: a"
    ):
        load_registry().get("nope")


def test_a_misspelled_hook_fails_loudly():
    class Typo:
        @hookimpl
        def register_provider(self, register):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(pluggy.PluginValidationError, match="register_provider"):
        load_registry(get_plugin_manager(), extra_plugins=[Typo()])


def test_hook_markers_use_the_project_name():
    assert voice_usage.hookimpl.project_name == "voice_usage"


def test_an_entry_point_found_twice_is_loaded_once(monkeypatch, tmp_path):
    # Listed twice in one file (some editable installs), and its folder twice on the path.
    monkeypatch.setitem(
        sys.modules, "fake_plugin_twice", plugin_module("t", FakeProvider(name="t"))
    )
    info = tmp_path / "voice_usage_twice-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Name: voice-usage-twice\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[voice_usage]\nt = fake_plugin_twice\nt = fake_plugin_twice\n"
    )
    folders = [str(tmp_path), str(tmp_path)]
    monkeypatch.setattr(
        _plugins, "read_entry_points", lambda group: read_entry_points(group, folders)
    )
    registry = load_registry()
    assert (registry.names(), registry.errors, registry.conflicts) == (["t"], [], {})
    assert registry.providers["t"].distribution == "voice-usage-twice"
