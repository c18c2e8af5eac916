"""Stacks: several vendors that serve the same calls, compared as one (`--stack ultravox+twilio`).

A voice agent often runs on one vendor's platform over another vendor's phone line: Ultravox's
cost covers the platform and the speech pipeline, and the Twilio number under it is billed by
Twilio. Asked for as one stack, their rows become one more row:

- its cost is the sum of the members' costs, in the comparison's currency (each converted
  through the named rates), and it covers the union of what they cover;
- its calls, failed calls, duration and billed minutes are the first member's (the platform the
  calls reach): the other members add cost, not calls;
- a part that two members both cover would be paid twice in the sum: the row says so
  (`double_counted`), and its all-in figure stays unknown rather than count it twice;
- the all-in figure is then worked out as for any row: fixed charges are the members' summed,
  and a part no member covers is priced only by `--add-cost`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from decimal import Decimal

from voice_usage._analysis._allin import all_in_rows
from voice_usage._analysis._comparison import ComparisonRow
from voice_usage._analysis._rows import convert_rows
from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._allin import AddCost, FixedFigure
from voice_usage._pricing._fx import FxRates
from voice_usage._schema import CallPart, covers

__all__ = ["parse_stack", "stack_row"]


def parse_stack(text: str) -> tuple[str, ...]:
    """``PROVIDER+PROVIDER[+...]`` as the members' names, in order.

    Raises:
        ConfigurationError: for fewer than two members, an empty name or a repeated one.
    """
    members = tuple(name.strip() for name in text.split("+"))
    if len(members) < 2 or not all(members) or len(set(members)) != len(members):
        raise ConfigurationError(
            f"--stack takes two or more different providers joined by '+' "
            f"(e.g. ultravox+twilio), got {text!r}"
        )
    return members


def stack_row(
    rows: Sequence[ComparisonRow],
    members: Sequence[str],
    *,
    currency: str | None,
    fx: FxRates,
    add_costs: Iterable[AddCost] = (),
) -> ComparisonRow:
    """One row for ``members`` taken as one stack, from their whole-period ``rows``.

    ``rows`` must already carry their conversions and all-in figures (`all_in_rows`).
    """
    name = "+".join(members)
    found = {row.provider: row for row in rows if row.group is None}
    missing = [member for member in members if member not in found]
    if missing:
        return ComparisonRow(
            provider=name,
            notes=(f"stack of {', '.join(members)}",),
            unknown={"cost": f"no row for {', '.join(missing)} (failed or not compared)"},
        )
    parts = [found[member] for member in members]
    first = parts[0]
    unknown: dict[str, str] = {}
    cost, cost_currency = _summed_cost(parts, currency, unknown)
    member_covers = [row.cost_covers for row in parts]
    union: tuple[str, ...] | None = None
    double: dict[str, list[str]] = {}
    partly: dict[str, Decimal | None] = {}
    if cost is not None and all(c is not None for c in member_covers):
        union = tuple(part.value for part in covers(p for c in member_covers for p in c or ()))
        for part in union:
            # A member paying for the part on some calls pays twice for those with another that
            # pays for it on every call: the members serve the same calls.
            payers = [
                row.provider if part in (row.cost_covers or ()) else f"{row.provider} (some calls)"
                for row in parts
                if part in (row.cost_covers or ()) or part in row.partly_covers
            ]
            if len(payers) > 1:
                double[part] = payers
        # A part members pay for on some calls only: its minutes without it are known when one
        # member alone pays for it in part (the stack's minutes are the first member's).
        for part in CallPart:
            if part.value in union:
                continue
            some = [row for row in parts if part.value in row.partly_covers]
            if some:
                alone = len(some) == 1 and some[0] is first
                partly[part.value] = first.partly_covers[part.value] if alone else None
    elif cost is not None:
        unknown["cost_covers"] = "a member's cost does not say what it covers"
    row = ComparisonRow(
        provider=name,
        records=sum(row.records for row in parts),
        calls=first.calls,
        failed_calls=first.failed_calls,
        connected_calls=first.connected_calls,
        duration_seconds=first.duration_seconds,
        billed_minutes=first.billed_minutes,
        cost=cost,
        currency=cost_currency,
        costs={} if cost is None or cost_currency is None else {cost_currency: cost},
        cost_source="stack",
        cost_estimate=any(row.cost_estimate for row in parts),
        rate_cards=tuple(dict.fromkeys(card for row in parts for card in row.rate_cards)),
        unknown=unknown,
        notes=(
            f"stack of {', '.join(members)}: calls and minutes are {first.provider}'s, the "
            "cost is the members' sum",
        ),
        cost_covers=union,
        partly_covers=partly,
    )
    (row,) = convert_rows([row], currency, fx)  # per billed minute and per call, as for any row
    (row,) = all_in_rows(
        [row],
        currency=currency,
        fx=fx,
        add_costs=add_costs,
        fixed={name: _summed_fixed(parts, currency or cost_currency)},
    )
    if double:
        paid_twice = "; ".join(f"{part} by {' and '.join(p)}" for part, p in double.items())
        row = dataclasses.replace(
            row,
            all_in_cost=None,
            all_in_per_minute=None,
            double_counted=tuple(double),
            unknown={
                **row.unknown,
                "all_in_cost": f"paid twice in the sum: {paid_twice} (a stack takes each "
                "part from one member)",
            },
        )
    return row


def _summed_cost(
    rows: Sequence[ComparisonRow], currency: str | None, unknown: dict[str, str]
) -> tuple[Decimal | None, str | None]:
    """The members' costs added up, in ``currency`` or in their one shared currency."""
    if currency is not None:
        values = [row.converted_cost for row in rows]
        if any(v is None for v in values):
            unknown["cost"] = "a member's cost is unknown"
            return None, None
        return sum((v for v in values if v is not None), Decimal(0)), currency
    codes = {row.currency for row in rows}
    if None in codes or any(row.cost is None for row in rows):
        unknown["cost"] = "a member's cost is unknown"
        return None, None
    if len(codes) > 1:
        unknown["cost"] = (
            f"the members' costs are in {', '.join(sorted(c for c in codes if c))}: "
            "pass --currency (and --fx)"
        )
        return None, None
    return sum((row.cost for row in rows if row.cost is not None), Decimal(0)), codes.pop()


def _summed_fixed(rows: Sequence[ComparisonRow], currency: str | None) -> FixedFigure:
    """The members' fixed charges together, or why they cannot be told."""
    lines = tuple(line for row in rows for line in row.fixed)
    if currency is None or any(row.fixed_cost is None for row in rows):
        why = next((row.unknown.get("fixed_cost") for row in rows if row.fixed_cost is None), None)
        return FixedFigure(lines=lines, unknown=why or "a member's fixed charges are unknown")
    if any(row.all_in_currency not in (None, currency) for row in rows if row.fixed_cost):
        return FixedFigure(
            lines=lines, unknown="the members' fixed charges are in other currencies"
        )
    total = sum((row.fixed_cost for row in rows if row.fixed_cost is not None), Decimal(0))
    return FixedFigure(costs={currency: total} if total else {}, lines=lines)
