"""Retell AI provider for voice-usage: calls with their cost by product, in US cents.

Registered under the name `retell` (entry point group `voice_usage`). Needs `RETELL_API_KEY`
(sent as `Authorization: Bearer`); `RETELL_BASE_URL` overrides `https://api.retellai.com`.
"""

from __future__ import annotations

from collections.abc import Callable

from voice_usage.provider import Provider, hookimpl
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
    "PRODUCT_PARTS",
    "RetellProvider",
    "parts_of",
    "register_providers",
]


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Retell provider."""
    register(RetellProvider())
