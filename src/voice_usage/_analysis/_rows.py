"""Row arithmetic: records summed per group into `ComparisonRow`s, converted, and totalled.

Used by `compare()` and by `reprice_comparison()`: records go into a `RowTotals` per group,
`build_row` turns one into a row, `convert_rows` applies exchange rates and unit costs, and
`total_row` sums the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from voice_usage._analysis._comparison import ComparisonRow, str_or_none
from voice_usage._analysis._grouping import GroupBy, group_key
from voice_usage._pricing._fx import FxRates, MissingRateError
from voice_usage._pricing._ratecard import COST_QUANTUM
from voice_usage._rollup import Totals
from voice_usage._schema import CallPart, UsageRecord, covers

__all__ = ["GroupMap", "RowTotals", "accumulate", "build_row", "convert_rows", "total_row"]

_PROGRESS_EVERY = 250
_FIGURES = ("calls", "failed_calls", "duration_seconds", "billed_minutes")


@dataclass
class RowTotals:
    """The records of one row: per metered item, and all items together."""

    items: dict[str, Totals] = field(default_factory=dict)
    all: Totals = field(default_factory=lambda: Totals(allow_mixed_currencies=True))

    def add(self, record: UsageRecord) -> None:
        totals = self.items.get(record.item)
        if totals is None:
            totals = self.items[record.item] = Totals(allow_mixed_currencies=True)
        totals.add(record)
        self.all.add(record)

    @property
    def main(self) -> Totals:
        """The totals whose calls and minutes a row shows: call minutes when there are any."""
        return self.items.get("call") or self.all


GroupMap = dict[str | None, RowTotals]


def accumulate(
    records: Iterable[UsageRecord],
    by: GroupBy,
    *,
    progress: Callable[[int], None] | None = None,
) -> GroupMap:
    """Sum records into one `RowTotals` per group key."""
    groups: GroupMap = {}
    count = 0
    for record in records:
        key = group_key(record, by)
        group = groups.get(key)
        if group is None:
            group = groups[key] = RowTotals()
        group.add(record)
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return groups


def _q(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def _covers(
    group: RowTotals | None,
) -> tuple[tuple[str, ...] | None, dict[str, Decimal | None]]:
    """What a row's cost covers, and what on only part of its call time (minutes without).

    `None` covers when a costed record does not say. Per metered item, what the records' costs cover (`Coverage`); the items (call minutes, SIP
    minutes) together cover what any of them does. Minutes without a part are the main item's
    (call minutes); a part only another item covers in part has them unknown.
    """
    if group is None:
        return None, {}
    parts: set[CallPart] = set()
    for totals in group.items.values():
        if totals.costed and totals.covers is None:
            return None, {}
        if totals.covers is not None:
            parts |= totals.covers
    main = group.main.coverage.partly
    partly: dict[str, Decimal | None] = {}
    for totals in group.items.values():
        for part in totals.coverage.partly:
            if part not in parts:
                seconds = main.get(part)
                partly[part.value] = None if seconds is None else _q(seconds / 60)
    ordered: dict[str, Decimal | None] = {
        part.value: partly[part.value] for part in CallPart if part.value in partly
    }
    return tuple(part.value for part in covers(parts)), ordered


def _unknown(totals: Totals, values: Mapping[str, Any]) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for figure in _FIGURES:
        if values[figure] is None:
            missing = totals.missing.get(figure, 0)
            reasons[figure] = (
                f"not reported for {missing} of {totals.records} records"
                if missing
                else "not reported"
            )
    return reasons


def build_row(
    provider: str,
    group: RowTotals | None,
    *,
    key: str | None = None,
    basis: str | None = None,
    billing: RowTotals | None = None,
    notes: Sequence[str] = (),
    unknown_notes: Mapping[str, str] | None = None,
    never_reported: Iterable[str] = (),
) -> ComparisonRow:
    """A row from accumulated totals; conversion is applied later by `_convert_rows`.

    ``never_reported`` names the figures the provider never gives: a row without records
    leaves them unknown instead of 0.
    """
    group = group or RowTotals()
    main, everything = group.main, group.all
    values: dict[str, Any] = {
        "calls": main.calls,
        "failed_calls": main.failed_calls,
        "connected_calls": main.connected_calls,
        "duration_seconds": main.duration_seconds,
        "billed_minutes": main.billed_minutes,
    }
    unknown = _unknown(main, values) if main.records else {}
    from_billing = billing is not None and billing.all.records > 0
    if not everything.records and not from_billing:
        # Nothing happened in the period: zero of everything, and no cost to convert; but a
        # figure the provider never gives stays unknown (0 would claim it was counted).
        values.update(calls=0, failed_calls=0, duration_seconds=Decimal(0))
        values["billed_minutes"] = Decimal(0)
        for figure in never_reported:
            if figure in values:
                values[figure] = None
                unknown[figure] = f"{provider} does not report it"
    elif not everything.records:
        unknown.update(
            dict.fromkeys(
                ("calls", "failed_calls", "duration_seconds"),
                "no calls listed; billed minutes and cost are from the billing endpoint",
            )
        )
    priced = everything
    if billing is not None and from_billing:
        values["billed_minutes"] = billing.main.billed_minutes
        priced = billing.all
        if values["billed_minutes"] is not None:
            unknown.pop("billed_minutes", None)
    cost: Decimal | None = None
    currency: str | None = None
    costs: dict[str, Decimal] = {}
    source: str | None = None
    if not priced.records:
        cost = Decimal(0)
    elif priced.uncosted == 0:
        costs = dict(priced.costs)
        if len(costs) == 1:
            currency, cost = next(iter(costs.items()))
        if priced.cost_estimate:
            source = "approximate"
        elif len(priced.cost_sources) == 1:
            source = next(iter(priced.cost_sources)).value
        else:
            source = "rate_card"  # reported and rate-card costs mixed: the weaker claim
    else:
        # Some records have no cost: the roll-up's note gives their reasons, and only theirs.
        unknown["cost"] = priced.cost_note or "no cost reported"
    items: dict[str, dict[str, Any]] = {}
    item_source = billing.items if billing is not None and billing.all.records else group.items
    if len(item_source) > 1:
        for name, totals in sorted(item_source.items()):
            items[name] = {
                "records": totals.records,
                "billed_minutes": str_or_none(totals.billed_minutes),
                "cost": str_or_none(totals.total_cost),
                "currency": totals.currency if totals.total_cost is not None else None,
            }
    if unknown_notes:
        for figure, reason in unknown_notes.items():
            if figure in unknown:
                unknown[figure] = reason
    cost_covers, partly = (
        _covers(billing if from_billing else group)
        if cost is not None
        else (
            None,
            {},
        )
    )
    return ComparisonRow(
        provider=provider,
        group=key,
        basis=basis,
        records=everything.records,
        calls=values["calls"],
        failed_calls=values["failed_calls"],
        connected_calls=values["connected_calls"],
        cost_covers=cost_covers,
        partly_covers=partly,
        duration_seconds=values["duration_seconds"],
        billed_minutes=values["billed_minutes"],
        cost=cost,
        currency=currency,
        cost_source=source,
        cost_estimate=priced.cost_estimate,
        billed_from="billing" if from_billing else "usage",
        costs=costs,
        rate_cards=tuple(priced.rate_cards),
        items=items,
        unknown=unknown,
        notes=tuple(notes),
    )


def convert_rows(
    rows: Sequence[ComparisonRow], currency: str | None, fx: FxRates
) -> list[ComparisonRow]:
    """Rows with converted costs and unit costs filled in.

    Raises:
        MissingRateError: naming every missing rate and the providers that need it.
    """
    missing: set[tuple[str, str]] = set()
    needed_by: set[str] = set()
    for row in rows:
        for code in row.costs:
            if currency is not None and not fx.has(code, currency):
                missing.add((code, currency))
                needed_by.add(row.provider)
    if missing:
        raise MissingRateError(missing, needed_by=needed_by)
    return [_convert(row, currency, fx) for row in rows]


def _convert(row: ComparisonRow, currency: str | None, fx: FxRates) -> ComparisonRow:
    converted: Decimal | None = None
    if currency is not None:
        if row.records == 0 or (row.cost is not None and not row.costs):
            converted = row.cost  # no usage: zero in any currency
        elif row.costs and "cost" not in row.unknown:
            converted = fx.convert_all(row.costs, currency)
    basis, unit_currency = (
        (converted, currency) if currency is not None else (row.cost, row.currency)
    )
    per_minute = per_call = None
    if basis is not None:
        if row.billed_minutes:
            per_minute = _q(basis / row.billed_minutes)
        if row.calls:
            per_call = _q(basis / row.calls)
    return replace(
        row,
        converted_cost=converted,
        converted_currency=currency,
        cost_per_minute=per_minute,
        cost_per_call=per_call,
        unit_currency=unit_currency if per_minute is not None or per_call is not None else None,
    )


def total_row(rows: Sequence[ComparisonRow], currency: str | None) -> ComparisonRow | None:
    """The sum of ``rows`` when there are several and their costs share one currency."""
    if len(rows) < 2:
        return None
    codes = {row.currency for row in rows if row.records}
    if currency is None and len(codes - {None}) > 1:
        return None

    def total(name: str) -> Any:
        values = [getattr(row, name) for row in rows]
        if any(v is None for v in values):
            return None
        return sum(values)

    cost = total("converted_cost") if currency is not None else total("cost")
    if currency is None and any(row.records and row.currency is None for row in rows):
        cost = None
    unit_currency = currency or next(iter(codes - {None}), None)
    billed, calls = total("billed_minutes"), total("calls")
    return ComparisonRow(
        provider="total",
        records=sum(row.records for row in rows),
        calls=calls,
        failed_calls=total("failed_calls"),
        duration_seconds=total("duration_seconds"),
        billed_minutes=billed,
        cost=cost if currency is None else None,
        currency=unit_currency if currency is None and cost is not None else None,
        converted_cost=cost if currency is not None else None,
        converted_currency=currency,
        cost_per_minute=_q(cost / billed) if cost is not None and billed else None,
        cost_per_call=_q(cost / calls) if cost is not None and calls else None,
        unit_currency=unit_currency if cost is not None else None,
        cost_estimate=any(row.cost_estimate for row in rows),
        cost_source="approximate" if any(row.cost_estimate for row in rows) else None,
    )
