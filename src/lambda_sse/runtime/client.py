"""Runtime API clients: a blocking one (no asyncio: sync handlers) and an asyncio one.

Both are thin shells over the sans-IO exchange in :mod:`lambda_sse.runtime.exchange` (the request
bytes, reading and checking the reply, the one retry on a stale kept-alive connection): each
only connects, sends, receives and closes (see :mod:`lambda_sse.runtime.steps`).
"""

from __future__ import annotations

import _socket  # socket.py's enums and selectors cost ~2 ms at each cold start

from lambda_sse.runtime.exchange import (
    API,
    CONNECT,
    RECV,
    SEND,
    NextInvocation,
    answer_headers,
    call,
    error_call,
    finish_stream,
    init_error_call,
    next_call,
    parse_address,
    response_call,
)
from lambda_sse.runtime.steps import drive, drive_async

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    import asyncio
    import socket
    from typing import Any

    from lambda_sse.runtime.exchange import Call
    from lambda_sse.runtime.steps import Step

__all__ = [
    "API",
    "AsyncRuntimeClient",
    "AsyncStreamSink",
    "BlockingStreamSink",
    "NextInvocation",
    "RuntimeClient",
    "answer_headers",
    "parse_address",
]

_RECV = 256 * 1024


def _ipv4_literal(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def _connect(host: str, port: int, blocking: bool) -> _socket.socket:
    sock: _socket.socket
    if _ipv4_literal(host):
        # Lambda's AWS_LAMBDA_RUNTIME_API is an IPv4 literal: connect without getaddrinfo, whose
        # str host costs an import of the idna codec at every cold start.
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        try:
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
    else:
        import socket

        sock = socket.create_connection((host, port))
    # Small writes (one SSE event each) must leave at once, not wait for Nagle.
    sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    sock.setblocking(blocking)
    return sock


# -- blocking ------------------------------------------------------------------------------------


class _BlockingSocket:
    """Performs the exchange's steps on one blocking socket, connected on demand."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._sock: _socket.socket | None = None

    def perform(self, step: Step) -> bytes | None:
        op, data = step
        if op == RECV:
            assert self._sock is not None
            return self._sock.recv(_RECV)
        if op == SEND:
            assert self._sock is not None
            self._sock.sendall(data)
        elif op == CONNECT:
            self._sock = _connect(self._host, self._port, blocking=True)
        else:
            self.close()
        return None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class BlockingStreamSink(_BlockingSocket):
    """The socket of one streamed response (a new connection, closed afterwards)."""

    @property
    def sock(self) -> _socket.socket | None:
        """The connected socket (blocking), once the first bytes went out."""
        return self._sock

    def send(self, data: bytes) -> None:
        if not data:
            return
        if self._sock is None:
            self._sock = _connect(self._host, self._port, blocking=True)
        self._sock.sendall(data)

    def finish(self) -> None:
        """Read the Runtime API's answer to the whole body, then close."""
        if self._sock is not None:
            drive(finish_stream(), self.perform)

    def abort(self) -> None:
        self.close()


class RuntimeClient:
    """Blocking client; one kept-alive connection for /next and buffered posts."""

    def __init__(self, address: str) -> None:
        self.host, self.port = parse_address(address)
        self.address = address.strip()
        self._conn = _BlockingSocket(self.host, self.port)

    def _call(self, spec: Call) -> Any:
        return drive(call(spec, self._conn._sock is not None), self._conn.perform)

    def next(self) -> NextInvocation:
        return self._call(next_call(self.address))  # type: ignore[no-any-return]

    def post_response(
        self,
        request_id: str,
        body: bytes,
        content_type: str = "application/json",
        invocation_id: str | None = None,
    ) -> None:
        self._call(response_call(self.address, request_id, body, content_type, invocation_id))

    def post_error(
        self,
        request_id: str,
        doc: dict[str, Any],
        error_type: str,
        xray_cause: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        spec = error_call(self.address, request_id, doc, error_type, xray_cause, invocation_id)
        self._call(spec)

    def post_init_error(self, doc: dict[str, Any], error_type: str) -> None:
        self._call(init_error_call(self.address, doc, error_type))

    def stream_sink(self) -> BlockingStreamSink:
        return BlockingStreamSink(self.host, self.port)

    def close(self) -> None:
        self._conn.close()


# -- asyncio: non-blocking sockets driven by the loop's sock_* calls (no transports, so a write
# that fits the socket buffer costs one send() and no task switch) -------------------------------


async def _aconnect(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    import socket  # asyncio has imported it already

    addr: tuple[Any, ...]
    if _ipv4_literal(host):
        family, kind, proto, addr = socket.AF_INET, socket.SOCK_STREAM, 0, (host, port)
    else:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, addr)
    except BaseException:
        sock.close()
        raise
    return sock


class _AsyncSocket:
    """Async twin of :class:`_BlockingSocket`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        self._loop = loop
        self._host = host
        self._port = port
        self._sock: socket.socket | None = None

    async def perform(self, step: Step) -> bytes | None:
        op, data = step
        if op == RECV:
            assert self._sock is not None
            return await self._loop.sock_recv(self._sock, _RECV)
        if op == SEND:
            assert self._sock is not None
            await self._loop.sock_sendall(self._sock, data)
        elif op == CONNECT:
            self._sock = await _aconnect(self._loop, self._host, self._port)
        else:
            self.close()
        return None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class AsyncStreamSink(_AsyncSocket):
    """Async twin of :class:`BlockingStreamSink`."""

    @property
    def sock(self) -> socket.socket | None:
        """The connected socket (non-blocking), once the first bytes went out."""
        return self._sock

    async def send(self, data: bytes) -> None:
        if not data:
            return
        if self._sock is None:
            self._sock = await _aconnect(self._loop, self._host, self._port)
        await self._loop.sock_sendall(self._sock, data)

    async def finish(self) -> None:
        if self._sock is not None:
            await drive_async(finish_stream(), self.perform)

    def abort(self) -> None:
        self.close()


class AsyncRuntimeClient(_AsyncSocket):
    """Async client for one worker: its own kept-alive connection for /next and buffered
    posts (Managed Instances run several workers, each with a client)."""

    def __init__(self, address: str, loop: asyncio.AbstractEventLoop) -> None:
        host, port = parse_address(address)
        super().__init__(loop, host, port)
        self.host, self.port = host, port
        self.address = address.strip()

    async def _call(self, spec: Call) -> Any:
        return await drive_async(call(spec, self._sock is not None), self.perform)

    async def next(self) -> NextInvocation:
        return await self._call(next_call(self.address))  # type: ignore[no-any-return]

    async def post_response(
        self,
        request_id: str,
        body: bytes,
        content_type: str = "application/json",
        invocation_id: str | None = None,
    ) -> None:
        await self._call(response_call(self.address, request_id, body, content_type, invocation_id))

    async def post_error(
        self,
        request_id: str,
        doc: dict[str, Any],
        error_type: str,
        xray_cause: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        spec = error_call(self.address, request_id, doc, error_type, xray_cause, invocation_id)
        await self._call(spec)

    async def post_init_error(self, doc: dict[str, Any], error_type: str) -> None:
        await self._call(init_error_call(self.address, doc, error_type))

    def stream_sink(self) -> AsyncStreamSink:
        return AsyncStreamSink(self._loop, self.host, self.port)
