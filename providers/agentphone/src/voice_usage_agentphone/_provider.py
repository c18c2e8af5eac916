"""The AgentPhone adapter: which usage endpoint answers a query, and how its answer becomes records.

AgentPhone's usage API (https://agentphone.ai/docs/api-reference/usage) has no date range. It
answers "the last N days" (`/v1/usage/daily`, N from 1 to 365), "the last N months"
(`/v1/usage/monthly`, N from 1 to 24), "the current calendar week, month or year per agent"
(`/v1/usage/by-agent`) and "per phone number" with no period at all (`/v1/usage/by-number`). It
reports counts, one duration figure (`totalSeconds` per agent) and no money.

So the provider works out N from `since` and today, keeps exactly the whole days (or months) in
`[since, until)`, refuses what the API cannot reach with an error that says how far back it goes,
and prices what has a duration from the dated rate card (webhook or hosted mode).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from voice_usage.provider import (
    AccountFacts,
    ConfigurationError,
    FetchPlan,
    FetchReport,
    Grain,
    Granularity,
    Page,
    RateBook,
    RateCardError,
    UnsupportedQueryError,
    UsageQuery,
    UsageRecord,
    VendorError,
    Walk,
    default_rate_book,
    is_utc_boundary,
    parse_vendor_error,
    price_record,
    unpriced,
    utc_ceil,
    utc_floor,
    utc_midnight,
    utc_shift,
)
from voice_usage_agentphone import MAX_DAYS, MAX_MONTHS, AgentPhone, _wire

__all__ = [
    "MAX_DAYS",
    "MAX_MONTHS",
    "MODES",
    "MODE_ENV",
    "AgentPhoneProvider",
    "utc_today",
]

MODE_ENV = "AGENTPHONE_MODE"
"""Environment variable choosing the voice mode priced by the rate card."""
MODES = ("webhook", "hosted")
"""Voice modes with a price of their own: webhook USD 0.13/min, hosted USD 0.22/min."""
DEFAULT_MODE = "webhook"
"""The mode priced when neither the user nor the API says one: an assumption, labelled so."""
_MODE_FIELDS = ("voiceMode", "mode")
"""Fields an agent's usage entry may carry its mode in; none is documented, so both are read
when present and nothing is assumed of their absence."""
VIEWS = ("time", "by-agent", "by-number")
PERIODS = ("week", "month", "year")

_DAY = timedelta(days=1)
_NO_DURATION = (
    "AgentPhone reports no cost, and its {what} counts calls without their duration, so no "
    "rate card can price it (per-agent usage has durations: option view=by-agent)"
)


def utc_today() -> date:
    """Today's date in UTC: the default clock of the provider."""
    return datetime.now(UTC).date()


# --- calendar helpers (UTC; the floors and ceilings are the core's) ---------------------------


def _month_index(t: datetime | date) -> int:
    return t.year * 12 + t.month - 1


def _month_label(t: datetime) -> str:
    return t.strftime("%Y-%m")


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shorten(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --- parsing --------------------------------------------------------------------------------


def _data_pages(adapter: TypeAdapter[Any]) -> Callable[[bytes], Page[Any]]:
    """A parser for the usage endpoints that list their items under `data`.

    The whole body travels in `meta`, for the echoed parameters and the stated period.
    """

    def parse(content: bytes) -> Page[Any]:
        body = adapter.validate_json(content)
        return Page(body.data, meta=body)

    return parse


_parse_daily = _data_pages(_wire.DAILY_USAGE)
_parse_monthly = _data_pages(_wire.MONTHLY_USAGE)
_parse_by_agent = _data_pages(_wire.AGENT_USAGE)
_parse_by_number = _data_pages(_wire.NUMBER_USAGE)


def _parse_usage(content: bytes) -> Page[_wire.UsageSnapshot]:
    return Page([_wire.USAGE.validate_json(content)])


def _stated_mode(item: Any) -> str | None:
    """The voice mode an agent's usage entry states, when it states a known one."""
    extra = item.model_extra or {}
    for name in _MODE_FIELDS:
        value = extra.get(name)
        if isinstance(value, str) and value.lower() in MODES:
            return value.lower()
    return None


def _assumed_mode_warning(name: str, mode: str) -> str:
    return (
        f"{name}: priced in {mode} mode, an assumption: AgentPhone's API does not say each "
        f"agent's voice mode; set --option mode=hosted|webhook or {MODE_ENV} to say it"
    )


def _extras(model: Any, **known: Any) -> dict[str, Any]:
    """Vendor fields without a core home, plus any unknown fields, verbatim."""
    extras = {key: value for key, value in known.items() if value is not None}
    extras.update(model.model_extra or {})
    return extras


_ToRecords = Callable[[Iterator[Page[Any]], FetchReport], Iterable[UsageRecord]]


def _by_series(months: _ToRecords, days: _ToRecords) -> _ToRecords:
    """`to_records` for a monthly walk followed by a daily one: each page goes to its series."""

    def to_records(pages: Iterator[Page[Any]], report: FetchReport) -> Iterator[UsageRecord]:
        done: set[bool] = set()
        for monthly, group in itertools.groupby(
            pages, key=lambda page: isinstance(page.meta, _wire.MonthlyUsageResponse)
        ):
            yield from (months if monthly else days)(group, report)
            done.add(monthly)
        for monthly in {True, False} - done:  # a series without pages still warns and checks
            yield from (months if monthly else days)(iter(()), report)

    return to_records


@dataclass(frozen=True)
class _Settings:
    """What `plan()` read from the query's options."""

    view: str
    mode: str
    period: str
    tz: str | None
    rates: RateBook
    """The rate cards records are priced with."""
    mode_assumed: bool = False
    """Whether `mode` is the default, not said by the user nor by the API: an assumption."""


class AgentPhoneProvider(AgentPhone):
    """AgentPhone (agentphone.ai): daily, monthly, per-agent and per-number usage, plan limits.

    Args:
        today: The date "today" is (UTC), or a function returning it; defaults to the real date.
            AgentPhone counts back from today, so tests pin it.
    """

    def __init__(
        self,
        *,
        today: date | Callable[[], date] | None = None,
    ) -> None:
        self._clock = today

    # --- configuration ------------------------------------------------------------------------

    def today(self) -> date:
        """The date the provider counts back from (UTC)."""
        if self._clock is None:
            return utc_today()
        if isinstance(self._clock, date):
            return self._clock
        return self._clock()

    def _settings(self, query: UsageQuery, rates: RateBook | None) -> _Settings:
        options = query.options
        view = options.get("view", "time")
        if view not in VIEWS:
            raise ConfigurationError(
                f"{self.name}: option view must be one of {', '.join(VIEWS)}, got {view!r}"
            )
        mode_source = "option mode"
        mode = options.get("mode")
        if mode is None:
            mode, mode_source = os.environ.get(MODE_ENV) or "", MODE_ENV
        assumed = not mode
        mode = mode or DEFAULT_MODE
        if mode not in MODES:
            raise ConfigurationError(
                f"{self.name}: {mode_source} must be webhook or hosted "
                f"(the voice modes AgentPhone prices apart), got {mode!r}"
            )
        period = options.get("period", "month")
        if period not in PERIODS:
            raise ConfigurationError(
                f"{self.name}: option period must be week, month or year, got {period!r}"
            )
        if view != "by-agent" and ("period" in options or "tz" in options):
            raise ConfigurationError(
                f"{self.name}: options period and tz apply to view=by-agent only"
            )
        tz = options.get("tz") or None
        book = rates if rates is not None else default_rate_book()
        return _Settings(
            view=view, mode=mode, period=period, tz=tz, rates=book, mode_assumed=assumed
        )

    # --- the plan -----------------------------------------------------------------------------

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Any]:
        """Pick the endpoint for ``query``; see the module docstring and the provider docs."""
        settings = self._settings(query, rates)
        if settings.view == "by-agent":
            return self._by_agent_plan(query, settings)
        if settings.view == "by-number":
            return self._by_number_plan(query, settings)
        if query.agent_ids or query.number_ids:
            raise UnsupportedQueryError(
                self.name,
                "daily and monthly usage are account-wide; filter by agent with "
                "option view=by-agent, or by number with option view=by-number",
            )
        if query.granularity is Granularity.MONTH:
            return self._monthly_plan(query, settings)
        return self._daily_plan(query, settings)

    def _daily_plan(self, query: UsageQuery, settings: _Settings) -> FetchPlan[Any]:
        today = self.today()
        first, end = utc_ceil(query.since, Granularity.DAY), utc_floor(query.until, Granularity.DAY)
        earliest = today - timedelta(days=MAX_DAYS - 1)
        if first.date() < earliest:
            raise UnsupportedQueryError(
                self.name,
                f"AgentPhone's daily usage reaches back {MAX_DAYS} days at most (its days "
                f"parameter is 1 to {MAX_DAYS}): the earliest day it can return is "
                f"{earliest.isoformat()} (today is {today.isoformat()} UTC), but since is "
                f"{first.date().isoformat()}; monthly usage (granularity month) reaches back "
                f"{MAX_MONTHS} months",
            )
        cut = []
        if query.since != first:
            cut.append(query.since.date().isoformat())
        if query.until != end and utc_floor(query.until, Granularity.DAY) >= first:
            cut.append(query.until.date().isoformat())
        warnings = []
        if cut:
            warnings.append(
                f"{self.name}: the query's edges cut the day(s) {', '.join(cut)}; AgentPhone "
                "counts whole UTC days only, so the partial days are left out"
            )
        days = max(1, (today - first.date()).days + 1)
        walks = (
            [Walk("/v1/usage/daily", _parse_daily, params={"days": days})] if first < end else []
        )
        if not walks:
            warnings.append(
                f"{self.name}: [{query.since.isoformat()}, {query.until.isoformat()}) holds no "
                "whole UTC day, and AgentPhone counts whole days only: no records"
            )

        def day_of(point: _wire.DailyUsagePoint) -> tuple[date, datetime, datetime]:
            start = utc_midnight(point.date)
            return point.date, start, start + _DAY

        to_records = self._series(
            warnings,
            settings,
            "daily usage",
            echo=("days", days),
            bounds=day_of,
            within=(first, end),
            label=lambda start: start.date().isoformat(),
            finally_check=lambda report, seen: self._check_missing_days(
                report, seen, first, end, today
            ),
        )
        return FetchPlan(walks=walks, to_records=to_records, granularity=Granularity.DAY)

    def _monthly_plan(self, query: UsageQuery, settings: _Settings) -> FetchPlan[Any]:
        today = self.today()
        aligned = is_utc_boundary(query.since, Granularity.MONTH) and is_utc_boundary(
            query.until, Granularity.MONTH
        )
        earliest_day = today - timedelta(days=MAX_DAYS - 1)
        if not aligned and utc_ceil(query.since, Granularity.DAY).date() >= earliest_day:
            # Months cut by the query's edges: daily usage answers exactly, and the core sums the
            # days into (clipped) months.
            return self._daily_plan(query, settings)
        first, end = (
            utc_ceil(query.since, Granularity.MONTH),
            utc_floor(query.until, Granularity.MONTH),
        )
        current = utc_floor(utc_midnight(today), Granularity.MONTH)
        earliest = utc_shift(current, Granularity.MONTH, -(MAX_MONTHS - 1))
        if first < earliest:
            raise UnsupportedQueryError(
                self.name,
                f"AgentPhone's monthly usage reaches back {MAX_MONTHS} months at most (its "
                f"months parameter is 1 to {MAX_MONTHS}): the earliest month it can return is "
                f"{_month_label(earliest)}, but since is in {_month_label(first)}",
            )
        # The start is out of daily reach, so its cut month is left out; a cut month at the end
        # may still be within it: daily usage answers that one, and the core sums its days.
        tail_start = utc_floor(query.until, Granularity.MONTH)
        tail = None
        whole_days = utc_floor(query.until, Granularity.DAY) > tail_start
        if (
            query.until != end
            and whole_days
            and tail_start >= max(first, utc_midnight(earliest_day))
        ):
            tail = self._daily_plan(query.model_copy(update={"since": tail_start}), settings)
        warnings = []
        if not aligned:
            cut = []
            if query.since != first:
                cut.append(_month_label(utc_floor(query.since, Granularity.MONTH)))
            if (
                query.until != end
                and utc_floor(query.until, Granularity.MONTH) >= first
                and tail is None
            ):
                cut.append(_month_label(utc_floor(query.until, Granularity.MONTH)))
            if cut:
                warnings.append(
                    f"{self.name}: the query's edges cut the month(s) {', '.join(cut)}, and "
                    f"daily usage (which could cut them) reaches back only to "
                    f"{earliest_day.isoformat()}; AgentPhone's monthly usage counts whole months, "
                    "so the partial months are left out"
                )
        months = max(1, _month_index(current) - _month_index(first) + 1)
        walks = (
            [Walk("/v1/usage/monthly", _parse_monthly, params={"months": months})]
            if first < end
            else []
        )
        if not walks and tail is None:
            warnings.append(
                f"{self.name}: [{query.since.isoformat()}, {query.until.isoformat()}) holds no "
                "whole month, and AgentPhone's monthly usage counts whole months only: no records"
            )

        def month_of(point: _wire.MonthlyUsagePoint) -> tuple[date, datetime, datetime]:
            start = utc_midnight(point.month)
            return point.month, start, utc_shift(start, Granularity.MONTH, 1)

        to_records = self._series(
            warnings,
            settings,
            "monthly usage",
            echo=("months", months),
            bounds=month_of,
            within=(first, end),
            label=_month_label,
        )
        if tail is None:
            return FetchPlan(walks=walks, to_records=to_records, granularity=Granularity.MONTH)
        return FetchPlan(
            walks=[*walks, *tail.walks],
            to_records=_by_series(to_records, tail.to_records),
            granularity=Granularity.DAY,  # whole months and the end's days: the core sums them
        )

    def _series(
        self,
        warnings: list[str],
        settings: _Settings,
        what: str,
        *,
        echo: tuple[str, int],
        bounds: Callable[[Any], tuple[date, datetime, datetime]],
        within: tuple[datetime, datetime],
        label: Callable[[datetime], str],
        finally_check: Callable[[FetchReport, set[date]], None] | None = None,
    ) -> Callable[[Iterator[Page[Any]], FetchReport], Iterator[UsageRecord]]:
        """`to_records` for a daily or monthly series: the buckets in ``within``, each once."""
        first, end = within
        parameter, asked = echo

        def to_records(pages: Iterator[Page[Any]], report: FetchReport) -> Iterator[UsageRecord]:
            for warning in warnings:
                report.warn(warning)
            seen: set[date] = set()
            priced = 0
            for page in pages:
                self._check_echo(report, parameter, getattr(page.meta, parameter), asked)
                for point in page.items:
                    key, start, stop = bounds(point)
                    if not (first <= start and stop <= end):
                        continue
                    if key in seen:
                        report.dropped_duplicates += 1
                        report.warn(f"{self.name}: {what} repeats {label(start)}; kept the first")
                        continue
                    seen.add(key)
                    record = self._series_record(point, start, stop, settings, what)
                    priced += record.cost is not None
                    yield record
            if priced and settings.mode_assumed:
                report.warn(_assumed_mode_warning(self.name, settings.mode))
            if finally_check is not None:
                finally_check(report, seen)

        return to_records

    def _by_agent_plan(self, query: UsageQuery, settings: _Settings) -> FetchPlan[Any]:
        today = utc_midnight(self.today())
        # The current calendar period contains today wherever the tz puts it (give or take a day).
        if query.until <= today - _DAY or query.since >= today + 2 * _DAY:
            raise UnsupportedQueryError(
                self.name,
                f"AgentPhone's per-agent usage covers only the current calendar "
                f"{settings.period}, which contains today ({today.date().isoformat()}); "
                f"[{query.since.isoformat()}, {query.until.isoformat()}) does not reach it",
            )
        params: dict[str, str] = {"period": settings.period}
        if settings.tz:
            params["tz"] = settings.tz
        agents = set(query.agent_ids)

        def to_records(
            pages: Iterator[Page[_wire.AgentUsageItem]], report: FetchReport
        ) -> Iterator[UsageRecord]:
            assumed_agents = 0
            for page in pages:
                body: _wire.AgentUsageResponse = page.meta
                start, end = body.periodStart, _wire.exclusive_end(body.periodEnd)
                if end <= start:
                    raise UnsupportedQueryError(
                        self.name,
                        f"by-agent usage gave an empty period {body.periodStart.isoformat()} to "
                        f"{body.periodEnd.isoformat()}",
                    )
                if not (query.since <= start and end <= query.until):
                    raise UnsupportedQueryError(
                        self.name,
                        f"AgentPhone's per-agent usage covers the whole current calendar "
                        f"{body.period} [{_stamp(start)}, {_stamp(end)}) and cannot be cut to "
                        f"[{_stamp(query.since)}, {_stamp(query.until)}); ask for "
                        f"since {_stamp(start)} until {_stamp(end)} (or a wider range)",
                    )
                for item in page.items:
                    if agents and item.agentId not in agents:
                        continue
                    record = UsageRecord(
                        provider=self.name,
                        grain=Grain.WINDOW,
                        period_start=start,
                        period_end=end,
                        calls=item.calls,
                        duration_seconds=Decimal(item.totalSeconds),
                        agent_id=item.agentId,
                        extras=_extras(
                            item,
                            agentName=item.agentName,
                            messages=item.messages,
                            isOrphan=item.isOrphan,
                            period=body.period,
                            tz=settings.tz,
                        ),
                    )
                    # The API documents no mode per agent; when an agent's entry carries one, it
                    # is that agent's, and no assumption is needed.
                    said = _stated_mode(item)
                    assumed = said is None and settings.mode_assumed
                    priced = self._price(record, settings, said or settings.mode, assumed=assumed)
                    assumed_agents += assumed and priced.cost is not None
                    yield priced
            if assumed_agents:
                report.warn(_assumed_mode_warning(self.name, settings.mode))

        return FetchPlan(
            walks=[Walk("/v1/usage/by-agent", _parse_by_agent, params=params)],
            to_records=to_records,
            granularity=query.granularity,
        )

    def _by_number_plan(self, query: UsageQuery, settings: _Settings) -> FetchPlan[Any]:
        numbers, agents = set(query.number_ids), set(query.agent_ids)
        note = _NO_DURATION.format(what="per-number usage")

        def to_records(
            pages: Iterator[Page[_wire.NumberUsageItem]], report: FetchReport
        ) -> Iterator[UsageRecord]:
            report.warn(
                f"{self.name}: AgentPhone's per-number usage states no period (the counts look "
                "like totals to date); the records carry the query's period as a label only"
            )
            for page in pages:
                for item in page.items:
                    if numbers and item.numberId not in numbers and item.phoneNumber not in numbers:
                        continue
                    if agents and item.agentId not in agents:
                        continue
                    yield UsageRecord(
                        provider=self.name,
                        grain=Grain.WINDOW,
                        period_start=query.since,
                        period_end=query.until,
                        calls=item.calls,
                        number_id=item.numberId,
                        agent_id=item.agentId,
                        cost_note=note,
                        extras=_extras(
                            item,
                            phoneNumber=item.phoneNumber,
                            country=item.country,
                            status=item.status,
                            messages=item.messages,
                            agentName=item.agentName,
                            periodStated=False,
                        ),
                    )

        return FetchPlan(
            walks=[Walk("/v1/usage/by-number", _parse_by_number)],
            to_records=to_records,
            granularity=query.granularity,
        )

    # --- records --------------------------------------------------------------------------------

    def _series_record(
        self,
        point: _wire.DailyUsagePoint | _wire.MonthlyUsagePoint,
        start: datetime,
        end: datetime,
        settings: _Settings,
        what: str,
    ) -> UsageRecord:
        minutes = point.voiceMinutes
        record = UsageRecord(
            provider=self.name,
            grain=Grain.WINDOW,
            period_start=start,
            period_end=end,
            calls=point.calls,
            duration_seconds=None if minutes is None else minutes * 60,
            cost_note=_NO_DURATION.format(what=what) if minutes is None else None,
            extras=_extras(point, messages=point.messages, webhooks=point.webhooks),
        )
        if minutes is None:
            return record
        return self._price(record, settings, settings.mode, assumed=settings.mode_assumed)

    def _price(
        self, record: UsageRecord, settings: _Settings, mode: str, *, assumed: bool
    ) -> UsageRecord:
        """Price a window that has a duration under the mode's rate card, approximately."""
        try:
            rate = settings.rates.find(self.name, record.period_start, item="call", variant=mode)
        except RateCardError as exc:
            return unpriced(
                record, f"AgentPhone reports no cost, and no rate card can price it: {exc}"
            )
        priced = price_record(record, rate)
        if priced.cost is None:
            return priced
        note = (
            f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min, {mode} mode"
            + (" (assumed: the API does not say the mode)" if assumed else "")
            + "; approximate: no per-call durations, so per-call rounding is not applied"
        )
        if rate.minimum_charge and record.calls and record.duration_seconds is not None:
            floor = rate.minimum_charge * record.calls
            plain = record.duration_seconds / 60 * rate.price_per_minute
            verdict = "applied" if floor > plain else "not reached"
            note += (
                f"; minimum {rate.currency} {rate.minimum_charge} per call as a floor over "
                f"{record.calls} calls: {verdict}"
            )
        return priced.model_copy(update={"cost_note": note})

    def _check_echo(self, report: FetchReport, name: str, echoed: int | None, asked: int) -> None:
        if echoed is not None and echoed != asked:
            report.warn(
                f"{self.name}: asked for {name}={asked}, the API answered for {name}={echoed}"
            )

    def _check_missing_days(
        self, report: FetchReport, seen: set[date], first: datetime, end: datetime, today: date
    ) -> None:
        # Days before today should all be there; today may be absent if "the last N days" ends
        # yesterday, and later days do not exist yet.
        missing = []
        day = first.date()
        stop = min(end.date(), today)
        while day < stop:
            if day not in seen:
                missing.append(day.isoformat())
            day += _DAY
        if missing:
            report.warn(
                f"{self.name}: daily usage has no entry for {len(missing)} day(s) in the period "
                f"({_shorten(missing)}); they are left out, not counted as zero"
            )

    # --- balance, errors, emulator ------------------------------------------------------------

    def balance(self) -> Walk[Any]:
        """`GET /v1/usage`: the plan, its limits, numbers in use and call/message counts."""
        return Walk("/v1/usage", _parse_usage)

    def account_facts(self, snapshot: Any) -> AccountFacts | None:
        """The numbers in use (`numbers.used`), each charged monthly."""
        if not isinstance(snapshot, _wire.UsageSnapshot):
            return None
        return AccountFacts(plan=snapshot.plan.name, numbers=snapshot.numbers.used)

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        """Read AgentPhone's error envelope and FastAPI's `detail` bodies.

        `{"error": {"message", "code", "type", "details": [{"field", "message"}]}}` gives the
        vendor code (or its type) and the message with the field details; FastAPI's 422
        `{"detail": [{"loc", "msg", "type"}]}` gives the first error's type as the code; a plain
        `{"detail": "..."}` gives the message.
        """
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                code = error.get("code") or error.get("type")
                message = str(error.get("message") or "") or None
                details = [
                    _describe(item) for item in error.get("details") or [] if _describe(item)
                ]
                if details:
                    message = f"{message or 'error'} ({'; '.join(details)})"
                return VendorError(None if code is None else str(code), message)
            detail = body.get("detail")
            if isinstance(detail, list):
                vendor = parse_vendor_error(body)
                first = detail[0] if detail else None
                code = first.get("type") if isinstance(first, dict) else None
                return VendorError(str(code) if code else vendor.code, vendor.message)
        return parse_vendor_error(body)

    def emulator(self, api_key: str) -> Any:
        """An `AgentPhoneEmulator` with demo data relative to the provider's today."""
        from voice_usage_agentphone.emulator import AgentPhoneEmulator

        return AgentPhoneEmulator(api_key=api_key, today=self._clock)


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        field, message = item.get("field"), item.get("message")
        if field and message:
            return f"{field}: {message}"
        return str(message or field or "")
    return str(item) if item else ""
