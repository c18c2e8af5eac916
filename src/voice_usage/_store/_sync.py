"""Sync: bring the store up to date with one provider account, idempotently and incrementally.

For each of the provider's series (its finest records, and the billed totals when the vendor
keeps them apart, see `sync_series`), a sync reads `[start, until)` in chunks of whole UTC days
and writes each chunk in one transaction (see `Store.write`):

- ``until`` defaults to the start of today (UTC): only complete days are stored;
- ``start`` is ``since`` when given (a backfill), else the series' watermark minus the lookback
  (the provider's `Capabilities.lookback_days` unless ``lookback`` says otherwise), else, on a
  first sync, `FIRST_SYNC_DAYS` before ``until``.

The watermark is the end of the ranges stored, and only moves with the chunk that fills it: a
sync that dies half-way leaves every finished chunk stored and covered, and nothing of the rest,
so running it again completes it. Running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from voice_usage._calendar import utc_floor
from voice_usage._engine._accounts import Account, AccountsConfig, load_accounts
from voice_usage._engine._fetch import Connection, count_setting, gather_credentials
from voice_usage._engine._plugins import Registry, load_registry
from voice_usage._engine._provider import Provider, credentials_problem
from voice_usage._exceptions import ConfigurationError, MissingCredentialsError
from voice_usage._schema import Granularity, UsageQuery, format_instant
from voice_usage._store._store import Store, WriteCounts, open_store

__all__ = [
    "FIRST_SYNC_DAYS",
    "MAX_LOOKBACK_DAYS",
    "Series",
    "SeriesResult",
    "SyncResult",
    "sync",
    "sync_series",
]

FIRST_SYNC_DAYS = 90
"""How far back a first sync reads when no ``since`` is given."""
MAX_LOOKBACK_DAYS = 366
"""A longer lookback is refused as a mistake: a sync re-reading more is a backfill (``since``)."""
CHUNK_DAYS = 31

PARALLEL_ENV = "VOICE_USAGE_PARALLEL"
"""Environment variable with how many provider accounts `sync_many` syncs at once."""
DEFAULT_PARALLEL = 4
"""Days fetched and written per transaction: a sync that dies loses at most one chunk."""

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Series:
    """One stream of a provider's records kept in the store."""

    name: str
    """`call`, `day`, or the granularity and its options: `day?source=billing`."""
    granularity: Granularity
    options: dict[str, str] = field(default_factory=dict)

    def query(self, since: datetime, until: datetime) -> UsageQuery:
        """The query reading this series over `[since, until)`."""
        return UsageQuery(
            since=since, until=until, granularity=self.granularity, options=self.options
        )


def sync_series(provider: Provider) -> list[Series]:
    """The series a sync stores for ``provider``.

    Its finest records (calls where it lists calls, else its finest windows), and, when the
    vendor keeps its billed totals apart (`Provider.billing_query`), those as a second series,
    so `compare --from-store` answers with the same figures as a live compare.
    """
    native = provider.capabilities.granularities
    if not native:
        return []
    finest = min(native, key=lambda g: g.rank)
    found = [Series(finest.value, finest)]
    day = datetime(2000, 1, 1, tzinfo=UTC)
    billing = provider.billing_query(UsageQuery(since=day, until=day + _DAY, granularity=finest))
    if billing is not None and billing.options:
        name = f"{billing.granularity.value}?{urlencode(sorted(billing.options.items()))}"
        found.append(Series(name, billing.granularity, dict(billing.options)))
    return found


@dataclass
class SeriesResult:
    """What a sync did for one series."""

    series: str
    since: datetime
    """Start of the range read (the watermark minus the lookback, or ``since``)."""
    until: datetime
    """End of the range read, exclusive; stored up to here when the sync finished."""
    counts: WriteCounts = field(default_factory=WriteCounts)
    requests: int = 0
    stored_until: datetime | None = None
    """End of the range stored so far: `until` once the series finished."""
    warnings: list[str] = field(default_factory=list)


@dataclass
class SyncResult:
    """What one sync of a provider account did.

    Records new, revised, unchanged and removed, the range covered, the requests made.
    """

    provider: str
    account: str | None
    store: str
    series: list[SeriesResult] = field(default_factory=list)
    error: str | None = None
    """Why the sync stopped early (the chunks stored before it are kept); `None` on success."""

    def _total(self, name: str) -> int:
        return sum(getattr(s.counts, name) for s in self.series)

    @property
    def new(self) -> int:
        """Records added."""
        return self._total("new")

    @property
    def revised(self) -> int:
        """Records the vendor answered differently, replaced (the change kept as a revision)."""
        return self._total("revised")

    @property
    def unchanged(self) -> int:
        """Records read again and found the same."""
        return self._total("unchanged")

    @property
    def removed(self) -> int:
        """Records the vendor no longer lists, removed (kept as a revision)."""
        return self._total("removed")

    @property
    def requests(self) -> int:
        """HTTP requests made, retries included."""
        return sum(s.requests for s in self.series)

    @property
    def since(self) -> datetime | None:
        """Start of the range read."""
        return min((s.since for s in self.series), default=None)

    @property
    def until(self) -> datetime | None:
        """End of the range read."""
        return max((s.until for s in self.series), default=None)

    @property
    def warnings(self) -> list[str]:
        """The fetches' warnings."""
        return [w for s in self.series for w in s.warnings]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "provider": self.provider,
            "account": self.account,
            "store": self.store,
            "new": self.new,
            "revised": self.revised,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "since": _text(self.since),
            "until": _text(self.until),
            "requests": self.requests,
            "series": [
                {
                    "series": s.series,
                    "since": _text(s.since),
                    "until": _text(s.until),
                    "stored_until": _text(s.stored_until),
                    "new": s.counts.new,
                    "revised": s.counts.revised,
                    "unchanged": s.counts.unchanged,
                    "removed": s.counts.removed,
                    "requests": s.requests,
                }
                for s in self.series
            ],
            "warnings": self.warnings,
            "error": self.error,
        }


def _text(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def _midnight(instant: datetime) -> datetime:
    return utc_floor(instant, Granularity.DAY)


def _as_instant(value: str | date | datetime, name: str) -> datetime:
    try:
        return UsageQuery.model_validate(
            {"since": value, "until": datetime.max.replace(tzinfo=UTC)}
        ).since
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a date (2026-10-01) or an ISO 8601 datetime, got {value!r}"
        ) from None


def lookback_days(value: int | timedelta | None, provider: Provider) -> int:
    """The lookback in whole days: ``value``, else the provider's documented default.

    Raises:
        ConfigurationError: for a negative lookback or one over `MAX_LOOKBACK_DAYS`.
    """
    if value is None:
        return provider.capabilities.lookback_days
    days = value.days if isinstance(value, timedelta) else value
    if isinstance(value, timedelta) and value % _DAY:
        raise ConfigurationError(f"--lookback must be whole days, got {value}")
    if isinstance(days, bool) or not isinstance(days, int):
        raise ConfigurationError(f"--lookback must be a whole number of days, got {value!r}")
    if days < 0 or days > MAX_LOOKBACK_DAYS:
        raise ConfigurationError(
            f"--lookback must be 0 to {MAX_LOOKBACK_DAYS} days, got {days}; to read further "
            "back, sync with --since"
        )
    return days


def _chunks(since: datetime, until: datetime, days: int) -> Iterator[tuple[datetime, datetime]]:
    start = since
    while start < until:
        end = min(start + timedelta(days=days), until)
        yield start, end
        start = end


def sync(
    provider: str | Provider,
    *,
    account: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    lookback: int | timedelta | None = None,
    store: str | Store | None = None,
    now: datetime | None = None,
    accounts: AccountsConfig | None = None,
    registry: Registry | None = None,
    **connection_options: Any,
) -> SyncResult:
    """Bring the store up to date with one provider account; see the module docstring.

    Args:
        provider: A provider name or a `Provider`.
        account: A name from the accounts file (`voice-usage.toml`); `None` for the default
            account, whose key is `<NAME>_API_KEY`.
        since: Read from this day on (a backfill) instead of from the watermark.
        until: Read up to this day (exclusive); defaults to the start of today, UTC.
        lookback: Days re-read before the watermark; defaults to the provider's
            `Capabilities.lookback_days`.
        store: A `Store`, a path, `sqlite:///path` or `postgresql://...`; defaults to
            `VOICE_USAGE_STORE`, else the SQLite file in the user data folder.
        now: The current time (tests pin it); defaults to the clock.
        accounts: The accounts file, read; defaults to `load_accounts()` when ``account`` is set.
        registry: Where provider names are looked up.
        **connection_options: Passed to `Connection` (``transport``, ``base_url``, ...).

    Raises:
        ConfigurationError: for bad arguments (before any request or write).
        StoreError: when the store cannot be opened or written.
        ProviderError: when the vendor's API fails; chunks stored before are kept.
    """
    result = _sync(
        provider,
        account=account,
        since=since,
        until=until,
        lookback=lookback,
        store=store,
        now=now,
        accounts=accounts,
        registry=registry,
        connection_options=connection_options,
        keep_going=False,
    )
    return result


@dataclass(frozen=True)
class _Plan:
    provider: Provider
    account: Account | None
    since: datetime | None
    until: datetime
    lookback: int


def plan_sync(
    provider: str | Provider,
    *,
    account: str | None,
    since: str | date | datetime | None,
    until: str | date | datetime | None,
    lookback: int | timedelta | None,
    now: datetime | None,
    accounts: AccountsConfig | None,
    registry: Registry | None,
) -> _Plan:
    """Check a sync's arguments before anything is opened or requested.

    Raises:
        ConfigurationError: naming the argument.
    """
    if isinstance(provider, str):
        provider = (registry or load_registry()).get(provider)
    clock = (now or datetime.now(UTC)).astimezone(UTC)
    today = _midnight(clock)
    end = today if until is None else _midnight(_as_instant(until, "--until"))
    # Only complete days are stored: today is read once it is over.
    end = min(end, today)
    start = None if since is None else _midnight(_as_instant(since, "--since"))
    if start is not None and start >= end:
        raise ConfigurationError(
            f"--since ({start.date().isoformat()}) must be before --until "
            f"({end.date().isoformat()}; sync stores complete UTC days, up to today)"
        )
    named = None
    if account is not None:
        named = (accounts or load_accounts()).get(provider.name, account)
    return _Plan(provider, named, start, end, lookback_days(lookback, provider))


def _sync(
    provider: str | Provider,
    *,
    account: str | None,
    since: str | date | datetime | None,
    until: str | date | datetime | None,
    lookback: int | timedelta | None,
    store: str | Store | None,
    now: datetime | None,
    accounts: AccountsConfig | None,
    registry: Registry | None,
    connection_options: dict[str, Any],
    keep_going: bool,
) -> SyncResult:
    plan = plan_sync(
        provider,
        account=account,
        since=since,
        until=until,
        lookback=lookback,
        now=now,
        accounts=accounts,
        registry=registry,
    )
    options = dict(connection_options)
    if plan.account is not None:
        options = {**plan.account.connection_options(), **options}
    owned = not isinstance(store, Store)
    opened = open_store(store)
    try:
        with Connection(plan.provider, **options) as connection:
            return _run(plan, opened, connection, now, keep_going)
    finally:
        if owned:
            opened.close()


def _run(
    plan: _Plan, store: Store, connection: Connection, now: datetime | None, keep_going: bool
) -> SyncResult:
    provider = plan.provider
    name = plan.account.name if plan.account else None
    result = SyncResult(provider.name, name, store.name)
    for series in sync_series(provider):
        if plan.since is not None:
            start = plan.since
        else:
            mark = store.watermark(provider.name, name, series.name)
            start = (
                plan.until - timedelta(days=FIRST_SYNC_DAYS)
                if mark is None
                else _midnight(mark) - timedelta(days=plan.lookback)
            )
        if provider.capabilities.max_history_days is not None:
            earliest = plan.until - timedelta(days=provider.capabilities.max_history_days - 1)
            start = max(start, earliest)
        if start >= plan.until:
            continue
        done = SeriesResult(series.name, start, plan.until)
        result.series.append(done)
        try:
            for chunk_start, chunk_end in _chunks(start, plan.until, CHUNK_DAYS):
                fetched = connection.fetch(series.query(chunk_start, chunk_end))
                try:
                    records = list(fetched)
                finally:
                    done.requests += fetched.report.requests
                    done.warnings += fetched.warnings
                counts = store.write(
                    provider.name,
                    name,
                    series.name,
                    records,
                    since=chunk_start,
                    until=chunk_end,
                    now=now,
                )
                done.counts.add(counts)
                done.stored_until = chunk_end
        except Exception as exc:
            if not keep_going or not _reportable(exc):
                raise
            result.error = str(exc)
            return result
    return result


def _reportable(exc: BaseException) -> bool:
    from voice_usage._exceptions import VoiceUsageError

    return isinstance(exc, VoiceUsageError)


def sync_many(
    providers: Sequence[str],
    *,
    account: str | None,
    since: str | date | datetime | None,
    until: str | date | datetime | None,
    lookback: int | timedelta | None,
    store: str | None,
    registry: Registry,
    accounts: AccountsConfig,
    now: datetime | None = None,
    parallel: int | None = None,
) -> list[SyncResult]:
    """Sync several providers and their accounts into one store.

    A failure is reported in its result and the others still run. Accounts are synced
    ``parallel`` at a time (default `VOICE_USAGE_PARALLEL`, else 4): each key has a rate budget
    of its own, so N accounts take about as long as the slowest, not the sum. Each sync holds
    one chunk of records at a time and writes through a store connection of its own, so memory
    grows with ``parallel``, not with the number of accounts.

    Without providers: every provider that has credentials (its default key, or an account in
    the accounts file). Without ``account``: every account listed for a provider, and its
    default account when `<NAME>_API_KEY` is set.

    Raises:
        ConfigurationError: for bad arguments, before any request.
        StoreError: when the store cannot be opened.
    """
    targets: list[tuple[Provider, str | None]] = []
    names = list(providers) or registry.names()
    for provider_name in names:
        provider = registry.get(provider_name)
        if not provider.capabilities.implemented:
            continue
        listed = accounts.for_provider(provider.name)
        if account is not None:
            if providers or any(a.name == account for a in listed):
                targets.append((provider, accounts.get(provider.name, account).name))
            continue
        has_default = credentials_problem(provider, gather_credentials(provider)) is None
        if has_default or (providers and not listed):
            targets.append((provider, None))
        targets += [(provider, a.name) for a in listed]
    if account is not None and not targets:
        raise ConfigurationError(
            f"--account {account!r}: no provider has an account by that name in "
            f"{accounts.path or 'the accounts file (none found)'}"
        )
    for provider, name in targets:  # every argument checked before the first request
        plan_sync(
            provider,
            account=name,
            since=since,
            until=until,
            lookback=lookback,
            now=now,
            accounts=accounts,
            registry=registry,
        )
    at_once = count_setting(
        parallel, argument="parallel", env=PARALLEL_ENV, default=DEFAULT_PARALLEL, unit="accounts"
    )
    with open_store(store) as opened:  # opened (and migrated) once, before any request

        def one(target: tuple[Provider, str | None]) -> SyncResult:
            provider, name = target
            # SQLite connections belong to their thread: a sync run beside others opens its own.
            own = opened if at_once == 1 else opened.location.target
            try:
                return _sync(
                    provider,
                    account=name,
                    since=since,
                    until=until,
                    lookback=lookback,
                    store=own,
                    now=now,
                    accounts=accounts,
                    registry=registry,
                    connection_options={},
                    keep_going=True,
                )
            except (ConfigurationError, MissingCredentialsError) as exc:
                return SyncResult(provider.name, name, opened.name, error=str(exc))

        if at_once == 1 or len(targets) <= 1:
            return [one(target) for target in targets]
        with ThreadPoolExecutor(max_workers=min(at_once, len(targets))) as pool:
            return list(pool.map(one, targets))
