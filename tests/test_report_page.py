"""The report page's figures: compare's, over the same records, and worked out by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import compare
from voice_usage._outputs._page import bucket_keys, money
from voice_usage._outputs._report import report
from voice_usage._schema import CostSource, Grain, UsageRecord
from voice_usage.testing import RecordsProvider

KEY = "test-key"
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 3, tzinfo=UTC)
FX = ["USD:EUR=0.9"]


def call(
    start: datetime, seconds: int, billed: str, cost: str, split: dict[str, str], agent: str
) -> UsageRecord:
    return UsageRecord(
        provider="alpha",
        grain=Grain.EVENT,
        period_start=start,
        period_end=start + timedelta(seconds=seconds),
        calls=1,
        failed_calls=0,
        duration_seconds=Decimal(seconds),
        billed_minutes=Decimal(billed),
        cost=Decimal(cost),
        currency="EUR",
        cost_source=CostSource.REPORTED,
        cost_components={k: Decimal(v) for k, v in split.items()},
        agent_id=agent,
        number_id="+15550001",
        call_id=f"c-{start.isoformat()}",
    )


def day(d: int, calls: int, billed: str, cost: str | None) -> UsageRecord:
    start = datetime(2026, 11, d, tzinfo=UTC)
    return UsageRecord(
        provider="beta",
        grain=Grain.WINDOW,
        period_start=start,
        period_end=start + timedelta(days=1),
        calls=calls,
        billed_minutes=Decimal(billed),
        cost=None if cost is None else Decimal(cost),
        currency=None if cost is None else "USD",
        cost_source=None if cost is None else CostSource.REPORTED,
        cost_note=None if cost is not None else "the vendor sent no amount for this day",
    )


# By hand, in EUR at USD:EUR=0.9:
#   alpha (calls, EUR, split call + sip):
#     Nov 1: 2 calls, 2 + 1 = 3 billed min, 0.20 + 0.10 = 0.30 EUR (call 0.27, sip 0.03), 0.10/min
#     Nov 2: 1 call,  2 billed min,          0.20 EUR (call 0.18, sip 0.02),              0.10/min
#     whole period: 3 calls, 5 min, 0.50 EUR; agent a1 0.40 EUR (2 calls), a2 0.10 EUR
#   beta (day windows, USD):
#     Nov 1: 4 calls, 10 min, 1.00 USD = 0.90 EUR, 0.09 EUR/min
#     Nov 2: 2 calls, 5 min, cost unknown (a vendor with counts but no cost)
ALPHA = RecordsProvider(
    [
        call(
            datetime(2026, 11, 1, 10, tzinfo=UTC),
            90,
            "2",
            "0.20",
            {"call": "0.18", "sip": "0.02"},
            "a1",
        ),
        call(
            datetime(2026, 11, 1, 11, tzinfo=UTC),
            30,
            "1",
            "0.10",
            {"call": "0.09", "sip": "0.01"},
            "a2",
        ),
        call(
            datetime(2026, 11, 2, 9, tzinfo=UTC),
            120,
            "2",
            "0.20",
            {"call": "0.18", "sip": "0.02"},
            "a1",
        ),
    ],
    name="alpha",
)
BETA = RecordsProvider(
    [day(1, 4, "10", "1.00"), day(2, 2, "5", None)],
    name="beta",
    granularities=[voice_usage.Granularity.DAY],
)


def options(*providers: Any) -> dict[str, dict[str, Any]]:
    return {p.name: {"api_key": KEY, "transport": p.transport(KEY)} for p in providers}


class Tables(HTMLParser):
    """Every <table id=...> of a page as rows of cell texts (header row first)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def column(table: list[list[str]], name: str) -> dict[str, str]:
    header = table[0]
    index = header.index(name)
    return {row[0]: row[index] for row in table[1:]}


@pytest.fixture(scope="module")
def page() -> Any:
    return report(
        [ALPHA, BETA], SINCE, UNTIL, currency="EUR", fx=FX, connect_options=options(ALPHA, BETA)
    )


def test_chart_tables_hold_the_hand_worked_figures(page: Any) -> None:
    tables = Tables(page.html).tables
    cost = tables["figures-cost-eur"]
    assert cost[0] == ["Day (UTC)", "alpha", "alpha · call", "alpha · sip", "beta"]
    assert cost[1:] == [
        ["2026-11-01", "0.30", "0.27", "0.03", "0.90"],
        ["2026-11-02", "0.20", "0.18", "0.02", "unknown"],
    ]
    calls = tables["figures-calls"]
    assert calls[1:] == [["2026-11-01", "2", "4"], ["2026-11-02", "1", "2"]]
    minutes = tables["figures-minutes"]
    assert minutes[1:] == [["2026-11-01", "3", "10"], ["2026-11-02", "2", "5"]]
    price = tables["figures-price"]
    assert column(price, "alpha") == {"2026-11-01": "0.10", "2026-11-02": "0.10"}
    assert column(price, "beta") == {"2026-11-01": "0.09", "2026-11-02": "unknown"}
    l4l = tables["like-for-like"]
    assert column(l4l, "Calls") == {"alpha": "3", "beta": "6", "total": "9"}
    assert column(l4l, "Cost (EUR)") == {"alpha": "0.50 EUR", "beta": "unknown", "total": "unknown"}
    agents = tables["top-agents"]
    assert [(r[0], r[1], r[4]) for r in agents[1:]] == [
        ("alpha", "a1", "0.40"),
        ("alpha", "a2", "0.10"),
        ("beta", "(no agent)", "unknown"),
    ]
    # why beta's cost is unknown is said once, under the table
    assert page.html.count("the vendor sent no amount for this day") >= 1


def test_chart_tables_equal_compare_over_the_same_records(page: Any) -> None:
    live = {}
    for by in ("day", "provider", "agent"):
        live[by] = compare(
            [ALPHA, BETA],
            SINCE,
            UNTIL,
            currency="EUR",
            fx=FX,
            group_by=by,
            connect_options=options(ALPHA, BETA),
        )
    figures = page.figures
    assert [r.to_json() for r in figures.timeline.rows] == [r.to_json() for r in live["day"].rows]
    assert [r.to_json() for r in figures.overall.rows] == [
        r.to_json() for r in live["provider"].rows
    ]
    assert figures.overall.total is not None and live["provider"].total is not None
    assert figures.overall.total.to_json() == live["provider"].total.to_json()
    assert [r.to_json() for r in figures.agents.rows] == [r.to_json() for r in live["agent"].rows]
    # and the page's cells are those rows' figures
    tables = Tables(page.html).tables
    cost = column(tables["figures-cost-eur"], "alpha")
    for row in live["day"].rows:
        if row.provider == "alpha":
            assert row.converted_cost is not None
            assert cost[row.group or ""] == money(row.converted_cost)


def test_same_input_same_bytes_and_nothing_loaded_from_elsewhere(page: Any) -> None:
    again = report(
        [ALPHA, BETA], SINCE, UNTIL, currency="EUR", fx=FX, connect_options=options(ALPHA, BETA)
    )
    assert again.html == page.html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page.html)
    assert "<script" not in page.html and "@import" not in page.html and "url(" not in page.html


def test_a_failed_provider_is_on_the_page_and_the_others_complete() -> None:
    down = RecordsProvider([], name="down")

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "unauthorized", "message": "bad key"})

    opts = options(ALPHA)
    opts["down"] = {"api_key": KEY, "transport": httpx.MockTransport(broken)}
    page = report([ALPHA, down], SINCE, UNTIL, connect_options=opts)
    assert not page.ok and [e.provider for e in page.errors] == ["down"]
    assert 'id="failed"' in page.html and "down: " in page.html
    calls = Tables(page.html).tables["figures-calls"]
    assert calls[0] == ["Day (UTC)", "alpha"]


def test_an_empty_period_renders_every_chart_with_no_figures() -> None:
    quiet = RecordsProvider([], name="quiet")
    page = report([quiet], "2026-12-01", "2026-12-03", connect_options=options(quiet))
    assert page.ok
    assert page.html.count("<svg") == 4
    # nothing happened: no calls, no minutes and no cost are known zeros; a price per minute is not
    assert page.html.count("No figures to draw for this period") == 1
    calls = Tables(page.html).tables["figures-calls"]
    assert calls[1:] == [["2026-12-01", "0"], ["2026-12-02", "0"]]


def test_a_two_year_range_is_charted_by_month() -> None:
    assert bucket_keys(
        datetime(2025, 1, 15, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
        voice_usage.GroupBy.MONTH,
    )[:2] == ["2025-01", "2025-02"]
    page = report([ALPHA], "2025-01-01", "2027-01-01", connect_options=options(ALPHA))
    calls = Tables(page.html).tables["figures-calls"]
    assert calls[0][0] == "Month (UTC)" and len(calls) == 1 + 24
    assert column(calls, "alpha")["2026-11"] == "3"
    assert column(calls, "alpha")["2025-01"] == "0"


def test_output_path_is_checked_before_any_request(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    opts = {"alpha": {"api_key": KEY, "transport": httpx.MockTransport(record)}}
    for bad, why in ((tmp_path, "is a directory"), (tmp_path / "no" / "r.html", "does not exist")):
        with pytest.raises(voice_usage.ConfigurationError, match=why):
            report([ALPHA], SINCE, UNTIL, output=bad, connect_options=opts)
    assert seen == []
    written = report(
        [ALPHA], SINCE, UNTIL, output=tmp_path / "r.html", connect_options=options(ALPHA)
    )
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == written.html


def priced(day_: int, item: str, minutes: str, cost: str, card: str) -> UsageRecord:
    start = datetime(2026, 11, day_, tzinfo=UTC)
    return UsageRecord(
        provider="gamma",
        grain=Grain.WINDOW,
        period_start=start,
        period_end=start + timedelta(days=1),
        calls=None if item == "sip" else 3,
        billed_minutes=Decimal(minutes),
        cost=Decimal(cost),
        currency="USD",
        cost_source=CostSource.RATE_CARD,
        rate_card=card,
        item=item,
    )


def test_line_items_without_a_split_stack_by_metered_item_and_their_cards_are_listed() -> None:
    from voice_usage import default_rate_book

    book = {rate.label: rate for rate in default_rate_book().rates}
    call_card, sip_card = "ultravox/call@2025-01-01", "ultravox/sip@2025-11-10"
    gamma = RecordsProvider(
        [
            priced(1, "call", "10", "0.50", call_card),
            priced(1, "sip", "4", "0.02", sip_card),
            priced(2, "call", "2", "0.10", call_card),
        ],
        name="gamma",
        granularities=[voice_usage.Granularity.DAY],
    )
    page = report([gamma], SINCE, UNTIL, connect_options=options(gamma))
    tables = Tables(page.html).tables
    cost = tables["figures-cost-usd"]
    assert cost[0] == ["Day (UTC)", "gamma", "gamma · call", "gamma · sip"]
    # call minutes and SIP minutes are the vendor's own line items: 0.50 + 0.02 on Nov 1
    assert cost[1:] == [
        ["2026-11-01", "0.52", "0.50", "0.02"],
        ["2026-11-02", "0.10", "0.10", "0.00"],
    ]
    cards = tables["rate-cards"]
    assert [row[0] for row in cards[1:]] == [call_card, sip_card]
    for row in cards[1:]:
        rate = book[row[0]]
        assert row[1].startswith(f"{money(rate.price_per_minute)} {rate.currency}")
        assert row[4] == ", ".join(str(part) for part in rate.covers)
