"""The HTTP layer: status mapping, origin safety, secrets, headers."""

import logging

import httpx
import pytest

import voice_usage
from voice_usage import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsecureBaseURLError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnprocessableEntityError,
    UnsafeRedirectError,
)
from voice_usage._engine._http import Session, check_base_url
from voice_usage._exceptions import status_error
from voice_usage.emulator import Emulator, EmulatorServer, Fault, json_response
from voice_usage.testing import FakeProvider

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
NO_RETRY = RetryPolicy(max_attempts=1)


class Recorder(Emulator):
    def handle(self, request):
        return json_response({"path": request.path})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (418, APIStatusError),
    ],
)
def test_one_table_maps_statuses_to_exceptions(status, cls):
    error = status_error("flireo", status, vendor_code="code_x", request_id="req-1")
    assert type(error) is cls
    assert error.provider == "flireo"
    assert error.status_code == status
    assert str(error).startswith(f"flireo: HTTP {status}")
    assert "[code_x]" in str(error) and "req-1" in str(error)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"error": "Unauthorized", "message": "Invalid or missing API key"},
            "Unauthorized",
            "Invalid or missing API key",
        ),
        (
            {"error": {"code": "insufficient_credits", "message": "Add credits"}},
            "insufficient_credits",
            "Add credits",
        ),
        ({"detail": "Invalid API key."}, None, "Invalid API key."),
        (
            {"detail": [{"loc": ["query", "days"], "msg": "must be <= 365", "type": "x"}]},
            "validation_error",
            "days: must be <= 365",
        ),
        (
            {"fromDate": ["Enter a valid date."]},
            "validation_error",
            "fromDate: Enter a valid date.",
        ),
    ],
)
def test_vendor_error_bodies_reach_the_exception(body, code, message):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json=body, headers={"X-Request-Id": "abc123"})

    s = Session(FakeProvider(), api_key=KEY, transport=httpx.MockTransport(handler), retry=NO_RETRY)
    with pytest.raises(PaymentRequiredError) as info:
        s.get("/usage")
    assert info.value.vendor_code == code
    assert info.value.vendor_message == message
    assert info.value.request_id == "abc123"
    assert info.value.body == body


def test_requests_carry_user_agent_and_auth():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    Session(FakeProvider(), api_key=KEY, transport=httpx.MockTransport(handler)).get(
        "/calls", {"a": "1", "ids": ["x", "y"]}
    )
    request = seen[0]
    assert request.headers["user-agent"] == f"voice-usage/{voice_usage.__version__}"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert str(request.url) == "https://fake.invalid/v1/calls?a=1&ids=x&ids=y"


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com/v1", "http://10.0.0.5:8080", "ftp://example.com", "api.example.com"],
)
def test_plain_http_is_refused_except_for_loopback(url):
    with pytest.raises(InsecureBaseURLError, match="fake"):
        check_base_url("fake", url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://localhost:1/api", "http://[::1]:9/x", "https://api.x.com"],
)
def test_https_and_loopback_http_are_accepted(url):
    assert str(check_base_url("fake", url)).startswith(url.split(":")[0])


def test_connection_refuses_insecure_base_url_before_any_request():
    with pytest.raises(InsecureBaseURLError, match="refusing plain http"):
        voice_usage.connect(FakeProvider(), api_key=KEY, base_url="http://usage.example.com")


def test_a_cross_origin_redirect_never_carries_the_key():
    with (
        EmulatorServer(Recorder(api_key=KEY)) as home,
        EmulatorServer(Recorder(api_key=KEY)) as other,
    ):
        # same machine, other origin (another port): the key must not reach it
        home.faults.add(Fault(action="redirect", location=f"{other.base_url}/steal"))
        with (
            Session(FakeProvider(), api_key=KEY, base_url=home.base_url, retry=NO_RETRY) as s,
            pytest.raises(UnsafeRedirectError, match="refusing to send the API key"),
        ):
            s.get("/usage")
        assert other.requests == []


def test_a_cross_host_redirect_on_the_same_port_is_refused_too():
    with EmulatorServer(Recorder(api_key=KEY)) as home:
        port = home.base_url.rsplit(":", 1)[1]
        home.faults.add(Fault(action="redirect", location=f"http://localhost:{port}/elsewhere"))
        with (
            Session(FakeProvider(), api_key=KEY, base_url=home.base_url, retry=NO_RETRY) as s,
            pytest.raises(UnsafeRedirectError),
        ):
            s.get("/usage")
        assert [r.path for r in home.requests] == ["/usage"]


def test_a_same_origin_redirect_is_followed_with_the_key():
    with EmulatorServer(Recorder(api_key=KEY)) as home:
        home.faults.add(Fault(action="redirect", location="/v2/usage"))
        with Session(FakeProvider(), api_key=KEY, base_url=home.base_url) as s:
            response = s.get("/usage")
        assert response.status_code == 200
        assert [r.path for r in home.requests] == ["/usage", "/v2/usage"]
        assert home.requests[1].headers["authorization"] == f"Bearer {KEY}"


def test_an_absolute_url_on_another_origin_is_refused():
    s = Session(
        FakeProvider(), api_key=KEY, transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    with pytest.raises(UnsafeRedirectError):
        s.get("https://evil.example.com/v1/calls?cursor=x")


def test_the_key_appears_in_no_repr_error_or_debug_log(caplog):
    def handler(request: httpx.Request) -> httpx.Response:
        # a vendor that echoes the key back in its error message
        return httpx.Response(401, json={"error": "unauthorized", "message": f"bad key {KEY}"})

    caplog.set_level(logging.DEBUG)
    connection = voice_usage.connect(
        FakeProvider(), api_key=KEY, transport=httpx.MockTransport(handler), concurrency=1
    )
    with pytest.raises(AuthenticationError) as info:
        connection.fetch("2026-10-01", "2026-10-02", "call").to_list()
    texts = [
        str(info.value),
        repr(info.value),
        repr(connection),
        repr(connection._session()),
        str(info.value.vendor_message),
        caplog.text,
        str(info.value.args),
    ]
    for text in texts:
        assert KEY not in text
    assert "***" in str(info.value)
    assert (
        "fake: GET https://fake.invalid/v1/calls" in caplog.text
    )  # requests are logged, keys are not


def test_missing_key_names_the_environment_variable(monkeypatch):
    monkeypatch.delenv("FAKE_API_KEY", raising=False)
    with pytest.raises(voice_usage.MissingCredentialsError, match="FAKE_API_KEY"):
        voice_usage.connect(FakeProvider())


def test_key_and_base_url_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FAKE_API_KEY", KEY)
    monkeypatch.setenv("FAKE_BASE_URL", "https://usage.example.com/api")
    connection = voice_usage.connect(FakeProvider())
    assert connection.base_url == "https://usage.example.com/api"
    assert KEY not in repr(connection)


def test_a_connection_holds_its_key_as_a_secret():
    connection = voice_usage.connect(FakeProvider(), api_key=KEY)
    assert KEY not in repr(vars(connection))
    assert KEY not in repr(connection) and KEY not in str(connection)


def test_a_path_resolves_the_same_each_time_and_a_path_with_an_account_id_gets_its_value():
    from voice_usage._engine._http import _RESOLVED_PATHS
    from voice_usage._engine._provider import Credential

    class Accounted(FakeProvider):
        credentials = (
            Credential("api_key", "ACCOUNTED_API_KEY", "The key."),
            Credential("account_id", "ACCOUNTED_ACCOUNT_ID", "The account.", secret=False),
        )

    s = Session(
        Accounted(),
        credentials={"api_key": KEY, "account_id": "acct/7"},
        base_url="https://fake.invalid/api/",
        transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    expected = "https://fake.invalid/api/v1/accounts/acct%2F7/calls"
    for _ in range(2):  # the second answer comes from what the first resolved
        assert str(s.resolve("/v1/accounts/{account_id}/calls")) == expected
        assert str(s.resolve("v1/calls?cursor=a")) == "https://fake.invalid/api/v1/calls?cursor=a"
        assert str(s.resolve("v1/calls?cursor=b")) == "https://fake.invalid/api/v1/calls?cursor=b"
    # Past the paths kept, each is still resolved, and none is kept: memory stays bounded.
    paths = [f"/v1/calls/{n}" for n in range(_RESOLVED_PATHS + 10)]
    for path in paths * 2:
        assert str(s.resolve(path)) == f"https://fake.invalid/api{path}"
    assert len(s._resolved) == _RESOLVED_PATHS
    with pytest.raises(UnsafeRedirectError):  # an absolute URL is checked every time
        s.resolve("https://evil.example.com/v1/accounts/acct%2F7/calls")
    with pytest.raises(UnsafeRedirectError):
        s.resolve("//evil.example.com/v1/calls")
