"""Flireo provider for voice-usage: usage logs, costs in EUR, and the minutes balance.

Registered under the name `flireo` through the `voice_usage` entry-point group. Reads
`GET /usage` (every documented response shape) and `GET /organizations`; see
`docs/providers/flireo.md` for what is read and how cost and billed minutes are derived.
"""

from collections.abc import Callable

from voice_usage.provider import Provider, hookimpl
from voice_usage_flireo._provider import FlireoProvider
from voice_usage_flireo._wire import FlireoOrganization, UsageLog, UsageSummary
from voice_usage_flireo.emulator import FlireoEmulator

__all__ = [
    "FlireoEmulator",
    "FlireoOrganization",
    "FlireoProvider",
    "UsageLog",
    "UsageSummary",
    "register_providers",
]


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Flireo provider."""
    register(FlireoProvider())
