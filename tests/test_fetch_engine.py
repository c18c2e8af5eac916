"""The concurrent fetch engine runs on the caller's thread, with a clock that stops between pages."""

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import voice_usage
from voice_usage import RetryPolicy
from voice_usage_flireo import FlireoProvider
from voice_usage_flireo.emulator import FlireoEmulator

SINCE, UNTIL = "2026-10-01", "2026-10-06"
LOGS = 5 * 12  # 12 a day
PAGE = 10  # 6 pages: the first alone, then five with 4 in flight


@pytest.fixture
def flireo(serve, fake_key):
    server = serve(FlireoEmulator(fake_key, logs_per_day=12, rate_limit=None))

    def connect(**options):
        return voice_usage.connect(
            FlireoProvider(page_size=PAGE),
            api_key=fake_key,
            base_url=server.base_url,
            **{"concurrency": 4, **options},
        )

    connect.faults = server.faults  # type: ignore[attr-defined]
    return connect


def _walk(result, pause=None):
    """The records' log ids; ``pause`` runs once, at the first record of the second page."""
    ids = []
    for record in result:
        ids.append(record.extras["log_id"])
        if pause is not None and len(ids) == PAGE + 1:
            pause()
    return ids


def _started_since(before):
    """Threads started since ``before`` but the emulator's own (one per request it serves)."""
    return [
        thread.name
        for thread in set(threading.enumerate()) - before
        if "process_request_thread" not in thread.name
    ]


def test_the_engine_runs_on_the_callers_thread(flireo):
    before, seen = set(threading.enumerate()), []
    with flireo() as connection:
        result = connection.fetch(SINCE, UNTIL, "call")
        ids = _walk(result, pause=lambda: seen.extend(_started_since(before)))
    assert seen == []  # no thread started for the fetch
    assert len(ids) == len(set(ids)) == LOGS
    assert result.report.requests == LOGS // PAGE


@pytest.mark.real_time("a caller slower than the read timeout, by the wall clock")
def test_a_caller_slower_than_the_timeouts_does_not_time_out_the_requests_in_flight(flireo):
    # Four requests are in flight when the second page is handed over; the caller then spends
    # twice the read timeout and the deadline on its first record. The answers wait in their
    # sockets meanwhile, and the loop's clock stands still: nothing times out, nothing is retried.
    flireo.faults.latency = 0.05  # the next requests are still in flight at the second page
    with flireo(
        timeout=httpx.Timeout(0.25), deadline=0.25, retry=RetryPolicy(max_attempts=1)
    ) as connection:
        result = connection.fetch(SINCE, UNTIL, "call")
        ids = _walk(result, pause=lambda: time.sleep(0.5))
    assert len(ids) == len(set(ids)) == LOGS
    assert result.report.requests == LOGS // PAGE


def test_a_fetch_iterated_inside_a_running_event_loop_runs_its_engine_on_a_thread(flireo):
    with flireo() as connection:
        expected = _walk(connection.fetch(SINCE, UNTIL, "call"))

    async def inside() -> list[str]:
        with flireo() as connection:
            return _walk(connection.fetch(SINCE, UNTIL, "call"))

    assert asyncio.run(inside()) == expected


def test_stopping_early_closes_the_engine(flireo):
    with flireo() as connection:
        result = connection.fetch(SINCE, UNTIL, "call")
        records = iter(result)
        first = next(records)
        result.close()
        assert first.provider == "flireo"
        assert list(records) == []  # a closed stream ends
        assert result.report.requests >= 1


def _sent_at_the_third_page(monkeypatch, poll_every: int) -> int:
    """Requests sent when the caller reaches the third page of 20, two in flight."""
    from voice_usage._engine import _fetch
    from voice_usage.testing import FakeCall, FakeProvider

    monkeypatch.setattr(_fetch, "_POLL_EVERY", poll_every)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    calls = [FakeCall(f"c{n}", start + timedelta(minutes=n), 30) for n in range(40)]
    provider = FakeProvider(calls, page_size=2)
    served = provider.transport("test-key")
    sent: list[str] = []

    async def counting(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.params["offset"])
        for _ in range(3):  # an answer takes a few turns of the loop
            await asyncio.sleep(0)
        return await served.handle_async_request(request)

    with voice_usage.connect(
        provider, api_key="test-key", transport=httpx.MockTransport(counting), concurrency=2
    ) as connection:
        records = iter(connection.fetch(start, start + timedelta(days=1), "call"))
        ids = [next(records).call_id for _ in range(5)]  # the first of the third page
        at_page_three = len(sent)
        ids += [record.call_id for record in records]
    assert ids == [call.id for call in calls]
    assert sorted(int(offset) for offset in sent) == list(range(0, 40, 2))
    return at_page_three


def test_answers_that_come_in_while_the_caller_works_send_the_next_requests(monkeypatch):
    # The loop is polled between records (here after each one), so a caller at work on a
    # page's records never holds back the requests that may go out. All in one thread, with a
    # transport that answers within the loop, so the counts are exact: at the third page, the
    # three pages taken and four answers kept ahead (twice the concurrency) have been asked for.
    assert _sent_at_the_third_page(monkeypatch, poll_every=1) == 3 + 4
    # Never polled, requests move only while the caller waits for a page.
    assert _sent_at_the_third_page(monkeypatch, poll_every=10**9) < 3 + 4


def test_a_poll_of_a_closed_or_idle_loop_does_nothing():
    from voice_usage._engine._fetch import _PausingLoop

    loop = _PausingLoop()
    ran: list[str] = []
    loop.call_later(3600, ran.append, "later")  # not due
    loop.poll()
    assert ran == []
    loop.call_soon(ran.append, "soon")
    loop.poll()
    assert ran == ["soon"]
    loop.close()
    loop.poll()  # closed: nothing to do, no error


def test_an_accounts_records_are_the_records_with_its_name_and_nothing_else(flireo):
    with flireo() as plain, flireo(account="client-a") as named:
        expected = plain.fetch(SINCE, UNTIL, "call").to_list()
        got = named.fetch(SINCE, UNTIL, "call").to_list()
    assert len(got) == len(expected) == LOGS
    for record, before in zip(got, expected, strict=True):
        assert before.account != "client-a"
        assert type(record) is voice_usage.UsageRecord
        assert record.account == "client-a"
        # As pydantic's own copy makes it: the same fields, the same fields marked set.
        copied = before.model_copy(update={"account": "client-a"})
        assert record == copied
        assert record.model_fields_set == copied.model_fields_set
        assert "account" in record.model_fields_set
        assert record.model_dump(exclude_unset=True) == copied.model_dump(exclude_unset=True)
        assert record.__pydantic_extra__ is None and record.__pydantic_private__ is None


def test_an_accounts_records_of_another_model_are_copied_by_pydantic():
    from voice_usage._schema import with_field

    class Noted(voice_usage.UsageRecord):
        pass

    plain = voice_usage.UsageRecord(
        provider="flireo",
        grain="event",
        period_start="2026-10-01T00:00:00Z",
        period_end="2026-10-01T00:01:00Z",
        calls=1,
        extras={"n": 1},
    )
    other = Noted.model_validate(plain.model_dump())
    stamped = [with_field(record, "account", "client-b") for record in (plain, other)]
    assert [type(r) for r in stamped] == [voice_usage.UsageRecord, Noted]
    assert [r.account for r in stamped] == ["client-b", "client-b"]
    assert stamped[0] == plain.model_copy(update={"account": "client-b"})
    assert stamped[1] == other.model_copy(update={"account": "client-b"})
    assert plain.account is None and other.account is None  # copies: the records untouched
    assert stamped[0].extras is plain.extras  # shallow, as model_copy's
    assert stamped[0].model_fields_set == plain.model_fields_set | {"account"}


def test_a_concurrent_fetch_builds_no_sequential_client(flireo, monkeypatch):
    """The sequential session's httpx client is built only for what uses it (a sequential
    fetch, `balance()`): a concurrent fetch, as each account of a sync makes, never does."""
    built = []
    real = httpx.Client.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", counted)
    with flireo() as connection:
        assert len(_walk(connection.fetch(SINCE, UNTIL, "call"))) == LOGS
    assert built == []
    with flireo(concurrency=1) as connection:
        assert len(_walk(connection.fetch(SINCE, UNTIL, "call"))) == LOGS
    assert built == [1]
