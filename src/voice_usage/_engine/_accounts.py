"""Many accounts per provider: the `voice-usage.toml` file.

The file lists accounts per provider, each with a name and the environment variable that holds
its key; keys are never written in it::

    [[accounts.flireo]]
    name = "acme"
    api_key_env = "FLIREO_ACME_API_KEY"

    [[accounts.flireo]]
    name = "globex"
    api_key_env = "FLIREO_GLOBEX_API_KEY"
    base_url = "https://api.flireo.com/v1"     # optional

It is `voice-usage.toml` in the user config folder, or the file `VOICE_USAGE_CONFIG` names. A
key written into the file, an unknown field or a malformed name is a `ConfigurationError` (the
CLI exits 2) naming the file and the field.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice_usage._exceptions import ConfigurationError

__all__ = ["CONFIG_ENV", "Account", "AccountsConfig", "default_config_path", "load_accounts"]

CONFIG_ENV = "VOICE_USAGE_CONFIG"
"""Environment variable naming the accounts file."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELDS = {"name", "api_key_env", "base_url"}
_SECRET_FIELDS = {"api_key", "key", "token", "secret", "password", "auth_token", "api_secret"}


def default_config_path() -> Path:
    """`voice-usage.toml` in the user config folder."""
    import platformdirs

    return platformdirs.user_config_path("voice-usage", appauthor=False) / "voice-usage.toml"


@dataclass(frozen=True)
class Account:
    """One named account of a provider."""

    provider: str
    name: str
    """The account's name: records synced from it carry it in `account`."""
    api_key_env: str
    """The environment variable that holds the account's key."""
    base_url: str | None = None

    def api_key(self) -> str | None:
        """The key, read from `api_key_env` now; `None` when the variable is unset or empty."""
        return os.environ.get(self.api_key_env) or None

    def connection_options(self) -> dict[str, Any]:
        """The `Connection` arguments that reach this account."""
        options: dict[str, Any] = {"account": self.name, "api_key_env": self.api_key_env}
        if self.base_url:
            options["base_url"] = self.base_url
        return options


@dataclass(frozen=True)
class AccountsConfig:
    """The accounts file, read."""

    path: Path | None
    """Where it was read from; `None` when there is no file (no named accounts)."""
    accounts: tuple[Account, ...] = ()

    def for_provider(self, provider: str) -> list[Account]:
        """The accounts listed for ``provider``, in file order."""
        return [a for a in self.accounts if a.provider == provider]

    def get(self, provider: str, name: str) -> Account:
        """The account ``name`` of ``provider``.

        Raises:
            ConfigurationError: when the file lists no such account.
        """
        for account in self.accounts:
            if account.provider == provider and account.name == name:
                return account
        listed = ", ".join(a.name for a in self.for_provider(provider)) or "none"
        where = str(self.path) if self.path else f"no accounts file (set {CONFIG_ENV})"
        raise ConfigurationError(
            f"--account {name!r}: {provider} has no account by that name in {where} "
            f"(accounts listed: {listed})"
        )


def load_accounts(path: str | os.PathLike[str] | None = None) -> AccountsConfig:
    """Read the accounts file: ``path``, else `VOICE_USAGE_CONFIG`, else the default file.

    A missing default file means no named accounts; a missing file that was named is an error.

    Raises:
        ConfigurationError: naming the file and the field, for anything the file must not hold.
    """
    named = path is not None or bool(os.environ.get(CONFIG_ENV, "").strip())
    file = Path(
        path
        if path is not None
        else os.environ.get(CONFIG_ENV, "").strip() or default_config_path()
    )
    if not file.exists():
        if named:
            raise ConfigurationError(f"accounts file {file}: no such file ({CONFIG_ENV})")
        return AccountsConfig(None)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"accounts file {file}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"accounts file {file}: not valid TOML: {exc}") from None
    return AccountsConfig(file, tuple(_accounts(file, data)))


def _accounts(file: Path, data: dict[str, Any]) -> list[Account]:
    unknown = sorted(set(data) - {"accounts"})
    if unknown:
        raise ConfigurationError(
            f"accounts file {file}: unknown field {unknown[0]!r}; the file holds only "
            "[[accounts.PROVIDER]] tables"
        )
    providers = data.get("accounts", {})
    if not isinstance(providers, dict):
        raise ConfigurationError(
            f"accounts file {file}: accounts must be tables per provider ([[accounts.flireo]])"
        )
    found: list[Account] = []
    for provider, entries in providers.items():
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigurationError(
                f"accounts file {file}: accounts.{provider} must be a list of tables "
                f"([[accounts.{provider}]])"
            )
        names: set[str] = set()
        for index, entry in enumerate(entries, 1):
            where = f"accounts file {file}: accounts.{provider} #{index}"
            secrets = sorted(set(entry) & _SECRET_FIELDS)
            if secrets:
                raise ConfigurationError(
                    f"{where}: {secrets[0]} is a key written into the file; keys never go in "
                    "it: put the key in an environment variable and name that in api_key_env"
                )
            extra = sorted(set(entry) - _FIELDS)
            if extra:
                raise ConfigurationError(
                    f"{where}: unknown field {extra[0]!r} (expected name, api_key_env, base_url)"
                )
            name, env = entry.get("name"), entry.get("api_key_env")
            if not isinstance(name, str) or not _NAME.match(name):
                raise ConfigurationError(
                    f"{where}: name must be letters, digits, '.', '_' or '-' (at most 64), "
                    f"got {name!r}"
                )
            if name in names:
                raise ConfigurationError(f"{where}: account {name!r} is listed twice")
            names.add(name)
            if not isinstance(env, str) or not _ENV_NAME.match(env):
                # Never echo the value: it may be the key itself, pasted in the wrong place.
                raise ConfigurationError(
                    f"{where} ({name}): api_key_env must name an environment variable "
                    "(letters, digits and '_', e.g. FLIREO_ACME_API_KEY), not hold the key"
                )
            base_url = entry.get("base_url")
            if base_url is not None and not isinstance(base_url, str):
                raise ConfigurationError(f"{where} ({name}): base_url must be a URL string")
            found.append(Account(provider, name, env, base_url))
    return found
