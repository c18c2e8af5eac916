"""The CLI's consoles: one for tables on stdout, one for messages on stderr, both showing text as data.

Apart from `_render`, so that a command printing a plain table (`providers`) loads rich's console
without the comparison and serialization code.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from voice_usage._outputs._text import visible

__all__ = ["DataConsole", "stderr_console", "stdout_console"]


class DataConsole(Console):
    """A console that prints strings as data: no markup, no emoji codes, no live control.

    Table cells, titles and lines hold vendors' and users' text (a call id `call[/red]x`, an
    organization `Evil [/bold] Org`, a rate-card note): Rich would read `[...]` as markup, and
    crash or silently rewrite it, and pass escape sequences to the terminal. Here every string
    is shown as it is, control characters as escapes. The program's own styling uses styles
    (`header_style`, `style=`), or `markup=True` on a print of its own text.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        """The string as `Text`, control characters but line feeds shown as escapes."""
        return super().render_str(visible(text, lines=True), **options)


def stderr_console() -> Console:
    """A console for messages on stderr."""
    return DataConsole(stderr=True, soft_wrap=True)


def stdout_console() -> Console:
    """A console for tables on stdout; wide when piped, so rows do not wrap in files."""
    console = DataConsole()
    if not console.is_terminal:
        console = DataConsole(width=200)
    return console
