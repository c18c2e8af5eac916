"""The HTTP layer: one client per provider account, retries, rate limits, and safe redirects.

`Session` (sync) and `AsyncSession` share everything but the I/O calls: URL and credential
handling, the origin check, the status-to-exception mapping and the rate gate live in
`_SessionCore`. The API key is held as a secret and sent only to the base URL's origin.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from voice_usage._engine import _constants
from voice_usage._engine._plan import ParamValue
from voice_usage._engine._provider import API_KEY, Provider, json_body
from voice_usage._engine._rate_gate import RateGate
from voice_usage._engine._retry import (
    RetryPolicy,
    build_async_retrying,
    build_retrying,
    parse_retry_after,
    retrying_options,
)
from voice_usage._engine._sockets import faster_connections
from voice_usage._exceptions import (
    APIStatusError,
    ConfigurationError,
    InsecureBaseURLError,
    ProviderError,
    ResponseValidationError,
    TransportError,
    UnsafeRedirectError,
    status_error,
)
from voice_usage._version import __version__

__all__ = [
    "AsyncSession",
    "RawResponse",
    "Session",
    "check_base_url",
    "checked_credential",
    "redact_key",
]

logger = logging.getLogger("voice_usage.http")

USER_AGENT = f"voice-usage/{__version__}"
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")
_MAX_REDIRECTS = 5
_RESOLVED_PATHS = 64
"""Relative targets a session keeps resolved (a walk's paths; cursors given as paths stop it)."""


def _unchanged(text: str) -> str:
    return text


def checked_credential(provider: str, value: str, source: str, name: str = API_KEY) -> str:
    """A credential as sent: surrounding whitespace stripped, what a header cannot carry refused.

    A key pasted with a trailing newline, or read from a CRLF file, is the same key; a control
    or non-ASCII character inside it is a copying mistake no header can carry (httpx would refuse
    it with the key in its message). The error names ``source`` and never shows the value.
    """
    stripped = value.strip()
    bad = [i for i, char in enumerate(stripped) if not " " <= char <= "~"]
    if bad:
        what = "the API key" if name == API_KEY else f"the {name}"
        raise ConfigurationError(
            f"{provider}: {what} from {source} holds a control or non-ASCII character "
            f"(at position {bad[0] + 1} of {len(stripped)}); copy it again"
        )
    return stripped


_MIN_ECHOED_PREFIX = 8
"""Characters of the key's start that a vendor must echo before the echo is taken for the key."""


def _key_forms(key: str) -> list[str]:
    """The ways a message can spell the key: as is, and escaped as a repr writes it."""
    forms = [key, repr(key)[1:-1], repr(key.encode())[2:-1]]
    return sorted(set(forms), key=len, reverse=True)


def redact_key(text: str, key: str) -> str:
    """``text`` with the key, in any letter case and any long start of it, replaced by `***`.

    A vendor may echo the key upper-cased, or a start of it (`sk_SECRE...`); a message may quote
    it escaped (the repr of a header value). Starts of at least 8 characters count.
    """
    if not key:
        return text
    for form in _key_forms(key):
        shortest = min(len(form), _MIN_ECHOED_PREFIX)
        pattern = re.compile(re.escape(form[:shortest]), re.IGNORECASE)
        pieces: list[str] = []
        position = 0
        for match in pattern.finditer(text):
            if match.start() < position:
                continue
            end = match.end()
            while (
                end < len(text)
                and end - match.start() < len(form)
                and text[end].lower() == form[end - match.start()].lower()
            ):
                end += 1
            pieces += [text[position : match.start()], "***"]
            position = end
        text = "".join(pieces) + text[position:]
    return text


@dataclass(frozen=True)
class RawResponse:
    """A successful response, fully read."""

    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes
    redact: Callable[[str], str] = field(default=_unchanged, repr=False, compare=False)
    """Removes the API key from text about this response (a parse error quoting the body)."""


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(provider: str, base_url: str) -> httpx.URL:
    """Validate a base URL: https anywhere, plain http only to a loopback host."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise InsecureBaseURLError(f"{provider}: invalid base URL {base_url!r}: {exc}") from None
    if url.scheme == "https" and url.host:
        return url
    if url.scheme == "http" and url.host and _is_loopback(url.host):
        return url
    if url.scheme == "http":
        raise InsecureBaseURLError(
            f"{provider}: refusing plain http:// base URL {base_url!r}: the API key would cross "
            "the network unencrypted; use https:// (http:// is allowed only for loopback hosts)"
        )
    raise InsecureBaseURLError(
        f"{provider}: base URL must be an absolute https:// URL, got {base_url!r}"
    )


_TLS_LOCK = threading.Lock()


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def shared_tls_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA bundle costs ~50 ms a client.

    Built as httpx builds its own (certifi, or `SSL_CERT_FILE`/`SSL_CERT_DIR`), once per value
    of those variables.
    """
    # Under a lock: accounts synced side by side start at once, and each would build its own.
    with _TLS_LOCK:
        return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default_port)


def _show_origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


class _ResponseCookies(httpx.Cookies):
    """A client's cookie jar that reads a response only when it sets a cookie.

    httpx hands every response to the jar, which builds urllib's request and response twins of
    it to look for `Set-Cookie` (and `Set-Cookie2`, the only headers it reads): a fiftieth of a
    small page's CPU, for APIs that set none.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


def _cookies_only_when_set(client: httpx.Client | httpx.AsyncClient) -> None:
    """Give ``client`` a `_ResponseCookies` jar, when its jar is where httpx keeps it."""
    if type(getattr(client, "_cookies", None)) is httpx.Cookies:  # not public: else left as is
        client._cookies = _ResponseCookies(client.cookies)


class _SessionCore:
    """What the sync and async sessions share: no I/O here."""

    def __init__(
        self,
        provider: Provider,
        *,
        api_key: str | None = None,
        credentials: Mapping[str, str] | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        deadline: float = _constants.DEFAULT_REQUEST_DEADLINE,
        max_response_bytes: int = _constants.MAX_RESPONSE_BYTES,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.name = provider.name
        self.base_url = check_base_url(provider.name, base_url or provider.default_base_url)
        given = dict(credentials or {})
        if api_key:
            given[API_KEY] = api_key
        given = {
            name: checked_credential(provider.name, value, "the connection", name)
            for name, value in given.items()
        }
        self._credentials = {name: SecretStr(value) for name, value in given.items() if value}
        public = {c.name for c in provider.credential_spec if not c.secret}
        # Non-secret values (an account id) may stand in paths; everything else is hidden.
        self._path_values = {
            "{" + name + "}": quote(secret.get_secret_value(), safe="")
            for name, secret in self._credentials.items()
            if name in public
        }
        self._hidden = tuple(
            SecretStr(text)  # held as secrets too: a repr of the session shows none of them
            for text in sorted(self._hidden_values(public), key=len, reverse=True)
        )
        self.retry = retry or RetryPolicy()
        self.timeout = timeout or _constants.DEFAULT_TIMEOUT
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self.gate = RateGate(provider.rate_limit, monotonic=monotonic, wall=wall)
        self._monotonic = monotonic
        self.requests_sent = 0
        self._resolved: dict[str, httpx.URL] = {}
        # The retry strategies hold no state of a request's: built once, a loop per request.
        self._retrying = retrying_options(self.retry, self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.base_url}>"

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "headers": {"User-Agent": USER_AGENT, "Accept": "application/json"},
            "timeout": self.timeout,
            "follow_redirects": False,
            "verify": shared_tls_context(),
        }

    def _plain_credentials(self) -> dict[str, str]:
        return {name: secret.get_secret_value() for name, secret in self._credentials.items()}

    def _hidden_values(self, public: set[str]) -> list[str]:
        """Every text that would give a secret away: the values and the headers made of them."""
        hidden = [
            secret.get_secret_value()
            for name, secret in self._credentials.items()
            if name not in public
        ]
        for value in self._auth_headers().values():
            hidden.append(value)
            _, _, token = value.partition(" ")  # `Basic <base64>` encodes the secret
            if token:
                hidden.append(token)
        return [text for text in hidden if text]

    def _auth_headers(self) -> dict[str, str]:
        plain = self._plain_credentials()
        if not plain:
            return {}
        try:
            return self.provider.auth.headers(plain)
        except KeyError:  # not enough credentials for the scheme: the vendor will say 401
            return {}

    def redact(self, text: str) -> str:
        """Remove the secrets from text that came from elsewhere (a vendor message echoing one)."""
        for value in self._hidden:  # longest first: a header before the secret inside it
            text = redact_key(text, value.get_secret_value())  # any case, any long start
        return text

    def resolve(self, target: str) -> httpx.URL:
        """An absolute URL for a path or URL, refusing any origin but the base URL's.

        A path is taken relative to the base URL, with `{name}` replaced by the value of a
        non-secret credential; a network-path reference (`//host/...`) is another origin.
        """
        if (known := self._resolved.get(target)) is not None:
            return known
        if target.startswith("//"):
            target = f"{self.base_url.scheme}:{target}"
        url = self._url(target)
        if not url.is_absolute_url:
            relative = target
            for placeholder, value in self._path_values.items():
                target = target.replace(placeholder, value)
            base = str(self.base_url).rstrip("/")
            url = self._url(f"{base}/{target.lstrip('/')}")
            # A walk asks for the same few paths page after page: each is parsed once (httpx
            # parses a URL in pure Python). A path is resolved the same way every time.
            if len(self._resolved) < _RESOLVED_PATHS:
                self._resolved[relative] = url
            return url
        if _origin(url) != _origin(self.base_url):
            raise UnsafeRedirectError(
                self.name,
                f"refusing to send the API key to {_show_origin(url)}: "
                f"it belongs to {_show_origin(self.base_url)} only",
            )
        return url

    def _url(self, target: str) -> httpx.URL:
        # A target is a walk's path, or a link the vendor sent (the next page's): one that is
        # no URL (a control character, a port that is no number) is the vendor's answer out
        # of shape, said as such, never httpx's own exception.
        try:
            return httpx.URL(target)
        except httpx.InvalidURL as exc:
            raise ResponseValidationError(
                self.name, f"cannot follow the link {self.redact(target)!r}: {exc}"
            ) from None

    def redirect_target(self, response: httpx.Response) -> httpx.URL:
        location = response.headers.get("location")
        if not location:
            raise ProviderError(self.name, f"HTTP {response.status_code} redirect without Location")
        return self.resolve(str(response.url.join(location)))

    def status_failure(self, response: httpx.Response, content: bytes) -> APIStatusError:
        for value in self._hidden:  # a vendor echoing a secret: keep it out of `body` too
            content = content.replace(value.get_secret_value().encode(), b"***")
        try:
            body: Any = json_body(content)
        except ValueError:
            body = content.decode("utf-8", "replace")
        body = self._redacted(body)  # a vendor echoing the key: keep it out of `body` too
        vendor = self.provider.parse_error(response.status_code, body)
        request_id = next(
            (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
        )
        return status_error(
            self.name,
            response.status_code,
            vendor_code=vendor.code and self.redact(vendor.code),
            vendor_message=vendor.message and self.redact(vendor.message),
            request_id=request_id and self.redact(request_id),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            body=body,
        )

    def _redacted(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self._redacted(item) for item in value]
        if isinstance(value, dict):
            return {self._redacted(k): self._redacted(v) for k, v in value.items()}
        return value

    def gave_up(
        self, exc: ProviderError, method: str, url: httpx.URL, attempts: int, waited: float
    ) -> None:
        """Note on the final error what was tried: the request, the attempts, the time waited."""
        exc.method = method
        exc.attempts = attempts
        exc.waited = waited
        exc.endpoint = url.path
        cap = self.retry.max_retry_after
        if isinstance(exc, APIStatusError) and (exc.retry_after or 0) > cap:
            exc.retry_after_cap = cap

    def transport_failure(self, exc: httpx.HTTPError, url: httpx.URL) -> TransportError:
        failure = self._transport_failure(exc, url)
        # httpx may quote a header, key included: no transport message goes out unredacted.
        return TransportError(self.name, self.redact(failure.detail), retryable=failure.retryable)

    def _transport_failure(self, exc: httpx.HTTPError, url: httpx.URL) -> TransportError:
        port = f":{url.port}" if url.port else ""
        where = f"{url.scheme}://{url.host}{port}{url.path}"
        if isinstance(exc, httpx.TimeoutException):
            return TransportError(self.name, f"timed out ({type(exc).__name__}) on {where}")
        if isinstance(exc, httpx.ConnectError):
            return TransportError(self.name, f"could not connect to {where}: {exc}")
        if isinstance(exc, httpx.RemoteProtocolError):
            return TransportError(self.name, f"connection broken or body cut short on {where}")
        if isinstance(exc, httpx.NetworkError):
            return TransportError(self.name, f"network error on {where}: {type(exc).__name__}")
        return TransportError(
            self.name, f"request to {where} failed: {type(exc).__name__}: {exc}", retryable=False
        )

    def settle(
        self,
        method: str,
        url: httpx.URL,
        response: httpx.Response,
        content: bytes,
        started: float,
    ) -> RawResponse | httpx.URL:
        """What a read response means: the result, or the URL a redirect points to.

        Raises:
            APIStatusError: for an error status (the one place the sessions raise it).
            UnsafeRedirectError: for a redirect to another origin.
        """
        self.log(method, url, response.status_code, started)
        if response.is_redirect:
            return self.redirect_target(response)
        if response.status_code >= 400:
            raise self.status_failure(response, content)
        return RawResponse(str(url), response.status_code, response.headers, content, self.redact)

    def check_size(self, url: httpx.URL, response: httpx.Response, received: int) -> None:
        """Refuse a body over the limit, by its announced length or by the bytes read so far."""
        announced = response.headers.get("content-length", "")
        size = max(received, int(announced) if announced.isdigit() else 0)
        if size > self.max_response_bytes:
            limit = self.max_response_bytes
            shown = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit} bytes"
            raise ResponseValidationError(
                self.name,
                f"the response from {url.host}{url.path} is over {shown}, the most one response "
                "may hold; refused before reading the rest",
            )

    def check_deadline(self, started: float, url: httpx.URL) -> None:
        if self._monotonic() - started > self.deadline:
            raise TransportError(
                self.name, f"response from {url.host}{url.path} took over {self.deadline:g} s"
            )

    def log(self, method: str, url: httpx.URL, status: int, started: float) -> None:
        # Checked first: the redacted URL costs a pass of `redact_key` per secret, every request.
        if not logger.isEnabledFor(logging.DEBUG):
            return
        logger.debug(
            "%s: %s %s -> %d (%.0f ms)",
            self.name,
            method,
            self.redact(str(url)),
            status,
            (self._monotonic() - started) * 1000,
        )


QueryPairs = list[tuple[str, str | int | float | bool | None]]


def _params(params: Mapping[str, ParamValue] | None) -> QueryPairs | None:
    if params is None:
        return None
    pairs: QueryPairs = []
    for key, value in params.items():
        if isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(v)) for v in value)
    return pairs


class Session(_SessionCore):
    """A synchronous connection to one provider account. Close it, or use it as a context manager."""

    def __init__(
        self,
        provider: Provider,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(provider, api_key=api_key, base_url=base_url, **options)
        # `time.sleep` looked up now, not when this module was imported, so a test can watch it.
        self._sleep = sleep if sleep is not None else time.sleep
        self._client = httpx.Client(transport=transport, **self._client_options())
        _cookies_only_when_set(self._client)

    def get(self, target: str, params: Mapping[str, ParamValue] | None = None) -> RawResponse:
        """GET a path (relative to the base URL) or an absolute same-origin URL, with retries.

        Query parameters go only through ``params``; a URL that already has a query (a cursor's
        `next`) must be passed with ``params=None``, since httpx would replace its query.
        """
        return self.request("GET", target, params)

    def request(
        self,
        method: str,
        target: str,
        params: Mapping[str, ParamValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> RawResponse:
        """`get` for any method: a `POST` read sends ``body`` as JSON. Retried like a GET."""
        url = self.resolve(target)
        attempts = 0
        retrying = build_retrying(self.retry, self.name, sleep=self._sleep, options=self._retrying)
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    return self._attempt(method, url, _params(params), body)
        except ProviderError as exc:
            self.gave_up(exc, method, url, attempts, retrying.statistics.get("idle_for", 0.0))
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _attempt(
        self, method: str, url: httpx.URL, params: QueryPairs | None, body: Any
    ) -> RawResponse:
        for _ in range(_MAX_REDIRECTS + 1):
            while delay := self.gate.reserve():
                self._sleep(delay)
            started = self._monotonic()
            self.requests_sent += 1
            released = False
            try:
                with self._client.stream(
                    method, url, params=params, json=body, headers=self._auth_headers()
                ) as response:
                    # The server counted the request before it answered: the slot is given back
                    # as the answer begins, not once its body is read.
                    self.gate.release(response.headers)
                    released = True
                    self.check_size(url, response, 0)
                    chunks, received = [], 0
                    for chunk in response.iter_bytes():
                        chunks.append(chunk)
                        received += len(chunk)
                        self.check_size(url, response, received)
                        self.check_deadline(started, url)
            except httpx.HTTPError as exc:
                raise self.transport_failure(exc, url) from None
            finally:
                if not released:
                    self.gate.release()
            content = b"".join(chunks)
            outcome = self.settle(method, url, response, content, started)
            if isinstance(outcome, RawResponse):
                return outcome
            url, params = outcome, None
        raise ProviderError(self.name, f"more than {_MAX_REDIRECTS} redirects from {url}")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_GATE_STEP = 0.05
"""Longest sleep, in seconds, before the async session asks the rate gate again."""


class AsyncSession(_SessionCore):
    """The asynchronous twin of `Session`, for concurrent page and provider fetching."""

    def __init__(
        self,
        provider: Provider,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_connections: int = _constants.DEFAULT_MAX_CONNECTIONS,
        **options: Any,
    ) -> None:
        super().__init__(provider, api_key=api_key, base_url=base_url, **options)
        self._sleep = sleep if sleep is not None else asyncio.sleep
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = httpx.AsyncClient(
            transport=transport, limits=limits, **self._client_options()
        )
        faster_connections(self._client)
        _cookies_only_when_set(self._client)

    async def get(self, target: str, params: Mapping[str, ParamValue] | None = None) -> RawResponse:
        """Async `Session.get`."""
        return await self.request("GET", target, params)

    async def request(
        self,
        method: str,
        target: str,
        params: Mapping[str, ParamValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> RawResponse:
        """Async `Session.request`."""
        url = self.resolve(target)
        attempts = 0
        retrying = build_async_retrying(
            self.retry, self.name, sleep=self._sleep, options=self._retrying
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    return await self._attempt(method, url, _params(params), body)
        except ProviderError as exc:
            self.gave_up(exc, method, url, attempts, retrying.statistics.get("idle_for", 0.0))
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(
        self, method: str, url: httpx.URL, params: QueryPairs | None, body: Any
    ) -> RawResponse:
        for _ in range(_MAX_REDIRECTS + 1):
            while delay := self.gate.reserve():
                # In short steps: the fetch engine's event loop may stand still while its caller
                # works on a page, and a long sleep measured on that loop's clock would wake late
                # by as much; the gate reads the real clock each time it is asked again.
                await self._sleep(min(delay, _GATE_STEP))
            started = self._monotonic()
            self.requests_sent += 1
            released = False
            try:
                async with asyncio.timeout(self.deadline):
                    async with self._client.stream(
                        method, url, params=params, json=body, headers=self._auth_headers()
                    ) as response:
                        self.gate.release(response.headers)  # counted before it answered
                        released = True
                        self.check_size(url, response, 0)
                        chunks, received = [], 0
                        async for chunk in response.aiter_bytes():
                            chunks.append(chunk)
                            received += len(chunk)
                            self.check_size(url, response, received)
                        content = b"".join(chunks)
            except TimeoutError:
                raise TransportError(
                    self.name, f"response from {url.host}{url.path} took over {self.deadline:g} s"
                ) from None
            except httpx.HTTPError as exc:
                raise self.transport_failure(exc, url) from None
            finally:
                if not released:
                    self.gate.release()
            outcome = self.settle(method, url, response, content, started)
            if isinstance(outcome, RawResponse):
                return outcome
            url, params = outcome, None
        raise ProviderError(self.name, f"more than {_MAX_REDIRECTS} redirects from {url}")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
