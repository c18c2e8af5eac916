"""Vapi provider for voice-usage: every call with its reported USD cost and its breakdown.

Registered under the name `vapi` (entry point group `voice_usage`). Needs `VAPI_API_KEY` (a
private key, sent as `Authorization: Bearer`); `VAPI_BASE_URL` overrides `https://api.vapi.ai`.
"""

from __future__ import annotations

from collections.abc import Callable

from voice_usage.provider import Provider, hookimpl
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
    "NOT_FAILED_REASONS",
    "VapiProvider",
    "cost_split",
    "is_failed",
    "register_providers",
]


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Vapi provider."""
    register(VapiProvider())
