"""Repricing side by side: what traffic cost where it ran, and under each target's rate card.

`reprice_comparison()` prices one stream of records under several cards at once (through
`voice_usage._pricing._reprice`) and lays the results out as `ComparisonRow`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from voice_usage._analysis._allin import all_in_rows, assumption_line, covers_line, gap_line
from voice_usage._analysis._comparison import Comparison, ComparisonRow
from voice_usage._analysis._rows import RowTotals, build_row, convert_rows
from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._allin import AddCost, FixedFigure, fixed_charges
from voice_usage._pricing._fx import FxRates, target_currency
from voice_usage._pricing._ratecard import RateBook, RateCardError, default_rate_book
from voice_usage._pricing._reprice import CardLookup, RepriceTarget, reprice_record
from voice_usage._schema import UsageRecord

__all__ = ["reprice_comparison"]


@dataclass
class _LeftOut:
    """Records of an item a target card does not price."""

    records: int = 0
    minutes: Decimal = Decimal(0)


def reprice_comparison(
    records: Iterable[UsageRecord],
    targets: Sequence[str | RepriceTarget],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    currency: str | None = None,
    fx: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None = None,
    book: RateBook | None = None,
    add_cost: Iterable[AddCost] = (),
    fixed: bool = True,
) -> Comparison:
    """What the traffic cost where it ran, and what it would cost on each target, side by side.

    Rows say what their cost covers; ``add_cost`` prices parts a row does not cover, and each
    target row carries the target's fixed charges for the period (a plan's subscription when the
    target names the plan, `vendor:pro`; numbers as a user's card states them), with the all-in
    figure (see `compare()`).

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
        raise ConfigurationError(
            "name at least one rate card to reprice under (a vendor)", argument="targets"
        )
    repeated = sorted({t.label for t in parsed if parsed.count(t) > 1})
    if repeated:  # as compare refuses a provider named twice: one row each, never two alike
        raise ConfigurationError(
            f"a rate card is named twice: {', '.join(repeated)}", argument="targets"
        )
    for target in parsed:
        target.check(book)
    rates = FxRates.coerce(fx)
    rates = FxRates(rates.rates.values())
    cards = [CardLookup(t, book) for t in parsed]
    as_run: dict[str, RowTotals] = {}
    priced = [RowTotals() for _ in parsed]
    left_out: list[dict[str, _LeftOut]] = [{} for _ in parsed]
    first: datetime | None = None
    last: datetime | None = None
    for record in records:
        as_run.setdefault(record.provider, RowTotals()).add(record)
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
    start = since or first
    end = until or last
    if start is None or end is None:  # no records at all
        start = end = datetime.now(UTC)
    figures: dict[str, FixedFigure] = {}
    if fixed and end > start:
        for provider in as_run:
            # Where the traffic ran, the account's plan and numbers are not known here.
            figures[provider] = fixed_charges(book, provider, start, end)
        for target in parsed:
            figures[target.label] = fixed_charges(
                book, target.provider, start, end, plan=target.variant, told=True
            )
    adds = tuple(add_cost)
    rows = all_in_rows(
        rows, currency=to_currency, fx=rates, add_costs=adds, fixed=figures if fixed else None
    )
    notes[:0] = [line for line in (gap_line(rows), assumption_line(rows)) if line]
    said = covers_line(rows)
    if said:
        notes.append(said)
    estimates = [row.label for row in rows if row.cost_estimate and row.basis != "as run"]
    if estimates:
        notes.insert(
            0,
            "approximate: window records carry no per-call durations, so the target cards' "
            "per-call rounding and minimum charge could not be applied exactly ("
            + ", ".join(estimates)
            + ")",
        )
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
