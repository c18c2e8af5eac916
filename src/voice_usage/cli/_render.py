"""How the CLI shows results: record tables, comparison tables, JSON/CSV, warnings.

Apart from the commands, so the demo (and anything else that prints what the CLI prints) renders
without building the command line.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import IO, Any

from rich.table import Table

from voice_usage._analysis._comparison import Comparison, ComparisonRow
from voice_usage._outputs._serialize import write_csv, write_json, write_jsonl
from voice_usage._outputs._text import csv_cell
from voice_usage._pricing._ratecard import SHIPPED_ORIGIN, RateBook, default_rate_book
from voice_usage._schema import Grain, UsageRecord
from voice_usage.cli._app import echo_stderr
from voice_usage.cli._console import DataConsole, stderr_console, stdout_console

__all__ = [
    "DataConsole",
    "format_decimal",
    "print_comparison",
    "print_records",
    "print_warnings",
    "stderr_console",
    "stdout_console",
]


def format_decimal(value: Decimal | None, places: int | None = None) -> str:
    """A Decimal for a table cell: `-` when unknown; with ``places``, rounded half-up.

    Exact at any size: a vendor figure of `1e300` passed validation, so the table shows it
    (in full) rather than failing on the 28 digits of Decimal's default context.
    """
    if value is None:
        return "-"
    with localcontext() as context:
        context.prec = max(28, value.adjusted() + (places or 0) + 2)
        if places is None:
            return format(value.normalize(), "f")
        return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


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
        if record.cost_estimate:
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
        echo_stderr(f"voice-usage: warning: {warning}")


def _money(value: Decimal | None, currency: str | None, places: int = 4) -> str:
    if value is None:
        return "-"
    return f"{format_decimal(value, places)} {currency or ''}".strip()


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _source(row: ComparisonRow) -> str:
    if row.cost_source is None:
        return "-"
    text = row.cost_source.replace("_", " ")
    if row.billed_from == "billing":
        text += " (billing)"
    return text


def _stack_lines(row: ComparisonRow) -> list[str]:
    """What a stack row stands for, and its all-in figure or why there is none."""
    lines = list(row.notes)
    if row.cost_covers is not None:
        partly = f", and {', '.join(row.partly_covers)} on part of the calls"
        lines.append(
            f"stack {row.provider} covers: {', '.join(row.cost_covers) or 'nothing'}"
            + (partly if row.partly_covers else "")
        )
    if row.all_in_cost is not None:
        per = _money(row.all_in_per_minute, row.all_in_currency)
        lines.append(
            f"stack {row.provider} all-in: {_money(row.all_in_cost, row.all_in_currency)} "
            f"({per} a minute)"
        )
    return lines


def print_comparison(
    comparison: Comparison,
    output_format: str,
    out: IO[str] | None = None,
    *,
    title: str = "",
    book: RateBook | None = None,
) -> None:
    """Print a comparison (or a repricing) as a table, JSON or CSV, notes included.

    ``book`` is the rate book the comparison was priced with (default: the one in force); the
    footer names the file of each card that came from a user's file.
    """
    out = out or sys.stdout
    if output_format == "json":
        out.write(json.dumps(comparison.to_json(), indent=2))
        out.write("\n")
        return
    if output_format == "csv":
        _comparison_csv(comparison, out)
        return
    _comparison_table(comparison, title=title, book=book or default_rate_book())


_CSV_FIELDS = (
    "provider",
    "group",
    "basis",
    "records",
    "calls",
    "failed_calls",
    "connected_calls",
    "duration_seconds",
    "billed_minutes",
    "cost",
    "currency",
    "cost_source",
    "cost_estimate",
    "converted_cost",
    "converted_currency",
    "cost_per_minute",
    "cost_per_call",
    "unit_currency",
    "billed_from",
    "cost_covers",
    "partly_covers",
    "fixed_cost",
    "fixed",
    "assumed",
    "gaps",
    "all_in_cost",
    "all_in_per_minute",
    "all_in_currency",
    "double_counted",
)


def _csv_cell(value: Any) -> Any:
    """A cell: booleans as true/false, lists of parts comma-separated, objects as JSON."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return value


def _comparison_csv(comparison: Comparison, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_CSV_FIELDS, "rate_cards", "fx"])
    fx = " ".join(rate.label for rate in comparison.fx)
    rows = list(comparison.rows)
    if comparison.total is not None:
        rows.append(comparison.total)
    rows += comparison.stacks
    for row in rows:
        data = row.to_json()
        cells = ["" if data[name] is None else data[name] for name in _CSV_FIELDS]
        cells = [_csv_cell(c) for c in cells] + [" ".join(row.rate_cards), fx]
        writer.writerow([csv_cell(cell) for cell in cells])  # groups are vendor ids: never run


def _comparison_table(comparison: Comparison, *, title: str, book: RateBook) -> None:
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
    every += comparison.stacks
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
            _source(row) + (" ~" if row.cost_estimate and row.cost_source != "approximate" else ""),
        ]
        if row is comparison.total or (comparison.stacks and row is comparison.stacks[0]):
            table.add_section()
        table.add_row(*cells, style="bold" if row is comparison.total else None)
    console.print(table)
    for line in _footer(comparison, book):
        console.print(line, soft_wrap=True)


def _footer(comparison: Comparison, book: RateBook) -> list[str]:
    lines = []
    for rate in comparison.fx:
        lines.append(f"FX: {rate} (--fx {rate.label})")
    cards: dict[str, None] = {}
    for row in comparison.rows:
        cards.update(dict.fromkeys(row.rate_cards))
    if cards:
        lines.append("rate cards: " + ", ".join(_card_shown(label, book) for label in cards))
    lines.extend(comparison.notes)
    for stack in comparison.stacks:
        lines.extend(_stack_lines(stack))
    unknown: dict[tuple[str, str], dict[str, None]] = {}
    for row in [*comparison.rows, *comparison.stacks]:
        for figure, reason in row.unknown.items():
            unknown.setdefault((figure, reason), {})[row.provider] = None
    for (figure, reason), providers in unknown.items():
        lines.append(f"{figure} unknown for {', '.join(providers)}: {reason}")
    return lines


def _card_shown(label: str, book: RateBook) -> str:
    """A rate card's label, and the user file it came from when it is not a shipped card.

    A negotiated price overriding a shipped line keeps the shipped label (`ultravox/call@2025-01-01`):
    without its file, the output could not show that the negotiated price was used.
    """
    rate = book.by_label(label)
    origin = book.origin(rate) if rate is not None else None
    if origin is None or origin.startswith(SHIPPED_ORIGIN):
        return label
    return f"{label} (from {origin})"
