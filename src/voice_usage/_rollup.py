"""Roll-ups: records summed into coarser windows, in memory proportional to the number of groups.

`Totals` is the one accumulator: roll-ups, comparisons and reports all sum records through it, so
the rules for unknown figures are the same everywhere. An unknown (`None`) figure in any record
makes the total unknown, never a silent undercount; a cost is summed only within one currency.

Records of one roll-up may pay for different parts of a call (a Vapi call on Vapi's own number
pays for the phone line, one on the user's own carrier number does not). `Coverage` keeps what
every call's cost covers apart from what only some calls' costs cover, and how many minutes of
call time go without each part, so an assumed price for a part is added only to those minutes.
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

__all__ = ["UNITEMIZED", "Coverage", "Totals", "bucket", "rollup"]

UNITEMIZED = "unitemized"
"""The line item that holds, in a sum of records, the cost of those that came without a split."""


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
class _Share:
    """The costed records whose costs cover one same set of parts."""

    records: int = 0
    timed: int = 0
    """Those with call time (or an unknown duration)."""
    seconds: Decimal | None = Decimal(0)
    """Their measured seconds; `None` when one is unknown."""


@dataclass
class Coverage:
    """What the costs of some records pay for, part by part, measured in call time.

    A part is *covered* when the cost of every minute of call time pays for it: every costed
    record with call time covers it (a record of no call time, such as a call nobody answered,
    needs no part and changes nothing). It is *partly covered* when some records' costs pay for
    it and others, with call time, do not; `partly` says how much call time goes without it. A
    record of unknown duration counts as having call time. Records are counted per distinct set
    of parts (a few), so adding one is a dictionary lookup.
    """

    known: bool = True
    """False once a costed record does not say what its cost covers."""
    records: int = 0
    """Costed records counted."""
    shares: dict[tuple[CallPart, ...], _Share] = field(default_factory=dict)
    """The records per set of parts their costs cover."""

    def add(self, parts: Iterable[CallPart] | None, seconds: Decimal | None) -> None:
        """Count one costed record: the parts its cost covers (`None`: not said), its duration."""
        if parts is None:
            self.known = False
            return
        self.records += 1
        key = parts if isinstance(parts, tuple) else tuple(parts)
        share = self.shares.get(key)
        if share is None:
            share = self.shares[key] = _Share()
        share.records += 1
        if seconds is None:
            share.timed += 1
            share.seconds = None
        else:
            if seconds > 0:
                share.timed += 1
            if share.seconds is not None:
                share.seconds += seconds

    def _tally(self, part: CallPart) -> tuple[int, int, Decimal | None]:
        """Records covering ``part``; records with call time lacking it, and their seconds."""
        covering = lacking = 0
        seconds: Decimal | None = Decimal(0)
        for parts, share in self.shares.items():
            if part in parts:
                covering += share.records
                continue
            lacking += share.timed
            seconds = None if seconds is None or share.seconds is None else seconds + share.seconds
        return covering, lacking, seconds

    @property
    def covers(self) -> frozenset[CallPart] | None:
        """The parts every minute's cost pays for; `None` when none is costed or one says nothing."""
        if not self.known or not self.records:
            return None
        tallies = {part: self._tally(part) for part in CallPart}
        return frozenset(
            p for p, (covering, lacking, _) in tallies.items() if covering and not lacking
        )

    @property
    def partly(self) -> dict[CallPart, Decimal | None]:
        """Parts some records' costs pay for and others' (with call time) do not.

        Each with the seconds of call time that go without it (`None`: a duration is unknown).
        """
        if not self.known:
            return {}
        tallies = {part: self._tally(part) for part in CallPart}
        return {
            p: seconds
            for p, (covering, lacking, seconds) in tallies.items()
            if covering and lacking
        }


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
    coverage: Coverage = field(default_factory=Coverage)
    """What the costed records' costs pay for, part by part (see `Coverage`)."""
    components: dict[str, Decimal] | None = None
    """Line items summed by name, each over the records that have it (an item absent from a
    record is absent, not 0); the cost of records without a split is the `unitemized` item, so
    the items sum exactly to the cost. `None` while no costed record has a split."""
    _unsplit: Decimal = Decimal(0)
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
            self._add_split(record)
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

    @property
    def covers(self) -> frozenset[CallPart] | None:
        """The parts of a call the costs pay for on all the call time (`Coverage.covers`)."""
        return self.coverage.covers

    def _add_split(self, record: UsageRecord) -> None:
        """Fold a costed record's covered parts and line items into the totals'."""
        assert record.cost is not None
        self.coverage.add(record.cost_covers, record.duration_seconds)
        if record.cost_components is None:
            self._unsplit += record.cost
            if self.components is not None and record.cost:
                unsplit = self.components.get(UNITEMIZED, Decimal(0)) + record.cost
                self.components[UNITEMIZED] = unsplit
            return
        if self.components is None:
            self.components = {UNITEMIZED: self._unsplit} if self._unsplit else {}
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
        """The totals as one `window` record over `[start, end)`.

        `cost_covers` is what the cost pays for on all the call time; parts paid for on only some
        of it are in `extras["partly_covers"]`, each with the minutes that go without it (a
        decimal string, `None` when a duration is unknown).
        """
        cost = self.total_cost
        partly = self.coverage.partly if cost is not None else {}
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
            extras={"partly_covers": partly_minutes(partly)} if partly else {},
        )


def partly_minutes(partly: dict[CallPart, Decimal | None]) -> dict[str, str | None]:
    """`Coverage.partly` as JSON: part -> minutes without it (a decimal string), or `None`."""
    return {
        part.value: None if seconds is None else str((seconds / 60).quantize(_MICRO))
        for part, seconds in partly.items()
    }


_MICRO = Decimal("0.000001")


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
