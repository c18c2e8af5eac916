"""Discovering providers: entry points, the `register_providers` hook, and the registry.

Every provider, bundled or third-party, is found the same way: through the ``voice_usage``
entry-point group. A distribution that fails to import is reported, not fatal: the other providers
still load. `VOICE_USAGE_DISABLE_PROVIDERS=a,b` blocks entry points by name.

The entry points are read from the distributions' metadata folders (`_entry_points`), and from
`importlib.metadata` for any installation that reader leaves to it: importing `importlib.metadata`
alone took longer than the rest of `voice-usage providers`' discovery.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pluggy

from voice_usage import hookspecs
from voice_usage._engine._entry_points import read_entry_points
from voice_usage._engine._provider import Provider
from voice_usage._exceptions import ConfigurationError, ProviderNotFoundError

__all__ = [
    "DISABLE_ENV",
    "LoadError",
    "ProviderInfo",
    "Registry",
    "get_plugin_manager",
    "load_registry",
]

DISABLE_ENV = "VOICE_USAGE_DISABLE_PROVIDERS"
"""Comma-separated entry-point names not to load."""


@dataclass(frozen=True)
class ProviderInfo:
    """A registered provider and the distribution it came from."""

    provider: Provider
    """What the plugin registered: the provider, or its declaration (`Provider.implementation`),
    whose attributes describe it without importing its implementation; `Registry.get` resolves."""
    distribution: str
    version: str

    @property
    def name(self) -> str:
        """The provider's public name."""
        return self.provider.name


@dataclass(frozen=True)
class LoadError:
    """A plugin that could not be loaded or could not register its providers."""

    name: str
    distribution: str
    error: str


@dataclass
class Registry:
    """The providers available in this environment."""

    providers: dict[str, ProviderInfo] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    """Provider names registered by more than one distribution, with those distributions."""

    def names(self) -> list[str]:
        """Names of the usable providers, sorted."""
        return sorted(self.providers)

    def get(self, name: str) -> Provider:
        """The provider called ``name``.

        Raises:
            ProviderNotFoundError: no such provider (the message lists the installed ones).
            ConfigurationError: two distributions registered the name, or the provider's
                implementation failed to load.
        """
        if name in self.conflicts:
            raise ConfigurationError(
                f"provider {name!r} is registered by more than one distribution: "
                f"{', '.join(self.conflicts[name])}; uninstall one of them"
            )
        info = self.providers.get(name)
        if info is None:
            failed = [e for e in self.errors if e.name == name]
            if failed:
                raise ProviderNotFoundError(
                    f"provider {name!r} failed to load from {failed[0].distribution}: {failed[0].error}"
                )
            installed = ", ".join(self.names()) or "none"
            raise ProviderNotFoundError(
                f"unknown provider {name!r}; installed providers: {installed}"
            )
        # A declaration registered for cheap listing becomes its implementation here, when used.
        return info.provider.resolved()

    def add(self, provider: Provider, distribution: str, version: str) -> None:
        """Add a provider; a name already taken by another distribution becomes a conflict."""
        if not isinstance(provider, Provider):
            raise TypeError(
                f"{distribution} registered {provider!r}, which is not a voice_usage.Provider"
            )
        existing = self.providers.get(provider.name)
        if existing is not None or provider.name in self.conflicts:
            owners = self.conflicts.setdefault(
                provider.name, [existing.distribution] if existing else []
            )
            owners.append(distribution)
            self.providers.pop(provider.name, None)
            return
        self.providers[provider.name] = ProviderInfo(provider, distribution, version)


def get_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with voice-usage's hookspecs and nothing registered."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _disabled_names() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


class _EntryPoint(Protocol):
    """What discovery uses of an entry point (`importlib.metadata`'s or `_entry_points`')."""

    @property
    def name(self) -> str: ...

    def load(self) -> Any: ...


def _declared() -> Iterator[tuple[_EntryPoint, str | None, str]]:
    """Each entry point of the group with its distribution's name and version, in discovery order."""
    found = read_entry_points(hookspecs.PROJECT)
    if found is not None:
        for item in found:
            yield item.entry_point, item.distribution, item.version
        return
    import importlib.metadata as metadata  # an installation the reader leaves to it

    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == hookspecs.PROJECT:
                yield ep, dist.metadata["Name"], dist.version


def _entry_points() -> Iterable[tuple[_EntryPoint, str, str]]:
    seen: set[tuple[str, str]] = set()
    for ep, name, version in _declared():
        dist_name = name or "unknown"
        # Some editable installs list an entry point twice; load each once.
        if (ep.name, dist_name) in seen:
            continue
        seen.add((ep.name, dist_name))
        yield ep, dist_name, version


def load_registry(
    pm: pluggy.PluginManager | None = None, *, extra_plugins: Iterable[Any] = ()
) -> Registry:
    """Load every provider: entry points of the ``voice_usage`` group, plus ``extra_plugins``.

    A plugin that fails to import or to register is recorded in `Registry.errors`.
    """
    pm = pm or get_plugin_manager()
    registry = Registry()
    disabled = _disabled_names()
    origins: dict[str, tuple[str, str]] = {}
    for ep, dist_name, version in _entry_points():
        if ep.name in disabled:
            pm.set_blocked(ep.name)
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:
            registry.errors.append(LoadError(ep.name, dist_name, f"{type(exc).__name__}: {exc}"))
            continue
        origins[ep.name] = (dist_name, version)
    for plugin in extra_plugins:
        name = pm.register(plugin)
        if name is not None:
            origins[name] = (getattr(plugin, "__name__", type(plugin).__name__), "0")
    pm.check_pending()
    for impl in pm.hook.register_providers.get_hookimpls():
        dist_name, version = origins.get(impl.plugin_name, (impl.plugin_name, "unknown"))

        def register(provider: Provider, *, _dist: str = dist_name, _ver: str = version) -> None:
            registry.add(provider, _dist, _ver)

        try:
            impl.function(register=register)
        except Exception as exc:
            registry.errors.append(
                LoadError(impl.plugin_name, dist_name, f"{type(exc).__name__}: {exc}")
            )
    return registry
