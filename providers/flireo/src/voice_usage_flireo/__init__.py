"""Flireo provider for voice-usage (adapter not written yet)."""

from voice_usage import BearerAuth, Capabilities, FetchPlan, Provider, UnsupportedQueryError, UsageQuery, hookimpl
from typing import Any, Callable


class FlireoProvider(Provider):
    name = "flireo"
    title = "Flireo"
    auth = BearerAuth()
    default_base_url = "https://api.hmsovereign.com/api/v1"
    capabilities = Capabilities(granularities=frozenset(), implemented=False)

    def plan(self, query: UsageQuery) -> FetchPlan[Any]:
        raise UnsupportedQueryError(self.name, "not implemented yet")


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(FlireoProvider())
