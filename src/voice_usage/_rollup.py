"""Roll-ups: records summed into coarser windows, in memory proportional to the number of groups.

`Totals` is the one accumulator: roll-ups, comparisons and reports all sum records through it, so
the rules for unknown figures are the same everywhere. An unknown (`None`) figure in any record
makes the total unknown, never a silent undercount; a cost is summed only within one currency.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from voice_usage._calendar import utc_floor, utc_shift
from voice_usage._exceptions import ConfigurationError
from voice_usage._schema import CallPart, CostSource, Grain, Granularity, UsageRecord, covers

__all__ = ["Totals", "bucket", "rollup"]


def bucket(instant: datetime, granularity: Granularity) -> tuple[datetime, datetime]:
    """The UTC `[start, end)` of the hour, day or month containing ``instant``."""
    start = utc_floor(instant, granularity)
    return start, utc_shift(start, granularity, 1)


def _sum(total: Decimal | int | None, value: Decimal | int | None, first: bool) -> Any:
    if first:
        return value
    if total is None or value is None:
        return None
    return total + value


@dataclass
class Totals:
    """Running sums over records. Unknown stays unknown; currencies never mix."""

    records: int = 0
    calls: int | None = None
    failed_calls: int | None = None
    duration_seconds: Decimal | None = None
    billed_minutes: Decimal | None = None
    cost: Decimal | None = None
    currency: str | None = None
    cost_sources: set[CostSource] = field(default_factory=set)
    uncosted: int = 0
    """Records whose cost is unknown."""
    connected_calls: int | None = None
    """Calls that connected, when every record says."""
    rate_cards: dict[str, None] = field(default_factory=dict)
    """The rate-card lines that priced the records, in the order first seen."""
    covers: frozenset[CallPart] | None = None
    """The parts of a call every costed record's cost covers (`None` when none is costed or
    one says nothing)."""
    components: dict[str, Decimal] | None = None
    """Line items summed by name while every costed record has a split; else `None`."""
    _covers_known: bool = True
    uncosted_notes: list[str] = field(default_factory=list)
    """Why the records without a cost have none (prose for people, copied whole)."""
    cost_notes: list[str] = field(default_factory=list)
    cost_estimate: bool = False
    agent_ids: set[str | None] = field(default_factory=set)
    number_ids: set[str | None] = field(default_factory=set)
    first_start: datetime | None = None
    last_end: datetime | None = None
    allow_mixed_currencies: bool = False
    """Keep costs in different currencies apart in `costs` instead of raising; the single
    `cost` is then unknown until converted with explicit exchange rates."""
    costs: dict[str, Decimal] = field(default_factory=dict)
    """Summed known costs per currency."""
    missing: dict[str, int] = field(default_factory=dict)
    """How many records left each figure unknown (`calls`, `duration_seconds`, ...)."""

    def add(self, record: UsageRecord) -> None:
        """Add one record."""
        first = self.records == 0
        self.records += 1
        for figure in _FIGURES:
            if getattr(record, figure) is None:
                self.missing[figure] = self.missing.get(figure, 0) + 1
        self.calls = _sum(self.calls, record.calls, first)
        self.failed_calls = _sum(self.failed_calls, record.failed_calls, first)
        self.connected_calls = _sum(self.connected_calls, record.connected_calls, first)
        self.duration_seconds = _sum(self.duration_seconds, record.duration_seconds, first)
        self.billed_minutes = _sum(self.billed_minutes, record.billed_minutes, first)
        if record.cost is None:
            self.uncosted += 1
            if record.cost_note and record.cost_note not in self.uncosted_notes:
                self.uncosted_notes.append(record.cost_note)
            if record.cost_note and record.cost_note not in self.cost_notes:
                self.cost_notes.append(record.cost_note)
        else:
            assert record.currency is not None and record.cost_source is not None
            if self.costs and record.currency not in self.costs and not self.allow_mixed_currencies:
                raise ConfigurationError(
                    f"cannot add {record.currency} to {self.currency} without an exchange rate "
                    f"(provider {record.provider})"
                )
            self.costs[record.currency] = self.costs.get(record.currency, Decimal(0)) + record.cost
            if len(self.costs) == 1:
                self.currency, self.cost = record.currency, self.costs[record.currency]
            else:
                self.currency, self.cost = None, None
            self.cost_sources.add(record.cost_source)
            if record.rate_card is not None:
                self.rate_cards[record.rate_card] = None
            self._add_split(record, first_costed=self.costed == 0)
            self.costed += 1
            if record.cost_note and record.cost_note not in self.cost_notes:
                self.cost_notes.append(record.cost_note)
        self.cost_estimate = self.cost_estimate or record.cost_estimate
        self.agent_ids.add(record.agent_id)
        self.number_ids.add(record.number_id)
        if self.first_start is None or record.period_start < self.first_start:
            self.first_start = record.period_start
        if self.last_end is None or record.period_end > self.last_end:
            self.last_end = record.period_end

    costed: int = 0
    """Records whose cost is known."""

    def _add_split(self, record: UsageRecord, *, first_costed: bool) -> None:
        """Fold a costed record's covered parts and line items into the totals'."""
        if record.cost_covers is None:
            self._covers_known, self.covers = False, None
        elif self._covers_known:
            parts = frozenset(record.cost_covers)
            self.covers = parts if first_costed else (self.covers or frozenset()) & parts
        if first_costed:
            self.components = {} if record.cost_components is not None else None
        if record.cost_components is None or self.components is None:
            self.components = None
        else:
            for name, amount in record.cost_components.items():
                self.components[name] = self.components.get(name, Decimal(0)) + amount

    @property
    def total_cost(self) -> Decimal | None:
        """The summed cost, or `None` when any record's cost is unknown or currencies are mixed."""
        return None if self.uncosted else self.cost

    @property
    def mixed_currencies(self) -> bool:
        """Whether known costs came in more than one currency."""
        return len(self.costs) > 1

    @property
    def cost_source(self) -> CostSource | None:
        """One source when all costs share it; `rate_card` when mixed (the weaker claim)."""
        if self.total_cost is None:
            return None
        if len(self.cost_sources) == 1:
            return next(iter(self.cost_sources))
        return CostSource.RATE_CARD

    @property
    def cost_note(self) -> str | None:
        """Why the cost is unknown, or how it was obtained."""
        if self.uncosted:
            # Only the records without a cost give reasons, sorted: the same every run.
            reason = "; ".join(sorted(self.uncosted_notes)) or "no cost reported"
            return f"{self.uncosted} of {self.records} records have no cost: {reason}"
        if self.mixed_currencies:
            amounts = ", ".join(f"{c} {a}" for c, a in sorted(self.costs.items()))
            return f"costs in several currencies ({amounts}): summing them needs exchange rates"
        return "; ".join(self.cost_notes) or None

    def to_record(
        self,
        provider: str,
        start: datetime,
        end: datetime,
        *,
        account: str | None = None,
        item: str = "call",
    ) -> UsageRecord:
        """The totals as one `window` record over `[start, end)`."""
        cost = self.total_cost
        return UsageRecord(
            provider=provider,
            account=account,
            grain=Grain.WINDOW,
            period_start=start,
            period_end=end,
            calls=self.calls,
            failed_calls=self.failed_calls,
            duration_seconds=self.duration_seconds,
            billed_minutes=self.billed_minutes,
            cost=cost,
            currency=self.currency if cost is not None else None,
            cost_source=self.cost_source,
            cost_note=self.cost_note,
            cost_estimate=self.cost_estimate,
            connected_calls=self.connected_calls,
            rate_card=(
                next(iter(self.rate_cards))
                if cost is not None
                and len(self.rate_cards) == 1
                and self.cost_source is CostSource.RATE_CARD
                else None
            ),
            cost_components=self.components if cost is not None else None,
            cost_covers=covers(self.covers)
            if cost is not None and self.covers is not None
            else None,
            item=item,
            agent_id=_only(self.agent_ids),
            number_id=_only(self.number_ids),
        )


_FIGURES = ("calls", "failed_calls", "duration_seconds", "billed_minutes", "cost")


def _only(values: set[str | None]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


GroupKey = Callable[[UsageRecord], Hashable]


def rollup(
    records: Iterable[UsageRecord],
    granularity: Granularity,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[UsageRecord]:
    """Sum ``records`` into UTC hour, day or month windows, clipped to `[since, until)`.

    Records are grouped by provider, account, metered item and time bucket; a record belongs to
    the bucket of its `period_start`. Windows that a vendor already broke down by agent or number
    (per-agent usage, say) keep that breakdown: they are grouped by `agent_id` and `number_id`
    too. Calls (events) are summed across agents and numbers. Windows come out in time order.
    """
    groups: dict[tuple[Any, ...], Totals] = {}
    for record in records:
        start, end = bucket(record.period_start, granularity)
        dimensions = (
            (record.agent_id, record.number_id) if record.grain is Grain.WINDOW else (None, None)
        )
        key = (start, end, record.provider, record.account, record.item, *dimensions)
        totals = groups.get(key)
        if totals is None:
            totals = groups[key] = Totals()
        totals.add(record)
    for (start, end, provider, account, item, *_), totals in sorted(
        groups.items(),
        key=lambda kv: (
            kv[0][0],
            kv[0][2],
            kv[0][3] or "",
            kv[0][4],
            kv[0][5] or "",
            kv[0][6] or "",
        ),
    ):
        lo = max(start, since) if since else start
        hi = min(end, until) if until else end
        yield totals.to_record(provider, lo, hi, account=account, item=item)
