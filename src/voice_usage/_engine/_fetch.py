"""Running a provider's plan: credentials, sessions, paging, and the record stream.

`Connection` is one provider account: it resolves the key and base URL, builds sessions, and
answers `fetch()` with a `FetchResult`, a single-use stream of records plus a `FetchReport`.

Pages are fetched concurrently by an asyncio engine that runs on the caller's own thread, while
the caller waits for the next page: the caller turns page N into records while pages N+1... are
on the wire, and memory stays flat. Every `_POLL_EVERY` records the caller's thread polls the
loop without waiting, so answers that came in meanwhile are taken in and the next requests go
out. The loop's clock stands still between pages (`_PausingLoop`), so a caller slow with its
records never makes the requests in flight time out. One thread means no handing the GIL back
and forth between the caller and an event loop thread, which cost about a tenth of the fetch's
CPU time (benchmark 1). A caller that iterates from inside a running event loop gets the engine
on a background thread instead, its pages handed over through a bounded queue. With `concurrency=1` (or a sync-only transport) the
plain sequential `Session` is used; the provider's code is the same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from voice_usage._engine import _constants
from voice_usage._engine._http import AsyncSession, Session, check_base_url, checked_credential
from voice_usage._engine._pagination import awalk_pages, parse_page, walk_pages
from voice_usage._engine._plan import FetchPlan, FetchReport, Page, Walk
from voice_usage._engine._plugins import Registry, load_registry
from voice_usage._engine._provider import API_KEY, Provider, credentials_problem
from voice_usage._engine._retry import RetryPolicy
from voice_usage._exceptions import (
    OUT_OF_RANGE,
    ConfigurationError,
    MissingCredentialsError,
    ResponseValidationError,
    UnsupportedQueryError,
    VoiceUsageError,
    out_of_range,
)
from voice_usage._pricing._ratecard import RateBook, default_rate_book
from voice_usage._rollup import rollup
from voice_usage._schema import (
    Granularity,
    UsageQuery,
    UsageRecord,
    format_instant,
    with_field,
)

__all__ = ["Connection", "FetchResult", "connect", "fetch", "gather_credentials"]

T = TypeVar("T")


def _native_granularity(
    provider: Provider, wanted: Granularity, options: Mapping[str, str] | None = None
) -> Granularity:
    """The granularity to ask ``provider`` for to answer ``wanted`` (rolled up when coarser)."""
    native = provider.capabilities.native(wanted, options)
    if native is None:
        reported = provider.capabilities.reported(options)
        offered = ", ".join(sorted(g.value for g in reported)) or "none"
        changing = provider.capabilities.granularity_option(options)
        under = f" with {changing}" if changing else ""
        raise UnsupportedQueryError(
            provider.name,
            f"granularity {wanted.value!r} is not available{under} (the API reports: {offered})",
        )
    return native


def gather_credentials(
    provider: Provider,
    *,
    api_key: str | None = None,
    credentials: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``provider``'s credentials: the values given, else each from its environment variable."""
    given = dict(credentials or {})
    if api_key:
        given[API_KEY] = api_key
    found = {}
    for credential in provider.credential_spec:
        name = credential.name
        value = given.pop(name, None)
        source = "api_key=" if name == API_KEY else f"credentials[{name!r}]"
        if not value:
            value, source = os.environ.get(credential.env), credential.env
        # A value pasted with a newline or read from a CRLF file is stripped; one with a control
        # character inside is refused in a line that names where it came from, never the value.
        value = checked_credential(provider.name, value or "", source, credential.name)
        if value:
            found[credential.name] = value
    if given:
        known = ", ".join(c.name for c in provider.credential_spec)
        raise ConfigurationError(
            f"{provider.name}: unknown credential(s) {', '.join(sorted(given))} (it takes {known})"
        )
    return found


class FetchResult(Iterable[UsageRecord]):
    """The records answering a query, streamed once, and what the fetch noticed.

    Iterate it (once) for the records. `report` fills while iterating: warnings such as a
    reconciliation mismatch, and the reconciliations made. Use it as a context manager, or call
    `close()`, when stopping early.
    """

    def __init__(
        self, query: UsageQuery, report: FetchReport, records: Iterator[UsageRecord]
    ) -> None:
        self.query = query
        self.report = report
        self._records = records
        self._consumed = False

    def __repr__(self) -> str:
        state = "consumed" if self._consumed else "not read yet"
        query = self.query
        return (
            f"<FetchResult {self.report.provider!r} [{format_instant(query.since)}, "
            f"{format_instant(query.until)}) {query.granularity.value}: {state}, "
            f"{len(self.report.warnings)} warning(s)>"
        )

    @property
    def provider(self) -> str:
        """The provider's name."""
        return self.report.provider

    @property
    def warnings(self) -> list[str]:
        """Warnings so far (complete once iteration finished)."""
        return self.report.warnings

    def __iter__(self) -> Iterator[UsageRecord]:
        if self._consumed:
            raise RuntimeError("a FetchResult streams its records once; fetch again to re-read")
        self._consumed = True
        return self._records

    def to_list(self) -> list[UsageRecord]:
        """All the records, in memory."""
        return list(self)

    def close(self) -> None:
        """Stop fetching and release the connection."""
        close = getattr(self._records, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


CONCURRENCY_ENV = "VOICE_USAGE_CONCURRENCY"
"""Environment variable with the default number of requests in flight per connection."""


def _concurrency(value: int | None) -> int:
    return count_setting(
        value,
        argument="concurrency",
        env=CONCURRENCY_ENV,
        default=_constants.DEFAULT_PAGE_CONCURRENCY,
        unit="requests",
    )


def count_setting(value: int | None, *, argument: str, env: str, default: int, unit: str) -> int:
    """A count of at least 1: ``value`` when given, else the variable ``env``, else ``default``.

    Raises:
        ConfigurationError: naming the argument or the variable, for a value that is not a
            whole number of at least 1.
    """
    if value is None:
        raw = os.environ.get(env, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(
                f"{env} must be a whole number of {unit}, got {raw!r}"
            ) from None
        where = env
    else:
        where = argument
    if value < 1:
        raise ConfigurationError(f"{where} must be at least 1, got {value}")
    return value


class Connection:
    """One provider account: credentials, base URL, HTTP settings.

    Args:
        provider: A provider name (looked up among installed providers) or a `Provider`.
        api_key: The key; defaults to the environment variable ``api_key_env``, else
            `<NAME>_API_KEY`.
        api_key_env: Where the key is when not given: the variable an account of the accounts
            file names (`<NAME>_API_KEY` by default).
        account: The account's name, carried by every record in `account` (records keep the
            vendor's own account id, when it gives one, otherwise).
        credentials: For a provider with several credentials (`Provider.credentials`), the
            values by name; each defaults to its own environment variable.
        base_url: Defaults to `<NAME>_BASE_URL`, then the provider's documented URL.
        transport: An httpx transport (sync, async or both, like `httpx.MockTransport`) for tests.
        concurrency: Requests in flight at once for paged endpoints; 1 fetches sequentially.
            Defaults to `VOICE_USAGE_CONCURRENCY`, else 8.
        retry: Retry budget; see `RetryPolicy`.
        registry: Where to look provider names up; defaults to the installed providers.
        rate_book: The rate cards to price records the vendor gives no cost for; defaults to
            `default_rate_book()` (the shipped cards plus `VOICE_USAGE_RATECARDS`).
        sleep: How the sequential path waits between retries (tests pass a recorder).
        async_sleep: How the concurrent path waits (an awaitable; tests pass a recorder).
        session_options: Passed to the sessions (`timeout`, `deadline`).
    """

    def __init__(
        self,
        provider: str | Provider,
        *,
        api_key: str | None = None,
        credentials: Mapping[str, str] | None = None,
        api_key_env: str | None = None,
        account: str | None = None,
        base_url: str | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        registry: Registry | None = None,
        rate_book: RateBook | None = None,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Awaitable[None]] | None = None,
        **session_options: Any,
    ) -> None:
        if isinstance(provider, str):
            provider = (registry or load_registry()).get(provider)
        self.provider = provider
        prefix = provider.env_prefix
        if api_key is None and api_key_env is not None:
            api_key = os.environ.get(api_key_env) or None
            if api_key is None:
                whose = f"{provider.name} account {account}" if account else provider.name
                raise MissingCredentialsError(f"{whose}: no API key; set {api_key_env}")
        given = gather_credentials(provider, api_key=api_key, credentials=credentials)
        if problem := credentials_problem(provider, given):
            raise MissingCredentialsError(problem)
        self._credentials = {name: SecretStr(value) for name, value in given.items()}
        self.account = account
        self.base_url = (
            base_url or os.environ.get(f"{prefix}_BASE_URL") or provider.default_base_url
        )
        self.concurrency = _concurrency(concurrency)
        self._rate_book = rate_book
        self.transport = transport
        self.retry = retry
        self._sleeps: tuple[dict[str, Any], dict[str, Any]] = (
            {"sleep": sleep} if sleep is not None else {},
            {"sleep": async_sleep} if async_sleep is not None else {},
        )
        self.session_options = session_options
        # Fail fast on a bad base URL, before any request. The sequential session (an httpx
        # client, a millisecond or two to build) is made when first needed: a concurrent fetch
        # never uses it, and a sync of many accounts makes one connection per account.
        check_base_url(provider.name, self.base_url)
        self._sync_session: Session | None = None
        self._closed = False

    def __repr__(self) -> str:
        account = f" account {self.account!r}" if self.account else ""
        return f"<Connection {self.provider.name!r}{account} {self.base_url}>"

    def _plain_credentials(self) -> dict[str, str]:
        return {name: secret.get_secret_value() for name, secret in self._credentials.items()}

    @property
    def rate_book(self) -> RateBook:
        """The rate cards this connection's records are priced with."""
        if self._rate_book is None:
            self._rate_book = default_rate_book()
        return self._rate_book

    def _session(self) -> Session:
        if self._sync_session is None:
            transport = self.transport if isinstance(self.transport, httpx.BaseTransport) else None
            self._sync_session = Session(
                self.provider,
                credentials=self._plain_credentials(),
                base_url=self.base_url,
                transport=transport,
                retry=self.retry,
                **self._sleeps[0],
                **self.session_options,
            )
        return self._sync_session

    def _async_session(self) -> AsyncSession:
        transport = self.transport if isinstance(self.transport, httpx.AsyncBaseTransport) else None
        return AsyncSession(
            self.provider,
            credentials=self._plain_credentials(),
            base_url=self.base_url,
            transport=transport,
            retry=self.retry,
            max_connections=self.concurrency,
            **self._sleeps[1],
            **self.session_options,
        )

    @property
    def _use_async(self) -> bool:
        if self.concurrency <= 1:
            return False
        return self.transport is None or isinstance(self.transport, httpx.AsyncBaseTransport)

    def query(
        self,
        since: str | date | datetime,
        until: str | date | datetime,
        granularity: str | Granularity = Granularity.DAY,
        **filters: Any,
    ) -> UsageQuery:
        """Build a validated `UsageQuery`.

        Raises:
            InvalidQueryError: (a `ConfigurationError` and a `ValueError`) naming the field.
        """
        return UsageQuery.checked(since=since, until=until, granularity=granularity, **filters)

    def fetch(
        self,
        since: str | date | datetime | UsageQuery,
        until: str | date | datetime | None = None,
        granularity: str | Granularity = Granularity.DAY,
        **filters: Any,
    ) -> FetchResult:
        """Fetch usage in `[since, until)` at ``granularity``; see `FetchResult`.

        Raises:
            UnsupportedQueryError: when the vendor's API cannot answer the query (before any
                request: a filter or option the provider does not declare, say).
            ProviderError: subclasses, while iterating, when the API fails.
        """
        self._check_open()
        if isinstance(since, UsageQuery):
            query = since
        else:
            if until is None:
                raise TypeError("fetch() needs until= when since is not a UsageQuery")
            query = self.query(since, until, granularity, **filters)
        self.provider.capabilities.check(self.provider.name, query)
        native = _native_granularity(self.provider, query.granularity, query.options)
        plan = self.provider.plan(
            query.model_copy(update={"granularity": native}), rates=self.rate_book
        )
        report = FetchReport(self.provider.name)
        if query.until > datetime.now(UTC) + _FUTURE_SLACK:
            report.warn(
                f"{self.provider.name}: the period ends in the future "
                f"({format_instant(query.until)}): there is no usage after now yet"
            )
        records = self._records(plan, query, report)
        return FetchResult(query, report, records)

    def _records(
        self, plan: FetchPlan[Any], query: UsageQuery, report: FetchReport
    ) -> Iterator[UsageRecord]:
        loop = _PausingLoop() if self._use_async and asyncio._get_running_loop() is None else None
        pages = self._pages(plan.walks, report, loop)
        try:
            records: Iterable[UsageRecord] = plan.to_records(pages, report)
            if query.granularity.rank > plan.granularity.rank:
                records = rollup(records, query.granularity, since=query.since, until=query.until)
            if self.account is not None:
                name = self.account
                records = (with_field(record, "account", name) for record in records)
            if loop is None:
                yield from records
            else:
                yield from _polling(records, loop)
        except OUT_OF_RANGE as exc:  # an absurd figure the provider computed with
            raise ResponseValidationError(self.provider.name, out_of_range(exc)) from None
        except VoiceUsageError:
            raise
        except ValueError as exc:  # values of the body no record can hold (a cost of 1e300)
            raise ResponseValidationError(
                self.provider.name, f"a record could not be made from the response: {_first(exc)}"
            ) from None
        finally:
            pages.close()
            if loop is not None:
                loop.close()  # when the pages were never asked for; else closed already

    def _pages(
        self, walks: Sequence[Walk[Any]], report: FetchReport, loop: _PausingLoop | None
    ) -> Generator[Page[Any]]:
        if not self._use_async:
            session = self._session()
            before = session.requests_sent
            try:
                for walk in walks:
                    yield from walk_pages(session, walk)
            finally:
                report.requests += session.requests_sent - before
            return
        if loop is not None:
            yield from _pages_here(loop, self._async_session, walks, self.concurrency, report)
        else:  # iterated from inside a running event loop: that loop cannot be run again
            yield from _pages_from_thread(self._async_session, walks, self.concurrency, report)

    def balance(self) -> Any:
        """The provider's account snapshot (credits, plan limits...).

        Raises:
            UnsupportedQueryError: when the provider has no snapshot endpoint.
        """
        self._check_open()
        walk = self.provider.balance()
        if walk is None:
            raise UnsupportedQueryError(
                self.provider.name, "the API offers no balance or plan snapshot"
            )
        session = self._session()
        page = parse_page(self.provider.name, walk, session.get(walk.path, walk.params))
        return page.items[0]

    def close(self) -> None:
        """Release connections. A closed connection fetches nothing more."""
        self._closed = True
        if self._sync_session is not None:
            self._sync_session.close()
            self._sync_session = None

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError(
                f"{self.provider.name}: the connection is closed; open another with connect()"
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_FUTURE_SLACK = timedelta(days=1)
"""How far past now a period may end before a fetch warns (a day: any time zone's today)."""


def _first(exc: ValueError) -> str:
    """One line about a failed record: pydantic's first error, or the message."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)


async def _all_pages(
    session: AsyncSession, walks: Sequence[Walk[Any]], concurrency: int
) -> AsyncGenerator[Page[Any]]:
    """Pages of every walk, in walk order; several walks are fetched at once."""
    if len(walks) == 1:
        async for page in awalk_pages(session, walks[0], concurrency=concurrency):
            yield page
        return
    semaphore = asyncio.Semaphore(concurrency)
    buffers: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in walks]

    async def drain(walk: Walk[Any], buffer: asyncio.Queue[Any]) -> None:
        async with semaphore:
            try:
                async for page in awalk_pages(session, walk, concurrency=1):
                    await buffer.put(page)
            except Exception as exc:
                await buffer.put(_Failure(exc))
            await buffer.put(_DONE)

    tasks = [asyncio.ensure_future(drain(w, b)) for w, b in zip(walks, buffers, strict=True)]
    try:
        for buffer in buffers:
            while (item := await buffer.get()) is not _DONE:
                if isinstance(item, _Failure):
                    raise item.exc
                yield item
    finally:
        for task in tasks:
            task.cancel()


def _pages_from_thread(
    make_session: Callable[[], AsyncSession],
    walks: Sequence[Walk[Any]],
    concurrency: int,
    report: FetchReport,
) -> Iterator[Page[Any]]:
    """Run the async engine on its own thread and event loop; hand pages over a bounded queue."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=max(2, concurrency))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    async def hand_over(item: Any) -> bool:
        # Straight into the queue when it has room; only a full queue (the consumer is behind)
        # costs a worker thread that waits, so the event loop is never blocked.
        try:
            handoff.put_nowait(item)
        except queue.Full:
            return await asyncio.to_thread(put, item)
        return not stop.is_set()

    async def produce() -> None:
        session = make_session()
        try:
            async for page in _all_pages(session, walks, concurrency):
                if not await hand_over(page):
                    return
            await hand_over(_DONE)
        except Exception as exc:
            await hand_over(_Failure(exc))
        finally:
            report.requests += session.requests_sent
            await session.aclose()

    thread = threading.Thread(
        target=asyncio.run, args=(produce(),), daemon=True, name="voice-usage-fetch"
    )
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)


class _PausingLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock stands still while it is not running.

    The caller's thread runs it while it waits for the next page, and for a moment when it polls
    between records. Otherwise (the caller at work on the records) nothing reads the sockets, so
    the read timeouts and the
    deadline of the requests in flight must not run either: measured on this clock, a request
    is charged only the time the loop spent waiting for it. Waits (the rate gate's, a retry's)
    are never shorter in real time than asked.
    """

    def __init__(self) -> None:
        super().__init__()
        self._paused = 0.0
        self._stopped_at: float | None = None

    def time(self) -> float:
        return time.monotonic() - self._paused

    def run_until_complete(self, future: Generator[Any, None, T] | Awaitable[T]) -> T:
        if self._stopped_at is not None:
            self._paused += time.monotonic() - self._stopped_at
            self._stopped_at = None
        try:
            return super().run_until_complete(future)
        finally:
            self._stopped_at = time.monotonic()

    def poll(self) -> None:
        """Deal with what is ready now (answers in, timers due, requests to send), not waiting.

        Called between records while the caller works on a page, so that an answer that came in
        meanwhile frees its rate-budget slot and makes way for the next request at once, rather
        than when the caller next waits for a page.
        """
        if self.is_closed() or not self._anything_ready():
            return
        self.run_until_complete(_settle())

    def _anything_ready(self) -> bool:
        # Most polls find nothing to do, and this test costs a few microseconds where a run of
        # the loop costs tens. It reads the base loop's own queues, as the subclass it is; the
        # selector is level-triggered, so what it reports here it reports again to the run.
        if self._ready or self._selector.select(0):  # type: ignore[attr-defined]
            return True
        timers = self._scheduled  # type: ignore[attr-defined]
        return bool(timers) and timers[0].when() <= self.time()


_POLL_EVERY = 256
"""Records between two polls of the loop: about 4 ms of a caller's work on a page's records,
where a poll costs tens of microseconds."""
_SETTLE_ROUNDS = 6
"""Loop iterations in a poll: an answer takes a few (bytes in, the waiting task woken, its
slot released and the next request written) to go from the socket to the next request."""


async def _settle() -> None:
    for _ in range(_SETTLE_ROUNDS):
        await asyncio.sleep(0)


def _polling(records: Iterable[UsageRecord], loop: _PausingLoop) -> Iterator[UsageRecord]:
    """``records``, polling ``loop`` every `_POLL_EVERY` of them."""
    count = 0
    for record in records:
        yield record
        count += 1
        if count == _POLL_EVERY:
            count = 0
            loop.poll()


async def _next_page(pages: AsyncGenerator[Page[Any]]) -> Page[Any] | None:
    return await anext(pages, None)


def _pages_here(
    loop: _PausingLoop,
    make_session: Callable[[], AsyncSession],
    walks: Sequence[Walk[Any]],
    concurrency: int,
    report: FetchReport,
) -> Iterator[Page[Any]]:
    """Run the async engine on ``loop`` in the caller's own thread, while it waits for a page."""
    try:
        session = make_session()
        try:
            pages = _all_pages(session, walks, concurrency)
            try:
                while (page := _run(loop, _next_page(pages))) is not None:
                    yield page
            finally:
                _run(loop, pages.aclose())
        finally:
            report.requests += session.requests_sent
            _run(loop, session.aclose())
    finally:
        _finish(loop)


def _finish(loop: _PausingLoop) -> None:
    """Close ``loop`` as `asyncio.run` does: what is left running is cancelled and awaited."""
    try:
        if left := asyncio.all_tasks(loop):
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


def _run(loop: _PausingLoop, step: Coroutine[Any, Any, T]) -> T:
    task = loop.create_task(step)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if not task.done():  # interrupted (Ctrl-C): let the step unwind before anything else
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise


def connect(provider: str | Provider, **options: Any) -> Connection:
    """Open a `Connection` to a provider account; see `Connection` for the options."""
    return Connection(provider, **options)


def fetch(
    provider: str | Provider,
    since: str | date | datetime,
    until: str | date | datetime,
    granularity: str | Granularity = Granularity.DAY,
    **options: Any,
) -> list[UsageRecord]:
    """Fetch usage from one provider into a list: the one-call convenience.

    Keyword arguments are split between `Connection` (``api_key``, ``base_url``, ...) and the
    query's filters (``agent_ids``, ``number_ids``, ``options``).
    """
    filter_names = {"agent_ids", "number_ids", "options"}
    filters = {k: options.pop(k) for k in list(options) if k in filter_names}
    with Connection(provider, **options) as connection:
        return connection.fetch(since, until, granularity, **filters).to_list()
