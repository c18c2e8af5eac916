"""Property-based tests of the parsers: every vendor's wire models, durations, money and dates.

A page parser (`Walk.parse`) either returns a page or raises pydantic's `ValidationError` or a
`ValueError`, which the core turns into `ResponseValidationError`; nothing else ever escapes,
whatever the body: arbitrary bytes, arbitrary JSON, or a documented example with one value
replaced, removed or added. The documented examples themselves (the hand-made cassettes, built
from each vendor's documentation) and the emulators' answers always parse.

The parsers are found through the provider contract (`plan(query).walks`, `balance()`), so a
new endpoint of an installed provider is fuzzed as soon as one of its queries below reaches it.
Core invariants (round trips, cost with currency, roll-up sums, repricing) are in
tests/test_properties_core.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import voice_usage
from voice_usage import Page, Provider, ResponseValidationError, UsageQuery, Walk, load_registry
from voice_usage._engine._http import RawResponse
from voice_usage._engine._pagination import parse_page
from voice_usage._schema import parse_instant
from voice_usage.emulator import EmulatorRequest, EmulatorServer

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
TODAY = date(2026, 10, 20)
ROOT = Path(__file__).resolve().parent.parent

# -- every parser of every installed provider -----------------------------------------------------

QUERIES: dict[str, list[dict[str, Any]]] = {
    "flireo": [{"granularity": "call"}],
    "ultravox": [
        {"granularity": "call"},
        {"granularity": "day"},
        {"granularity": "day", "options": {"source": "billing"}},
        {"granularity": "day", "options": {"source": "agents"}},
    ],
    "agentphone": [
        {"granularity": "day"},
        {"granularity": "month"},
        {
            "granularity": "day",
            "options": {"view": "by-agent"},
            "since": "2026-10-01",
            "until": "2026-11-01",
        },
        {"granularity": "day", "options": {"view": "by-number"}},
    ],
    "twilio": [
        {"granularity": "call"},
        {"granularity": "day"},
        {"granularity": "month", "since": "2026-10-01", "until": "2026-11-01"},
    ],
    "retell": [{"granularity": "call"}],  # /v3/list-calls, and /v2/list-calls as its fallback
    # endpoint=call first: its fetch reads /call itself (a /v2/call request also ends in /call).
    "vapi": [{"granularity": "call", "options": {"endpoint": "call"}}, {"granularity": "call"}],
}
"""Queries reaching each endpoint a provider reads (2026-10-05 .. 2026-10-12 unless said)."""
WINDOW = {"since": "2026-10-05", "until": "2026-10-12"}


def make_provider(name: str) -> Provider:
    cls = type(load_registry().get(name))
    if name == "agentphone":
        return cls(today=TODAY)  # type: ignore[call-arg]
    return cls()


@dataclass(frozen=True)
class Endpoint:
    provider: str
    path: str
    parse: Callable[[bytes], Page[Any]]
    query: dict[str, Any] | None
    """The query that reaches it, or `None` for the balance snapshot."""
    method: str = "GET"
    body: Any = None
    """The JSON body of a `POST` endpoint's first request."""

    def walk(self) -> Walk[Any]:
        return Walk(self.path, self.parse)


def _endpoints() -> list[Endpoint]:
    found: dict[tuple[str, str], Endpoint] = {}
    for name in load_registry().names():
        if name not in QUERIES:
            continue
        provider = make_provider(name)
        for spec in QUERIES[name]:
            query = UsageQuery(**{**WINDOW, **spec})
            for first in provider.plan(query).walks:
                walk: Walk[Any] | None = first
                while walk is not None:  # a walk and the older endpoints it falls back on
                    endpoint = Endpoint(name, walk.path, walk.parse, spec, walk.method, walk.body)
                    found.setdefault((name, walk.path), endpoint)
                    walk = walk.fallback
        balance = provider.balance()
        if balance is not None:
            found.setdefault(
                (name, balance.path), Endpoint(name, balance.path, balance.parse, None)
            )
    return list(found.values())


ENDPOINTS = _endpoints()
IDS = [f"{e.provider}{e.path}" for e in ENDPOINTS]


def test_every_installed_provider_has_its_parsers_fuzzed():
    registry = load_registry()
    implemented = {n for n in registry.names() if registry.get(n).capabilities.implemented}
    assert implemented <= set(QUERIES), f"add queries for {implemented - set(QUERIES)}"
    assert {e.provider for e in ENDPOINTS} == implemented
    assert len(ENDPOINTS) >= 10


def on_path(url_path: str, walk_path: str) -> bool:
    """Whether ``url_path`` ends with ``walk_path``, whose `{name}`s stand for any one segment."""
    pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(walk_path))
    return re.search(f"{pattern}$", url_path) is not None


@cache
def emulator_body(provider: str, path: str) -> bytes:
    """The emulator's answer on ``path`` for the query that reaches it: a valid example."""
    endpoint = next(e for e in ENDPOINTS if (e.provider, e.path) == (provider, path))
    instance = make_provider(provider)
    emulator = instance.emulator(KEY)
    with (
        EmulatorServer(emulator) as server,
        voice_usage.connect(
            instance, credentials=emulator.credentials, base_url=server.base_url
        ) as connection,
    ):
        if endpoint.query is None:
            connection.balance()
        else:
            connection.fetch(UsageQuery(**{**WINDOW, **endpoint.query})).to_list()
        request = next((r for r in server.requests if on_path(r.path, path)), None)
        if request is None:  # a fallback endpoint the fetch did not need: ask it directly
            body = json.dumps(endpoint.body).encode() if endpoint.body is not None else b""
            request = EmulatorRequest(endpoint.method, path, {}, {}, server.base_url, body)
        return bytes(emulator.handle(request).body)


def _documented_examples() -> list[Any]:
    """Every 200 body of the hand-made cassettes (the vendors' documented examples)."""
    examples = []
    for path in sorted((ROOT / "cassettes").rglob("*.yaml")):
        match = re.fullmatch(r"test_(\w+?)_cassettes", path.parent.name)
        if match is None:
            continue
        provider = match.group(1)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, interaction in enumerate(data["interactions"]):
            if interaction["response"]["status"]["code"] != 200:
                continue
            url_path = httpx.URL(interaction["request"]["uri"]).path
            # The longest path that fits: `/v2/call` ends in `/call` too.
            endpoint = max(
                (
                    e
                    for e in ENDPOINTS
                    if e.provider == provider and on_path(url_path.rstrip("/"), e.path)
                ),
                key=lambda e: len(e.path),
                default=None,
            )
            if endpoint is None:
                continue
            body = interaction["response"]["body"]["string"]
            examples.append(
                pytest.param(endpoint, body.encode(), id=f"{path.parent.name}/{path.stem}#{index}")
            )
    return examples


DOCUMENTED = _documented_examples()


def test_every_provider_has_documented_examples():
    assert {p.values[0].provider for p in DOCUMENTED} == {e.provider for e in ENDPOINTS}


ITEM_LISTS = {"logs", "usage", "data", "items", "calls", "usage_records", "results"}
"""Where the vendors' documents put a page's items (Flireo, AgentPhone, Retell, Twilio, Ultravox
and Vapi). A body without one of these lists is one snapshot: a page of one item."""


def documented_items(body: bytes) -> int:
    """How many items the vendor's example holds, counted from its JSON alone."""
    data = json.loads(body)
    if isinstance(data, list):
        return len(data)
    lists = [value for key, value in data.items() if key in ITEM_LISTS and isinstance(value, list)]
    return len(lists[0]) if lists else 1


@pytest.mark.parametrize(("endpoint", "body"), DOCUMENTED)
def test_a_documented_example_parses(endpoint: Endpoint, body: bytes):
    page = endpoint.parse(body)
    assert isinstance(page, Page)
    assert len(page.items) == documented_items(body)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_the_emulators_answer_parses(endpoint: Endpoint):
    page = endpoint.parse(emulator_body(endpoint.provider, endpoint.path))
    assert isinstance(page, Page) and len(page.items) > 0


# -- fuzzing --------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e400", "NaN", "2026-10-01", "84s", "P1D", "\x00", "é"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def check_parse(endpoint: Endpoint, content: bytes) -> Page[Any] | None:
    """Parse; only a page, `ValidationError` or `ValueError` may come out."""
    try:
        return endpoint.parse(content)
    except (ValidationError, ValueError):
        return None


def check_core(endpoint: Endpoint, content: bytes) -> None:
    """Through the core: a page, or `ResponseValidationError` naming the provider."""
    response = RawResponse("http://127.0.0.1/x", 200, httpx.Headers(), content)
    try:
        parse_page(endpoint.provider, endpoint.walk(), response)
    except ResponseValidationError as exc:
        assert exc.provider == endpoint.provider
        assert str(exc).startswith(f"{endpoint.provider}: unexpected response from {endpoint.path}")


FUZZ = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@given(content=st.binary(max_size=200))
@example(content=b"")
@example(content=b"<html><body>Bad gateway</body></html>")
@example(content=b'{"logs": [')
@example(content=b"\xff\xfe\x00")
@example(content=b"null")
def test_arbitrary_bytes_never_escape_as_another_error(endpoint: Endpoint, content: bytes):
    check_parse(endpoint, content)
    check_core(endpoint, content)


@FUZZ
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@given(value=json_values)
def test_arbitrary_json_never_escapes_as_another_error(endpoint: Endpoint, value: Any):
    content = json.dumps(value).encode()
    check_parse(endpoint, content)
    check_core(endpoint, content)


def small_document(endpoint: Endpoint) -> Any:
    """The emulator's answer with every list cut to two items: quick to mutate and parse."""

    def trim(value: Any) -> Any:
        if isinstance(value, list):
            return [trim(item) for item in value[:2]]
        if isinstance(value, dict):
            return {key: trim(item) for key, item in value.items()}
        return value

    document = trim(json.loads(emulator_body(endpoint.provider, endpoint.path)))
    meta = document.get("metadata") if isinstance(document, dict) else None
    if isinstance(meta, dict) and "totalItems" in meta:  # Vapi's page: still whole once cut
        meta["totalItems"] = len(document["results"])
    return document


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON document (the root excluded)."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((*prefix, key))
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            found.append((*prefix, index))
            found += _paths(inner, (*prefix, index))
    return found


def _container(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one value replaced, one key removed, or one unknown key added."""
    document = json.loads(json.dumps(document))
    paths = _paths(document)
    assume(paths)
    path = draw(st.sampled_from(paths))
    holder = _container(document, path)
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        holder[path[-1]] = draw(json_values)
    elif action == "remove" and isinstance(holder, dict):
        del holder[path[-1]]
    elif isinstance(holder, dict):
        holder[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    return document


@FUZZ
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@given(data=st.data())
def test_a_documented_body_with_one_value_changed_never_escapes(endpoint: Endpoint, data: Any):
    content = json.dumps(data.draw(mutated(small_document(endpoint)))).encode()
    check_parse(endpoint, content)
    check_core(endpoint, content)


@FUZZ
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
@given(data=st.data())
def test_unknown_fields_are_kept_never_an_error(endpoint: Endpoint, data: Any):
    document = small_document(endpoint)
    # Objects of the vendor's models; free-form maps (`metadata`: strings only) are not models.
    objects = [
        p
        for p in _paths(document)
        if isinstance(_container(document, (*p, 0)), dict) and p[-1] != "metadata"
    ]
    targets = [(), *objects] if isinstance(document, dict) else objects
    assume(targets)
    target = data.draw(st.sampled_from(targets))
    holder = document
    for part in target:
        holder = holder[part]
    name = data.draw(st.from_regex(r"zz[a-zA-Z]{1,8}", fullmatch=True))
    holder[name] = data.draw(json_values)
    assert endpoint.parse(json.dumps(document).encode()) is not None


# -- through the whole library: records or a typed error ---------------------------------------


def _single_page(document: Any) -> Any:
    """A trimmed answer made a consistent last page: no `next` link, a total that matches."""
    if isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list)]
        for link in ("next", "next_page_uri"):
            if link in document:
                document[link] = None
        if "total" in document and lists:
            document["total"] = len(lists[0])
        if isinstance(document.get("pagination"), dict) and lists:
            document["pagination"]["total"] = len(lists[0])
    return document


class LibraryProbe:
    """One connection serving a given body on the endpoint (the emulator's answers elsewhere)."""

    def __init__(self, endpoint: Endpoint) -> None:
        assert endpoint.query is not None
        self.endpoint = endpoint
        self.content = b""
        self.served = 0
        provider = make_provider(endpoint.provider)
        self.connection = voice_usage.connect(
            provider,
            credentials=provider.emulator(KEY).credentials,
            transport=httpx.MockTransport(self.answer),
            concurrency=1,
            retry=voice_usage.RetryPolicy(max_attempts=1),
            sleep=lambda seconds: None,  # the rate gate counts these requests: never wait
        )

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.served += 1
        if self.served > 20:  # a total or a link that never ends: the page cap is tested elsewhere
            return httpx.Response(503, json={"detail": "enough"})
        if on_path(request.url.path, self.endpoint.path):
            return httpx.Response(200, content=self.content)
        other = next(
            (
                e
                for e in ENDPOINTS
                if e.provider == self.endpoint.provider and on_path(request.url.path, e.path)
            ),
            None,
        )
        if other is None or other.query is None:
            return httpx.Response(404, json={"detail": "Not found."})
        return httpx.Response(200, content=emulator_body(other.provider, other.path))

    def check(self, content: bytes) -> None:
        """Valid records, or a `VoiceUsageError` naming the provider: never another exception."""
        self.content, self.served = content, 0
        query = UsageQuery(**{**WINDOW, **(self.endpoint.query or {})})
        try:
            records = self.connection.fetch(query).to_list()
        except voice_usage.ProviderError as exc:
            assert exc.provider == self.endpoint.provider
        except voice_usage.VoiceUsageError:
            pass
        else:
            for record in records:
                assert record.provider == self.endpoint.provider


_PROBES: dict[tuple[str, str], LibraryProbe] = {}


def probe(endpoint: Endpoint) -> LibraryProbe:
    key = (endpoint.provider, endpoint.path)
    if key not in _PROBES:
        _PROBES[key] = LibraryProbe(endpoint)
    return _PROBES[key]


FETCHED = [e for e in ENDPOINTS if e.query is not None]
FETCHED_IDS = [f"{e.provider}{e.path}" for e in FETCHED]


@FUZZ
@pytest.mark.parametrize("endpoint", FETCHED, ids=FETCHED_IDS)
@given(data=st.data())
def test_a_changed_body_through_the_library_gives_records_or_a_typed_error(
    endpoint: Endpoint, data: Any
):
    document = _single_page(small_document(endpoint))
    probe(endpoint).check(json.dumps(data.draw(mutated(document))).encode())


LINKS = ("next", "next_page_uri")
LINKED = [e for e in FETCHED if any(link in small_document(e) for link in LINKS)]


@pytest.mark.parametrize(
    "link", ["\x1f", "/2010-04-01/Accounts/next\npage", "http://127.0.0.1:port/next"]
)
@pytest.mark.parametrize("endpoint", LINKED, ids=[f"{e.provider}{e.path}" for e in LINKED])
def test_a_next_link_that_is_no_url_is_the_vendors_answer_out_of_shape(
    endpoint: Endpoint, link: str
) -> None:
    # A control character, a line break, a port that is no number: httpx makes no URL of them.
    document = _single_page(small_document(endpoint))
    for name in LINKS:
        if name in document:
            document[name] = link
    probe = LibraryProbe(endpoint)
    probe.content = json.dumps(document).encode()
    with pytest.raises(voice_usage.ResponseValidationError) as raised:
        probe.connection.fetch(UsageQuery(**{**WINDOW, **(endpoint.query or {})})).to_list()
    assert raised.value.provider == endpoint.provider
    assert str(raised.value).startswith(f"{endpoint.provider}: cannot follow the link {link!r}")


ABSURD: list[Any] = [
    -1,
    10**15,
    2**63,
    10**30,
    1.5e308,
    1e-9,
    "99999999999999999999999999999999s",
    "9999999999:00:00",
    "P99999999999D",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31",
    "0001-01-01",
]
"""Figures no vendor sends, at the edges of what numbers, durations and dates can hold."""


def _figures(document: Any) -> list[tuple[Any, ...]]:
    """Locations of numbers, dates and durations (not ids or names), in the first item of lists."""
    found = []
    for path in _paths(document):
        if any(isinstance(part, int) and part > 0 for part in path):
            continue
        value = _container(document, path)[path[-1]]
        if isinstance(value, bool | dict | list):
            continue
        if isinstance(value, int | float) or (
            isinstance(value, str)
            and re.fullmatch(r"[\dPT:.\- ]+[sSDHMZ]?|\d{4}-\d\d-\d\dT.*", value)
        ):
            found.append(path)
    return found


@pytest.mark.parametrize("endpoint", FETCHED, ids=FETCHED_IDS)
def test_absurd_figures_give_records_or_a_typed_error(endpoint: Endpoint):
    document = _single_page(small_document(endpoint))
    figures = _figures(document)
    assert figures
    for path in figures:
        for value in ABSURD:
            changed = json.loads(json.dumps(document))
            _container(changed, path)[path[-1]] = value
            probe(endpoint).check(json.dumps(changed).encode())


# -- money: decimal literals are read exactly -------------------------------------------------

money_literals = st.decimals(
    min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False
).map(lambda d: format(d, "f"))

MONEY_FIELDS: dict[tuple[str, str], tuple[tuple[Any, ...], Callable[[Page[Any]], Any]]] = {
    ("flireo", "/usage"): (("logs", 0, "cost"), lambda page: page.items[0]["cost"]),
    ("ultravox", "/api/accounts/me/usage/calls"): (
        ("daily", 0, "billedMinutes"),
        lambda page: page.items[0].daily[0].billed_minutes,
    ),
    ("ultravox", "/api/accounts/me/billing/usage"): (
        ("dailyUsage", 0, "minutes"),
        lambda page: page.items[0].daily_usage[0].minutes,
    ),
    ("agentphone", "/v1/usage/daily"): (
        ("data", 0, "voiceMinutes"),
        lambda page: page.items[0].voiceMinutes,
    ),
}
"""Where each endpoint carries money or minutes, and how to read the parsed value back."""
MONEY = [e for e in ENDPOINTS if (e.provider, e.path) in MONEY_FIELDS]


@FUZZ
@pytest.mark.parametrize("endpoint", MONEY, ids=[f"{e.provider}{e.path}" for e in MONEY])
@given(literal=money_literals)
@example(literal="0.07")
@example(literal="0.1")
@example(literal="12.3")
@example(literal="1.005")
def test_a_decimal_literal_in_a_money_or_minutes_field_is_read_exactly(
    endpoint: Endpoint, literal: str
):
    path, read_back = MONEY_FIELDS[(endpoint.provider, endpoint.path)]
    document = json.loads(emulator_body(endpoint.provider, endpoint.path))
    _container(document, path)[path[-1]] = "@@MONEY@@"
    content = json.dumps(document).replace('"@@MONEY@@"', literal).encode()
    value = read_back(endpoint.parse(content))
    assert value == Decimal(literal)  # never through a binary float
    assert str(value) == literal or value.normalize() == Decimal(literal).normalize()


# -- durations (Ultravox writes them as strings) ------------------------------------------------

durations = st.decimals(
    min_value=0, max_value=10 * 86_400, places=6, allow_nan=False, allow_infinity=False
)


def _duration_module() -> Any:
    if "ultravox" not in load_registry().names():
        pytest.skip("ultravox is not installed")
    import voice_usage_ultravox._duration as module

    return module


@given(seconds=durations, style=st.sampled_from(["protobuf", "django", "iso"]))
def test_a_duration_written_in_any_style_reads_back_exactly(seconds: Decimal, style: str):
    module = _duration_module()
    assert module.parse_duration(module.format_duration(seconds, style)) == seconds


@given(text=st.one_of(st.text(max_size=24), st.from_regex(r"[0-9PTDHMSs:., -]{0,16}")))
@example(text="84s")
@example(text="-5s")
@example(text="PT")
@example(text="P1Y")
@example(text="1 day, 2:03:04")
@example(text="99:99:99")
def test_any_text_is_a_duration_or_a_named_error(text: str):
    module = _duration_module()
    try:
        seconds = module.parse_duration(text, field="calls.0.billedDuration")
    except module.DurationFormatError as exc:
        assert "calls.0.billedDuration" in str(exc) and exc.value == text
    else:
        assert isinstance(seconds, Decimal) and seconds >= 0 and seconds.is_finite()


@given(value=st.one_of(st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.text())))
def test_a_duration_that_is_not_a_string_is_a_named_error(value: Any):
    module = _duration_module()
    with pytest.raises(module.DurationFormatError, match="duration"):
        module.parse_duration(value)


# -- dates ---------------------------------------------------------------------------------------


@given(text=st.text(max_size=40))
@example(text="2026-02-30")
@example(text="2026-10-01T25:00:00")
@example(text="last week")
@example(text="2026-10-01T12:00:00+25:00")
def test_any_text_is_an_instant_in_utc_or_a_named_value_error(text: str):
    try:
        instant = parse_instant(text, name="--since")
    except ValueError as exc:
        assert "--since" in str(exc)
    else:
        assert instant.tzinfo is UTC


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(instant=instants, offset=offsets)
def test_a_wire_timestamp_with_any_offset_is_the_same_utc_instant(
    instant: datetime, offset: timezone
):
    local = instant.astimezone(offset).isoformat()
    assert parse_instant(local) == instant
    if "flireo" in load_registry().names():
        from voice_usage_flireo._wire import parse_usage_log

        log = parse_usage_log(json.dumps({"id": "x", "created_at": local}))
        assert log["created_at"] == instant
        assert log["created_at"].utcoffset() == timedelta(0)
