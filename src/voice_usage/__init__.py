"""voice-usage: what your voice AI minutes cost, across vendors.

Fetch usage from each vendor's API, normalized into one `UsageRecord` schema::

    import voice_usage

    with voice_usage.connect("flireo") as flireo:          # FLIREO_API_KEY from the environment
        result = flireo.fetch("2026-10-01", "2026-11-01", granularity="day")
        for record in result:
            print(record.period_start, record.calls, record.cost, record.currency)
        print(result.warnings)                             # e.g. a reconciliation mismatch
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_usage._lazy import lazy_attributes
from voice_usage._version import __version__

if TYPE_CHECKING:
    from voice_usage._analysis._compare import compare
    from voice_usage._analysis._comparison import (
        Comparison,
        ComparisonRow,
        ProviderFailure,
        Skipped,
    )
    from voice_usage._analysis._grouping import GroupBy, group_records
    from voice_usage._analysis._reprice import reprice_comparison
    from voice_usage._engine._fetch import Connection, FetchResult, connect, fetch
    from voice_usage._engine._plan import (
        CursorPaging,
        FetchPlan,
        FetchReport,
        OffsetPaging,
        Page,
        Reconciliation,
        VendorError,
        Walk,
    )
    from voice_usage._engine._plugins import Registry, load_registry
    from voice_usage._engine._provider import (
        ApiKeyHeaderAuth,
        AuthScheme,
        BearerAuth,
        Capabilities,
        Provider,
        RateLimit,
    )
    from voice_usage._engine._retry import RetryPolicy
    from voice_usage._exceptions import (
        APIStatusError,
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        ConflictError,
        InsecureBaseURLError,
        InvalidQueryError,
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
    from voice_usage._outputs._export import (
        focus_rows,
        to_focus,
        to_pandas,
        write_focus_csv,
        write_parquet,
    )
    from voice_usage._outputs._report import Report, report
    from voice_usage._outputs._serialize import read_jsonl, write_csv, write_json, write_jsonl
    from voice_usage._pricing._fx import FxRate, FxRates, MissingRateError
    from voice_usage._pricing._ratecard import (
        FixedCharge,
        Rate,
        RateBook,
        RateCardError,
        default_rate_book,
        load_rate_book,
        price_record,
    )
    from voice_usage._pricing._reprice import RepriceTarget, reprice
    from voice_usage._rollup import Totals, rollup
    from voice_usage._schema import (
        CallPart,
        CostSource,
        Grain,
        Granularity,
        UsageQuery,
        UsageRecord,
    )
    from voice_usage._store import Revision, Store, StoreError, SyncResult, open_store, sync
    from voice_usage.cli._demo import run_demo
    from voice_usage.hookspecs import hookimpl

# Names are loaded on first use: `import voice_usage` costs next to nothing, and a program (or
# `voice-usage --version`) pays only for the parts it touches. The imports above are what type
# checkers and readers see; a test holds them and this table to the same names.
_LAZY: dict[str, tuple[str, ...]] = {
    "voice_usage._analysis._compare": ("compare",),
    "voice_usage._analysis._comparison": (
        "Comparison",
        "ComparisonRow",
        "ProviderFailure",
        "Skipped",
    ),
    "voice_usage._analysis._grouping": (
        "GroupBy",
        "group_records",
    ),
    "voice_usage._analysis._reprice": ("reprice_comparison",),
    "voice_usage._engine._fetch": (
        "Connection",
        "FetchResult",
        "connect",
        "fetch",
    ),
    "voice_usage._engine._plugins": (
        "Registry",
        "load_registry",
    ),
    "voice_usage._engine._plan": (
        "CursorPaging",
        "FetchPlan",
        "FetchReport",
        "OffsetPaging",
        "Page",
        "Reconciliation",
        "VendorError",
        "Walk",
    ),
    "voice_usage._engine._provider": (
        "ApiKeyHeaderAuth",
        "AuthScheme",
        "BearerAuth",
        "Capabilities",
        "Provider",
        "RateLimit",
    ),
    "voice_usage._engine._retry": ("RetryPolicy",),
    "voice_usage._exceptions": (
        "APIStatusError",
        "AuthenticationError",
        "BadRequestError",
        "ConfigurationError",
        "ConflictError",
        "InsecureBaseURLError",
        "InvalidQueryError",
        "MissingCredentialsError",
        "NotFoundError",
        "PaginationError",
        "PaymentRequiredError",
        "PermissionDeniedError",
        "ProviderError",
        "ProviderNotFoundError",
        "RateLimitError",
        "ResponseValidationError",
        "ServerError",
        "TransportError",
        "UnprocessableEntityError",
        "UnsafeRedirectError",
        "UnsupportedQueryError",
        "VoiceUsageError",
    ),
    "voice_usage._outputs._export": (
        "focus_rows",
        "to_focus",
        "to_pandas",
        "write_focus_csv",
        "write_parquet",
    ),
    "voice_usage._outputs._report": (
        "Report",
        "report",
    ),
    "voice_usage._outputs._serialize": (
        "read_jsonl",
        "write_csv",
        "write_json",
        "write_jsonl",
    ),
    "voice_usage._pricing._fx": (
        "FxRate",
        "FxRates",
        "MissingRateError",
    ),
    "voice_usage._pricing._ratecard": (
        "FixedCharge",
        "Rate",
        "RateBook",
        "RateCardError",
        "default_rate_book",
        "load_rate_book",
        "price_record",
    ),
    "voice_usage._pricing._reprice": (
        "RepriceTarget",
        "reprice",
    ),
    "voice_usage._rollup": (
        "Totals",
        "rollup",
    ),
    "voice_usage._store": (
        "Revision",
        "Store",
        "StoreError",
        "SyncResult",
        "open_store",
        "sync",
    ),
    "voice_usage._schema": (
        "CallPart",
        "CostSource",
        "Grain",
        "Granularity",
        "UsageQuery",
        "UsageRecord",
    ),
    "voice_usage.hookspecs": ("hookimpl",),
    "voice_usage.cli._demo": ("run_demo",),
}

_WHERE = {name: module for module, names in _LAZY.items() for name in names}

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
    "FixedCharge",
    "FxRate",
    "FxRates",
    "Grain",
    "Granularity",
    "GroupBy",
    "InsecureBaseURLError",
    "InvalidQueryError",
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
    "Report",
    "RepriceTarget",
    "ResponseValidationError",
    "RetryPolicy",
    "Revision",
    "ServerError",
    "Skipped",
    "Store",
    "StoreError",
    "SyncResult",
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
    "open_store",
    "price_record",
    "read_jsonl",
    "report",
    "reprice",
    "reprice_comparison",
    "rollup",
    "run_demo",
    "sync",
    "to_focus",
    "to_pandas",
    "write_csv",
    "write_focus_csv",
    "write_json",
    "write_jsonl",
    "write_parquet",
]


__getattr__ = lazy_attributes(__name__, _WHERE, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
