"""Helpers for testing providers, for voice-usage itself and for third-party plugin authors.

- `FakeProvider`: a complete provider over an in-memory call list, served by `httpx.MockTransport`.
- `check_provider(provider)`: the static contract every provider must meet.
- `check_records(records, query)`: what every fetched record must satisfy.
- The loopback emulator kit (`Emulator`, `EmulatorServer`, `json_response`...), re-exported from
  `voice_usage.emulator`, and `connect`, the user API's own, so that a plugin's emulator and
  tests import from here and `voice_usage.provider` alone.

A plugin author's test suite can be as small as::

    from voice_usage.testing import check_provider, check_records, connect

    def test_contract():
        check_provider(AcmeProvider())

    def test_records(acme_emulator):
        connection = connect(AcmeProvider(), api_key="k", base_url=acme_emulator)
        result = connection.fetch("2026-10-01", "2026-11-01", "call")
        check_records(result, result.query)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from pydantic import BaseModel, TypeAdapter

from voice_usage._engine._fetch import connect
from voice_usage._engine._plan import FetchPlan, FetchReport, OffsetPaging, Page, Walk
from voice_usage._engine._provider import AuthScheme, BearerAuth, Capabilities, Provider
from voice_usage._exceptions import UnsupportedQueryError
from voice_usage._pricing._ratecard import RateBook
from voice_usage._schema import CostSource, Grain, Granularity, UsageQuery, UsageRecord
from voice_usage.emulator import (
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    EmulatorServer,
    json_response,
)

__all__ = [
    "Emulator",
    "EmulatorRequest",
    "EmulatorResponse",
    "EmulatorServer",
    "FakeCall",
    "FakeProvider",
    "RecordsProvider",
    "check_provider",
    "check_records",
    "connect",
    "json_response",
]

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class FakeCall:
    """One call served by `FakeProvider`."""

    id: str
    started: datetime
    seconds: int
    cost: Decimal | None = None


class _WireCall(BaseModel):
    id: str
    started: datetime
    seconds: int
    cost: Decimal | None = None


class _WirePage(BaseModel):
    calls: list[_WireCall]
    total: int


_PAGE = TypeAdapter(_WirePage)


class FakeProvider(Provider):
    """A working provider over an in-memory list of calls, for tests.

    Pages with `limit`/`offset`; reports cost in `currency` when calls carry one. Use
    `transport()` as the connection's transport, with any https base URL.
    """

    title = "Fake"
    auth: AuthScheme = BearerAuth()
    default_base_url = "https://fake.invalid/v1"
    capabilities = Capabilities(
        granularities=frozenset({Granularity.CALL}),
        reports_cost=True,
        notes=("In-memory test data.",),
    )

    def __init__(
        self,
        calls: Sequence[FakeCall] = (),
        *,
        name: str = "fake",
        currency: str = "USD",
        page_size: int = 2,
    ) -> None:
        self.name = name
        self.calls = list(calls)
        self.currency = currency
        self.page_size = page_size

    def plan(  # noqa: D102
        self, query: UsageQuery, rates: RateBook | None = None
    ) -> FetchPlan[_WireCall]:
        return FetchPlan(
            walks=[_walk(query, self.page_size)],
            to_records=lambda pages, report: self._records(pages, report, query),
            granularity=Granularity.CALL,
        )

    def _records(
        self, pages: Iterator[Page[_WireCall]], report: FetchReport, query: UsageQuery
    ) -> Iterator[UsageRecord]:
        for page in pages:
            for call in page.items:
                if not query.contains(call.started):
                    continue
                yield UsageRecord(
                    provider=self.name,
                    grain=Grain.EVENT,
                    call_id=call.id,
                    period_start=call.started,
                    period_end=call.started + timedelta(seconds=max(call.seconds, 1)),
                    calls=1,
                    duration_seconds=Decimal(call.seconds),
                    cost=call.cost,
                    currency=self.currency if call.cost is not None else None,
                    cost_source=CostSource.REPORTED if call.cost is not None else None,
                    cost_note=None if call.cost is not None else "the fake call has no cost",
                )

    def transport(self, api_key: str = "test-key") -> httpx.MockTransport:
        """A transport that serves the calls, checking the Bearer key."""

        def handler(request: httpx.Request) -> httpx.Response:
            if request.headers.get("authorization") != f"Bearer {api_key}":
                return httpx.Response(401, json={"error": "unauthorized", "message": "bad key"})
            limit = int(request.url.params.get("limit", "2"))
            offset = int(request.url.params.get("offset", "0"))
            chunk = self.calls[offset : offset + limit]
            body = {
                "calls": [
                    {
                        "id": c.id,
                        "started": c.started.isoformat(),
                        "seconds": c.seconds,
                        "cost": None if c.cost is None else str(c.cost),
                    }
                    for c in chunk
                ],
                "total": len(self.calls),
            }
            return httpx.Response(
                200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
            )

        return httpx.MockTransport(handler)


_RECORDS = TypeAdapter(list[UsageRecord])


class RecordsProvider(Provider):
    """A provider that serves ready-made `UsageRecord`s: windows, uncosted, any currency.

    For tests of what consumes records (comparisons, repricing, exports). Records are served over
    `transport()` as JSON and kept to the query's `[since, until)` on `period_start`. With
    ``billing`` records, `billing_query()` selects them through the `source=billing` option, as a
    vendor with an authoritative billing endpoint would.
    """

    title = "Records"
    auth: AuthScheme = BearerAuth()
    default_base_url = "https://records.invalid/v1"

    def __init__(
        self,
        records: Sequence[UsageRecord] = (),
        *,
        name: str = "records",
        granularities: Iterable[Granularity] = (Granularity.CALL,),
        billing: Sequence[UsageRecord] | None = None,
        reports_cost: bool = True,
        notes: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.records = list(records)
        self.billing = None if billing is None else list(billing)
        native = frozenset(granularities)
        self.capabilities = Capabilities(
            granularities=native,
            filters=frozenset({"source"}) if billing is not None else frozenset(),
            reports_cost=reports_cost,
            notes=tuple(notes),
        )
        self._native = min(native, key=lambda g: g.rank)

    def plan(  # noqa: D102
        self, query: UsageQuery, rates: RateBook | None = None
    ) -> FetchPlan[UsageRecord]:
        source = query.options.get("source", "usage")
        if source not in ("usage", "billing") or (source == "billing" and self.billing is None):
            raise UnsupportedQueryError(self.name, f"unknown source {source!r}")

        def parse(content: bytes) -> Page[UsageRecord]:
            return Page(_RECORDS.validate_json(content))

        def to_records(
            pages: Iterator[Page[UsageRecord]], report: FetchReport
        ) -> Iterator[UsageRecord]:
            for page in pages:
                for record in page.items:
                    if query.contains(record.period_start):
                        yield record

        walk = Walk(path=f"/{source}", parse=parse)
        return FetchPlan(walks=[walk], to_records=to_records, granularity=self._native)

    def billing_query(self, query: UsageQuery) -> UsageQuery | None:  # noqa: D102
        if self.billing is None:
            return None
        return query.model_copy(update={"options": {**query.options, "source": "billing"}})

    def transport(self, api_key: str = "test-key") -> httpx.MockTransport:
        """A transport that serves the records (`/usage`) and billing records (`/billing`)."""

        def handler(request: httpx.Request) -> httpx.Response:
            if request.headers.get("authorization") != f"Bearer {api_key}":
                return httpx.Response(401, json={"error": "unauthorized", "message": "bad key"})
            served = self.billing if request.url.path.endswith("/billing") else self.records
            body = _RECORDS.dump_json(list(served or []))
            return httpx.Response(200, content=body, headers={"content-type": "application/json"})

        return httpx.MockTransport(handler)


def _walk(query: UsageQuery, page_size: int) -> Walk[_WireCall]:
    def parse(content: bytes) -> Page[_WireCall]:
        page = _PAGE.validate_json(content)
        return Page(page.calls, total=page.total)

    return Walk(
        path="/calls",
        parse=parse,
        params={"from": query.since.isoformat()},
        paging=OffsetPaging(limit=page_size),
    )


def check_provider(provider: Provider) -> None:
    """Assert the static contract of a provider; raises `AssertionError` naming what is wrong."""
    name = getattr(provider, "name", None)
    assert isinstance(name, str) and _NAME.match(name), (
        f"provider.name must be a lower-case identifier, got {name!r}"
    )
    assert isinstance(getattr(provider, "title", None), str), f"{name}: title must be a string"
    assert isinstance(provider.auth, AuthScheme), f"{name}: auth must be an AuthScheme"
    assert provider.default_base_url.startswith("https://"), (
        f"{name}: default_base_url must be https, got {provider.default_base_url!r}"
    )
    caps = provider.capabilities
    assert isinstance(caps, Capabilities), f"{name}: capabilities must be a Capabilities"
    if not caps.implemented:
        return
    assert caps.granularities, f"{name}: capabilities.granularities is empty"
    query = UsageQuery(since="2026-10-01", until="2026-10-02")
    for granularity in caps.granularities:
        try:
            plan = provider.plan(query.model_copy(update={"granularity": granularity}))
        except UnsupportedQueryError:
            continue  # the contract allows refusing a range the API cannot reach
        except Exception as exc:
            raise AssertionError(f"{name}: plan({granularity.value}) raised {exc!r}") from exc
        assert isinstance(plan, FetchPlan), f"{name}: plan() must return a FetchPlan"
        assert plan.walks, f"{name}: plan({granularity.value}) has no walks"
        assert callable(plan.to_records), f"{name}: plan.to_records must be callable"
        assert plan.granularity.rank <= granularity.rank, (
            f"{name}: plan({granularity.value}) yields coarser records ({plan.granularity.value})"
        )
        for walk in plan.walks:
            assert not walk.path.startswith(("http://", "https://")), (
                f"{name}: walk paths are relative to the base URL, got {walk.path!r}"
            )


def check_records(
    records: Iterable[UsageRecord], query: UsageQuery, *, provider: str | None = None
) -> list[UsageRecord]:
    """Assert what every record must satisfy for ``query``; returns the records as a list."""
    result = list(records)
    for index, record in enumerate(result):
        where = f"record {index} ({record.provider})"
        if provider is not None:
            assert record.provider == provider, (
                f"{where}: provider {record.provider!r} != {provider!r}"
            )
        assert record.period_start >= query.since, f"{where}: starts before since"
        if record.grain is Grain.EVENT:
            assert query.contains(record.period_start), f"{where}: event outside [since, until)"
            assert record.calls == 1, f"{where}: an event is one call"
        else:
            assert record.period_end <= query.until, f"{where}: window ends after until"
        if record.cost is not None:
            assert record.currency is not None and record.cost_source is not None, where
        else:
            assert record.cost_note, f"{where}: a record without cost must say why in cost_note"
    return result
