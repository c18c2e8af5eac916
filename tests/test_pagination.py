"""Offset and cursor walks: to the last page, in order, and never a silent loop or truncation."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    CursorPaging,
    NotFoundError,
    OffsetPaging,
    Page,
    PaginationError,
    ResponseValidationError,
    Walk,
)
from voice_usage._engine._http import AsyncSession, Session
from voice_usage._engine._pagination import awalk_pages, walk_pages
from voice_usage.provider import TokenPaging
from voice_usage.testing import FakeProvider

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"


def parse(content: bytes) -> Page[int]:
    data = json.loads(content)
    return Page(data["items"], total=data.get("total"), next_url=data.get("next"))


def offset_server(
    total: int,
    *,
    cap: int | None = None,
    tamper: Callable[[int, dict[str, Any]], None] | None = None,
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        size = min(limit, cap) if cap else limit
        body: dict[str, Any] = {
            "items": list(range(offset, min(offset + size, total))),
            "total": total,
        }
        if tamper:
            tamper(offset, body)
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler)


def offset_walk(limit: int = 10, max_pages: int = 10_000) -> Walk[int]:
    return Walk("/items", parse, {"q": "x"}, OffsetPaging(limit=limit, max_pages=max_pages))


def sync_items(transport: httpx.MockTransport, walk: Walk[int]) -> list[int]:
    with Session(FakeProvider(), api_key=KEY, transport=transport) as session:
        return [item for page in walk_pages(session, walk) for item in page.items]


def async_items(transport: httpx.MockTransport, walk: Walk[int], concurrency: int = 4) -> list[int]:
    async def run() -> list[int]:
        async with AsyncSession(FakeProvider(), api_key=KEY, transport=transport) as session:
            return [
                i
                async for page in awalk_pages(session, walk, concurrency=concurrency)
                for i in page.items
            ]

    return asyncio.run(run())


WALKERS = [pytest.param(sync_items, id="sync"), pytest.param(async_items, id="async")]


@pytest.mark.parametrize("walker", WALKERS)
@pytest.mark.parametrize("total", [0, 1, 9, 10, 11, 95, 100])
def test_offset_walk_reaches_the_last_page_in_order(walker, total):
    assert walker(offset_server(total), offset_walk(limit=10)) == list(range(total))


@pytest.mark.parametrize("walker", WALKERS)
def test_offset_walk_adapts_to_a_server_page_cap(walker):
    # asked for 10 a page, the server gives 4: step by 4, without gaps
    assert walker(offset_server(23, cap=4), offset_walk(limit=10)) == list(range(23))


@pytest.mark.parametrize("walker", WALKERS)
def test_an_empty_page_before_the_total_is_an_error(walker):
    def empty_third(offset: int, body: dict[str, Any]) -> None:
        if offset == 20:
            body["items"] = []

    with pytest.raises(PaginationError, match="offset 20 has 0 items"):
        walker(offset_server(45, tamper=empty_third), offset_walk(limit=10))


@pytest.mark.parametrize("walker", WALKERS)
def test_a_total_that_changes_mid_walk_is_an_error(walker):
    def grow(offset: int, body: dict[str, Any]) -> None:
        if offset >= 20:
            body["total"] = 46

    with pytest.raises(PaginationError, match="total changed from 45 to 46"):
        walker(offset_server(45, tamper=grow), offset_walk(limit=10))


@pytest.mark.parametrize("walker", WALKERS)
def test_the_page_cap_raises_rather_than_truncating(walker):
    with pytest.raises(PaginationError, match="more than 3 pages"):
        walker(offset_server(100), offset_walk(limit=10, max_pages=3))


def test_offset_walk_without_a_total_stops_at_a_short_page():
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"items": list(range(offset, min(offset + 10, 25)))})

    assert sync_items(httpx.MockTransport(handler), offset_walk()) == list(range(25))
    assert async_items(httpx.MockTransport(handler), offset_walk()) == list(range(25))


def test_async_offset_walk_bounds_requests_in_flight():
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)  # yield so that concurrent requests overlap
        await asyncio.sleep(0)
        in_flight -= 1
        offset = int(request.url.params["offset"])
        return httpx.Response(
            200, json={"items": list(range(offset, min(offset + 10, 200))), "total": 200}
        )

    assert async_items(httpx.MockTransport(handler), offset_walk(), concurrency=3) == list(
        range(200)
    )
    assert 2 <= peak <= 3


def cursor_server(pages: int, *, loop_at: int | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("cursor", "0"))
        nxt = n + 1
        if loop_at is not None and n == loop_at:
            nxt = 1
        body = {
            "items": [n * 10 + i for i in range(3)],
            "next": f"https://fake.invalid/v1/items?cursor={nxt}&pageSize=3"
            if n + 1 < pages
            else None,
        }
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler)


def cursor_walk(max_pages: int = 10_000) -> Walk[int]:
    return Walk("/items", parse, {"pageSize": "3"}, CursorPaging(max_pages=max_pages))


@pytest.mark.parametrize("walker", WALKERS)
def test_cursor_walk_follows_next_verbatim_to_the_end(walker):
    expected = [n * 10 + i for n in range(5) for i in range(3)]
    assert walker(cursor_server(5), cursor_walk()) == expected


@pytest.mark.parametrize("walker", WALKERS)
def test_a_repeating_cursor_is_an_error(walker):
    with pytest.raises(PaginationError, match="cursor repeats"):
        walker(cursor_server(10, loop_at=3), cursor_walk())


@pytest.mark.parametrize("walker", WALKERS)
def test_cursor_page_cap(walker):
    with pytest.raises(PaginationError, match="more than 2 pages"):
        walker(cursor_server(10), cursor_walk(max_pages=2))


def test_cursor_next_url_query_is_not_replaced():
    seen: list[str] = []
    inner = cursor_server(3)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return inner.handle_request(request)

    sync_items(httpx.MockTransport(handler), cursor_walk())
    assert seen == [
        "https://fake.invalid/v1/items?pageSize=3",
        "https://fake.invalid/v1/items?cursor=1&pageSize=3",
        "https://fake.invalid/v1/items?cursor=2&pageSize=3",
    ]


@pytest.mark.parametrize("walker", WALKERS)
@pytest.mark.parametrize(
    ("content", "ctype", "phrase"),
    [
        (b"<html><body>maintenance</body></html>", "text/html", "expected JSON, got text/html"),
        (b'{"items": [1, 2', "application/json", "expected JSON"),
    ],
)
def test_a_body_that_is_not_json_is_a_response_validation_error(walker, content, ctype, phrase):
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=content, headers={"content-type": ctype})
    )
    with pytest.raises(ResponseValidationError, match=phrase):
        walker(transport, offset_walk())


# -- a fallback walk: read when the first request answers 404 ------------------------------------


def fallback_server(
    *, missing: bool, later_404: bool = False
) -> tuple[httpx.MockTransport, list[str]]:
    """`/new` pages offset-style unless ``missing``; `/old` answers one page of its own."""
    seen: list[str] = []
    inner = offset_server(25)

    def handler(request: httpx.Request) -> httpx.Response:
        path = "/" + request.url.path.rsplit("/", 1)[-1]
        seen.append(path)
        if path == "/old":
            return httpx.Response(200, json={"items": [-1, -2]})
        if missing or (later_404 and request.url.params["offset"] != "0"):
            return httpx.Response(404, json={"message": "Cannot GET /new", "error": "Not Found"})
        return inner.handle_request(request)

    return httpx.MockTransport(handler), seen


def fallback_walk() -> Walk[int]:
    return Walk(
        "/new", parse, {}, OffsetPaging(limit=10), fallback=Walk("/old", parse, {"limit": "5"})
    )


@pytest.mark.parametrize("walker", WALKERS)
def test_a_first_404_reads_the_fallback_walk_instead(walker):
    transport, seen = fallback_server(missing=True)
    assert walker(transport, fallback_walk()) == [-1, -2]
    assert seen == ["/new", "/old"]


@pytest.mark.parametrize("walker", WALKERS)
def test_the_fallback_is_not_read_when_the_endpoint_answers(walker):
    transport, seen = fallback_server(missing=False)
    assert walker(transport, fallback_walk()) == list(range(25))
    assert "/old" not in seen


@pytest.mark.parametrize("walker", WALKERS)
def test_a_404_on_a_later_page_is_an_error_not_a_fallback(walker):
    transport, seen = fallback_server(missing=False, later_404=True)
    with pytest.raises(NotFoundError):
        walker(transport, fallback_walk())
    assert "/old" not in seen


@pytest.mark.parametrize("walker", WALKERS)
def test_a_404_without_a_fallback_is_reported(walker):
    transport, _ = fallback_server(missing=True)
    with pytest.raises(NotFoundError, match="404"):
        walker(transport, offset_walk())


# -- token paging: a token the page carries, sent back in the query or a POST's JSON body -------


def token_server(
    total: int, *, size: int = 10, where: str = "body", tamper: Callable[[dict], None] | None = None
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if where == "body":
            assert request.method == "POST"
            sent = json.loads(request.content)
            assert sent["filter"] == {"day": "2026-10-01"}  # the walk's body rides along
            token = sent.get("key")
        else:
            token = request.url.params.get("key")
        start = 0 if token is None else int(token.removeprefix("k"))
        items = list(range(start, min(start + size, total)))
        body: dict[str, Any] = {"items": items}
        if start + size < total:
            body["key"] = f"k{start + size}"
        if tamper:
            tamper(body)
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler), seen


def parse_token(content: bytes) -> Page[int]:
    data = json.loads(content)
    return Page(data["items"], next_token=data.get("key"))


def token_walk(where: str = "body", max_pages: int = 10_000, **extra: Any) -> Walk[int]:
    if where == "body":
        return Walk(
            "/search",
            parse_token,
            paging=TokenPaging("key", "body", max_pages=max_pages),
            method="POST",
            body={"filter": {"day": "2026-10-01"}},
            **extra,
        )
    return Walk("/items", parse_token, {"q": "x"}, TokenPaging("key", max_pages=max_pages), **extra)


@pytest.mark.parametrize("walker", WALKERS)
@pytest.mark.parametrize("where", ["body", "query"])
@pytest.mark.parametrize("total", [0, 1, 10, 11, 95])
def test_token_walk_reaches_the_last_page_in_order(walker, where, total):
    transport, seen = token_server(total, where=where)
    assert walker(transport, token_walk(where)) == list(range(total))
    assert len(seen) == max(1, -(-total // 10))  # one request a page, none after the last
    if where == "query":
        assert [r.url.params.get("q") for r in seen] == ["x"] * len(seen)


@pytest.mark.parametrize("walker", WALKERS)
def test_a_token_that_repeats_is_a_pagination_error(walker):
    def stuck(body: dict) -> None:
        if "key" in body:
            body["key"] = "k10"  # page 2 points at itself

    transport, seen = token_server(50, tamper=stuck)
    with pytest.raises(PaginationError, match="the cursor repeats"):
        walker(transport, token_walk())
    assert len(seen) == 2


@pytest.mark.parametrize("walker", WALKERS)
def test_a_token_walk_stops_at_its_page_cap(walker):
    transport, _ = token_server(100)
    with pytest.raises(PaginationError, match="more than 3 pages"):
        walker(transport, token_walk(max_pages=3))


# -- a POST walk falling back on an older POST endpoint ------------------------------------------


def versioned_server(new_status: int = 404, fail_later: bool = False) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v3/search"):
            if fail_later and request.content and "key" in json.loads(request.content):
                return httpx.Response(404, json={"message": "gone"})
            if not fail_later:
                return httpx.Response(new_status, json={"message": "no such route"})
            return httpx.Response(200, json={"items": [1, 2], "key": "k2"})
        assert request.url.path.endswith("/v2/search")
        return httpx.Response(200, json={"items": [7, 8, 9]})

    return httpx.MockTransport(handler)


def versioned_walk() -> Walk[int]:
    old = Walk("/v2/search", parse_token, method="POST", body={"v": 2})
    return Walk(
        "/v3/search",
        parse_token,
        paging=TokenPaging("key", "body"),
        method="POST",
        body={"v": 3},
        fallback=old,
    )


@pytest.mark.parametrize("walker", WALKERS)
def test_a_post_walk_falls_back_on_the_older_endpoint_with_its_own_body(walker):
    assert walker(versioned_server(), versioned_walk()) == [7, 8, 9]


@pytest.mark.parametrize("walker", WALKERS)
def test_a_post_walk_does_not_fall_back_on_another_status(walker):
    with pytest.raises(voice_usage.AuthenticationError):
        walker(versioned_server(401), versioned_walk())


@pytest.mark.parametrize("walker", WALKERS)
def test_a_post_walk_does_not_fall_back_on_a_404_later_in_the_walk(walker):
    with pytest.raises(voice_usage.NotFoundError):
        walker(versioned_server(fail_later=True), versioned_walk())


def test_a_post_that_gives_up_says_post_in_its_message(sleeps):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"message": "busy"})

    provider = FakeProvider()
    with (
        Session(
            provider, api_key=KEY, transport=httpx.MockTransport(handler), sleep=sleeps
        ) as session,
        pytest.raises(voice_usage.ServerError) as caught,
    ):
        list(walk_pages(session, token_walk()))
    assert caught.value.method == "POST"
    assert "(POST /v1/search: gave up after 5 attempts" in str(caught.value)


def test_async_offset_walk_keeps_sending_while_the_caller_holds_a_page():
    # 20 pages of 10, two in flight. The caller takes the first two pages, then works on the
    # second while the loop runs on: the answers that come in meanwhile make way for the next
    # requests, up to four answers (twice the concurrency) kept for the caller. Counted by hand:
    # the first page alone, the page held, and four answers waiting for the caller: 6 requests
    # (were the next request sent only when the caller takes a page: 1 + 1 + 2 = 4).
    sent: list[int] = []
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        offset = int(request.url.params["offset"])
        sent.append(offset)
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(
            200, json={"items": list(range(offset, min(offset + 10, 200))), "total": 200}
        )

    async def run() -> tuple[int, list[int]]:
        transport = httpx.MockTransport(handler)
        async with AsyncSession(FakeProvider(), api_key=KEY, transport=transport) as session:
            pages = awalk_pages(session, offset_walk(limit=10), concurrency=2)
            items = [*(await anext(pages)).items, *(await anext(pages)).items]
            for _ in range(100):  # the caller at work; the event loop runs meanwhile
                await asyncio.sleep(0)
            held = len(sent)
            items += [i async for page in pages for i in page.items]
            return held, items

    held, items = asyncio.run(run())
    assert held == 6
    assert items == list(range(200))
    assert sorted(sent) == list(range(0, 200, 10))  # each page asked for once
    assert peak <= 2
