"""Vapi wire models: the parts of `Call` and `CallPaginatedResponse` that usage is made of.

Field names follow Vapi's OpenAPI document (`https://api.vapi.ai/api-json`, schemas `Call`,
`CostBreakdown`, `AnalysisCostBreakdown`, the `costs[]` item schemas, `PaginationMeta`) and the
official SDKs (`VapiAI/server-sdk-swift`, `Sources/Schemas/`). A `Call` carries hundreds of other
fields (messages, artifacts, the assistant inline): they are ignored, not kept.

Money is a JSON number in USD, read exactly as the Decimal of its shortest text (so `0.0123` is
`Decimal("0.0123")`); a string, a boolean or a negative amount where the document says a cost is a
misfit, never a silent zero. Timestamps must carry a zone (`Z` or an offset).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

__all__ = [
    "ANALYTICS",
    "CALL_LIST",
    "CALL_PAGE",
    "AnalysisCostBreakdown",
    "AnalyticsResult",
    "AnalyticsRow",
    "Call",
    "CallPage",
    "CostBreakdown",
    "CostItem",
    "PaginationMeta",
]


def _number(value: Any) -> Any:
    # JSON numbers only: a string or a boolean where the document says `number` is a misfit.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a JSON number, got {type(value).__name__}")
    return value


def _whole(value: Any) -> Any:
    # The document types counts as `number` (the SDKs read doubles): 3 and 3.0 are both 3.
    _number(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(value)
    return value


Money = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
"""US dollars: a non-negative JSON number, read exactly as a Decimal."""
Quantity = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
"""Minutes, tokens or characters: a non-negative JSON number."""
Count = Annotated[int, BeforeValidator(_whole), Field(ge=0)]
"""A count or page number: a whole, non-negative JSON number."""
Instant = Annotated[AwareDatetime, Field(strict=True)]
"""An ISO 8601 date-time with a zone (strict: a number or a zoneless time is not one)."""


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class CostItem(_Wire):
    """One item of `Call.costs` (`TransportCost`, `ModelCost`, `VapiCost`, `AnalysisCost`...).

    The item schemas are `TransportCost`, `TranscriberCost`, `ModelCost`, `VoiceCost`,
    `VapiCost`, `VoicemailDetectionCost`, `AnalysisCost` and `KnowledgeBaseCost`. Only what every item has (`type`, `cost`) and the meters usage reads are modelled; an item of
    a type added later is still summed under its own name.
    """

    type: Annotated[str, Field(strict=True, min_length=1)]
    """The item's kind: `transport`, `transcriber`, `model`, `voice`, `vapi`, `analysis`..."""
    cost: Money
    """The item's cost in USD."""
    minutes: Quantity | None = None
    """Minutes metered (`transport`, `transcriber`, `vapi`); should match `endedAt - startedAt`."""
    sub_type: str | None = None
    """`VapiCost.subType`: `normal` or `overage`."""
    provider: str | None = None
    """`TransportCost.provider`: `twilio`, `vonage`, `telnyx`, `daily`, `vapi.sip`..."""


class AnalysisCostBreakdown(_Wire):
    """`AnalysisCostBreakdown`: the cost of the analysis run after a call, per analysis."""

    summary: Money | None = None
    structured_data: Money | None = None
    success_evaluation: Money | None = None
    structured_output: Money | None = None


class CostBreakdown(_Wire):
    """`CostBreakdown`: the call's cost by part, in USD (the older summary of `costs`)."""

    transport: Money | None = None
    stt: Money | None = None
    llm: Money | None = None
    tts: Money | None = None
    vapi: Money | None = None
    chat: Money | None = None
    total: Money | None = None
    analysis_cost_breakdown: AnalysisCostBreakdown | None = None


_Id = Annotated[str, Field(strict=True)]


class Call(_Wire):
    """`Call`, as `GET /call` and `GET /v2/call` list it (required: id, orgId, createdAt, updatedAt)."""

    id: _Id
    org_id: _Id
    created_at: Instant
    updated_at: Instant
    started_at: Instant | None = None
    ended_at: Instant | None = None
    type: str | None = None
    """`inboundPhoneCall`, `outboundPhoneCall`, `webCall` or `vapi.websocketCall`."""
    status: str | None = None
    """`scheduled`, `queued`, `ringing`, `in-progress`, `forwarding`, `ended`..."""
    ended_reason: str | None = None
    cost: Money | None = None
    cost_breakdown: CostBreakdown | None = None
    costs: list[CostItem] | None = None
    assistant_id: _Id | None = None
    squad_id: _Id | None = None
    workflow_id: _Id | None = None
    phone_number_id: _Id | None = None
    customer_id: _Id | None = None
    campaign_id: _Id | None = None
    phone_call_provider: str | None = None
    """`twilio`, `vonage`, `telnyx` or `vapi`: whose line carried a phone call."""
    phone_call_transport: str | None = None
    """`pstn` or `sip`."""
    phone_call_provider_id: _Id | None = None
    """The carrier's id of the call: Twilio CallSid, Telnyx callControlId, Vonage conversationUuid."""


class PaginationMeta(_Wire):
    """`PaginationMeta` of `GET /v2/call`."""

    items_per_page: Count
    total_items: Count
    current_page: Annotated[int, BeforeValidator(_whole), Field(ge=1)]
    items_beyond_retention: Annotated[bool, Field(strict=True)] | None = None
    """True when calls matching the query lie beyond the plan's call-history retention."""
    created_at_le: Instant | None = None
    created_at_ge: Instant | None = None


class CallPage(_Wire):
    """`CallPaginatedResponse`, the body of `GET /v2/call`."""

    results: list[Call]
    metadata: PaginationMeta


CALL_PAGE = TypeAdapter(CallPage)
"""Validates a `GET /v2/call` body."""
CALL_LIST = TypeAdapter(list[Call])
"""Validates a `GET /call` body: a bare array of calls."""


def _bucket(value: Any) -> datetime:
    # `date` is a day (`2023-01-01`, as the documented example has it: a day of the timezone
    # asked for, UTC here) or an instant, which must carry its zone.
    if not isinstance(value, str):
        raise ValueError(f"expected a date or a date-time string, got {type(value).__name__}")
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected a date or an ISO 8601 date-time, got {value!r}") from None
    if instant.tzinfo is None:
        raise ValueError(f"a date-time without a timezone: {value!r}")
    return instant.astimezone(UTC)


class AnalyticsRow(_Wire):
    """One row of an `AnalyticsQueryResult.result`: a group of calls and its aggregations.

    Only the groups and aggregations voice-usage asks for are modelled: `date` (the time bucket),
    `assistantId` and `endedReason` (the groups), `sumCost`, `sumDuration`, `countId`.
    """

    date: Annotated[datetime, BeforeValidator(_bucket)]
    """The start of the time bucket (`timeRange.step`)."""
    assistant_id: _Id | None = None
    ended_reason: str | None = None
    sum_cost: Money | None = None
    """The calls' summed `cost`, USD; `null` when none has a cost."""
    sum_duration: Quantity | None = None
    """The calls' summed `duration`, in minutes (Vapi's unit for call time)."""
    count_id: Count
    """How many calls the group holds."""


class AnalyticsTimeRange(_Wire):
    """`TimeRange`: the window and bucket size of a query, as the answer echoes it."""

    start: Instant | None = None
    end: Instant | None = None
    step: str | None = None
    timezone: str | None = None


class AnalyticsResult(_Wire):
    """`AnalyticsQueryResult`, one per query of `POST /analytics`."""

    name: Annotated[str, Field(strict=True)]
    time_range: AnalyticsTimeRange
    result: list[AnalyticsRow]


ANALYTICS = TypeAdapter(list[AnalyticsResult])
"""Validates a `POST /analytics` body: an array of query results."""
