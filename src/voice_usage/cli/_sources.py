"""Where a command reads usage from: a provider account's API, or the history store.

`--account NAME` picks an account of the accounts file (`voice-usage.toml`); `--from-store`
answers from the store (`--store URL`, else `VOICE_USAGE_STORE`) without a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from voice_usage._engine._accounts import load_accounts
from voice_usage._engine._fetch import Connection
from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._ratecard import RateBook
from voice_usage._store._source import StoreSource
from voice_usage._store._store import Store, open_store
from voice_usage.cli._app import settings_of

__all__ = ["SourceOptions", "source_options", "sources"]

F = TypeVar("F", bound=Callable[..., Any])

STORE_HELP = (
    "The store: a path, sqlite:///path or postgresql://... (default: VOICE_USAGE_STORE, else "
    "usage.sqlite3 in the user data folder)."
)


def store_option(func: F) -> F:
    """The `--store URL` option."""
    return click.option("--store", metavar="URL", default=None, help=STORE_HELP)(func)


def account_option(func: F) -> F:
    """The `--account NAME` option."""
    return click.option(
        "--account",
        default=None,
        metavar="NAME",
        help="An account of the accounts file (voice-usage.toml, or VOICE_USAGE_CONFIG).",
    )(func)


def source_options(func: F) -> F:
    """`--account`, `--from-store` and `--store`: where a command reads usage from."""
    func = store_option(func)
    func = click.option(
        "--from-store",
        is_flag=True,
        help="Answer from the history store (see 'voice-usage sync'), without a request.",
    )(func)
    return account_option(func)


@dataclass(frozen=True)
class SourceOptions:
    """The values of `source_options`."""

    account: str | None = None
    from_store: bool = False
    store: str | None = None


@contextmanager
def sources(
    ctx: click.Context,
    providers: Sequence[str],
    chosen: SourceOptions,
    *,
    rate_book: RateBook | None = None,
) -> Iterator[list[Connection | StoreSource]]:
    """Open one source per provider; closed on exit.

    With no provider named: every provider the store holds (from the store), or every one with
    the account in the accounts file (with `--account`); otherwise none.

    Live connections are opened by the command line's `Settings` (tests pass theirs), and price
    with ``rate_book``.

    Raises:
        ConfigurationError: for an account the accounts file does not list.
        StoreError: when the store cannot be opened.
    """
    settings = settings_of(ctx)
    registry = settings.registry
    if chosen.store is not None and not chosen.from_store:
        raise ConfigurationError("--store is for --from-store here (or 'voice-usage sync')")
    accounts = load_accounts() if chosen.account is not None else None
    with ExitStack() as stack:
        if chosen.from_store:
            store: Store = stack.enter_context(open_store(chosen.store, create=False))
            names = list(providers) or store.providers(chosen.account)
            if not names:
                raise ConfigurationError(
                    f"store {store.name}: holds no synced usage"
                    f"{f' for account {chosen.account}' if chosen.account else ''}; "
                    "run 'voice-usage sync' first"
                )
            if accounts is not None and chosen.account is not None:
                for name in names:
                    accounts.get(registry.get(name).name, chosen.account)
            yield [StoreSource(n, store, account=chosen.account, registry=registry) for n in names]
            return
        opened: list[Connection | StoreSource] = []
        names = list(providers)
        if not names and accounts is not None:
            names = [a.provider for a in accounts.accounts if a.name == chosen.account]
        for name in names:
            options: dict[str, Any] = {}
            if accounts is not None and chosen.account is not None:
                options = accounts.get(registry.get(name).name, chosen.account).connection_options()
            options.setdefault("concurrency", settings.in_flight())
            connection = settings.connect(name, registry=registry, rate_book=rate_book, **options)
            opened.append(stack.enter_context(connection))
        yield opened
