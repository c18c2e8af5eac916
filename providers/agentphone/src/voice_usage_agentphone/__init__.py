"""AgentPhone provider for voice-usage: daily, monthly, per-agent and per-number usage, plan limits.

AgentPhone (agentphone.ai) reports counts and per-agent call seconds but no money; costs come from
the dated rate card in webhook or hosted mode. See `docs/providers/agentphone.md`.

This module declares the provider and imports nothing heavy, so that listing the installed
providers stays quick; `AgentPhoneProvider` (in `_provider`) implements it and is imported, with the
wire models, when the provider is first used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from voice_usage.provider import (
    BearerAuth,
    Capabilities,
    Granularity,
    Provider,
    ProviderDeclaration,
    hookimpl,
    lazy_attributes,
)

if TYPE_CHECKING:
    from voice_usage_agentphone._provider import MODE_ENV, MODES, AgentPhoneProvider
    from voice_usage_agentphone._wire import UsageSnapshot
    from voice_usage_agentphone.emulator import AgentPhoneEmulator

__all__ = [
    "AgentPhone",
    "AgentPhoneEmulator",
    "AgentPhoneProvider",
    "MAX_DAYS",
    "MAX_MONTHS",
    "MODES",
    "MODE_ENV",
    "OPTIONS",
    "UsageSnapshot",
    "register_providers",
]

MAX_DAYS = 365
"""`/v1/usage/daily` accepts `days` from 1 to 365."""
MAX_MONTHS = 24
"""`/v1/usage/monthly` accepts `months` from 1 to 24."""
OPTIONS = ("view", "period", "tz", "mode")


class AgentPhone(ProviderDeclaration):
    """What `voice-usage providers` shows of AgentPhone; `AgentPhoneProvider` implements it."""

    implementation = "voice_usage_agentphone._provider:AgentPhoneProvider"
    name = "agentphone"
    title = "AgentPhone"
    auth = BearerAuth()
    default_base_url = "https://api.agentphone.ai"
    docs_url = "https://agentphone.ai/docs/api-reference/usage/get-usage-v-1-usage-get"
    capabilities = Capabilities(
        granularities=frozenset({Granularity.DAY, Granularity.MONTH}),
        filters=frozenset({"agent", "number", *OPTIONS}),
        reports_cost=False,
        balance=True,
        max_history_days=MAX_DAYS,
        # Daily counts of a day keep growing until it is over in the vendor's books; two days
        # re-read cover a call that ended past midnight and a late count.
        lookback_days=2,
        never_reports=frozenset({"failed_calls"}),  # no endpoint counts failed calls
        notes=(
            f"No date range: daily usage covers the last {MAX_DAYS} days, monthly the last "
            f"{MAX_MONTHS} months, per-agent usage only the current week, month or year.",
            "No money: cost comes from the rate card (webhook or hosted mode, option mode=).",
            "Durations only per agent (option view=by-agent); daily and monthly usage count "
            "calls without durations unless the API adds voiceMinutes.",
        ),
    )


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the AgentPhone provider."""
    register(AgentPhone())


_LAZY = {
    "MODE_ENV": "voice_usage_agentphone._provider",
    "MODES": "voice_usage_agentphone._provider",
    "AgentPhoneProvider": "voice_usage_agentphone._provider",
    "UsageSnapshot": "voice_usage_agentphone._wire",
    "AgentPhoneEmulator": "voice_usage_agentphone.emulator",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
