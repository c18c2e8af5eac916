"""The asynchronous client's pooled connections, checked for a closed socket at less cost.

Before each request, and as each answer is closed, httpcore asks every idle pooled connection
whether its socket is readable (a server that closed a kept-alive connection makes it so). Its
anyio stream answers by building a table of the socket's attributes, a `getpeername` system call
among them, to find the socket again each time: an eighth of a sync's CPU with eight connections
and small pages. `faster_idle_checks` wraps the streams of an `httpx.AsyncClient`'s own pool
so that each looks its socket up once, when it connects, and checks it the same way after.

This reaches into httpx's transport (`_pool`) and httpcore's pool (`_network_backend`), which are
not public: when either is not found (another version, a transport of the caller's), nothing is
changed, and only the speed differs.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx
from httpcore import _utils as _httpcore_utils

_is_socket_readable: Callable[[socket.socket | None], bool] | None = getattr(
    _httpcore_utils, "is_socket_readable", None
)
"""httpcore's own check of a socket (a read would return at once), called on the socket
looked up once instead of through anyio's table of attributes."""

__all__ = ["faster_idle_checks"]


def faster_idle_checks(client: httpx.AsyncClient) -> bool:
    """Wrap the network streams of ``client``'s own connection pool; True when it was done."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if (
        _is_socket_readable is None
        or not isinstance(pool, httpcore.AsyncConnectionPool)
        or not isinstance(backend, httpcore.AsyncNetworkBackend)
    ):
        return False
    if not isinstance(backend, _Backend):
        pool._network_backend = _Backend(backend)
    return True


class _Stream(httpcore.AsyncNetworkStream):
    """A stream whose socket is looked up once; everything else is the wrapped stream's."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None and _is_socket_readable:
            return _is_socket_readable(self._socket)
        return self._stream.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """The pool's own backend, handing out `_Stream`s."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(
            await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
