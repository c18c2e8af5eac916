"""The async client's pooled connections check a socket for a server's close the way httpcore
does, without anyio's table of socket attributes each time; one TLS context for many sessions."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpcore
import httpx
import pytest

from voice_usage._engine import _http
from voice_usage._engine._http import AsyncSession, shared_tls_context
from voice_usage._engine._sockets import _Backend, _Stream, faster_connections


class _SocketOnly(httpcore.AsyncNetworkStream):
    """A wrapped stream that knows its socket and nothing else: asked anything more, it fails."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> Any:
        assert info == "socket", f"the wrapped stream was asked for {info!r}"
        return self.sock


def test_a_socket_is_readable_once_data_or_the_peers_close_is_waiting():
    ours, theirs = socket.socketpair()
    stream = _Stream(_SocketOnly(ours))  # the socket is looked up here, once

    def readable() -> bool:
        return bool(stream.get_extra_info("is_readable"))

    with ours, theirs:
        assert not readable()  # idle: a kept-alive connection as it should be
        theirs.sendall(b"x")
        assert readable()
        ours.recv(1)
        assert not readable()
        theirs.close()  # the server closed it: the next read returns b""
        assert readable()
    assert readable()  # closed here: no file descriptor, as httpcore treats it


def test_the_sessions_own_pool_hands_out_the_quicker_streams(flireo_provider):
    session = AsyncSession(flireo_provider, api_key="sk-test", base_url="https://api.example.com")
    pool = session._client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool._network_backend, _Backend)
    # Asked again (another wrap), it is not wrapped twice.
    assert faster_connections(session._client)
    assert not isinstance(pool._network_backend._backend, _Backend)


def test_a_transport_of_the_callers_is_left_alone(flireo_provider):
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    session = AsyncSession(
        flireo_provider, api_key="sk-test", base_url="https://api.example.com", transport=transport
    )
    assert session._client._transport is transport
    assert not faster_connections(session._client)


def test_sessions_started_at_once_build_one_tls_context(monkeypatch):
    built = []
    real = _http.httpx.create_ssl_context
    start = threading.Barrier(8)

    def create(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_http.httpx, "create_ssl_context", create)
    _http._tls_context.cache_clear()
    contexts = []

    def first_use() -> None:
        start.wait(5)
        contexts.append(shared_tls_context())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    _http._tls_context.cache_clear()
    assert len(built) == 1
    assert len({id(context) for context in contexts}) == 1


@pytest.fixture
def flireo_provider():
    from voice_usage import load_registry

    return load_registry().get("flireo")
