"""Retell AI provider for voice-usage: calls with their cost by product, in US cents.

Registered under the name `retell` (entry point group `voice_usage`). Needs `RETELL_API_KEY`
(sent as `Authorization: Bearer`); `RETELL_BASE_URL` overrides `https://api.retellai.com`.

This module declares the provider and imports nothing heavy, so that listing the installed
providers stays quick; `RetellProvider` (in `_provider`) implements it and is imported, with the
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
    from voice_usage_retell._provider import (
        FAILED_STATUSES,
        MAX_PAGE_SIZE,
        PRODUCT_PARTS,
        RetellProvider,
        parts_of,
    )

__all__ = [
    "FAILED_STATUSES",
    "MAX_PAGE_SIZE",
    "NAME",
    "PRODUCT_PARTS",
    "Retell",
    "RetellProvider",
    "parts_of",
    "register_providers",
]

NAME: Final = "retell"


class Retell(ProviderDeclaration):
    """What `voice-usage providers` shows of Retell; `RetellProvider` implements it."""

    implementation = "voice_usage_retell._provider:RetellProvider"
    name = NAME
    title = "Retell AI"
    auth = BearerAuth()
    default_base_url = "https://api.retellai.com"
    docs_url = "https://docs.retellai.com/api-references/list-calls"
    capabilities = Capabilities(
        granularities=frozenset({Granularity.CALL}),
        filters=frozenset({"agent", "number"}),
        reports_cost=True,
        notes=(
            "Retell reports each call's cost in US cents, split by product: cost is combined_cost "
            "/ 100 USD, the products are the cost components.",
            "billed_minutes is Retell's billed duration (total_duration_seconds), which includes "
            "its 10-second minimum and its surcharge for long prompts.",
            "Calls are listed by start time; hours, days and months are rolled up from calls.",
            "Retell has no phone-number id: a call's number is its Retell-side number (to_number "
            "inbound, from_number outbound), and --number filters on it after listing.",
        ),
    )


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Retell provider."""
    register(Retell())


_LAZY = {
    "FAILED_STATUSES": "voice_usage_retell._provider",
    "MAX_PAGE_SIZE": "voice_usage_retell._provider",
    "PRODUCT_PARTS": "voice_usage_retell._provider",
    "RetellProvider": "voice_usage_retell._provider",
    "parts_of": "voice_usage_retell._provider",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
