"""The `report` command: one HTML page with charts, written from one fetch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from voice_usage._analysis._grouping import GroupBy
from voice_usage._exceptions import ConfigurationError
from voice_usage._outputs._report import check_output, report
from voice_usage.cli._app import cli, handle_errors, period_options, ratecards_option, settings_of
from voice_usage.cli._reports import (
    _add_costs,
    _fx,
    _provider_options,
    _targets,
    add_cost_option,
    money_options,
    provider_options_option,
    providers_to_read,
    report_problems,
)
from voice_usage.cli._sources import SourceOptions, source_options

__all__ = ["output_path", "report_command"]


def output_path(path: str | Path) -> Path:
    """The report's output path, checked before anything is fetched (exit 2 when unusable)."""
    try:
        return check_output(path)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--output") from None


@cli.command("report")
@click.argument("providers", nargs=-1)
@period_options
@click.option(
    "--output",
    "output",
    required=True,
    metavar="FILE.html",
    help="Where to write the page (its folder must exist).",
)
@money_options("Show every cost in this ISO 4217 currency.")
@click.option(
    "--group-by",
    type=click.Choice([GroupBy.DAY.value, GroupBy.MONTH.value]),
    default=None,
    help="Chart per day or per month [default: day, or month for periods over 92 days].",
)
@click.option(
    "--reprice-to",
    "reprice_to",
    multiple=True,
    metavar="VENDOR[,VENDOR...]",
    help="Add a table of the traffic priced under these rate cards (PROVIDER or PROVIDER:VARIANT).",
)
@click.option(
    "--reprice-from",
    "reprice_from",
    multiple=True,
    metavar="PROVIDER",
    help="Reprice only this provider's traffic (repeatable; default: all of it).",
)
@provider_options_option
@add_cost_option
@ratecards_option
@source_options
@click.pass_context
@handle_errors
def report_command(
    ctx: click.Context,
    providers: tuple[str, ...],
    since: datetime,
    until: datetime,
    output: str,
    currency: str | None,
    fx_specs: tuple[str, ...],
    group_by: str | None,
    reprice_to: tuple[str, ...],
    reprice_from: tuple[str, ...],
    extra_options: tuple[str, ...],
    add_cost_specs: tuple[str, ...],
    ratecards_file: str | None,
    account: str | None,
    from_store: bool,
    store: str | None,
) -> None:
    """Write one HTML page with charts of PROVIDERs' usage over [--since, --until).

    The page opens offline (no script, nothing loaded from elsewhere) and is the same bytes for
    the same figures: cost, calls and billed minutes per vendor per day (or month), price per
    minute, the like-for-like table, top agents and numbers, and what the figures rest on.
    A provider that fails is named on the page; the others are still shown (exit 1).
    """
    path = output_path(output)
    if until <= since:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    rates = _fx(fx_specs, currency)
    adds = _add_costs(ctx, add_cost_specs)
    settings = settings_of(ctx)
    book = settings.rate_book(ratecards_file)
    with providers_to_read(ctx, providers, SourceOptions(account, from_store, store), book) as read:
        page = report(
            read,
            since,
            until,
            currency=currency,
            fx=rates,
            group_by=group_by,
            reprice_to=_targets(reprice_to) if reprice_to else (),
            reprice_from=reprice_from,
            options=_provider_options(extra_options),
            registry=settings.registry,
            rate_book=book,
            connect=settings.connect,
            add_cost=adds,
            output=path,
            **settings.connect_options(),
        )
    click.echo(str(path))
    report_problems(page.figures.overall)
