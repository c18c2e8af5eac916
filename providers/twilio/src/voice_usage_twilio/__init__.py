"""Twilio provider for voice-usage: Usage Records per day and month, and the Calls list.

Registered under the name `twilio` (entry point group `voice_usage`). Reads the credentials Twilio
users already keep: `TWILIO_ACCOUNT_SID` with `TWILIO_AUTH_TOKEN`, or an API key
(`TWILIO_API_KEY`, `TWILIO_API_SECRET`) with the account SID, sent as HTTP Basic;
`TWILIO_BASE_URL` overrides `https://api.twilio.com`. See `docs/providers/twilio.md`.

This module declares the provider and imports nothing heavy, so that listing the installed
providers stays quick; `TwilioProvider` (in `_provider`) implements it and is imported, with the
wire models, when the provider is first used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from voice_usage.provider import (
    BasicAuth,
    Capabilities,
    Credential,
    Granularity,
    Provider,
    ProviderDeclaration,
    hookimpl,
    lazy_attributes,
)

if TYPE_CHECKING:
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
    "Call",
    "FAILED_STATUSES",
    "NAME",
    "OTHER_CATEGORY",
    "PARENT_CATEGORY",
    "Twilio",
    "TwilioProvider",
    "TwilioUsageRecord",
    "billed_minutes",
    "parse_decimal",
    "parse_rfc2822",
    "register_providers",
]

NAME: Final = "twilio"


class Twilio(ProviderDeclaration):
    """What `voice-usage providers` shows of Twilio; `TwilioProvider` implements it."""

    implementation = "voice_usage_twilio._provider:TwilioProvider"
    name = NAME
    title = "Twilio"
    auth = BasicAuth(("account_sid", "auth_token"), ("api_key", "api_secret"))
    """The account SID and auth token, or an API key and its secret when no token is set."""
    credentials = (
        Credential("account_sid", "TWILIO_ACCOUNT_SID", "account SID", secret=False),
        Credential("auth_token", "TWILIO_AUTH_TOKEN", "auth token", required=False),
        Credential("api_key", "TWILIO_API_KEY", "API key SID", required=False),
        Credential("api_secret", "TWILIO_API_SECRET", "API key secret", required=False),
    )
    default_base_url = "https://api.twilio.com"
    docs_url = "https://www.twilio.com/docs/usage/api/usage-record"
    capabilities = Capabilities(
        granularities=frozenset({Granularity.CALL, Granularity.DAY, Granularity.MONTH}),
        reports_cost=True,
        notes=(
            "Twilio's cost is the phone line only (cost_covers telephony).",
            "Usage Records report rated minutes, not measured durations: day and month windows "
            "have duration_seconds None; calls have both.",
            "Windows are one record per UTC day and voice category (calls-inbound, "
            "calls-outbound, calls-client, calls-sip, calls-other), adding up to Twilio's "
            "calls total.",
            "A call's price covers connectivity only and may be unset for a while after the "
            "call ends (cost None until Twilio rates it).",
        ),
    )


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    """Register the Twilio provider."""
    register(Twilio())


_LAZY = {
    "CHILD_CATEGORIES": "voice_usage_twilio._provider",
    "FAILED_STATUSES": "voice_usage_twilio._provider",
    "OTHER_CATEGORY": "voice_usage_twilio._provider",
    "PARENT_CATEGORY": "voice_usage_twilio._provider",
    "TwilioProvider": "voice_usage_twilio._provider",
    "billed_minutes": "voice_usage_twilio._provider",
    "Call": "voice_usage_twilio._wire",
    "TwilioUsageRecord": "voice_usage_twilio._wire",
    "parse_decimal": "voice_usage_twilio._wire",
    "parse_rfc2822": "voice_usage_twilio._wire",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
