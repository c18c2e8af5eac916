"""The demo's report in a real browser: headless Chromium draws it, and every chart is there.

Needs Debian's `chromium` (`.ci/run` installs it). Without it the test is skipped on a
developer's machine and fails in CI, where it must run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHARTS = ("cost-eur", "calls", "minutes", "price")
"""The demo's charts: its costs are converted to EUR."""


def _screenshot_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "report_screenshot", ROOT / "docs" / "report_screenshot.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shots = _screenshot_module()


@pytest.fixture(scope="module")
def browser() -> str:
    found = shots.chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return str(found)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    written = shots.demo_report(path)
    assert written == path
    return path


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the pixels of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + guess) & 0xFF
        rows.append(row)
        previous = row
    pixels = [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, channels)]
    return width, height, pixels


def test_the_page_is_small_and_loads_nothing_from_elsewhere(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert len(html.encode()) < 300_000
    # no resource from another origin: no src/href/url()/@import to http(s) or protocol-relative
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"""url\(|@import|<script|<link|<img|<iframe""", html, re.I)
    # the only http(s) text left is the SVG namespace and links to documentation
    for url in re.findall(r"https?://[^\s\"'<]+", html):
        assert url == "http://www.w3.org/2000/svg" or not re.search(
            rf"""(src|href)\s*=\s*["']?{re.escape(url)}""", html
        ), url


def test_chromium_draws_a_page_that_is_not_blank(browser: str, page: Path, tmp_path: Path) -> None:
    picture = tmp_path / "report.png"
    # Tall enough to reach the first charts below the like-for-like tables and notes.
    shots.screenshot(page, picture, (900, 3000))
    width, height, pixels = png_pixels(picture.read_bytes())
    assert (width, height) == (900, 3000)
    colours = set(pixels)
    assert len(colours) >= 16, f"only {len(colours)} colours: a blank page?"
    white = pixels.count(b"\xff\xff\xff")
    assert white < 0.97 * len(pixels), "almost every pixel is white"
    # the palette's first two colours (flireo and ultravox bars) are on screen
    assert any(p in colours for p in (b"\x00\x72\xb2", b"\xe6\x9f\x00", b"\x00\x9e\x73"))


class _Svgs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg" and "chart" in (found.get("class") or ""):
            self.charts[(found.get("id") or "").removeprefix("chart-")] = found


def test_every_chart_is_laid_out_with_a_size(browser: str, page: Path, tmp_path: Path) -> None:
    # A copy of the page with a probe that writes each chart's laid-out size into the DOM; the
    # page itself has no script.
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.read_text(encoding="utf-8").replace(
            "</body>",
            "<script>for (const s of document.querySelectorAll('svg.chart')) {"
            "const r = s.getBoundingClientRect();"
            "s.setAttribute('data-laid-out', Math.round(r.width) + 'x' + Math.round(r.height));"
            "s.setAttribute('data-viewport', document.documentElement.clientWidth);}"
            "</script></body>",
        ),
        encoding="utf-8",
    )
    dom = shots.dump_dom(probe, (900, 1400))
    charts = _Svgs()
    charts.feed(dom)
    assert sorted(charts.charts) == sorted(CHARTS)
    for name, attrs in charts.charts.items():
        laid_out = attrs.get("data-laid-out") or "0x0"
        w, h = (int(v) for v in laid_out.split("x"))
        assert w >= 300 and h >= 120, (name, laid_out)
        assert abs(w / h - 720 / 320) < 0.05, (name, laid_out)  # drawn at its own proportions
    # on a phone the charts shrink to the screen instead of overflowing it (headless Chromium
    # keeps a window at least about 500 px wide, so the test compares with the viewport it got)
    narrow = shots.dump_dom(probe, (400, 800))
    charts = _Svgs()
    charts.feed(narrow)
    assert sorted(charts.charts) == sorted(CHARTS)
    for name, attrs in charts.charts.items():
        w = int((attrs.get("data-laid-out") or "0x0").split("x")[0])
        viewport = int(attrs.get("data-viewport") or 0)
        assert viewport < 720 and 0.8 * viewport <= w <= viewport, (name, w, viewport)
