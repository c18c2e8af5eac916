"""Like for like: what each row's cost covers, what is assumed for the rest, and the all-in figure.

Vendors' prices cover different parts of a call (one includes the phone line, another is an
orchestration fee alone). Each row says what its cost covers (`cost_covers`), and what it covers
on only some of its calls (`partly_covers`, with the minutes that go without the part); a part
it does not cover is priced only when the user names a price for it (`--add-cost`), applied to
the minutes whose cost lacks the part and to no other (a call that pays for it already is never
charged it twice), and every such price is named; fixed charges (subscriptions, numbers) are a figure of their own. The all-in figure adds
them up, and stays unknown (`None`, never 0) while any part is neither covered nor assumed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from voice_usage._analysis._comparison import ComparisonRow
from voice_usage._pricing._allin import AddCost, FixedFigure, add_costs_for
from voice_usage._pricing._fx import FxRates
from voice_usage._pricing._ratecard import COST_QUANTUM
from voice_usage._schema import CallPart

__all__ = ["GAP_ORDER", "all_in_rows", "assumption_line", "covers_line", "gap_line"]

GAP_ORDER = (CallPart.PLATFORM, CallPart.STT, CallPart.LLM, CallPart.TTS, CallPart.TELEPHONY)
"""The order parts are named in: the agent's own pipeline first, then the phone line."""


def _q(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def _in(
    amount: Decimal, source: str, target: str | None, currency: str | None, fx: FxRates
) -> Decimal | None:
    """``amount`` in the row's all-in currency, or `None` when it cannot be.

    Converted when a currency was asked for; else as it is when already in the row's currency.
    """
    if target is not None:
        return fx.convert(amount, source, target)
    return amount if source == currency else None


def all_in_rows(
    rows: Sequence[ComparisonRow],
    *,
    currency: str | None,
    fx: FxRates,
    add_costs: Iterable[AddCost] = (),
    fixed: Mapping[str, FixedFigure] | None = None,
) -> list[ComparisonRow]:
    """``rows`` with their assumed parts, fixed charges and all-in figures filled in.

    Args:
        rows: Converted rows (`convert_rows`).
        currency: The comparison's currency; `None` keeps each row in its own.
        fx: The exchange rates (conversions of assumed prices and fixed charges use them).
        add_costs: `--add-cost` prices.
        fixed: Per provider, its fixed charges for the whole period (a provider without a
            figure has none: 0); only rows of the whole period (not of one day or agent of it)
            carry them. `None` when fixed charges are not asked for: they are then unknown.
    """
    adds = list(add_costs)
    return [
        _all_in(row, currency, fx, adds, (fixed or {}).get(row.provider), fixed is not None)
        for row in rows
    ]


def _all_in(
    row: ComparisonRow,
    currency: str | None,
    fx: FxRates,
    adds: Sequence[AddCost],
    fixed: FixedFigure | None,
    with_fixed: bool,
) -> ComparisonRow:
    target = currency or row.currency
    base = row.converted_cost if currency is not None else row.cost
    minutes = None if row.duration_seconds is None else row.duration_seconds / 60
    unknown = dict(row.unknown)
    assumed: list[dict[str, Any]] = []
    gaps: list[str] = []
    assumed_total: Decimal | None = Decimal(0)
    if row.records and row.cost_covers is not None:
        prices = add_costs_for(adds, row.provider.partition(":")[0])
        for part in GAP_ORDER:
            if part.value in row.cost_covers:
                continue
            add = prices.get(part)
            if add is None:
                gaps.append(part.value)
                continue
            partly = part.value in row.partly_covers
            # A part some calls pay for already: the price goes on the other calls' minutes only.
            lacking = row.partly_covers[part.value] if partly else minutes
            entry: dict[str, Any] = {
                "part": part.value,
                "price_per_minute": str(add.price_per_minute),
                "currency": add.currency,
                "assumption": add.label,
                "partly_covered": partly,
                "minutes": None,
                "cost": None,
                "converted_cost": None,
            }
            assumed.append(entry)
            if lacking is None:
                assumed_total = None
                unknown["all_in_cost"] = (
                    f"{part.value} is assumed per minute, and the duration of the calls "
                    f"without it is unknown"
                    if partly
                    else f"{part.value} is assumed per minute, and the duration is unknown"
                )
                continue
            amount = _q(add.price_per_minute * lacking)
            converted = _in(amount, add.currency, currency, row.currency, fx)
            entry.update(minutes=str(_q(lacking)), cost=str(amount))
            entry["converted_cost"] = None if converted is None else str(converted)
            if converted is None:
                assumed_total = None
                unknown["all_in_cost"] = (
                    f"the assumed {part.value} price is in {add.currency}, the row in "
                    f"{row.currency}: pass --currency and --fx"
                )
            elif assumed_total is not None:
                assumed_total += converted
    fixed_cost: Decimal | None = None
    fixed_lines: tuple[Mapping[str, Any], ...] = ()
    if not with_fixed:
        unknown.setdefault("fixed_cost", "fixed charges were not asked for")
    elif row.group is not None:
        unknown.setdefault("fixed_cost", "fixed charges are for the whole period, not one group")
    elif fixed is None:
        fixed_cost = Decimal(0)
    elif fixed.unknown is not None:
        unknown["fixed_cost"] = fixed.unknown
        fixed_lines = fixed.lines
    else:
        fixed_lines = fixed.lines
        parts = [
            _in(amount, code, currency, row.currency, fx) for code, amount in fixed.costs.items()
        ]
        if any(p is None for p in parts):
            unknown["fixed_cost"] = "fixed charges in another currency: pass --currency and --fx"
        else:
            fixed_cost = sum((p for p in parts if p is not None), Decimal(0))
    total: Decimal | None = None
    if base is None:
        unknown.setdefault("all_in_cost", "the cost is unknown")
    elif row.records and row.cost_covers is None:
        unknown.setdefault("all_in_cost", "nobody says what the cost covers")
    elif gaps:
        unknown["all_in_cost"] = f"no price for {_gap_text(row, gaps)} (add one with --add-cost)"
    elif fixed_cost is None:
        unknown.setdefault("all_in_cost", "the fixed charges are unknown")
    elif assumed_total is not None:
        total = base + fixed_cost + assumed_total
    per_minute = _q(total / minutes) if total is not None and minutes else None
    return dataclasses.replace(
        row,
        fixed_cost=fixed_cost,
        fixed=fixed_lines,
        assumed=tuple(assumed),
        gaps=tuple(gaps),
        all_in_cost=total,
        all_in_per_minute=per_minute,
        all_in_currency=target if total is not None or fixed_cost is not None else None,
        unknown=unknown,
    )


def _minutes(value: Decimal | None) -> str:
    return "an unknown number of" if value is None else f"{value.quantize(Decimal('0.1'))}"


def _gap_text(row: ComparisonRow, gaps: Sequence[str]) -> str:
    """``gaps`` named, a part some calls pay for with the minutes that go without it."""
    whole = None if row.duration_seconds is None else row.duration_seconds / 60
    named = []
    for gap in gaps:
        if gap in row.partly_covers:
            named.append(f"{gap} on {_minutes(row.partly_covers[gap])} of {_minutes(whole)} min")
        else:
            named.append(gap)
    return ", ".join(named)


def gap_line(rows: Sequence[ComparisonRow]) -> str | None:
    """One line naming each row's gap: `not like for like: ultravox: no telephony; ...`.

    A part some of a row's calls pay for is named with the minutes that go without it:
    `vapi: no telephony on 433.5 of 945.8 min`.
    """
    gaps = [f"{row.label}: no {_gap_text(row, row.gaps)}" for row in rows if row.gaps]
    return "not like for like: " + "; ".join(gaps) if gaps else None


def covers_line(rows: Sequence[ComparisonRow]) -> str | None:
    """One line naming what each row's cost covers, when some row's calls differ in it.

    `covers: vapi: platform, stt, llm, tts, and telephony on part of the calls; ultravox: ...`.
    """
    if not any(row.partly_covers for row in rows):
        return None
    said = []
    for row in rows:
        if row.cost_covers is None:
            continue
        text = ", ".join(row.cost_covers) or "nothing on every call"
        if row.partly_covers:
            text += f", and {', '.join(row.partly_covers)} on part of the calls"
        said.append(f"{row.label}: {text}")
    return "covers: " + "; ".join(said)


def assumption_line(rows: Sequence[ComparisonRow]) -> str | None:
    """One line naming every assumed price and the rows it was applied to."""
    applied: dict[str, list[str]] = {}
    for row in rows:
        for entry in row.assumed:
            applied.setdefault(entry["assumption"], []).append(row.label)
    if not applied:
        return None
    return "assumed (--add-cost, per minute of measured duration): " + "; ".join(
        f"{label} for {', '.join(labels)}" for label, labels in applied.items()
    )
