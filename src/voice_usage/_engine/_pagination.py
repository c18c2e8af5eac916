"""Walking a provider's `Walk` page by page, to the last page, with loop and cap guards.

The guards are written once (`_OffsetWalk`, `_CursorWalk`) and used by both the sequential
walker and the concurrent one. Offset walks stop when the pages cover the `total`, refuse an empty
page before that, a total that changes mid-walk, and more than `max_pages` pages. Cursor walks
follow `next` verbatim (or send a page's token back, in the query or the JSON body), refuse a
cursor seen twice, and stop at the cap.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

from pydantic import ValidationError

from voice_usage._engine._http import AsyncSession, RawResponse, Session
from voice_usage._engine._plan import (
    CursorPaging,
    OffsetPaging,
    Page,
    ParamValue,
    TokenPaging,
    Walk,
)
from voice_usage._exceptions import (
    OUT_OF_RANGE,
    NotFoundError,
    PaginationError,
    ResponseValidationError,
    out_of_range,
)

__all__ = ["awalk_pages", "parse_page", "walk_pages"]

T = TypeVar("T")


def parse_page(provider: str, walk: Walk[T], response: RawResponse) -> Page[T]:
    """Run the provider's parser, turning a misfit body into `ResponseValidationError`."""
    try:
        return walk.parse(response.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":  # validate_json on a body that is not JSON at all
            raise _not_json(provider, walk, response, first["msg"]) from None
        redact = response.redact  # the body may echo the key: never quote it
        where = redact(".".join(str(part) for part in first["loc"]))
        count = exc.error_count()
        more = f" (and {count - 1} more problems)" if count > 1 else ""
        shown = redact(repr(first.get("input")))[:60]
        raise ResponseValidationError(
            provider,
            f"unexpected response from {walk.path}: field {where!r}: {redact(first['msg'])} "
            f"(got {shown}){more}",
            field=where,
        ) from None
    except json.JSONDecodeError as exc:
        raise _not_json(provider, walk, response, str(exc)) from None
    except ValueError as exc:
        raise ResponseValidationError(
            provider, f"unexpected response from {walk.path}: {response.redact(str(exc))}"
        ) from None
    except OUT_OF_RANGE as exc:  # a validator doing arithmetic on an absurd number or date
        raise ResponseValidationError(
            provider, f"unexpected response from {walk.path}: {out_of_range(exc)}"
        ) from None


def _not_json(
    provider: str, walk: Walk[Any], response: RawResponse, reason: str
) -> ResponseValidationError:
    kind = response.headers.get("content-type", "no content type")
    return ResponseValidationError(
        provider,
        f"unexpected response from {walk.path}: expected JSON, got {kind} "
        f"({len(response.content)} bytes): {reason}",
    )


class _OffsetWalk:
    """The bookkeeping of an offset walk: which offsets to ask for and when the walk is done."""

    def __init__(self, provider: str, walk: Walk[Any], paging: OffsetPaging) -> None:
        self.provider = provider
        self.walk = walk
        self.paging = paging
        self.total: int | None = None
        self.pages = 0
        self.stride = paging.limit
        """Offset step: the requested limit, or a smaller page size the server imposed."""

    def params(self, offset: int) -> dict[str, ParamValue]:
        return {
            **self.walk.params,
            self.paging.limit_param: self.paging.limit,
            self.paging.offset_param: offset,
        }

    def accept(self, offset: int, page: Page[Any]) -> bool:
        """Check one page (in walk order); returns whether more pages follow it."""
        self.pages += 1
        if self.pages > self.paging.max_pages:
            raise PaginationError(
                self.provider,
                f"{self.walk.path}: more than {self.paging.max_pages} pages; refusing to "
                "return a truncated result (narrow the period)",
            )
        if page.total is not None:
            if self.total is None:
                self.total = page.total
            elif page.total != self.total:
                raise PaginationError(
                    self.provider,
                    f"{self.walk.path}: the total changed from {self.total} to {page.total} "
                    "during the walk (usage was written while reading); fetch again",
                )
        got = len(page.items)
        if offset == 0 and self.total is not None and 0 < got < min(self.paging.limit, self.total):
            # The server caps the page size below what was asked: step by what it gives.
            self.stride = got
        if self.total is None:
            return got >= self.stride
        if offset + got >= self.total:
            return False
        if got < self.stride:
            raise PaginationError(
                self.provider,
                f"{self.walk.path}: page at offset {offset} has {got} items, expected "
                f"{self.stride} (total {self.total}); refusing to return a partial result",
            )
        return True

    def remaining_offsets(self, start: int) -> range:
        """Offsets still to fetch from ``start`` on, once the first page told the total."""
        assert self.total is not None
        return range(start, self.total, self.stride)


class _CursorWalk:
    """The bookkeeping of a cursor walk: the next request, loop and cap guards.

    A `CursorPaging` walk follows the page's `next_url`; a `TokenPaging` walk sends the page's
    `next_token` back on the walk's own path, in the query or the JSON body.
    """

    def __init__(self, provider: str, walk: Walk[Any], paging: CursorPaging | TokenPaging) -> None:
        self.provider = provider
        self.walk = walk
        self.paging = paging
        self.seen: set[str] = set()
        self.pages = 0

    def next_target(self, page: Page[Any]) -> str | None:
        """The next page's cursor (a URL or a token), or `None` at the end."""
        self.pages += 1
        cursor = page.next_token if isinstance(self.paging, TokenPaging) else page.next_url
        if cursor is None:
            return None
        if cursor in self.seen:
            raise PaginationError(
                self.provider,
                f"{self.walk.path}: the cursor repeats ({cursor}); stopping a loop",
            )
        if self.pages >= self.paging.max_pages:
            raise PaginationError(
                self.provider,
                f"{self.walk.path}: more than {self.paging.max_pages} pages; refusing to "
                "return a truncated result (narrow the period)",
            )
        self.seen.add(cursor)
        return cursor

    def request(self, cursor: str) -> tuple[str, Any, Any]:
        """Target, query parameters and body of the request for ``cursor``."""
        walk, paging = self.walk, self.paging
        if not isinstance(paging, TokenPaging):
            return cursor, None, walk.body  # the next URL carries its whole query
        if paging.location == "body":
            return walk.path, walk.params, {**(walk.body or {}), paging.param: cursor}
        return walk.path, {**walk.params, paging.param: cursor}, walk.body


def walk_pages(session: Session, walk: Walk[T]) -> Iterator[Page[T]]:
    """Every page of ``walk``, in order, one request at a time; its fallback's on a first 404."""
    pages = _walk_pages(session, walk)
    if walk.fallback is None:
        yield from pages
        return
    try:
        first = next(pages)  # only the first request: a 404 later is an error, not a fallback
    except StopIteration:
        return
    except NotFoundError:
        yield from walk_pages(session, walk.fallback)
        return
    yield first
    yield from pages


def _walk_pages(session: Session, walk: Walk[T]) -> Iterator[Page[T]]:
    name = session.name
    paging = walk.paging
    method, body = walk.method, walk.body
    if paging is None:
        yield parse_page(name, walk, session.request(method, walk.path, walk.params, body))
    elif isinstance(paging, OffsetPaging):
        state = _OffsetWalk(name, walk, paging)
        offset = 0
        while True:
            response = session.request(method, walk.path, state.params(offset), body)
            page = parse_page(name, walk, response)
            more = state.accept(offset, page)
            yield page
            if not more:
                return
            offset += state.stride
    else:
        cursor = _CursorWalk(name, walk, paging)
        request: tuple[str, Any, Any] = (walk.path, walk.params, body)
        while True:
            page = parse_page(name, walk, session.request(method, *request))
            target = cursor.next_target(page)
            yield page
            if target is None:
                return
            request = cursor.request(target)


async def awalk_pages(
    session: AsyncSession, walk: Walk[T], *, concurrency: int = 8
) -> AsyncIterator[Page[T]]:
    """Every page of ``walk``, in order, fetched concurrently where the paging allows.

    Offset walks fetch the first page, then the remaining ones with at most ``concurrency``
    requests in flight, yielding them in order. Cursor walks are sequential by nature; the next
    page's request is already in flight while the caller works on the current one. A first
    request answered 404 reads the walk's fallback instead, when it has one.
    """
    pages = _awalk_pages(session, walk, concurrency)
    if walk.fallback is None:
        async for page in pages:
            yield page
        return
    try:
        try:
            first = await anext(pages)
        except StopAsyncIteration:
            return
        except NotFoundError:
            async for page in awalk_pages(session, walk.fallback, concurrency=concurrency):
                yield page
            return
        yield first
        async for page in pages:
            yield page
    finally:
        await pages.aclose()


async def _awalk_pages(
    session: AsyncSession, walk: Walk[T], concurrency: int
) -> AsyncGenerator[Page[T], None]:
    name = session.name
    paging = walk.paging
    method, body = walk.method, walk.body
    if paging is None:
        response = await session.request(method, walk.path, walk.params, body)
        yield parse_page(name, walk, response)
    elif isinstance(paging, OffsetPaging):
        async for page in _offset_pages(session, walk, paging, concurrency):
            yield page
    else:
        cursor = _CursorWalk(name, walk, paging)
        pending = asyncio.ensure_future(session.request(method, walk.path, walk.params, body))
        try:
            while True:
                page = parse_page(name, walk, await pending)
                target = cursor.next_target(page)
                if target is not None:
                    pending = asyncio.ensure_future(
                        session.request(method, *cursor.request(target))
                    )
                yield page
                if target is None:
                    return
        finally:
            # The caller stopped early (an error in its records): drop the request in flight.
            # One that already failed (the session closed under it) is read, so asyncio does
            # not report an exception nobody retrieved.
            if not pending.cancel() and not pending.cancelled():
                pending.exception()


_READ_AHEAD = 2
"""Answers an offset walk may hold for its caller, in multiples of its concurrency: raw bodies,
a few hundred kilobytes each, so memory stays flat."""


async def _offset_pages(
    session: AsyncSession, walk: Walk[T], paging: OffsetPaging, concurrency: int
) -> AsyncIterator[Page[T]]:
    name = session.name
    state = _OffsetWalk(name, walk, paging)

    def get(offset: int) -> Awaitable[RawResponse]:
        return session.request(walk.method, walk.path, state.params(offset), walk.body)

    first = parse_page(name, walk, await get(0))
    more = state.accept(0, first)
    yield first
    if not more:
        return
    if state.total is None:
        # No total: nothing tells how far to go, so walk on one page at a time.
        offset = state.stride
        while True:
            page = parse_page(name, walk, await get(offset))
            more = state.accept(offset, page)
            yield page
            if not more:
                return
            offset += state.stride
    offset = state.stride
    if state.stride < paging.limit:
        # A first page shorter than asked is a server's page-size cap, or a walk that is short
        # of its total (documented examples show one log of 42): one more page, alone, tells
        # which before any fan-out, so a short walk stops at its first empty page.
        page = parse_page(name, walk, await session.get(walk.path, state.params(offset)))
        more = state.accept(offset, page)
        yield page
        if not more:
            return
        offset += state.stride
    offsets = iter(state.remaining_offsets(offset))
    # Requests in flight are at most `concurrency`; answers not yet taken by the caller at most
    # `ahead`. A request goes out as soon as an answer comes in, not only when the caller takes
    # a page: a caller at work on its records (about 20 ms a page of 1000 logs) would otherwise
    # hold back the next request each time, which a rate budget's slots then inherit.
    most_in_flight = max(1, concurrency)
    ahead = most_in_flight * _READ_AHEAD
    window: deque[tuple[int, asyncio.Future[RawResponse]]] = deque()
    in_flight = 0
    walking = True

    def refill() -> None:
        nonlocal in_flight
        while walking and in_flight < most_in_flight and len(window) < ahead:
            offset = next(offsets, None)
            if offset is None:
                return
            future = asyncio.ensure_future(get(offset))
            future.add_done_callback(answered)
            in_flight += 1
            window.append((offset, future))

    def answered(future: asyncio.Future[RawResponse]) -> None:
        nonlocal in_flight
        in_flight -= 1
        if not future.cancelled() and future.exception() is None:
            refill()

    refill()
    try:
        while window:
            offset, future = window.popleft()
            page = parse_page(name, walk, await future)
            more = state.accept(offset, page)
            refill()
            yield page
            if not more:
                return
    finally:
        walking = False
        for _, future in window:
            future.cancel()
