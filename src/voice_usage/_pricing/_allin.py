"""What an all-in figure adds to a cost: assumed prices for missing parts, and fixed charges.

- `AddCost` is one `--add-cost [PROVIDER.]COMPONENT=CUR:PRICE`: a price per minute of measured
  duration for a part of a call (`telephony`, `llm`...) that a row's cost does not cover. It is
  applied only where the cost does not cover the part, and always named as an assumption.
- `fixed_charges()` is a provider's monthly fixed charges (`[[fixed]]` card lines) for a period,
  pro rata by 30-day months: a plan's subscription when the vendor says the account is on that
  plan, a price per phone number times the numbers it holds, or what a user's card states.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._ratecard import RateBook
from voice_usage._schema import CallPart

__all__ = ["AddCost", "FixedFigure", "add_costs_for", "fixed_charges", "parse_add_costs"]

_ADD_COST = re.compile(
    r"^(?:(?P<provider>[a-z0-9][a-z0-9_-]*)\.)?(?P<part>[A-Za-z_]+)=(?P<currency>[^:]*):(?P<price>.*)$"
)
_SYNTAX = "expected [PROVIDER.]COMPONENT=CUR:PRICE, e.g. telephony=USD:0.0085"


@dataclass(frozen=True)
class AddCost:
    """An assumed price per minute of measured duration for one part of a call."""

    part: CallPart
    currency: str
    price_per_minute: Decimal
    provider: str | None = None
    """Only for this provider's rows; `None` for every row that lacks the part."""

    @property
    def label(self) -> str:
        """As the user wrote it: `flireo.llm=EUR:0.03`."""
        where = f"{self.provider}." if self.provider else ""
        return f"{where}{self.part.value}={self.currency}:{self.price_per_minute}"

    @classmethod
    def parse(cls, text: str, providers: Iterable[str] | None = None) -> AddCost:
        """Read one `--add-cost` value.

        Args:
            text: `[PROVIDER.]COMPONENT=CUR:PRICE`.
            providers: The installed providers' names; a PROVIDER outside them is an error.

        Raises:
            ConfigurationError: one line naming the value and what was expected.
        """
        match = _ADD_COST.match(text.strip())
        if match is None:
            raise ConfigurationError(f"--add-cost {text!r}: {_SYNTAX}")
        provider, part, currency, price = match.group("provider", "part", "currency", "price")
        known = [p.value for p in CallPart]
        if part not in known:
            raise ConfigurationError(
                f"--add-cost {text!r}: unknown component {part!r}; known: {', '.join(known)}"
            )
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ConfigurationError(
                f"--add-cost {text!r}: currency must be an ISO 4217 code such as USD, "
                f"got {currency!r}"
            )
        try:
            amount = Decimal(price)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0:
            raise ConfigurationError(
                f"--add-cost {text!r}: price must be a non-negative number per minute, "
                f"got {price!r}"
            )
        if provider is not None and providers is not None:
            installed = sorted(providers)
            if provider not in installed:
                raise ConfigurationError(
                    f"--add-cost {text!r}: provider {provider!r} is not installed; installed: "
                    f"{', '.join(installed) or 'none'}"
                )
        return cls(CallPart(part), currency, amount, provider)


def parse_add_costs(
    texts: Iterable[str], providers: Iterable[str] | None = None
) -> tuple[AddCost, ...]:
    """Every `--add-cost` value read; a part named twice for the same rows is an error."""
    names = None if providers is None else list(providers)
    parsed = tuple(AddCost.parse(text, names) for text in texts)
    seen: set[tuple[str | None, CallPart]] = set()
    for add in parsed:
        key = (add.provider, add.part)
        if key in seen:
            where = f"for {add.provider}" if add.provider else "for every provider"
            raise ConfigurationError(
                f"--add-cost {add.label!r}: {add.part.value} is priced twice {where}"
            )
        seen.add(key)
    return parsed


def add_costs_for(add_costs: Iterable[AddCost], provider: str) -> dict[CallPart, AddCost]:
    """The assumed prices for ``provider``'s rows: one naming the provider beats a general one."""
    chosen: dict[CallPart, AddCost] = {}
    for add in add_costs:
        if add.provider is None:
            chosen.setdefault(add.part, add)
    for add in add_costs:
        if add.provider == provider:
            chosen[add.part] = add
    return chosen


@dataclass(frozen=True)
class FixedFigure:
    """A provider's fixed charges over a period."""

    costs: Mapping[str, Decimal] = field(default_factory=dict)
    """The charges summed per currency; empty when there are none."""
    lines: tuple[Mapping[str, Any], ...] = ()
    """Each charge: the card line, how many units and why, its cost and currency."""
    unknown: str | None = None
    """Why the fixed charges cannot be told (the plan or the count unknown); `None` if known."""


def fixed_charges(
    book: RateBook,
    provider: str,
    since: datetime,
    until: datetime,
    *,
    plan: str | None = None,
    numbers: int | None = None,
    told: bool = False,
) -> FixedFigure:
    """``provider``'s fixed charges for `[since, until)`, pro rata (30-day months).

    Args:
        book: The rate book whose `[[fixed]]` lines apply.
        provider: Whose fixed charges.
        since: Start of the period, inclusive.
        until: End of the period, exclusive.
        plan: The account's plan as the vendor names it, when it says (compared with a line's
            `variant` without regard to case).
        numbers: Phone numbers the account holds, when the vendor says.
        told: Whether the vendor's account snapshot was read; without it, a plan line cannot
            be ruled in or out, and the figure is unknown.
    """
    costs: dict[str, Decimal] = {}
    lines: list[Mapping[str, Any]] = []
    unknown: list[str] = []
    for line in book.fixed_in_force(provider, since):
        count: int | None
        if line.per == "number":
            count, basis = (
                (numbers, "numbers the vendor reports")
                if numbers is not None
                else (line.count, "numbers stated in the rate card")
            )
        elif line.variant is not None:
            if not told:
                unknown.append(f"{line.label}: the vendor did not say the account's plan")
                continue
            if (plan or "").lower() != line.variant.lower():
                continue
            count, basis = 1, f"plan {plan} (the vendor says)"
        else:
            count, basis = (line.count if line.count is not None else 1), "stated in the rate card"
        if count is None:
            unknown.append(f"{line.label}: the vendor does not say how many numbers are held")
            continue
        cost = line.for_period(count, since, until)
        costs[line.currency] = costs.get(line.currency, Decimal(0)) + cost
        lines.append(
            {
                "line": line.label,
                "count": count,
                "basis": basis,
                "price_per_month": str(line.price_per_month),
                "cost": str(cost),
                "currency": line.currency,
            }
        )
    return FixedFigure(costs, tuple(lines), "; ".join(unknown) or None)
