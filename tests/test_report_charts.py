"""The SVG chart writer: axis ticks, geometry, unknown values, escaping, stable bytes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal as D

import pytest

from voice_usage._outputs._charts import (
    Chart,
    ChartKind,
    Series,
    format_number,
    nice_ticks,
    render_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def marks(root: ET.Element, tag: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.find(f"{SVG}title") is not None]


@pytest.mark.parametrize(
    ("low", "high", "integer", "expected"),
    [
        # raw step 87/5 = 17.4 -> the next 1-2-5 step is 20
        ("0", "87", False, ["0", "20", "40", "60", "80", "100"]),
        # raw step 0.06 -> 0.1
        ("0", "0.3", False, ["0", "0.1", "0.2", "0.3"]),
        # negatives: raw step 2, from floor(-3/2)*2 = -4 to 8
        ("-3", "7", False, ["-4", "-2", "0", "2", "4", "6", "8"]),
        # counts: a step below 1 becomes 1
        ("0", "2", True, ["0", "1", "2"]),
        # nothing to show: 0 to 1
        ("0", "0", False, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
        # the axis always holds zero
        ("5", "9", False, ["0", "2", "4", "6", "8", "10"]),
    ],
)
def test_nice_ticks(low: str, high: str, integer: bool, expected: list[str]) -> None:
    ticks = nice_ticks(D(low), D(high), integer=integer)
    assert ticks == [D(t) for t in expected]


def test_format_number() -> None:
    assert format_number(D("1234.5"), 2) == "1,234.50"
    assert format_number(D("0.0125")) == "0.0125"
    assert format_number(D(0)) == "0"
    assert format_number(D("-2"), 1) == "-2.0"


def chart(kind: ChartKind, *series: Series, categories: tuple[str, ...] = ("a", "b")) -> Chart:
    return Chart("t", "Title", "Day (UTC)", "Cost (EUR)", kind, categories, series)


def test_stacked_bars_are_proportional_and_stack() -> None:
    svg = render_svg(chart(ChartKind.STACKED, Series("x", [D(1), D(2)]), Series("y", [D(3), None])))
    rects = marks(parse(svg), "rect")
    assert len(rects) == 3  # the unknown value is not drawn
    heights = [float(r.get("height", "0")) for r in rects]
    # category a: 1 and 3 on one bar, on an axis 0..4 (ticks of 1); category b: 2
    assert heights[1] == pytest.approx(3 * heights[0], abs=0.2)
    assert heights[2] == pytest.approx(2 * heights[0], abs=0.2)
    # y of the top of x's segment is the bottom of y's segment: they stack
    a_x, a_y = rects[0], rects[1]
    assert float(a_y.get("y", "0")) + float(a_y.get("height", "0")) == pytest.approx(
        float(a_x.get("y", "0")), abs=0.15
    )
    assert "1 unknown value not drawn" in svg


def test_grouped_bars_side_by_side() -> None:
    svg = render_svg(chart(ChartKind.GROUPED, Series("x", [D(4), D(2)]), Series("y", [D(2), D(0)])))
    rects = marks(parse(svg), "rect")
    assert len(rects) == 4
    xs = [float(r.get("x", "0")) for r in rects]
    assert xs[0] < xs[1] < xs[2] < xs[3]  # side by side, in order, not on top of each other
    widths = {r.get("width") for r in rects}
    assert len(widths) == 1
    assert float(rects[0].get("height", "0")) == pytest.approx(
        2 * float(rects[1].get("height", "0")), abs=0.2
    )


def test_a_line_breaks_at_an_unknown_value() -> None:
    svg = render_svg(
        chart(
            ChartKind.LINE,
            Series("x", [D(1), D(2), None, D(3), D(4)]),
            categories=("1", "2", "3", "4", "5"),
        )
    )
    root = parse(svg)
    polylines = list(root.iter(f"{SVG}polyline"))
    assert [len(p.get("points", "").split()) for p in polylines] == [2, 2]
    assert len(marks(root, "circle")) == 4


def test_vendor_strings_are_escaped() -> None:
    evil = '<script>alert("x")</script>&amp'
    svg = render_svg(
        Chart(evil, evil, evil, evil, ChartKind.STACKED, (evil,), (Series(evil, [D(1)]),))
    )
    assert "<script" not in svg
    assert svg.count("&lt;script&gt;") >= 5
    parse(svg)  # still well-formed XML


def test_empty_chart_says_so() -> None:
    svg = render_svg(chart(ChartKind.LINE, Series("x", [None, None])))
    assert "No figures to draw for this period" in svg
    assert not marks(parse(svg), "circle")
    svg = render_svg(chart(ChartKind.STACKED, categories=()))
    assert "No figures to draw" in svg


def test_same_figures_same_bytes() -> None:
    make = lambda: render_svg(  # noqa: E731
        chart(ChartKind.STACKED, Series("x", [D("1.25"), D("2.5")]), Series("y", [D(3), D(0)]))
    )
    assert make() == make()
    assert "-0.0" not in make()


def test_many_categories_thin_out_their_labels() -> None:
    days = tuple(f"d{i}" for i in range(60))
    svg = render_svg(
        chart(ChartKind.GROUPED, Series("x", [D(i) for i in range(60)]), categories=days)
    )
    shown = [t.text for t in parse(svg).iter(f"{SVG}text") if (t.text or "").startswith("d")]
    assert 6 <= len(shown) <= 12
    assert shown[0] == "d0"


def test_series_must_fit_the_categories() -> None:
    with pytest.raises(ValueError, match="has 1 values for 2 categories"):
        chart(ChartKind.LINE, Series("x", [D(1)]))
