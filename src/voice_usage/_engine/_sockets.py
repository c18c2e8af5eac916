"""The asynchronous client's connections, on asyncio's own streams, checked for a close cheaply.

httpcore reaches the network through anyio, whose every read and write pays for a cancel scope
and its timer, a task lookup, and a reading transport paused and resumed; its connect starts a
task group. With our small pages that was a quarter of the request's CPU. `faster_connections`
gives an `httpx.AsyncClient`'s own pool a backend that, under asyncio, connects its own socket
(`_connected_socket`) and reads and writes asyncio's streams directly, with the same timeouts and
the same httpcore exceptions as anyio's backend (`ConnectError`, `ReadTimeout`...); TLS is
started on the stream (`StreamWriter.start_tls`), and a close drops the connection at once, as
httpcore's use of anyio does (no TLS close_notify awaited).

Before each request, and as each answer is closed, httpcore asks every idle pooled connection
whether its socket is readable (a server that closed a kept-alive connection makes it so): the
streams answer from the socket they looked up once, with httpcore's own check.

Under another event loop library (trio), and for Unix sockets, the pool's own backend serves,
its streams wrapped only for that check. This reaches into httpx's transport (`_pool`) and
httpcore's pool (`_network_backend`), which are not public: when either is not found (another
version, a transport of the caller's), nothing is changed, and only the speed differs.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from asyncio import staggered
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

__all__ = ["faster_connections"]


def faster_connections(client: httpx.AsyncClient) -> bool:
    """Give ``client``'s own connection pool a `_Backend`; True when it was done."""
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


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection on asyncio's streams, raising what httpcore's anyio streams raise."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._socket: Any = writer.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)  # b"" once the server closed it
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out reading the response") from None
        except OSError as exc:
            raise httpcore.ReadError(_described(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()  # raises once the connection is lost
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out sending the request") from None
        except OSError as exc:
            raise httpcore.WriteError(_described(exc)) from exc

    async def aclose(self) -> None:
        # As anyio closes a socket stream: closed, one turn of the loop to flush, then dropped
        # (for TLS, without waiting for the server's close_notify).
        transport = self._writer.transport
        if not transport.is_closing():
            transport.close()
            await asyncio.sleep(0)
        transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except OSError as exc:  # ssl.SSLError among them: a certificate refused
            await self.aclose()
            raise httpcore.ConnectError(_described(exc)) from exc
        except BaseException:
            await self.aclose()
            raise
        return _AsyncioStream(self._reader, self._writer)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and _is_socket_readable is not None:
            return _is_socket_readable(self._socket)
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._socket
        return None


class _Protocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, but a server's close closes the connection, as under anyio.

    asyncio keeps a plain connection half-open once the server has closed its side; the socket
    then stays open until httpcore closes the connection, which it does not do for one it drops
    on a cancelled request. The data already received is still read first.
    """

    def eof_received(self) -> bool:
        super().eof_received()
        return False


_READ_LIMIT = 2**16
"""Bytes buffered before asyncio stops reading the socket (`asyncio.open_connection`'s own)."""

_HAPPY_EYEBALLS_DELAY = 0.25
"""Seconds before the next address is tried alongside the first (anyio's `connect_tcp` too)."""


def _described(exc: OSError) -> str:
    """An OS error's own words for the httpcore error raised in its place (some have none)."""
    return str(exc) or type(exc).__name__


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # trio, or no loop: the pool's own backend
        return False
    return True


async def _connected_socket(host: str, port: int, local_address: str | None) -> socket.socket:
    """A socket connected to ``host``, its addresses tried as anyio and asyncio try them.

    The addresses are raced, each started `_HAPPY_EYEBALLS_DELAY` after the one before unless
    that one failed sooner (RFC 8305). asyncio's own race (`create_connection` with
    ``happy_eyeballs_delay``) drops a socket that connected just as the connect was cancelled,
    unclosed (a request given up on while its connection was being made): here every socket
    opened is closed unless it is the one handed back.
    """
    loop = asyncio.get_running_loop()
    infos = _numeric_address(host, port) or await loop.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    )
    if not infos:
        raise OSError(f"getaddrinfo({host!r}) returned no addresses")
    opened: list[socket.socket] = []

    async def attempt(info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, address = info
        sock = socket.socket(family, kind, proto)
        opened.append(sock)
        sock.setblocking(False)
        if local_address is not None:
            sock.bind((local_address, 0))
        await loop.sock_connect(sock, address)
        return sock

    winner: socket.socket | None = None
    try:
        if len(infos) == 1:  # nothing to race
            winner = await attempt(infos[0])
            return winner
        winner, _, errors = await staggered.staggered_race(
            [functools.partial(attempt, info) for info in infos], _HAPPY_EYEBALLS_DELAY
        )
    finally:
        for sock in opened:
            if sock is not winner:
                sock.close()
    if winner is None:
        failures = [e for e in errors if e is not None]
        if len(failures) == 1 or len({str(e) for e in failures}) == 1:
            raise failures[0]
        raise OSError(f"could not connect to {host}:{port}: " + "; ".join(map(str, failures)))
    return winner


def _numeric_address(host: str, port: int) -> list[tuple[Any, ...]]:
    """The one address of a numeric host (no lookup, so no resolver thread), else nothing."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return []
    if ip.version == 4:
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
    return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port, 0, 0))]


class _Backend(httpcore.AsyncNetworkBackend):
    """Connections on asyncio's streams under asyncio; the pool's own backend elsewhere."""

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
        if not _on_asyncio():
            return _Stream(
                await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
            )
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_READ_LIMIT, loop=loop)
        try:
            async with asyncio.timeout(timeout):
                sock = await _connected_socket(host, port, local_address)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # refused, unreachable, a name that does not resolve
            raise httpcore.ConnectError(_described(exc)) from exc
        try:
            transport, protocol = await loop.create_connection(
                lambda: _Protocol(reader, loop=loop), sock=sock
            )
        except BaseException:
            sock.close()  # cancelled before the transport took the socket over
            raise
        stream = _AsyncioStream(reader, asyncio.StreamWriter(transport, protocol, reader, loop))
        try:
            for option in socket_options or ():  # as httpcore's anyio backend sets them
                stream._socket.setsockopt(*option)
        except OSError as exc:
            await stream.aclose()
            raise httpcore.ConnectError(_described(exc)) from exc
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        if _on_asyncio():
            await asyncio.sleep(seconds)
        else:
            await self._backend.sleep(seconds)
