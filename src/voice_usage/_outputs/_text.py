"""Text that came from vendors or users is data: never terminal control, never a formula.

A call id, an organization name or a rate-card note may hold anything: an escape sequence that
clears the screen or retitles the window, a bidirectional override that reorders what a person
reads, or `=HYPERLINK(...)` that a spreadsheet runs when the CSV is opened. `visible()` shows
such characters as escapes for a terminal; `csv_cell()` keeps a CSV cell inert in a spreadsheet.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FORMULA_START", "csv_cell", "visible"]

_BIDI = "\u202a-\u202e\u2066-\u2069"
"""Bidirectional embeddings, overrides and isolates: they reorder the text around them."""

_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_IN_CSV = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
"""As `_CONTROL`, but tab and line feed stay: CSV quoting carries them (a lone carriage return
it would not quote, with the line feed as the row terminator)."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes as the start of a formula (OWASP's list)."""

_NUMBER = re.compile(r"[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
"""A plain figure, such as a refund's `-0.5`: a spreadsheet reads it as a number, never runs it."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_CONTROL_BUT_LINES = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}]")


def visible(text: str, *, lines: bool = False) -> str:
    r"""``text`` with every control character shown as an escape (`\x1b`), for a terminal.

    With ``lines``, line feeds stay: a table cell or a paragraph may run over several lines, and
    a line break acts on nothing else. A one-line message (an error) keeps none.
    """
    return (_CONTROL_BUT_LINES if lines else _CONTROL).sub(_escape, text)


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell that a spreadsheet shows and never runs.

    Text starting like a formula gets a leading `'` (the spreadsheets' own mark for "text"),
    unless it is a plain figure such as `-0.5`;
    control characters other than tab and line feed are shown as escapes. Booleans are
    written `true`/`false`, as in JSON. Other values pass unchanged.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return value
    if value.isprintable() and not value.startswith(FORMULA_START):
        return value  # the common case, found cheaply: every character escaped is unprintable
    value = _CONTROL_IN_CSV.sub(_escape, value)
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
