"""What a provider is: an object that describes requests and parses responses.

A provider never performs I/O. For a `UsageQuery` it returns a `FetchPlan` (`_plan`): the `Walk`s to make
(a path, query parameters, how the endpoint pages, how to parse one page) and a function that
turns the parsed pages into `UsageRecord`s. The core runs the plan: it owns the HTTP client,
retries, rate limits, pagination guards, sync or async execution and concurrency. So a provider's
logic is written once and serves every way of fetching.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voice_usage._enums import Granularity
from voice_usage._exceptions import ConfigurationError, UnsupportedQueryError

if TYPE_CHECKING:
    # Annotations only: a provider's declaration, and `voice-usage providers`, load no pydantic,
    # nor the plan's types (`_plan`), which a provider needs only when it is used.
    from voice_usage._engine._plan import AccountFacts, FetchPlan, VendorError, Walk
    from voice_usage._pricing._ratecard import RateBook
    from voice_usage._schema import UsageQuery

__all__ = [
    "API_KEY",
    "ApiKeyHeaderAuth",
    "AuthScheme",
    "BasicAuth",
    "BearerAuth",
    "Capabilities",
    "Credential",
    "Provider",
    "ProviderDeclaration",
    "RateLimit",
    "check_page_size",
    "credentials_problem",
]

API_KEY = "api_key"
"""The name of the one credential most providers have: the key in `<NAME>_API_KEY`."""


@dataclass(frozen=True)
class Credential:
    """One value a provider authenticates with, read from an environment variable of its own.

    Most providers need one, the default: `api_key` from `<NAME>_API_KEY`. A vendor whose users
    already keep credentials under other names (Twilio's `TWILIO_ACCOUNT_SID` and
    `TWILIO_AUTH_TOKEN`) declares them in `Provider.credentials`.
    """

    name: str
    """The key in the connection's credentials, e.g. `auth_token`; `api_key=` sets `api_key`."""
    env: str
    """The environment variable it is read from, e.g. `TWILIO_AUTH_TOKEN`."""
    description: str
    """What it is, for messages: `auth token`."""
    secret: bool = True
    """Redacted from every output. A non-secret one (an account id) may be placed in paths:
    a `Walk.path` containing `{name}` gets the value, URL-quoted."""
    required: bool = True
    """Needed whatever the auth scheme uses; otherwise the scheme says which it needs."""


class AuthScheme(ABC):
    """How a provider sends its credentials."""

    @abstractmethod
    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        """The request headers that carry ``credentials`` (by `Credential.name`)."""

    @property
    @abstractmethod
    def header_names(self) -> tuple[str, ...]:
        """Names of the headers that carry the key (stripped before any cross-origin request)."""

    @property
    def description(self) -> str:
        """A short human description, e.g. `Bearer token`."""
        return ", ".join(self.header_names)

    @property
    def requires(self) -> tuple[tuple[str, ...], ...]:
        """Sets of credential names, any one of which is enough, in order of preference."""
        return ((API_KEY,),)


@dataclass(frozen=True)
class BearerAuth(AuthScheme):
    """`Authorization: Bearer <key>`."""

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials[API_KEY]}"}

    @property
    def header_names(self) -> tuple[str, ...]:
        return ("Authorization",)

    @property
    def description(self) -> str:
        return "Authorization: Bearer"


@dataclass(frozen=True)
class ApiKeyHeaderAuth(AuthScheme):
    """The raw key in a header of its own, e.g. `X-API-Key: <key>`."""

    header: str = "X-API-Key"

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        return {self.header: credentials[API_KEY]}

    @property
    def header_names(self) -> tuple[str, ...]:
        return (self.header,)

    @property
    def description(self) -> str:
        return f"{self.header} header"


class BasicAuth(AuthScheme):
    """HTTP Basic from a pair of credentials: the first pair whose two values are both set.

    `BasicAuth(("account_sid", "auth_token"), ("api_key", "api_secret"))` sends the account SID
    and auth token, or an API key and its secret when the token is not set.
    """

    def __init__(self, *pairs: tuple[str, str]) -> None:
        if not pairs:
            raise ValueError("BasicAuth needs at least one (user name, password) pair")
        self.pairs = pairs

    def __repr__(self) -> str:
        return f"BasicAuth{self.pairs!r}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BasicAuth) and other.pairs == self.pairs

    def __hash__(self) -> int:
        return hash(self.pairs)

    def headers(self, credentials: Mapping[str, str]) -> dict[str, str]:
        for user, password in self.pairs:
            if credentials.get(user) and credentials.get(password):
                import base64  # here: listing providers needs no codec

                token = f"{credentials[user]}:{credentials[password]}".encode()
                return {"Authorization": f"Basic {base64.b64encode(token).decode('ascii')}"}
        raise KeyError(f"no complete pair among {self.pairs}")

    @property
    def header_names(self) -> tuple[str, ...]:
        return ("Authorization",)

    @property
    def description(self) -> str:
        return "HTTP Basic"

    @property
    def requires(self) -> tuple[tuple[str, ...], ...]:
        return self.pairs


def credentials_problem(provider: Provider, credentials: Mapping[str, str]) -> str | None:
    """What is missing for ``provider`` to authenticate with ``credentials``, or `None`.

    The message names the environment variables to set, never a value.
    """
    spec = {credential.name: credential for credential in provider.credential_spec}

    def env(name: str) -> str:
        return spec[name].env if name in spec else name

    def what(name: str) -> str:
        return spec[name].description if name in spec else name

    for credential in provider.credential_spec:
        if credential.required and not credentials.get(credential.name):
            return f"{provider.name}: no {credential.description}; set {credential.env}"
    alternatives = provider.auth.requires
    if any(all(credentials.get(name) for name in names) for names in alternatives):
        return None
    first, *others = alternatives
    missing = [name for name in first if not credentials.get(name)]
    message = f"{provider.name}: no {' and '.join(what(n) for n in missing)}; set "
    message += " and ".join(env(n) for n in first)
    if others:
        message += " (or " + ", or ".join(" and ".join(env(n) for n in o) for o in others) + ")"
    if first == (API_KEY,):
        message += " or pass api_key="
    return message


@dataclass(frozen=True)
class RateLimit:
    """A vendor's documented request budget, kept client-side before the vendor says 429.

    When responses carry `X-RateLimit-Remaining` and `X-RateLimit-Reset`, those headers win.
    """

    requests: int
    """Requests allowed per window."""
    per_seconds: float
    """Window length in seconds."""


@dataclass(frozen=True)
class Capabilities:
    """What a provider can answer. Shown by `voice-usage providers`."""

    granularities: frozenset[Granularity]
    """Granularities the vendor reports natively; coarser ones are rolled up by the core."""
    filters: frozenset[str] = frozenset()
    """Filters understood: `agent`, `number`, and provider-specific option names. An option
    family is declared with a `<key>` suffix: `metadata.<key>` accepts `metadata.team`."""
    reports_cost: bool = False
    """Whether the vendor's API reports money; otherwise cost comes from a rate card."""
    balance: bool = False
    """Whether `balance()` gives an account snapshot (credits, plan limits)."""
    implemented: bool = True
    """False for a registered provider whose adapter is not written yet."""
    max_history_days: int | None = None
    """How far back the API reaches, in days, when it is limited."""
    lookback_days: int = 3
    """Days a sync re-reads before its watermark, for usage the vendor bills or corrects late."""
    notes: tuple[str, ...] = ()
    """What the vendor's API cannot tell, in a sentence each."""
    never_reports: frozenset[str] = frozenset()
    """Record figures the vendor's API never gives (`failed_calls`, say): a period without
    records shows them unknown, never an invented 0."""
    granularities_by_option: tuple[tuple[str, frozenset[Granularity]], ...] = ()
    """Granularities reported instead of `granularities` when an option is set, as
    `("name=value", granularities)` pairs: Vapi's `source=analytics` reads hour and day sums,
    no calls."""

    def reported(self, options: Mapping[str, str] | None = None) -> frozenset[Granularity]:
        """The granularities reported under ``options`` (`granularities` unless one changes them)."""
        changing = self.granularity_option(options)
        return dict(self.granularities_by_option)[changing] if changing else self.granularities

    def granularity_option(self, options: Mapping[str, str] | None = None) -> str | None:
        """The `name=value` among ``options`` that changes the granularities reported, if any."""
        chosen = {f"{name}={value}" for name, value in (options or {}).items()}
        return next((o for o, _ in self.granularities_by_option if o in chosen), None)

    def native(
        self, wanted: Granularity, options: Mapping[str, str] | None = None
    ) -> Granularity | None:
        """The coarsest granularity reported that is at least as fine as ``wanted``, if any.

        Records at that granularity roll up exactly into ``wanted`` windows. ``options`` are
        the query's (an option may change what is reported, see `granularities_by_option`).
        """
        granularities = self.reported(options)
        if wanted in granularities:
            return wanted
        finer = [g for g in granularities if g.rank < wanted.rank]
        return max(finer, key=lambda g: g.rank) if finer else None

    def accepts_option(self, name: str) -> bool:
        """Whether ``name`` is a declared option, or belongs to a declared `prefix.<key>` family."""
        if name in self.filters:
            return True
        prefix, dot, rest = name.partition(".")
        return bool(dot and rest and f"{prefix}.<key>" in self.filters)

    def check(self, provider: str, query: UsageQuery) -> None:
        """Refuse, before any request, a filter or option the provider does not declare.

        Raises:
            UnsupportedQueryError: naming the filter or option, and what the provider understands.
        """
        if query.agent_ids and "agent" not in self.filters:
            raise UnsupportedQueryError(provider, "the API has no agent filter")
        if query.number_ids and "number" not in self.filters:
            raise UnsupportedQueryError(provider, "the API has no phone-number filter")
        unknown = sorted(name for name in query.options if not self.accepts_option(name))
        if unknown:
            options = sorted(self.filters - {"agent", "number"})
            known = f"it understands: {', '.join(options)}" if options else "it takes no options"
            raise UnsupportedQueryError(
                provider, f"unknown option {', '.join(repr(n) for n in unknown)} ({known})"
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "granularities": sorted(g.value for g in self.granularities),
            "filters": sorted(self.filters),
            "reports_cost": self.reports_cost,
            "balance": self.balance,
            "implemented": self.implemented,
            "max_history_days": self.max_history_days,
            "lookback_days": self.lookback_days,
            "notes": list(self.notes),
        }


def check_page_size(page_size: int, maximum: int) -> int:
    """``page_size`` when a list endpoint allows it (1 to ``maximum`` items a page).

    Raises:
        ValueError: it is out of range (a programming error: providers take it as an argument).
    """
    if not 1 <= page_size <= maximum:
        raise ValueError(f"page_size must be between 1 and {maximum}, got {page_size}")
    return page_size


class Provider(ABC):
    """Base class of a vendor adapter. Subclass it and register an instance from the hook.

    Class attributes describe the vendor; `plan()` describes how to answer a query.

    To list providers without importing their parsing code, declare one with a
    `ProviderDeclaration` and implement it in a subclass imported on first use.
    """

    name: str
    """Public name, the same as the entry-point name, e.g. `flireo`."""
    title: str
    """Human name, e.g. `Flireo`."""
    auth: AuthScheme
    """How the credentials are sent."""
    credentials: tuple[Credential, ...] = ()
    """The provider's credentials when one `<NAME>_API_KEY` does not fit; see `Credential`."""
    default_base_url: str
    """Base URL used unless `<NAME>_BASE_URL` or an argument overrides it."""
    capabilities: Capabilities
    """What the provider can answer."""
    rate_limit: RateLimit | None = None
    """The vendor's documented request budget, if any."""
    docs_url: str | None = None
    """Where the vendor documents its usage API."""

    def resolved(self) -> Provider:
        """The provider that does the work: itself (a declaration answers its implementation)."""
        return self

    @property
    def env_prefix(self) -> str:
        """Prefix of the provider's environment variables: `FLIREO` for `FLIREO_API_KEY`."""
        return self.name.upper().replace("-", "_")

    @property
    def credential_spec(self) -> tuple[Credential, ...]:
        """`credentials`, or by default the one `api_key` read from `<NAME>_API_KEY`."""
        # Not `required`: the auth scheme asks for it, and its message says how to pass it.
        default = Credential(API_KEY, f"{self.env_prefix}_API_KEY", "API key", required=False)
        return self.credentials or (default,)

    @abstractmethod
    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Any]:
        """Describe how to answer ``query``.

        Called with a granularity from `capabilities.granularities`, and only with the filters
        and options that `capabilities.filters` declares (the core refuses the others). Raise
        `UnsupportedQueryError` when the vendor's API cannot answer it.

        Args:
            query: What to fetch.
            rates: The rate cards the connection prices with; a provider whose API reports no
                money prices its records from them. `None` (a direct call, as in a unit test)
                means `default_rate_book()`.
        """

    def balance(self) -> Walk[Any] | None:
        """A single-page walk whose one item is an account snapshot, or `None` if unsupported."""
        return None

    def emulator(self, api_key: str) -> Any:
        """A `voice_usage.emulator.Emulator` of the vendor's API for the demo and tests, or `None`."""
        return None

    def account_facts(self, snapshot: Any) -> AccountFacts | None:
        """What ``snapshot`` (the item `balance()` reads) says about the plan and numbers held.

        The default, `None`, means the snapshot tells nothing fixed charges depend on.
        """
        return None

    def billing_query(self, query: UsageQuery) -> UsageQuery | None:
        """A query whose records carry the vendor's authoritative billed totals, or `None`.

        Some vendors keep a billing ledger apart from their call list (a call deleted later
        still counts on the invoice). A provider with such an endpoint returns ``query`` with the
        options that select it; `compare` then takes billed minutes and cost for each period from
        those records, and calls and durations from ``query``'s. The default, `None`, means the
        usage records already are the billed figures.
        """
        return None

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        """Reduce an error response body to the vendor's code and message."""
        from voice_usage._engine._plan import parse_vendor_error

        return parse_vendor_error(body)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def json_body(content: bytes) -> Any:
    """Decode a JSON body; a `ValueError` on anything else (an HTML page, a body cut short)."""
    import json  # here: listing providers decodes nothing

    return json.loads(content)


class ProviderDeclaration(Provider):
    """A provider's class attributes alone, in a module that imports nothing heavy.

    `voice-usage providers` and the registry read a provider from its declaration; the class
    named by `implementation` subclasses it (so it inherits the attributes, written once),
    implements `plan()` and the rest, and lives in a module imported when the provider is first
    used. Until then the declaration's methods hand over to it::

        class Acme(ProviderDeclaration):          # acme/__init__.py, registered from the hook
            implementation = "acme._provider:AcmeProvider"
            name = "acme"
            ...

        class AcmeProvider(Acme):                 # acme/_provider.py, with the wire models
            def plan(self, query, rates=None): ...
    """

    implementation: str
    """`module:Class` of the subclass that implements this declaration."""

    def resolved(self) -> Provider:
        """The instance of `implementation` that does the work, imported on the first call.

        An instance of the implementation (which inherits this method) is its own.

        Raises:
            ConfigurationError: the implementation cannot be imported, or is not a subclass of
                this declaration.
        """
        loaded: Provider | None = self.__dict__.get("_resolved")
        if loaded is None:
            path = self.implementation
            module, _, attribute = path.partition(":")
            try:
                found = getattr(importlib.import_module(module), attribute)
            except Exception as exc:
                raise ConfigurationError(
                    f"{self.name}: its implementation {path} failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if isinstance(self, found):
                loaded = self
            elif isinstance(found, type) and issubclass(found, type(self)):
                loaded = found()
            else:
                raise ConfigurationError(
                    f"{self.name}: its implementation {path} is not a subclass of "
                    f"{type(self).__name__}"
                )
            self.__dict__["_resolved"] = loaded
        return loaded

    # The implementation inherits these too: where it defines none of its own, the base class's
    # applies (`plan` excepted, which it must define).

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Any]:
        target = self.resolved()
        if target is self:
            raise TypeError(f"{type(self).__name__} implements no plan()")
        return target.plan(query, rates)

    def balance(self) -> Walk[Any] | None:
        target = self.resolved()
        return Provider.balance(self) if target is self else target.balance()

    def emulator(self, api_key: str) -> Any:
        target = self.resolved()
        return Provider.emulator(self, api_key) if target is self else target.emulator(api_key)

    def account_facts(self, snapshot: Any) -> AccountFacts | None:
        target = self.resolved()
        if target is self:
            return Provider.account_facts(self, snapshot)
        return target.account_facts(snapshot)

    def billing_query(self, query: UsageQuery) -> UsageQuery | None:
        target = self.resolved()
        if target is self:
            return Provider.billing_query(self, query)
        return target.billing_query(query)

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        target = self.resolved()
        if target is self:
            return Provider.parse_error(self, status_code, body)
        return target.parse_error(status_code, body)
