"""`voice-usage sync`: bring the history store up to date."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click
from rich.table import Table

from voice_usage._engine._accounts import load_accounts
from voice_usage._store._sync import SyncResult, sync_many
from voice_usage.cli._app import (
    DATE,
    EXIT_PROVIDER,
    cli,
    echo_stderr,
    format_option,
    handle_errors,
    registry_from,
)
from voice_usage.cli._render import print_warnings, stdout_console
from voice_usage.cli._sources import account_option, store_option

__all__ = ["sync_command"]


@cli.command("sync")
@click.argument("providers", nargs=-1)
@click.option("--since", type=DATE, default=None, help="Read from this day (a backfill).")
@click.option(
    "--until", type=DATE, default=None, help="Read up to this day, exclusive (default: today)."
)
@click.option(
    "--lookback",
    type=int,
    default=None,
    metavar="DAYS",
    help="Days re-read before the last sync's end (default: each provider's own).",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    default=None,
    metavar="N",
    help="Accounts synced at once (default 4; env VOICE_USAGE_PARALLEL).",
)
@store_option
@account_option
@format_option("table", "json")
@click.pass_context
@handle_errors
def sync_command(
    ctx: click.Context,
    providers: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    lookback: int | None,
    parallel: int | None,
    store: str | None,
    account: str | None,
    output_format: str,
) -> None:
    """Bring the store up to date with PROVIDERS (default: every one with credentials)."""
    results = sync_many(
        providers,
        account=account,
        since=since,
        until=until,
        lookback=lookback,
        store=store,
        registry=registry_from(ctx),
        accounts=load_accounts(),
        parallel=parallel,
    )
    if output_format == "json":
        click.echo(json.dumps({"results": [r.as_dict() for r in results]}, indent=2))
    else:
        _table(results)
    for result in results:
        print_warnings(result.warnings)
    failed = [r for r in results if r.error]
    for result in failed:
        echo_stderr(f"voice-usage: error: {result.error}")  # a vendor's words: never control
    if not results:
        click.echo(
            "voice-usage: warning: nothing to sync: no provider has credentials "
            "(set <NAME>_API_KEY or list accounts in voice-usage.toml)",
            err=True,
        )
    if failed:
        sys.exit(EXIT_PROVIDER)


def _table(results: list[SyncResult]) -> None:
    table = Table(header_style="bold", title=results[0].store if results else None)
    for column, justify in [
        ("provider", "left"),
        ("account", "left"),
        ("new", "right"),
        ("revised", "right"),
        ("unchanged", "right"),
        ("removed", "right"),
        ("range (UTC)", "left"),
        ("requests", "right"),
        ("status", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for result in results:
        span = (
            f"{result.since.date().isoformat()} .. {result.until.date().isoformat()}"
            if result.since and result.until
            else "-"
        )
        table.add_row(
            result.provider,
            result.account or "(default)",
            str(result.new),
            str(result.revised),
            str(result.unchanged),
            str(result.removed),
            span,
            str(result.requests),
            "failed" if result.error else "ok",
        )
    stdout_console().print(table)
