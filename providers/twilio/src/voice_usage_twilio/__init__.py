"""Twilio provider for voice-usage: Usage Records per day and month, and the Calls list.

Registered under the name `twilio` (entry point group `voice_usage`). Reads the credentials Twilio
users already keep: `TWILIO_ACCOUNT_SID` with `TWILIO_AUTH_TOKEN`, or an API key
(`TWILIO_API_KEY`, `TWILIO_API_SECRET`) with the account SID, sent as HTTP Basic;
`TWILIO_BASE_URL` overrides `https://api.twilio.com`. See `docs/providers/twilio.md`.
"""

from __future__ import annotations

from collections.abc import Callable

from voice_usage.provider import Provider, hookimpl
from voice_usage_twilio._provider import (
    CHILD_CATEGORIES,
    FAILED_STATUSES,
    OTHER_CATEGORY,
    PARENT_CATEGORY,
    TwilioProvider,
    billed_minutes,
)
from voice_usage_twilio._wire import Call, TwilioUsageRecord, parse_decimal, parse_rfc2822

__all__ = [
    "CHILD_CATEGORIES",
    "FAILED_STATUSES",
    "OTHER_CATEGORY",
    "PARENT_CATEGORY",
    "Call",
    "TwilioProvider",
    "TwilioUsageRecord",
    "billed_minutes",
    "parse_decimal",
    "parse_rfc2822",
    "register_providers",
]


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Twilio provider."""
    register(TwilioProvider())
