"""The plugin author's API: everything a provider needs, and nothing it must not touch.

A provider distribution imports from here (and `voice_usage.testing` in its tests), never from a
private module, so the core can rearrange its insides without breaking a plugin::

    from voice_usage.provider import FetchPlan, Provider, UsageRecord, Walk, hookimpl

A provider never performs I/O: for a `UsageQuery` it returns a `FetchPlan` (the `Walk`s to
make and a function that turns the parsed pages into `UsageRecord`s), and the core runs it.
`docs/writing-a-provider.md` walks through a whole provider.
"""

import typing

from voice_usage._calendar import (
    is_utc_boundary,
    utc_ceil,
    utc_floor,
    utc_midnight,
    utc_shift,
)
from voice_usage._engine._provider import (
    API_KEY,
    ApiKeyHeaderAuth,
    AuthScheme,
    BasicAuth,
    BearerAuth,
    Capabilities,
    Credential,
    Provider,
    ProviderDeclaration,
    RateLimit,
    check_page_size,
    json_body,
)
from voice_usage._enums import CallPart, CostSource, Grain, Granularity
from voice_usage._exceptions import (
    ConfigurationError,
    PaginationError,
    ResponseValidationError,
    UnsupportedQueryError,
)
from voice_usage._lazy import lazy_attributes
from voice_usage.hookspecs import hookimpl

if typing.TYPE_CHECKING:
    from voice_usage._engine._plan import (
        AccountFacts,
        CursorPaging,
        FetchPlan,
        FetchReport,
        OffsetPaging,
        Page,
        ParamValue,
        Reconciliation,
        TokenPaging,
        VendorError,
        Walk,
        parse_vendor_error,
    )
    from voice_usage._engine._repeats import PageRepeats
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
    from voice_usage._schema import UsageQuery, UsageRecord, covers, format_instant

# What a provider's declaration needs (its class, auth, capabilities, the hook) is imported above
# and costs no pydantic; the plan's types, records and rate cards load on first use, when a
# provider is implemented or run, so that `voice-usage providers` lists providers without them.
_LAZY: dict[str, tuple[str, ...]] = {
    "voice_usage._engine._plan": (
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
    ),
    "voice_usage._engine._repeats": ("PageRepeats",),
    "voice_usage._pricing._ratecard": (
        "FixedCharge",
        "Rate",
        "RateBook",
        "RateCardError",
        "default_rate_book",
        "price_record",
        "priced_by",
        "unpriced",
    ),
    "voice_usage._schema": ("UsageQuery", "UsageRecord", "covers", "format_instant"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

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
    "PageRepeats",
    "PaginationError",
    "ParamValue",
    "Provider",
    "ProviderDeclaration",
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
    "check_page_size",
    "covers",
    "default_rate_book",
    "format_instant",
    "hookimpl",
    "is_utc_boundary",
    "json_body",
    "lazy_attributes",
    "parse_vendor_error",
    "price_record",
    "priced_by",
    "unpriced",
    "utc_ceil",
    "utc_floor",
    "utc_midnight",
    "utc_shift",
]


__getattr__ = lazy_attributes(__name__, _WHERE, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
