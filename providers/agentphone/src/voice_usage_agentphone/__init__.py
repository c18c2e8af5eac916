"""AgentPhone provider for voice-usage (adapter not written yet)."""

from voice_usage import BearerAuth, Capabilities, FetchPlan, Provider, UnsupportedQueryError, UsageQuery, hookimpl
from typing import Any, Callable


class AgentPhoneProvider(Provider):
    name = "agentphone"
    title = "AgentPhone"
    auth = BearerAuth()
    default_base_url = "https://api.agentphone.ai"
    capabilities = Capabilities(granularities=frozenset(), implemented=False)

    def plan(self, query: UsageQuery) -> FetchPlan[Any]:
        raise UnsupportedQueryError(self.name, "not implemented yet")


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(AgentPhoneProvider())
