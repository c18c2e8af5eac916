"""The entry points of one group, read from the distributions' metadata folders on `sys.path`.

`importlib.metadata` finds them too, but importing it (with `email`, `zipfile`, `csv`, `pathlib`
and `importlib.resources`) takes longer than the rest of `voice-usage providers`' discovery
together. This module reads the plain case itself, the way `importlib.metadata.distributions()`
does: each folder on `sys.path` in turn, its `*.dist-info` and `*.egg-info` folders in the order
it lists them (grouped by normalized name), each one's `entry_points.txt`, and `Name` and `Version`
from the `METADATA` of those that have an entry point in the group.

Anything it does not read exactly as `importlib.metadata` would (a zip or an egg on the path, a
path entry that is not a string, another finder of distributions on `sys.meta_path`, a line or a
header it does not parse the same way, a file it cannot decode, a missing `METADATA`) makes
`read_entry_points` return None, and the caller asks `importlib.metadata`: the same entry points,
in the same order, either way. Editable installs made by uv, pip and hatchling keep their
`*.dist-info` folder with `entry_points.txt` in `site-packages`, so they are read here.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Sequence
from importlib.machinery import PathFinder
from typing import Any, NamedTuple

__all__ = ["EntryPoint", "Found", "read_entry_points"]

PATTERN = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
"""An entry point's value, `module[:attr.attr] [extras]`: `importlib.metadata.EntryPoint.pattern`."""

_SEPARATORS = re.compile(r"[-_.]+")

_UNREADABLE = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
"""What `importlib.metadata` takes for an absent file (`PathDistribution.read_text`)."""


class EntryPoint:
    """One entry point: what `importlib.metadata.EntryPoint` offers that discovery uses.

    A plain class, as `Found` is a named tuple: a dataclass compiles its methods when the module
    is imported, and this module is imported by every `voice-usage providers`.
    """

    __slots__ = ("group", "name", "value")

    def __init__(self, name: str, value: str, group: str) -> None:
        self.name = name
        self.value = value
        self.group = group

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntryPoint):
            return NotImplemented
        return (self.name, self.value, self.group) == (other.name, other.value, other.group)

    def __hash__(self) -> int:
        return hash((self.name, self.value, self.group))

    def load(self) -> Any:
        """The module or object the value names, imported as `importlib.metadata` does."""
        match = PATTERN.match(self.value)
        if match is None:  # read_entry_points passes only values that match
            raise ValueError(f"entry point {self.name!r}: malformed value {self.value!r}")
        module = importlib.import_module(match["module"])
        attrs = filter(None, (match["attr"] or "").split("."))
        return functools.reduce(getattr, attrs, module)


class Found(NamedTuple):
    """An entry point and the distribution that declares it."""

    entry_point: EntryPoint
    distribution: str
    """The distribution's `Name` as its metadata spells it (`voice-usage-flireo`)."""
    version: str


class _Unusual(Exception):
    """Something `importlib.metadata` should read: the caller falls back to it."""


def read_entry_points(group: str, path: Sequence[object] | None = None) -> list[Found] | None:
    """Every entry point of ``group`` on ``path`` (default `sys.path`), in discovery order.

    None when the installation holds anything this reader does not read exactly as
    `importlib.metadata.distributions()` would; the caller then asks `importlib.metadata`.
    Duplicates (one folder twice on the path, two versions of a distribution) are all returned,
    as `importlib.metadata` returns them.
    """
    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return None  # another source of distributions: only importlib.metadata asks it
    try:
        return [
            found
            for entry in (sys.path if path is None else path)
            for info in _metadata_folders(entry)
            for found in _declared(info, group)
        ]
    except _Unusual:
        return None


def _metadata_folders(entry: object) -> list[str]:
    """The `*.dist-info` and `*.egg-info` folders in one `sys.path` entry, in discovery order.

    As `importlib.metadata` orders them: by normalized distribution name in order of first
    appearance, and in the order listed within one name.
    """
    if not isinstance(entry, str):
        raise _Unusual
    try:
        children = os.listdir(entry or ".")
    except (FileNotFoundError, PermissionError):
        return []  # importlib.metadata finds nothing there either
    except OSError:
        raise _Unusual from None  # a zip or an egg file: importlib.metadata reads inside it
    is_egg = os.path.basename(entry).lower().endswith(".egg")
    grouped: dict[str, list[str]] = {}
    for child in children:
        low = child.lower()
        if low.endswith((".dist-info", ".egg-info")):
            name = low.rpartition(".")[0].partition("-")[0]
            normalized = _SEPARATORS.sub("-", name).lower().replace("-", "_")
            grouped.setdefault(normalized, []).append(os.path.join(entry, child))
        elif is_egg and low == "egg-info":
            raise _Unusual  # an unpacked egg
    return [info for infos in grouped.values() for info in infos]


def _read(info: str, filename: str) -> str | None:
    try:
        with open(os.path.join(info, filename), encoding="utf-8") as stream:
            return stream.read()
    except _UNREADABLE:
        return None
    except (OSError, UnicodeDecodeError):
        raise _Unusual from None


def _declared(info: str, group: str) -> list[Found]:
    """The entry points of ``group`` in one metadata folder, with its distribution's name."""
    text = _read(info, "entry_points.txt")
    if not text:
        return []
    entry_points = []
    section: str | None = None
    # Every section is parsed, as importlib.metadata parses them: a malformed line anywhere is
    # an error there, reproduced by falling back to it.
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section is None:
            continue  # before any section: importlib.metadata skips it
        name, sep, value = line.partition("=")
        if not sep:
            raise _Unusual
        if section == group:
            value = value.strip()
            if PATTERN.match(value) is None:
                raise _Unusual  # importlib.metadata fails on it only when it is loaded
            entry_points.append(EntryPoint(name.strip(), value, group))
    if not entry_points:
        return []
    name, version = _name_and_version(info)
    return [Found(entry_point, name, version) for entry_point in entry_points]


def _name_and_version(info: str) -> tuple[str, str]:
    """`Name` and `Version` from the headers of `METADATA`, as `email` parses them."""
    text = _read(info, "METADATA")
    if not text:
        raise _Unusual  # importlib.metadata then reads PKG-INFO, or the folder as a file
    headers: dict[str, str] = {}
    last = ""
    for line in text.split("\n"):
        if not line:
            break  # the headers end at the first blank line
        if line[0] in " \t":
            if last in ("name", "version"):
                raise _Unusual  # a folded value
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or line.startswith("From ") or not _is_header_name(key):
            raise _Unusual  # email would end the headers here, or read it otherwise
        last = key.lower()
        headers.setdefault(last, value.lstrip(" \t"))
    if "name" not in headers or "version" not in headers:
        raise _Unusual
    return headers["name"], headers["version"]


def _is_header_name(key: str) -> bool:
    return all("!" <= char <= "~" for char in key)
