"""`voice_usage.report()`: fetch once, compare every way the page needs, and write the page.

Each provider's finest records are fetched once (calls where the vendor lists calls), together
with its billing records where it has an authoritative billing endpoint, exactly as `compare`
reads them. As they stream in, a `Tally` sums them every way the page shows them (whole period,
per day or month, per agent, per number), so memory grows with those groups, not with the
records. The page's figures are `compare`'s rows over those sums, so its tables agree with each
other and with `compare` over the same records.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from voice_usage._analysis._compare import (
    Fetched,
    Source,
    assemble,
    billing_fallback,
    choose_providers,
    connected,
    period,
    provider_failure,
    read_account_facts,
)
from voice_usage._analysis._comparison import Comparison, ProviderFailure, Skipped
from voice_usage._analysis._grouping import GroupBy, fetch_granularity, group_key
from voice_usage._analysis._reprice import reprice_comparison
from voice_usage._analysis._rows import GroupMap, RowTotals
from voice_usage._engine._fetch import Connection
from voice_usage._engine._plan import Reconciliation
from voice_usage._engine._plugins import Registry
from voice_usage._engine._provider import Provider
from voice_usage._exceptions import ConfigurationError
from voice_usage._outputs._page import ReportFigures, render_page
from voice_usage._pricing._allin import AddCost
from voice_usage._pricing._fx import FxRates, target_currency
from voice_usage._pricing._ratecard import Rate, RateBook, default_rate_book
from voice_usage._pricing._reprice import RepriceTarget
from voice_usage._rollup import Coverage
from voice_usage._schema import UsageQuery, UsageRecord
from voice_usage._store._source import StoreCoverageError, StoreSource

__all__ = ["ProviderFigures", "Report", "Tally", "check_output", "report"]


MONTHS_AFTER_DAYS = 92
"""Periods longer than this many days are charted per month rather than per day."""


@dataclass
class Report:
    """A written (or writable) report page and the figures on it."""

    html: str
    figures: ReportFigures
    path: Path | None = None
    """Where the page was written, when `output` was given."""

    @property
    def errors(self) -> list[ProviderFailure]:
        """Providers that failed: the page says so and shows the others."""
        return self.figures.errors

    @property
    def ok(self) -> bool:
        """True when no provider failed."""
        return not self.errors

    @property
    def warnings(self) -> list[str]:
        """The warnings the page lists."""
        return list(self.figures.overall.warnings)

    def write(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8); returns the path."""
        target = Path(path)
        # Written beside it and moved into place, so a reader never sees half a page.
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}-{threading.get_ident()}")
        try:
            partial.write_text(self.html, encoding="utf-8", newline="\n")
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        self.path = target
        return target


def check_output(path: str | Path) -> Path:
    """``path`` if a page can be written there: its folder exists and it is not a folder.

    Raises:
        ConfigurationError: naming the path and what is wrong, before anything is fetched.
    """
    target = Path(path)
    if target.is_dir():
        raise ConfigurationError(f"{path} is a directory; the report needs a file name")
    if not target.parent.is_dir():
        raise ConfigurationError(f"{path}: the folder {target.parent} does not exist")
    return target


def bucket_of(since: datetime, until: datetime, group_by: GroupBy | str | None) -> GroupBy:
    """Days, or months for periods longer than `MONTHS_AFTER_DAYS` (unless chosen)."""
    if group_by is None:
        long = until - since > timedelta(days=MONTHS_AFTER_DAYS)
        return GroupBy.MONTH if long else GroupBy.DAY
    by = GroupBy.parse(group_by)
    if by not in (GroupBy.DAY, GroupBy.MONTH):
        raise ConfigurationError(f"a report's charts are by day or month, not by {by.value}")
    return by


@dataclass
class Tally:
    """One pass over a provider's records: every grouping the page needs, and what they rest on.

    Memory grows with the number of groups (days, agents, numbers), never with the records.
    """

    bucket: GroupBy
    """The charts' bucket: `day` or `month`."""
    groups: dict[GroupBy, GroupMap]
    """Per grouping, the records summed as `compare` sums them."""
    components: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """Per bucket, the cost by line item in the records' currency: a record's `cost_components`,
    or its whole cost under its metered item (`call`, `sip`) when it has no split of its own."""
    coverage: Coverage = field(default_factory=Coverage)
    """What the costed records' costs pay for, by `compare`'s rules (`Coverage`)."""
    rate_cards: set[str] = field(default_factory=set)
    """The rate-card lines named on the records."""

    @classmethod
    def over(cls, bucket: GroupBy, groupings: Iterable[GroupBy]) -> Tally:
        """An empty tally for these groupings."""
        return cls(bucket, {by: {} for by in groupings})

    def add(self, record: UsageRecord) -> None:
        """Count one record in every grouping."""
        for by, groups in self.groups.items():
            key = group_key(record, by)
            totals = groups.get(key)
            if totals is None:
                totals = groups[key] = RowTotals()
            totals.add(record)
        if record.rate_card:
            self.rate_cards.add(record.rate_card)
        if record.cost is None:
            return
        split = self.components.setdefault(group_key(record, self.bucket) or "", {})
        for name, amount in (record.cost_components or {record.item: record.cost}).items():
            split[name] = split.get(name, Decimal(0)) + amount
        self.coverage.add(record.cost_covers, record.duration_seconds)

    @property
    def covers(self) -> set[str] | None:
        """The parts the costs pay for on all the call time (`None`: none costed, or unsaid)."""
        parts = self.coverage.covers
        return None if parts is None else {part.value for part in parts}


@dataclass
class ProviderFigures:
    """One provider's records for the page, tallied as they stream in (or its failure)."""

    provider: Provider
    usage: Tally | None = None
    billing: Tally | None = None
    """The vendor's billing records, when it has a billing endpoint (`Provider.billing_query`)."""
    failure: ProviderFailure | None = None
    warnings: list[str] = field(default_factory=list)
    reconciliations: list[Reconciliation] = field(default_factory=list)
    kept: list[UsageRecord] = field(default_factory=list)
    """The records themselves, kept only when the page reprices this provider's traffic."""
    account: Fetched | None = None
    """What the account snapshot said fixed charges depend on (`read_account_facts`)."""

    @property
    def priced(self) -> Tally | None:
        """The tally whose costs the rows show: billing records where the vendor has them."""
        return self.billing or self.usage


_GROUPINGS = (GroupBy.PROVIDER, GroupBy.AGENT, GroupBy.NUMBER)
"""Besides the bucket, the groupings of the page (agents and numbers for the top tables)."""


def _fetch_provider(
    connection: Source,
    since: datetime,
    until: datetime,
    by: GroupBy,
    options: Mapping[str, str],
    keep: bool,
) -> ProviderFigures:
    provider = connection.provider
    got = ProviderFigures(provider)
    query = UsageQuery.checked(
        since=since,
        until=until,
        granularity=fetch_granularity(provider, GroupBy.AGENT, options),
        options=dict(options),
    )
    try:
        tally = Tally.over(by, (*_GROUPINGS, by))
        result = connection.fetch(query)
        with result:
            for record in result:
                tally.add(record)
                if keep:
                    got.kept.append(record)
        got.usage = tally
        got.warnings.extend(result.warnings)
        got.reconciliations.extend(result.report.reconciliations)
    except Exception as exc:  # one provider failing must not hide the others
        got.failure = provider_failure(provider.name, exc)
        got.kept = []
        return got
    # The billing endpoint is asked as `compare` asks it for the page's buckets.
    billing_query = provider.billing_query(
        query.model_copy(update={"granularity": fetch_granularity(provider, by, options)})
    )
    if billing_query is not None:
        try:
            billing = Tally.over(by, (GroupBy.PROVIDER, by))
            result = connection.fetch(billing_query)
            with result:
                for record in result:
                    billing.add(record)
            got.billing = billing
            got.warnings.extend(result.warnings)
            got.reconciliations.extend(result.report.reconciliations)
        except Exception as exc:  # fall back to the usage records, as compare does
            got.warnings.append(billing_fallback(provider.name, exc))
    if isinstance(connection, Connection) and default_rate_book().fixed_in_force(
        provider.name, since
    ):
        # The plan and the numbers held, for the fixed charges, as compare reads them (a stored
        # history holds no account snapshot).
        got.account = Fetched(provider.name)
        read_account_facts(connection, got.account)
        got.warnings.extend(got.account.warnings)
    return got


def _comparison(
    fetched: Sequence[ProviderFigures],
    since: datetime,
    until: datetime,
    by: GroupBy,
    currency: str | None,
    rates: FxRates,
    skipped: Sequence[Skipped] = (),
    adds: Sequence[AddCost] = (),
) -> Comparison:
    """`compare`'s comparison grouped ``by``, over the tallied records."""
    summed = []
    for got in fetched:
        name = got.provider.name
        if got.failure is not None or got.usage is None:
            summed.append(Fetched(name, failure=got.failure))
            continue
        billing = got.billing.groups.get(by) if got.billing is not None else None
        account = got.account or Fetched(name)
        summed.append(
            Fetched(
                name,
                got.usage.groups[by],
                billing,
                warnings=list(got.warnings),
                facts=account.facts,
                told=account.told,
            )
        )
    return assemble(
        [got.provider for got in fetched],
        summed,
        since=since,
        until=until,
        by=by,
        currency=currency,
        rates=rates,
        skipped=skipped,
        fixed=True,
        add_costs=adds,
    )


def _rates_used(
    fetched: Sequence[ProviderFigures], overall: Comparison, book: RateBook
) -> list[Rate]:
    """The rate-card lines that priced a record: named on the records, or on compare's rows."""
    labels = {
        label
        for got in fetched
        for tally in (got.usage, got.billing)
        if tally is not None
        for label in tally.rate_cards
    }
    labels.update(label for row in overall.rows for label in row.rate_cards)
    return sorted((rate for rate in book.rates if rate.label in labels), key=lambda r: r.label)


def _figures(
    fetched: Sequence[ProviderFigures],
    since: datetime,
    until: datetime,
    by: GroupBy,
    currency: str | None,
    rates: FxRates,
    repricing: Comparison | None,
    skipped: Sequence[Skipped],
    source: str,
    book: RateBook,
    adds: Sequence[AddCost] = (),
) -> ReportFigures:
    """The page's figures: `compare`'s rows every way the page shows them, and their grounds."""
    overall = _comparison(fetched, since, until, GroupBy.PROVIDER, currency, rates, skipped, adds)
    return ReportFigures(
        overall=overall,
        timeline=_comparison(fetched, since, until, by, currency, rates, adds=adds),
        agents=_comparison(fetched, since, until, GroupBy.AGENT, currency, rates),
        numbers=_comparison(fetched, since, until, GroupBy.NUMBER, currency, rates),
        repricing=repricing,
        components={
            (got.provider.name, key): split
            for got in fetched
            if got.priced is not None
            for key, split in got.priced.components.items()
        },
        covers={
            got.provider.name: None if got.usage.covers is None else tuple(sorted(got.usage.covers))
            for got in fetched
            if got.usage is not None
        },
        reconciliations={g.provider.name: g.reconciliations for g in fetched if g.reconciliations},
        rates=_rates_used(fetched, overall, book),
        missing_ranges=[
            got.failure.message
            for got in fetched
            if got.failure is not None and got.failure.error == StoreCoverageError.__name__
        ],
        source=source,
    )


def _source(sources: Sequence[Source]) -> str:
    """Where the page's records came from, in words (a store by its name, never a password)."""
    stores = sorted({s.store.name for s in sources if isinstance(s, StoreSource)})
    if not stores:
        return "fetched from the vendors' APIs"
    held = f"read from the history store {', '.join(stores)}"
    if all(isinstance(s, StoreSource) for s in sources):
        return f"{held}, without a request to the vendors"
    return f"{held} and fetched from the vendors' APIs"


def report(
    providers: Sequence[str | Provider | Source] = (),
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    *,
    output: str | Path | None = None,
    currency: str | None = None,
    fx: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None = None,
    group_by: GroupBy | str | None = None,
    reprice_to: Sequence[str] = (),
    reprice_from: Sequence[str] = (),
    repricing: Comparison | None = None,
    add_cost: Iterable[str | AddCost] = (),
    options: Mapping[str, Mapping[str, str]] | None = None,
    registry: Registry | None = None,
    rate_book: RateBook | None = None,
    connect: Callable[..., Connection] = Connection,
    connect_options: Mapping[str, Mapping[str, Any]] | None = None,
    **common_options: Any,
) -> Report:
    """Fetch ``providers`` over `[since, until)` and build the HTML report page.

    Args:
        providers: Names, `Provider`s, open `Connection`s or `StoreSource`s; empty means every installed provider
            with its `<NAME>_API_KEY` set.
        since: Start, inclusive (a date or ISO 8601 datetime, UTC unless an offset is given).
        until: End, exclusive.
        output: Write the page here (its folder must exist); checked before any request.
        currency: Convert every cost to this ISO 4217 currency.
        fx: Exchange rates, as for `compare`.
        group_by: `day` or `month` for the charts; by default days, or months for periods
            longer than `MONTHS_AFTER_DAYS` days.
        reprice_to: Rate cards (`ultravox`, `agentphone:hosted`) to price the traffic under, for
            the page's repricing table; the records already fetched are repriced, no request.
        reprice_from: The providers whose traffic is repriced (default: all of them).
        repricing: A repricing already made of the same traffic (the demo's), shown as the
            repricing table instead of making one.
        add_cost: Prices per minute for parts of a call a vendor's cost does not cover, as for
            `compare` (`AddCost` or `[PROVIDER.]COMPONENT=CUR:PRICE`): the like-for-like table
            and the all-in price per minute take them, each named on the page.
        options: Per provider name, provider-specific query options.
        registry: Where to look provider names up; defaults to the installed providers.
        rate_book: The rate cards to price and reprice with; defaults to `default_rate_book()`.
        connect: Opens each `Connection` (called like `Connection`); a seam for tests.
        connect_options: Per provider name, `Connection` options (`api_key`, `base_url`...).
        common_options: `Connection` options for every provider (`transport`, `sleep`...).

    Returns:
        The `Report`; a provider that failed is on the page and in `Report.errors`.

    Raises:
        ConfigurationError: bad arguments, an unwritable output path, an unknown provider, or a
            conversion without its exchange rate. Provider failures are not raised.
    """
    start, end = period(since, until, "report")
    target = check_output(output) if output is not None else None
    by = bucket_of(start, end, group_by)
    wanted = target_currency(currency)
    rates = FxRates.coerce(fx)
    book = rate_book if rate_book is not None else default_rate_book()
    for spec in reprice_to:
        RepriceTarget.parse(spec).check(book)  # a card that does not exist fails before any request
    if reprice_from and not reprice_to:
        raise ConfigurationError("reprice_from names whose traffic to reprice: give reprice_to too")
    per_provider = dict(connect_options or {})
    chosen, skipped, registry, adds = choose_providers(providers, registry, per_provider, add_cost)
    query_options = dict(options or {})
    with connected(
        chosen,
        registry,
        per_provider,
        {"rate_book": book, **common_options},
        query_options,
        connect=connect,
        checked=(start, end, wanted, rates, adds, True),
    ) as connections:
        if not connections:
            fetched: list[ProviderFigures] = []
        else:
            with ThreadPoolExecutor(
                max_workers=len(connections), thread_name_prefix="voice-usage-report"
            ) as pool:
                futures = [
                    pool.submit(
                        _fetch_provider,
                        c,
                        start,
                        end,
                        by,
                        query_options.get(c.provider.name, {}),
                        bool(reprice_to)
                        and repricing is None
                        and (not reprice_from or c.provider.name in reprice_from),
                    )
                    for c in connections
                ]
                fetched = [future.result() for future in futures]
    if reprice_to and repricing is None:
        repricing = reprice_comparison(
            (record for got in fetched for record in got.kept),
            reprice_to,
            since=start,
            until=end,
            currency=wanted,
            fx=rates,
            book=book,
        )
    figures = _figures(
        fetched, start, end, by, wanted, rates, repricing, skipped, _source(connections), book, adds
    )
    page = Report(render_page(figures), figures)
    if target is not None:
        page.write(target)
    return page
