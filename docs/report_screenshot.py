"""Regenerate docs/report.png, the picture of the report in the README.

    python3 -m uv run --locked python docs/report_screenshot.py

Writes the demo's report (the bundled vendor emulators on loopback, a fixed 30-day period so the
picture does not change from day to day) and photographs its top with headless Chromium (Debian's
`chromium` package). The browser test (`tests/test_report_browser.py`) uses the same functions.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PICTURE_SIZE = (960, 1500)
"""Width and height of the README picture, in CSS pixels: the header, the like-for-like table and
the first chart."""
DEMO_NOW = datetime(2026, 11, 1, tzinfo=UTC)
"""The demo's 'today' for the picture: the 30 days before it."""


def chromium() -> str | None:
    """The path of Debian's Chromium, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(browser: str, *args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    # Headless, with nothing that reaches out (no updates, sync or background requests).
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=180, check=True, stdin=subprocess.DEVNULL
    )


def screenshot(page: Path, picture: Path, size: tuple[int, int] = PICTURE_SIZE) -> None:
    """Photograph ``page`` (a local HTML file) into ``picture`` (PNG) at ``size`` CSS pixels."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        _run(
            browser,
            f"--screenshot={picture}",
            f"--window-size={size[0]},{size[1]}",
            page.resolve().as_uri(),
            profile=Path(profile),
        )


def dump_dom(page: Path, size: tuple[int, int] = PICTURE_SIZE) -> str:
    """The DOM of ``page`` after Chromium laid it out and ran it, as HTML."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        done = _run(
            browser,
            "--dump-dom",
            f"--window-size={size[0]},{size[1]}",
            page.resolve().as_uri(),
            profile=Path(profile),
        )
    return done.stdout


def demo_report(path: Path, now: datetime = DEMO_NOW) -> Path:
    """The demo's report page, written to ``path``."""
    from voice_usage import run_demo

    result = run_demo(now=now, quiet=True, report=path)
    assert result.report_path is not None
    return result.report_path


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = demo_report(Path(folder) / "report.html")
        screenshot(page, DOCS / "report.png")
    print(DOCS / "report.png", file=sys.stderr)


if __name__ == "__main__":
    main()
