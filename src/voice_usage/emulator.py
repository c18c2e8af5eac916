"""A loopback HTTP server for vendor emulators, with fault injection.

Each provider ships an `Emulator` subclass that answers its vendor's endpoints from deterministic
data. `EmulatorServer` serves one on `127.0.0.1` over HTTP/1.1 with keep-alive, checks the key,
adds latency, and plays scripted `Fault`s: error statuses with `Retry-After`, connection resets,
bodies cut short, HTML pages, hangs, cross-host redirects and rewritten answers (the real answer
with a field removed, retyped or repeated). A fault can be limited to one path, to requests with
given query values, and can let the first matching requests through (to break page 2 of a walk).
The demo and the tests use it.

Example::

    with EmulatorServer(FlireoEmulator(api_key="test-key")) as server:
        server.faults.add(Fault(status=429, headers={"Retry-After": "1"}), times=2)
        ...  # point the provider at server.base_url
"""

from __future__ import annotations

import json
import math
import random
import socket
import struct
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Budget",
    "Emulator",
    "EmulatorRequest",
    "EmulatorResponse",
    "EmulatorServer",
    "Fault",
    "Faults",
    "json_response",
]


@dataclass(frozen=True)
class EmulatorRequest:
    """A request as the emulator sees it."""

    method: str
    path: str
    """Path without the query string."""
    query: Mapping[str, list[str]]
    """Query parameters; repeated keys keep every value, in order."""
    headers: Mapping[str, str]
    """Request headers with lower-cased names."""
    origin: str
    """`http://host:port` as the client addressed the server, for building absolute URLs."""
    body: bytes = b""
    """The request body (a `POST`'s JSON)."""

    def json(self) -> Any:
        """The body decoded as JSON; `ValueError` when it is not JSON."""
        return json.loads(self.body or b"null")

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter, or ``default``."""
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class EmulatorResponse:
    """What the emulator answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> EmulatorResponse:
    """A JSON response."""
    return EmulatorResponse(
        status,
        json.dumps(data, separators=(",", ":")).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


FaultAction = Literal["reset", "truncate", "html", "hang", "drip", "redirect", "body", "rewrite"]

Rewrite = Callable[[Any, "EmulatorRequest"], Any]
"""Takes the decoded JSON of the real answer and the request; returns the JSON to send instead
(or `bytes`, sent verbatim)."""


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, played instead of (or around) the normal answer.

    With `status`, the emulator answers that status with `headers` and `body` (a JSON error by
    default). With `action`:

    - `reset`: close the connection without answering;
    - `truncate`: send the real answer's headers and half its body, then close;
    - `html`: a 200 HTML page instead of JSON;
    - `hang`: wait `delay` seconds before answering normally (to trip a read timeout);
    - `drip`: send the real answer's headers, then its body one byte every `delay` seconds (each
      read is quick, the whole answer never ends: a request deadline must stop it);
    - `redirect`: 302 to `location` (another host, to check the key does not follow);
    - `body`: a 200 with `body` verbatim (JSON of the wrong shape, say);
    - `rewrite`: the real answer, its JSON passed through `rewrite` first (a field removed or
      retyped, a record repeated, a `next` link pointing back, a total that moved).

    `path`, `query` and `after` choose which requests it hits: only that path, only requests
    whose query has those values, and only once `after` matching requests went through untouched.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    action: FaultAction | None = None
    delay: float = 0.0
    location: str | None = None
    path: str | None = None
    """Only requests to this path are affected; `None` for any path."""
    query: Mapping[str, str] | None = None
    """Only requests whose query parameters have these values (the last value of each)."""
    after: int = 0
    """Let this many matching requests through untouched before playing the fault."""
    rewrite: Rewrite | None = None
    """For `action="rewrite"`: turns the real answer's JSON into the JSON to send."""

    def matches(self, path: str, query: Mapping[str, list[str]]) -> bool:
        """Whether a request to ``path`` with ``query`` is one this fault is aimed at."""
        if self.path is not None and self.path != path:
            return False
        if self.query is not None:
            for name, value in self.query.items():
                values = query.get(name)
                if not values or values[-1] != value:
                    return False
        return True


class Budget:
    """A vendor's request budget, enforced the way vendors document it.

    So many requests per fixed window, each answer saying what is left (`X-RateLimit-Limit`,
    `-Remaining`, and `-Reset` as a Unix timestamp), and 429 with `Retry-After` once it is spent.

    With ``headers=False`` the budget is enforced all the same but answers say nothing of it,
    as with a vendor that documents a budget only on its pricing page. Thread-safe.
    """

    def __init__(
        self,
        requests: int,
        per_seconds: float,
        *,
        headers: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.requests = requests
        self.per_seconds = per_seconds
        self.headers = headers
        self.clock = clock
        self.throttled = 0
        """How many requests were answered 429 because the budget was spent."""
        self._lock = threading.Lock()
        self._window: tuple[int, int] = (-1, 0)  # (window index, requests counted in it)

    def charge(self) -> tuple[dict[str, str], float | None]:
        """Count one arriving request: the headers to send, and `Retry-After` seconds if over."""
        now = self.clock()
        window = int(now // self.per_seconds)
        with self._lock:
            current, used = self._window
            used = used + 1 if current == window else 1
            self._window = (window, used)
            over = used > self.requests
            self.throttled += over
        reset = (window + 1) * self.per_seconds
        headers = (
            {
                "X-RateLimit-Limit": str(self.requests),
                "X-RateLimit-Remaining": str(max(0, self.requests - used)),
                "X-RateLimit-Reset": str(int(reset)),
            }
            if self.headers
            else {}
        )
        return headers, (max(1.0, math.ceil(reset - now)) if over else None)


class Faults:
    """A thread-safe script of faults, consumed in order by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: list[list[Any]] = []  # [fault, remaining or None for forever, to skip]
        self.latency = 0.0
        """Seconds added to every response."""
        self.jitter = 0.0
        """Up to this many seconds more, at random, on every response: with several requests
        in flight, answers then overtake each other."""
        self._random = random.Random(0)

    def delay(self) -> float:
        """Seconds to hold the next response: the latency and a draw of the jitter."""
        if not self.jitter:
            return self.latency
        with self._lock:
            return self.latency + self._random.uniform(0, self.jitter)

    def add(self, fault: Fault, times: int | None = 1) -> None:
        """Play ``fault`` on the next ``times`` matching requests (`None`: on every one)."""
        with self._lock:
            self._script.append([fault, times, fault.after])

    def clear(self) -> None:
        """Forget every scripted fault."""
        with self._lock:
            self._script.clear()

    def take(self, path: str, query: Mapping[str, list[str]] | None = None) -> Fault | None:
        """The fault for a request to ``path`` (with ``query``), if any, consuming one use of it."""
        with self._lock:
            for entry in self._script:
                fault, remaining, skip = entry
                if not fault.matches(path, query or {}):
                    continue
                if skip > 0:
                    entry[2] -= 1
                    return None
                if remaining is not None:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._script.remove(entry)
                return fault  # type: ignore[no-any-return]
        return None

    @property
    def pending(self) -> int:
        """Scripted faults not played yet (a fault played forever counts while it is scripted)."""
        with self._lock:
            return len(self._script)


class Emulator(ABC):
    """A vendor API's behaviour, without the server. Subclass per vendor."""

    name = "emulator"
    budget: Budget | None = None
    """The request budget the server enforces on authorized requests; `None` for none."""

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key

    @property
    def credentials(self) -> dict[str, str]:
        """What a client needs to be let in, by `Credential` name (the demo connects with it)."""
        return {"api_key": self.api_key}

    def authorized(self, request: EmulatorRequest) -> bool:
        """Whether the request carries the key (Bearer by default)."""
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    def unauthorized(self, request: EmulatorRequest) -> EmulatorResponse:
        """The vendor's answer to a missing or wrong key."""
        return json_response(
            {"error": "Unauthorized", "message": "Invalid or missing API key"}, 401
        )

    def error(self, status: int, request: EmulatorRequest) -> EmulatorResponse:
        """The vendor's error body for a scripted status."""
        return json_response(
            {"error": {"code": f"http_{status}", "message": "injected fault"}}, status
        )

    @abstractmethod
    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer an authorized request."""


class EmulatorServer:
    """Serves an `Emulator` on loopback in a background thread."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.faults = Faults()
        self.requests: list[EmulatorRequest] = []
        """Every request received, in order (tests count and inspect them)."""
        self._lock = threading.Lock()
        self._server = _QuietServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Start serving in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def record(self, request: EmulatorRequest) -> None:
        """Keep ``request`` in `requests` (called by the server for each request)."""
        with self._lock:
            self.requests.append(request)


class _QuietServer(ThreadingHTTPServer):
    """Ignores clients that hang up mid-answer (a timed-out client, a reset): expected here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


def _handler_for(server: EmulatorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            host = self.headers.get("Host") or server.base_url.removeprefix("http://")
            length = int(self.headers.get("Content-Length") or 0)
            request = EmulatorRequest(
                method=method,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                origin=f"http://{host}",
                body=self.rfile.read(length) if length else b"",
            )
            server.record(request)
            if delay := server.faults.delay():
                time.sleep(delay)
            fault = server.faults.take(request.path, request.query)
            if fault is not None and fault.action == "reset":
                self._reset()
                return
            if fault is not None and fault.action == "hang":
                time.sleep(fault.delay)
            response = self._answer(request, fault)
            action = fault.action if fault is not None else None
            self._send(
                response, truncate=action == "truncate", drip=fault if action == "drip" else None
            )

        def _answer(self, request: EmulatorRequest, fault: Fault | None) -> EmulatorResponse:
            emulator = server.emulator
            if fault is not None:
                if fault.status is not None:
                    response = (
                        EmulatorResponse(
                            fault.status, fault.body, {"Content-Type": "application/json"}
                        )
                        if fault.body is not None
                        else emulator.error(fault.status, request)
                    )
                    response.headers.update(fault.headers)
                    return response
                if fault.action == "html":
                    page = b"<!doctype html><html><body><h1>Service temporarily unavailable</h1></body></html>"
                    return EmulatorResponse(200, page, {"Content-Type": "text/html"})
                if fault.action == "redirect":
                    return EmulatorResponse(302, b"", {"Location": fault.location or "/"})
                if fault.action == "body":
                    return EmulatorResponse(
                        200, fault.body or b"", {"Content-Type": "application/json"}
                    )
            if not emulator.authorized(request):
                return emulator.unauthorized(request)
            budget_headers: dict[str, str] = {}
            if emulator.budget is not None:
                budget_headers, retry_after = emulator.budget.charge()
                if retry_after is not None:
                    response = emulator.error(429, request)
                    response.headers.update(budget_headers)
                    response.headers["Retry-After"] = str(int(retry_after))
                    return response
            response = emulator.handle(request)
            response.headers.update(budget_headers)
            rewrite = fault.rewrite if fault is not None and fault.action == "rewrite" else None
            if rewrite is not None and response.status == 200:
                changed = rewrite(json.loads(response.body), request)
                if not isinstance(changed, bytes):
                    changed = json.dumps(changed, separators=(",", ":")).encode()
                response = EmulatorResponse(response.status, changed, dict(response.headers))
            return response

        def _send(
            self, response: EmulatorResponse, *, truncate: bool, drip: Fault | None = None
        ) -> None:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if drip is not None:
                self.close_connection = True
                for index in range(len(response.body)):
                    self.wfile.write(response.body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(drip.delay)
                return
            if truncate:
                self.wfile.write(response.body[: len(response.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self._reset()
                return
            self.wfile.write(response.body)

        def _reset(self) -> None:
            # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

    return Handler
