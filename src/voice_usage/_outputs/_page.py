"""The report page: the figures it shows, taken from comparisons and records, and its HTML.

`ReportFigures` holds what the page is made from: `compare`'s rows for the whole period, per day
(or month), per agent and per number, the records' cost splits, and everything the figures rest
on. `render_page()` lays it out as one self-contained HTML document: inline SVG charts
(`_charts`), the exact figures beneath each one as a table, a small stylesheet for screens,
phones and print, and no script, no external resource, no timestamp. The same figures always
give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from voice_usage._analysis._allin import assumption_line, covers_line, gap_line
from voice_usage._analysis._comparison import Comparison, ComparisonRow, ProviderFailure
from voice_usage._analysis._grouping import GroupBy
from voice_usage._engine._plan import Reconciliation
from voice_usage._outputs._charts import PALETTE, Chart, ChartKind, Series, render_svg
from voice_usage._pricing._ratecard import COST_QUANTUM, Rate
from voice_usage._rollup import bucket
from voice_usage._schema import Granularity, format_instant

__all__ = ["PageChart", "ReportFigures", "bucket_keys", "page_charts", "render_page"]

TOP = 10
"""How many agents and numbers the top tables show."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LIKE_FOR_LIKE = ("cost_covers", "fixed_cost", "assumed", "all_in_cost", "all_in_per_minute")

ComponentKey = tuple[str, str]
"""`(provider, bucket)`: a day (`2026-11-03`) or a month (`2026-11`)."""


@dataclass
class ReportFigures:
    """Everything the page shows; built by `voice_usage.report()` or by hand in tests."""

    overall: Comparison
    """`compare`'s rows for the whole period, one per provider."""
    timeline: Comparison
    """`compare`'s rows per provider and day (or month): the charts' figures."""
    agents: Comparison | None = None
    numbers: Comparison | None = None
    repricing: Comparison | None = None
    components: Mapping[ComponentKey, Mapping[str, Decimal]] = field(default_factory=dict)
    """Per provider and bucket, the cost split by line item in the row's own currency, where
    every costed record of that bucket gave its split (summing exactly to the row's cost)."""
    covers: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    """Per provider, the parts of a call every costed record's cost covers (`None`: not known)."""
    reconciliations: Mapping[str, Sequence[Reconciliation]] = field(default_factory=dict)
    """Per provider, the checks of the records against the vendor's own totals."""
    rates: Sequence[Rate] = ()
    """The rate-card lines that priced any record in the report."""
    missing_ranges: Sequence[str] = ()
    """Ranges the history store does not cover (reports from the store only)."""
    source: str = "fetched from the vendors' APIs"
    """Where the records came from, in words."""
    title: str = "Voice usage report"

    @property
    def errors(self) -> list[ProviderFailure]:
        """The providers that failed, once each."""
        seen: dict[str, ProviderFailure] = {}
        for comparison in (self.overall, self.timeline, self.agents, self.numbers):
            for failure in comparison.errors if comparison is not None else ():
                seen.setdefault(failure.provider, failure)
        return list(seen.values())


# -- figures -----------------------------------------------------------------------------------


def bucket_keys(since: datetime, until: datetime, by: GroupBy) -> list[str]:
    """Every UTC day (`2026-11-03`) or month (`2026-11`) that `[since, until)` touches, in order."""
    granularity = Granularity.DAY if by is GroupBy.DAY else Granularity.MONTH
    keys: list[str] = []
    start, end = bucket(since, granularity)
    while start < until:
        keys.append(start.date().isoformat() if by is GroupBy.DAY else start.strftime("%Y-%m"))
        start, end = bucket(end, granularity)
    return keys


def _short(key: str) -> str:
    """A short axis label: `Nov 3` for a day, `Nov 2026` for a month."""
    parts = key.split("-")
    month = _MONTHS[int(parts[1]) - 1]
    return f"{month} {int(parts[2])}" if len(parts) == 3 else f"{month} {parts[0]}"


def _cost(row: ComparisonRow, currency: str | None) -> Decimal | None:
    """The row's cost in the page's currency (converted when the page has one)."""
    if currency is not None:
        return row.converted_cost
    return row.cost


def _row_currency(row: ComparisonRow, currency: str | None) -> str | None:
    return currency if currency is not None else row.currency


def _providers(comparison: Comparison) -> list[str]:
    return list(dict.fromkeys(row.provider for row in comparison.rows))


def _charted(figures: ReportFigures) -> list[str]:
    """The providers the charts show: every one that answered, even with nothing in the period."""
    return list(dict.fromkeys([*_providers(figures.overall), *_providers(figures.timeline)]))


@dataclass(frozen=True)
class PageChart:
    """A chart and the table of its exact figures."""

    chart: Chart
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    notes: Sequence[str] = ()
    """Why some figures are unknown, and how to read the chart."""


def _unit(value: Decimal | None, currency: str | None) -> str:
    if value is None:
        return "unknown"
    return f"{money(value)} {currency}" if currency else money(value)


def money(value: Decimal) -> str:
    """A money figure in full (to the millionth the project computes), at least two decimals."""
    text = format(value.normalize(), "f")
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}.{fraction.ljust(2, '0')}"


def count(value: Decimal | int | None) -> str:
    """A count or a quantity to the millionth the project computes, `unknown` when unknown."""
    if value is None:
        return "unknown"
    exact = Decimal(value)
    if exact.as_tuple().exponent < -6:  # type: ignore[operator]
        exact = exact.quantize(COST_QUANTUM, ROUND_HALF_UP)  # 978.8333... min from 58730 s / 60
    text = format(exact.normalize(), "f")
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


def _bucket_cost(row: ComparisonRow | None, currency: str | None) -> Decimal | None:
    """A bucket's cost; a bucket without records cost nothing."""
    return Decimal(0) if row is None else _cost(row, currency)


def _split(
    figures: ReportFigures,
    rows: Mapping[tuple[str, str | None], ComparisonRow],
    provider: str,
    keys: Sequence[str],
    currency: str | None,
) -> dict[str, list[Decimal | None]]:
    """A provider's cost per line item per bucket, in the page's currency; empty when unknown.

    Only when every bucket with a cost has its split: a partial split would mislead.
    """
    names = sorted(
        {
            n
            for k in keys
            if (provider, k) in rows
            for n in figures.components.get((provider, k), {})
        }
    )
    if len(names) < 2:
        return {}
    out: dict[str, list[Decimal | None]] = {name: [] for name in names}
    for key in keys:
        cost = _bucket_cost(rows.get((provider, key)), currency)
        parts = figures.components.get((provider, key))
        if cost and parts is None:
            return {}
        parts = parts or {}
        native = sum(parts.values(), Decimal(0))
        for name in names:
            share: Decimal | None = None
            if cost is not None:
                # The line item's share of the row's cost: exact when nothing was converted.
                share = (cost * parts.get(name, Decimal(0)) / native) if native else Decimal(0)
                share = share.quantize(COST_QUANTUM, ROUND_HALF_UP)
            out[name].append(share)
    return out


def _unknown_notes(rows: Iterable[ComparisonRow], figure: str) -> list[str]:
    """Why a figure is unknown, once per provider and reason."""
    notes = {
        f"{row.provider}: {figure.replace('_', ' ')} unknown: {row.unknown[figure]}": None
        for row in rows
        if figure in row.unknown
    }
    return list(notes)


def _cost_charts(figures: ReportFigures, keys: list[str], by: GroupBy) -> list[PageChart]:
    """Cost per vendor per bucket, stacked by line item where every bucket's split is known.

    One chart per currency when the page converts nothing and vendors bill in several.
    """
    timeline = figures.timeline
    currency = timeline.currency
    rows = {(row.provider, row.group): row for row in timeline.rows}
    by_currency: dict[str | None, list[str]] = {}
    for provider in _charted(figures):
        known = sorted(
            {
                c
                for r in timeline.rows
                if r.provider == provider and (c := _row_currency(r, currency))
            }
        )
        by_currency.setdefault(known[0] if len(known) == 1 else None, []).append(provider)
    charts = []
    for code, providers in sorted(
        (by_currency or {currency: []}).items(), key=lambda kv: kv[0] or "~"
    ):
        series: list[Series] = []
        columns: list[tuple[str, list[Decimal | None]]] = []
        splits = {p: _split(figures, rows, p, keys, currency) for p in providers}
        drawn = dict(splits)
        # One colour per series: the vendors with the most line items are drawn whole until
        # every series has a colour of its own (the table still gives each line item).
        while sum(len(v) or 1 for v in drawn.values()) > len(PALETTE) and any(drawn.values()):
            drawn[max(drawn, key=lambda p: (len(drawn[p]), p))] = {}
        for provider in providers:
            totals = [_bucket_cost(rows.get((provider, k)), currency) for k in keys]
            columns.append((provider, totals))
            columns.extend((f"{provider} · {n}", v) for n, v in splits[provider].items())
            series.extend(Series(f"{provider} · {n}", v) for n, v in drawn[provider].items())
            if not drawn[provider]:
                series.append(Series(provider, totals))
        unit = code or "own currency"
        notes = _unknown_notes((r for r in timeline.rows if r.provider in providers), "cost")
        whole = [p for p in providers if splits[p] and not drawn[p]]
        if whole:
            notes.append(
                f"Drawn as one bar segment each (too many line items to colour apart): "
                f"{', '.join(whole)}; the table gives their line items."
            )
        if currency is not None and len(series) > len(providers):
            notes.append(
                "Line items are each one's share of the vendor's cost, in " + currency + "."
            )
        charts.append(
            PageChart(
                Chart(
                    f"cost-{(code or 'mixed').lower()}",
                    f"Cost per vendor per {by.value}"
                    + (f" ({code})" if len(by_currency) > 1 else ""),
                    _x_label(by),
                    f"Cost ({unit})",
                    ChartKind.STACKED,
                    [_short(k) for k in keys],
                    series,
                ),
                (_x_label(by), *(name for name, _ in columns)),
                [
                    [key, *(_money_or_unknown(values[i]) for _, values in columns)]
                    for i, key in enumerate(keys)
                ],
                notes,
            )
        )
    return charts


def _money_or_unknown(value: Decimal | None) -> str:
    return "unknown" if value is None else money(value)


def _x_label(by: GroupBy) -> str:
    return "Day (UTC)" if by is GroupBy.DAY else "Month (UTC)"


def _figure_chart(
    figures: ReportFigures,
    keys: list[str],
    by: GroupBy,
    *,
    chart_id: str,
    title: str,
    unit: str,
    kind: ChartKind,
    figure: str,
    integer: bool = False,
) -> PageChart:
    """One series per vendor across the buckets; the table has one column per vendor."""
    timeline = figures.timeline
    rows = {(row.provider, row.group): row for row in timeline.rows}
    providers = _charted(figures)
    series = []
    for provider in providers:
        values = []
        for key in keys:
            row = rows.get((provider, key))
            found = 0 if row is None else getattr(row, figure)  # no records: none of it
            values.append(None if found is None else Decimal(found))
        series.append(Series(provider, values))
    table = [[key, *(count(s.values[i]) for s in series)] for i, key in enumerate(keys)]
    return PageChart(
        Chart(
            chart_id, title, _x_label(by), unit, kind, [_short(k) for k in keys], series, integer
        ),
        (_x_label(by), *providers),
        table,
        _unknown_notes(timeline.rows, figure),
    )


def _price_chart(figures: ReportFigures, keys: list[str], by: GroupBy) -> PageChart:
    """Cost per billed minute per vendor; all-in per minute beside it where compare has it."""
    timeline = figures.timeline
    rows = {(row.provider, row.group): row for row in timeline.rows}
    codes = sorted({r.unit_currency for r in timeline.rows if r.unit_currency})
    unit = timeline.currency or (codes[0] if len(codes) == 1 else "own currency")
    series: list[Series] = []
    cells: list[list[str]] = []
    for provider in _charted(figures):
        found = [rows.get((provider, k)) for k in keys]
        mine = {r.unit_currency for r in found if r is not None and r.unit_currency}
        name = provider if len(codes) < 2 else f"{provider} ({', '.join(sorted(mine))})"
        for label, figure in ((name, "cost_per_minute"), (f"{name} all-in", "all_in_per_minute")):
            values = [getattr(r, figure, None) if r is not None else None for r in found]
            if figure == "all_in_per_minute" and all(v is None for v in values):
                continue  # compare has no all-in figure for this vendor
            series.append(Series(label, values))
            cells.append(
                [
                    "no billed minutes"
                    if r is None or not r.billed_minutes
                    else _money_or_unknown(v)
                    for r, v in zip(found, values, strict=True)
                ]
            )
    notes = _unknown_notes(timeline.rows, "cost")
    if not any(s.name.endswith(" all-in") for s in series):
        why = _unknown_notes(timeline.rows, "all_in_cost")
        notes.extend(
            why or ["No all-in price per minute: the comparison rows carry no all-in figure."]
        )
    return PageChart(
        Chart(
            "price",
            f"Effective price per billed minute, per {by.value}",
            _x_label(by),
            f"Price ({unit} per billed minute)",
            ChartKind.LINE,
            [_short(k) for k in keys],
            series,
        ),
        (_x_label(by), *(s.name for s in series)),
        [[key, *(column[i] for column in cells)] for i, key in enumerate(keys)],
        notes,
    )


def page_charts(figures: ReportFigures) -> list[PageChart]:
    """The page's charts, in order, each with the table of its figures."""
    by = figures.timeline.group_by
    keys = bucket_keys(figures.timeline.since, figures.timeline.until, by)
    charts = _cost_charts(figures, keys, by)
    charts.append(
        _figure_chart(
            figures,
            keys,
            by,
            chart_id="calls",
            title=f"Calls per vendor per {by.value}",
            unit="Calls (count)",
            figure="calls",
            kind=ChartKind.GROUPED,
            integer=True,
        )
    )
    charts.append(
        _figure_chart(
            figures,
            keys,
            by,
            chart_id="minutes",
            title=f"Billed minutes per vendor per {by.value}",
            unit="Billed minutes (min)",
            figure="billed_minutes",
            kind=ChartKind.GROUPED,
        )
    )
    charts.append(_price_chart(figures, keys, by))
    return charts


# -- tables ------------------------------------------------------------------------------------


def _covers(row: ComparisonRow, figures: ReportFigures) -> str:
    """What the cost covers on every call, then what on part of the calls (minutes without)."""
    covers = getattr(row, "cost_covers", None)
    if covers is None:
        covers = figures.covers.get(row.provider)
    if covers is None:
        return "unknown"
    text = ", ".join(str(part) for part in covers) or "nothing on every call"
    partly: Mapping[str, Any] = getattr(row, "partly_covers", {})
    if partly:
        text += "; on part of the calls: " + ", ".join(
            f"{part} ({count(minutes)} min without)" for part, minutes in partly.items()
        )
    return text


def _assumed(row: ComparisonRow) -> str:
    """The parts priced by `--add-cost`: `telephony at 0.0085 USD/min`."""
    entries: Sequence[Mapping[str, Any]] = getattr(row, "assumed", ())
    if not entries:
        return "none"
    return "; ".join(
        f"{e.get('part')} at {e.get('price_per_minute')} {e.get('currency')}/min"
        + (f" on the {e.get('minutes')} min without it" if e.get("partly_covered") else "")
        for e in entries
    )


def _gaps(row: ComparisonRow) -> str:
    gaps: Sequence[str] = getattr(row, "gaps", ())
    return ", ".join(gaps) if gaps else "none"


def _fixed_lines(rows: Iterable[ComparisonRow]) -> list[str]:
    """Each fixed charge as the page states it: the card line, how many and why, the cost."""
    lines = []
    for row in rows:
        for line in getattr(row, "fixed", ()):
            lines.append(
                f"{row.provider}: fixed charge {line.get('line')}: {line.get('count')} x "
                f"{line.get('price_per_month')} {line.get('currency')} a month "
                f"({line.get('basis')}), {line.get('cost')} {line.get('currency')} for the period"
            )
    return lines


def _like_for_like_lines(rows: Sequence[ComparisonRow]) -> list[str]:
    """Where rows differ in what they cover, and every assumed price, as compare says them."""
    lines = (gap_line(rows), assumption_line(rows), covers_line(rows))
    return [line[0].upper() + line[1:] + "." for line in lines if line]


def _like_for_like(figures: ReportFigures) -> tuple[list[str], list[list[str]], list[str]]:
    overall = figures.overall
    currency = overall.currency
    rows = list(overall.rows)
    if overall.total is not None:
        rows.append(overall.total)
    has_l4l = any(hasattr(row, "all_in_cost") for row in overall.rows)
    headers = [
        "Vendor",
        "Calls",
        "Billed minutes",
        "Cost (own currency)",
        *([f"Cost ({currency})"] if currency else []),
        "Per billed minute",
        "Cost covers",
        "Source",
    ]
    if has_l4l:
        headers += ["Not covered", "Assumed", "Fixed charges", "All-in", "All-in per minute"]
    table = []
    for row in rows:
        unit = row.unit_currency
        total = row is overall.total
        cells = [
            row.provider,
            count(row.calls),
            count(row.billed_minutes),
            _unit(row.cost, row.currency),
            *([_unit(row.converted_cost, currency)] if currency else []),
            _unit(row.cost_per_minute, unit),
            "" if total else _covers(row, figures),
            _source(row),
        ]
        if has_l4l:
            all_in_currency = getattr(row, "all_in_currency", None) or currency or row.currency
            cells += [
                "" if total else _gaps(row),
                "" if total else _assumed(row),
                _unit(getattr(row, "fixed_cost", None), all_in_currency),
                _unit(getattr(row, "all_in_cost", None), all_in_currency),
                _unit(getattr(row, "all_in_per_minute", None), all_in_currency),
            ]
        table.append(cells)
    notes = [
        *_like_for_like_lines(overall.rows),
        *_fixed_lines(overall.rows),
        *_unknown_notes(overall.rows, "cost"),
        *_unknown_notes(overall.rows, "billed_minutes"),
        *_unknown_notes(overall.rows, "fixed_cost"),
        *_unknown_notes(overall.rows, "all_in_cost"),
    ]
    if not has_l4l:
        notes.append(
            "The comparison rows here carry no fixed charges, assumed parts or all-in figures: "
            "only what each cost covers (from the records) is shown."
        )
    return headers, table, notes


def _source(row: ComparisonRow) -> str:
    source = row.cost_source or ""
    if row.rate_cards:
        source += f" ({', '.join(row.rate_cards)})"
    if row.billed_from == "billing":
        source += ", billing endpoint"
    return source.strip(", ") or "n/a"


def _top(comparison: Comparison | None, what: str) -> tuple[list[str], list[list[str]], list[str]]:
    if comparison is None:
        return [], [], []
    currency = comparison.currency
    rows = [row for row in comparison.rows if row.records]

    def order(row: ComparisonRow) -> tuple[bool, Decimal, str, str]:
        cost = _cost(row, currency)
        return (cost is None, -(cost or Decimal(0)), row.provider, row.group or "")

    chosen = sorted(rows, key=order)[:TOP]
    headers = ["Vendor", what, "Calls", "Billed minutes", f"Cost ({currency or 'own currency'})"]
    table = [
        [
            row.provider,
            row.group or f"(no {what.lower()})",
            count(row.calls),
            count(row.billed_minutes),
            _unit(_cost(row, currency), None if currency else row.currency),
        ]
        for row in chosen
    ]
    notes = [
        f"{row.provider} {row.group or f'(no {what.lower()})'}: cost unknown: {row.unknown['cost']}"
        for row in chosen
        if "cost" in row.unknown
    ]
    return headers, table, notes


def _repricing(comparison: Comparison | None) -> tuple[list[str], list[list[str]]]:
    if comparison is None:
        return [], []
    currency = comparison.currency
    headers = [
        "Priced as",
        "Calls",
        "Billed minutes",
        f"Cost ({currency or 'own currency'})",
        "Per billed minute",
    ]
    table = [
        [
            f"{row.provider}, as run" if row.basis == "as run" else row.basis or row.provider,
            count(row.calls),
            count(row.billed_minutes),
            _unit(_cost(row, currency), None if currency else row.currency),
            _unit(row.cost_per_minute, row.unit_currency),
        ]
        for row in comparison.rows
    ]
    return headers, table


# -- HTML --------------------------------------------------------------------------------------

_STYLE = """
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1a1a;background:#fff;line-height:1.45}
body{margin:0 auto;padding:1rem 1.25rem 3rem;max-width:60rem}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ccc}
p.meta{color:#444;margin:.2rem 0;font-size:.9rem}
.alert{border-left:4px solid #d55e00;background:#fff4ec;padding:.5rem .8rem;margin:1rem 0}
figure{margin:1.5rem 0;break-inside:avoid}
svg.chart{display:block;width:100%;max-width:48rem;height:auto;font-size:11px;fill:#1a1a1a}
svg.chart .title{font-size:14px;font-weight:600}svg.chart .axis{font-size:12px}
svg.chart .none{fill:#666;font-style:italic}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;margin:.4rem 0 1rem;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{border:1px solid #ddd;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}
details summary{cursor:pointer;color:#0057a0}
ul{padding-left:1.2rem}li{margin:.15rem 0}
@media (max-width:600px){body{padding:.5rem}table{font-size:.75rem}h1{font-size:1.3rem}}
@media print{body{max-width:none;padding:0}.scroll{overflow:visible}details{display:block}
h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}
"""


def _table(
    table_id: str, caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]]
) -> str:
    if not rows:
        return f'<p id="{escape(table_id)}" class="meta">{escape(caption)}: nothing in this period.</p>'
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            numeric = i > 0 and _numeric(cell)
            tag = "th" if i == 0 else "td"
            attrs = ' scope="row"' if i == 0 else (' class="n"' if numeric else "")
            cells.append(f"<{tag}{attrs}>{escape(cell)}</{tag}>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table id="{escape(table_id)}"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _numeric(cell: str) -> bool:
    head = cell.split(" ")[0].replace(",", "").replace(".", "").lstrip("-")
    return head.isdigit()


def _list(items: Iterable[str], empty: str) -> str:
    items = list(items)
    if not items:
        return f"<p>{escape(empty)}</p>"
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _provenance(figures: ReportFigures) -> str:
    overall = figures.overall
    parts = [f"<p>Records {escape(figures.source)}.</p>"]
    parts.append("<h3>Rate cards</h3>")
    parts.append(
        _table(
            "rate-cards",
            "Rate-card prices used",
            (
                "Card",
                "Price per minute",
                "Billing increment",
                "In force",
                "Covers",
                "Leaves out",
                "Checked",
                "Source",
                "Note",
            ),
            [_rate_cells(rate) for rate in figures.rates],
        )
    )
    parts.append("<h3>Exchange rates</h3>")
    rates = {r.label: r for c in (overall, figures.timeline, figures.repricing) if c for r in c.fx}
    parts.append(
        _list(
            (str(rate) for _, rate in sorted(rates.items())),
            "None used: every cost is shown in the currency it was billed in."
            if overall.currency is None
            else f"None needed: every cost was already in {overall.currency}.",
        )
    )
    parts.append("<h3>Reconciliation with the vendors' own totals</h3>")
    checks = [
        f"{provider}: {check}"
        for provider, found in sorted(figures.reconciliations.items())
        for check in found
    ]
    parts.append(_list(checks, "No vendor reported a total to check the records against."))
    parts.append("<h3>What each vendor could not tell</h3>")
    unknown = []
    for row in overall.rows:
        for figure, reason in sorted(row.unknown.items()):
            unknown.append(f"{row.provider}: {figure}: {reason}")
        unknown.extend(f"{row.provider}: {note}" for note in row.notes)
    parts.append(_list(dict.fromkeys(unknown), "Every figure was reported or priced."))
    warnings = list(
        dict.fromkeys([*overall.warnings, *overall.notes, *(figures.timeline.notes or [])])
    )
    parts.append("<h3>Warnings</h3>")
    parts.append(_list(warnings, "None."))
    if figures.missing_ranges or figures.source.startswith("read from"):
        parts.append("<h3>Ranges missing from the store</h3>")
        parts.append(_list(figures.missing_ranges, "None: the store covers the whole period."))
    if overall.skipped:
        parts.append("<h3>Left out</h3>")
        parts.append(_list((f"{s.provider}: {s.reason}" for s in overall.skipped), ""))
    return "".join(parts)


def _rate_cells(rate: Rate) -> list[str]:
    """One rate-card line as the page states it; inferred values are marked as such."""
    inferred = set(rate.inferred)

    def mark(field: str, text: str) -> str:
        return f"{text} (inferred)" if field in inferred else text

    leaves_out = "; ".join(f"{part}: {who}" for part, who in sorted(rate.leaves_out.items()))
    return [
        rate.label,
        mark("price_per_minute", f"{money(rate.price_per_minute)} {rate.currency}"),
        mark("increment_seconds", rate.increment)
        + (f", at least {money(rate.minimum_charge)}" if rate.minimum_charge else ""),
        f"from {rate.effective_from.isoformat()}"
        + (f" until {rate.effective_until.isoformat()}" if rate.effective_until else ""),
        ", ".join(str(part) for part in rate.covers) or "nothing",
        leaves_out or ", ".join(str(p) for p in rate.left_out) or "nothing",
        rate.checked.isoformat(),
        rate.source,
        rate.note or "",
    ]


def _figure(page_chart: PageChart) -> str:
    chart = page_chart.chart
    note = "".join(f'<p class="meta">{escape(n)}</p>' for n in page_chart.notes)
    return (
        f"<figure>{render_svg(chart)}{note}"
        + _table(
            f"figures-{chart.id}", f"Figures: {chart.title}", page_chart.headers, page_chart.rows
        )
        + "</figure>"
    )


def _instant(value: datetime) -> str:
    """A day when the instant is midnight UTC (`2026-11-01`), else the full ISO 8601 instant."""
    text = format_instant(value)
    return text[:10] if text.endswith("T00:00:00Z") else text


def render_page(figures: ReportFigures) -> str:
    """The whole report as one HTML document (a `str`), the same for the same figures."""
    overall = figures.overall
    since, until = _instant(overall.since), _instant(overall.until)
    providers = _providers(overall) + [f.provider for f in figures.errors]
    by = figures.timeline.group_by
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(figures.title)}, {escape(since[:10])} to {escape(until[:10])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(figures.title)}</h1>",
        f'<p class="meta">From {escape(since)} to {escape(until)} (exclusive), UTC, '
        f"by {escape(by.value)}. Vendors: {escape(', '.join(providers) or 'none')}. "
        + (
            f"Costs in {escape(overall.currency)}, converted with the exchange rates listed under "
            "“What the figures rest on”."
            if overall.currency
            else "Costs in the currency each vendor bills in."
        )
        + "</p>",
    ]
    if figures.errors:
        parts.append(
            '<div class="alert" id="failed"><strong>Not in this report</strong>: '
            + "; ".join(escape(f"{f.message} ({f.error})") for f in figures.errors)
            + ". The other vendors' figures are complete.</div>"
        )
    if not overall.rows:
        parts.append('<p class="alert">No vendor returned figures for this period.</p>')
    headers, table, notes = _like_for_like(figures)
    parts.append("<h2>Like for like</h2>")
    parts.append(_table("like-for-like", "Each vendor over the whole period", headers, table))
    parts.extend(f'<p class="meta">{escape(n)}</p>' for n in notes)
    if figures.repricing is not None:
        headers, table = _repricing(figures.repricing)
        parts.append("<h2>The same traffic on other vendors' cards</h2>")
        parts.append(_table("repricing", "Repricing", headers, table))
    parts.append(f"<h2>Over time, per {escape(by.value)}</h2>")
    parts.extend(_figure(c) for c in page_charts(figures))
    for comparison, what, name in (
        (figures.agents, "Agent", "agents"),
        (figures.numbers, "Number", "numbers"),
    ):
        if comparison is None:
            continue
        headers, table, notes = _top(comparison, what)
        parts.append(f"<h2>Top {name} by cost</h2>")
        parts.append(_table(f"top-{name}", f"The {TOP} {name} that cost most", headers, table))
        parts.extend(f'<p class="meta">{escape(n)}</p>' for n in notes)
    parts.append("<h2>What the figures rest on</h2>")
    parts.append(_provenance(figures))
    parts.append(
        '<p class="meta">Written by voice-usage. Figures are exact to the millionth of a currency '
        "unit; the charts draw them, the tables state them.</p></body></html>\n"
    )
    return "\n".join(parts)
