"""Twilio wire models: Usage Records and Calls list pages of the 2010-04-01 REST API.

Field names are Twilio's own (snake_case on the wire). Unknown fields are kept (`extra="allow"`).
Twilio writes its numbers as strings (`"count": "352"`, `"price": "-0.02000"`) although its
OpenAPI document types `price` as a number, so every figure is read from either, exactly, as a
`Decimal`; text that is not a number is a named error, never a zero. Dates of Usage Records are
`YYYY-MM-DD` (GMT); call times are RFC 2822 (`Mon, 16 Aug 2010 03:45:01 +0000`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

__all__ = [
    "CALL_PAGE",
    "USAGE_PAGE",
    "Call",
    "CallPage",
    "TwilioUsageRecord",
    "UsageRecordPage",
    "parse_decimal",
    "parse_rfc2822",
]

_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def parse_decimal(value: Any, what: str) -> Decimal:
    """A figure Twilio sends as a string or a JSON number, read exactly.

    Raises:
        ValueError: naming ``what`` when the value is not a finite decimal number.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{what} must be a decimal number, got {value!r}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError(f"{what} must be a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite decimal number, got {value!r}")
    return number


def parse_rfc2822(value: Any, what: str) -> datetime:
    """An RFC 2822 date-time (`Mon, 16 Aug 2010 03:45:01 +0000`), in UTC.

    Raises:
        ValueError: naming ``what`` when the text is not such a date or has no offset.
    """
    example = "'Mon, 16 Aug 2010 03:45:01 +0000'"
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an RFC 2822 date such as {example}, got {value!r}")
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise ValueError(
            f"{what} must be an RFC 2822 date such as {example}, got {value!r}"
        ) from None
    if parsed.tzinfo is None:  # `-0000` means "UTC, origin unknown" to the email module
        raise ValueError(f"{what} must carry a UTC offset such as +0000, got {value!r}")
    return parsed.astimezone(UTC)


def _count(value: Any) -> int:
    number = parse_decimal(value, "count")
    if number < 0 or number != number.to_integral_value():
        raise ValueError(f"count must be a whole number of calls, got {value!r}")
    return int(number)


def _usage(value: Any) -> Decimal:
    number = parse_decimal(value, "usage")
    if number < 0:
        raise ValueError(f"usage must not be negative, got {value!r}")
    return number


def _record_price(value: Any) -> Decimal:
    number = parse_decimal(value, "price")
    if number < 0:
        # Usage Records write charges as positive totals: a negative one is a credit, and
        # reading it as a cost would turn a refund into a charge.
        raise ValueError(f"price is negative ({value!r}): a credit, not a usage charge")
    return number


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise ValueError(
            f"price_unit must be an ISO 4217 currency code such as 'usd', got {value!r}"
        )
    return value.upper()


def _optional_currency(value: Any) -> str | None:
    return None if value is None or value == "" else _currency(value)


def _day(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError(f"a date must be YYYY-MM-DD text, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"a date must be YYYY-MM-DD, got {value!r}") from None


def _optional_seconds(value: Any) -> int | None:
    # Empty for calls that were busy, failed, unanswered or still going.
    if value is None or value == "":
        return None
    number = parse_decimal(value, "duration")
    if number < 0 or number != number.to_integral_value():
        raise ValueError(f"duration must be whole seconds, got {value!r}")
    return int(number)


def _optional_call_price(value: Any) -> Decimal | None:
    # Null (or empty) until Twilio has rated the call.
    return None if value is None or value == "" else parse_decimal(value, "price")


def _optional_instant(what: str) -> BeforeValidator:
    def parse(value: Any) -> datetime | None:
        return None if value is None or value == "" else parse_rfc2822(value, what)

    return BeforeValidator(parse)


Count = Annotated[int, BeforeValidator(_count)]
"""A count of calls: a string or number holding a whole number."""
Usage = Annotated[Decimal, BeforeValidator(_usage)]
"""A quantity in `usage_unit` (minutes for voice categories)."""
RecordPrice = Annotated[Decimal, BeforeValidator(_record_price)]
"""A Usage Record's price in `price_unit`, non-negative."""
Currency = Annotated[str, BeforeValidator(_currency)]
"""An ISO 4217 code, upper-cased (`usd` on the wire becomes `USD`)."""
Day = Annotated[date, BeforeValidator(_day)]
"""A `YYYY-MM-DD` GMT date."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class TwilioUsageRecord(_Wire):
    """One `UsageRecord`: a category's usage over `[start_date, end_date]` (both inclusive)."""

    account_sid: str
    category: str
    start_date: Day
    end_date: Day
    count: Count
    usage: Usage
    price: RecordPrice
    price_unit: Currency
    count_unit: str | None = None
    usage_unit: str | None = None
    description: str | None = None
    as_of: str | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError(f"end_date ({self.end_date}) is before start_date ({self.start_date})")
        return self


class UsageRecordPage(_Wire):
    """One page of `Usage/Records/{Daily,Monthly}.json`."""

    usage_records: list[TwilioUsageRecord]
    next_page_uri: str | None = None
    page: int | None = None
    page_size: int | None = None


class Call(_Wire):
    """One `Call` of `Calls.json`, reduced to what usage needs; other fields stay as extras."""

    sid: str
    account_sid: str
    status: str
    """`queued`, `ringing`, `in-progress`, `completed`, `busy`, `failed`, `no-answer`, `canceled`."""
    direction: str | None = None
    """`inbound`, `outbound-api` or `outbound-dial`."""
    start_time: Annotated[datetime | None, _optional_instant("start_time")] = None
    end_time: Annotated[datetime | None, _optional_instant("end_time")] = None
    date_created: Annotated[datetime | None, _optional_instant("date_created")] = None
    duration: Annotated[int | None, BeforeValidator(_optional_seconds)] = None
    """Whole seconds; `None` while unknown (busy, failed, unanswered or ongoing calls)."""
    price: Annotated[Decimal | None, BeforeValidator(_optional_call_price)] = None
    """Negative for a charge (`"-0.02000"`); `None` until Twilio has rated the call."""
    price_unit: Annotated[str | None, BeforeValidator(_optional_currency)] = None
    parent_call_sid: str | None = None
    phone_number_sid: str | None = None
    trunk_sid: str | None = None
    to: str | None = None
    from_: str | None = Field(default=None, alias="from")
    answered_by: str | None = None

    @model_validator(mode="after")
    def _dated_and_priced_in_a_currency(self) -> Self:
        if self.start_time is None and self.date_created is None:
            raise ValueError(f"call {self.sid} has neither start_time nor date_created")
        if self.price is not None and self.price_unit is None:
            raise ValueError(f"call {self.sid} has a price ({self.price}) but no price_unit")
        return self

    @property
    def started(self) -> datetime:
        """When the call started, or was created when it has not started."""
        start = self.start_time or self.date_created
        assert start is not None  # checked on validation
        return start


class CallPage(_Wire):
    """One page of `Calls.json`."""

    calls: list[Call]
    next_page_uri: str | None = None
    page: int | None = None
    page_size: int | None = None


USAGE_PAGE = TypeAdapter(UsageRecordPage)
CALL_PAGE = TypeAdapter(CallPage)
