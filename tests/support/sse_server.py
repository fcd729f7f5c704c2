"""A scripted HTTP/1.1 server on loopback, for the EventSource client's tests.

A real server on a real socket (asyncio streams for I/O, h11 for HTTP/1.1 framing) runs its own
event loop in a background thread, so sync and async clients alike talk to it over TCP. Tests
script what each request to a path gets, in order:

- :class:`Stream`: a status line and headers, then body parts written and flushed one by one,
  each either bytes or a :class:`Gate` the server waits at; then the body ends cleanly
  (``end="close"``: the terminating chunk, keep-alive), is cut mid-body (``"drop"``: the socket
  closes without the terminating chunk, a network error to the client), or goes silent
  (``"hang"``: nothing more until the client hangs up or the server stops);
- :class:`Reply`: a plain response with a fixed body (204, 500, redirects).

Each request takes the next scripted reply for its path; the last reply answers every later
request. Every request is recorded (:attr:`SSEServer.requests`) with its raw headers, so tests
can check ``Accept``, ``Cache-Control`` and ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import h11

__all__ = ["Gate", "Recorded", "Reply", "SSEServer", "Stream", "unused_port"]

# Every wait in the server is bounded, so a broken client cannot hang a test run.
_GATE_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class Gate:
    """A point in a :class:`Stream` where the server waits until the test calls :meth:`open`.

    ``reached`` is set when the server arrives at the gate (everything before it was written
    and flushed); ``passed`` says whether the test opened it (False after a timeout), so a test
    can prove the client acted before the server went on.
    """

    def __init__(self, timeout: float = _GATE_TIMEOUT) -> None:
        self.timeout = timeout
        self.reached = threading.Event()
        self._open = threading.Event()
        self.passed: bool | None = None  # None until the server leaves the gate

    def open(self) -> None:
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def outcome(self) -> bool | None:
        """None while the server has not left the gate, then ``passed``."""
        return self.passed

    def _wait(self) -> None:
        self.reached.set()
        self.passed = self._open.wait(self.timeout)


@dataclass(frozen=True)
class Stream:
    """A streamed response: ``parts`` are written and flushed one at a time."""

    parts: Sequence[bytes | Gate] = ()
    status: int = 200
    content_type: str | None = "text/event-stream"
    headers: Sequence[tuple[str, str]] = ()
    end: Literal["close", "drop", "hang"] = "close"


@dataclass(frozen=True)
class Reply:
    """A plain response with a fixed body (Content-Length framed)."""

    status: int
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), decoded as UTF-8."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value.decode("utf-8")
        return None


def unused_port() -> int:
    """A loopback port nobody listens on (bound, then released): connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SSEServer:
    """The server; use it as a context manager (it starts and stops its thread)."""

    def __init__(self) -> None:
        self._scripts: dict[str, list[Stream | Reply]] = {}
        self._requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._gates: list[Gate] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.port = 0

    # -- test-facing API ---------------------------------------------------------------------

    def url(self, path: str = "/events") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Stream | Reply) -> None:
        """What successive requests to ``path`` get; the last reply repeats."""
        if not replies:
            raise ValueError("script() needs at least one reply")
        with self._lock:
            self._scripts[path] = list(replies)
            for reply in replies:
                if isinstance(reply, Stream):
                    self._gates.extend(p for p in reply.parts if isinstance(p, Gate))

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SSEServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sse-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(_STOP_TIMEOUT):
            raise RuntimeError("test SSE server did not start in time")
        if self._startup_error is not None:
            raise RuntimeError("test SSE server failed to start") from self._startup_error

    def stop(self) -> None:
        for gate in self._gates:
            gate.open()  # release handlers parked at a gate
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(_STOP_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                raise RuntimeError("test SSE server thread did not stop")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # reported to start() in the test thread
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        # Hang up on every client first, so each handler ends on its own (its read sees EOF,
        # its write fails); cancel only what is still running after that.
        for writer in list(self._writers):
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=_STOP_TIMEOUT)
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()

    # -- serving -----------------------------------------------------------------------------

    def _next_reply(self, path: str) -> Stream | Reply:
        with self._lock:
            replies = self._scripts.get(path)
            if not replies:
                return Reply(
                    404, [("Content-Type", "text/plain")], b"no script for " + path.encode()
                )
            return replies.pop(0) if len(replies) > 1 else replies[0]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await _read_request(conn, reader)
                if request is None:
                    return
                path = request.target.decode("ascii").split("?", 1)[0]
                recorded = Recorded(
                    request.method.decode("ascii"),
                    path,
                    [(k.decode("ascii").lower(), bytes(v)) for k, v in request.headers.raw_items()],
                )
                with self._lock:
                    self._requests.append(recorded)
                reply = self._next_reply(path)
                keep_going = await _answer(conn, reader, writer, reply)
                if not keep_going or conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError):
            return  # the client went away or spoke nonsense: just drop it
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Request | None:
    """The next request with its (ignored) body read to the end; None when the client left."""
    request: h11.Request | None = None
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.EndOfMessage):
            return request
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


async def _answer(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    reply: Stream | Reply,
) -> bool:
    """Write ``reply``; False when the connection must not be reused."""
    if isinstance(reply, Reply):
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)) or b"")
        if reply.body:
            writer.write(conn.send(h11.Data(data=reply.body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        return True
    headers = list(reply.headers)
    if reply.content_type is not None:
        headers.append(("Content-Type", reply.content_type))
    headers.append(("Cache-Control", "no-cache"))
    writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)) or b"")
    await writer.drain()
    for part in reply.parts:
        if isinstance(part, Gate):
            await asyncio.to_thread(part._wait)
            continue
        writer.write(conn.send(h11.Data(data=part)) or b"")
        await writer.drain()
    if reply.end == "close":
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        return True
    if reply.end == "hang":
        # Silent until the client hangs up (read returns b"") or the server stops (cancel).
        await reader.read(1)
    return False
