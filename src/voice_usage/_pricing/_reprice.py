"""Repricing: the same traffic priced under another vendor's rate card.

`reprice()` is a pure function: records in, records priced under a card out, nothing fetched and
nothing mutated. Calls (`event` records) are rounded and charged per call with the card's billing
increment and minimum charge, so the result is exact. Windows carry no per-call durations: they
are priced on their minutes and labelled approximate, and the output says so.

Laying the results side by side with what the traffic cost where it ran is
`voice_usage._analysis._reprice.reprice_comparison()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP

from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._ratecard import (
    COST_QUANTUM,
    Rate,
    RateBook,
    RateCardError,
    default_rate_book,
    price_record,
    priced_by,
    unpriced,
)
from voice_usage._schema import UsageRecord

__all__ = ["CardLookup", "RepriceTarget", "reprice", "reprice_record"]


@dataclass(frozen=True)
class RepriceTarget:
    """A vendor's rate card to price under: `ultravox`, or `agentphone:hosted` for one variant."""

    provider: str
    variant: str | None = None

    @classmethod
    def parse(cls, spec: str | RepriceTarget) -> RepriceTarget:
        """`PROVIDER` or `PROVIDER:VARIANT`."""
        if isinstance(spec, RepriceTarget):
            return spec
        provider, _, variant = spec.strip().partition(":")
        if not provider:
            raise ConfigurationError(
                f"a repricing target is PROVIDER or PROVIDER:VARIANT, got {spec!r}"
            )
        return cls(provider, variant or None)

    @property
    def label(self) -> str:
        """`agentphone:hosted`, or just the provider."""
        return f"{self.provider}:{self.variant}" if self.variant else self.provider

    def check(self, book: RateBook) -> None:
        """Fail early when the book has no card for this target.

        Raises:
            ConfigurationError: naming the providers (and variants) that have cards.
        """
        lines = [r for r in book.rates if r.provider == self.provider]
        if self.variant is not None:
            lines = [r for r in lines if r.variant == self.variant]
        if not lines:
            known = sorted(
                {f"{r.provider}:{r.variant}" if r.variant else r.provider for r in book.rates}
            )
            raise ConfigurationError(
                f"no rate card for {self.label!r}; cards exist for: {', '.join(known)}"
            )


class CardLookup:
    """Rate lookups for one target, cached per item and UTC day."""

    def __init__(self, target: RepriceTarget, book: RateBook) -> None:
        self.target = target
        self.book = book
        self._cache: dict[tuple[str, date], Rate | RateCardError] = {}

    def find(self, item: str, at: datetime) -> Rate | RateCardError:
        key = (item, at.date())
        found = self._cache.get(key)
        if found is None:
            try:
                found = self.book.find(
                    self.target.provider, at, item=item, variant=self.target.variant
                )
            except RateCardError as exc:
                found = exc
            self._cache[key] = found
        return found


def reprice_record(record: UsageRecord, rate: Rate) -> UsageRecord:
    """``record`` priced under ``rate``: exact for a call with a duration, else approximate.

    The vendor's own billed minutes are kept only when ``rate`` is the same vendor's card. A
    record with billed minutes but no duration (a vendor that reports only rated minutes) is
    priced on those minutes and labelled approximate: the other vendor's rounding cannot be
    re-applied to minutes already rounded.
    """
    priced = price_record(record, rate, vendor_rated=rate.provider == record.provider)
    if priced.cost is not None or record.billed_minutes is None:
        return priced
    cost = record.billed_minutes * rate.price_per_minute
    if record.calls:
        cost = max(cost, rate.minimum_charge * record.calls)
    return priced_by(
        record,
        cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP),
        rate,
        note=(
            f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min; approximate: "
            f"priced on {record.provider}'s billed minutes, no durations to round per call"
        ),
        cost_estimate=True,
    )


def reprice(
    records: Iterable[UsageRecord],
    target: str | RepriceTarget | Rate,
    *,
    book: RateBook | None = None,
) -> Iterator[UsageRecord]:
    """``records`` priced under ``target``'s rate card; a pure, lazy transformation.

    ``target`` is a vendor name (`ultravox`), `vendor:variant` (`agentphone:hosted`), or one
    `Rate`. With a name, the card in force on each record's date is used, for the record's metered
    item. A record whose item the card does not price comes out with `cost=None` and the reason.

    Example::

        calls = voice_usage.fetch("flireo", "2026-10-01", "2026-11-01", "call")
        on_ultravox = list(voice_usage.reprice(calls, "ultravox"))
    """
    if isinstance(target, Rate):
        for record in records:
            yield reprice_record(record, target)
        return
    parsed = RepriceTarget.parse(target)
    cards = CardLookup(parsed, book or default_rate_book())
    for record in records:
        rate = cards.find(record.item, record.period_start)
        if isinstance(rate, RateCardError):
            yield unpriced(record, f"cannot price under {parsed.label}: {rate}")
        else:
            yield reprice_record(record, rate)
