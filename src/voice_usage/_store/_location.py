"""Where the store is: a path, `sqlite:///path` or `postgresql://...`, and how it is named in messages.

`VOICE_USAGE_STORE` chooses it when no `--store`/`store=` is given; otherwise a SQLite file in
the user data folder (`platformdirs`). A PostgreSQL URL's password is never shown: messages
name the store by `StoreLocation.shown`, which masks it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

__all__ = ["STORE_ENV", "StoreLocation", "default_store_path", "resolve_location"]

STORE_ENV = "VOICE_USAGE_STORE"
"""Environment variable naming the store: a path, `sqlite:///path` or `postgresql://...`."""

_STORE_FILE = "usage.sqlite3"


def default_store_path() -> Path:
    """The SQLite file used when nothing names a store: `usage.sqlite3` in the user data folder."""
    import platformdirs

    return platformdirs.user_data_path("voice-usage", appauthor=False) / _STORE_FILE


@dataclass(frozen=True)
class StoreLocation:
    """A store's address, parsed."""

    kind: Literal["sqlite", "postgresql"]
    target: str
    """The SQLite file's path, or the PostgreSQL connection URL (password included)."""
    default: bool = False
    """True for the default file in the user data folder (its folder is created on demand)."""

    @property
    def shown(self) -> str:
        """How messages name the store: the path, or the URL with its password masked."""
        if self.kind == "sqlite":
            return self.target
        return mask_password(self.target)


def mask_password(url: str) -> str:
    """``url`` with the password (if any) replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def resolve_location(store: str | os.PathLike[str] | None = None) -> StoreLocation:
    """The store named by ``store``, else by `VOICE_USAGE_STORE`, else the default file.

    Raises:
        ValueError: for an URL whose scheme is neither `sqlite` nor `postgresql`.
    """
    if store is None:
        store = os.environ.get(STORE_ENV, "").strip() or None
    if store is None:
        return StoreLocation("sqlite", str(default_store_path()), default=True)
    text = os.fspath(store)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return StoreLocation("sqlite", text)
    scheme = scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative/or/absolute: the path is everything after the third slash, as
        # SQLAlchemy reads it, so sqlite:////abs and sqlite:///rel both work.
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise ValueError(f"store {text!r}: a sqlite URL needs a path (sqlite:///path)")
        return StoreLocation("sqlite", path)
    if scheme in ("postgresql", "postgres"):
        return StoreLocation("postgresql", text)
    raise ValueError(
        f"store {mask_password(text)!r}: expected a path, sqlite:///path or postgresql://..., "
        f"not a {scheme}:// URL"
    )
