"""Flireo provider for voice-usage: usage logs, costs in EUR, and the minutes balance.

Registered under the name `flireo` through the `voice_usage` entry-point group. Reads
`GET /usage` (every documented response shape) and `GET /organizations`; see
`docs/providers/flireo.md` for what is read and how cost and billed minutes are derived.

This module declares the provider and imports nothing heavy, so that listing the installed
providers stays quick; `FlireoProvider` (in `_provider`) implements it and is imported, with the
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
    RateLimit,
    hookimpl,
    lazy_attributes,
)

if TYPE_CHECKING:
    from voice_usage_flireo._provider import FlireoProvider
    from voice_usage_flireo._wire import FlireoOrganization, UsageLog, UsageSummary
    from voice_usage_flireo.emulator import FlireoEmulator

__all__ = [
    "Flireo",
    "FlireoEmulator",
    "FlireoOrganization",
    "FlireoProvider",
    "UsageLog",
    "UsageSummary",
    "register_providers",
]


class Flireo(ProviderDeclaration):
    """What `voice-usage providers` shows of Flireo; `FlireoProvider` implements it."""

    implementation = "voice_usage_flireo._provider:FlireoProvider"
    name = "flireo"
    title = "Flireo"
    auth = BearerAuth()
    default_base_url = "https://api.hmsovereign.com/api/v1"
    """The host the vendor's own SDK uses; no public source shows an `api.flireo.com` host."""
    docs_url = "https://reference.flireo.com/usage-1861382m0"
    rate_limit = RateLimit(requests=100, per_seconds=60)
    capabilities = Capabilities(
        granularities=frozenset({Granularity.CALL}),
        reports_cost=False,
        balance=True,
        # A log is written when its call ends, with its cost: re-reading two days catches the
        # calls that ended after a sync began and any log written late.
        lookback_days=2,
        never_reports=frozenset({"failed_calls"}),  # usage logs carry no call status
        notes=(
            "One record per usage log; hour, day and month are UTC roll-ups of the logs.",
            "Cost is the vendor's when a log carries one, else the EUR 0.07/min rate card "
            "with per-call rounding up to whole minutes.",
            "No agent or number filter: the usage API filters by date only.",
        ),
    )


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Flireo provider."""
    register(Flireo())


_LAZY = {
    "FlireoProvider": "voice_usage_flireo._provider",
    "FlireoOrganization": "voice_usage_flireo._wire",
    "UsageLog": "voice_usage_flireo._wire",
    "UsageSummary": "voice_usage_flireo._wire",
    "FlireoEmulator": "voice_usage_flireo.emulator",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
