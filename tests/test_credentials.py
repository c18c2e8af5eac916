"""Providers with credentials of their own: named variables, HTTP Basic, ids in paths, next paths.

A provider may declare several `Credential`s (Twilio's account SID and auth token) instead of one
`<NAME>_API_KEY`; `BasicAuth` sends a pair of them; a non-secret one fills `{name}` in walk
paths; a `next` link may be a path relative to the base URL. Every secret (and the Basic token
made of it) is hidden from errors.
"""

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import voice_usage
from voice_usage import (
    AuthenticationError,
    ConfigurationError,
    MissingCredentialsError,
    UnsafeRedirectError,
)
from voice_usage._engine._http import Session
from voice_usage._engine._pagination import walk_pages
from voice_usage._engine._provider import credentials_problem
from voice_usage.provider import (
    BasicAuth,
    BearerAuth,
    Credential,
    CursorPaging,
    Page,
    Walk,
)
from voice_usage.testing import FakeProvider

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "vu-test-token-1a2b3c4d5e6f"
KEY_SID = "SK0123456789abcdef0123456789abcdef"
KEY_SECRET = "vu-test-secret-9f8e7d6c5b4a"


class PairProvider(FakeProvider):
    """A fake vendor authenticated like Twilio."""

    auth = BasicAuth(("account_sid", "auth_token"), ("api_key", "api_secret"))
    credentials = (
        Credential("account_sid", "PAIR_ACCOUNT_SID", "account SID", secret=False),
        Credential("auth_token", "PAIR_AUTH_TOKEN", "auth token", required=False),
        Credential("api_key", "PAIR_API_KEY", "API key SID", required=False),
        Credential("api_secret", "PAIR_API_SECRET", "API key secret", required=False),
    )

    def __init__(self) -> None:
        super().__init__(name="pair")


@pytest.fixture(autouse=True)
def no_pair_env(monkeypatch):
    for name in ("ACCOUNT_SID", "AUTH_TOKEN", "API_KEY", "API_SECRET"):
        monkeypatch.delenv(f"PAIR_{name}", raising=False)
    monkeypatch.delenv("FAKE_API_KEY", raising=False)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- what is missing -----------------------------------------------------------------------------


def test_the_default_credential_is_one_api_key_named_after_the_provider():
    (credential,) = FakeProvider().credential_spec
    assert (credential.name, credential.env) == ("api_key", "FAKE_API_KEY")
    assert credentials_problem(FakeProvider(), {}) == (
        "fake: no API key; set FAKE_API_KEY or pass api_key="
    )
    assert credentials_problem(FakeProvider(), {"api_key": "k"}) is None


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({}, "pair: no account SID; set PAIR_ACCOUNT_SID"),
        (
            {"account_sid": SID},
            "pair: no auth token; set PAIR_ACCOUNT_SID and PAIR_AUTH_TOKEN "
            "(or PAIR_API_KEY and PAIR_API_SECRET)",
        ),
        # An API key without the account SID still misses the SID (it is in every path).
        (
            {"api_key": KEY_SID, "api_secret": KEY_SECRET},
            "pair: no account SID; set PAIR_ACCOUNT_SID",
        ),
        ({"account_sid": SID, "auth_token": TOKEN}, None),
        ({"account_sid": SID, "api_key": KEY_SID, "api_secret": KEY_SECRET}, None),
    ],
)
def test_a_missing_credential_is_named_by_its_variable(given, problem):
    assert credentials_problem(PairProvider(), given) == problem


def test_the_connection_reads_each_credential_from_its_own_variable(monkeypatch):
    monkeypatch.setenv("PAIR_ACCOUNT_SID", SID)
    with pytest.raises(
        MissingCredentialsError, match=r"^pair: no auth token; set PAIR_ACCOUNT_SID"
    ):
        voice_usage.connect(PairProvider())
    monkeypatch.setenv("PAIR_AUTH_TOKEN", TOKEN)
    voice_usage.connect(PairProvider()).close()
    # An explicit value wins over the environment; an unknown name is refused.
    voice_usage.connect(PairProvider(), credentials={"auth_token": "other"}).close()
    with pytest.raises(ConfigurationError, match=r"unknown credential.*token"):
        voice_usage.connect(PairProvider(), credentials={"token": TOKEN})


# -- HTTP Basic ------------------------------------------------------------------------------------


def test_basic_auth_sends_the_first_complete_pair():
    auth = PairProvider.auth
    # base64("AC...:vu-test-token-...") worked out with the standard library, not by the code.
    assert auth.headers({"account_sid": SID, "auth_token": TOKEN}) == {
        "Authorization": "Basic "
        + base64.b64encode(f"{SID}:{TOKEN}".encode("ascii")).decode("ascii")
    }
    assert auth.headers({"account_sid": SID, "api_key": KEY_SID, "api_secret": KEY_SECRET}) == {
        "Authorization": basic(KEY_SID, KEY_SECRET)
    }
    assert auth.headers({"account_sid": "u", "auth_token": "p"}) == {"Authorization": "Basic dTpw"}
    assert auth.requires == (("account_sid", "auth_token"), ("api_key", "api_secret"))
    assert BearerAuth().headers({"api_key": "k"}) == {"Authorization": "Bearer k"}


def pair_server(seen: list[httpx.Request], pages: dict[str, Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        header = request.headers.get("authorization", "")
        if header != basic(SID, TOKEN):
            # A careless vendor echoing what it got: the password, and the header itself.
            password = base64.b64decode(header.split()[1]).decode().partition(":")[2]
            echo = f"bad token {password} ({header})"
            return httpx.Response(401, json={"code": 20003, "message": echo})
        return httpx.Response(200, json=pages[request.url.path + "?" + request.url.query.decode()])

    return httpx.MockTransport(handler)


def parse(content: bytes) -> Page[int]:
    data = json.loads(content)
    return Page(data["items"], next_url=data.get("next_page_uri"))


def walk(path: str) -> Walk[int]:
    return Walk(path, parse, {"PageSize": 2}, CursorPaging())


def items(session: Session, path: str) -> Iterator[int]:
    for page in walk_pages(session, walk(path)):
        yield from page.items


def test_a_non_secret_credential_fills_the_path_and_next_paths_are_followed():
    path = f"/2010-04-01/Accounts/{SID}/Calls.json"
    pages = {
        f"{path}?PageSize=2": {"items": [1, 2], "next_page_uri": f"{path}?PageSize=2&Page=1"},
        f"{path}?PageSize=2&Page=1": {"items": [3], "next_page_uri": None},
    }
    seen: list[httpx.Request] = []
    credentials = {"account_sid": SID, "auth_token": TOKEN}
    with Session(
        PairProvider(),
        credentials=credentials,
        base_url="https://fake.invalid",
        transport=pair_server(seen, pages),
    ) as s:
        assert list(items(s, "/2010-04-01/Accounts/{account_sid}/Calls.json")) == [1, 2, 3]
        # A secret is never put in a path: its placeholder stays as written.
        assert s.resolve("/x/{auth_token}").path == "/x/{auth_token}"
    assert [r.url.host for r in seen] == ["fake.invalid", "fake.invalid"]


def test_a_base_url_with_a_path_prefixes_the_next_path():
    seen: list[httpx.Request] = []
    pages = {
        "/proxy/a?PageSize=2": {"items": [1], "next_page_uri": "/a?Page=1"},
        "/proxy/a?Page=1": {"items": [2]},
    }
    credentials = {"account_sid": SID, "auth_token": TOKEN}
    with Session(
        PairProvider(),
        credentials=credentials,
        base_url="https://fake.invalid/proxy",
        transport=pair_server(seen, pages),
    ) as s:
        assert list(items(s, "/a")) == [1, 2]


@pytest.mark.parametrize("target", ["https://elsewhere.invalid/a?Page=1", "//elsewhere.invalid/a"])
def test_a_next_link_to_another_origin_is_refused(target):
    pages = {"/a?PageSize=2": {"items": [1], "next_page_uri": target}}
    seen: list[httpx.Request] = []
    credentials = {"account_sid": SID, "auth_token": TOKEN}
    with (
        Session(
            PairProvider(),
            credentials=credentials,
            base_url="https://fake.invalid",
            transport=pair_server(seen, pages),
        ) as s,
        pytest.raises(UnsafeRedirectError, match=r"elsewhere\.invalid"),
    ):
        list(items(s, "/a"))
    assert len(seen) == 1


def test_secrets_and_the_basic_token_made_of_them_are_hidden_from_errors():
    seen: list[httpx.Request] = []
    wrong = "vu-wrong-token-0f1e2d3c"
    credentials = {"account_sid": SID, "auth_token": wrong}
    with (
        Session(PairProvider(), credentials=credentials, transport=pair_server(seen, {})) as s,
        pytest.raises(AuthenticationError) as caught,
    ):
        s.get("/a")
    token = basic(SID, wrong).split()[1]
    text = f"{caught.value} {caught.value!r} {caught.value.body!r} {vars(s)}"
    assert wrong not in text and token not in text
    assert str(caught.value).count("***") == 2
