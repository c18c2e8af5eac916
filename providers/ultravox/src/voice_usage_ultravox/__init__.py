"""Ultravox provider for voice-usage: call usage aggregates, billed minutes, calls, per-agent usage.

Registered under the name `ultravox` (entry point group `voice_usage`). Needs `ULTRAVOX_API_KEY`
(sent as `X-API-Key`); `ULTRAVOX_BASE_URL` overrides `https://api.ultravox.ai`.
"""

from __future__ import annotations

from collections.abc import Callable

from voice_usage.provider import Provider, hookimpl
from voice_usage_ultravox._duration import DurationFormatError, format_duration, parse_duration
from voice_usage_ultravox._provider import (
    BILLING_MAX_DAYS,
    BILLING_OPTIONS,
    FREE_BILLING_STATUSES,
    UltravoxProvider,
)

__all__ = [
    "BILLING_MAX_DAYS",
    "BILLING_OPTIONS",
    "FREE_BILLING_STATUSES",
    "DurationFormatError",
    "UltravoxProvider",
    "format_duration",
    "parse_duration",
    "register_providers",
]


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Ultravox provider."""
    register(UltravoxProvider())
