"""Flireo usage logs as event records, with the running sums they are reconciled against.

`Normalizer.records` runs once per log, so it is written for speed (see its docstring); the
rules it applies are those of the provider's module docstring. `Pricer` caches the rate-card
arithmetic per distinct value, and `Tally` carries the sums to `FlireoProvider._reconcile`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from voice_usage.provider import (
    CallPart,
    CostSource,
    Grain,
    Page,
    PageRepeats,
    Rate,
    RateBook,
    RateCardError,
    UsageRecord,
)
from voice_usage_flireo._wire import UsageLog, UsageSummary

__all__ = ["CURRENCY", "Normalizer", "Tally"]

CURRENCY = "EUR"
"""Flireo bills in euros (billing guide)."""
PLATFORM_ONLY = (CallPart.PLATFORM,)
"""What Flireo's per-minute fee pays for: the orchestration platform, not the models (billed at
cost on top, or by the user's own vendors with BYOK) nor the phone line."""

FALLBACK_INCREMENT_SECONDS = 60
"""Per-call rounding used for billed minutes when no rate card is in force (the documented
example bills 84 s as 2 minutes)."""

_DOCUMENTED = frozenset(UsageLog.__annotations__)
"""Documented optional fields are left out of extras when null; unknown ones are kept as sent."""


Card = tuple[Rate | None, str, str | None, tuple[CallPart, ...], str | None]
"""A day's rate (or `None`), the cost note it gives, and its label, parts covered and line item
(the rate's, or `None`, the reason, `None`, the platform only and `None` without one)."""


class Pricer:
    """Rate-card lookups and arithmetic for the logs of one fetch, cached.

    Logs repeat a few durations and one price many times over; caching the rate per UTC day and
    the derived quantities per distinct value keeps the per-log work to dictionary lookups.
    Rates are keyed by identity: hashing a rate model costs more than the arithmetic it saves,
    and `by_day` keeps every rate it returned alive, so an identity is never reused.
    """

    def __init__(self, book: RateBook, provider: str) -> None:
        self.book = book
        self.provider = provider
        self.by_day: dict[date, Card] = {}
        self.priced: dict[tuple[int, Decimal], tuple[Decimal, Decimal | None]] = {}
        self.spans: dict[Decimal | None, tuple[timedelta, bool]] = {}
        self._charges: dict[tuple[int, Decimal], Decimal] = {}

    def rate(self, at: datetime) -> Card:
        """The rate in force at ``at`` and the cost note it gives, or `None` and the reason.

        With the rate come its label, what it covers and its line item, read once here: they
        are properties that would otherwise be worked out again for every record it prices.
        """
        day = at.date()
        found = self.by_day.get(day)
        if found is None:
            try:
                rate = self.book.find(self.provider, at)
            except RateCardError as exc:
                found = (None, f"no rate card to price it: {exc}", None, PLATFORM_ONLY, None)
            else:
                label = rate.label
                note = (
                    f"rate card {label}: {rate.currency} {rate.price_per_minute}/min "
                    "on billed minutes"
                )
                found = (rate, note, label, rate.covers, rate.line_item)
            self.by_day[day] = found
        return found

    def price(self, rate: Rate | None, duration: Decimal) -> tuple[Decimal, Decimal | None]:
        """Billed minutes of a call (rounded up to the card's increment) and their cost."""
        key = (id(rate), duration)
        found = self.priced.get(key)
        if found is None:
            increment = rate.increment_seconds if rate is not None else FALLBACK_INCREMENT_SECONDS
            billed = Decimal(math.ceil(duration / increment) * increment) / 60
            found = self.priced[key] = (billed, self.charge(rate, billed) if rate else None)
        return found

    def charge(self, rate: Rate, billed: Decimal) -> Decimal:
        """What ``billed`` minutes cost on ``rate``."""
        key = (id(rate), billed)
        cost = self._charges.get(key)
        if cost is None:
            cost = self._charges[key] = rate.charge_minutes(billed)
        return cost

    def span(self, duration: Decimal | None) -> tuple[timedelta, bool]:
        """The event's length, and whether its duration has a fraction of a second.

        The length is the duration, at least one second: a record's period may not be empty.
        """
        found = self.spans.get(duration)
        if found is None:
            seconds = float(duration) if duration is not None else 0.0
            fractional = duration is not None and duration != duration.to_integral_value()
            found = self.spans[duration] = (timedelta(seconds=max(seconds, 1.0)), fractional)
        return found


@dataclass(slots=True)
class Tally:
    """Sums over every distinct log the server returned, for the reconciliation.

    A figure is `None` once a log lacks it: a partial sum would not reconcile.
    """

    logs: int = 0
    seconds: Decimal | None = Decimal(0)
    fractional_seconds: bool = False
    billed_minutes: Decimal | None = Decimal(0)
    cost: Decimal | None = Decimal(0)
    reported_cost: bool = True
    """Whether every log carried its own cost."""
    outside: int = 0
    """Logs the server matched that fall outside `[since, until)`."""
    summary: UsageSummary | None = None
    summary_changed: bool = False
    duplicates: int = 0

    def observe(self, summary: UsageSummary | None) -> None:
        if summary is None:
            return
        if self.summary is None:
            self.summary = summary
        elif summary != self.summary:
            self.summary_changed = True


_EVENT_FIELDS = (
    "period_start",
    "period_end",
    "duration_seconds",
    "billed_minutes",
    "cost",
    "currency",
    "cost_source",
    "cost_note",
    "rate_card",
    "cost_components",
    "cost_covers",
    "call_id",
    "number_id",
    "extras",
)
"""What an event record of a log takes from it, in the order `Normalizer.records` passes it."""
_EVER = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


class Normalizer:
    """Turns the usage logs of one fetch into event records and tallies them.

    `records()` runs once per log, so it is written for speed: the values every record shares
    are fixed once in a record template, the running sums live in local variables until the
    walk ends, rate-card arithmetic is cached per distinct value, and a log's dict (freshly
    parsed, owned by the fetch) becomes the record's extras once the core fields are taken out.
    """

    def __init__(self, provider: str, book: RateBook) -> None:
        self.pricer = Pricer(book, provider)
        self.tally = Tally()
        self._event = UsageRecord.row_template(
            _EVENT_FIELDS, provider=provider, grain=Grain.EVENT, calls=1
        )

    def record(self, log: UsageLog, rates: RateBook | None = None) -> UsageRecord:
        """The `event` record of one log, whatever its date (the log is left as it is)."""
        return next(self.records([Page([UsageLog(**log)])], *_EVER))

    def records(
        self, pages: Iterable[Page[UsageLog]], since: datetime, until: datetime
    ) -> Iterator[UsageRecord]:
        """Event records of the logs created in `[since, until)`, consuming the logs.

        A log inserted while paging shifts the offsets, so the next page repeats the last logs
        of this one: each page is compared with itself and its predecessor only, which keeps
        memory flat however long the walk; a repeat is counted and dropped.
        """
        pricer, tally, event = self.pricer, self.tally, self._event
        by_day, priced, spans = pricer.by_day, pricer.priced, pricer.spans
        reported, rate_card = CostSource.REPORTED, CostSource.RATE_CARD
        logs = outside = duplicates = 0
        seconds, billed_total, cost_total = tally.seconds, tally.billed_minutes, tally.cost
        fractional_seconds, every_cost_reported = False, True
        repeats: PageRepeats[str] = PageRepeats()
        next_page_of, repeated = repeats.next_page_of, repeats.repeated
        note: str | None
        source: CostSource | None
        try:
            for page in pages:
                tally.observe(page.meta)
                items = page.items
                # A page that repeats nothing, the usual one, is checked in one go.
                fresh = next_page_of([log["id"] for log in items])
                for log in items:
                    fields: dict[str, Any] = log  # type: ignore[assignment]
                    log_id = fields.pop("id")
                    if not fresh and repeated(log_id):
                        duplicates += 1
                        continue
                    start = fields.pop("created_at")
                    duration = fields.pop("duration_seconds", None)
                    other_duration = fields.pop("duration_sec", None)
                    if duration is None:
                        duration = other_duration
                    billed = fields.pop("minutes_used", None)
                    cost = fields.pop("cost", None)
                    rate, note, label, rate_covers, line_item = by_day.get(
                        start.date()
                    ) or pricer.rate(start)
                    if cost is not None:
                        source = reported
                        note = None
                        label = None  # priced by the vendor, not by a card
                        if billed is None and duration is not None:
                            billed = (
                                priced.get((id(rate), duration)) or pricer.price(rate, duration)
                            )[0]
                    else:
                        every_cost_reported = False
                        if billed is not None:
                            cost = pricer.charge(rate, billed) if rate is not None else None
                        elif duration is not None:
                            billed, cost = priced.get((id(rate), duration)) or pricer.price(
                                rate, duration
                            )
                        else:
                            note = "the log has neither a cost nor a duration to price"
                        source = rate_card if cost is not None else None
                    span, fractional = spans.get(duration) or pricer.span(duration)
                    logs += 1
                    if duration is None:
                        seconds = None
                    elif seconds is not None:
                        seconds += duration
                        fractional_seconds = fractional_seconds or fractional
                    if billed is None:
                        billed_total = None
                    elif billed_total is not None:
                        billed_total += billed
                    if cost is None:
                        cost_total = None
                    elif cost_total is not None:
                        cost_total += cost
                    # What is left of the log is kept as extras, but for documented fields
                    # sent as null.
                    if None in fields.values():
                        for key in [k for k, v in fields.items() if v is None and k in _DOCUMENTED]:
                            del fields[key]
                    call_id = fields.pop("call_id", None)
                    number_id = fields.pop("number_id", None)
                    fields["log_id"] = log_id
                    if not since <= start < until:
                        outside += 1
                        continue
                    if cost is None:
                        covers = components = label = None
                    elif label is not None:  # priced by the card
                        covers, components = rate_covers, {line_item: cost}
                    else:
                        # A reported cost is the orchestration fee as well: the platform only
                        # (what the day's card covers, when there is one).
                        covers, components = rate_covers, None
                    yield event(
                        start,
                        start + span,
                        duration,
                        billed,
                        cost,
                        CURRENCY if cost is not None else None,
                        source,
                        note,
                        label,
                        components,
                        covers,
                        call_id,
                        number_id,
                        fields,
                    )
        finally:
            tally.logs += logs
            tally.outside += outside
            tally.duplicates += duplicates
            tally.seconds, tally.billed_minutes, tally.cost = seconds, billed_total, cost_total
            tally.fractional_seconds |= fractional_seconds
            tally.reported_cost &= every_cost_reported
