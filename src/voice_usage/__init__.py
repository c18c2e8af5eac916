"""voice-usage: what your voice AI minutes cost, across vendors.

Fetch usage from each vendor's API, normalized into one `UsageRecord` schema::

    import voice_usage

    with voice_usage.connect("flireo") as flireo:          # FLIREO_API_KEY from the environment
        result = flireo.fetch("2026-10-01", "2026-11-01", granularity="day")
        for record in result:
            print(record.period_start, record.calls, record.cost, record.currency)
        print(result.warnings)                             # e.g. a reconciliation mismatch
"""

from voice_usage._compare import (
    Comparison,
    ComparisonRow,
    GroupBy,
    ProviderFailure,
    Skipped,
    compare,
    group_records,
)
from voice_usage._demo import run_demo
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
from voice_usage._export import (
    focus_rows,
    to_focus,
    to_pandas,
    write_focus_csv,
    write_parquet,
)
from voice_usage._fetch import Connection, FetchResult, connect, fetch
from voice_usage._fx import FxRate, FxRates, MissingRateError
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
    using_rate_book,
)
from voice_usage._reprice import RepriceTarget, reprice, reprice_comparison
from voice_usage._retry import RetryPolicy
from voice_usage._rollup import Totals, rollup
from voice_usage._schema import CallPart, CostSource, Grain, Granularity, UsageQuery, UsageRecord
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
    "CallPart",
    "Capabilities",
    "Comparison",
    "ComparisonRow",
    "ConfigurationError",
    "ConflictError",
    "Connection",
    "CostSource",
    "CursorPaging",
    "FetchPlan",
    "FetchReport",
    "FetchResult",
    "FxRate",
    "FxRates",
    "Grain",
    "Granularity",
    "GroupBy",
    "InsecureBaseURLError",
    "MissingCredentialsError",
    "MissingRateError",
    "NotFoundError",
    "OffsetPaging",
    "Page",
    "PaginationError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "Provider",
    "ProviderError",
    "ProviderFailure",
    "ProviderNotFoundError",
    "Rate",
    "RateBook",
    "RateCardError",
    "RateLimit",
    "RateLimitError",
    "Reconciliation",
    "Registry",
    "RepriceTarget",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "Skipped",
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
    "compare",
    "connect",
    "default_rate_book",
    "fetch",
    "focus_rows",
    "group_records",
    "hookimpl",
    "load_rate_book",
    "load_registry",
    "price_record",
    "read_jsonl",
    "reprice",
    "reprice_comparison",
    "rollup",
    "run_demo",
    "to_focus",
    "to_pandas",
    "using_rate_book",
    "write_csv",
    "write_focus_csv",
    "write_json",
    "write_jsonl",
    "write_parquet",
]
