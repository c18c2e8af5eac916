"""AgentPhone provider for voice-usage: daily, monthly, per-agent and per-number usage, plan limits.

AgentPhone (agentphone.ai) reports counts and per-agent call seconds but no money; costs come from
the dated rate card in webhook or hosted mode. See `docs/providers/agentphone.md`.
"""

from collections.abc import Callable

from voice_usage.provider import Provider, hookimpl
from voice_usage_agentphone._provider import (
    MAX_DAYS,
    MAX_MONTHS,
    MODE_ENV,
    MODES,
    AgentPhoneProvider,
)
from voice_usage_agentphone._wire import UsageSnapshot
from voice_usage_agentphone.emulator import AgentPhoneEmulator

__all__ = [
    "MAX_DAYS",
    "MAX_MONTHS",
    "MODES",
    "MODE_ENV",
    "AgentPhoneEmulator",
    "AgentPhoneProvider",
    "UsageSnapshot",
    "register_providers",
]


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the AgentPhone provider."""
    register(AgentPhoneProvider())
