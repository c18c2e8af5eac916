"""How Ultravox usage is priced: the Ultravox rate card (Ultravox reports minutes, never money).

Windows are priced on the billed minutes Ultravox reports. A call is priced from its billing
status: billed calls on their billed duration, free and refunded ones at a known zero, pending
ones left unpriced until billed; its SIP minutes are a line item of their own (`sip_minutes`).
An account on a plan with its own rates (option `plan=pro`) is priced at those where the card
has them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from voice_usage.provider import (
    Rate,
    RateBook,
    RateCardError,
    UsageRecord,
    covers,
    price_record,
    priced_by,
    unpriced,
)
from voice_usage_ultravox import NAME
from voice_usage_ultravox._wire import Call

__all__ = ["FREE_BILLING_STATUSES", "Pricer", "Sip", "price_call"]

FREE_BILLING_STATUSES: Final = frozenset(
    {
        "BILLING_STATUS_FREE_CONSOLE",
        "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
        "BILLING_STATUS_FREE_MINUTES",
        "BILLING_STATUS_FREE_SYSTEM_ERROR",
        "BILLING_STATUS_FREE_OTHER",
    }
)
"""Statuses of calls that cost nothing (a SIP leg may still be billed)."""
BILLED: Final = "BILLING_STATUS_BILLED"
PENDING: Final = "BILLING_STATUS_PENDING"
REFUNDED: Final = "BILLING_STATUS_REFUNDED"


class Pricer:
    """Rate-card lookups for one fetch (the rate book keeps its answers per day)."""

    def __init__(self, book: RateBook, plan: str | None = None) -> None:
        self.book = book
        self.plan = plan

    def rate(self, item: str, at: datetime) -> Rate | str:
        """The rate in force (the plan's own, where the card has one), or why there is none."""
        if self.plan is not None:
            # Without a price of the plan's own for this item, the default price applies.
            with contextlib.suppress(RateCardError):
                return self.book.find(NAME, at, item=item, variant=self.plan)
        try:
            return self.book.find(NAME, at, item=item)
        except RateCardError as exc:
            return f"cannot price: {exc}"

    def price(self, record: UsageRecord) -> UsageRecord:
        """``record`` priced on its vendor-rated `billed_minutes` (exact), or left without cost."""
        rate = self.rate(record.item, record.period_start)
        if isinstance(rate, str):
            return unpriced(record, rate)
        return price_record(record, rate, vendor_rated=True)


@dataclass(frozen=True)
class Sip:
    """A call's SIP minutes, billed apart from its call minutes, and the card that prices them."""

    minutes: Decimal
    rate: Rate | str


def price_call(record: UsageRecord, call: Call, pricer: Pricer, sip: Sip | None) -> UsageRecord:
    """A call's cost from its billing status and billed duration, plus its SIP minutes.

    Billed calls are priced on `billedDuration` (already rounded by Ultravox), free and refunded
    calls are a known zero, pending calls are marked and left unpriced until billed. SIP
    minutes are a line item of their own (`sip_minutes`), even on a free call, which "may still
    have a non-zero sip bill".
    """
    status = call.billing_status
    billed = call.billed_duration
    if status in FREE_BILLING_STATUSES or status == REFUNDED:
        rate = pricer.rate("call", record.period_start)
        if isinstance(rate, str):
            return unpriced(record, rate)
        why = "refunded" if status == REFUNDED else "free"
        return _with_cost(
            record,
            Decimal(0),
            rate,
            billed_minutes=Decimal(0),
            note=f"{why} ({status}): no call charge; rate card {rate.label}",
            sip=sip,
        )
    if status == BILLED and billed is not None:
        return _priced_minutes(record, billed / 60, pricer, sip)
    if status == PENDING:
        marked = {**record.extras, "billing_pending": True}
        if billed is not None:
            # Calls created before 2025-05-28 may keep the pending status although billed.
            priced = _priced_minutes(record, billed / 60, pricer, sip)
            return priced.model_copy(
                update={
                    "extras": marked,
                    "cost_note": f"{priced.cost_note}; billing status still pending ({PENDING})",
                }
            )
        return record.model_copy(
            update={
                "extras": marked,
                "cost_note": f"billing pending ({PENDING}): the call is not billed yet",
            }
        )
    if status == BILLED:
        return record.model_copy(
            update={
                "cost_note": f"{BILLED} without a billedDuration: the billed time is unknown",
            }
        )
    return record.model_copy(
        update={
            "cost_note": f"unexpected billing status {status!r}: cost unknown",
        }
    )


def _priced_minutes(
    record: UsageRecord, minutes: Decimal, pricer: Pricer, sip: Sip | None
) -> UsageRecord:
    rate = pricer.rate(record.item, record.period_start)
    if isinstance(rate, str):
        return unpriced(record, rate).model_copy(update={"billed_minutes": minutes})
    return _with_cost(
        record,
        rate.charge_minutes(minutes),
        rate,
        billed_minutes=minutes,
        note=f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min "
        "on the billed duration",
        sip=sip,
    )


def _with_cost(
    record: UsageRecord,
    cost: Decimal,
    rate: Rate,
    *,
    billed_minutes: Decimal,
    note: str,
    sip: Sip | None,
) -> UsageRecord:
    priced = priced_by(record, cost, rate, note=note, billed_minutes=billed_minutes)
    if sip is None:
        return priced
    if isinstance(sip.rate, str) or sip.rate.currency != rate.currency:
        # The SIP minutes cannot be priced: the call's cost is then not known in full.
        why = sip.rate if isinstance(sip.rate, str) else "the SIP card is in another currency"
        return unpriced(priced, f"{note}; SIP minutes {sip.minutes} not priced: {why}")
    sip_cost = sip.rate.charge_minutes(sip.minutes)
    data = priced.model_dump()
    data.update(
        cost=cost + sip_cost,
        cost_components={rate.line_item: cost, sip.rate.line_item: sip_cost},
        cost_covers=covers([*rate.covers, *sip.rate.covers]),
        cost_note=f"{note}; SIP minutes {sip.minutes} at {sip.rate.label}: {sip_cost}",
    )
    return UsageRecord.model_validate(data)
