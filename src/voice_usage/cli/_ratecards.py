"""`voice-usage ratecards`: the rate cards in force, shipped and the user's own."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from rich.table import Table

from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._ratecard import Rate, describe_fixed, describe_rate
from voice_usage.cli._app import (
    DATE,
    cli,
    format_option,
    handle_errors,
    ratecards_option,
    settings_of,
)
from voice_usage.cli._render import stdout_console

__all__ = ["ratecards_command"]


@cli.command("ratecards")
@click.argument("providers", nargs=-1)
@click.option("--at", "at", type=DATE, help="Show the cards in force on this date (default: now).")
@click.option("--all", "show_all", is_flag=True, help="Show every price line, past and future too.")
@format_option("table", "json")
@ratecards_option
@click.pass_context
@handle_errors
def ratecards_command(
    ctx: click.Context,
    providers: tuple[str, ...],
    at: datetime | None,
    show_all: bool,
    output_format: str,
    ratecards_file: str | None,
) -> None:
    """Show the rate cards in force: shipped cards plus VOICE_USAGE_RATECARDS and --ratecards."""
    instant = at or datetime.now(UTC)
    book = settings_of(ctx).rate_book(ratecards_file)
    lines: list[Rate] = list(book.rates) if show_all else book.in_force(instant)
    fixed = [f for f in book.fixed if show_all or f.applies_at(instant)]
    if providers:
        unknown = sorted(
            set(providers) - {r.provider for r in book.rates} - {f.provider for f in book.fixed}
        )
        if unknown:
            raise ConfigurationError(
                f"no rate card for {', '.join(unknown)}; cards exist for: "
                + ", ".join(book.providers())
            )
        lines = [r for r in lines if r.provider in providers]
        fixed = [f for f in fixed if f.provider in providers]
    data = [{**describe_rate(r), "origin": book.origin(r)} for r in lines]
    fixed_data = [{**describe_fixed(f), "origin": book.origin(f)} for f in fixed]
    if output_format == "json":
        payload = {
            "at": None if show_all else instant.isoformat(),
            "rates": data,
            "fixed": fixed_data,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    when = "all price lines" if show_all else f"in force on {instant.date().isoformat()}"
    table = Table(header_style="bold", title=f"Rate cards {when}", title_justify="left")
    for name, justify in [
        ("provider", "left"),
        ("item", "left"),
        ("price/min", "right"),
        ("billing", "left"),
        ("minimum", "right"),
        ("effective", "left"),
        ("source (checked)", "left"),
        ("from file", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for rate, row in zip(lines, data, strict=True):
        item = rate.item + (f" [{rate.variant}]" if rate.variant else "")
        until = rate.effective_until.isoformat() if rate.effective_until else "…"
        table.add_row(
            rate.provider,
            item,
            f"{rate.price_per_minute} {rate.currency}",
            rate.increment,
            f"{rate.minimum_charge} {rate.currency}",
            f"{rate.effective_from.isoformat()} → {until}",
            f"{rate.source} ({rate.checked.isoformat()})",
            str(row["origin"] or ""),
        )
    stdout_console().print(table)
    for line in fixed:
        per = "per number" if line.per == "number" else "per account"
        plan = f" on plan {line.variant}" if line.variant else ""
        stdout_console().print(
            f"fixed {line.label}: {line.price_per_month} {line.currency}/month {per}{plan}",
            soft_wrap=True,
            markup=False,
        )
    for rate in lines:
        covered = "everything" if not rate.left_out else ", ".join(rate.covers) or "nothing"
        inferred = f" Inferred, not stated: {', '.join(rate.inferred)}." if rate.inferred else ""
        note = f"{rate.label} covers {covered}. {rate.note or ''}{inferred}"
        stdout_console().print(note.strip(), soft_wrap=True, markup=False)
