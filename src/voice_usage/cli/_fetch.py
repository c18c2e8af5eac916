"""The commands that fetch one provider: `fetch`, `balance` and `export`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.table import Table

from voice_usage._analysis._grouping import GroupBy, fetch_granularity, group_records
from voice_usage._engine._fetch import FetchResult
from voice_usage._exceptions import ProviderError, VoiceUsageError
from voice_usage._outputs._export import (
    focus_metadata,
    focus_warning,
    write_focus_csv,
    write_parquet,
)
from voice_usage._outputs._serialize import write_csv, write_json, write_jsonl
from voice_usage._schema import UsageRecord
from voice_usage.cli._app import (
    build_query,
    cli,
    echo_stderr,
    finest_query_options,
    format_option,
    handle_errors,
    query_options,
    settings_of,
)
from voice_usage.cli._progress import FetchProgress, counted
from voice_usage.cli._render import print_records, print_warnings, stdout_console
from voice_usage.cli._sources import SourceOptions, source_options, sources

__all__ = ["balance_command", "check_output", "export_command", "fetch_command", "stream_result"]


def stream_result(result: FetchResult, output_format: str, group_by: GroupBy | None = None) -> None:
    """Print a fetch result (grouped when asked), then its warnings.

    While records stream in, a progress line runs on stderr when it is a terminal (for streamed
    formats, only when stdout is not that terminal too).
    """
    provider = result.provider
    progress = FetchProgress([provider])
    if output_format != "table" and sys.stdout.isatty():
        progress.active = False
    try:
        _print_result(result, output_format, group_by, progress)
    except VoiceUsageError:
        # What the fetch learnt before failing still says so (a period ending in the future,
        # say): the warnings first, then the error's line.
        print_warnings(result.warnings)
        raise
    print_warnings(result.warnings)


def _print_result(
    result: FetchResult, output_format: str, group_by: GroupBy | None, progress: FetchProgress
) -> None:
    provider = result.provider
    written = [0]
    with result:
        records: Iterable[UsageRecord]
        if group_by is not None:
            query = result.query
            records = counted(result, provider, progress)
            records = group_records(records, group_by, since=query.since, until=query.until)
            records = _tallied(records, written)
        else:  # one layer a record: it counts both what streamed in and what was written
            records = counted(result, provider, progress, taken=written)
        if output_format == "table":
            with progress:  # the table is built whole: stop the spinner before printing it
                records = list(records)
            print_records(records, output_format)
        else:
            try:
                with progress:
                    print_records(records, output_format)
            except ProviderError as exc:
                if written[0]:  # streamed formats keep what they wrote: say it is not all
                    count = written[0]
                    exc.detail += (
                        f"; stdout has the {count} record{'' if count == 1 else 's'} written "
                        "before this error, not the complete result"
                    )
                raise


def _tallied(records: Iterable[UsageRecord], written: list[int]) -> Iterator[UsageRecord]:
    """``records`` unchanged; ``written[0]`` counts those the writer took and came back from."""
    for record in records:
        yield record
        written[0] += 1


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
@source_options
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
    account: str | None,
    from_store: bool,
    store: str | None,
) -> None:
    """Fetch PROVIDER's usage in [--since, --until) as normalized records."""
    query = build_query(since, until, granularity, agents, numbers, extra_options)
    by = GroupBy(group_by) if group_by else None
    # Rate cards (VOICE_USAGE_RATECARDS) read now: a bad file is an error before any request.
    book = settings_of(ctx).rate_book()
    chosen = SourceOptions(account, from_store, store)
    with sources(ctx, [provider], chosen, rate_book=book) as (connection,):
        if by is not None:
            wanted = fetch_granularity(connection.provider, by, query.options)
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
    with settings_of(ctx).connection(provider) as connection:
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


@cli.command("export")
@click.argument("provider")
@finest_query_options
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
@source_options
@click.pass_context
@handle_errors
def export_command(
    ctx: click.Context,
    provider: str,
    since: datetime,
    until: datetime,
    granularity: str | None,
    agents: tuple[str, ...],
    numbers: tuple[str, ...],
    extra_options: tuple[str, ...],
    output: str,
    focus: bool,
    account: str | None,
    from_store: bool,
    store: str | None,
) -> None:
    """Write PROVIDER's records in [--since, --until) to a file for analysis or FinOps tools.

    Without --granularity, the finest the provider reports: one record per call where it can.
    """
    suffix = Path(output).suffix.lower()
    if suffix not in (".csv", ".json", ".jsonl", ".parquet"):
        raise click.BadParameter(
            "the file must end in .csv, .json, .jsonl or .parquet", param_hint="--output"
        )
    if focus and suffix not in (".csv", ".parquet"):
        raise click.BadParameter("--focus writes .csv or .parquet", param_hint="--focus")
    check_output(Path(output))  # before any request: a fetch is not wasted on a bad path
    book = settings_of(ctx).rate_book()
    chosen = SourceOptions(account, from_store, store)
    with (
        sources(ctx, [provider], chosen, rate_book=book) as (connection,),
        _replaced_on_success(Path(output)) as target,
    ):
        query = build_query(since, until, granularity or "call", agents, numbers, extra_options)
        if granularity is None:  # the finest under the query's options (they may change it)
            reported = connection.provider.capabilities.reported(query.options)
            finest = min(reported, key=lambda g: g.rank)
            query = build_query(since, until, finest.value, agents, numbers, extra_options)
        result = connection.fetch(query)
        left_out: dict[str, int] = {}
        with result, FetchProgress([provider]) as progress:
            records = counted(result, provider, progress)
            if suffix == ".parquet":
                count = write_parquet(records, target, focus=focus, left_out=left_out)
            else:
                with target.open("w", encoding="utf-8", newline="") as out:
                    if suffix == ".csv" and focus:
                        count = write_focus_csv(records, out, left_out=left_out)
                    elif suffix == ".csv":
                        count = write_csv(records, out)
                    elif suffix == ".json":
                        count = write_json(records, out)
                    else:
                        count = write_jsonl(records, out)
    if focus and suffix == ".csv":
        # FOCUS wants the schema (and its version) findable without reading the data.
        sidecar = Path(f"{output}.focus-metadata.json")
        sidecar.write_text(json.dumps(focus_metadata(), indent=2) + "\n", encoding="utf-8")
    warnings = list(result.warnings)
    if left_out and (line := focus_warning(left_out)):
        warnings.append(line)
    print_warnings(warnings)
    what = "FOCUS rows" if focus else "records"
    echo_stderr(f"voice-usage: wrote {count} {what} to {output}")


def check_output(path: Path) -> None:
    """Refuse, before any request, an output path that cannot be written.

    Raises:
        click.BadParameter: naming the path and what is wrong with it (exit 2).
    """
    folder = path.parent
    problem = None
    if path.is_dir():
        problem = f"{path} is a folder; name a file inside it"
    elif not folder.is_dir():
        problem = f"the folder {folder} does not exist"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"the folder {folder} is not writable"
    elif path.exists() and not os.access(path, os.W_OK):
        problem = f"{path} is not writable"
    if problem is not None:
        raise click.BadParameter(problem, param_hint="--output")


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
