"""The result of a comparison or a repricing: rows with their provenance, failures, skips.

Plain data: JSON forms for `--format json`, and `Comparison.to_pandas()` for analysis (pandas is
optional and imported only then).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from voice_usage._analysis._grouping import GroupBy
from voice_usage._optional import require
from voice_usage._pricing._fx import FxRate
from voice_usage._schema import format_instant

__all__ = ["Comparison", "ComparisonRow", "ProviderFailure", "Skipped"]


@dataclass(frozen=True)
class ProviderFailure:
    """A provider that could not be fetched; the other rows of a comparison are still valid."""

    provider: str
    error: str
    """The exception class, e.g. `ServerError`."""
    message: str
    """One line naming the provider and the cause (no secrets)."""

    def to_json(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"provider": self.provider, "error": self.error, "message": self.message}


@dataclass(frozen=True)
class Skipped:
    """A provider left out of a comparison, and why (no credentials, not implemented)."""

    provider: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"provider": self.provider, "reason": self.reason}


@dataclass(frozen=True)
class ComparisonRow:
    """One provider's figures for the period (or for one group of it), with their provenance.

    Calls, failed calls and durations are what the vendor reported. Billed minutes are the
    vendor's rated minutes where it reports them, else the rate card's per-call rounding.
    `cost` is in the row's own `currency`; `converted_cost` in the comparison's currency.
    """

    provider: str
    """Whose figures these are: the provider (compare) or the rate card's vendor (reprice)."""
    group: str | None = None
    """The day, month, agent or number of the row; `None` for a whole-period row."""
    basis: str | None = None
    """How the row was priced: `None` for compare; `as run` or `<vendor> rate card` for reprice."""
    records: int = 0
    calls: int | None = None
    """Calls attempted, for every vendor (joined or not, completed or not)."""
    failed_calls: int | None = None
    connected_calls: int | None = None
    """Calls that connected (Ultravox: joined), where the vendor tells; `None` otherwise."""
    duration_seconds: Decimal | None = None
    billed_minutes: Decimal | None = None
    cost: Decimal | None = None
    """Cost in `currency`; `None` when unknown or in several currencies."""
    currency: str | None = None
    cost_source: str | None = None
    """`reported`, `rate_card`, or `approximate` (a rate card applied without per-call durations)."""
    cost_estimate: bool = False
    converted_cost: Decimal | None = None
    """Cost in `converted_currency`, through the exchange rates the comparison names."""
    converted_currency: str | None = None
    cost_per_minute: Decimal | None = None
    """Cost per billed minute, in `unit_currency`."""
    cost_per_call: Decimal | None = None
    """Cost per call, in `unit_currency`."""
    unit_currency: str | None = None
    billed_from: str = "usage"
    """`usage` when billed minutes and cost are summed from the usage records, `billing` when
    they come from the vendor's authoritative billing endpoint (`Provider.billing_query`)."""
    costs: Mapping[str, Decimal] = field(default_factory=dict)
    """Known costs per currency (several only when the records mixed currencies)."""
    rate_cards: tuple[str, ...] = ()
    """Rate-card lines that priced any of the row's records."""
    items: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per metered item (`call`, `sip`...) billed minutes and cost, when there is more than one."""
    unknown: Mapping[str, str] = field(default_factory=dict)
    """Figures that are unknown, with the reason: what the vendor could not tell."""
    notes: tuple[str, ...] = ()
    cost_covers: tuple[str, ...] | None = None
    """The parts of a call `cost` pays for on all the row's call time (`platform`, `telephony`,
    `stt`, `llm`, `tts`; calls without call time need no part); `None` when the cost is unknown
    or nobody says what it covers."""
    partly_covers: Mapping[str, Decimal | None] = field(default_factory=dict)
    """Parts `cost` pays for on only some of the row's calls (a Vapi call on the user's own
    carrier number has no telephony in its cost, one on Vapi's number has), each with the minutes
    of measured duration whose cost does not pay for it: what an `--add-cost` price for the part
    is applied to. `None` minutes when a duration is unknown."""
    fixed_cost: Decimal | None = None
    """Fixed charges (subscriptions, numbers) pro rata for the period, in `all_in_currency`;
    `None` when they cannot be told (or for a row of one group of the period)."""
    fixed: tuple[Mapping[str, Any], ...] = ()
    """Each fixed charge: the card line, the count and why, its cost."""
    assumed: tuple[Mapping[str, Any], ...] = ()
    """Each part priced by `--add-cost`: the part, the price, the minutes and the cost."""
    gaps: tuple[str, ...] = ()
    """Parts of a call the cost neither covers nor has an assumed price for."""
    all_in_cost: Decimal | None = None
    """Cost + fixed charges + assumed parts, in `all_in_currency`; `None` (never 0) while any
    part is neither covered nor assumed, or any of them is unknown."""
    all_in_per_minute: Decimal | None = None
    """`all_in_cost` per minute of measured duration."""
    all_in_currency: str | None = None
    double_counted: tuple[str, ...] = ()
    """For a stack of vendors (`--stack`): parts of a call that more than one member's cost
    covers, so the summed cost pays for them twice."""

    @property
    def label(self) -> str:
        """`provider`, or `provider group` for grouped rows."""
        return self.provider if self.group is None else f"{self.provider} {self.group}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: Decimals as strings."""
        return {
            "provider": self.provider,
            "group": self.group,
            "basis": self.basis,
            "records": self.records,
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "connected_calls": self.connected_calls,
            "duration_seconds": str_or_none(self.duration_seconds),
            "billed_minutes": str_or_none(self.billed_minutes),
            "cost": str_or_none(self.cost),
            "currency": self.currency,
            "cost_source": self.cost_source,
            "cost_estimate": self.cost_estimate,
            "converted_cost": str_or_none(self.converted_cost),
            "converted_currency": self.converted_currency,
            "cost_per_minute": str_or_none(self.cost_per_minute),
            "cost_per_call": str_or_none(self.cost_per_call),
            "unit_currency": self.unit_currency,
            "billed_from": self.billed_from,
            "costs": {c: str(a) for c, a in sorted(self.costs.items())},
            "rate_cards": list(self.rate_cards),
            "items": {k: dict(v) for k, v in self.items.items()},
            "unknown": dict(self.unknown),
            "notes": list(self.notes),
            "cost_covers": None if self.cost_covers is None else list(self.cost_covers),
            "partly_covers": {p: str_or_none(m) for p, m in self.partly_covers.items()},
            "fixed_cost": str_or_none(self.fixed_cost),
            "fixed": [dict(line) for line in self.fixed],
            "assumed": [dict(part) for part in self.assumed],
            "gaps": list(self.gaps),
            "all_in_cost": str_or_none(self.all_in_cost),
            "all_in_per_minute": str_or_none(self.all_in_per_minute),
            "all_in_currency": self.all_in_currency,
            "double_counted": list(self.double_counted),
        }


def str_or_none(value: Decimal | None) -> str | None:
    """A Decimal as JSON text; None stays None."""
    return None if value is None else str(value)


@dataclass
class Comparison:
    """The result of `compare()` (or of a repricing): rows, failures, and every rate used.

    `errors` lists providers that failed; their rows are absent, the others are complete.
    """

    since: datetime
    until: datetime
    rows: list[ComparisonRow]
    currency: str | None = None
    """The currency costs were converted to, or `None` when each row stays in its own."""
    group_by: GroupBy = GroupBy.PROVIDER
    fx: list[FxRate] = field(default_factory=list)
    """Exchange rates used in conversions."""
    errors: list[ProviderFailure] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: ComparisonRow | None = None
    """The sum over the rows, when they share a currency (or were converted to one)."""
    stacks: list[ComparisonRow] = field(default_factory=list)
    """One row per `--stack` (vendors serving the same calls, taken as one); never in `total`."""

    @property
    def ok(self) -> bool:
        """True when no provider failed."""
        return not self.errors

    def row(self, provider: str, group: str | None = None) -> ComparisonRow:
        """The row of ``provider`` (and ``group``).

        Raises:
            KeyError: when there is no such row.
        """
        for row in self.rows:
            if row.provider == provider and row.group == group:
                return row
        raise KeyError(provider if group is None else (provider, group))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: the `compare --format json` object."""
        return {
            "since": format_instant(self.since),
            "until": format_instant(self.until),
            "group_by": self.group_by.value,
            "currency": self.currency,
            "fx": [
                {"from": r.source, "to": r.target, "rate": str(r.rate), "label": r.label}
                for r in self.fx
            ],
            "rows": [row.to_json() for row in self.rows],
            "total": self.total.to_json() if self.total is not None else None,
            "stacks": [row.to_json() for row in self.stacks],
            "errors": [e.to_json() for e in self.errors],
            "skipped": [s.to_json() for s in self.skipped],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (needs the `pandas` extra); Decimals kept."""
        pd = require("pandas", "pandas")
        data = []
        for row in self.rows:
            item = row.to_json()
            for name in (
                "duration_seconds",
                "billed_minutes",
                "cost",
                "converted_cost",
                "cost_per_minute",
                "cost_per_call",
                "fixed_cost",
                "all_in_cost",
                "all_in_per_minute",
            ):
                item[name] = getattr(row, name)
            item["cost_covers"] = None if row.cost_covers is None else ",".join(row.cost_covers)
            item["partly_covers"] = json.dumps(item["partly_covers"], sort_keys=True)
            item["gaps"] = ",".join(row.gaps)
            for name in ("fixed", "assumed"):
                item[name] = json.dumps(item[name], sort_keys=True)
            item["rate_cards"] = ", ".join(row.rate_cards)
            item["notes"] = " ".join(row.notes)
            item["unknown"] = "; ".join(f"{k}: {v}" for k, v in row.unknown.items())
            for name in ("costs", "items"):
                item.pop(name)
            data.append(item)
        return pd.DataFrame.from_records(data)
