"""Retell wire models: the bodies of `POST /v3/list-calls` and `POST /v2/list-calls`.

Field names are Retell's own (snake_case on the wire), from the vendor's Stainless SDK types
(`retell-python-sdk` `src/retell/types/call_list_response.py`, `V3PhoneCallResponse` and
`V3WebCallResponse`; the v2 `CallResponse` has the same fields for what is read here). Only the
fields voice-usage reads are declared; the rest of a call (transcripts, recordings, latency,
analysis) is accepted and not kept. The fields that carry numbers are strict: timestamps and
`duration_ms` are non-negative JSON integers (milliseconds), money is a JSON number of US cents
read exactly as a Decimal (a string, a boolean or a negative total is a misfit, never a zero).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)

__all__ = [
    "CALL_LIST_V2",
    "CALL_LIST_V3",
    "Call",
    "CallCost",
    "CallListV3",
    "ProductCost",
]


def _number(value: Any) -> Any:
    # JSON numbers only: "12.5" or true where Retell documents a number is a misfit, not a cost.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a JSON number, got {type(value).__name__}")
    return value


Cents = Annotated[Decimal, BeforeValidator(_number), Field(allow_inf_nan=False)]
"""An amount in US cents: a JSON number (a double on the wire), read exactly as a Decimal."""
NonNegativeCents = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
"""A total in US cents, never negative."""
Seconds = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
"""A duration in seconds: a non-negative JSON number, read exactly."""
Millis = Annotated[int, Field(strict=True, ge=0)]
"""Milliseconds (a duration, or an instant since the Unix epoch): a non-negative JSON integer."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ProductCost(_Wire):
    """One line of `call_cost.product_costs`: what one product cost for the call."""

    product: str
    """Retell's product name, e.g. `elevenlabs_tts`."""
    cost: Cents
    """US cents for the call's billed duration."""
    unit_price: Cents | None = None
    """US cents per second."""
    is_transfer_leg_cost: bool | None = None
    """True when the line is for the transferred leg of the call."""


class CallCost(_Wire):
    """`call_cost`: the call's cost by product, present once Retell has rated the call."""

    product_costs: list[ProductCost]
    """The products and their costs, in cents."""
    combined_cost: NonNegativeCents
    """The call's total in US cents: what Retell bills."""
    total_duration_seconds: Seconds | None = None
    """The billed duration in seconds, after Retell's billing adjustments (minimum, surcharges)."""
    total_duration_unit_price: Cents | None = None
    """Sum of the products' unit prices, in US cents per second."""


class TelephonyIdentifier(_Wire):
    """`telephony_identifier`: the carrier's own id of the call, for joining with its records."""

    twilio_call_sid: str | None = None
    """Twilio's Call SID, when the call went through Twilio."""


class Call(_Wire):
    """A call as `list-calls` returns it (`V3PhoneCallResponse`, `V3WebCallResponse`)."""

    call_id: str
    """Retell's call id."""
    call_type: str
    """`phone_call` or `web_call`."""
    call_status: str
    """`registered`, `not_connected`, `ongoing`, `ended` or `error`."""
    agent_id: str | None = None
    """The agent that took or made the call."""
    agent_version: int | None = None
    """The agent's version."""
    agent_name: str | None = None
    """The agent's name."""
    direction: str | None = None
    """`inbound` or `outbound` (phone calls)."""
    from_number: str | None = None
    """The caller's number (phone calls)."""
    to_number: str | None = None
    """The callee's number (phone calls)."""
    start_timestamp: Millis | None = None
    """When the call started, ms since the epoch; absent until it starts."""
    end_timestamp: Millis | None = None
    """When the call ended, ms since the epoch; absent until it ends."""
    duration_ms: Millis | None = None
    """How long the call lasted, ms; absent until it ends."""
    disconnection_reason: str | None = None
    """Why the call ended (`user_hangup`, `dial_no_answer`, `error_asr`...)."""
    call_cost: CallCost | None = None
    """The cost by product; absent until Retell has rated the call."""
    telephony_identifier: TelephonyIdentifier | None = None
    """The carrier's id of the call."""


class CallListV3(_Wire):
    """The body of `POST /v3/list-calls`: a page of calls and the key to the next one."""

    items: list[Call]
    """The calls of this page, in the requested order."""
    has_more: bool
    """Whether more calls follow this page."""
    pagination_key: str | None = Field(default=None, validate_default=True)
    """The opaque key of the next page; required while `has_more` is true."""
    total: int | None = None
    """Calls matching the filter, only when `include_total` was asked."""

    @field_validator("pagination_key")
    @classmethod
    def _key_when_more(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A page that says more follows but gives no way to reach it: the walk cannot go on,
        # and stopping here would return a partial month as if it were whole.
        if info.data.get("has_more") is True and not value:
            raise ValueError("has_more is true but no pagination_key was given")
        return value


CALL_LIST_V3: TypeAdapter[CallListV3] = TypeAdapter(CallListV3)
CALL_LIST_V2: TypeAdapter[list[Call]] = TypeAdapter(list[Call])
"""`POST /v2/list-calls` answers a bare array of calls."""
