"""The async client's connections on asyncio's own streams: over real TLS on loopback, and a
connection given up on while it was being made leaves no socket open.

`tests/tls/cert.pem` is a throwaway self-signed certificate for 127.0.0.1 and localhost, with its
key beside it (`openssl req -x509 -newkey ec ... -days 36500`): it secures nothing but this test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import pytest

from voice_usage._engine import _sockets
from voice_usage._engine._http import AsyncSession
from voice_usage._engine._retry import RetryPolicy
from voice_usage._exceptions import TransportError

TLS = Path(__file__).parent / "tls"
KEY = "vu-test-key-7d1e4b2a9c"
NO_RETRY = RetryPolicy(max_attempts=1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept alive: a second request reuses the connection

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append((self.path, self.headers["authorization"], self.client_address[1]))
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tls_server() -> Iterator[Any]:
    """An HTTPS server on loopback with the throwaway certificate; `seen` lists its requests."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _session(flireo_provider: Any, port: int) -> AsyncSession:
    return AsyncSession(
        flireo_provider, api_key=KEY, base_url=f"https://127.0.0.1:{port}/v1", retry=NO_RETRY
    )


def test_two_requests_over_one_tls_connection_on_asyncios_streams(
    tls_server, flireo_provider, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "cert.pem"))  # trust the test's certificate
    port = tls_server.server_address[1]

    async def main() -> tuple[list[bytes], list[Any]]:
        session = _session(flireo_provider, port)
        try:
            first = await session.get("logs", {"page": 1})
            second = await session.get("logs", {"page": 2})
            pool = session._client._transport._pool  # type: ignore[attr-defined]
            streams = [c._connection._network_stream for c in pool.connections]
            versions = [s.get_extra_info("ssl_object").version() for s in streams]
            kinds = [type(s) for s in streams]
        finally:
            await session.aclose()
        return [first.content, second.content], [versions, kinds]

    contents, (versions, kinds) = asyncio.run(main())
    assert contents == [b'{"path": "/v1/logs?page=1"}', b'{"path": "/v1/logs?page=2"}']
    assert kinds == [_sockets._AsyncioStream]
    assert versions[0] in {"TLSv1.2", "TLSv1.3"}
    # The key went over TLS, both requests on the one connection (the same client port).
    assert [(p, a) for p, a, _ in tls_server.seen] == [
        ("/v1/logs?page=1", f"Bearer {KEY}"),
        ("/v1/logs?page=2", f"Bearer {KEY}"),
    ]
    assert len({port for _, _, port in tls_server.seen}) == 1


def test_a_certificate_nobody_trusts_is_refused_before_the_key_is_sent(
    tls_server, flireo_provider, monkeypatch
):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    port = tls_server.server_address[1]

    async def main() -> None:
        session = _session(flireo_provider, port)
        try:
            await session.get("logs")
        finally:
            await session.aclose()

    with pytest.raises(TransportError, match=f"could not connect to https://127.0.0.1:{port}"):
        asyncio.run(main())
    assert tls_server.seen == []


def test_a_connection_made_just_as_it_is_given_up_on_is_closed(monkeypatch):
    """The request is cancelled (its walk stopped, a deadline passed) in the moment its socket
    connected: the socket is closed, not dropped open (asyncio's own race drops it)."""
    connected: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        async def main() -> None:
            loop = asyncio.get_running_loop()
            real_connect = loop.sock_connect
            giving_up = asyncio.current_task()
            assert giving_up is not None

            async def connect_then_given_up(sock: socket.socket, address: Any) -> None:
                await real_connect(sock, address)
                connected.append(sock)
                giving_up.cancel()

            monkeypatch.setattr(loop, "sock_connect", connect_then_given_up)
            backend = _sockets._Backend(httpcore.AnyIOBackend())
            with pytest.raises(asyncio.CancelledError):
                await backend.connect_tcp("127.0.0.1", port, timeout=5)

        asyncio.run(main())
        assert len(connected) == 1
        assert connected[0].fileno() == -1  # closed
        accepted, _ = listener.accept()
        with accepted:
            accepted.settimeout(5)
            assert accepted.recv(1) == b""  # the server sees the close, not a socket left open


def test_a_refused_connection_is_a_connect_error_naming_the_cause():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # free once closed: nothing listens there

    async def main() -> None:
        backend = _sockets._Backend(httpcore.AnyIOBackend())
        await backend.connect_tcp("127.0.0.1", port, timeout=5)

    with pytest.raises(
        httpcore.ConnectError, match=rf"Connect call failed \('127.0.0.1', {port}\)"
    ):
        asyncio.run(main())


@pytest.fixture
def flireo_provider() -> Any:
    from voice_usage import load_registry

    return load_registry().get("flireo")
