"""What a provider's plan is made of: the walks to make, their pages, and what a fetch reports.

A provider's `plan()` returns a `FetchPlan`: `Walk`s (an endpoint, its parameters, how it pages,
how to parse one `Page`) and a function that turns the pages into records, filling a
`FetchReport`. Apart from `_provider` because listing providers needs none of it: these are
dataclasses, which Python builds when the module is imported, and `voice-usage providers`
imports `_provider` but not this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from voice_usage._enums import Granularity
    from voice_usage._schema import UsageRecord

__all__ = [
    "AccountFacts",
    "CursorPaging",
    "FetchPlan",
    "FetchReport",
    "OffsetPaging",
    "Page",
    "ParamValue",
    "Reconciliation",
    "TokenPaging",
    "VendorError",
    "Walk",
    "parse_vendor_error",
]

T = TypeVar("T")

ParamValue = str | int | Sequence[str]
"""A query parameter value: a sequence repeats the key (`agentIds=a&agentIds=b`)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One parsed response page."""

    items: Sequence[T]
    """The page's items, in the vendor's order."""
    total: int | None = None
    """For offset paging: how many items the whole walk has, when the vendor says."""
    next_url: str | None = None
    """For cursor paging: the next page, followed verbatim: an absolute URL on the base URL's
    origin, or a path (with its query) relative to the base URL, as Twilio's `next_page_uri`;
    `None` at the end."""
    next_token: str | None = None
    """For token paging: the token that asks for the next page; `None` at the end."""
    meta: Any = None
    """Anything else the page carried that the provider wants later (a summary, a period)."""


@dataclass(frozen=True)
class OffsetPaging:
    """`limit`/`offset` pages with a `total`; the core walks to the last page."""

    limit: int
    """Page size to request."""
    limit_param: str = "limit"
    offset_param: str = "offset"
    max_pages: int = 10_000
    """A walk longer than this raises `PaginationError` rather than truncating."""


@dataclass(frozen=True)
class CursorPaging:
    """Pages linked by a `next` URL or path, followed exactly as given.

    DRF's absolute `next` and Twilio's `next_page_uri` (a path relative to the base URL) both
    work; one that leads to another origin is refused.
    """

    max_pages: int = 10_000
    """A walk longer than this raises `PaginationError` rather than truncating."""


@dataclass(frozen=True)
class TokenPaging:
    """Pages linked by a token each page carries (`Page.next_token`), sent back with the next request.

    The token goes in the query string, or in the JSON body of a `POST` walk, under ``param``;
    everything else about the request stays as it was. A token seen twice raises
    `PaginationError` (a loop), as does a walk longer than ``max_pages``.
    """

    param: str
    """Name of the query parameter or body field that carries the token, e.g. `pagination_key`."""
    location: Literal["query", "body"] = "query"
    """Where the token is sent: the query string, or the JSON body (a `POST` walk)."""
    max_pages: int = 10_000
    """A walk longer than this raises `PaginationError` rather than truncating."""


@dataclass(frozen=True)
class Walk(Generic[T]):
    """One endpoint to read, page by page."""

    path: str
    """Path relative to the provider's base URL, e.g. `/usage`. `{name}` stands for the value of
    a non-secret credential (`/Accounts/{account_sid}/Calls.json`)."""
    parse: Callable[[bytes], Page[T]]
    """Turns one response body into a page. Raise pydantic's `ValidationError` or `ValueError`
    on a body of the wrong shape; the core reports it as `ResponseValidationError`."""
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    """Query parameters of the first request (paging parameters are added by the core)."""
    paging: OffsetPaging | CursorPaging | TokenPaging | None = None
    """How the endpoint pages; `None` for a single response."""
    method: Literal["GET", "POST"] = "GET"
    """`POST` for a read that takes its query as a JSON body (a search endpoint). Such a read
    changes nothing on the server, so it is retried like a `GET`."""
    body: Mapping[str, Any] | None = None
    """The JSON body of a `POST` walk's first request (token paging adds its token to it)."""
    fallback: Walk[T] | None = None
    """Read instead when the first request answers 404 (a deployment without this endpoint,
    say a newer list endpoint next to the older one); `None` to report the 404."""


@dataclass(frozen=True)
class Reconciliation:
    """One check of the sum of the items against a total the vendor reported."""

    figure: str
    """What was compared, e.g. `calls` or `duration_seconds`."""
    reported: Decimal
    """The vendor's total."""
    computed: Decimal
    """The sum of the records voice-usage produced."""
    tolerance: Decimal = Decimal(0)

    @property
    def ok(self) -> bool:
        """Whether the two agree within `tolerance`."""
        return abs(self.reported - self.computed) <= self.tolerance

    def __str__(self) -> str:
        verdict = "matches" if self.ok else "MISMATCH"
        return f"{self.figure}: vendor reported {self.reported}, records sum to {self.computed} ({verdict})"


class FetchReport:
    """What a fetch noticed besides the records: reconciliations and warnings.

    Filled while the records are consumed; complete once the record iterator is exhausted.
    """

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.warnings: list[str] = []
        self.reconciliations: list[Reconciliation] = []
        self.requests = 0
        self.dropped_duplicates = 0

    def __repr__(self) -> str:
        return (
            f"<FetchReport {self.provider!r}: {self.requests} request(s), "
            f"{len(self.warnings)} warning(s), {len(self.reconciliations)} reconciliation(s)>"
        )

    def warn(self, message: str) -> None:
        """Record a warning the caller must see (the CLI prints it on stderr)."""
        self.warnings.append(message)

    def reconcile(
        self,
        figure: str,
        *,
        reported: Decimal | int,
        computed: Decimal | int,
        tolerance: Decimal | int = 0,
    ) -> Reconciliation:
        """Compare a vendor total with the records' sum; a mismatch also becomes a warning."""
        check = Reconciliation(figure, Decimal(reported), Decimal(computed), Decimal(tolerance))
        self.reconciliations.append(check)
        if not check.ok:
            self.warn(f"{self.provider}: reconciliation {check}")
        return check

    @property
    def reconciled(self) -> bool:
        """True when every reconciliation agreed (vacuously true when none was possible)."""
        return all(check.ok for check in self.reconciliations)


@dataclass(frozen=True)
class FetchPlan(Generic[T]):
    """How to answer one query: the walks to make, and how their pages become records."""

    walks: Sequence[Walk[T]]
    """Endpoints to read; their pages reach `to_records` in this order."""
    to_records: Callable[[Iterator[Page[T]], FetchReport], Iterable[UsageRecord]]
    """Turns the pages into records. Must be lazy: records are streamed, never all held."""
    granularity: Granularity
    """The granularity of the records produced; the core rolls them up if the query wants coarser."""


@dataclass(frozen=True)
class VendorError:
    """A vendor's error body, reduced to a code and a message."""

    code: str | None = None
    message: str | None = None


def parse_vendor_error(body: Any) -> VendorError:
    """Read the common error body shapes.

    Handles `{"error": "code", "message": "..."}`, `{"error": {"code", "message"}}`,
    `{"detail": "..."}`, FastAPI's `{"detail": [{"loc", "msg"}]}` and DRF field maps
    `{"field": ["message"]}`.
    """
    if not isinstance(body, dict):
        return VendorError(message=body.strip()[:200] if isinstance(body, str) and body else None)
    error = body.get("error")
    if isinstance(error, dict):
        return VendorError(_str_or_none(error.get("code")), _str_or_none(error.get("message")))
    if isinstance(error, str):
        return VendorError(error, _str_or_none(body.get("message")))
    detail = body.get("detail")
    if isinstance(detail, str):
        return VendorError(_str_or_none(body.get("code")), detail)
    if isinstance(detail, list):
        return VendorError("validation_error", "; ".join(_describe_detail(d) for d in detail))
    if body and all(isinstance(v, list) for v in body.values()):
        messages = [f"{key}: {' '.join(map(str, value))}" for key, value in body.items()]
        return VendorError("validation_error", "; ".join(messages))
    return VendorError(_str_or_none(body.get("code")), _str_or_none(body.get("message")))


def _describe_detail(item: Any) -> str:
    if isinstance(item, dict):
        loc = ".".join(str(part) for part in item.get("loc", ()) if part != "query")
        msg = item.get("msg", item.get("message", ""))
        return f"{loc}: {msg}" if loc else str(msg)
    return str(item)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class AccountFacts:
    """What a vendor's account snapshot says that fixed monthly charges depend on.

    Compare and reprice add a rate card's fixed charges (`[[fixed]]` lines) from these: a plan's
    subscription when `plan` names it, a price per number times `numbers`. `None` means the
    vendor does not say.
    """

    plan: str | None = None
    """The account's plan or subscription tier as the vendor names it (`PRO`, `pro`...)."""
    numbers: int | None = None
    """Phone numbers the account holds."""
