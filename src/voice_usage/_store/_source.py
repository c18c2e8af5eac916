"""Answering queries from the store instead of the vendor: `StoreSource`, a drop-in `Connection`.

`StoreSource.fetch()` answers a `UsageQuery` with the records a sync stored, rolled up to the
granularity asked, without a single request. It never answers with part of a range: when the
store does not cover all of `[since, until)` it raises `StoreCoverageError` naming the ranges
missing (and how to fill them), so a total is whole or absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any, Self

from voice_usage._engine._fetch import FetchResult
from voice_usage._engine._plan import FetchReport
from voice_usage._engine._plugins import Registry, load_registry
from voice_usage._engine._provider import Provider
from voice_usage._exceptions import ProviderError, UnsupportedQueryError
from voice_usage._rollup import rollup
from voice_usage._schema import Granularity, UsageQuery, UsageRecord
from voice_usage._store._store import Store
from voice_usage._store._sync import Series, sync_series

__all__ = ["StoreCoverageError", "StoreSource"]


class StoreCoverageError(ProviderError):
    """The store does not hold all of the range asked (the CLI exits 1, naming what is missing)."""


def _day_text(instant: datetime) -> str:
    if instant.hour == instant.minute == instant.second == instant.microsecond == 0:
        return instant.date().isoformat()
    return instant.isoformat().replace("+00:00", "Z")


class StoreSource:
    """One provider account's history in a store, answering `fetch()` as a `Connection` does.

    Args:
        provider: A provider name or a `Provider`.
        store: An open `Store` (the caller closes it).
        account: An account name of the accounts file; `None` for the default account.
        registry: Where provider names are looked up.
    """

    def __init__(
        self,
        provider: str | Provider,
        store: Store,
        *,
        account: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        if isinstance(provider, str):
            provider = (registry or load_registry()).get(provider)
        self.provider = provider
        self.store = store
        self.account = account
        self.series = sync_series(provider)

    def __repr__(self) -> str:
        account = f" account {self.account!r}" if self.account else ""
        return f"<StoreSource {self.provider.name!r}{account} {self.store.name}>"

    def _series_for(self, query: UsageQuery) -> Series:
        name = self.provider.name
        matching = [s for s in self.series if s.options == dict(query.options)]
        if not matching:
            kept = ", ".join(s.name for s in self.series) or "nothing"
            raise UnsupportedQueryError(
                name,
                f"the store keeps {kept} for {name}; options "
                f"{', '.join(f'{k}={v}' for k, v in sorted(query.options.items()))} are answered "
                "live only (leave out --from-store)",
            )
        series = matching[0]
        if query.granularity.rank < series.granularity.rank:
            raise UnsupportedQueryError(
                name,
                f"the store keeps {name} per {series.granularity.value}, not per "
                f"{query.granularity.value}",
            )
        return series

    def fetch(
        self,
        since: str | date | datetime | UsageQuery,
        until: str | date | datetime | None = None,
        granularity: str | Granularity = Granularity.DAY,
        **filters: Any,
    ) -> FetchResult:
        """The stored records answering the query, as a `FetchResult` (no request is made).

        Raises:
            StoreCoverageError: when the store does not cover all of `[since, until)`.
            UnsupportedQueryError: for options or a granularity the store does not keep.
        """
        if isinstance(since, UsageQuery):
            query = since
        else:
            if until is None:
                raise TypeError("fetch() needs until= when since is not a UsageQuery")
            query = UsageQuery(since=since, until=until, granularity=granularity, **filters)
        series = self._series_for(query)
        name = self.provider.name
        missing = self.store.gaps(name, self.account, series.name, query.since, query.until)
        if missing:
            ranges = ", ".join(f"[{_day_text(a)}, {_day_text(b)})" for a, b in missing)
            account = f" --account {self.account}" if self.account else ""
            raise StoreCoverageError(
                name,
                f"the store {self.store.name} does not cover {ranges} "
                f"({series.name} records{f', account {self.account}' if self.account else ''}); "
                f"fill it with: voice-usage sync {name}{account} --since "
                f"{missing[0][0].date().isoformat()}",
            )
        records: Iterable[UsageRecord] = self.store.records(
            name, self.account, series.name, query.since, query.until
        )
        if query.agent_ids:
            agents = set(query.agent_ids)
            records = (r for r in records if r.agent_id in agents)
        if query.number_ids:
            numbers = set(query.number_ids)
            records = (r for r in records if r.number_id in numbers)
        if query.granularity.rank > series.granularity.rank:
            records = rollup(records, query.granularity, since=query.since, until=query.until)
        return FetchResult(query, FetchReport(name), _iterate(records))

    def close(self) -> None:
        """Nothing to release: the store belongs to the caller."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _iterate(records: Iterable[UsageRecord]) -> Iterator[UsageRecord]:
    yield from records
