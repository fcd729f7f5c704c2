"""A strict Lambda Runtime API server: one per execution environment, asyncio + h11.

The runtime's own tests, the ASGI tests and the ``lambda-sse dev`` emulator all use this one
implementation. The rules (which request is which, every status and outcome) live in the sans-IO
:mod:`lambda_sse.local.runtime_protocol`, which lists the endpoints and answers; this module is
its I/O shell: sockets, h11, the bounded body queue and the futures the emulator awaits.

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

Memory: with ``record_bodies=False`` (the emulator) an invocation keeps no body chunks, so a
200 MB stream of small chunks costs nothing beyond the queue; ``history`` bounds how many finished
invocations are remembered. Requests are recorded only when ``hooks`` are given (the test
support's recording server does; it also injects failures).

Why this module is longer than 400 lines: one class, the I/O of every endpoint; the rules are
already out in :mod:`lambda_sse.local.runtime_protocol`, the wire in
:mod:`lambda_sse.local.runtime_wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import h11

from lambda_sse import aws
from lambda_sse.errors import (
    ArgumentTypeError,
    ChunkedFramingError,
    LambdaSSEError,
    LocalStateError,
    TruncatedRequestError,
    UnknownRequestIdError,
)
from lambda_sse.local import runtime_wire as wire
from lambda_sse.local.model import InvocationOutcome, ResponseHead
from lambda_sse.local.runtime_invocation import RuntimeInvocation
from lambda_sse.local.runtime_protocol import (
    ACCEPTED,
    API_PREFIX,
    BUFFERED_LIMIT,
    DEFAULT_FUNCTION_ARN,
    RESPONSE_MODE_HEADER,
    Answer,
    FailKind,
    RecordedRequest,
    RuntimeAPIProtocol,
    ServerHooks,
    error_answer,
    error_type,
    next_headers,
    route,
    streamed_outcome,
)

__all__ = [
    "API_PREFIX",
    "BUFFERED_LIMIT",
    "DEFAULT_FUNCTION_ARN",
    "RecordedRequest",
    "RuntimeAPIServer",
    "RuntimeInvocation",
    "ServerHooks",
]

_PEER_FAILURES = (
    ConnectionError,
    h11.RemoteProtocolError,
    ChunkedFramingError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
)


class _Refused(LambdaSSEError):
    """Internal: answer the current request with ``answer`` (never leaves this module)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class _Request:
    """The request being served: its head, and its record when hooks watch."""

    __slots__ = ("headers", "method", "path", "record")

    def __init__(self, method: str, path: str, headers: list[tuple[str, str]]) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.record: RecordedRequest | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


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
        hooks: ServerHooks | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._clock = clock
        self._protocol: RuntimeAPIProtocol[RuntimeInvocation] = RuntimeAPIProtocol(
            clock=clock, buffered_limit=buffered_limit, history=history
        )
        self._queue_limit = queue_limit
        self._record_bodies = record_bodies
        self._hooks = hooks
        self._server: asyncio.Server | None = None
        self._pending_changed: asyncio.Event | None = None
        self._parked = 0
        self._parked_changed: asyncio.Event | None = None
        self._init_error: asyncio.Future[InvocationOutcome] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connections = 0
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
            raise LocalStateError("call start() before enqueue()")
        if not isinstance(event, bytes):
            raise ArgumentTypeError(f"event must be bytes (JSON), got {type(event).__name__}")
        if isinstance(deadline_ms, bool) or not isinstance(deadline_ms, int | float):
            raise ArgumentTypeError(f"deadline_ms must be a number, got {deadline_ms!r}")
        rid = request_id or str(uuid.uuid4())
        self._protocol.check_new(rid)
        optional = [
            (aws.TRACE_ID_HEADER, trace_id),
            (aws.CLIENT_CONTEXT_HEADER, client_context),
            (aws.COGNITO_IDENTITY_HEADER, cognito_identity),
            (aws.TENANT_ID_HEADER, tenant_id),
            (aws.INVOCATION_ID_HEADER, invocation_id),
        ]
        invocation = RuntimeInvocation(
            request_id=rid,
            event=event,
            headers=next_headers(rid, deadline_ms, function_arn, optional),
            clock=self._clock,
            queue_limit=self._queue_limit,
            record=self._record_bodies,
        )
        self._protocol.add(invocation)
        self._pending_changed.set()
        return invocation

    async def wait_for_poll(self) -> None:
        """Wait until a runtime is parked on GET /next (for the first one: init finished)."""
        assert self._parked_changed is not None, "call start() first"
        while self._parked == 0:
            self._parked_changed.clear()
            await self._parked_changed.wait()

    @property
    def recording(self) -> bool:
        """Requests are recorded (the server has hooks: tests); the emulator records nothing."""
        return self._hooks is not None

    @property
    def parked(self) -> int:
        """How many GET /next requests are waiting for an event right now."""
        return self._parked

    async def init_error(self) -> InvocationOutcome:
        """Resolves when the runtime POSTs /runtime/init/error."""
        assert self._init_error is not None, "call start() first"
        return await asyncio.shield(self._init_error)

    def invocation(self, request_id: str) -> RuntimeInvocation:
        try:
            return self._protocol.invocations[request_id]
        except KeyError:
            raise UnknownRequestIdError(f"no invocation {request_id!r}") from None

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
                event = await wire.next_request(conn, reader)
                if not isinstance(event, h11.Request):
                    return
                keep = await self._handle(conn, event, reader, writer, number)
                if not keep or conn.our_state is h11.MUST_CLOSE:
                    return
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except _PEER_FAILURES:
            return
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _send(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        request: _Request,
        answer: Answer,
    ) -> None:
        if request.record is not None:
            request.record.status = answer.status
        writer.write(wire.encode_answer(conn, answer))
        await writer.drain()

    def _injected(self, kind: FailKind) -> None:
        status = self._hooks.injected_failure(kind) if self._hooks is not None else None
        if status is not None:
            raise _Refused(error_answer(status, "ContainerError", "injected container error"))

    async def _handle(
        self,
        conn: h11.Connection,
        head: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: int,
    ) -> bool:
        request = _Request(
            head.method.decode("ascii", "replace"),
            head.target.decode("ascii", "replace"),
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers],
        )
        if self._hooks is not None:
            request.record = RecordedRequest(
                connection=connection,
                method=request.method,
                path=request.path,
                headers=request.headers,
                started=self._clock(),
            )
            self._hooks.request_started(request.record)
        where = route(request.method, request.path)
        try:
            if where.kind == "next":
                return await self._next(conn, request, reader, writer)
            if where.kind == "init_error":
                await self._post_init_error(conn, request, reader)
            elif where.kind == "response":
                await self._post_response(conn, request, where.request_id, reader)
            elif where.kind == "error":
                await self._post_error(conn, request, where.request_id, reader)
            else:
                await self._read_body(conn, request, reader)
                assert where.answer is not None
                raise _Refused(where.answer)
        except _Refused as refused:
            await self._send(conn, writer, request, refused.answer)
            return conn.their_state is h11.DONE
        await self._send(conn, writer, request, ACCEPTED)
        return True

    async def _read_body(
        self,
        conn: h11.Connection,
        request: _Request,
        reader: asyncio.StreamReader,
        limit: int | None = None,
    ) -> bytes:
        """Read a whole (small) body into memory; a body over ``limit`` is read and dropped."""
        parts: list[bytes] = []
        size = 0
        record = request.record
        keep = record is not None and self._hooks is not None and self._hooks.record_bodies
        while True:
            event = await wire.next_event(conn, reader)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if limit is None or size <= limit:
                    parts.append(event.data)
                    if keep:
                        assert record is not None
                        record.chunks.append((self._clock(), event.data))
                continue
            if isinstance(event, h11.EndOfMessage):
                if record is not None:
                    record.trailers = wire.headers(event.headers)
                    record.complete = True
                if limit is not None and size > limit:
                    raise _Refused(self._protocol.too_large(limit))
                return b"".join(parts)
            raise TruncatedRequestError("connection closed in the middle of a request body")

    async def _next(
        self,
        conn: h11.Connection,
        request: _Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        await self._read_body(conn, request, reader)
        try:
            self._injected("next")
        except _Refused as refused:
            await self._send(conn, writer, request, refused.answer)
            return True
        invocation = await self._park(reader)
        if invocation is None:
            return False  # the runtime went away while parked
        await self._send(conn, writer, request, self._protocol.hand_out(invocation))
        return True

    async def _park(self, reader: asyncio.StreamReader) -> RuntimeInvocation | None:
        """Wait for an event, or for the runtime to hang up (then nothing is taken)."""
        assert self._pending_changed is not None
        assert self._parked_changed is not None
        pending = self._protocol.pending
        self._parked += 1
        self._parked_changed.set()
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            while not pending:
                self._pending_changed.clear()
                waiter = asyncio.ensure_future(self._pending_changed.wait())
                try:
                    await asyncio.wait({waiter, hangup}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                if hangup.done():
                    return None
            return pending.popleft()
        finally:
            self._parked -= 1
            if not hangup.done():
                hangup.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await hangup

    def _lookup(self, request_id: str) -> RuntimeInvocation:
        found = self._protocol.lookup(request_id)
        if isinstance(found, Answer):
            raise _Refused(found)
        return found

    async def _post_response(
        self,
        conn: h11.Connection,
        request: _Request,
        request_id: str,
        reader: asyncio.StreamReader,
    ) -> None:
        mode = request.header(RESPONSE_MODE_HEADER)
        try:
            invocation = self._lookup(request_id)
            refused = self._protocol.response_mode(mode)
            if refused is not None:
                raise _Refused(refused)
            self._injected("response")
        except _Refused:
            await self._read_body(conn, request, reader)
            raise
        content_type = request.header("content-type")
        if mode is None:
            body = await self._read_body(conn, request, reader, self._protocol.buffered_limit)
            invocation.answered = True
            invocation._start(ResponseHead(streaming=False, content_type=content_type))
            if self._record_bodies:
                invocation.chunks.append((self._clock(), body))
            await invocation._pipe.put(body)
            invocation._finish(InvocationOutcome(status="success"))
            return
        invocation.answered = True
        invocation._start(ResponseHead(streaming=True, content_type=content_type))
        await self._stream(conn, request, invocation, reader)

    async def _stream(
        self,
        conn: h11.Connection,
        request: _Request,
        invocation: RuntimeInvocation,
        reader: asyncio.StreamReader,
    ) -> None:
        record = request.record
        keep = record is not None and self._hooks is not None and self._hooks.record_bodies
        sink = record.chunks if keep and record is not None else None
        try:
            chunked = (request.header("transfer-encoding") or "").lower() == "chunked"
            if chunked and not conn.trailing_data[0]:
                event = await wire.stream_chunks(conn, reader, invocation, sink, self._clock)
            else:
                event = await wire.stream_h11(conn, reader, invocation, sink, self._clock, chunked)
        except (ConnectionError, h11.RemoteProtocolError, ChunkedFramingError):
            invocation._finish(
                InvocationOutcome(status="crash", error_type="Runtime.TruncatedResponse")
            )
            raise
        trailers = wire.headers(event.headers)
        if record is not None:
            record.complete = True
            record.trailers = trailers
        invocation.trailers = dict(trailers)
        invocation._finish(streamed_outcome(trailers))

    async def _post_error(
        self,
        conn: h11.Connection,
        request: _Request,
        request_id: str,
        reader: asyncio.StreamReader,
    ) -> None:
        try:
            invocation = self._lookup(request_id)
            self._injected("error")
        except _Refused:
            await self._read_body(conn, request, reader)
            raise
        invocation.answered = True
        body = await self._read_body(conn, request, reader, self._protocol.buffered_limit)
        invocation._finish(
            InvocationOutcome(
                status="function_error",
                error_type=error_type(request.headers, body),
                error_body=body,
            )
        )

    async def _post_init_error(
        self, conn: h11.Connection, request: _Request, reader: asyncio.StreamReader
    ) -> None:
        body = await self._read_body(conn, request, reader, self._protocol.buffered_limit)
        self._injected("init_error")
        assert self._init_error is not None
        refused = self._protocol.accept_init_error()
        if refused is not None:
            raise _Refused(refused)
        self._init_error.set_result(
            InvocationOutcome(
                status="init_error", error_type=error_type(request.headers, body), error_body=body
            )
        )
