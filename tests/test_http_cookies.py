"""A session's cookie jar reads only the responses that set a cookie, and keeps what they set."""

from __future__ import annotations

import asyncio
import http.cookiejar
from typing import Any

import httpx
import pytest

from voice_usage._engine._http import AsyncSession, Session

KEY = "vu-test-key-3b9f2c7a1d"
BASE = "https://api.example.com/v1"


def _handler(seen: list[str | None]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        if request.url.params.get("page") == "1":  # a load balancer pinning the client
            return httpx.Response(200, json={}, headers={"Set-Cookie": "lb=node-7; Path=/"})
        return httpx.Response(200, json={})

    return answer


@pytest.fixture
def jar_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per response the cookie jar was asked to read."""
    reads: list[int] = []
    real = http.cookiejar.CookieJar.extract_cookies

    def counted(self: Any, response: Any, request: Any) -> None:
        reads.append(1)
        real(self, response, request)

    monkeypatch.setattr(http.cookiejar.CookieJar, "extract_cookies", counted)
    return reads


@pytest.fixture
def flireo_provider() -> Any:
    from voice_usage import load_registry

    return load_registry().get("flireo")


def test_the_sync_session_reads_only_a_response_that_sets_a_cookie(flireo_provider, jar_reads):
    seen: list[str | None] = []
    transport = httpx.MockTransport(_handler(seen))
    with Session(flireo_provider, api_key=KEY, base_url=BASE, transport=transport) as session:
        for page in (2, 1, 2, 3):
            session.get("logs", {"page": page})
    # The cookie set by the answer to page 1 goes with the requests after it, as before.
    assert seen == [None, None, "lb=node-7", "lb=node-7"]
    assert jar_reads == [1]


def test_the_async_session_reads_only_a_response_that_sets_a_cookie(flireo_provider, jar_reads):
    seen: list[str | None] = []
    transport = httpx.MockTransport(_handler(seen))

    async def main() -> None:
        session = AsyncSession(flireo_provider, api_key=KEY, base_url=BASE, transport=transport)
        try:
            for page in (2, 1, 2, 3):
                await session.get("logs", {"page": page})
        finally:
            await session.aclose()

    asyncio.run(main())
    assert seen == [None, None, "lb=node-7", "lb=node-7"]
    assert jar_reads == [1]
