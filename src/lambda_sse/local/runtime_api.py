"""A strict Lambda Runtime API server: one per execution environment, asyncio + h11.

The runtime's own tests, the ASGI tests and the ``lambda-sse dev`` emulator all use this one
implementation. It answers as AWS's Runtime API does (OpenAPI v1.0.3 and the Runtime Interface
Emulator's ``internal/lambda/rapi``; facts with sources in shared/reference/aws-lambda-streaming.md
§1)::

    GET  /2018-06-01/runtime/invocation/next              200 + event, headers Lambda-Runtime-*
    POST /2018-06-01/runtime/invocation/{id}/response     202 {"status":"OK"} after the whole body
    POST /2018-06-01/runtime/invocation/{id}/error        202, recorded as a function error
    POST /2018-06-01/runtime/init/error                   202, recorded as an init error

    400 InvalidRequestID             an id that was never handed out by GET /next
    400 InvalidFunctionResponseMode  Lambda-Runtime-Function-Response-Mode other than "streaming"
    403 InvalidStateTransition       a second response or error for the same invocation
    413 RequestEntityTooLarge        a buffered body over ``buffered_limit`` (6 MiB + 100 bytes)
    500                              only when a test asks for it (:meth:`fail_next`)

Usage (the emulator and tests)::

    server = RuntimeAPIServer()
    await server.start()                       # AWS_LAMBDA_RUNTIME_API = server.address
    inv = server.enqueue(b'{"x": 1}', deadline_ms=now_ms + 3000)
    head = await inv.head()                    # None: the runtime answered with an error
    async for chunk in inv.body(): ...         # raw bytes, prelude included, as they arrive
    outcome = await inv.outcome()

Streamed bodies go through a bounded queue: while the consumer of :meth:`RuntimeInvocation.body`
lags, the server stops reading the socket, so the runtime feels backpressure. After
:meth:`RuntimeInvocation.detach` the rest is read and discarded.

Memory: with ``record_bodies=False`` (the emulator) neither ``chunks`` nor ``requests`` keep
bodies or per-chunk records, so a 200 MB stream of small chunks costs nothing beyond the queue;
``history`` bounds how many requests and finished invocations are remembered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import h11

from lambda_sse.local.chunked import ChunkedDecoder, ChunkedFramingError
from lambda_sse.local.model import InvocationOutcome, ResponseHead

__all__ = [
    "BUFFERED_LIMIT",
    "DEFAULT_FUNCTION_ARN",
    "RecordedRequest",
    "RuntimeAPIServer",
    "RuntimeInvocation",
]

API_PREFIX = "/2018-06-01/runtime"
# 6 MiB + 100 bytes: the RIE's limit for a buffered response (reference §1).
BUFFERED_LIMIT = 6_291_556
DEFAULT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:local"
ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json"
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"
ERROR_BODY_HEADER = "lambda-runtime-function-error-body"
RESPONSE_MODE_HEADER = "lambda-runtime-function-response-mode"
READ_SIZE = 64 * 1024
MAX_HEAD = 64 * 1024  # bytes of a request head read line by line; h11 rejects over 16 KiB

FailKind = Literal["next", "response", "error", "init_error"]


@dataclass
class RecordedRequest:
    """One request the runtime made, as it arrived."""

    method: str
    path: str
    headers: list[tuple[str, str]]  # names lower-cased, in arrival order
    started: float  # clock() when the request head arrived
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (clock(), bytes)
    trailers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    status: int | None = None  # what the server answered; None while in flight or cut
    complete: bool = False  # the whole body arrived (EndOfMessage)
    connection: int = 0  # which TCP connection carried it (1, 2, ... in accept order)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    @property
    def body(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)


class _Pipe:
    """A bounded single-consumer queue of body chunks; ``put`` waits while it is full."""

    def __init__(self, limit: int) -> None:
        self._items: deque[bytes] = deque()
        self._limit = limit
        self._closed = False
        self._discarding = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    async def put(self, data: bytes) -> None:
        while len(self._items) >= self._limit and not (self._closed or self._discarding):
            self._writable.clear()
            await self._writable.wait()
        if self._closed or self._discarding:
            return
        self._items.append(data)
        self._readable.set()

    def close(self) -> None:
        self._closed = True
        self._readable.set()
        self._writable.set()

    def discard(self) -> None:
        self._discarding = True
        self._items.clear()
        self._writable.set()

    async def drain(self) -> AsyncIterator[bytes]:
        while True:
            if self._items:
                item = self._items.popleft()
                self._writable.set()
                yield item
                continue
            if self._closed or self._discarding:
                return
            self._readable.clear()
            await self._readable.wait()


class RuntimeInvocation:
    """One invocation, from ``enqueue`` to its outcome. Implements ``model.Invocation``."""

    def __init__(
        self,
        *,
        request_id: str,
        event: bytes,
        headers: list[tuple[str, str]],
        clock: Callable[[], float],
        queue_limit: int,
        record: bool = True,
    ) -> None:
        self.request_id = request_id
        self.event = event
        self.next_headers = headers  # what GET /next answers besides the body
        self.chunks: list[tuple[float, bytes]] = []
        self.trailers: dict[str, str] = {}
        self.handed_out_at: float | None = None  # clock() when a GET /next delivered it
        self.detached = False
        self._record = record  # keep chunks (tests); the emulator keeps only timings
        self._clock = clock
        self._pipe = _Pipe(queue_limit)
        self._head: asyncio.Future[ResponseHead | None] = asyncio.get_running_loop().create_future()
        self._outcome: asyncio.Future[InvocationOutcome] = (
            asyncio.get_running_loop().create_future()
        )
        self._answered = False  # a /response or /error has begun: a second one is a 403
        self._body_taken = False

    # -- model.Invocation ------------------------------------------------------------------

    async def head(self) -> ResponseHead | None:
        return await asyncio.shield(self._head)

    def body(self) -> AsyncIterator[bytes]:
        if self._body_taken:
            raise RuntimeError("body() can be iterated once")
        self._body_taken = True
        return self._pipe.drain()

    async def outcome(self) -> InvocationOutcome:
        return await asyncio.shield(self._outcome)

    def detach(self) -> None:
        self.detached = True
        self._pipe.discard()

    # -- the execution side ----------------------------------------------------------------

    def abort(self, outcome: InvocationOutcome) -> None:
        """The environment died or timed out: end ``body()`` and set the outcome (once)."""
        self._answered = True
        self._finish(outcome)

    @property
    def done(self) -> bool:
        return self._outcome.done()

    def _duration_ms(self) -> float:
        if self.handed_out_at is None:
            return 0.0
        return (self._clock() - self.handed_out_at) * 1000.0

    def _start(self, head: ResponseHead) -> None:
        if not self._head.done():
            self._head.set_result(head)

    async def _chunk(self, data: bytes) -> None:
        if self._record:
            self.chunks.append((self._clock(), data))
        await self._pipe.put(data)

    def _finish(self, outcome: InvocationOutcome) -> None:
        if self._outcome.done():
            return
        if not outcome.duration_ms:
            outcome = InvocationOutcome(
                status=outcome.status,
                error_type=outcome.error_type,
                error_body=outcome.error_body,
                trailer_error=outcome.trailer_error,
                duration_ms=self._duration_ms(),
            )
        if not self._head.done():
            self._head.set_result(None)
        self._pipe.close()
        self._outcome.set_result(outcome)


class _Reply(Exception):
    """Internal: answer the current request with this status and JSON body."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class RuntimeAPIServer:
    """The Runtime API of one execution environment (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        buffered_limit: int = BUFFERED_LIMIT,
        queue_limit: int = 16,
        record_bodies: bool = True,
        history: int = 10_000,
    ) -> None:
        self._host = host
        self._port = port
        self._clock = clock
        self._buffered_limit = buffered_limit
        self._queue_limit = queue_limit
        self._record_bodies = record_bodies
        self._history = history
        self._server: asyncio.Server | None = None
        self._pending: deque[RuntimeInvocation] = deque()
        self._pending_changed: asyncio.Event | None = None
        self._invocations: dict[str, RuntimeInvocation] = {}
        self._parked = 0
        self._parked_changed: asyncio.Event | None = None
        self._init_error: asyncio.Future[InvocationOutcome] | None = None
        self._fail: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connections = 0
        self.requests: list[RecordedRequest] = []
        self.address = ""

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._pending_changed = asyncio.Event()
        self._parked_changed = asyncio.Event()
        self._init_error = loop.create_future()
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.address = f"{host}:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> RuntimeAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what the front door / emulator / tests call ----------------------------------------

    def enqueue(
        self,
        event: bytes,
        *,
        deadline_ms: int,
        request_id: str | None = None,
        function_arn: str = DEFAULT_FUNCTION_ARN,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        invocation_id: str | None = None,
    ) -> RuntimeInvocation:
        """Queue one event for a GET /next; returns at once. ``deadline_ms`` is Unix epoch ms;
        ``invocation_id`` (one attempt of the request, Managed Instances) is sent as
        ``Lambda-Runtime-Invocation-Id``, which runtimes echo on their answer."""
        if self._pending_changed is None:
            raise RuntimeError("call start() before enqueue()")
        rid = request_id or str(uuid.uuid4())
        previous = self._invocations.get(rid)
        if previous is not None and not previous.done:
            # A finished one may come again: Lambda retries an asynchronous event under its
            # request id.
            raise ValueError(f"request id {rid!r} is in flight")
        # Each header only when non-empty, as Lambda sends them (reference §1).
        optional = [
            ("Lambda-Runtime-Trace-Id", trace_id),
            ("Lambda-Runtime-Client-Context", client_context),
            ("Lambda-Runtime-Cognito-Identity", cognito_identity),
            ("Lambda-Runtime-Aws-Tenant-Id", tenant_id),
            ("Lambda-Runtime-Invocation-Id", invocation_id),
        ]
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", rid),
            ("Lambda-Runtime-Deadline-Ms", str(int(deadline_ms))),
            ("Lambda-Runtime-Invoked-Function-Arn", function_arn),
            *((name, value) for name, value in optional if value),
        ]
        invocation = RuntimeInvocation(
            request_id=rid,
            event=event,
            headers=headers,
            clock=self._clock,
            queue_limit=self._queue_limit,
            record=self._record_bodies,
        )
        self._forget_old()
        self._invocations[rid] = invocation
        self._pending.append(invocation)
        self._pending_changed.set()
        return invocation

    async def wait_for_poll(self) -> None:
        """Wait until a runtime is parked on GET /next (for the first one: init finished)."""
        assert self._parked_changed is not None, "call start() first"
        while self._parked == 0:
            self._parked_changed.clear()
            await self._parked_changed.wait()

    @property
    def parked(self) -> int:
        """How many GET /next requests are waiting for an event right now."""
        return self._parked

    async def init_error(self) -> InvocationOutcome:
        """Resolves when the runtime POSTs /runtime/init/error."""
        assert self._init_error is not None, "call start() first"
        return await asyncio.shield(self._init_error)

    def fail_next(self, kind: FailKind, status: int = 500) -> None:
        """Answer the next request of this kind with ``status`` (a container error: the
        runtime must exit on a 500)."""
        self._fail[kind] = status

    def _forget_old(self) -> None:
        """Keep at most ``history`` finished invocations (a long ``lambda-sse dev`` session);
        a very late answer for a forgotten one gets 400 instead of 403."""
        excess = len(self._invocations) - self._history
        if excess <= 0:
            return
        for rid in [rid for rid, inv in self._invocations.items() if inv.done][:excess]:
            del self._invocations[rid]

    def invocation(self, request_id: str) -> RuntimeInvocation:
        return self._invocations[request_id]

    # -- connections -----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = h11.Connection(h11.SERVER)
        self._connections += 1
        number = self._connections
        try:
            while True:
                event = await self._next_request(conn, reader)
                if not isinstance(event, h11.Request):
                    return
                keep = await self._handle(conn, event, reader, writer, number)
                if not keep or conn.our_state is h11.MUST_CLOSE:
                    return
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (
            ConnectionError,
            h11.RemoteProtocolError,
            ChunkedFramingError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            return
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _next_request(self, conn: h11.Connection, reader: asyncio.StreamReader) -> object:
        """The next request head. Read line by line, so that h11 gets the head and no body
        bytes: a streamed body can then be decoded without h11 (see :meth:`_stream`)."""
        event = conn.next_event()
        if event is not h11.NEED_DATA or conn.trailing_data[0]:
            return event if event is not h11.NEED_DATA else await self._next_event(conn, reader)
        head = bytearray()
        while len(head) <= MAX_HEAD:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                conn.receive_data(bytes(head) + exc.partial)
                conn.receive_data(b"")
                return conn.next_event()  # ConnectionClosed, or h11 raises on a partial head
            head += line
            if line in (b"\r\n", b"\n"):  # the blank line (a leading one: h11 refuses it)
                break
        conn.receive_data(bytes(head))  # over MAX_HEAD: h11 raises RemoteProtocolError
        return await self._next_event(conn, reader)

    async def _next_event(self, conn: h11.Connection, reader: asyncio.StreamReader) -> object:
        """The next h11 event (a class sentinel such as PAUSED, or an h11.Event)."""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(READ_SIZE)
                conn.receive_data(data)
                continue
            return event

    async def _send(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        headers: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> None:
        all_headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *(headers or []),
        ]
        data = conn.send(h11.Response(status_code=status, headers=all_headers))
        data = (data or b"") + (conn.send(h11.Data(data=body)) or b"")
        data += conn.send(h11.EndOfMessage()) or b""
        writer.write(data)
        await writer.drain()

    async def _handle(
        self,
        conn: h11.Connection,
        request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: int,
    ) -> bool:
        record = RecordedRequest(
            connection=connection,
            method=request.method.decode("ascii", "replace"),
            path=request.target.decode("ascii", "replace"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers],
            started=self._clock(),
        )
        self.requests.append(record)
        if len(self.requests) > self._history:
            del self.requests[: len(self.requests) - self._history]
        try:
            if record.method == "GET" and record.path == f"{API_PREFIX}/invocation/next":
                return await self._next(conn, record, reader, writer)
            if record.method == "POST" and record.path == f"{API_PREFIX}/init/error":
                await self._post_init_error(conn, record, reader)
            elif record.method == "POST" and record.path.startswith(f"{API_PREFIX}/invocation/"):
                rest = record.path[len(f"{API_PREFIX}/invocation/") :]
                request_id, _, action = rest.rpartition("/")
                if action == "response":
                    await self._post_response(conn, record, request_id, reader)
                elif action == "error":
                    await self._post_error(conn, record, request_id, reader)
                else:
                    await self._read_body(conn, record, reader)
                    raise _Reply(404, "NotFound", f"no such endpoint: {record.path}")
            else:
                await self._read_body(conn, record, reader)
                raise _Reply(404, "NotFound", f"no such endpoint: {record.method} {record.path}")
        except _Reply as reply:
            record.status = reply.status
            body = json.dumps({"errorMessage": reply.message, "errorType": reply.error_type})
            await self._send(conn, writer, reply.status, body.encode())
            return conn.their_state is h11.DONE
        record.status = 202
        await self._send(conn, writer, 202, b'{"status":"OK"}')
        return True

    def _check_fail(self, kind: FailKind) -> None:
        status = self._fail.pop(kind, None)
        if status is not None:
            raise _Reply(status, "ContainerError", "injected container error")

    async def _read_body(
        self,
        conn: h11.Connection,
        record: RecordedRequest,
        reader: asyncio.StreamReader,
        limit: int | None = None,
    ) -> bytes:
        """Read a whole (small) body into memory; a body over ``limit`` is read and dropped."""
        parts: list[bytes] = []
        size = 0
        while True:
            event = await self._next_event(conn, reader)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if limit is None or size <= limit:
                    parts.append(event.data)
                    record.chunks.append((self._clock(), event.data))
                continue
            if isinstance(event, h11.EndOfMessage):
                record.trailers = _headers(event.headers)
                record.complete = True
                if limit is not None and size > limit:
                    raise _Reply(
                        413,
                        "RequestEntityTooLarge",
                        f"Exceeded maximum allowed payload size ({limit} bytes).",
                    )
                return b"".join(parts)
            raise ConnectionError("connection closed in the middle of a request body")

    async def _next(
        self,
        conn: h11.Connection,
        record: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        await self._read_body(conn, record, reader)
        try:
            self._check_fail("next")
        except _Reply as reply:
            record.status = reply.status
            body = json.dumps({"errorMessage": reply.message, "errorType": reply.error_type})
            await self._send(conn, writer, reply.status, body.encode())
            return True
        invocation = await self._park(reader)
        if invocation is None:
            return False  # the runtime went away while parked
        invocation.handed_out_at = self._clock()
        record.status = 200
        await self._send(conn, writer, 200, invocation.event, invocation.next_headers)
        return True

    async def _park(self, reader: asyncio.StreamReader) -> RuntimeInvocation | None:
        """Wait for an event, or for the runtime to hang up (then nothing is taken)."""
        assert self._pending_changed is not None
        assert self._parked_changed is not None
        self._parked += 1
        self._parked_changed.set()
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            while not self._pending:
                self._pending_changed.clear()
                waiter = asyncio.ensure_future(self._pending_changed.wait())
                try:
                    await asyncio.wait({waiter, hangup}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                if hangup.done():
                    return None
            return self._pending.popleft()
        finally:
            self._parked -= 1
            if not hangup.done():
                hangup.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await hangup

    def _lookup(self, request_id: str) -> RuntimeInvocation:
        invocation = self._invocations.get(request_id)
        if invocation is None or invocation.handed_out_at is None:
            raise _Reply(400, "InvalidRequestID", "Invalid request ID")
        if invocation._answered:
            raise _Reply(403, "InvalidStateTransition", "State transition is not allowed")
        return invocation

    async def _post_response(
        self,
        conn: h11.Connection,
        record: RecordedRequest,
        request_id: str,
        reader: asyncio.StreamReader,
    ) -> None:
        mode = record.header(RESPONSE_MODE_HEADER)
        try:
            invocation = self._lookup(request_id)
            if mode is not None and mode != "streaming":
                raise _Reply(
                    400,
                    "InvalidFunctionResponseMode",
                    f"Invalid function response mode: {mode!r}",
                )
            self._check_fail("response")
        except _Reply:
            await self._read_body(conn, record, reader)
            raise
        content_type = record.header("content-type")
        if mode is None:
            body = await self._read_body(conn, record, reader, self._buffered_limit)
            invocation._answered = True
            invocation._start(ResponseHead(streaming=False, content_type=content_type))
            if self._record_bodies:
                invocation.chunks.append((self._clock(), body))
            await invocation._pipe.put(body)
            invocation._finish(InvocationOutcome(status="success"))
            return
        invocation._answered = True
        invocation._start(ResponseHead(streaming=True, content_type=content_type))
        await self._stream(conn, record, invocation, reader)

    async def _stream(
        self,
        conn: h11.Connection,
        record: RecordedRequest,
        invocation: RuntimeInvocation,
        reader: asyncio.StreamReader,
    ) -> None:
        try:
            chunked = (record.header("transfer-encoding") or "").lower() == "chunked"
            if chunked and not conn.trailing_data[0]:
                event = await self._stream_chunks(conn, record, invocation, reader)
            else:
                event = await self._stream_h11(conn, record, invocation, reader, chunked)
        except (ConnectionError, h11.RemoteProtocolError, ChunkedFramingError):
            invocation._finish(
                InvocationOutcome(status="crash", error_type="Runtime.TruncatedResponse")
            )
            raise
        record.complete = True
        record.trailers = _headers(event.headers)
        invocation.trailers = dict(record.trailers)
        error_type = record.trailers.get(ERROR_TYPE_HEADER)
        error_body: bytes | None = None
        if ERROR_BODY_HEADER in record.trailers:
            try:
                error_body = base64.b64decode(record.trailers[ERROR_BODY_HEADER], validate=True)
            except (binascii.Error, ValueError):
                error_body = record.trailers[ERROR_BODY_HEADER].encode()
        invocation._finish(
            InvocationOutcome(
                status="success",
                error_type=error_type,
                error_body=error_body,
                trailer_error=error_type is not None,
            )
        )

    async def _stream_chunks(
        self,
        conn: h11.Connection,
        record: RecordedRequest,
        invocation: RuntimeInvocation,
        reader: asyncio.StreamReader,
    ) -> h11.EndOfMessage:
        """The hot path: chunks decoded by :class:`ChunkedDecoder` (h11 got the head and no body
        bytes), passed on one by one; h11 parses the last chunk and the trailers."""
        decoder = ChunkedDecoder()
        record_bodies = self._record_bodies
        while not decoder.done:
            data = await reader.read(READ_SIZE)
            if not data:
                raise ConnectionError("stream ended without its final chunk")
            for chunk in decoder.feed(data):
                if record_bodies:
                    record.chunks.append((self._clock(), chunk))
                if not invocation.detached:
                    await invocation._chunk(chunk)
            if decoder.failed is not None:
                raise decoder.failed  # after the good chunks before it, as h11 would
        conn.receive_data(decoder.tail)
        event = await self._next_event(conn, reader)
        if not isinstance(event, h11.EndOfMessage):
            raise ConnectionError("stream ended without its final chunk")
        return event

    async def _stream_h11(
        self,
        conn: h11.Connection,
        record: RecordedRequest,
        invocation: RuntimeInvocation,
        reader: asyncio.StreamReader,
        chunked: bool,
    ) -> h11.EndOfMessage:
        """The body through h11: a Content-Length body, or a chunked one when h11 already holds
        body bytes (it read past the head). Wire chunks are passed on whole, other bodies as
        they arrive."""
        pending: list[bytes] = []  # pieces of one wire chunk, joined at chunk_end
        while True:
            event = await self._next_event(conn, reader)
            if isinstance(event, h11.Data):
                pending.append(event.data)
                if chunked and not event.chunk_end:
                    continue
                data = b"".join(pending)
                pending.clear()
                if self._record_bodies:
                    record.chunks.append((self._clock(), data))
                if invocation.detached:
                    continue
                await invocation._chunk(data)
                continue
            if isinstance(event, h11.EndOfMessage):
                return event
            raise ConnectionError("stream ended without its final chunk")

    async def _post_error(
        self,
        conn: h11.Connection,
        record: RecordedRequest,
        request_id: str,
        reader: asyncio.StreamReader,
    ) -> None:
        try:
            invocation = self._lookup(request_id)
            self._check_fail("error")
        except _Reply:
            await self._read_body(conn, record, reader)
            raise
        invocation._answered = True
        body = await self._read_body(conn, record, reader, self._buffered_limit)
        invocation._finish(
            InvocationOutcome(
                status="function_error",
                error_type=_error_type(record, body),
                error_body=body,
            )
        )

    async def _post_init_error(
        self, conn: h11.Connection, record: RecordedRequest, reader: asyncio.StreamReader
    ) -> None:
        body = await self._read_body(conn, record, reader, self._buffered_limit)
        self._check_fail("init_error")
        assert self._init_error is not None
        if self._init_error.done():
            raise _Reply(403, "InvalidStateTransition", "State transition is not allowed")
        self._init_error.set_result(
            InvocationOutcome(
                status="init_error", error_type=_error_type(record, body), error_body=body
            )
        )


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


def _error_type(record: RecordedRequest, body: bytes) -> str | None:
    header = record.header(ERROR_TYPE_HEADER)
    if header:
        return header
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    value = doc.get("errorType") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None
