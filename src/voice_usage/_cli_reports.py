"""The report commands of the CLI: `compare`, `reprice`, `ratecards`, `export` and `demo`.

Registered on the `cli` group of `voice_usage.cli` (imported at the end of that module).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO

import click
from rich.table import Table

from voice_usage._compare import Comparison, ComparisonRow, GroupBy, compare, fetch_granularity
from voice_usage._exceptions import ConfigurationError
from voice_usage._fetch import Connection
from voice_usage._fx import FxRates, target_currency
from voice_usage._progress import FetchProgress, counted
from voice_usage._ratecard import Rate, RateBook, load_rate_book, using_rate_book
from voice_usage._reprice import describe_rate, reprice_comparison
from voice_usage._schema import UsageQuery, UsageRecord
from voice_usage._serialize import read_jsonl, write_csv, write_json, write_jsonl
from voice_usage.cli import (
    DATE,
    EXIT_PROVIDER,
    cli,
    format_decimal,
    format_option,
    handle_errors,
    print_warnings,
    registry_from,
    stdout_console,
)

__all__ = [
    "compare_command",
    "demo_command",
    "export_command",
    "print_comparison",
    "ratecards_command",
    "reprice_command",
]

FX_HELP = (
    "Exchange rate FROM:TO=RATE, meaning 1 FROM = RATE TO, e.g. USD:EUR=0.9 (repeatable). "
    "Rates are never guessed: a conversion without its rate is a bad argument (exit 2)."
)
RATECARDS_HELP = (
    "A rate-card TOML file that adds cards or overrides shipped ones (negotiated prices)."
)


@contextmanager
def rate_book_from(path: str | None) -> Iterator[RateBook]:
    """The rate cards for one command: shipped, `VOICE_USAGE_RATECARDS`, then ``path``.

    Read afresh and made the default for the command, so providers pricing their records and
    the command itself use the same cards.
    """
    with using_rate_book(load_rate_book([path] if path else [])) as book:
        yield book


def _fx(specs: Sequence[str], currency: str | None) -> FxRates:
    """The --fx rates, checked with --currency before any request is made."""
    target_currency(currency)
    rates = FxRates.parse(specs)
    if rates and currency is None:
        raise ConfigurationError("--fx converts costs to --currency: give --currency too")
    return rates


def _money(value: Decimal | None, currency: str | None, places: int = 4) -> str:
    if value is None:
        return "-"
    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{format_decimal(shown, places)} {currency or ''}".strip()


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _source(row: ComparisonRow) -> str:
    if row.cost_source is None:
        return "-"
    text = row.cost_source.replace("_", " ")
    if row.billed_from == "billing":
        text += " (billing)"
    return text


# -- compare -----------------------------------------------------------------------------------


def print_comparison(
    comparison: Comparison, output_format: str, out: IO[str] | None = None, *, title: str = ""
) -> None:
    """Print a comparison (or a repricing) as a table, JSON or CSV, notes included."""
    out = out or sys.stdout
    if output_format == "json":
        out.write(json.dumps(comparison.to_json(), indent=2))
        out.write("\n")
        return
    if output_format == "csv":
        _comparison_csv(comparison, out)
        return
    _comparison_table(comparison, title=title)


_CSV_FIELDS = (
    "provider",
    "group",
    "basis",
    "records",
    "calls",
    "failed_calls",
    "duration_seconds",
    "billed_minutes",
    "cost",
    "currency",
    "cost_source",
    "approximate",
    "converted_cost",
    "converted_currency",
    "cost_per_minute",
    "cost_per_call",
    "unit_currency",
    "billed_from",
)


def _comparison_csv(comparison: Comparison, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_CSV_FIELDS, "rate_cards", "fx"])
    fx = " ".join(rate.label for rate in comparison.fx)
    rows = list(comparison.rows)
    if comparison.total is not None:
        rows.append(comparison.total)
    for row in rows:
        data = row.to_json()
        cells = ["" if data[name] is None else data[name] for name in _CSV_FIELDS]
        cells = [str(c).lower() if isinstance(c, bool) else c for c in cells]
        writer.writerow([*cells, " ".join(row.rate_cards), fx])


def _comparison_table(comparison: Comparison, *, title: str) -> None:
    console = stdout_console()
    rows = comparison.rows
    grouped = any(row.group is not None for row in rows)
    repricing = any(row.basis is not None for row in rows)
    target = comparison.currency
    table = Table(header_style="bold", title=title or None, title_justify="left")
    columns: list[tuple[str, str]] = [("provider", "left")]
    if grouped:
        columns.append((comparison.group_by.value, "left"))
    if repricing:
        columns.append(("priced as", "left"))
    columns += [
        ("calls", "right"),
        ("failed", "right"),
        ("duration min", "right"),
        ("billed min", "right"),
        ("cost", "right"),
    ]
    if target:
        columns.append((f"cost {target}", "right"))
    columns += [("per billed min", "right"), ("per call", "right"), ("source", "left")]
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    every = list(rows)
    if comparison.total is not None:
        every.append(comparison.total)
    for row in every:
        cells = [row.provider]
        if grouped:
            cells.append(row.group or "-")
        if repricing:
            cells.append(row.basis or "")
        duration = None if row.duration_seconds is None else row.duration_seconds / 60
        cost = _money(row.cost, row.currency)
        if row.cost is None and len(row.costs) > 1:
            cost = " + ".join(_money(a, c) for c, a in sorted(row.costs.items()))
        cells += [
            _count(row.calls),
            _count(row.failed_calls),
            format_decimal(duration, 1),
            format_decimal(row.billed_minutes, 2),
            cost,
        ]
        if target:
            cells.append(_money(row.converted_cost, target))
        cells += [
            _money(row.cost_per_minute, row.unit_currency),
            _money(row.cost_per_call, row.unit_currency),
            _source(row) + (" ~" if row.approximate and row.cost_source != "approximate" else ""),
        ]
        if row is comparison.total:
            table.add_section()
        table.add_row(*cells, style="bold" if row is comparison.total else None)
    console.print(table)
    for line in _footer(comparison):
        console.print(line, soft_wrap=True)


def _footer(comparison: Comparison) -> list[str]:
    lines = []
    for rate in comparison.fx:
        lines.append(f"FX: {rate} (--fx {rate.label})")
    cards: dict[str, None] = {}
    for row in comparison.rows:
        cards.update(dict.fromkeys(row.rate_cards))
    if cards:
        lines.append("rate cards: " + ", ".join(cards))
    lines.extend(comparison.notes)
    unknown: dict[tuple[str, str], dict[str, None]] = {}
    for row in comparison.rows:
        for figure, reason in row.unknown.items():
            unknown.setdefault((figure, reason), {})[row.provider] = None
    for (figure, reason), providers in unknown.items():
        lines.append(f"{figure} unknown for {', '.join(providers)}: {reason}")
    return lines


def report_problems(comparison: Comparison) -> None:
    """Skipped providers, warnings and failures on stderr; exit 1 when a provider failed."""
    for skipped in comparison.skipped:
        click.echo(f"voice-usage: skipped {skipped.provider}: {skipped.reason}", err=True)
    print_warnings(comparison.warnings)
    for error in comparison.errors:
        click.echo(f"voice-usage: error: {error.message}", err=True)
    if comparison.errors:
        sys.exit(EXIT_PROVIDER)


@cli.command("compare")
@click.argument("providers", nargs=-1)
@click.option("--since", type=DATE, required=True, help="Start, inclusive (date or ISO 8601).")
@click.option("--until", type=DATE, required=True, help="End, exclusive (date or ISO 8601).")
@click.option("--currency", metavar="CODE", help="Also show every cost in this ISO 4217 currency.")
@click.option("--fx", "fx_specs", multiple=True, metavar="FROM:TO=RATE", help=FX_HELP)
@click.option(
    "--group-by",
    type=click.Choice([g.value for g in GroupBy]),
    default="provider",
    show_default=True,
    help="One row per provider, or per provider and UTC day, month, agent or number.",
)
@format_option("table", "json", "csv")
@click.option(
    "--option",
    "extra_options",
    multiple=True,
    metavar="PROVIDER:KEY=VALUE",
    help="A provider-specific query option for one provider (repeatable).",
)
@click.option("--ratecards", "ratecards_file", type=click.Path(dir_okay=False), help=RATECARDS_HELP)
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
    ratecards_file: str | None,
) -> None:
    """Compare PROVIDERs over [--since, --until): calls, minutes and cost side by side.

    With no PROVIDER, every installed provider whose <NAME>_API_KEY is set (the others are named
    on stderr). Providers are fetched concurrently; one that fails is reported and the others
    are still shown (exit 1).
    """
    rates = _fx(fx_specs, currency)
    with rate_book_from(ratecards_file), FetchProgress(list(providers)) as progress:
        comparison = compare(
            providers,
            since,
            until,
            currency=currency,
            fx=rates,
            group_by=group_by,
            options=_provider_options(extra_options),
            registry=registry_from(ctx),
            progress=progress.update,
        )
    title = f"Usage {_day(since)} → {_day(until)} (UTC)"
    print_comparison(comparison, output_format, title=title)
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


# -- reprice -----------------------------------------------------------------------------------


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
@click.option("--currency", metavar="CODE", help="Also show every cost in this ISO 4217 currency.")
@click.option("--fx", "fx_specs", multiple=True, metavar="FROM:TO=RATE", help=FX_HELP)
@format_option("table", "json", "csv")
@click.option("--ratecards", "ratecards_file", type=click.Path(dir_okay=False), help=RATECARDS_HELP)
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
    ratecards_file: str | None,
) -> None:
    """Price PROVIDER's traffic in [--since, --until) under other vendors' rate cards.

    Calls are rounded and charged one by one with each card's billing increment and minimum
    charge. Windows without per-call durations are priced on their minutes and marked
    approximate. The first row is what the traffic cost where it ran.
    """
    names = _targets(targets)
    rates = _fx(fx_specs, currency)
    if since is not None and until is not None and until <= since:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    with rate_book_from(ratecards_file) as book:
        if input_path is not None:
            records = _records_from_file(input_path, provider, since, until)
            comparison = reprice_comparison(
                records, names, since=since, until=until, currency=currency, fx=rates, book=book
            )
            warnings: list[str] = []
        else:
            if provider is None or since is None or until is None:
                raise click.UsageError("give PROVIDER, --since and --until, or --input FILE")
            comparison, warnings = _reprice_fetched(
                ctx, provider, since, until, names, currency, rates, book
            )
    label = provider or "the input"
    period = f" {_day(comparison.since)} → {_day(comparison.until)} (UTC)" if since else ""
    print_comparison(comparison, output_format, title=f"{label} repriced{period}")
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
) -> tuple[Comparison, list[str]]:
    with Connection(provider, registry=registry_from(ctx)) as connection:
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
            )
        return comparison, list(result.warnings)


# -- ratecards ---------------------------------------------------------------------------------


@cli.command("ratecards")
@click.argument("providers", nargs=-1)
@click.option("--at", "at", type=DATE, help="Show the cards in force on this date (default: now).")
@click.option("--all", "show_all", is_flag=True, help="Show every price line, past and future too.")
@format_option("table", "json")
@click.option("--ratecards", "ratecards_file", type=click.Path(dir_okay=False), help=RATECARDS_HELP)
@handle_errors
def ratecards_command(
    providers: tuple[str, ...],
    at: datetime | None,
    show_all: bool,
    output_format: str,
    ratecards_file: str | None,
) -> None:
    """Show the rate cards in force: shipped cards plus VOICE_USAGE_RATECARDS and --ratecards."""
    instant = at or datetime.now(UTC)
    with rate_book_from(ratecards_file) as book:
        lines: list[Rate] = list(book.rates) if show_all else book.in_force(instant)
        if providers:
            unknown = sorted(set(providers) - {r.provider for r in book.rates})
            if unknown:
                raise ConfigurationError(
                    f"no rate card for {', '.join(unknown)}; cards exist for: "
                    + ", ".join(book.providers())
                )
            lines = [r for r in lines if r.provider in providers]
        data = [{**describe_rate(r), "origin": book.origin(r)} for r in lines]
    if output_format == "json":
        payload = {"at": None if show_all else instant.isoformat(), "rates": data}
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
    notes = [f"{r.label}: {r.note}" for r in lines if r.note]
    for note in notes:
        stdout_console().print(note, soft_wrap=True)


# -- export ------------------------------------------------------------------------------------


@cli.command("export")
@click.argument("provider")
@click.option("--since", type=DATE, required=True, help="Start, inclusive (date or ISO 8601).")
@click.option("--until", type=DATE, required=True, help="End, exclusive (date or ISO 8601).")
@click.option(
    "--output",
    "output",
    required=True,
    metavar="PATH",
    help="File to write; its suffix picks the format: .csv, .json, .jsonl or .parquet.",
)
@click.option(
    "--focus",
    is_flag=True,
    help="FinOps FOCUS columns (BilledCost, ChargePeriodStart, ...) instead of the "
    "record fields (.csv and .parquet).",
)
@click.option(
    "--granularity",
    type=click.Choice(["call", "hour", "day", "month"]),
    default="call",
    show_default=True,
)
@click.pass_context
@handle_errors
def export_command(
    ctx: click.Context,
    provider: str,
    since: datetime,
    until: datetime,
    output: str,
    focus: bool,
    granularity: str,
) -> None:
    """Write PROVIDER's records in [--since, --until) to a file for analysis or FinOps tools."""
    from voice_usage._export import write_focus_csv, write_parquet

    suffix = Path(output).suffix.lower()
    if suffix not in (".csv", ".json", ".jsonl", ".parquet"):
        raise click.BadParameter(
            "the file must end in .csv, .json, .jsonl or .parquet", param_hint="--output"
        )
    if focus and suffix not in (".csv", ".parquet"):
        raise click.BadParameter("--focus writes .csv or .parquet", param_hint="--focus")
    with (
        Connection(provider, registry=registry_from(ctx)) as connection,
        _replaced_on_success(Path(output)) as target,
    ):
        result = connection.fetch(since, until, granularity)
        with result, FetchProgress([provider]) as progress:
            records = counted(result, provider, progress)
            if suffix == ".parquet":
                count = write_parquet(records, target, focus=focus)
            else:
                with target.open("w", encoding="utf-8", newline="") as out:
                    if suffix == ".csv":
                        count = write_focus_csv(records, out) if focus else write_csv(records, out)
                    elif suffix == ".json":
                        count = write_json(records, out)
                    else:
                        count = write_jsonl(records, out)
    print_warnings(result.warnings)
    click.echo(f"voice-usage: wrote {count} records to {output}", err=True)


@contextmanager
def _replaced_on_success(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` that replaces it only when the block succeeds.

    An export whose fetch fails must not leave a partial file that looks complete.
    """
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# -- demo --------------------------------------------------------------------------------------


@cli.command("demo")
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 90),
    help="How many days back from today to cover.",
)
@handle_errors
def demo_command(days: int) -> None:
    """Run the whole job against the bundled vendor emulators on loopback: no account needed.

    Starts a local emulator of each vendor's API, then fetches, compares and reprices the last
    --days days, printing each table with the command that makes it against real accounts.
    """
    from voice_usage._demo import run_demo

    run_demo(days=days, console=stdout_console())
