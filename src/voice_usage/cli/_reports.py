"""The report commands: `compare` (providers side by side) and `reprice` (other vendors' cards)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from voice_usage._analysis._compare import compare
from voice_usage._analysis._comparison import Comparison
from voice_usage._analysis._grouping import GroupBy, fetch_granularity
from voice_usage._analysis._reprice import reprice_comparison
from voice_usage._exceptions import ConfigurationError
from voice_usage._outputs._serialize import read_jsonl
from voice_usage._pricing._allin import AddCost, parse_add_costs
from voice_usage._pricing._fx import FxRates, target_currency
from voice_usage._pricing._ratecard import RateBook
from voice_usage._schema import UsageQuery, UsageRecord
from voice_usage.cli._app import (
    DATE,
    EXIT_PROVIDER,
    F,
    cli,
    echo_stderr,
    format_option,
    handle_errors,
    period_options,
    ratecards_option,
    settings_of,
)
from voice_usage.cli._progress import FetchProgress, counted
from voice_usage.cli._render import print_comparison, print_warnings
from voice_usage.cli._sources import SourceOptions, source_options, sources

if TYPE_CHECKING:
    from voice_usage._engine._fetch import Connection
    from voice_usage._store._source import StoreSource

__all__ = ["compare_command", "report_problems", "reprice_command"]


ALSO_IN_CURRENCY = "Also show every cost in this ISO 4217 currency."

FX_HELP = (
    "Exchange rate FROM:TO=RATE, meaning 1 FROM = RATE TO, e.g. USD:EUR=0.9 (repeatable). "
    "Rates are never guessed: a conversion without its rate is a bad argument (exit 2)."
)


def money_options(currency_help: str) -> Callable[[F], F]:
    """`--currency CODE` (with its own help) and `--fx FROM:TO=RATE`."""

    def decorate(func: F) -> F:
        func = click.option(
            "--fx", "fx_specs", multiple=True, metavar="FROM:TO=RATE", help=FX_HELP
        )(func)
        return click.option("--currency", metavar="CODE", help=currency_help)(func)

    return decorate


def provider_options_option(func: F) -> F:
    """`--option PROVIDER:KEY=VALUE`: a query option for one of several providers."""
    return click.option(
        "--option",
        "extra_options",
        multiple=True,
        metavar="PROVIDER:KEY=VALUE",
        help="A provider-specific query option for one provider (repeatable).",
    )(func)


def _fx(specs: Sequence[str], currency: str | None) -> FxRates:
    """The --fx rates, checked with --currency before any request is made."""
    target_currency(currency)
    rates = FxRates.parse(specs)
    if rates and currency is None:
        raise ConfigurationError("--fx converts costs to --currency: give --currency too")
    return rates


ADD_COST_HELP = (
    "Price a part of a call that a row's cost does not cover, per minute of measured duration: "
    "COMPONENT=CUR:PRICE for every row without it, PROVIDER.COMPONENT=CUR:PRICE for one "
    "provider's (components: platform, telephony, stt, llm, tts; repeatable). Rows whose cost "
    "covers the part are never charged it; every assumption is named in the output."
)


def add_cost_option(func: F) -> F:
    """`--add-cost [PROVIDER.]COMPONENT=CUR:PRICE`: a price for a part a row's cost leaves out."""
    return click.option(
        "--add-cost",
        "add_cost_specs",
        multiple=True,
        metavar="[PROVIDER.]COMPONENT=CUR:PRICE",
        help=ADD_COST_HELP,
    )(func)


def _add_costs(ctx: click.Context, specs: Sequence[str]) -> tuple[AddCost, ...]:
    """The --add-cost values, checked against the installed providers before any request."""
    if not specs:
        return ()
    return parse_add_costs(specs, settings_of(ctx).registry.names())


@contextmanager
def providers_to_read(
    ctx: click.Context,
    providers: tuple[str, ...],
    chosen: SourceOptions,
    book: RateBook,
) -> Iterator[Sequence[str | Connection | StoreSource]]:
    """The providers named, or with `--account` or `--from-store` their open sources.

    The sources are closed on exit; named providers are opened by the library itself.
    """
    if not (chosen.account or chosen.from_store):
        yield providers
        return
    with sources(ctx, providers, chosen, rate_book=book) as opened:
        yield opened


def report_problems(comparison: Comparison) -> None:
    """Skipped providers, warnings and failures on stderr; exit 1 when a provider failed."""
    for skipped in comparison.skipped:
        echo_stderr(f"voice-usage: skipped {skipped.provider}: {skipped.reason}")
    print_warnings(comparison.warnings)
    for error in comparison.errors:
        echo_stderr(f"voice-usage: error: {error.message}")
    if comparison.errors:
        sys.exit(EXIT_PROVIDER)


@cli.command("compare")
@click.argument("providers", nargs=-1)
@period_options
@money_options(ALSO_IN_CURRENCY)
@click.option(
    "--group-by",
    type=click.Choice([g.value for g in GroupBy]),
    default="provider",
    show_default=True,
    help="One row per provider, or per provider and UTC day, month, agent or number.",
)
@format_option("table", "json", "csv")
@provider_options_option
@add_cost_option
@click.option(
    "--stack",
    "stacks",
    multiple=True,
    metavar="PROVIDER+PROVIDER",
    help="Also show these vendors as one stack serving the same calls (e.g. ultravox+twilio): "
    "their costs summed, what they cover united (repeatable).",
)
@ratecards_option
@source_options
@click.pass_context
@handle_errors
def compare_command(
    ctx: click.Context,
    providers: tuple[str, ...],
    since: datetime,
    until: datetime,
    currency: str | None,
    fx_specs: tuple[str, ...],
    group_by: str,
    output_format: str,
    extra_options: tuple[str, ...],
    add_cost_specs: tuple[str, ...],
    stacks: tuple[str, ...],
    ratecards_file: str | None,
    account: str | None,
    from_store: bool,
    store: str | None,
) -> None:
    """Compare PROVIDERs over [--since, --until): calls, minutes and cost side by side.

    With no PROVIDER, every installed provider whose <NAME>_API_KEY is set (the others are named
    on stderr). Providers are fetched concurrently; one that fails is reported and the others
    are still shown (exit 1).
    """
    rates = _fx(fx_specs, currency)
    adds = _add_costs(ctx, add_cost_specs)
    settings = settings_of(ctx)
    book = settings.rate_book(ratecards_file)
    chosen = SourceOptions(account, from_store, store)
    with (
        providers_to_read(ctx, providers, chosen, book) as read,
        FetchProgress(list(providers)) as progress,
    ):
        comparison = compare(
            read,
            since,
            until,
            currency=currency,
            fx=rates,
            group_by=group_by,
            options=_provider_options(extra_options),
            registry=settings.registry,
            rate_book=book,
            connect=settings.connect,
            progress=progress.update,
            **settings.connect_options(),
            add_cost=adds,
            stacks=stacks,
        )
    title = f"Usage {_day(since)} → {_day(until)} (UTC)"
    print_comparison(comparison, output_format, title=title, book=book)
    report_problems(comparison)


def _provider_options(values: Sequence[str]) -> dict[str, dict[str, str]]:
    options: dict[str, dict[str, str]] = {}
    for value in values:
        provider, colon, rest = value.partition(":")
        key, equals, setting = rest.partition("=")
        if not (provider and colon and key and equals):
            raise click.BadParameter(
                f"expected PROVIDER:KEY=VALUE, got {value!r}", param_hint="--option"
            )
        options.setdefault(provider, {})[key] = setting
    return options


def _day(instant: datetime) -> str:
    text = instant.isoformat().replace("+00:00", "Z")
    return text.removesuffix("T00:00:00Z")


def _targets(values: Sequence[str]) -> list[str]:
    targets = [t.strip() for value in values for t in value.split(",") if t.strip()]
    if not targets:
        raise click.UsageError("name the rate cards to price under: --to VENDOR[,VENDOR...]")
    return targets


def _records_from_file(
    path: str, provider: str | None, since: datetime | None, until: datetime | None
) -> Iterator[UsageRecord]:
    if path == "-":
        lines: Iterable[str] = sys.stdin
        records = read_jsonl(lines, origin="stdin")
        yield from _filtered(records, provider, since, until)
        return
    try:
        handle = Path(path).open(encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        yield from _filtered(read_jsonl(handle, origin=path), provider, since, until)


def _filtered(
    records: Iterable[UsageRecord],
    provider: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[UsageRecord]:
    for record in records:
        if provider is not None and record.provider != provider:
            continue
        if since is not None and record.period_start < since:
            continue
        if until is not None and record.period_start >= until:
            continue
        yield record


@cli.command("reprice")
@click.argument("provider", required=False)
@click.option(
    "--to",
    "targets",
    multiple=True,
    required=True,
    metavar="VENDOR[,VENDOR...]",
    help="Rate cards to price under: vendor names, or vendor:variant "
    "(agentphone:hosted); comma-separated or repeated.",
)
@click.option("--since", type=DATE, help="Start, inclusive (required unless --input).")
@click.option("--until", type=DATE, help="End, exclusive (required unless --input).")
@click.option(
    "--input",
    "input_path",
    metavar="FILE",
    help="Reprice records from a JSON Lines file (as written by fetch --format jsonl; "
    "'-' for stdin) instead of fetching.",
)
@money_options(ALSO_IN_CURRENCY)
@format_option("table", "json", "csv")
@add_cost_option
@ratecards_option
@source_options
@click.pass_context
@handle_errors
def reprice_command(
    ctx: click.Context,
    provider: str | None,
    targets: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    input_path: str | None,
    currency: str | None,
    fx_specs: tuple[str, ...],
    output_format: str,
    add_cost_specs: tuple[str, ...],
    ratecards_file: str | None,
    account: str | None,
    from_store: bool,
    store: str | None,
) -> None:
    """Price PROVIDER's traffic in [--since, --until) under other vendors' rate cards.

    Calls are rounded and charged one by one with each card's billing increment and minimum
    charge. Windows without per-call durations are priced on their minutes and marked
    approximate. The first row is what the traffic cost where it ran.
    """
    names = _targets(targets)
    rates = _fx(fx_specs, currency)
    adds = _add_costs(ctx, add_cost_specs)
    if since is not None and until is not None and until <= since:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    book = settings_of(ctx).rate_book(ratecards_file)
    if input_path is not None:
        records = _records_from_file(input_path, provider, since, until)
        comparison = reprice_comparison(
            records,
            names,
            since=since,
            until=until,
            currency=currency,
            fx=rates,
            book=book,
            add_cost=adds,
        )
        warnings: list[str] = []
    else:
        if provider is None or since is None or until is None:
            raise click.UsageError("give PROVIDER, --since and --until, or --input FILE")
        chosen = SourceOptions(account, from_store, store)
        comparison, warnings = _reprice_fetched(
            ctx, provider, since, until, names, currency, rates, book, chosen, adds
        )
    label = provider or "the input"
    period = f" {_day(comparison.since)} → {_day(comparison.until)} (UTC)" if since else ""
    print_comparison(comparison, output_format, title=f"{label} repriced{period}", book=book)
    print_warnings(warnings)


def _reprice_fetched(
    ctx: click.Context,
    provider: str,
    since: datetime,
    until: datetime,
    targets: Sequence[str],
    currency: str | None,
    rates: FxRates,
    book: RateBook,
    chosen: SourceOptions,
    adds: Sequence[AddCost] = (),
) -> tuple[Comparison, list[str]]:
    with sources(ctx, [provider], chosen, rate_book=book) as (connection,):
        query = UsageQuery(
            since=since,
            until=until,
            granularity=fetch_granularity(connection.provider, GroupBy.AGENT),
        )
        result = connection.fetch(query)
        with result, FetchProgress([provider]) as progress:
            comparison = reprice_comparison(
                counted(result, provider, progress),
                targets,
                since=since,
                until=until,
                currency=currency,
                fx=rates,
                book=book,
                add_cost=adds,
            )
        return comparison, list(result.warnings)
