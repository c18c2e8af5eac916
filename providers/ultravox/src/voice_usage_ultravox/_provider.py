"""The Ultravox adapter: which endpoint answers which query, and how its bodies become records.

- `day` and `hour`: `GET /api/accounts/me/usage/calls`, whose `daily` and `hourly` buckets become
  `window` records; `allTime` reconciles their sums.
- `call`: `GET /api/calls`, cursor-paginated, one `event` record per call.
- option `source=billing`: `GET /api/accounts/me/billing/usage`, the billed minutes the invoice is
  made of, per UTC day, as `item="call"` and `item="sip"` windows (the authoritative total).
- option `source=agents`: `GET /api/agents/usage`, per-agent daily windows.

Ultravox reports minutes but no money, so every cost comes from the Ultravox rate card.

This module plans the walks and reads error bodies; the options are checked in `_options`, the
bodies become records in `_records`, priced in `_pricing`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from voice_usage.provider import (
    AccountFacts,
    CursorPaging,
    FetchPlan,
    Granularity,
    Page,
    ParamValue,
    RateBook,
    UnsupportedQueryError,
    UsageQuery,
    VendorError,
    Walk,
    default_rate_book,
    is_utc_boundary,
    parse_vendor_error,
)
from voice_usage_ultravox import NAME, Ultravox
from voice_usage_ultravox._options import Options
from voice_usage_ultravox._pricing import Pricer
from voice_usage_ultravox._records import (
    agent_records,
    billing_records,
    call_records,
    usage_records,
)
from voice_usage_ultravox._wire import (
    ACCOUNT,
    AGENT_USAGE,
    BILLING_USAGE,
    CALL_LIST,
    CALL_USAGE,
    Account,
    AgentUsage,
    Call,
    CallUsage,
    UsageResponse,
)

__all__ = ["BILLING_MAX_DAYS", "BILLING_OPTIONS", "UltravoxProvider", "billing_chunks"]

USAGE_CALLS_PATH: Final = "/api/accounts/me/usage/calls"
BILLING_USAGE_PATH: Final = "/api/accounts/me/billing/usage"
CALLS_PATH: Final = "/api/calls"
AGENTS_USAGE_PATH: Final = "/api/agents/usage"
ACCOUNT_PATH: Final = "/api/accounts/me"

BILLING_MAX_DAYS: Final = 90
"""`billing/usage` answers at most 90 days a request (`toDate` at most 90 days after `fromDate`)."""

BILLING_OPTIONS: Final[Mapping[str, str]] = MappingProxyType({"source": "billing"})
"""The query options that ask for the billed totals Ultravox invoices (for `compare`)."""


_DAY: Final = timedelta(days=1)
_TICK: Final = timedelta(microseconds=1)


def _on_days(query: UsageQuery) -> bool:
    """Whether ``query`` runs from one UTC midnight to another."""
    return is_utc_boundary(query.since, Granularity.DAY) and is_utc_boundary(
        query.until, Granularity.DAY
    )


def _wire_instant(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _inclusive_range(query: UsageQuery) -> dict[str, ParamValue]:
    """`fromDate`/`toDate` (both inclusive) covering `[since, until)` exactly.

    Whole days are sent as dates, as the vendor documents (a date-only `toDate` means the end of
    that day), so `until` 2026-11-01 becomes `toDate=2026-10-31`: the boundary day is not counted
    twice. Other instants are sent as UTC date-times, `toDate` one microsecond before `until`.
    """
    if _on_days(query):
        return {
            "fromDate": query.since.date().isoformat(),
            "toDate": (query.until - _DAY).date().isoformat(),
        }
    return {"fromDate": _wire_instant(query.since), "toDate": _wire_instant(query.until - _TICK)}


def billing_chunks(since: date, until: date) -> list[tuple[date, date]]:
    """`[fromDate, toDate)` pairs of at most `BILLING_MAX_DAYS` days, end to end, covering the range."""
    chunks = []
    start = since
    while start < until:
        end = min(start + timedelta(days=BILLING_MAX_DAYS), until)
        chunks.append((start, end))
        start = end
    return chunks


class UltravoxProvider(Ultravox):
    """Ultravox (ultravox.ai): call usage aggregates, billed minutes, calls, per-agent usage.

    Args:
        page_size: `pageSize` asked of `GET /api/calls`.
    """

    def __init__(self, *, page_size: int = 100) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.page_size = page_size

    # -- planning ------------------------------------------------------------------------------

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Any]:
        """Describe the walks answering ``query``; see the module docstring for the mapping."""
        options = Options.parse(query)
        pricer = Pricer(rates if rates is not None else default_rate_book(), options.plan)
        if query.number_ids:
            raise UnsupportedQueryError(
                NAME, "Ultravox has no phone-number filter (filter by agent instead)"
            )
        if options.source == "billing":
            return self._plan_billing(query, options, pricer)
        if options.source == "agents":
            return self._plan_agents(query, options, pricer)
        if query.granularity is Granularity.CALL:
            return self._plan_calls(query, options, pricer)
        if query.granularity in (Granularity.DAY, Granularity.HOUR):
            return self._plan_usage(query, options, pricer)
        raise UnsupportedQueryError(
            NAME, f"granularity {query.granularity.value!r} is not reported natively"
        )

    def _plan_usage(
        self, query: UsageQuery, options: Options, pricer: Pricer
    ) -> FetchPlan[CallUsage]:
        walk = Walk(
            path=USAGE_CALLS_PATH,
            parse=_parse_call_usage,
            params={**_inclusive_range(query), **options.filters},
        )
        hourly = query.granularity is Granularity.HOUR
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: usage_records(pages, report, query, pricer, hourly),
            granularity=query.granularity,
        )

    def _plan_calls(self, query: UsageQuery, options: Options, pricer: Pricer) -> FetchPlan[Call]:
        walk = Walk(
            path=CALLS_PATH,
            parse=_parse_call_page,
            params={**_inclusive_range(query), **options.filters, "pageSize": self.page_size},
            paging=CursorPaging(),
        )
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: call_records(pages, report, query, pricer),
            granularity=Granularity.CALL,
        )

    def _plan_billing(
        self, query: UsageQuery, options: Options, pricer: Pricer
    ) -> FetchPlan[UsageResponse]:
        if query.granularity is not Granularity.DAY:
            raise UnsupportedQueryError(
                NAME, "billing usage (source=billing) is reported per UTC day only"
            )
        if options.filters:
            names = ", ".join(sorted("agent" if k == "agentIds" else k for k in options.filters))
            raise UnsupportedQueryError(
                NAME, f"billing usage (source=billing) is account-wide; it cannot filter by {names}"
            )
        if not _on_days(query):
            raise UnsupportedQueryError(
                NAME,
                "billing usage (source=billing) is reported per UTC day: since and until "
                "must be dates (midnight UTC)",
            )
        chunks = billing_chunks(query.since.date(), query.until.date())
        walks = [
            Walk(
                path=BILLING_USAGE_PATH,
                parse=_parse_billing_usage,
                params={"fromDate": start.isoformat(), "toDate": end.isoformat()},
            )
            for start, end in chunks
        ]
        return FetchPlan(
            walks=walks,
            to_records=lambda pages, report: billing_records(pages, report, query, pricer),
            granularity=Granularity.DAY,
        )

    def _plan_agents(
        self, query: UsageQuery, options: Options, pricer: Pricer
    ) -> FetchPlan[AgentUsage]:
        if query.granularity is not Granularity.DAY:
            raise UnsupportedQueryError(
                NAME, "per-agent usage (source=agents) is reported per UTC day only"
            )
        walk = Walk(
            path=AGENTS_USAGE_PATH,
            parse=_parse_agent_usage,
            params={**_inclusive_range(query), **options.filters},
        )
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: agent_records(pages, report, query, pricer),
            granularity=Granularity.DAY,
        )

    def billing_query(self, query: UsageQuery) -> UsageQuery | None:
        """``query`` answered from `billing/usage` (`source=billing`): the invoiced minutes.

        `None` when billing usage cannot answer it: the endpoint is account-wide and per UTC
        day, so a query filtered by agent or vendor filter, or not on day boundaries, keeps its
        usage records as the billed figures.
        """
        if query.agent_ids or query.number_ids or set(query.options) - {"source"}:
            return None
        if query.options.get("source", "calls") not in ("calls", "billing"):
            return None
        if not _on_days(query):
            return None
        granularity = (
            Granularity.DAY if query.granularity.rank < Granularity.DAY.rank else query.granularity
        )
        return UsageQuery(
            since=query.since,
            until=query.until,
            granularity=granularity,
            options={**query.options, **BILLING_OPTIONS},
        )

    # -- account and errors --------------------------------------------------------------------

    def balance(self) -> Walk[Account]:
        """`GET /api/accounts/me`: free time used and remaining, subscription, limits."""
        return Walk(path=ACCOUNT_PATH, parse=_parse_account)

    def account_facts(self, snapshot: Any) -> AccountFacts | None:
        """The subscription tier of `GET /api/accounts/me` (`PRO` on the Pro plan)."""
        if not isinstance(snapshot, Account):
            return None
        return AccountFacts(plan=snapshot.subscription_tier)

    def emulator(self, api_key: str) -> Any:
        """An `UltravoxEmulator` with demo data."""
        from voice_usage_ultravox.emulator import UltravoxEmulator

        return UltravoxEmulator(api_key=api_key)

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        """Django REST framework bodies: `{"detail": "..."}`, or field maps, nested or not."""
        if isinstance(body, dict) and body and "detail" not in body and "error" not in body:
            messages = list(_drf_messages(body))
            if messages:
                return VendorError("validation_error", "; ".join(messages))
        return parse_vendor_error(body)


def _drf_messages(value: Any, path: str = "") -> Iterator[str]:
    """`field: message` lines of a DRF validation body (`{"field": ["msg"], "nested": {...}}`)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            where = path if key == "non_field_errors" else f"{path}.{key}" if path else str(key)
            yield from _drf_messages(inner, where)
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            text = " ".join(value)
            yield f"{path}: {text}" if path else text
        else:
            for index, item in enumerate(value):
                yield from _drf_messages(item, f"{path}[{index}]")
    elif value is not None:
        yield f"{path}: {value}" if path else str(value)


# -- parsers (one per endpoint; a misfit body raises pydantic's ValidationError) ---------------


def _parse_call_usage(content: bytes) -> Page[CallUsage]:
    return Page([CALL_USAGE.validate_json(content)])


def _parse_billing_usage(content: bytes) -> Page[UsageResponse]:
    return Page([BILLING_USAGE.validate_json(content)])


def _parse_agent_usage(content: bytes) -> Page[AgentUsage]:
    return Page(AGENT_USAGE.validate_json(content))


def _parse_call_page(content: bytes) -> Page[Call]:
    page = CALL_LIST.validate_json(content)
    return Page(page.results, total=page.total, next_url=page.next)


def _parse_account(content: bytes) -> Page[Account]:
    return Page([ACCOUNT.validate_json(content)])
