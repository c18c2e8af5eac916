"""The plugin contract: one hook, through which a distribution registers its providers.

A provider distribution declares an entry point in the ``voice_usage`` group whose name is the
provider's public name, pointing at a module (or object) with a `register_providers` hookimpl::

    # pyproject.toml
    [project.entry-points.voice_usage]
    acme = "voice_usage_acme"

    # voice_usage_acme/__init__.py
    from voice_usage import hookimpl

    @hookimpl
    def register_providers(register):
        register(AcmeProvider())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from voice_usage._engine._provider import Provider

__all__ = ["PROJECT", "hookimpl", "hookspec", "register_providers"]

PROJECT = "voice_usage"
"""The pluggy project name; also the entry-point group."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the providers this plugin contributes.

    Called once per plugin manager, after every entry point of the ``voice_usage`` group has been
    loaded. Call ``register`` once per provider with an instance of a `voice_usage.Provider`
    subclass, or of a `voice_usage.provider.ProviderDeclaration` (listed without importing its
    implementation). The core rejects a provider whose name another distribution already registered.

    :param register: Takes one `Provider` instance and adds it to the registry.

    .. versionadded:: 0.1
    """
