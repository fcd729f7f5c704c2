"""The HTTP/1.1 shell of the front doors: asyncio streams plus h11.

One coroutine per connection reads a request (head and body under limits), hands it to the
door as a :class:`Request` and gives the door a :class:`Responder` that writes either a whole
body or a chunked stream, chunk by chunk, and can cut the connection without the final chunk
(what API Gateway does when a stream times out). h11 keeps the framing right; the loop owns the
sockets, so thousands of idle streams cost one coroutine each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

import h11

from lambda_sse.errors import LambdaSSEError
from lambda_sse.local.frontdoor.replies import Reply
from lambda_sse.local.frontdoor.request import Request

__all__ = ["ClientGone", "Door", "Limits", "Listener", "RequestTooLarge", "Responder", "serve"]

log = logging.getLogger("lambda_sse.local")
_READ = 64 * 1024
_DISCARD_BYTES = 64 * 1024 * 1024
_DISCARD_SECONDS = 5.0


class ClientGone(LambdaSSEError):
    """The client closed the connection while the reply was being written."""


@dataclass(frozen=True)
class Limits:
    """Request size limits and how the door answers them."""

    max_head: int  # request line plus headers
    max_body: int
    head_reply: Reply
    body_reply: Reply
    # Another answer for some paths (the Lambda API's on the REST port), by request target.
    body_reply_for: Callable[[str], Reply | None] | None = None

    def too_large(self, target: bytes) -> Reply:
        if self.body_reply_for is not None:
            reply = self.body_reply_for(target.decode("latin-1"))
            if reply is not None:
                return reply
        return self.body_reply


class RequestTooLarge(LambdaSSEError):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


class Responder:
    """Writes one response on a connection."""

    def __init__(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, *, head_only: bool = False
    ) -> None:
        self._conn = conn
        self._writer = writer
        self._head_only = head_only  # a HEAD request: the head goes out, never a body
        self.started = False
        self.aborted = False
        self.bytes_sent = 0
        self.status = 0
        self._chunked = False

    def _write(self, event: h11.Event) -> None:
        data = self._conn.send(event)
        if data:
            if self._writer.is_closing():
                raise ClientGone()
            self._writer.write(data)

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise ClientGone() from exc

    async def reply(self, reply: Reply) -> None:
        """A whole response with Content-Length."""
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        self._start(reply.status, headers)
        if reply.body and not self._head_only:
            self._write(h11.Data(data=reply.body))
            self.bytes_sent += len(reply.body)
        self._write(h11.EndOfMessage())
        await self._drain()

    def _start(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.started = True
        self.status = status
        encoded = [(n.encode("latin-1"), v.encode("latin-1", "replace")) for n, v in headers]
        self._write(h11.Response(status_code=status, headers=encoded, reason=_reason(status)))

    async def start_stream(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Start a chunked response; send the head at once so clients see it immediately."""
        self._start(status, [*headers, ("Transfer-Encoding", "chunked")])
        self._chunked = True
        await self._drain()

    async def send(self, data: bytes) -> None:
        if not data or self._head_only:
            return
        self.bytes_sent += len(data)
        if self._chunked:
            # The hot path of a stream: frame the chunk here (RFC 9112 section 7.1) instead of
            # through h11, which stays in SEND_BODY and writes the last chunk at end().
            if self._writer.is_closing():
                raise ClientGone()
            self._writer.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self._write(h11.Data(data=data))
        await self._drain()

    async def end(self) -> None:
        self._write(h11.EndOfMessage())
        await self._drain()

    def abort(self) -> None:
        """Close the connection without the final chunk: the client sees a truncated body."""
        self.aborted = True
        with contextlib.suppress(Exception):
            self._writer.transport.abort()

    @property
    def client_gone(self) -> bool:
        return self._writer.is_closing()


Door = Callable[[Request, Responder], Awaitable[None]]


async def _read_request(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    limits: Limits,
) -> Request | None:
    head: h11.Request | None = None
    body = bytearray()
    fed = len(conn.trailing_data[0])  # bytes of a pipelined request already buffered
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            if conn.they_are_waiting_for_100_continue and head is not None:
                writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            data = await reader.read(_READ)
            fed += len(data)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            head = event
            if fed - len(conn.trailing_data[0]) > limits.max_head:
                raise RequestTooLarge(limits.head_reply)
            length = _content_length(event)
            if length is not None and length > limits.max_body:
                raise RequestTooLarge(limits.too_large(event.target))
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > limits.max_body:
                raise RequestTooLarge(limits.too_large(head.target if head else b""))
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            peer = writer.get_extra_info("peername")
            return Request(
                method=head.method.decode("ascii").upper(),
                target=head.target.decode("latin-1"),
                # raw_items keeps the names as the client cased them (API Gateway does too).
                headers=tuple(
                    (n.decode("latin-1"), v.decode("latin-1")) for n, v in head.headers.raw_items()
                ),
                body=bytes(body),
                source_ip=str(peer[0]) if peer else "127.0.0.1",
                http_version=head.http_version.decode("ascii"),
            )
        elif isinstance(event, h11.ConnectionClosed):
            return None
        else:  # pragma: no cover - h11 yields nothing else to a server before EndOfMessage
            return None


def _content_length(event: h11.Request) -> int | None:
    for name, value in event.headers:
        if name == b"content-length":
            with contextlib.suppress(ValueError):
                return int(value)
    return None


async def _connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, door: Door, limits: Limits
) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_head + _READ)
    try:
        while True:
            try:
                request = await _read_request(conn, reader, writer, limits)
            except RequestTooLarge as exc:
                await _refuse(conn, writer, exc.reply)
                await _discard(reader)
                return
            except h11.RemoteProtocolError as exc:
                reply = limits.head_reply if exc.error_status_hint == 431 else _bad_request()
                await _refuse(conn, writer, reply)
                await _discard(reader)
                return
            if request is None:
                return
            responder = Responder(conn, writer, head_only=request.method == "HEAD")
            try:
                await door(request, responder)
            except ClientGone:
                return
            except Exception:
                # A bug of the emulator, not of the function: say so, answer 500 if we still can.
                log.exception(
                    "lambda-sse dev: error while serving %s %s", request.method, request.target
                )
                if not responder.started:
                    await _refuse(conn, writer, _internal_error())
                return
            if responder.aborted or conn.our_state is not h11.DONE:
                return
            if conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _discard(reader: asyncio.StreamReader) -> None:
    """Read what the client still sends (bounded) so that closing does not reset the
    connection before it has read our answer."""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(_DISCARD_SECONDS):
            for _ in range(_DISCARD_BYTES // _READ):
                if not await reader.read(_READ):
                    return


def _internal_error() -> Reply:
    return Reply(
        500, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'
    )


def _bad_request() -> Reply:
    return Reply(400, [("Content-Type", "text/plain")], b"Bad Request")


async def _refuse(conn: h11.Connection, writer: asyncio.StreamWriter, reply: Reply) -> None:
    """Answer a request we will not read further (h11 may be in its error state: the bytes are
    written directly), then close."""
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    lines = [f"HTTP/1.1 {reply.status} {_reason(reply.status).decode()}"]
    lines += [f"{name}: {value}" for name, value in reply.headers]
    lines += [f"Content-Length: {len(reply.body)}", "Connection: close", "", ""]
    with contextlib.suppress(ConnectionError):
        writer.write("\r\n".join(lines).encode("latin-1") + reply.body)
        await writer.drain()


class Listener:
    """A listening socket and its open connections; :meth:`close` cuts them all."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[object]] = set()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.connections):
            writer.transport.abort()
        if self.server is not None:
            await self.server.wait_closed()
        # Connections waiting on a function are cancelled (the pool stops the functions).
        tasks = [task for task in self.tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def serve(host: str, port: int, door: Door, limits: Limits) -> Listener:
    """Listen on ``host:port``; every connection is served by ``door``."""
    listener = Listener()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The work runs in its own task so that close() can cancel it without asyncio's
        # stream callback reporting the cancellation as an error.
        task: asyncio.Task[object] = asyncio.ensure_future(
            _connection(reader, writer, door, limits)
        )
        listener.connections.add(writer)
        listener.tasks.add(task)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
        finally:
            listener.connections.discard(writer)
            listener.tasks.discard(task)

    listener.server = await asyncio.start_server(on_connect, host, port, limit=_READ, backlog=4096)
    return listener
