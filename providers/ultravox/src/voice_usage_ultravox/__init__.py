"""Ultravox provider for voice-usage (adapter not written yet)."""

from voice_usage import ApiKeyHeaderAuth, Capabilities, FetchPlan, Provider, UnsupportedQueryError, UsageQuery, hookimpl
from typing import Any, Callable


class UltravoxProvider(Provider):
    name = "ultravox"
    title = "Ultravox"
    auth = ApiKeyHeaderAuth("X-API-Key")
    default_base_url = "https://api.ultravox.ai"
    capabilities = Capabilities(granularities=frozenset(), implemented=False)

    def plan(self, query: UsageQuery) -> FetchPlan[Any]:
        raise UnsupportedQueryError(self.name, "not implemented yet")


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(UltravoxProvider())
