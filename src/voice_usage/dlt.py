"""A dlt source of voice usage: load it into the warehouse you already run (`voice-usage[dlt]`).

::

    import dlt
    from voice_usage.dlt import voice_usage_source

    pipeline = dlt.pipeline("voice_usage", destination="duckdb", dataset_name="usage")
    pipeline.run(voice_usage_source(["flireo", "ultravox"], since="2026-09-01"))

One resource per provider (table `<provider>_usage`), holding what `voice-usage sync` stores:
the provider's finest records, and its billed totals where the vendor keeps them apart, each row
with its `series` and `record_key`. Rows are merged on (`provider`, `account_key`, `series`,
`record_key`), so a re-run replaces rather than duplicates, and are loaded incrementally on
`period_start` with the provider's lookback as dlt's `lag`: each run re-reads the days the
vendor may still correct. Money stays exact: decimals load as decimals; `extras`,
`cost_components` and `cost_covers` load as JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from voice_usage._engine._accounts import AccountsConfig, load_accounts
from voice_usage._engine._fetch import Connection
from voice_usage._engine._plugins import Registry, load_registry
from voice_usage._engine._provider import Provider
from voice_usage._exceptions import ConfigurationError
from voice_usage._optional import require
from voice_usage._schema import parse_instant
from voice_usage._store._rows import record_key
from voice_usage._store._sync import (
    CHUNK_DAYS,
    FIRST_SYNC_DAYS,
    MAX_LOOKBACK_DAYS,
    _midnight,
    sync_series,
)

__all__ = ["PRIMARY_KEY", "usage_rows", "voice_usage_source"]

PRIMARY_KEY = ("provider", "account_key", "series", "record_key")
"""The columns a row is merged on: the store's own key."""

_JSON_COLUMNS = ("extras", "cost_components", "cost_covers")


def usage_rows(
    provider: Provider, *, since: datetime, until: datetime, **connection_options: Any
) -> Iterator[dict[str, Any]]:
    """The rows of one provider account over `[since, until)`, every series, as dlt loads them.

    ``connection_options`` go to `Connection` (``account`` names the account).
    """
    account = connection_options.get("account")
    with Connection(provider, **connection_options) as connection:
        for series in sync_series(provider):
            start = since
            while start < until:
                end = min(start + timedelta(days=CHUNK_DAYS), until)
                for record in connection.fetch(series.query(start, end)):
                    row = record.model_dump()
                    for name in _JSON_COLUMNS:
                        row[name] = record.model_dump(mode="json", include={name})[name]
                    row.update(
                        account_key=account or "",
                        series=series.name,
                        record_key=record_key(record),
                    )
                    yield row
                start = end


def voice_usage_source(
    providers: Sequence[str] = (),
    *,
    account: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    lookback: int | None = None,
    registry: Registry | None = None,
    accounts: AccountsConfig | None = None,
    **connection_options: Any,
) -> Any:
    """A dlt source with one merge resource per provider, loaded incrementally.

    Args:
        providers: Provider names (default: every installed one with a key in the environment).
        account: An account of the accounts file; `None` for each provider's default account.
        since: Where the first load starts (default: 90 days before ``until``).
        until: Where loads stop, exclusive (default: the start of today, UTC).
        lookback: Days re-read before the last load's end (dlt's `lag`); default: the
            provider's `Capabilities.lookback_days`.
        registry: Where provider names are looked up.
        accounts: The accounts file, read (default: `load_accounts()` when ``account`` is set).
        **connection_options: Passed to `Connection` (``api_key``, ``base_url``, ...).
    """
    dlt = require("dlt", "dlt")
    if lookback is not None and not 0 <= lookback <= MAX_LOOKBACK_DAYS:
        raise ConfigurationError(f"lookback must be 0 to {MAX_LOOKBACK_DAYS} days, got {lookback}")
    registry = registry or load_registry()
    names = list(providers) or [
        name
        for name in registry.names()
        if registry.get(name).capabilities.implemented
        and os.environ.get(f"{registry.get(name).env_prefix}_API_KEY")
    ]
    end = _midnight(parse_instant(until, name="until") if until is not None else datetime.now(UTC))
    start = (
        _midnight(parse_instant(since, name="since"))
        if since is not None
        else end - timedelta(days=FIRST_SYNC_DAYS)
    )
    if account is not None:
        accounts = accounts or load_accounts()

    def resource(provider: Provider) -> Any:
        days = provider.capabilities.lookback_days if lookback is None else lookback
        options = dict(connection_options)
        if accounts is not None and account is not None:
            options = {**accounts.get(provider.name, account).connection_options(), **options}

        def rows(
            period_start: Any = dlt.sources.incremental(  # noqa: B008  (dlt declares cursors so)
                "period_start",
                initial_value=start,
                lag=days * 86_400,
                range_start="closed",
                range_end="open",
            ),
        ) -> Iterator[dict[str, Any]]:
            first = _midnight(max(period_start.start_value or start, start))
            yield from usage_rows(provider, since=first, until=end, **options)

        return dlt.resource(
            rows,
            name=f"{provider.name}_usage",
            primary_key=list(PRIMARY_KEY),
            write_disposition="merge",
            columns={name: {"data_type": "json"} for name in _JSON_COLUMNS},
        )

    @dlt.source(name="voice_usage")  # type: ignore[untyped-decorator]
    def source() -> Any:
        return [resource(registry.get(name)) for name in names]

    return source()
