"""Charts as inline SVG: stacked bars, grouped bars and lines, written without a plotting library.

The report page must open offline and be the same bytes for the same figures, so the charts are
plain SVG text built here: no script, no font, no random id. Every coordinate is rounded to one
decimal place, every number on an axis comes from `nice_ticks` and is written with a fixed
number of decimals, and every string that came from a vendor (a provider, agent or component
name) is escaped before it reaches the markup.

A value of `None` is unknown: it is not drawn (never drawn as 0), and the chart says how many
values it leaves out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from html import escape

__all__ = ["PALETTE", "Chart", "ChartKind", "Series", "format_number", "nice_ticks", "render_svg"]

WIDTH = 720
"""The chart's width in SVG user units (CSS pixels at 100 %); it scales down on narrow screens."""
HEIGHT = 320
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#000000",
)
"""Okabe and Ito's colour-blind-safe palette, in the order series take it."""

_CHAR = 6.6  # average advance of a 11 px sans-serif character, to lay out labels without a font
_TICKS = 5
_MAX_X_LABELS = 12
_PAD = 12.0


class ChartKind(StrEnum):
    """How the series are drawn."""

    STACKED = "stacked"
    """One bar per category; the series' values stacked on it (positives up, negatives down)."""
    GROUPED = "grouped"
    """One bar per series side by side in each category."""
    LINE = "line"
    """One line per series across the categories; a gap where a value is unknown."""


@dataclass(frozen=True)
class Series:
    """One named row of values, one per category of its chart."""

    name: str
    values: Sequence[Decimal | None]
    """A value per category, in the chart's unit; `None` where it is unknown."""


@dataclass(frozen=True)
class Chart:
    """What a chart shows: its title, axes with units, categories and series."""

    id: str
    """A stable id, unique in the page (`cost`, `calls`), for the accessible title."""
    title: str
    x_label: str
    """The category axis, e.g. `Day (UTC)`."""
    y_label: str
    """The value axis with its unit, e.g. `Cost (EUR)`."""
    kind: ChartKind
    categories: Sequence[str]
    series: Sequence[Series] = field(default_factory=tuple)
    integer: bool = False
    """Values are counts: axis ticks are whole numbers."""

    def __post_init__(self) -> None:
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise ValueError(
                    f"chart {self.id!r}: series {series.name!r} has {len(series.values)} values "
                    f"for {len(self.categories)} categories"
                )

    @property
    def unknown(self) -> int:
        """How many values are unknown (and so not drawn)."""
        return sum(1 for s in self.series for v in s.values if v is None)

    @property
    def empty(self) -> bool:
        """True when there is no known value to draw."""
        return all(v is None for s in self.series for v in s.values)


# -- numbers -----------------------------------------------------------------------------------


def nice_ticks(
    low: Decimal, high: Decimal, count: int = _TICKS, *, integer: bool = False
) -> list[Decimal]:
    """Round axis ticks covering `[low, high]` and zero: steps of 1, 2 or 5 times a power of ten.

    Decimal arithmetic throughout, so the same figures always give the same ticks.
    """
    low, high = min(low, Decimal(0)), max(high, Decimal(0))
    if low == high:
        high = low + 1
    raw = (high - low) / count
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(base * m for m in (1, 2, 5, 10) if base * m >= raw)
    if integer and step < 1:
        step = Decimal(1)
    first = (low / step).to_integral_value(ROUND_FLOOR)
    last = (high / step).to_integral_value(ROUND_CEILING)
    return [(first + i) * step for i in range(int(last - first) + 1)]


def _places(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def format_number(value: Decimal, places: int | None = None) -> str:
    """A number for people: thousands separated, a fixed number of decimals (all of them if None)."""
    if places is None:
        places = _places(value) if value else 0
    return f"{value:,.{places}f}"


def _c(value: float) -> str:
    """A coordinate: one decimal, no `-0.0`."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _text_width(text: str) -> float:
    return len(text) * _CHAR


# -- drawing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits in the SVG, and the scale of the value axis."""

    left: float
    right: float
    top: float
    bottom: float
    ticks: list[Decimal]

    def y(self, value: Decimal) -> float:
        low, high = self.ticks[0], self.ticks[-1]
        share = float((value - low) / (high - low))
        return self.bottom - share * (self.bottom - self.top)

    def band(self, index: int, count: int) -> tuple[float, float]:
        """The left edge and width of category ``index``'s band."""
        width = (self.right - self.left) / max(count, 1)
        return self.left + index * width, width


def _bounds(chart: Chart) -> tuple[Decimal, Decimal]:
    known = [v for s in chart.series for v in s.values if v is not None]
    if chart.kind is ChartKind.STACKED:
        ups = [Decimal(0)] * len(chart.categories)
        downs = [Decimal(0)] * len(chart.categories)
        for series in chart.series:
            for i, value in enumerate(series.values):
                if value is None:
                    continue
                if value >= 0:
                    ups[i] += value
                else:
                    downs[i] += value
        known = ups + downs
    if not known:
        return Decimal(0), Decimal(1)
    return min(known), max(known)


def _legend(chart: Chart, top: float) -> tuple[list[str], float]:
    """Legend entries in rows across the chart; returns the markup and the height used."""
    if not chart.series:
        return [], 0.0
    parts: list[str] = []
    x, y = _PAD, top
    for index, series in enumerate(chart.series):
        label = series.name
        width = 16 + _text_width(label) + 14
        if x + width > WIDTH - _PAD and x > _PAD:
            x, y = _PAD, y + 18
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{_c(x)}" y="{_c(y - 9)}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{_c(x + 14)}" y="{_c(y)}">{escape(label)}</text>'
        )
        x += width
    return parts, y - top + 18


def _y_axis(frame: _Frame, chart: Chart) -> list[str]:
    step = frame.ticks[1] - frame.ticks[0] if len(frame.ticks) > 1 else Decimal(1)
    places = _places(step)
    parts = []
    for tick in frame.ticks:
        y = _c(frame.y(tick))
        stroke = "#767676" if tick == 0 else "#dddddd"
        parts.append(
            f'<line x1="{_c(frame.left)}" y1="{y}" x2="{_c(frame.right)}" y2="{y}" '
            f'stroke="{stroke}" stroke-width="1"/>'
            f'<text x="{_c(frame.left - 6)}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{format_number(tick, places)}</text>'
        )
    middle = _c((frame.top + frame.bottom) / 2)
    parts.append(
        f'<text x="14" y="{middle}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle})" class="axis">{escape(chart.y_label)}</text>'
    )
    return parts


def _x_axis(frame: _Frame, chart: Chart) -> list[str]:
    count = len(chart.categories)
    every = max(1, math.ceil(count / _MAX_X_LABELS))
    parts = []
    for index, category in enumerate(chart.categories):
        if index % every:
            continue
        left, width = frame.band(index, count)
        parts.append(
            f'<text x="{_c(left + width / 2)}" y="{_c(frame.bottom + 16)}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    parts.append(
        f'<text x="{_c((frame.left + frame.right) / 2)}" y="{HEIGHT - 6}" '
        f'text-anchor="middle" class="axis">{escape(chart.x_label)}</text>'
    )
    return parts


def _stacked(frame: _Frame, chart: Chart) -> list[str]:
    parts = []
    count = len(chart.categories)
    for i in range(count):
        left, width = frame.band(i, count)
        bar = width * 0.7
        x = left + (width - bar) / 2
        up = down = Decimal(0)
        for index, series in enumerate(chart.series):
            value = series.values[i]
            if value is None or value == 0:
                continue
            start = up if value > 0 else down
            end = start + value
            if value > 0:
                up = end
            else:
                down = end
            y1, y2 = frame.y(max(start, end)), frame.y(min(start, end))
            parts.append(
                f'<rect x="{_c(x)}" y="{_c(y1)}" width="{_c(bar)}" height="{_c(y2 - y1)}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(series.name)} '
                f"{escape(chart.categories[i])}: {format_number(value)}</title></rect>"
            )
    return parts


def _grouped(frame: _Frame, chart: Chart) -> list[str]:
    parts = []
    count, k = len(chart.categories), max(len(chart.series), 1)
    for i in range(count):
        left, width = frame.band(i, count)
        group = width * 0.8
        each = group / k
        for index, series in enumerate(chart.series):
            value = series.values[i]
            if value is None:
                continue
            x = left + (width - group) / 2 + index * each
            y1, y2 = frame.y(max(value, Decimal(0))), frame.y(min(value, Decimal(0)))
            parts.append(
                f'<rect x="{_c(x)}" y="{_c(y1)}" width="{_c(each)}" height="{_c(y2 - y1)}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(series.name)} '
                f"{escape(chart.categories[i])}: {format_number(value)}</title></rect>"
            )
    return parts


def _lines(frame: _Frame, chart: Chart) -> list[str]:
    parts = []
    count = len(chart.categories)
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        runs: list[list[tuple[float, float]]] = [[]]
        dots = []
        for i, value in enumerate(series.values):
            if value is None:
                runs.append([])  # an unknown value breaks the line: nothing is drawn through it
                continue
            left, width = frame.band(i, count)
            point = (left + width / 2, frame.y(value))
            runs[-1].append(point)
            dots.append(
                f'<circle cx="{_c(point[0])}" cy="{_c(point[1])}" r="2.5" fill="{colour}">'
                f"<title>{escape(series.name)} {escape(chart.categories[i])}: "
                f"{format_number(value)}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{_c(x)},{_c(y)}" for x, y in run)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        parts.extend(dots)
    return parts


_DRAW = {ChartKind.STACKED: _stacked, ChartKind.GROUPED: _grouped, ChartKind.LINE: _lines}


def render_svg(chart: Chart) -> str:
    """The chart as one `<svg>` element: title, legend, axes with labels, and the marks."""
    title_id = f"chart-{chart.id}-title"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-{escape(chart.id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{escape(title_id)}">',
        f'<title id="{escape(title_id)}">{escape(chart.title)}</title>',
        f'<text x="{_PAD}" y="20" class="title">{escape(chart.title)}</text>',
    ]
    legend, legend_height = _legend(chart, 42)
    parts.extend(legend)
    low, high = _bounds(chart)
    ticks = nice_ticks(low, high, integer=chart.integer)
    step = ticks[1] - ticks[0]
    label_width = max(_text_width(format_number(t, _places(step))) for t in ticks)
    frame = _Frame(
        left=max(56.0, 30 + label_width + 8),
        right=WIDTH - _PAD - 4,
        top=42 + legend_height + 4,
        bottom=HEIGHT - 40,
        ticks=ticks,
    )
    parts.extend(_y_axis(frame, chart))
    if chart.empty:
        parts.append(
            f'<text x="{_c((frame.left + frame.right) / 2)}" y="{_c((frame.top + frame.bottom) / 2)}" '
            'text-anchor="middle" class="none">No figures to draw for this period</text>'
        )
    else:
        parts.extend(_DRAW[chart.kind](frame, chart))
    parts.extend(_x_axis(frame, chart))
    if chart.unknown and not chart.empty:
        parts.append(
            f'<text x="{_c(frame.right)}" y="20" text-anchor="end" class="none">'
            f"{chart.unknown} unknown value{'s' if chart.unknown != 1 else ''} not drawn</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
