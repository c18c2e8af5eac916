"""Cross-vendor comparison: the same period's calls, minutes and cost, side by side, in one currency.

`compare()` fetches every provider concurrently (one thread each), sums their records through
`Totals` into one row per provider (or per provider and day, month, agent or number), converts
costs with explicit exchange rates only, and keeps going when one provider fails: its failure is
reported in `Comparison.errors` while the other rows are still there.

Grouping is shared with `fetch --group-by`: `group_records()` turns a record stream into one window
record per group.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from voice_usage._exceptions import ConfigurationError
from voice_usage._fetch import Connection
from voice_usage._fx import FxRate, FxRates, MissingRateError, target_currency
from voice_usage._plugins import Registry, load_registry
from voice_usage._provider import Provider
from voice_usage._ratecard import COST_QUANTUM, RateBook, default_rate_book
from voice_usage._rollup import Totals, rollup
from voice_usage._schema import Granularity, UsageQuery, UsageRecord, format_instant, parse_instant

__all__ = [
    "Comparison",
    "ComparisonRow",
    "GroupBy",
    "ProviderFailure",
    "Skipped",
    "compare",
    "fetch_granularity",
    "group_key",
    "group_records",
]

ProgressCallback = Callable[[str, int], None]
"""Called as `progress(provider, records_so_far)` while records stream in."""

_PROGRESS_EVERY = 250
_RATE_CARD_LABEL = re.compile(r"rate card (\S+?):")
_FIGURES = ("calls", "failed_calls", "duration_seconds", "billed_minutes")


class GroupBy(StrEnum):
    """How records are grouped into rows."""

    PROVIDER = "provider"
    """One row per provider over the whole period."""
    DAY = "day"
    """One row per provider and UTC day."""
    MONTH = "month"
    """One row per provider and UTC month."""
    AGENT = "agent"
    """One row per provider and agent (records without an agent form their own row)."""
    NUMBER = "number"
    """One row per provider and phone number."""


def group_key(record: UsageRecord, by: GroupBy) -> str | None:
    """The group ``record`` belongs to: a day (`2026-10-01`), a month (`2026-10`), an id, or None."""
    if by is GroupBy.DAY:
        return record.period_start.date().isoformat()
    if by is GroupBy.MONTH:
        return record.period_start.strftime("%Y-%m")
    if by is GroupBy.AGENT:
        return record.agent_id
    if by is GroupBy.NUMBER:
        return record.number_id
    return None


def fetch_granularity(provider: Provider, by: GroupBy) -> Granularity:
    """The granularity to ask ``provider`` for so that records can be grouped ``by``.

    The provider's own records are asked for, never a core roll-up, so records stream (and
    progress shows) as pages arrive: the coarsest granularity the vendor reports that is at least
    as fine as a day (grouping by day) or a month (by month or over the whole period). Agents and
    numbers need the finest records the vendor has, since windows merge agents.
    """
    native = provider.capabilities.granularities
    if not native:
        return Granularity.CALL
    if by in (GroupBy.AGENT, GroupBy.NUMBER):
        return min(native, key=lambda g: g.rank)
    wanted = Granularity.DAY if by is GroupBy.DAY else Granularity.MONTH
    fine_enough = [g for g in native if g.rank <= wanted.rank]
    if not fine_enough:
        return wanted  # the provider refuses it with a clear UnsupportedQueryError
    return max(fine_enough, key=lambda g: g.rank)


def _key_order(key: str | None) -> tuple[bool, str]:
    return (key is None, key or "")


def group_records(
    records: Iterable[UsageRecord],
    by: GroupBy | str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[UsageRecord]:
    """One `window` record per provider, account, metered item and group of ``by``.

    Days and months are UTC windows clipped to `[since, until)`; agent, number and provider groups
    span `[since, until)` (or the records' own extent when not given). Memory grows with the
    number of groups, not records.
    """
    by = GroupBy(by)
    if by is GroupBy.DAY:
        yield from rollup(records, Granularity.DAY, since=since, until=until)
        return
    if by is GroupBy.MONTH:
        yield from rollup(records, Granularity.MONTH, since=since, until=until)
        return
    groups: dict[tuple[str, str | None, str, str | None], Totals] = {}
    for record in records:
        key = (record.provider, record.account, record.item, group_key(record, by))
        totals = groups.get(key)
        if totals is None:
            totals = groups[key] = Totals()
        totals.add(record)
    for (provider, account, item, _), totals in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0], kv[0][1] or "", _key_order(kv[0][3]), kv[0][2]),
    ):
        assert totals.first_start is not None and totals.last_end is not None
        start = since or totals.first_start
        end = until or totals.last_end
        yield totals.to_record(provider, start, end, account=account, item=item)


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
    failed_calls: int | None = None
    duration_seconds: Decimal | None = None
    billed_minutes: Decimal | None = None
    cost: Decimal | None = None
    """Cost in `currency`; `None` when unknown or in several currencies."""
    currency: str | None = None
    cost_source: str | None = None
    """`reported`, `rate_card`, or `approximate` (a rate card applied without per-call durations)."""
    approximate: bool = False
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
            "duration_seconds": _str(self.duration_seconds),
            "billed_minutes": _str(self.billed_minutes),
            "cost": _str(self.cost),
            "currency": self.currency,
            "cost_source": self.cost_source,
            "approximate": self.approximate,
            "converted_cost": _str(self.converted_cost),
            "converted_currency": self.converted_currency,
            "cost_per_minute": _str(self.cost_per_minute),
            "cost_per_call": _str(self.cost_per_call),
            "unit_currency": self.unit_currency,
            "billed_from": self.billed_from,
            "costs": {c: str(a) for c, a in sorted(self.costs.items())},
            "rate_cards": list(self.rate_cards),
            "items": {k: dict(v) for k, v in self.items.items()},
            "unknown": dict(self.unknown),
            "notes": list(self.notes),
        }


def _str(value: Decimal | None) -> str | None:
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
            "errors": [e.to_json() for e in self.errors],
            "skipped": [s.to_json() for s in self.skipped],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (needs the `pandas` extra)."""
        from voice_usage._export import rows_to_pandas

        return rows_to_pandas(self.rows)


# -- accumulating ------------------------------------------------------------------------------


@dataclass
class _Group:
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


GroupMap = dict[str | None, _Group]


def accumulate(
    records: Iterable[UsageRecord],
    by: GroupBy,
    *,
    progress: Callable[[int], None] | None = None,
) -> GroupMap:
    """Sum records into one `_Group` per group key."""
    groups: GroupMap = {}
    count = 0
    for record in records:
        key = group_key(record, by)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group()
        group.add(record)
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return groups


def _q(value: Decimal) -> Decimal:
    return value.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def _rate_cards(notes: Iterable[str]) -> tuple[str, ...]:
    labels: dict[str, None] = {}
    for note in notes:
        for label in _RATE_CARD_LABEL.findall(note):
            labels[label] = None
    return tuple(labels)


_NESTED_NOTE = re.compile(r"^\d+ of \d+ records have no cost: ")


def _uncosted_reason(totals: Totals) -> str:
    """Why some records have no cost, with the reasons of rolled-up windows flattened."""
    reasons: dict[str, None] = {}
    for note in totals.cost_notes:
        if not _RATE_CARD_LABEL.match(note):
            reasons[_NESTED_NOTE.sub("", note)] = None
    why = "; ".join(reasons) or "no cost reported"
    return f"{totals.uncosted} of {totals.records} records have no cost: {why}"


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
    group: _Group | None,
    *,
    key: str | None = None,
    basis: str | None = None,
    billing: _Group | None = None,
    notes: Sequence[str] = (),
    unknown_notes: Mapping[str, str] | None = None,
) -> ComparisonRow:
    """A row from accumulated totals; conversion is applied later by `_convert_rows`."""
    group = group or _Group()
    main, everything = group.main, group.all
    values: dict[str, Any] = {
        "calls": main.calls,
        "failed_calls": main.failed_calls,
        "duration_seconds": main.duration_seconds,
        "billed_minutes": main.billed_minutes,
    }
    unknown = _unknown(main, values) if main.records else {}
    from_billing = billing is not None and billing.all.records > 0
    if not everything.records and not from_billing:
        # Nothing happened in the period: zero of everything, and no cost to convert.
        values.update(calls=0, failed_calls=0, duration_seconds=Decimal(0))
        values["billed_minutes"] = Decimal(0)
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
        if priced.approximate:
            source = "approximate"
        elif len(priced.cost_sources) == 1:
            source = next(iter(priced.cost_sources)).value
        else:
            source = "rate_card"  # reported and rate-card costs mixed: the weaker claim
    else:
        unknown["cost"] = _uncosted_reason(priced)
    items: dict[str, dict[str, Any]] = {}
    item_source = billing.items if billing is not None and billing.all.records else group.items
    if len(item_source) > 1:
        for name, totals in sorted(item_source.items()):
            items[name] = {
                "records": totals.records,
                "billed_minutes": _str(totals.billed_minutes),
                "cost": _str(totals.total_cost),
                "currency": totals.currency if totals.total_cost is not None else None,
            }
    if unknown_notes:
        for figure, reason in unknown_notes.items():
            if figure in unknown:
                unknown[figure] = reason
    return ComparisonRow(
        provider=provider,
        group=key,
        basis=basis,
        records=everything.records,
        calls=values["calls"],
        failed_calls=values["failed_calls"],
        duration_seconds=values["duration_seconds"],
        billed_minutes=values["billed_minutes"],
        cost=cost,
        currency=currency,
        cost_source=source,
        approximate=priced.approximate,
        billed_from="billing" if from_billing else "usage",
        costs=costs,
        rate_cards=_rate_cards(priced.cost_notes),
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
        approximate=any(row.approximate for row in rows),
        cost_source="approximate" if any(row.approximate for row in rows) else None,
    )


# -- fetching ----------------------------------------------------------------------------------


@dataclass
class _Fetched:
    provider: str
    groups: GroupMap | None = None
    billing: GroupMap | None = None
    failure: ProviderFailure | None = None
    warnings: list[str] = field(default_factory=list)


def _failure(provider: str, exc: BaseException) -> ProviderFailure:
    message = str(exc)
    if not message.startswith(f"{provider}:"):
        message = f"{provider}: {message}" if message else f"{provider}: {type(exc).__name__}"
    return ProviderFailure(provider, type(exc).__name__, message)


def _fetch_groups(
    connection: Connection,
    query: UsageQuery,
    by: GroupBy,
    progress: ProgressCallback | None,
) -> tuple[GroupMap, list[str]]:
    name = connection.provider.name
    result = connection.fetch(query)
    with result:
        groups = accumulate(
            result, by, progress=(lambda n: progress(name, n)) if progress else None
        )
    return groups, list(result.warnings)


def _run_provider(
    connection: Connection,
    query: UsageQuery,
    billing_query: UsageQuery | None,
    by: GroupBy,
    progress: ProgressCallback | None,
) -> _Fetched:
    name = connection.provider.name
    fetched = _Fetched(name)
    try:
        fetched.groups, fetched.warnings = _fetch_groups(connection, query, by, progress)
    except Exception as exc:  # one provider failing must not hide the others
        fetched.failure = _failure(name, exc)
        return fetched
    if billing_query is not None:
        try:
            fetched.billing, warnings = _fetch_groups(connection, billing_query, by, None)
            fetched.warnings.extend(warnings)
        except Exception as exc:  # fall back to the usage records
            fetched.warnings.append(
                f"{name}: the billing endpoint failed ({_failure(name, exc).message}); "
                "billed minutes and cost are summed from the usage records instead"
            )
    return fetched


def _has_credentials(provider: Provider, options: Mapping[str, Any]) -> bool:
    return bool(options.get("api_key") or os.environ.get(f"{provider.env_prefix}_API_KEY"))


def resolve_providers(
    providers: Sequence[str | Provider | Connection],
    registry: Registry | None,
    connect_options: Mapping[str, Mapping[str, Any]],
) -> tuple[list[str | Provider | Connection], list[Skipped], Registry | None]:
    """The providers to compare: the ones named, or every usable installed one with a key."""
    if providers:
        return list(providers), [], registry
    registry = registry or load_registry()
    chosen: list[str | Provider | Connection] = []
    skipped: list[Skipped] = []
    for name in registry.names():
        provider = registry.get(name)
        if not provider.capabilities.implemented:
            skipped.append(Skipped(name, "the adapter is not implemented yet"))
        elif not _has_credentials(provider, connect_options.get(name, {})):
            skipped.append(Skipped(name, f"no API key: {provider.env_prefix}_API_KEY is not set"))
        else:
            chosen.append(name)
    for error in registry.errors:
        skipped.append(Skipped(error.name, f"failed to load: {error.error}"))
    if not chosen:
        why = "; ".join(f"{s.provider}: {s.reason}" for s in skipped) or "no provider is installed"
        raise ConfigurationError(f"no provider to compare ({why})")
    return chosen, skipped, registry


def _expected_currencies(
    provider: Provider, since: datetime, until: datetime, book: RateBook
) -> set[str]:
    """Currencies a provider's costs will come in, when its rate cards tell in advance."""
    if provider.capabilities.reports_cost:
        return set()
    last = until - timedelta(microseconds=1)
    return {
        rate.currency
        for rate in book.rates
        if rate.provider == provider.name
        and rate.effective_from <= last.date()
        and (rate.effective_until is None or rate.effective_until > since.date())
    }


def _instant(value: str | date | datetime, name: str) -> datetime:
    return parse_instant(value, name=name)


def compare(
    providers: Sequence[str | Provider | Connection] = (),
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    *,
    currency: str | None = None,
    fx: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None = None,
    group_by: GroupBy | str = GroupBy.PROVIDER,
    options: Mapping[str, Mapping[str, str]] | None = None,
    registry: Registry | None = None,
    connect_options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: ProgressCallback | None = None,
    use_billing: bool = True,
    **common_options: Any,
) -> Comparison:
    """Compare providers over `[since, until)`: one row per provider (or per provider and group).

    Args:
        providers: Names, `Provider`s or open `Connection`s; empty means every installed provider
            with its `<NAME>_API_KEY` set (the others are listed in `Comparison.skipped`).
        since: Start, inclusive (a date or ISO 8601 datetime, UTC unless an offset is given).
        until: End, exclusive.
        currency: Convert every cost to this ISO 4217 currency.
        fx: Exchange rates, as `FxRates`, `{"USD:EUR": "0.9"}` or `["USD:EUR=0.9"]`;
            1 FROM = RATE TO. A conversion without its rate raises `MissingRateError`.
        group_by: `provider` (default), `day`, `month`, `agent` or `number`.
        options: Per provider name, provider-specific query options (`{"x": {"view": "y"}}`).
        registry: Where to look provider names up; defaults to the installed providers.
        connect_options: Per provider name, `Connection` options (`api_key`, `base_url`...).
        progress: Called as `progress(provider, records_so_far)` from the fetching threads.
        use_billing: Take billed minutes and cost from a provider's authoritative billing
            endpoint when it has one (`Provider.billing_query`).
        common_options: `Connection` options for every provider (`transport`, `sleep`...).

    Raises:
        ConfigurationError: bad arguments, an unknown provider, a missing key, or (as
            `MissingRateError`) a conversion without its exchange rate. Provider failures
            are not raised: they are in `Comparison.errors`.
    """
    if since is None or until is None:
        raise TypeError("compare() needs since= and until=")
    start, end = _instant(since, "since"), _instant(until, "until")
    if end <= start:
        raise ConfigurationError(
            f"until ({format_instant(end)}) must be after since ({format_instant(start)})"
        )
    by = GroupBy(group_by)
    target = target_currency(currency)
    rates = FxRates.coerce(fx)
    rates = FxRates(rates.rates.values())  # a fresh record of which rates this comparison used
    per_provider = dict(connect_options or {})
    chosen, skipped, registry = resolve_providers(providers, registry, per_provider)

    connections: list[Connection] = []
    owned: list[Connection] = []
    try:
        for item in chosen:
            if isinstance(item, Connection):
                connections.append(item)
                continue
            name = item if isinstance(item, str) else item.name
            settings = {**common_options, **per_provider.get(name, {})}
            connection = Connection(item, registry=registry, **settings)
            connections.append(connection)
            owned.append(connection)
        names = [c.provider.name for c in connections]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"a provider is named twice: {', '.join(names)}")
        query_options = dict(options or {})
        stray = sorted(set(query_options) - set(names))
        if stray:
            raise ConfigurationError(
                f"options given for {', '.join(stray)}, which is not compared "
                f"(comparing {', '.join(names)})"
            )
        if target is not None:
            book = default_rate_book()
            missing: set[tuple[str, str]] = set()
            needers: set[str] = set()
            for connection in connections:
                for code in _expected_currencies(connection.provider, start, end, book):
                    if not rates.has(code, target):
                        missing.add((code, target))
                        needers.add(connection.provider.name)
            if missing:
                raise MissingRateError(missing, needed_by=needers)
        fetched = _fetch_all(connections, start, end, by, progress, use_billing, query_options)
    finally:
        for connection in owned:
            connection.close()

    rows: list[ComparisonRow] = []
    errors: list[ProviderFailure] = []
    warnings: list[str] = []
    for connection, result in zip(connections, fetched, strict=True):
        if result.failure is not None:
            errors.append(result.failure)
        else:
            rows.extend(_provider_rows(connection.provider, result, by))
        warnings.extend(result.warnings)
    rows = convert_rows(rows, target, rates)
    comparison = Comparison(
        since=start,
        until=end,
        rows=rows,
        currency=target,
        group_by=by,
        fx=rates.used,
        errors=errors,
        skipped=skipped,
        warnings=warnings,
        total=_labelled_total(total_row(rows, target), errors) if by is GroupBy.PROVIDER else None,
    )
    comparison.notes.extend(_notes(rows))
    return comparison


def _labelled_total(
    total: ComparisonRow | None, errors: Sequence[ProviderFailure]
) -> ComparisonRow | None:
    """A total over fewer providers than asked says which ones it leaves out."""
    if total is None or not errors:
        return total
    missing = ", ".join(failure.provider for failure in errors)
    return dataclasses.replace(total, provider=f"total (without {missing})")


def _fetch_all(
    connections: Sequence[Connection],
    since: datetime,
    until: datetime,
    by: GroupBy,
    progress: ProgressCallback | None,
    use_billing: bool,
    options: Mapping[str, Mapping[str, str]],
) -> list[_Fetched]:
    jobs = []
    for connection in connections:
        provider = connection.provider
        query = UsageQuery(
            since=since,
            until=until,
            granularity=fetch_granularity(provider, by),
            options=dict(options.get(provider.name, {})),
        )
        billing = None
        if use_billing and by in (GroupBy.PROVIDER, GroupBy.DAY, GroupBy.MONTH):
            billing = provider.billing_query(query)
        jobs.append((connection, query, billing))
    if not jobs:
        return []
    with ThreadPoolExecutor(
        max_workers=len(jobs), thread_name_prefix="voice-usage-compare"
    ) as pool:
        futures = [
            pool.submit(_run_provider, connection, query, billing, by, progress)
            for connection, query, billing in jobs
        ]
        return [future.result() for future in futures]


def _provider_rows(provider: Provider, fetched: _Fetched, by: GroupBy) -> list[ComparisonRow]:
    assert fetched.groups is not None
    groups = fetched.groups
    billing = fetched.billing
    keys: list[str | None] = sorted(set(groups) | set(billing or {}), key=_key_order)
    if not keys and by is GroupBy.PROVIDER:
        keys = [None]
    rows = []
    for key in keys:
        usage = groups.get(key)
        from_billing = billing.get(key) if billing is not None else None
        row = build_row(
            provider.name,
            usage,
            key=key,
            billing=from_billing,
            notes=provider.capabilities.notes,
        )
        if from_billing is not None and usage is not None:
            listed = usage.main.billed_minutes
            if (
                listed is not None
                and row.billed_minutes is not None
                and listed != row.billed_minutes
            ):
                where = f" on {key}" if key else ""
                fetched.warnings.append(
                    f"{provider.name}: billed minutes{where} are {row.billed_minutes} on the billing "
                    f"endpoint but {listed} summed over the listed calls; the billing figures are "
                    "used (calls deleted since are billed but no longer listed)"
                )
        rows.append(row)
    return rows


def _notes(rows: Sequence[ComparisonRow]) -> list[str]:
    notes = []
    approximate = [row.label for row in rows if row.approximate]
    if approximate:
        notes.append(
            "approximate: "
            + ", ".join(approximate)
            + " priced from window records without per-call durations, so the rate card's "
            "per-call rounding and minimum charge could not be applied exactly"
        )
    return notes
