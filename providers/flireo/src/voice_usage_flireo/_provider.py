"""The Flireo adapter: `GET /usage` logs as call events, `GET /organizations` as the balance.

One `event` record per usage log:

- `duration_seconds` is the measured duration (`duration_seconds` or `duration_sec`);
- `billed_minutes` is the vendor's `minutes_used` when given, else the duration rounded up to whole
  minutes per call, as the rate card says (the documented example bills 84 s as 2 minutes);
- `cost` is the vendor's `cost` in EUR (`reported`) when given, else the billed minutes priced
  from the dated Flireo rate card (`rate_card`, EUR 0.07 per minute).

Records are kept to `[since, until)` on `created_at`; a log id repeated on the next page (offset
paging shifts when logs are written during the walk) is dropped. At
the end of the stream the logs are reconciled against the response's `summary`.

This module plans the walk and reconciles; `_wire` holds the vendor's body shapes, `_normalize`
turns logs into records, and `_fastpath` reads regular bodies sooner (an optimization only:
`_wire.parse_usage_page` alone reads every body to the same page).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from voice_usage.provider import (
    FetchPlan,
    FetchReport,
    Granularity,
    OffsetPaging,
    Page,
    RateBook,
    UsageQuery,
    UsageRecord,
    VendorError,
    Walk,
    default_rate_book,
    parse_vendor_error,
)
from voice_usage_flireo import Flireo
from voice_usage_flireo._fastpath import parse_usage_page_fast
from voice_usage_flireo._normalize import Normalizer, Tally
from voice_usage_flireo._wire import FlireoOrganization, UsageLog, parse_organization

__all__ = ["FlireoProvider"]

MAX_PAGE_SIZE = 1000
"""The documented maximum of `limit` on `GET /usage`."""

_CENT = Decimal("0.01")


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


class FlireoProvider(Flireo):
    """Flireo (also HMS Sovereign / VoiceDock): usage logs, costs in EUR, a minutes balance.

    Args:
        page_size: `limit` asked of `GET /usage` (at most 1000, the documented maximum).
    """

    def __init__(self, *, page_size: int = MAX_PAGE_SIZE) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        self.page_size = page_size

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[UsageLog]:
        """Read `GET /usage` for the query's dates, to the last page."""
        # No filter or option is declared in `capabilities.filters`: the core refuses them.
        book = rates if rates is not None else default_rate_book()
        walk = Walk(
            path="/usage",
            parse=parse_usage_page_fast,
            # The server's end_date inclusivity is undocumented: ask for a range that covers
            # [since, until) and keep exactly that range on created_at in `_records`.
            params={"start_date": _iso(query.since), "end_date": _iso(query.until)},
            paging=OffsetPaging(limit=self.page_size),
        )
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: self._records(pages, report, query, book),
            granularity=Granularity.CALL,
        )

    def _records(
        self,
        pages: Iterator[Page[UsageLog]],
        report: FetchReport,
        query: UsageQuery,
        rates: RateBook,
    ) -> Iterator[UsageRecord]:
        normalizer = Normalizer(self.name, rates)
        yield from normalizer.records(pages, query.since, query.until)
        self._reconcile(normalizer.tally, report, query)

    def record(self, log: UsageLog, rates: RateBook | None = None) -> UsageRecord:
        """The `event` record of one usage log (the log is left as it is)."""
        book = rates if rates is not None else default_rate_book()
        return Normalizer(self.name, book).record(log)

    def _reconcile(self, tally: Tally, report: FetchReport, query: UsageQuery) -> None:
        name = self.name
        if tally.duplicates:
            report.dropped_duplicates += tally.duplicates
            report.warn(
                f"{name}: dropped {tally.duplicates} usage log(s) repeated across pages "
                "(the logs moved while paging); fetch again if the reconciliation fails"
            )
        if tally.outside:
            report.warn(
                f"{name}: the server matched {tally.outside} log(s) outside "
                f"[{_iso(query.since)}, {_iso(query.until)}) (its date filter is inclusive or "
                "coarser); they are left out of the records but counted in the vendor's summary"
            )
        if tally.summary_changed:
            report.warn(f"{name}: the usage summary changed between pages; fetch again")
        summary = tally.summary
        if summary is None:
            return
        if summary.total_calls is not None:
            report.reconcile("calls", reported=summary.total_calls, computed=tally.logs)
        if summary.total_seconds is not None:
            if tally.seconds is None:
                report.warn(f"{name}: cannot check total seconds: some logs have no duration")
            else:
                report.reconcile(
                    "duration_seconds",
                    reported=summary.total_seconds,
                    computed=tally.seconds,
                    tolerance=1 if tally.fractional_seconds else 0,
                )
        if summary.total_minutes is not None:
            self._reconcile_minutes(summary.total_minutes, tally, report)
        if summary.total_cost is not None:
            if tally.cost is None:
                report.warn(f"{name}: cannot check total_cost: some logs could not be priced")
            else:
                figure = "cost" if tally.reported_cost else "cost (rate card vs. vendor total_cost)"
                report.reconcile(
                    figure, reported=summary.total_cost, computed=tally.cost, tolerance=_CENT
                )

    def _reconcile_minutes(self, reported: Decimal, tally: Tally, report: FetchReport) -> None:
        per_call = tally.billed_minutes
        if per_call is None:
            report.warn(f"{self.name}: cannot check total minutes: some logs have no duration")
            return
        if abs(reported - per_call) <= _CENT or tally.seconds is None:
            report.reconcile(
                "billed_minutes", reported=reported, computed=per_call, tolerance=_CENT
            )
            return
        plain = tally.seconds / 60
        roundings = {
            plain,
            plain.quantize(_CENT),
            plain.to_integral_value(),
            Decimal(math.floor(plain)),
            Decimal(math.ceil(plain)),
        }
        match = next((r for r in roundings if r == reported), None)
        if match is None:
            report.reconcile(
                "billed_minutes", reported=reported, computed=per_call, tolerance=_CENT
            )
            return
        report.reconcile("minutes (total seconds / 60)", reported=reported, computed=match)
        report.warn(
            f"{self.name}: the vendor's total minutes ({reported}) are the total seconds / 60, "
            f"not the sum of per-call minutes rounded up ({per_call}); billed_minutes and "
            "rate-card costs use per-call rounding (see docs/providers/flireo.md)"
        )

    def balance(self) -> Walk[FlireoOrganization]:
        """`GET /organizations`: minutes balance and this month's usage."""
        return Walk(path="/organizations", parse=parse_organization)

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        """Both documented error forms, with validation `details` and `param` kept."""
        error = parse_vendor_error(body)
        if not isinstance(body, dict):
            return error
        nested = body.get("error")
        details: Any = nested.get("details") if isinstance(nested, dict) else None
        details = details or body.get("details")
        param = nested.get("param") if isinstance(nested, dict) else None
        extra: list[str] = []
        if isinstance(param, str) and param:
            extra.append(f"(parameter {param})")
        if isinstance(details, dict):
            details = [f"{key}: {value}" for key, value in details.items()]
        if isinstance(details, list):
            said = [str(item) for item in details if str(item) != error.message]
            if said:
                extra.append("; ".join(said))
        if not extra:
            return error
        message = " ".join([error.message or "", *extra]).strip()
        return VendorError(error.code, message)

    def emulator(self, api_key: str) -> Any:
        """A `FlireoEmulator` with demo defaults: documented reference shape, ~80 calls a day."""
        from voice_usage_flireo.emulator import FlireoEmulator

        return FlireoEmulator(api_key=api_key)
