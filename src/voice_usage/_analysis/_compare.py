"""Cross-vendor comparison: the same period's calls, minutes and cost, side by side, in one currency.

`compare()` fetches every provider concurrently (one thread each), sums their records through
`RowTotals` into one row per provider (or per provider and day, month, agent or number), converts
costs with explicit exchange rates only, and keeps going when one provider fails: its failure is
reported in `Comparison.errors` while the other rows are still there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from voice_usage._analysis._allin import all_in_rows, assumption_line, covers_line, gap_line
from voice_usage._analysis._comparison import Comparison, ComparisonRow, ProviderFailure, Skipped
from voice_usage._analysis._grouping import GroupBy, fetch_granularity, key_order
from voice_usage._analysis._rows import GroupMap, accumulate, build_row, convert_rows, total_row
from voice_usage._analysis._stack import parse_stack, stack_row
from voice_usage._engine._fetch import Connection, gather_credentials
from voice_usage._engine._plan import AccountFacts
from voice_usage._engine._plugins import Registry, load_registry
from voice_usage._engine._provider import Provider, credentials_problem
from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._allin import AddCost, FixedFigure, fixed_charges, parse_add_costs
from voice_usage._pricing._fx import FxRates, MissingRateError, target_currency
from voice_usage._pricing._ratecard import RateBook, default_rate_book
from voice_usage._schema import UsageQuery, format_instant, parse_instant
from voice_usage._store._source import StoreSource

__all__ = [
    "Fetched",
    "ProgressCallback",
    "add_costs",
    "assemble",
    "billing_fallback",
    "check_rates",
    "choose_providers",
    "compare",
    "connected",
    "period",
    "provider_failure",
    "resolve_providers",
]

Source = Connection | StoreSource
"""What a comparison reads a provider from: its API, or the history store."""

ProgressCallback = Callable[[str, int], None]
"""Called as `progress(provider, records_so_far)` while records stream in."""


@dataclass
class Fetched:
    """One provider's records summed by group (or its failure), ready to become rows."""

    provider: str
    groups: GroupMap | None = None
    """The usage records per group; `None` when the provider failed."""
    billing: GroupMap | None = None
    """The billing endpoint's records per group, when the vendor has one."""
    failure: ProviderFailure | None = None
    warnings: list[str] = field(default_factory=list)
    facts: AccountFacts | None = None
    """What the account snapshot says fixed charges depend on, when it was read."""
    told: bool = False
    """Whether the account snapshot was read."""


def billing_fallback(provider: str, exc: BaseException) -> str:
    """The warning when a billing endpoint failed and the usage records stand in for it."""
    return (
        f"{provider}: the billing endpoint failed ({provider_failure(provider, exc).message}); "
        "billed minutes and cost are summed from the usage records instead"
    )


def provider_failure(provider: str, exc: BaseException) -> ProviderFailure:
    """A provider's failure, its message starting with the provider's name."""
    message = str(exc)
    if not message.startswith(f"{provider}:"):
        message = f"{provider}: {message}" if message else f"{provider}: {type(exc).__name__}"
    return ProviderFailure(provider, type(exc).__name__, message)


def _fetch_groups(
    connection: Source,
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
    connection: Source,
    query: UsageQuery,
    billing_query: UsageQuery | None,
    by: GroupBy,
    progress: ProgressCallback | None,
    want_facts: bool = False,
) -> Fetched:
    name = connection.provider.name
    fetched = Fetched(name)
    try:
        fetched.groups, fetched.warnings = _fetch_groups(connection, query, by, progress)
    except Exception as exc:  # one provider failing must not hide the others
        fetched.failure = provider_failure(name, exc)
        return fetched
    if want_facts and isinstance(connection, Connection):
        # A stored history holds no account snapshot: the plan is then not known.
        read_account_facts(connection, fetched)
    if billing_query is not None:
        try:
            fetched.billing, warnings = _fetch_groups(connection, billing_query, by, None)
            fetched.warnings.extend(warnings)
        except Exception as exc:  # fall back to the usage records
            fetched.warnings.append(billing_fallback(name, exc))
    return fetched


def read_account_facts(connection: Connection, fetched: Fetched) -> None:
    """Read what the vendor's account snapshot says fixed charges depend on, into ``fetched``.

    A failure leaves the usage figures standing; the fixed charges that depend on the plan or
    the numbers held are then unknown, with a warning.
    """
    provider = connection.provider
    if provider.balance() is None:
        return
    try:
        fetched.facts = provider.account_facts(connection.balance())
        fetched.told = fetched.facts is not None
    except Exception as exc:
        fetched.warnings.append(
            f"{provider.name}: the account snapshot could not be read "
            f"({provider_failure(provider.name, exc).message}); fixed charges that depend on "
            "the plan or the numbers held are unknown"
        )


def _missing_credentials(provider: Provider, options: Mapping[str, Any]) -> str | None:
    given = gather_credentials(
        provider, api_key=options.get("api_key"), credentials=options.get("credentials")
    )
    return credentials_problem(provider, given)


def resolve_providers(
    providers: Sequence[str | Provider | Source],
    registry: Registry | None,
    connect_options: Mapping[str, Mapping[str, Any]],
) -> tuple[list[str | Provider | Source], list[Skipped], Registry | None]:
    """The providers to compare: the ones named, or every usable installed one with a key."""
    if providers:
        return list(providers), [], registry
    registry = registry or load_registry()
    chosen: list[str | Provider | Source] = []
    skipped: list[Skipped] = []
    for name in registry.names():
        provider = registry.get(name)
        if not provider.capabilities.implemented:
            skipped.append(Skipped(name, "the adapter is not implemented yet"))
        elif problem := _missing_credentials(provider, connect_options.get(name, {})):
            skipped.append(Skipped(name, problem.removeprefix(f"{name}: ")))
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


def period(
    since: str | date | datetime | None, until: str | date | datetime | None, caller: str
) -> tuple[datetime, datetime]:
    """``since`` and ``until`` as UTC instants, the second after the first.

    Raises:
        TypeError: one of them is missing (``caller`` names the function that needs them).
        ConfigurationError: one is not a date or instant, or ``until`` is not after ``since``.
    """
    if since is None or until is None:
        raise TypeError(f"{caller}() needs since= and until=")
    start, end = parse_instant(since, name="since"), parse_instant(until, name="until")
    if end <= start:
        raise ConfigurationError(
            f"until ({format_instant(end)}) must be after since ({format_instant(start)})"
        )
    return start, end


def choose_providers(
    providers: Sequence[str | Provider | Source],
    registry: Registry | None,
    per_provider: Mapping[str, Mapping[str, Any]],
    add_cost: Iterable[str | AddCost],
) -> tuple[list[str | Provider | Source], list[Skipped], Registry | None, tuple[AddCost, ...]]:
    """The providers to read (see `resolve_providers`) and the `--add-cost` prices, checked.

    Both are checked before any request.
    """
    chosen, skipped, registry = resolve_providers(providers, registry, per_provider)
    return chosen, skipped, registry, add_costs(add_cost, chosen, registry)


def compare(
    providers: Sequence[str | Provider | Source] = (),
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    *,
    currency: str | None = None,
    fx: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None = None,
    group_by: GroupBy | str = GroupBy.PROVIDER,
    options: Mapping[str, Mapping[str, str]] | None = None,
    registry: Registry | None = None,
    rate_book: RateBook | None = None,
    connect: Callable[..., Connection] = Connection,
    connect_options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: ProgressCallback | None = None,
    use_billing: bool = True,
    add_cost: Iterable[str | AddCost] = (),
    fixed: bool = True,
    stacks: Iterable[str | Sequence[str]] = (),
    **common_options: Any,
) -> Comparison:
    """Compare providers over `[since, until)`: one row per provider (or per provider and group).

    Args:
        providers: Names, `Provider`s, open `Connection`s or `StoreSource`s (the store); empty means every installed provider
            with its `<NAME>_API_KEY` set (the others are listed in `Comparison.skipped`).
        since: Start, inclusive (a date or ISO 8601 datetime, UTC unless an offset is given).
        until: End, exclusive.
        currency: Convert every cost to this ISO 4217 currency.
        fx: Exchange rates, as `FxRates`, `{"USD:EUR": "0.9"}` or `["USD:EUR=0.9"]`;
            1 FROM = RATE TO. A conversion without its rate raises `MissingRateError`.
        group_by: `provider` (default), `day`, `month`, `agent` or `number`.
        options: Per provider name, provider-specific query options (`{"x": {"view": "y"}}`).
        registry: Where to look provider names up; defaults to the installed providers.
        rate_book: The rate cards providers without reported costs price with; defaults to
            `default_rate_book()`. Connections passed in open keep their own.
        connect: Opens each `Connection` (called like `Connection`); a seam for tests.
        connect_options: Per provider name, `Connection` options (`api_key`, `base_url`...).
        progress: Called as `progress(provider, records_so_far)` from the fetching threads.
        use_billing: Take billed minutes and cost from a provider's authoritative billing
            endpoint when it has one (`Provider.billing_query`).
        add_cost: Prices per minute of measured duration for parts of a call a row's cost does
            not cover, as `AddCost` or `[PROVIDER.]COMPONENT=CUR:PRICE` text; each is applied
            only to rows that lack the part, and named as an assumption.
        fixed: Add the rate cards' fixed monthly charges (pro rata) as their own figure, reading
            the vendor's account snapshot for the plan and the numbers held where it tells.
        stacks: Vendors that serve the same calls, taken as one (`"ultravox+twilio"` or
            `("ultravox", "twilio")`): each adds a row to `Comparison.stacks` (see
            `voice_usage._analysis._stack`); every member must be compared.
        common_options: `Connection` options for every provider (`transport`, `sleep`...).

    Raises:
        ConfigurationError: bad arguments, an unknown provider, a missing key, or (as
            `MissingRateError`) a conversion without its exchange rate. Provider failures
            are not raised: they are in `Comparison.errors`.
    """
    start, end = period(since, until, "compare")
    by = GroupBy.parse(group_by)
    target = target_currency(currency)
    rates = FxRates.coerce(fx)
    rates = FxRates(rates.rates.values())  # a fresh record of which rates this comparison used
    per_provider = dict(connect_options or {})
    chosen, skipped, registry, adds = choose_providers(providers, registry, per_provider, add_cost)
    stack_members = _stacks(stacks, chosen, by)

    query_options = dict(options or {})
    with connected(
        chosen,
        registry,
        per_provider,
        {"rate_book": rate_book, **common_options},
        query_options,
        connect=connect,
        checked=(start, end, target, rates, adds, fixed),
    ) as connections:
        book = default_rate_book()
        facts_for = {
            c.provider.name
            for c in connections
            if fixed and book.fixed_in_force(c.provider.name, start)
        }
        fetched = _fetch_all(
            connections, start, end, by, progress, use_billing, query_options, facts_for
        )

    comparison = assemble(
        [c.provider for c in connections],
        fetched,
        since=start,
        until=end,
        by=by,
        currency=target,
        rates=rates,
        skipped=skipped,
        add_costs=adds,
        fixed=fixed,
    )
    for members in stack_members:
        row = stack_row(comparison.rows, members, currency=target, fx=rates, add_costs=adds)
        comparison.stacks.append(row)
        if row.double_counted:
            comparison.warnings.append(
                f"stack {row.provider}: {', '.join(row.double_counted)} is covered by more than "
                "one member and would be paid twice; its all-in figure is left unknown"
            )
    return comparison


def _stacks(
    stacks: Iterable[str | Sequence[str]],
    chosen: Sequence[str | Provider | Source],
    by: GroupBy,
) -> list[tuple[str, ...]]:
    """The `--stack` members, checked before any request: each one compared, whole periods."""
    parsed = [parse_stack(s) if isinstance(s, str) else parse_stack("+".join(s)) for s in stacks]
    if parsed and by is not GroupBy.PROVIDER:
        raise ConfigurationError("--stack needs whole-period rows: drop --group-by")
    names = {
        c if isinstance(c, str) else c.name if isinstance(c, Provider) else c.provider.name
        for c in chosen
    }
    for members in parsed:
        absent = [m for m in members if m not in names]
        if absent:
            raise ConfigurationError(
                f"--stack {'+'.join(members)}: {', '.join(absent)} is not compared "
                "(name every member as a PROVIDER, or set its credentials)"
            )
    return parsed


def add_costs(
    add_cost: Iterable[str | AddCost],
    chosen: Sequence[str | Provider | Source],
    registry: Registry | None,
) -> tuple[AddCost, ...]:
    """`--add-cost` values read and checked before any request: a PROVIDER must be installed."""
    given = list(add_cost)
    texts = [a for a in given if isinstance(a, str)]
    ready = [a for a in given if isinstance(a, AddCost)]
    if not texts:
        return tuple(ready)
    names = {
        c.provider.name
        if isinstance(c, Connection | StoreSource)
        else c
        if isinstance(c, str)
        else c.name
        for c in chosen
    }
    names |= set((registry or load_registry()).names())
    return (*ready, *parse_add_costs(texts, names))


@contextmanager
def connected(
    chosen: Sequence[str | Provider | Source],
    registry: Registry | None,
    per_provider: Mapping[str, Mapping[str, Any]],
    common_options: Mapping[str, Any],
    query_options: Mapping[str, Mapping[str, str]],
    *,
    connect: Callable[..., Connection],
    checked: tuple[datetime, datetime, str | None, FxRates, Sequence[AddCost], bool],
) -> Iterator[list[Source]]:
    """A `Connection` for each of ``chosen``, rates checked; those opened here closed on exit.

    Sources already open are used as they are. ``checked`` holds what `check_rates` needs: since, until, the target currency, the rates,
    the add-costs and whether fixed charges count.

    Raises:
        ConfigurationError: a provider named twice, or options for a provider not chosen.
        MissingRateError: an exchange rate the comparison needs is not given.
    """
    connections: list[Source] = []
    owned: list[Source] = []
    try:
        for item in chosen:
            if isinstance(item, Connection | StoreSource):
                connections.append(item)
                continue
            name = item if isinstance(item, str) else item.name
            settings = {**common_options, **per_provider.get(name, {})}
            opened = connect(item, registry=registry, **settings)
            connections.append(opened)
            owned.append(opened)
        names = [c.provider.name for c in connections]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"a provider is named twice: {', '.join(names)}")
        stray = sorted(set(query_options) - set(names))
        if stray:
            raise ConfigurationError(
                f"options given for {', '.join(stray)}, which is not compared "
                f"(comparing {', '.join(names)})"
            )
        start, end, target, rates, adds, fixed = checked
        check_rates(connections, start, end, target, rates, adds=adds, fixed=fixed)
        yield connections
    finally:
        for connection in owned:
            connection.close()


def check_rates(
    sources: Sequence[Source],
    since: datetime,
    until: datetime,
    target: str | None,
    rates: FxRates,
    *,
    adds: Sequence[AddCost] = (),
    fixed: bool = False,
) -> None:
    """Fail before any request when a needed exchange rate is not given.

    A provider's rate cards (their per-minute prices and, with ``fixed``, their fixed charges)
    and every `--add-cost` price must convert to ``target``.

    Raises:
        MissingRateError: naming every missing rate and the providers that need it.
    """
    if target is None:
        return
    missing: set[tuple[str, str]] = set()
    needers: set[str] = set()
    for source in sources:
        provider = source.provider
        # A live connection prices with its own cards; stored records were priced when synced.
        book = source.rate_book if isinstance(source, Connection) else default_rate_book()
        codes = _expected_currencies(provider, since, until, book)
        if fixed:
            codes |= {line.currency for line in book.fixed_in_force(provider.name, since)}
        for code in codes:
            if not rates.has(code, target):
                missing.add((code, target))
                needers.add(provider.name)
    for add in adds:
        if not rates.has(add.currency, target):
            missing.add((add.currency, target))
            needers.add(f"--add-cost {add.label}")
    if missing:
        raise MissingRateError(missing, needed_by=needers)


def assemble(
    providers: Sequence[Provider],
    fetched: Sequence[Fetched],
    *,
    since: datetime,
    until: datetime,
    by: GroupBy,
    currency: str | None,
    rates: FxRates,
    skipped: Sequence[Skipped] = (),
    add_costs: Sequence[AddCost] = (),
    fixed: bool = False,
) -> Comparison:
    """The comparison of providers whose records are summed already: rows, conversion, total.

    `compare` fetches and then assembles; the report sums one fetch several ways and assembles
    each, so both show the same rows for the same records. With ``fixed``, rows carry the rate
    cards' fixed charges, from what each `Fetched` read of the account (`read_account_facts`).
    """
    book = default_rate_book()
    rows: list[ComparisonRow] = []
    errors: list[ProviderFailure] = []
    warnings: list[str] = []
    figures: dict[str, FixedFigure] = {}
    for provider, result in zip(providers, fetched, strict=True):
        if result.failure is not None:
            errors.append(result.failure)
        else:
            rows.extend(_provider_rows(provider, result, by, book, since))
            facts = result.facts or AccountFacts()
            figures[provider.name] = fixed_charges(
                book,
                provider.name,
                since,
                until,
                plan=facts.plan,
                numbers=facts.numbers,
                told=result.told,
            )
        warnings.extend(result.warnings)
    rows = convert_rows(rows, currency, rates)
    rows = all_in_rows(
        rows, currency=currency, fx=rates, add_costs=add_costs, fixed=figures if fixed else None
    )
    comparison = Comparison(
        since=since,
        until=until,
        rows=rows,
        currency=currency,
        group_by=by,
        fx=rates.used,
        errors=errors,
        skipped=list(skipped),
        warnings=warnings,
        total=_labelled_total(total_row(rows, currency), errors)
        if by is GroupBy.PROVIDER
        else None,
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
    connections: Sequence[Source],
    since: datetime,
    until: datetime,
    by: GroupBy,
    progress: ProgressCallback | None,
    use_billing: bool,
    options: Mapping[str, Mapping[str, str]],
    facts_for: set[str] | None = None,
) -> list[Fetched]:
    jobs = []
    for connection in connections:
        provider = connection.provider
        query = UsageQuery.checked(
            since=since,
            until=until,
            granularity=fetch_granularity(provider, by, options.get(provider.name)),
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
            pool.submit(
                _run_provider,
                connection,
                query,
                billing,
                by,
                progress,
                connection.provider.name in (facts_for or set()),
            )
            for connection, query, billing in jobs
        ]
        return [future.result() for future in futures]


def _provider_rows(
    provider: Provider, fetched: Fetched, by: GroupBy, book: RateBook, start: datetime
) -> list[ComparisonRow]:
    assert fetched.groups is not None
    groups = fetched.groups
    billing = fetched.billing
    keys: list[str | None] = sorted(set(groups) | set(billing or {}), key=key_order)
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
            never_reported=provider.capabilities.never_reports,
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
        rows.append(_say_missing_items(row, from_billing or usage, book, provider.name, start))
    return rows


def _say_missing_items(
    row: ComparisonRow, group: Any, book: RateBook, provider: str, start: datetime
) -> ComparisonRow:
    """A row whose records carry none of an item its vendor bills apart (SIP minutes) says so."""
    if group is None or not row.records:
        return row
    notes = list(row.notes)
    for rate in book.in_force(start, provider):
        if rate.item == "call" or rate.item in group.items:
            continue
        if any(rate.line_item in (t.components or {}) for t in group.items.values()):
            continue
        notes.append(
            f"{provider} bills {rate.item} minutes apart ({rate.label}); none are in these "
            f"records, so the cost leaves them out"
        )
    return dataclasses.replace(row, notes=tuple(dict.fromkeys(notes)))


def _notes(rows: Sequence[ComparisonRow]) -> list[str]:
    notes = [line for line in (gap_line(rows), assumption_line(rows)) if line]
    estimates = [row.label for row in rows if row.cost_estimate]
    if estimates:
        notes.append(
            "approximate: "
            + ", ".join(estimates)
            + " priced from window records without per-call durations, so the rate card's "
            "per-call rounding and minimum charge could not be applied exactly"
        )
    said = covers_line(rows)
    if said:
        notes.append(said)
    return notes
