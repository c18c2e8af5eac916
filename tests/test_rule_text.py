"""Rule 2: text from vendors and users is data, never markup or control.

A call id `call[/red]x` or an organization `Evil [/bold] Org` crashed the table (Rich read them
as markup) and `[bold]`/`[red]` vanished silently; an escape sequence in a call id cleared the
screen; `=HYPERLINK(...)` went into CSV as a live formula. Every string that did not come from
the program is now shown as it is, control characters as escapes, and a CSV cell that starts
like a formula gets a leading `'`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_usage._outputs._text import csv_cell
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer, Fault

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
WINDOW = ["--since", "2026-11-01", "--until", "2026-11-02"]
CALLS = ["fetch", "flireo", *WINDOW, "--granularity", "call"]
RAW_CONTROL = ["\x1b", "\x07", "\x9b", "\x00", "\u202e"]

CARD = """\
[[rate]]
provider = "ultravox"
item = "call"
price_per_minute = "0.04"
currency = "USD"
increment_seconds = 6
covers = ["platform"]
effective_from = 2025-01-01
source = "https://example.com/[/bold]contract"
checked = 2026-11-01
note = "Negotiated [red]price[/red] [/] \\u001b[2J"
"""


@pytest.fixture(scope="module")
def flireo() -> Iterator[EmulatorServer]:
    from voice_usage_flireo import FlireoEmulator

    with EmulatorServer(FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=2)) as server:
        yield server


def _with_vendor_text(server: EmulatorServer, text: str) -> None:
    """Every call id and the organization's name become ``text``."""

    def calls(body: Any, request: Any) -> Any:
        for log in body["logs"]:
            log["call_id"] = log["number_id"] = text
        return body

    def organization(body: Any, request: Any) -> Any:
        return {**body, "name": text}

    server.faults.clear()
    server.faults.add(Fault(action="rewrite", rewrite=calls, path="/usage"), None)
    server.faults.add(Fault(action="rewrite", rewrite=organization, path="/organizations"), None)


def _invoke(server: EmulatorServer, *args: str) -> Result:
    env = {"FLIREO_API_KEY": KEY, "FLIREO_BASE_URL": server.base_url}
    return CliRunner().invoke(cli, list(args), env=env)


def _assert_inert(result: Result) -> None:
    """One command's output holds no markup error, traceback or raw control character."""
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    output = result.stdout + result.stderr
    assert "MarkupError" not in output and "Traceback" not in output
    for char in RAW_CONTROL:
        assert char not in output, f"{char!r} reached the output"


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _no_live_formula(cells: list[str]) -> None:
    for cell in cells:
        if re.fullmatch(r"-[0-9]+(\.[0-9]+)?", cell):
            continue  # a figure, such as a refund's cost: a spreadsheet reads it as a number
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+x", "'+x"),
        ("-0.5", "-0.5"),  # a negative figure stays a number
        ("-12", "-12"),
        ("a=b", "a=b"),
        (True, "true"),
        (Decimal("-0.5"), Decimal("-0.5")),
    ],
)
def test_rule2_text_is_data_a_csv_cell_runs_no_formula_and_keeps_figures(value, cell):
    assert csv_cell(value) == cell


@pytest.mark.parametrize("text", ["call[/red]x", "[bold]b[/bold] [link=https://x]l[/link]"])
def test_rule2_text_is_data_markup_from_a_vendor_is_shown_as_it_is(flireo, text):
    _with_vendor_text(flireo, text)
    for args in (CALLS, ["balance", "flireo"]):
        result = _invoke(flireo, *args)
        _assert_inert(result)
        assert text in result.stdout


def test_rule2_text_is_data_markup_and_escapes_in_a_users_rate_card_are_shown_as_they_are(
    tmp_path: Path,
):
    card = tmp_path / "evil.toml"
    card.write_text(CARD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["ratecards", "ultravox", "--ratecards", str(card)])
    _assert_inert(result)
    assert "Negotiated [red]price[/red] [/] \\x1b[2J" in result.stdout
    assert "https://example.com/[/bold]contract" in result.stdout


def test_rule2_text_is_data_a_terminal_escape_from_a_vendor_is_shown_as_an_escape(flireo):
    _with_vendor_text(flireo, "c\x1b[2J\x1b]0;pwned\x07")
    result = _invoke(flireo, *CALLS)
    _assert_inert(result)
    assert "c\\x1b[2J\\x1b]0;pwned\\x07" in result.stdout


def test_rule2_text_is_data_an_escape_in_a_vendor_error_is_shown_as_an_escape(flireo):
    flireo.faults.clear()
    body = {"error": {"code": "bad\x1b[31m", "message": "no \x1b]0;pwned\x07 way"}}
    flireo.faults.add(Fault(status=400, body=json.dumps(body).encode(), path="/usage"), None)
    result = _invoke(flireo, *CALLS)
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "[bad\\x1b[31m] no \\x1b]0;pwned\\x07 way" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_rule2_text_is_data_a_vendor_formula_is_inert_in_every_csv(flireo, tmp_path: Path):
    formula = '=HYPERLINK("http://evil","x")'
    _with_vendor_text(flireo, formula)
    fetched = _invoke(flireo, *CALLS, "--format", "csv")
    _assert_inert(fetched)
    target = tmp_path / "calls.csv"
    exported = _invoke(flireo, "export", "flireo", *WINDOW, "--output", str(target))
    assert exported.exit_code == 0, exported.stderr
    focus = tmp_path / "focus.csv"
    exported_focus = _invoke(flireo, "export", "flireo", *WINDOW, "--output", str(focus), "--focus")
    assert exported_focus.exit_code == 0, exported_focus.stderr
    for text in (fetched.stdout, target.read_text(encoding="utf-8")):
        cells = _csv_cells(text)
        assert "'" + formula in cells
        _no_live_formula(cells)
    _no_live_formula(_csv_cells(focus.read_text(encoding="utf-8")))


def test_rule4_figure_says_what_it_is_booleans_in_csv_are_written_as_in_json(flireo):
    flireo.faults.clear()
    fetched = _invoke(flireo, *CALLS, "--format", "csv")
    compared = _invoke(flireo, "compare", "flireo", *WINDOW, "--format", "csv")
    for result in (fetched, compared):
        assert result.exit_code == 0, result.stderr
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert rows and {row["cost_estimate"] for row in rows} <= {"true", "false"}


# -- the property: generated vendor text, every command ------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "[",
        "]",
        "[/]",
        "[/red]",
        "[bold]",
        "[link=http://x]",
        "\\",
        ":smile:",
        "\x1b[2J",
        "\x1b]0;t\x07",
        "\x9b31m",
        "\u202e",
        "\r",
        "\n",
        "\t",
        "=",
        "+",
        "-",
        "@",
        "=1+1",
        '"',
        ",",
    ]
)
_VENDOR_TEXT = st.lists(
    st.one_of(_FRAGMENTS, st.text("abc xyz019", min_size=1, max_size=4)), min_size=1, max_size=6
).map("".join)

_BY_NUMBER = ["compare", "flireo", *WINDOW, "--group-by", "number"]
_COMMANDS: list[tuple[list[str], Callable[[str], list[str]] | None]] = [
    (CALLS, None),
    ([*CALLS, "--format", "csv"], _csv_cells),
    ([*CALLS, "--group-by", "number"], None),
    (["balance", "flireo"], None),
    (_BY_NUMBER, None),
    ([*_BY_NUMBER, "--format", "csv"], _csv_cells),
    ([*_BY_NUMBER, "--format", "json"], None),
]


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict | list):
        for value in data.values() if isinstance(data, dict) else data:
            yield from _strings(value)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_VENDOR_TEXT)
def test_rule2_text_is_data_for_any_vendor_text_no_command_shows_markup_errors_escapes_or_formulas(
    flireo, tmp_path_factory, text
):
    _with_vendor_text(flireo, text)
    for args, cells in _COMMANDS:
        result = _invoke(flireo, *args)
        _assert_inert(result)
        if cells is not None:
            _no_live_formula(cells(result.stdout))
        if args[-1] == "json":  # JSON carries the text exactly, escaped by JSON itself
            assert any(text in value for value in _strings(json.loads(result.stdout)))
    exported = tmp_path_factory.mktemp("export") / "calls.csv"
    result = _invoke(flireo, "export", "flireo", *WINDOW, "--output", str(exported))
    _assert_inert(result)
    _no_live_formula(_csv_cells(exported.read_text(encoding="utf-8")))
