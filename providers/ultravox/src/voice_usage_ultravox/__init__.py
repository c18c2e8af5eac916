"""Ultravox provider for voice-usage: call usage aggregates, billed minutes, calls, per-agent usage.

Registered under the name `ultravox` (entry point group `voice_usage`). Needs `ULTRAVOX_API_KEY`
(sent as `X-API-Key`); `ULTRAVOX_BASE_URL` overrides `https://api.ultravox.ai`.

This module declares the provider and imports nothing heavy, so that listing the installed
providers stays quick; `UltravoxProvider` (in `_provider`) implements it and is imported, with the
wire models, when the provider is first used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from voice_usage.provider import (
    ApiKeyHeaderAuth,
    Capabilities,
    Granularity,
    Provider,
    ProviderDeclaration,
    RateLimit,
    hookimpl,
    lazy_attributes,
)

if TYPE_CHECKING:
    from voice_usage_ultravox._duration import DurationFormatError, format_duration, parse_duration
    from voice_usage_ultravox._pricing import FREE_BILLING_STATUSES
    from voice_usage_ultravox._provider import BILLING_MAX_DAYS, BILLING_OPTIONS, UltravoxProvider

__all__ = [
    "BILLING_MAX_DAYS",
    "BILLING_OPTIONS",
    "DurationFormatError",
    "FILTER_OPTIONS",
    "FREE_BILLING_STATUSES",
    "NAME",
    "Ultravox",
    "UltravoxProvider",
    "format_duration",
    "parse_duration",
    "register_providers",
]

NAME: Final = "ultravox"
FILTER_OPTIONS: Final = (
    "voiceId",
    "durationMin",
    "durationMax",
    "search",
    "timeOfDayStart",
    "timeOfDayEnd",
)
"""Vendor filters passed through `query.options`, besides `metadata.<key>` and `source`."""


class Ultravox(ProviderDeclaration):
    """What `voice-usage providers` shows of Ultravox; `UltravoxProvider` implements it."""

    implementation = "voice_usage_ultravox._provider:UltravoxProvider"
    name = NAME
    title = "Ultravox"
    auth = ApiKeyHeaderAuth("X-API-Key")
    default_base_url = "https://api.ultravox.ai"
    docs_url = "https://docs.ultravox.ai/api-reference"
    rate_limit = RateLimit(requests=200, per_seconds=1.0)
    """Documented: 200 requests a second per API key (500 per account)."""
    capabilities = Capabilities(
        granularities=frozenset({Granularity.CALL, Granularity.HOUR, Granularity.DAY}),
        filters=frozenset({"agent", "source", "plan", *FILTER_OPTIONS, "metadata.<key>"}),
        # Billed and per-agent usage come as UTC days only; hours and calls need the call list.
        granularities_by_option=(
            ("source=billing", frozenset({Granularity.DAY})),
            ("source=agents", frozenset({Granularity.DAY})),
        ),
        reports_cost=False,
        balance=True,
        # A call is billed after it ends (`call.billed` follows `call.ended`, SIP sessions
        # outlast the call, BILLING_STATUS_PENDING until then): three days re-read catch it.
        lookback_days=3,
        notes=(
            "Ultravox reports minutes, not money: costs come from the Ultravox rate card.",
            "Option source=billing reads the billed call and SIP minutes per UTC day (the "
            "invoiced total); source=agents reads per-agent daily usage.",
            "SIP minutes are billed apart from call minutes: per call they are the line item "
            "sip_minutes of the call's cost, per day source=billing records with item 'sip'; "
            "hourly and per-agent figures have none.",
        ),
    )


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Ultravox provider."""
    register(Ultravox())


_LAZY = {
    "BILLING_MAX_DAYS": "voice_usage_ultravox._provider",
    "BILLING_OPTIONS": "voice_usage_ultravox._provider",
    "FREE_BILLING_STATUSES": "voice_usage_ultravox._pricing",
    "UltravoxProvider": "voice_usage_ultravox._provider",
    "DurationFormatError": "voice_usage_ultravox._duration",
    "format_duration": "voice_usage_ultravox._duration",
    "parse_duration": "voice_usage_ultravox._duration",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
