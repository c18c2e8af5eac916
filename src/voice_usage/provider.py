"""The plugin author's API: everything a provider needs, and nothing it must not touch.

A provider distribution imports from here (and `voice_usage.testing` in its tests), never from a
private module, so the core can rearrange its insides without breaking a plugin::

    from voice_usage.provider import FetchPlan, Provider, UsageRecord, Walk, hookimpl

A provider never performs I/O: for a `UsageQuery` it returns a `FetchPlan` (the `Walk`s to
make and a function that turns the parsed pages into `UsageRecord`s), and the core runs it.
`docs/writing-a-provider.md` walks through a whole provider.
"""

from voice_usage._engine._provider import (
    API_KEY,
    AccountFacts,
    ApiKeyHeaderAuth,
    AuthScheme,
    BasicAuth,
    BearerAuth,
    Capabilities,
    Credential,
    CursorPaging,
    FetchPlan,
    FetchReport,
    OffsetPaging,
    Page,
    ParamValue,
    Provider,
    RateLimit,
    Reconciliation,
    TokenPaging,
    VendorError,
    Walk,
    json_body,
    parse_vendor_error,
)
from voice_usage._exceptions import (
    ConfigurationError,
    PaginationError,
    ResponseValidationError,
    UnsupportedQueryError,
)
from voice_usage._pricing._ratecard import (
    FixedCharge,
    Rate,
    RateBook,
    RateCardError,
    default_rate_book,
    price_record,
    priced_by,
    unpriced,
)
from voice_usage._schema import (
    CallPart,
    CostSource,
    Grain,
    Granularity,
    UsageQuery,
    UsageRecord,
    covers,
    format_instant,
)
from voice_usage.hookspecs import hookimpl

__all__ = [
    "API_KEY",
    "AccountFacts",
    "ApiKeyHeaderAuth",
    "AuthScheme",
    "BasicAuth",
    "BearerAuth",
    "CallPart",
    "Capabilities",
    "ConfigurationError",
    "CostSource",
    "Credential",
    "CursorPaging",
    "FetchPlan",
    "FetchReport",
    "FixedCharge",
    "Grain",
    "Granularity",
    "OffsetPaging",
    "Page",
    "PaginationError",
    "ParamValue",
    "Provider",
    "Rate",
    "RateBook",
    "RateCardError",
    "RateLimit",
    "Reconciliation",
    "ResponseValidationError",
    "TokenPaging",
    "UnsupportedQueryError",
    "UsageQuery",
    "UsageRecord",
    "VendorError",
    "Walk",
    "covers",
    "default_rate_book",
    "format_instant",
    "hookimpl",
    "json_body",
    "parse_vendor_error",
    "price_record",
    "priced_by",
    "unpriced",
]
