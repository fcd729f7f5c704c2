"""Runtime API clients: a blocking one (no asyncio: sync handlers) and an asyncio one.

Endpoints (docs: runtimes-api.html): GET /runtime/invocation/next, POST .../{id}/response and
.../{id}/error, POST /runtime/init/error. GET /next is a long poll and has no timeout. A 500 means
the container is broken and the runtime must exit; callers get a :class:`RuntimeAPIError` with
``status`` set.
"""

from __future__ import annotations

import _socket  # socket.py's enums and selectors cost ~2 ms at each cold start
import json

from lambda_sse.aws import (
    ERROR_CONTENT_TYPE,
    ERROR_TYPE_HEADER,
    INVOCATION_ID_HEADER,
    RUNTIME_API_PREFIX,
    XRAY_CAUSE_HEADER,
    XRAY_CAUSE_LIMIT,
)
from lambda_sse.errors import RuntimeAPIError
from lambda_sse.runtime.http import ResponseParser, encode_request

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    import asyncio
    import socket
    from typing import Any

__all__ = [
    "AsyncRuntimeClient",
    "NextInvocation",
    "RuntimeClient",
    "parse_address",
]

API = RUNTIME_API_PREFIX
_RECV = 256 * 1024


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` as in AWS_LAMBDA_RUNTIME_API."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RuntimeAPIError(
            f"AWS_LAMBDA_RUNTIME_API must be HOST:PORT (e.g. 127.0.0.1:9001), got {address!r}"
        )
    return host.strip("[]"), int(port)


class NextInvocation:
    """What GET /next answered. (A plain class: ``dataclasses`` imports ``inspect``, which
    costs milliseconds at every cold start.)"""

    __slots__ = (
        "client_context",
        "cognito_identity",
        "deadline_ms",
        "event",
        "function_arn",
        "invocation_id",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        function_arn: str,
        event: bytes,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        self.request_id = request_id
        # One attempt of the request (Managed Instances); echoed on the answer, as awslambdaric.
        self.invocation_id = invocation_id
        self.deadline_ms = deadline_ms
        self.function_arn = function_arn
        self.event = event
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id


def _parse_next(reply: ResponseParser) -> NextInvocation:
    _check(reply, "GET /next", expected=200)
    headers = reply.headers
    request_id = headers.get("lambda-runtime-aws-request-id")
    if not request_id:
        raise RuntimeAPIError("GET /next reply has no Lambda-Runtime-Aws-Request-Id", 200)
    try:
        deadline = int(headers.get("lambda-runtime-deadline-ms", "0"))
    except ValueError:
        raise RuntimeAPIError("GET /next reply has a bad Lambda-Runtime-Deadline-Ms") from None
    return NextInvocation(
        request_id=request_id,
        deadline_ms=deadline,
        function_arn=headers.get("lambda-runtime-invoked-function-arn", ""),
        event=reply.body,
        trace_id=headers.get("lambda-runtime-trace-id") or None,
        client_context=headers.get("lambda-runtime-client-context") or None,
        cognito_identity=headers.get("lambda-runtime-cognito-identity") or None,
        tenant_id=headers.get("lambda-runtime-aws-tenant-id") or None,
        invocation_id=headers.get("lambda-runtime-invocation-id") or None,
    )


def _check(reply: ResponseParser, what: str, expected: int = 202) -> None:
    if reply.status == expected:
        return
    detail = reply.body[:500].decode("utf-8", "replace")
    raise RuntimeAPIError(
        f"{what}: the Runtime API answered {reply.status} {reply.reason}: {detail}",
        reply.status,
    )


def answer_headers(invocation_id: str | None) -> list[tuple[str, str]]:
    """Headers every answer to an invocation carries besides its own."""
    return [(INVOCATION_ID_HEADER, invocation_id)] if invocation_id else []


def _error_request(
    path: str,
    host: str,
    doc: dict[str, Any],
    error_type: str,
    xray_cause: str | None = None,
    invocation_id: str | None = None,
) -> bytes:
    body = json.dumps(doc, ensure_ascii=False, default=str).encode()
    headers = [("Content-Type", ERROR_CONTENT_TYPE), (ERROR_TYPE_HEADER, error_type)]
    headers += answer_headers(invocation_id)
    if xray_cause and len(xray_cause) < XRAY_CAUSE_LIMIT:
        headers.append((XRAY_CAUSE_HEADER, xray_cause))
    return encode_request("POST", path, host, body, headers)


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


class _BlockingConnection:
    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._sock: _socket.socket | None = None

    def request(self, data: bytes) -> ResponseParser:
        reused = self._sock is not None
        try:
            return self._request(data)
        except (ConnectionError, RuntimeAPIError):
            self.close()
            if not reused:
                raise
        # A kept-alive connection the peer had closed: one fresh try.
        return self._request(data)

    def _request(self, data: bytes) -> ResponseParser:
        if self._sock is None:
            self._sock = _connect(self._host, self._port, blocking=True)
        sock = self._sock
        sock.sendall(data)
        parser = ResponseParser()
        while True:
            chunk = sock.recv(_RECV)
            if not chunk:
                parser.feed_eof()
                break
            if parser.feed(chunk):
                break
        if not parser.keep_alive:
            self.close()
        return parser

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class BlockingStreamSink:
    """The socket of one streamed response (a new connection, closed afterwards)."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._sock: _socket.socket | None = None

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
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            parser = ResponseParser()
            while True:
                chunk = sock.recv(_RECV)
                if not chunk:
                    parser.feed_eof()
                    break
                if parser.feed(chunk):
                    break
        finally:
            sock.close()
        _check(parser, "POST /response (streaming)")

    def abort(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class RuntimeClient:
    """Blocking client; one kept-alive connection for /next and buffered posts."""

    def __init__(self, address: str) -> None:
        self.host, self.port = parse_address(address)
        self.address = address.strip()
        self._conn = _BlockingConnection(self.host, self.port)

    def next(self) -> NextInvocation:
        return _parse_next(
            self._conn.request(encode_request("GET", f"{API}/invocation/next", self.address))
        )

    def post_response(
        self,
        request_id: str,
        body: bytes,
        content_type: str = "application/json",
        invocation_id: str | None = None,
    ) -> None:
        path = f"{API}/invocation/{request_id}/response"
        headers = [("Content-Type", content_type), *answer_headers(invocation_id)]
        data = encode_request("POST", path, self.address, body, headers)
        _check(self._conn.request(data), "POST /response")

    def post_error(
        self,
        request_id: str,
        doc: dict[str, Any],
        error_type: str,
        xray_cause: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        path = f"{API}/invocation/{request_id}/error"
        data = _error_request(path, self.address, doc, error_type, xray_cause, invocation_id)
        _check(self._conn.request(data), "POST /error")

    def post_init_error(self, doc: dict[str, Any], error_type: str) -> None:
        path = f"{API}/init/error"
        _check(
            self._conn.request(_error_request(path, self.address, doc, error_type)),
            "POST /init/error",
        )

    def stream_sink(self) -> BlockingStreamSink:
        return BlockingStreamSink(self.host, self.port)

    def close(self) -> None:
        self._conn.close()


# ---------------------------------------------------------------------------------------------
# asyncio flavour: non-blocking sockets driven by the loop's sock_* calls (no transports, so a
# write that fits the socket buffer costs one send() and no task switch).


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


async def _aread_reply(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> ResponseParser:
    parser = ResponseParser()
    while True:
        chunk = await loop.sock_recv(sock, _RECV)
        if not chunk:
            parser.feed_eof()
            return parser
        if parser.feed(chunk):
            return parser


class AsyncStreamSink:
    """Async twin of :class:`BlockingStreamSink`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        self._loop = loop
        self._host = host
        self._port = port
        self._sock: socket.socket | None = None

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
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            parser = await _aread_reply(self._loop, sock)
        finally:
            sock.close()
        _check(parser, "POST /response (streaming)")

    def abort(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class AsyncRuntimeClient:
    """Async client for one worker: its own kept-alive connection for /next and buffered
    posts (Managed Instances run several workers, each with a client)."""

    def __init__(self, address: str, loop: asyncio.AbstractEventLoop) -> None:
        self.host, self.port = parse_address(address)
        self.address = address.strip()
        self._loop = loop
        self._sock: socket.socket | None = None

    async def _request(self, data: bytes) -> ResponseParser:
        reused = self._sock is not None
        try:
            return await self._once(data)
        except (ConnectionError, RuntimeAPIError):
            self.close()
            if not reused:
                raise
        return await self._once(data)

    async def _once(self, data: bytes) -> ResponseParser:
        if self._sock is None:
            self._sock = await _aconnect(self._loop, self.host, self.port)
        sock = self._sock
        await self._loop.sock_sendall(sock, data)
        parser = await _aread_reply(self._loop, sock)
        if not parser.keep_alive:
            self.close()
        return parser

    async def next(self) -> NextInvocation:
        return _parse_next(
            await self._request(encode_request("GET", f"{API}/invocation/next", self.address))
        )

    async def post_response(
        self,
        request_id: str,
        body: bytes,
        content_type: str = "application/json",
        invocation_id: str | None = None,
    ) -> None:
        path = f"{API}/invocation/{request_id}/response"
        headers = [("Content-Type", content_type), *answer_headers(invocation_id)]
        data = encode_request("POST", path, self.address, body, headers)
        _check(await self._request(data), "POST /response")

    async def post_error(
        self,
        request_id: str,
        doc: dict[str, Any],
        error_type: str,
        xray_cause: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        path = f"{API}/invocation/{request_id}/error"
        data = _error_request(path, self.address, doc, error_type, xray_cause, invocation_id)
        _check(await self._request(data), "POST /error")

    def stream_sink(self) -> AsyncStreamSink:
        return AsyncStreamSink(self._loop, self.host, self.port)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
