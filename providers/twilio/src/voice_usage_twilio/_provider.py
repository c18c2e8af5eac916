"""The Twilio adapter: Usage Records for day and month windows, the Calls list for calls.

- `day`: `GET /2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json`, one request series per
  voice category, following `next_page_uri`: one `window` record per UTC day and category.
- `month`: `Usage/Records/Monthly.json` when the period is whole calendar months, otherwise the
  daily records rolled up by the core.
- `call`: `GET /2010-04-01/Accounts/{AccountSid}/Calls.json` by start date, following
  `next_page_uri`: one `event` record per call leg, reconciled day by day against the `calls`
  Usage Records of the same days.

Twilio reports money on both: the cost is `reported`, and it pays for the phone line only
(`cost_covers` is `telephony`).

Categories: Twilio's `calls` category is the total of voice minutes and has children. The
records are the children `calls-inbound`, `calls-outbound`, `calls-client` and `calls-sip` (never
their own children such as `calls-inbound-local`, which they already contain), plus `calls-other`
for whatever part of the `calls` total no child names. Each day's records therefore add up to
Twilio's `calls` total exactly, and no minute is counted twice. A day whose children add up to
more than the total (the categories overlap) is reported as the `calls` total alone, with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from voice_usage.provider import (
    CallPart,
    CostSource,
    CursorPaging,
    FetchPlan,
    FetchReport,
    Grain,
    Granularity,
    Page,
    PageRepeats,
    ParamValue,
    RateBook,
    UnsupportedQueryError,
    UsageQuery,
    UsageRecord,
    VendorError,
    Walk,
    check_page_size,
    covers,
    is_utc_boundary,
    parse_vendor_error,
    utc_midnight,
)
from voice_usage_twilio import NAME, Twilio
from voice_usage_twilio._wire import (
    CALL_PAGE,
    USAGE_PAGE,
    Call,
    TwilioUsageRecord,
)

__all__ = [
    "CHILD_CATEGORIES",
    "FAILED_STATUSES",
    "OTHER_CATEGORY",
    "PARENT_CATEGORY",
    "TwilioProvider",
    "billed_minutes",
]


ACCOUNT_PATH: Final = "/2010-04-01/Accounts/{account_sid}"
"""`{account_sid}` is filled in by the core from the `account_sid` credential."""
DAILY_PATH: Final = f"{ACCOUNT_PATH}/Usage/Records/Daily.json"
MONTHLY_PATH: Final = f"{ACCOUNT_PATH}/Usage/Records/Monthly.json"
CALLS_PATH: Final = f"{ACCOUNT_PATH}/Calls.json"

PARENT_CATEGORY: Final = "calls"
"""Twilio's total of voice minutes: the figure every day's records add up to."""
CHILD_CATEGORIES: Final = ("calls-inbound", "calls-outbound", "calls-client", "calls-sip")
"""The children of `calls` reported as records of their own."""
OTHER_CATEGORY: Final = "calls-other"
"""Not a Twilio category: the part of `calls` that none of `CHILD_CATEGORIES` names."""

FAILED_STATUSES: Final = frozenset({"busy", "failed", "no-answer", "canceled"})
"""Final call statuses counted as failed calls."""
ONGOING_STATUSES: Final = frozenset({"queued", "ringing", "in-progress"})
"""Statuses of calls that have not ended: their duration and price are not known yet."""

MAX_PAGE_SIZE: Final = 1000
"""Twilio's largest `PageSize`."""

TELEPHONY: Final = covers([CallPart.TELEPHONY])

_DAY: Final = timedelta(days=1)
_SECOND: Final = timedelta(seconds=1)

# Call fields left out of extras: links, and people's phone numbers and names (personal data).
_CALL_FIELDS_LEFT_OUT: Final = frozenset(
    {"uri", "subresource_uris", "caller_name", "forwarded_from", "to_formatted", "from_formatted"}
)
_RECORD_FIELDS_LEFT_OUT: Final = frozenset({"uri", "subresource_uris", "api_version"})


def billed_minutes(seconds: int) -> int:
    """Minutes Twilio bills for one call leg of ``seconds``: rounded up to the whole minute."""
    return math.ceil(seconds / 60)


def _whole_days(query: UsageQuery) -> bool:
    return all(is_utc_boundary(i, Granularity.DAY) for i in (query.since, query.until))


def _whole_months(query: UsageQuery) -> bool:
    return all(is_utc_boundary(i, Granularity.MONTH) for i in (query.since, query.until))


def _last_day(query: UsageQuery) -> date:
    """The last UTC day `[since, until)` touches (Twilio's date ranges are inclusive)."""
    return (query.until - timedelta(microseconds=1)).date()


class TwilioProvider(Twilio):
    """Twilio Programmable Voice: Usage Records per day and month, and the Calls list.

    Args:
        page_size: `PageSize` asked of every list (Twilio allows 1 to 1000).
    """

    def __init__(self, *, page_size: int = MAX_PAGE_SIZE) -> None:
        self.page_size = check_page_size(page_size, MAX_PAGE_SIZE)

    # -- planning ------------------------------------------------------------------------------

    def plan(self, query: UsageQuery, rates: RateBook | None = None) -> FetchPlan[Any]:
        """Describe the walks answering ``query``; see the module docstring for the mapping."""
        if query.agent_ids:
            raise UnsupportedQueryError(NAME, "Twilio has no agents to filter by")
        if query.number_ids:
            raise UnsupportedQueryError(
                NAME, "Twilio's usage cannot be filtered by phone number here"
            )
        if query.granularity is Granularity.CALL:
            return self._plan_calls(query)
        if not _whole_days(query):
            raise UnsupportedQueryError(
                NAME,
                "Usage Records are whole UTC days: since and until must be dates "
                "(or ask for granularity call)",
            )
        if query.granularity is Granularity.MONTH and _whole_months(query):
            return self._plan_usage(query, MONTHLY_PATH, Granularity.MONTH)
        if query.granularity in (Granularity.DAY, Granularity.MONTH):
            return self._plan_usage(query, DAILY_PATH, Granularity.DAY)
        raise UnsupportedQueryError(
            NAME, f"granularity {query.granularity.value!r} is not reported natively"
        )

    def _usage_walk(self, path: str, category: str, query: UsageQuery) -> Walk[TwilioUsageRecord]:
        params: dict[str, ParamValue] = {
            "Category": category,
            "StartDate": query.since.date().isoformat(),
            "EndDate": _last_day(query).isoformat(),
            # The Calls list holds this account's calls only; so must the usage it is checked with.
            "IncludeSubaccounts": "false",
            "PageSize": self.page_size,
        }
        return Walk(path=path, parse=_parse_usage_page, params=params, paging=CursorPaging())

    def _plan_usage(
        self, query: UsageQuery, path: str, granularity: Granularity
    ) -> FetchPlan[TwilioUsageRecord]:
        walks = [
            self._usage_walk(path, category, query)
            for category in (PARENT_CATEGORY, *CHILD_CATEGORIES)
        ]
        return FetchPlan(
            walks=walks,
            to_records=lambda pages, report: _usage_records(pages, report, query),
            granularity=granularity,
        )

    def _plan_calls(self, query: UsageQuery) -> FetchPlan[Any]:
        calls = Walk(
            path=CALLS_PATH,
            parse=_parse_call_page,
            params={
                # Whole UTC days, both ends inclusive: the exact bounds are applied here.
                "StartTime>": query.since.date().isoformat(),
                "StartTime<": query.until.date().isoformat(),
                "PageSize": self.page_size,
            },
            paging=CursorPaging(),
        )
        aligned = _whole_days(query)
        walks: list[Walk[Any]] = [calls]
        if aligned:
            # The `calls` Usage Records of the same days, to reconcile the list with.
            walks.insert(0, self._usage_walk(DAILY_PATH, PARENT_CATEGORY, query))
        return FetchPlan(
            walks=walks,
            to_records=lambda pages, report: _call_records(pages, report, query, aligned),
            granularity=Granularity.CALL,
        )

    # -- the rest of the provider --------------------------------------------------------------

    def emulator(self, api_key: str) -> Any:
        """A `TwilioEmulator` with demo data, whose auth token is ``api_key``."""
        from voice_usage_twilio.emulator import TwilioEmulator

        return TwilioEmulator(auth_token=api_key)

    def parse_error(self, status_code: int, body: Any) -> VendorError:
        """Twilio's error body: `{"code": 20003, "message": "Authenticate", "more_info", "status"}`."""
        if isinstance(body, dict) and "code" in body and "message" in body:
            code = body["code"]
            return VendorError(None if code is None else str(code), str(body["message"]))
        return parse_vendor_error(body)


# -- parsers -----------------------------------------------------------------------------------


def _parse_usage_page(content: bytes) -> Page[TwilioUsageRecord]:
    page = USAGE_PAGE.validate_json(content)
    return Page(page.usage_records, next_url=page.next_page_uri or None, meta="usage")


def _parse_call_page(content: bytes) -> Page[Call]:
    page = CALL_PAGE.validate_json(content)
    return Page(page.calls, next_url=page.next_page_uri or None, meta="calls")


# -- usage records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Figures:
    """Count, minutes and price of one category on one day, or a difference of them."""

    count: int
    usage: Decimal
    price: Decimal

    @classmethod
    def of(cls, record: TwilioUsageRecord) -> _Figures:
        return cls(record.count, record.usage, record.price)

    def __sub__(self, other: _Figures) -> _Figures:
        return _Figures(
            self.count - other.count, self.usage - other.usage, self.price - other.price
        )

    @property
    def negative(self) -> bool:
        return self.count < 0 or self.usage < 0 or self.price < 0

    @property
    def zero(self) -> bool:
        return self.count == 0 and self.usage == 0 and self.price == 0


_NOTHING = _Figures(0, Decimal(0), Decimal(0))


def _collect(
    pages: Iterator[Page[TwilioUsageRecord]], report: FetchReport, query: UsageQuery
) -> dict[date, dict[str, TwilioUsageRecord]]:
    """The Usage Records by period start and category; a repeated one counts once."""
    table: dict[date, dict[str, TwilioUsageRecord]] = {}
    outside = 0
    for page in pages:
        for record in page.items:
            start = utc_midnight(record.start_date)
            end = utc_midnight(record.end_date) + _DAY
            if start < query.since or end > query.until:
                outside += 1
                continue
            by_category = table.setdefault(record.start_date, {})
            if record.category in by_category:
                report.dropped_duplicates += 1
                report.warn(
                    f"{NAME}: Usage Record {record.category} for {record.start_date} given "
                    "twice; counted once"
                )
                continue
            by_category[record.category] = record
    if outside:
        report.warn(f"{NAME}: {outside} Usage Record(s) outside the queried period ignored")
    return table


def _usage_records(
    pages: Iterator[Page[TwilioUsageRecord]], report: FetchReport, query: UsageQuery
) -> Iterator[UsageRecord]:
    table = _collect(pages, report, query)
    for day in sorted(table):
        by_category = table[day]
        parent = by_category.get(PARENT_CATEGORY)
        children = [by_category[c] for c in CHILD_CATEGORIES if c in by_category]
        if parent is None:
            report.warn(
                f"{NAME}: no '{PARENT_CATEGORY}' Usage Record for {day}; its children "
                "are reported without a total to check them against"
            )
            for child in children:
                yield _window(child)
            continue
        currencies = {parent.price_unit, *(child.price_unit for child in children)}
        rest = _Figures.of(parent)
        for child in children:
            rest = rest - _Figures.of(child)
        if len(currencies) > 1 or rest.negative:
            why = (
                f"in several currencies ({', '.join(sorted(currencies))})"
                if len(currencies) > 1
                else "adding up to more than the total"
            )
            report.warn(
                f"{NAME}: the '{PARENT_CATEGORY}' categories of {day} are {why}; the "
                f"'{PARENT_CATEGORY}' total is reported alone"
            )
            yield _window(parent)
            continue
        for child in children:
            yield _window(child)
        if not rest.zero:
            yield _window(parent, category=OTHER_CATEGORY, figures=rest)


def _window(
    record: TwilioUsageRecord, *, category: str | None = None, figures: _Figures | None = None
) -> UsageRecord:
    category = category or record.category
    figures = figures or _Figures.of(record)
    start = utc_midnight(record.start_date)
    extras: dict[str, Any] = {"category": category}
    if category == OTHER_CATEGORY:
        extras["derived_from"] = (
            f"{PARENT_CATEGORY} minus {', '.join(CHILD_CATEGORIES)} (the part no child names)"
        )
    else:
        extras.update(
            (key, value)
            for key, value in (
                ("description", record.description),
                ("count_unit", record.count_unit),
                ("usage_unit", record.usage_unit),
                ("as_of", record.as_of),
            )
            if value is not None
        )
        extras.update(
            (key, value)
            for key, value in (record.model_extra or {}).items()
            if key not in _RECORD_FIELDS_LEFT_OUT
        )
    return UsageRecord(
        provider=NAME,
        account=record.account_sid,
        grain=Grain.WINDOW,
        period_start=start,
        period_end=utc_midnight(record.end_date) + _DAY,
        calls=figures.count,
        billed_minutes=figures.usage,
        cost=figures.price,
        currency=record.price_unit,
        cost_source=CostSource.REPORTED,
        cost_covers=TELEPHONY,
        cost_note=f"reported by Twilio Usage Records ({category}): the phone line only",
        extras=extras,
    )


# -- calls -------------------------------------------------------------------------------------


@dataclass
class _Day:
    """What the Calls list adds up to on one UTC day."""

    calls: int = 0
    minutes: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    currencies: set[str] = field(default_factory=set)


def _call_records(
    pages: Iterator[Page[Any]], report: FetchReport, query: UsageQuery, reconcile: bool
) -> Iterator[UsageRecord]:
    usage: dict[date, TwilioUsageRecord] = {}
    listed: dict[date, _Day] = {}
    # A call listed again on the next page (the list moved while paging) counts once.
    repeats: PageRepeats[str] = PageRepeats()
    for page in pages:
        if page.meta == "usage":
            for record in page.items:
                usage.setdefault(record.start_date, record)
            continue
        repeats.next_page()
        for call in page.items:
            if repeats.repeated(call.sid):
                report.dropped_duplicates += 1
                report.warn(f"{NAME}: call {call.sid} listed twice across pages; counted once")
                continue
            record = _call_record(call)
            if not query.contains(record.period_start):
                continue  # the list is filtered by whole days; the exact bounds apply here
            day = listed.setdefault(record.period_start.date(), _Day())
            day.calls += 1
            day.minutes += int(record.billed_minutes or 0)
            if record.cost is None:
                day.unpriced += 1
            else:
                day.cost += record.cost
                day.currencies.add(str(record.currency))
            yield record
    if reconcile:
        _reconcile_days(report, usage, listed, query)


def _reconcile_days(
    report: FetchReport,
    usage: Mapping[date, TwilioUsageRecord],
    listed: Mapping[date, _Day],
    query: UsageQuery,
) -> None:
    """Each day's calls, billed minutes and cost from the list against its `calls` Usage Record."""
    day = query.since.date()
    while day < query.until.date():
        record = usage.get(day)
        sums = listed.get(day, _Day())
        if record is None:
            if sums.calls:
                report.warn(
                    f"{NAME}: no '{PARENT_CATEGORY}' Usage Record for {day} to check "
                    f"its {sums.calls} listed call(s) against"
                )
        else:
            what = f"on {day} (Calls list against Usage Records)"
            report.reconcile(f"calls {what}", reported=record.count, computed=sums.calls)
            report.reconcile(f"billed_minutes {what}", reported=record.usage, computed=sums.minutes)
            others = sums.currencies - {record.price_unit}
            if sums.unpriced:
                report.warn(
                    f"{NAME}: cost on {day} not reconciled: {sums.unpriced} call(s) not "
                    "priced by Twilio yet"
                )
            elif others:
                report.warn(
                    f"{NAME}: cost on {day} not reconciled: calls priced in "
                    f"{', '.join(sorted(sums.currencies))}, Usage Records in {record.price_unit}"
                )
            else:
                report.reconcile(f"cost {what}", reported=record.price, computed=sums.cost)
        day += _DAY


def _call_record(call: Call) -> UsageRecord:
    start = call.started
    end = call.end_time if call.end_time is not None and call.end_time > start else start + _SECOND
    ongoing = call.status in ONGOING_STATUSES
    failed = call.status in FAILED_STATUSES
    seconds = call.duration
    if seconds is None and failed:
        seconds = 0  # never connected: no time on the line
    extras: dict[str, Any] = {"status": call.status}
    for key, value in (
        ("direction", call.direction),
        ("parent_call_sid", call.parent_call_sid),
        ("trunk_sid", call.trunk_sid),
        ("answered_by", call.answered_by),
        ("price", None if call.price is None else str(call.price)),
    ):
        if value is not None:
            extras[key] = value
    extras.update(
        (key, value)
        for key, value in (call.model_extra or {}).items()
        if key not in _CALL_FIELDS_LEFT_OUT
    )
    values: dict[str, Any] = {
        "provider": NAME,
        "account": call.account_sid,
        "grain": Grain.EVENT,
        "call_id": call.sid,
        "period_start": start,
        "period_end": end,
        "calls": 1,
        "failed_calls": None if ongoing else int(failed),
        "duration_seconds": None if seconds is None else Decimal(seconds),
        "billed_minutes": None if seconds is None else Decimal(billed_minutes(seconds)),
        "number_id": call.phone_number_sid,
        "extras": extras,
    }
    if call.price is None:
        values["cost_note"] = (
            f"call still {call.status}: not priced yet"
            if ongoing
            else "Twilio has not priced this call yet (price is set some time after the call "
            "ends); fetch again later"
        )
    else:
        values.update(
            # Twilio writes a charge as a negative amount ("-0.02000"): the cost is its size.
            cost=abs(call.price),
            currency=call.price_unit,  # set whenever price is: the wire model checks
            cost_source=CostSource.REPORTED,
            cost_covers=TELEPHONY,
            cost_note="reported by Twilio: connectivity of this call leg only",
        )
    return UsageRecord(**values)
