"""voice-usage: what your voice AI minutes cost, across vendors.

Fetch usage from each vendor's API, normalized into one `UsageRecord` schema::

    import voice_usage

    with voice_usage.connect("flireo") as flireo:          # FLIREO_API_KEY from the environment
        result = flireo.fetch("2026-10-01", "2026-11-01", granularity="day")
        for record in result:
            print(record.period_start, record.calls, record.cost, record.currency)
        print(result.warnings)                             # e.g. a reconciliation mismatch
"""

from voice_usage._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InsecureBaseURLError,
    MissingCredentialsError,
    NotFoundError,
    PaginationError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProviderError,
    ProviderNotFoundError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    TransportError,
    UnprocessableEntityError,
    UnsafeRedirectError,
    UnsupportedQueryError,
    VoiceUsageError,
)
from voice_usage._fetch import Connection, FetchResult, connect, fetch
from voice_usage._plugins import Registry, load_registry
from voice_usage._provider import (
    ApiKeyHeaderAuth,
    AuthScheme,
    BearerAuth,
    Capabilities,
    CursorPaging,
    FetchPlan,
    FetchReport,
    OffsetPaging,
    Page,
    Provider,
    RateLimit,
    Reconciliation,
    VendorError,
    Walk,
)
from voice_usage._ratecard import (
    Rate,
    RateBook,
    RateCardError,
    default_rate_book,
    load_rate_book,
    price_record,
)
from voice_usage._retry import RetryPolicy
from voice_usage._rollup import Totals, rollup
from voice_usage._schema import CostSource, Grain, Granularity, UsageQuery, UsageRecord
from voice_usage._serialize import read_jsonl, write_csv, write_json, write_jsonl
from voice_usage._version import __version__
from voice_usage.hookspecs import hookimpl

__all__ = [
    "APIStatusError",
    "ApiKeyHeaderAuth",
    "AuthScheme",
    "AuthenticationError",
    "BadRequestError",
    "BearerAuth",
    "Capabilities",
    "ConfigurationError",
    "ConflictError",
    "Connection",
    "CostSource",
    "CursorPaging",
    "FetchPlan",
    "FetchReport",
    "FetchResult",
    "Grain",
    "Granularity",
    "InsecureBaseURLError",
    "MissingCredentialsError",
    "NotFoundError",
    "OffsetPaging",
    "Page",
    "PaginationError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "Provider",
    "ProviderError",
    "ProviderNotFoundError",
    "Rate",
    "RateBook",
    "RateCardError",
    "RateLimit",
    "RateLimitError",
    "Reconciliation",
    "Registry",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "Totals",
    "TransportError",
    "UnprocessableEntityError",
    "UnsafeRedirectError",
    "UnsupportedQueryError",
    "UsageQuery",
    "UsageRecord",
    "VendorError",
    "VoiceUsageError",
    "Walk",
    "__version__",
    "connect",
    "default_rate_book",
    "fetch",
    "hookimpl",
    "load_rate_book",
    "load_registry",
    "price_record",
    "read_jsonl",
    "rollup",
    "write_csv",
    "write_json",
    "write_jsonl",
]
