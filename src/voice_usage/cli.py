"""The `voice-usage` command line.

Exit codes: 0 success; 1 a provider or API error (one line on stderr naming the provider and the
cause); 2 bad arguments or set-up. `--debug` shows tracebacks and DEBUG logs (keys never appear).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

import click
from click.exceptions import NoArgsIsHelpError
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from voice_usage._compare import GroupBy, fetch_granularity, group_records
from voice_usage._exceptions import ConfigurationError, ProviderError, VoiceUsageError
from voice_usage._fetch import Connection, FetchResult
from voice_usage._pagination import OUT_OF_RANGE, out_of_range
from voice_usage._plugins import Registry, load_registry
from voice_usage._progress import FetchProgress, counted
from voice_usage._ratecard import load_rate_book, using_rate_book
from voice_usage._schema import Grain, Granularity, UsageQuery, UsageRecord, parse_instant
from voice_usage._serialize import write_csv, write_json, write_jsonl
from voice_usage._version import __version__

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_PROVIDER, EXIT_USAGE = 0, 1, 2


def stderr_console() -> Console:
    """A console for messages on stderr."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    """A console for tables on stdout; wide when piped, so rows do not wrap in files."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console


def fail(message: str, code: int) -> NoReturn:
    """Print one line on stderr and exit."""
    click.echo(f"voice-usage: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn library errors into one line on stderr and the contract's exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except (VoiceUsageError, ValidationError, ValueError) as exc:
            if ctx.find_root().params.get("debug"):
                raise
            if isinstance(exc, ProviderError):
                fail(str(exc), EXIT_PROVIDER)
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                message = first["msg"].removeprefix("Value error, ")
                fail(f"{where}: {message}" if where else message, EXIT_USAGE)
            if isinstance(exc, ConfigurationError | ValueError):
                fail(str(exc), EXIT_USAGE)
            fail(str(exc), EXIT_PROVIDER)
        except OUT_OF_RANGE as exc:  # an absurd figure in the user's input (a records file)
            if ctx.find_root().params.get("debug"):
                raise
            fail(out_of_range(exc, "a figure of the input"), EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


class DateParam(click.ParamType[datetime]):
    """A date or ISO 8601 datetime, UTC unless an offset is given."""

    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value), name=f"--{param.name}" if param else "date")
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateParam()


def registry_from(ctx: click.Context) -> Registry:
    """The provider registry, loaded once per command line."""
    root = ctx.find_root()
    registry = root.meta.get("registry")
    if registry is None:
        registry = root.meta["registry"] = load_registry()
    assert isinstance(registry, Registry)
    return registry


def format_decimal(value: Decimal | None, places: int | None = None) -> str:
    """A Decimal for a table cell: `-` when unknown."""
    if value is None:
        return "-"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = format(value.normalize(), "f") if places is None else format(value, "f")
    return text


def print_records(records: Iterable[UsageRecord], output_format: str, out: Any = None) -> int:
    """Write records in ``output_format`` to stdout; returns how many were written."""
    out = out or sys.stdout
    if output_format == "json":
        return write_json(records, out)
    if output_format == "jsonl":
        return write_jsonl(records, out)
    if output_format == "csv":
        return write_csv(records, out)
    return _records_table(records)


def _records_table(records: Iterable[UsageRecord]) -> int:
    table = Table(show_lines=False, header_style="bold")
    for column, justify in [
        ("provider", "left"),
        ("period (UTC)", "left"),
        ("what", "left"),
        ("calls", "right"),
        ("failed", "right"),
        ("duration s", "right"),
        ("billed min", "right"),
        ("cost", "right"),
        ("source", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    count = 0
    for record in records:
        count += 1
        what = (
            record.call_id
            if record.grain is Grain.EVENT
            else (record.agent_id or record.number_id or record.item)
        )
        period = record.period_start.strftime("%Y-%m-%d %H:%M")
        cost = "-" if record.cost is None else f"{format_decimal(record.cost, 4)} {record.currency}"
        source = record.cost_source.value if record.cost_source else "-"
        if record.approximate:
            source += " (approx.)"
        table.add_row(
            record.provider,
            period,
            str(what or ""),
            "-" if record.calls is None else str(record.calls),
            "-" if record.failed_calls is None else str(record.failed_calls),
            format_decimal(record.duration_seconds),
            format_decimal(record.billed_minutes, 2),
            cost,
            source,
        )
    stdout_console().print(table)
    return count


def print_warnings(warnings: Sequence[str]) -> None:
    """Warnings go to stderr, one a line."""
    for warning in warnings:
        click.echo(f"voice-usage: warning: {warning}", err=True)


class _BadArguments(click.ClickException):
    """A usage error, shown on one line like every other error (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message())
        self.command = error.ctx.command_path if error.ctx is not None else "voice-usage"

    def show(self, file: Any = None) -> None:
        """One line on stderr, with where to find help."""
        click.echo(
            f"voice-usage: error: {self.format_message()} (see '{self.command} --help')",
            err=True,
        )


class _OneLineErrors(click.Group):
    """The command group: bad arguments are one line on stderr and exit 2, not a usage dump."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise  # no arguments at all: click shows the help
        except click.UsageError as error:
            raise _BadArguments(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except click.UsageError as error:
            raise _BadArguments(error) from None


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voice-usage")
@click.option("--debug", is_flag=True, help="Show tracebacks and DEBUG logs (keys never appear).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    envvar="VOICE_USAGE_CONCURRENCY",
    help="Requests in flight at once per provider (default 8; env VOICE_USAGE_CONCURRENCY).",
)
def cli(debug: bool, concurrency: int | None) -> None:
    """What your voice AI minutes cost, across vendors."""
    if concurrency is not None:
        # Every connection a command opens reads its default from here.
        os.environ["VOICE_USAGE_CONCURRENCY"] = str(concurrency)
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)


def format_option(*choices: str) -> Callable[[F], F]:
    """The `--format` option of a command, `table` by default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default="table",
        show_default=True,
        help="Output format.",
    )


@cli.command("providers")
@format_option("table", "json")
@click.pass_context
@handle_errors
def providers_command(ctx: click.Context, output_format: str) -> None:
    """List installed providers, their distribution, version and capabilities."""
    registry = registry_from(ctx)
    rows: list[dict[str, Any]] = []
    for name in registry.names():
        info = registry.providers[name]
        provider = info.provider
        rows.append(
            {
                "name": name,
                "title": provider.title,
                "distribution": info.distribution,
                "version": info.version,
                "auth": provider.auth.description,
                "base_url": provider.default_base_url,
                "env": [f"{provider.env_prefix}_API_KEY", f"{provider.env_prefix}_BASE_URL"],
                "capabilities": provider.capabilities.as_dict(),
            }
        )
    errors = [
        {"name": e.name, "distribution": e.distribution, "error": e.error} for e in registry.errors
    ]
    errors += [
        {
            "name": name,
            "distribution": ", ".join(dists),
            "error": "registered by more than one distribution",
        }
        for name, dists in registry.conflicts.items()
    ]
    if output_format == "json":
        click.echo(json.dumps({"providers": rows, "errors": errors}, indent=2))
    else:
        table = Table(header_style="bold")
        for column in ("name", "distribution", "version", "granularities", "cost", "notes"):
            table.add_column(column)
        for row in rows:
            caps = row["capabilities"]
            table.add_row(
                row["name"],
                row["distribution"],
                row["version"],
                ", ".join(caps["granularities"]) if caps["implemented"] else "not implemented yet",
                "reported" if caps["reports_cost"] else "rate card",
                " ".join(caps["notes"]),
            )
        stdout_console().print(table)
        for error in errors:
            click.echo(
                f"voice-usage: warning: provider {error['name']} ({error['distribution']}) "
                f"failed to load: {error['error']}",
                err=True,
            )


def query_options(func: F) -> F:
    """The `--since/--until/--granularity/--agent/--number` options shared by commands."""
    options = [
        click.option(
            "--since",
            type=DATE,
            required=True,
            help="Start, inclusive (date or ISO 8601, UTC unless offset).",
        ),
        click.option(
            "--until", type=DATE, required=True, help="End, exclusive (date or ISO 8601)."
        ),
        click.option(
            "--granularity",
            type=click.Choice([g.value for g in Granularity]),
            default="day",
            show_default=True,
            help="One record per call, or hour/day/month windows.",
        ),
        click.option("--agent", "agents", multiple=True, help="Only this agent id (repeatable)."),
        click.option(
            "--number", "numbers", multiple=True, help="Only this phone-number id (repeatable)."
        ),
        click.option(
            "--option",
            "extra_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Provider-specific filter (repeatable).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_query(
    since: datetime,
    until: datetime,
    granularity: str,
    agents: Sequence[str],
    numbers: Sequence[str],
    extra_options: Sequence[str],
) -> UsageQuery:
    """A validated query from command-line values."""
    options: dict[str, str] = {}
    for item in extra_options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        options[key] = value
    if until <= since:
        raise click.BadParameter(
            f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})",
            param_hint="--until",
        )
    return UsageQuery(
        since=since,
        until=until,
        granularity=Granularity(granularity),
        agent_ids=tuple(agents),
        number_ids=tuple(numbers),
        options=options,
    )


def stream_result(result: FetchResult, output_format: str, group_by: GroupBy | None = None) -> None:
    """Print a fetch result (grouped when asked), then its warnings.

    While records stream in, a progress line runs on stderr when it is a terminal (for streamed
    formats, only when stdout is not that terminal too).
    """
    provider = result.provider
    progress = FetchProgress([provider])
    if output_format != "table" and sys.stdout.isatty():
        progress.active = False
    with result:
        records: Iterable[UsageRecord] = counted(result, provider, progress)
        if group_by is not None:
            query = result.query
            records = group_records(records, group_by, since=query.since, until=query.until)
        if output_format == "table":
            with progress:  # the table is built whole: stop the spinner before printing it
                records = list(records)
            print_records(records, output_format)
        else:
            with progress:
                print_records(records, output_format)
    print_warnings(result.warnings)


@cli.command("fetch")
@click.argument("provider")
@query_options
@format_option("table", "json", "jsonl", "csv")
@click.option(
    "--group-by",
    type=click.Choice([g.value for g in GroupBy]),
    default=None,
    help="Sum the records into one window per UTC day or month, agent, number, or provider "
    "(overrides --granularity).",
)
@click.pass_context
@handle_errors
def fetch_command(
    ctx: click.Context,
    provider: str,
    since: datetime,
    until: datetime,
    granularity: str,
    agents: tuple[str, ...],
    numbers: tuple[str, ...],
    extra_options: tuple[str, ...],
    output_format: str,
    group_by: str | None,
) -> None:
    """Fetch PROVIDER's usage in [--since, --until) as normalized records."""
    query = build_query(since, until, granularity, agents, numbers, extra_options)
    by = GroupBy(group_by) if group_by else None
    # Rate cards (VOICE_USAGE_RATECARDS) read now: a bad file is an error before any request.
    with (
        using_rate_book(load_rate_book()),
        Connection(provider, registry=registry_from(ctx)) as connection,
    ):
        if by is not None:
            wanted = fetch_granularity(connection.provider, by)
            query = query.model_copy(update={"granularity": wanted})
        stream_result(connection.fetch(query), output_format, by)


def _snapshot_json(snapshot: Any) -> Any:
    if isinstance(snapshot, BaseModel):
        return snapshot.model_dump(mode="json", by_alias=False)
    return snapshot


@cli.command("balance")
@click.argument("provider")
@format_option("table", "json")
@click.pass_context
@handle_errors
def balance_command(ctx: click.Context, provider: str, output_format: str) -> None:
    """Show PROVIDER's account snapshot: credit balance or plan limits."""
    with Connection(provider, registry=registry_from(ctx)) as connection:
        data = _snapshot_json(connection.balance())
    if output_format == "json":
        click.echo(json.dumps(data, indent=2, default=str))
        return
    table = Table(header_style="bold", title=f"{provider} balance")
    table.add_column("field")
    table.add_column("value")
    for key, value in _flatten(data):
        table.add_row(key, "-" if value is None else str(value))
    stdout_console().print(table)


def _flatten(data: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _flatten(value, f"{prefix}{key}.")
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        for index, value in enumerate(data):
            yield from _flatten(value, f"{prefix}{index}.")
    else:
        yield prefix.rstrip("."), data


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `voice-usage` console script."""
    cli.main(args=argv, prog_name="voice-usage")


from voice_usage import _cli_reports  # noqa: E402, F401  (registers compare, reprice, ratecards, demo)
