"""Vapi provider for voice-usage: every call with its reported USD cost and its breakdown.

Registered under the name `vapi` (entry point group `voice_usage`). Needs `VAPI_API_KEY` (a
private key, sent as `Authorization: Bearer`); `VAPI_BASE_URL` overrides `https://api.vapi.ai`.

This module declares the provider and imports nothing heavy, so that listing the installed
providers stays quick; `VapiProvider` (in `_provider`) implements it and is imported, with the
wire models, when the provider is first used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

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
    from voice_usage_vapi._provider import (
        COVERS,
        FAILED_REASONS,
        NOT_FAILED_REASONS,
        VapiProvider,
        cost_split,
        is_failed,
    )

__all__ = [
    "COVERS",
    "FAILED_REASONS",
    "NAME",
    "NOT_FAILED_REASONS",
    "Vapi",
    "VapiProvider",
    "cost_split",
    "is_failed",
    "register_providers",
]

NAME: Final = "vapi"


class Vapi(ProviderDeclaration):
    """What `voice-usage providers` shows of Vapi; `VapiProvider` implements it."""

    implementation = "voice_usage_vapi._provider:VapiProvider"
    name = NAME
    title = "Vapi"
    auth = BearerAuth()
    default_base_url = "https://api.vapi.ai"
    docs_url = "https://docs.vapi.ai/api-reference/calls/list"
    capabilities = Capabilities(
        granularities=frozenset({Granularity.CALL}),
        filters=frozenset({"agent", "number", "endpoint", "source"}),
        # Vapi's analytics sums calls per hour or day: no call records.
        granularities_by_option=(
            ("source=analytics", frozenset({Granularity.HOUR, Granularity.DAY})),
        ),
        reports_cost=True,
        # A call's cost fills in after it ends and its analysis runs, and a call whose carrier
        # callback was late ends later still: a sync re-reads three days to pick them up.
        lookback_days=3,
        notes=(
            "Costs are Vapi's own, in USD, per call; hour, day and month are sums of the calls.",
            "Calls not ended yet have no final cost: they are skipped and counted in a warning.",
            "A call on your own carrier's number has no transport charge from Vapi: its cost "
            "does not cover telephony (the carrier bills you directly).",
            "Calls beyond your plan's call-history retention are not returned; Vapi says so "
            "(itemsBeyondRetention) and voice-usage warns.",
        ),
    )


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Vapi provider."""
    register(Vapi())


_LAZY = {
    "COVERS": "voice_usage_vapi._provider",
    "FAILED_REASONS": "voice_usage_vapi._provider",
    "NOT_FAILED_REASONS": "voice_usage_vapi._provider",
    "VapiProvider": "voice_usage_vapi._provider",
    "cost_split": "voice_usage_vapi._provider",
    "is_failed": "voice_usage_vapi._provider",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
