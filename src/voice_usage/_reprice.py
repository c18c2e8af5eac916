"""Repricing: the same traffic priced under another vendor's rate card.

`reprice()` is a pure function: records in, records priced under a card out, nothing fetched and
nothing mutated. Calls (`event` records) are rounded and charged per call with the card's billing
increment and minimum charge, so the result is exact. Windows carry no per-call durations: they
are priced on their minutes and labelled approximate, and the output says so.

`reprice_comparison()` prices one stream under several cards at once and lays the results side by
side with what the traffic cost where it ran, as `ComparisonRow`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from voice_usage._compare import Comparison, ComparisonRow, _Group, build_row, convert_rows
from voice_usage._exceptions import ConfigurationError
from voice_usage._fx import FxRates, target_currency
from voice_usage._ratecard import (
    COST_QUANTUM,
    Rate,
    RateBook,
    RateCardError,
    default_rate_book,
    price_record,
)
from voice_usage._schema import CostSource, UsageRecord

__all__ = ["RepriceTarget", "reprice", "reprice_comparison", "reprice_record"]


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


@dataclass
class _LeftOut:
    """Records of an item a target card does not price."""

    records: int = 0
    minutes: Decimal = Decimal(0)


class _Cards:
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
    data = record.model_dump()
    data.update(
        cost=cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP),
        currency=rate.currency,
        cost_source=CostSource.RATE_CARD,
        cost_note=(
            f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min; approximate: "
            f"priced on {record.provider}'s billed minutes, no durations to round per call"
        ),
        approximate=True,
    )
    return UsageRecord.model_validate(data)


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
    cards = _Cards(parsed, book or default_rate_book())
    for record in records:
        rate = cards.find(record.item, record.period_start)
        if isinstance(rate, RateCardError):
            yield _unpriced(record, f"cannot price under {parsed.label}: {rate}")
        else:
            yield reprice_record(record, rate)


def _unpriced(record: UsageRecord, reason: str) -> UsageRecord:
    return record.model_copy(
        update={
            "cost": None,
            "currency": None,
            "cost_source": None,
            "cost_note": reason,
            "approximate": False,
        }
    )


def reprice_comparison(
    records: Iterable[UsageRecord],
    targets: Sequence[str | RepriceTarget],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    currency: str | None = None,
    fx: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None = None,
    book: RateBook | None = None,
) -> Comparison:
    """What the traffic cost where it ran, and what it would cost on each target, side by side.

    One pass over ``records`` (memory does not grow with them). The first rows are the traffic as
    run, one per provider in the records; then one row per target. Records of an item a target
    has no card for (SIP minutes, say) are left out of that target's row, and a note says so.

    Raises:
        ConfigurationError: a target without any rate card; as `MissingRateError`, a conversion
            to ``currency`` without its exchange rate.
    """
    to_currency = target_currency(currency)
    book = book or default_rate_book()
    parsed = [RepriceTarget.parse(t) for t in targets]
    if not parsed:
        raise ConfigurationError("name at least one rate card to reprice under: --to VENDOR")
    for target in parsed:
        target.check(book)
    rates = FxRates.coerce(fx)
    rates = FxRates(rates.rates.values())
    cards = [_Cards(t, book) for t in parsed]
    as_run: dict[str, _Group] = {}
    priced = [_Group() for _ in parsed]
    left_out: list[dict[str, _LeftOut]] = [{} for _ in parsed]
    first: datetime | None = None
    last: datetime | None = None
    for record in records:
        as_run.setdefault(record.provider, _Group()).add(record)
        first = record.period_start if first is None else min(first, record.period_start)
        last = record.period_end if last is None else max(last, record.period_end)
        for index, target_cards in enumerate(cards):
            rate = target_cards.find(record.item, record.period_start)
            if isinstance(rate, RateCardError):
                tally = left_out[index].setdefault(record.item, _LeftOut())
                tally.records += 1
                minutes = record.billed_minutes
                if minutes is None and record.duration_seconds is not None:
                    minutes = record.duration_seconds / 60
                tally.minutes += minutes or Decimal(0)
                continue
            priced[index].add(reprice_record(record, rate))
    rows: list[ComparisonRow] = []
    for provider, group in sorted(as_run.items()):
        rows.append(build_row(provider, group, basis="as run"))
    notes: list[str] = []
    for target, group, missing in zip(parsed, priced, left_out, strict=True):
        row_notes = []
        for item, tally in sorted(missing.items()):
            row_notes.append(
                f"{tally.records} {item} record(s) ({_minutes(tally.minutes)} min) not priced: "
                f"{target.label} has no {item!r} card"
            )
        notes.extend(f"{target.label}: {n}" for n in row_notes)
        rows.append(
            build_row(target.label, group, basis=f"{target.label} rate card", notes=row_notes)
        )
    rows = convert_rows(rows, to_currency, rates)
    approximate = [row.label for row in rows if row.approximate and row.basis != "as run"]
    if approximate:
        notes.insert(
            0,
            "approximate: window records carry no per-call durations, so the target cards' "
            "per-call rounding and minimum charge could not be applied exactly ("
            + ", ".join(approximate)
            + ")",
        )
    start = since or first
    end = until or last
    if start is None or end is None:  # no records at all
        start = end = datetime.now(UTC)
    return Comparison(
        since=start,
        until=end,
        rows=rows,
        currency=to_currency,
        fx=rates.used,
        notes=notes,
    )


def _minutes(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def describe_rate(rate: Rate) -> dict[str, Any]:
    """A rate line as JSON-ready data, for `voice-usage ratecards`."""
    return {
        "provider": rate.provider,
        "item": rate.item,
        "variant": rate.variant,
        "price_per_minute": str(rate.price_per_minute),
        "currency": rate.currency,
        "increment_seconds": rate.increment_seconds,
        "increment": rate.increment,
        "minimum_charge": str(rate.minimum_charge),
        "effective_from": rate.effective_from.isoformat(),
        "effective_until": rate.effective_until.isoformat() if rate.effective_until else None,
        "source": rate.source,
        "checked": rate.checked.isoformat(),
        "note": rate.note,
        "label": rate.label,
    }
