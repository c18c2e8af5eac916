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
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from voice_usage import (
    BearerAuth,
    Capabilities,
    CostSource,
    FetchPlan,
    FetchReport,
    Grain,
    Granularity,
    OffsetPaging,
    Page,
    Provider,
    Rate,
    RateBook,
    RateCardError,
    RateLimit,
    UnsupportedQueryError,
    UsageQuery,
    UsageRecord,
    VendorError,
    Walk,
    default_rate_book,
)
from voice_usage._provider import parse_vendor_error
from voice_usage_flireo._wire import (
    FlireoOrganization,
    UsageLog,
    UsageSummary,
    log_duration,
    parse_organization,
    parse_usage_page,
)

__all__ = ["FlireoProvider"]

CURRENCY = "EUR"
"""Flireo bills in euros (billing guide)."""

MAX_PAGE_SIZE = 1000
"""The documented maximum of `limit` on `GET /usage`."""

FALLBACK_INCREMENT_SECONDS = 60
"""Per-call rounding used for billed minutes when no rate card is in force (the documented
example bills 84 s as 2 minutes)."""

_CENT = Decimal("0.01")
_RECORD_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "duration_seconds",
        "duration_sec",
        "minutes_used",
        "cost",
        "call_id",
        "number_id",
    }
)
"""Log fields that become core record fields; every other field goes to the record's extras."""
_DOCUMENTED = frozenset(UsageLog.__annotations__)
"""Documented optional fields are left out of extras when null; unknown ones are kept as sent."""


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


class _Pricer:
    """Rate-card lookups and arithmetic for the logs of one fetch, cached.

    Logs repeat a few durations and one price many times over; caching the rate per UTC day and
    the derived quantities per distinct value keeps the per-log work to dictionary lookups.
    """

    def __init__(self, book: RateBook, provider: str) -> None:
        self.book = book
        self.provider = provider
        self._by_day: dict[date, tuple[Rate | None, str]] = {}
        self._billed: dict[tuple[Decimal, int], Decimal] = {}
        self._charges: dict[tuple[Rate, Decimal], Decimal] = {}
        self._spans: dict[Decimal | None, timedelta] = {}

    def rate(self, at: datetime) -> tuple[Rate | None, str]:
        """The rate in force at ``at`` and the cost note it gives, or `None` and the reason."""
        day = at.date()
        found = self._by_day.get(day)
        if found is None:
            try:
                rate = self.book.find(self.provider, at)
            except RateCardError as exc:
                found = (None, f"no rate card to price it: {exc}")
            else:
                note = (
                    f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min "
                    "on billed minutes"
                )
                found = (rate, note)
            self._by_day[day] = found
        return found

    def billed_minutes(self, duration: Decimal, rate: Rate | None) -> Decimal:
        """Minutes billed for one call: the duration rounded up to the card's increment."""
        increment = rate.increment_seconds if rate is not None else FALLBACK_INCREMENT_SECONDS
        key = (duration, increment)
        billed = self._billed.get(key)
        if billed is None:
            billed = self._billed[key] = Decimal(math.ceil(duration / increment) * increment) / 60
        return billed

    def charge(self, rate: Rate, billed: Decimal) -> Decimal:
        """What ``billed`` minutes cost on ``rate``."""
        key = (rate, billed)
        cost = self._charges.get(key)
        if cost is None:
            cost = self._charges[key] = rate.charge_minutes(billed)
        return cost

    def span(self, duration: Decimal | None) -> timedelta:
        """The event's length: its duration, at least one second (periods may not be empty)."""
        span = self._spans.get(duration)
        if span is None:
            seconds = float(duration) if duration is not None else 0.0
            span = self._spans[duration] = timedelta(seconds=max(seconds, 1.0))
        return span


@dataclass(slots=True)
class _Tally:
    """Running sums over every distinct log the server returned, for the reconciliation."""

    logs: int = 0
    seconds: Decimal | None = Decimal(0)
    fractional_seconds: bool = False
    billed_minutes: Decimal | None = Decimal(0)
    cost: Decimal | None = Decimal(0)
    reported_cost: bool = True
    """Whether every log carried its own cost."""
    outside: int = 0
    """Logs the server matched that fall outside `[since, until)`."""
    summary: UsageSummary | None = None
    summary_changed: bool = False
    duplicates: int = 0
    previous_page: set[str] = field(default_factory=set)
    """Log ids of the page before the current one: where offset paging repeats a log."""

    def observe(self, summary: UsageSummary | None) -> None:
        if summary is None:
            return
        if self.summary is None:
            self.summary = summary
        elif summary != self.summary:
            self.summary_changed = True

    def add(
        self, duration: Decimal | None, billed: Decimal | None, cost: Decimal | None, reported: bool
    ) -> None:
        self.logs += 1
        seconds = self.seconds
        if duration is None or seconds is None:
            self.seconds = None
        else:
            self.seconds = seconds + duration
            if not self.fractional_seconds and duration != duration.to_integral():
                self.fractional_seconds = True
        minutes = self.billed_minutes
        self.billed_minutes = None if billed is None or minutes is None else minutes + billed
        total = self.cost
        self.cost = None if cost is None or total is None else total + cost
        if not reported:
            self.reported_cost = False


class FlireoProvider(Provider):
    """Flireo (also HMS Sovereign / VoiceDock): usage logs, costs in EUR, a minutes balance.

    Args:
        page_size: `limit` asked of `GET /usage` (at most 1000, the documented maximum).
        rate_book: Rate cards for logs without a cost; defaults to the shipped cards plus
            `VOICE_USAGE_RATECARDS`.
    """

    name = "flireo"
    title = "Flireo"
    auth = BearerAuth()
    default_base_url = "https://api.hmsovereign.com/api/v1"
    """The host the vendor's own SDK uses; no public source shows an `api.flireo.com` host."""
    docs_url = "https://reference.flireo.com/usage-1861382m0"
    rate_limit = RateLimit(requests=100, per_seconds=60)
    capabilities = Capabilities(
        granularities=frozenset({Granularity.CALL}),
        reports_cost=False,
        balance=True,
        notes=(
            "One record per usage log; hour, day and month are UTC roll-ups of the logs.",
            "Cost is the vendor's when a log carries one, else the EUR 0.07/min rate card "
            "with per-call rounding up to whole minutes.",
            "No agent or number filter: the usage API filters by date only.",
        ),
    )

    def __init__(
        self, *, page_size: int = MAX_PAGE_SIZE, rate_book: RateBook | None = None
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        self.page_size = page_size
        self._rate_book = rate_book

    @property
    def rate_book(self) -> RateBook:
        """The rate cards used to price logs the vendor gave no cost for."""
        return self._rate_book if self._rate_book is not None else default_rate_book()

    def plan(self, query: UsageQuery) -> FetchPlan[UsageLog]:
        """Read `GET /usage` for the query's dates, to the last page."""
        if query.agent_ids or query.number_ids:
            raise UnsupportedQueryError(
                self.name,
                "the usage API has no agent or number filter; fetch all and group instead",
            )
        if query.options:
            names = ", ".join(sorted(query.options))
            raise UnsupportedQueryError(self.name, f"unknown option(s): {names}")
        walk = Walk(
            path="/usage",
            parse=parse_usage_page,
            # The server's end_date inclusivity is undocumented: ask for a range that covers
            # [since, until) and keep exactly that range on created_at in `_records`.
            params={"start_date": _iso(query.since), "end_date": _iso(query.until)},
            paging=OffsetPaging(limit=self.page_size),
        )
        return FetchPlan(
            walks=[walk],
            to_records=lambda pages, report: self._records(pages, report, query),
            granularity=Granularity.CALL,
        )

    def _records(
        self, pages: Iterator[Page[UsageLog]], report: FetchReport, query: UsageQuery
    ) -> Iterator[UsageRecord]:
        pricer = _Pricer(self.rate_book, self.name)
        tally = _Tally()
        since, until = query.since, query.until
        for page in pages:
            tally.observe(page.meta)
            # A log inserted while paging shifts the offsets, so the next page repeats the last
            # logs of this one: compare each page with itself and its predecessor only, which
            # keeps memory flat however long the walk.
            current: set[str] = set()
            for log in page.items:
                log_id = log["id"]
                if log_id in current or log_id in tally.previous_page:
                    tally.duplicates += 1
                    continue
                current.add(log_id)
                record = self.record(log, pricer)
                tally.add(
                    record.duration_seconds,
                    record.billed_minutes,
                    record.cost,
                    record.cost_source is CostSource.REPORTED,
                )
                if since <= record.period_start < until:
                    yield record
                else:
                    tally.outside += 1
            tally.previous_page = current
        self._reconcile(tally, report, query)

    def record(self, log: UsageLog, pricer: _Pricer | None = None) -> UsageRecord:
        """The `event` record of one usage log."""
        pricer = pricer or _Pricer(self.rate_book, self.name)
        start = log["created_at"]
        duration = log_duration(log)
        rate, rate_note = pricer.rate(start)
        billed = log.get("minutes_used")
        if billed is None and duration is not None:
            billed = pricer.billed_minutes(duration, rate)
        cost = log.get("cost")
        source: CostSource | None
        note: str | None
        if cost is not None:
            source, note = CostSource.REPORTED, None
        elif billed is None:
            source, note = None, "the log has neither a cost nor a duration to price"
        elif rate is not None:
            cost, source, note = pricer.charge(rate, billed), CostSource.RATE_CARD, rate_note
        else:
            source, note = None, rate_note
        extras: dict[str, Any] = {
            key: value
            for key, value in log.items()
            if key not in _RECORD_FIELDS and (value is not None or key not in _DOCUMENTED)
        }
        extras["log_id"] = log["id"]
        return UsageRecord.trusted(
            provider=self.name,
            grain=Grain.EVENT,
            period_start=start,
            period_end=start + pricer.span(duration),
            calls=1,
            duration_seconds=duration,
            billed_minutes=billed,
            cost=cost,
            currency=CURRENCY if cost is not None else None,
            cost_source=source,
            cost_note=note,
            call_id=log.get("call_id"),
            number_id=log.get("number_id"),
            extras=extras,
        )

    def _reconcile(self, tally: _Tally, report: FetchReport, query: UsageQuery) -> None:
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

    def _reconcile_minutes(self, reported: Decimal, tally: _Tally, report: FetchReport) -> None:
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
