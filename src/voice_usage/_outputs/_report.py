"""`voice_usage.report()`: fetch once, compare every way the page needs, and write the page.

Each provider's finest records are fetched once (calls where the vendor lists calls), together
with its billing records where it has an authoritative billing endpoint, exactly as `compare`
reads them. The page's figures are then `compare`'s rows over those same records: for the whole
period, per day (or month on long periods), per agent and per number. One fetch serves them
all, so the page's tables agree with each other and with `compare` over the same records.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from voice_usage._analysis._compare import (
    Fetched,
    assemble,
    billing_fallback,
    check_rates,
    open_connections,
    provider_failure,
    resolve_providers,
)
from voice_usage._analysis._comparison import Comparison, ProviderFailure, Skipped
from voice_usage._analysis._grouping import GroupBy, fetch_granularity, group_key
from voice_usage._analysis._reprice import reprice_comparison
from voice_usage._analysis._rows import accumulate
from voice_usage._engine._fetch import Connection
from voice_usage._engine._plugins import Registry
from voice_usage._engine._provider import Provider, Reconciliation
from voice_usage._exceptions import ConfigurationError
from voice_usage._outputs._page import ComponentKey, ReportFigures, render_page
from voice_usage._pricing._fx import FxRates, target_currency
from voice_usage._pricing._ratecard import Rate, RateBook, default_rate_book
from voice_usage._pricing._reprice import RepriceTarget
from voice_usage._schema import UsageQuery, UsageRecord, format_instant, parse_instant

__all__ = ["Report", "check_output", "report", "report_from_records"]

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
    by = GroupBy(group_by)
    if by not in (GroupBy.DAY, GroupBy.MONTH):
        raise ConfigurationError(f"a report's charts are by day or month, not by {by.value}")
    return by


@dataclass
class ProviderRecords:
    """One provider's records for the page, as fetched (or read from the store)."""

    provider: Provider
    records: list[UsageRecord] = field(default_factory=list)
    billing: list[UsageRecord] | None = None
    """Records of the vendor's billing endpoint, when it has one (`Provider.billing_query`)."""
    failure: ProviderFailure | None = None
    warnings: list[str] = field(default_factory=list)
    reconciliations: list[Reconciliation] = field(default_factory=list)


def _fetch_provider(
    connection: Connection,
    since: datetime,
    until: datetime,
    by: GroupBy,
    options: Mapping[str, str],
) -> ProviderRecords:
    provider = connection.provider
    got = ProviderRecords(provider)
    query = UsageQuery(
        since=since,
        until=until,
        granularity=fetch_granularity(provider, GroupBy.AGENT),
        options=dict(options),
    )
    try:
        result = connection.fetch(query)
        with result:
            got.records = result.to_list()
        got.warnings.extend(result.warnings)
        got.reconciliations.extend(result.report.reconciliations)
    except Exception as exc:  # one provider failing must not hide the others
        got.failure = provider_failure(provider.name, exc)
        return got
    # The billing endpoint is asked as `compare` asks it for the page's buckets.
    billing_query = provider.billing_query(
        query.model_copy(update={"granularity": fetch_granularity(provider, by)})
    )
    if billing_query is not None:
        try:
            result = connection.fetch(billing_query)
            with result:
                got.billing = result.to_list()
            got.warnings.extend(result.warnings)
            got.reconciliations.extend(result.report.reconciliations)
        except Exception as exc:  # fall back to the usage records, as compare does
            got.warnings.append(billing_fallback(provider.name, exc))
    return got


def _comparison(
    fetched: Sequence[ProviderRecords],
    since: datetime,
    until: datetime,
    by: GroupBy,
    currency: str | None,
    rates: FxRates,
    skipped: Sequence[Skipped] = (),
) -> Comparison:
    """`compare`'s comparison grouped ``by``, over records already at hand."""
    summed = []
    for got in fetched:
        name = got.provider.name
        if got.failure is not None:
            summed.append(Fetched(name, failure=got.failure))
            continue
        billing = None
        if got.billing is not None and by in (GroupBy.PROVIDER, GroupBy.DAY, GroupBy.MONTH):
            billing = accumulate(got.billing, by)
        summed.append(
            Fetched(name, accumulate(got.records, by), billing, warnings=list(got.warnings))
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
    )


def _components(
    fetched: Sequence[ProviderRecords], by: GroupBy
) -> dict[ComponentKey, dict[str, Decimal]]:
    """Per provider and bucket, the cost by line item, in the records' currency.

    Taken from the records whose cost the row shows (billing records where the vendor has them):
    a record's `cost_components`, or its whole cost under its metered item (`call`, `sip`) when
    it has no split of its own.
    """
    out: dict[ComponentKey, dict[str, Decimal]] = {}
    for got in fetched:
        for record in got.billing if got.billing is not None else got.records:
            if record.cost is None:
                continue
            split = out.setdefault((got.provider.name, group_key(record, by) or ""), {})
            for name, amount in (record.cost_components or {record.item: record.cost}).items():
                split[name] = split.get(name, Decimal(0)) + amount
    return out


def _covers(fetched: Sequence[ProviderRecords]) -> dict[str, tuple[str, ...] | None]:
    """Per provider, the parts every costed record's cost covers (their intersection)."""
    out: dict[str, tuple[str, ...] | None] = {}
    for got in fetched:
        common: set[str] | None = None
        for record in got.records:
            if record.cost is None:
                continue
            parts = {str(part) for part in record.cost_covers or ()}
            common = parts if common is None else common & parts
        out[got.provider.name] = None if common is None else tuple(sorted(common))
    return out


def _rates_used(
    fetched: Sequence[ProviderRecords], overall: Comparison, book: RateBook
) -> list[Rate]:
    """The rate-card lines that priced a record: named on the records, or on compare's rows."""
    labels = {
        record.rate_card
        for got in fetched
        for records in (got.records, got.billing or [])
        for record in records
        if record.rate_card
    }
    labels.update(label for row in overall.rows for label in row.rate_cards)
    return sorted((rate for rate in book.rates if rate.label in labels), key=lambda r: r.label)


def report_from_records(
    fetched: Sequence[ProviderRecords],
    since: datetime,
    until: datetime,
    *,
    currency: str | None = None,
    fx: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None = None,
    group_by: GroupBy | str | None = None,
    repricing: Comparison | None = None,
    missing_ranges: Sequence[str] = (),
    source: str = "fetched from the vendors' APIs",
    book: RateBook | None = None,
    skipped: Sequence[Skipped] = (),
) -> Report:
    """The page over records already at hand (fetched, or read from the store)."""
    by = bucket_of(since, until, group_by)
    target = target_currency(currency)
    rates = FxRates(FxRates.coerce(fx).rates.values())
    overall = _comparison(fetched, since, until, GroupBy.PROVIDER, target, rates, skipped)
    figures = ReportFigures(
        overall=overall,
        timeline=_comparison(fetched, since, until, by, target, rates),
        agents=_comparison(fetched, since, until, GroupBy.AGENT, target, rates),
        numbers=_comparison(fetched, since, until, GroupBy.NUMBER, target, rates),
        repricing=repricing,
        components=_components(fetched, by),
        covers=_covers(fetched),
        reconciliations={g.provider.name: g.reconciliations for g in fetched if g.reconciliations},
        rates=_rates_used(fetched, overall, book or default_rate_book()),
        missing_ranges=missing_ranges,
        source=source,
    )
    return Report(render_page(figures), figures)


def report(
    providers: Sequence[str | Provider | Connection] = (),
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    *,
    output: str | Path | None = None,
    currency: str | None = None,
    fx: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None = None,
    group_by: GroupBy | str | None = None,
    reprice_to: Sequence[str] = (),
    reprice_from: Sequence[str] = (),
    options: Mapping[str, Mapping[str, str]] | None = None,
    registry: Registry | None = None,
    connect_options: Mapping[str, Mapping[str, Any]] | None = None,
    **common_options: Any,
) -> Report:
    """Fetch ``providers`` over `[since, until)` and build the HTML report page.

    Args:
        providers: Names, `Provider`s or open `Connection`s; empty means every installed provider
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
        options: Per provider name, provider-specific query options.
        registry: Where to look provider names up; defaults to the installed providers.
        connect_options: Per provider name, `Connection` options (`api_key`, `base_url`...).
        common_options: `Connection` options for every provider (`transport`, `sleep`...).

    Returns:
        The `Report`; a provider that failed is on the page and in `Report.errors`.

    Raises:
        ConfigurationError: bad arguments, an unwritable output path, an unknown provider, or a
            conversion without its exchange rate. Provider failures are not raised.
    """
    if since is None or until is None:
        raise TypeError("report() needs since= and until=")
    start, end = parse_instant(since, name="since"), parse_instant(until, name="until")
    if end <= start:
        raise ConfigurationError(
            f"until ({format_instant(end)}) must be after since ({format_instant(start)})"
        )
    target = check_output(output) if output is not None else None
    by = bucket_of(start, end, group_by)
    wanted = target_currency(currency)
    rates = FxRates.coerce(fx)
    book = default_rate_book()
    for spec in reprice_to:
        RepriceTarget.parse(spec).check(book)  # a card that does not exist fails before any request
    if reprice_from and not reprice_to:
        raise ConfigurationError("reprice_from names whose traffic to reprice: give reprice_to too")
    per_provider = dict(connect_options or {})
    chosen, skipped, registry = resolve_providers(providers, registry, per_provider)
    query_options = dict(options or {})
    connections, owned = open_connections(
        chosen, registry, per_provider, common_options, query_options
    )
    try:
        check_rates([c.provider for c in connections], start, end, wanted, rates)
        if not connections:
            fetched: list[ProviderRecords] = []
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
                    )
                    for c in connections
                ]
                fetched = [future.result() for future in futures]
    finally:
        for connection in owned:
            connection.close()
    repricing = None
    if reprice_to:
        repricing = reprice_comparison(
            (
                r
                for got in fetched
                if not reprice_from or got.provider.name in reprice_from
                for r in got.records
            ),
            reprice_to,
            since=start,
            until=end,
            currency=wanted,
            fx=rates,
        )
    page = report_from_records(
        fetched,
        start,
        end,
        currency=wanted,
        fx=rates,
        group_by=by,
        repricing=repricing,
        skipped=skipped,
    )
    if target is not None:
        page.write(target)
    return page
