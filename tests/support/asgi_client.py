"""A streaming ASGI test client that reads an endless response incrementally.

Starlette's TestClient and httpx's ASGITransport collect the whole body before returning, so an
SSE endpoint that never ends hangs the test. Here the app runs as a task; each
``http.response.body`` message is handed to the test as it is sent, every wait is bounded, and
leaving the ``async with`` block tells the app the client went away (``http.disconnect``), then
waits for it to return (cancelling it after ``close_timeout``).

    async with stream(app, "GET", "/events") as response:
        assert response.status == 200
        async for chunk in response.iter_bytes():
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, MutableMapping
from typing import Any

from lambda_sse.asgi.types import ASGIApp, Message, Scope

__all__ = ["ASGIResponse", "make_scope", "request", "stream"]


def make_scope(
    method: str = "GET",
    path: str = "/",
    *,
    query_string: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    extra: MutableMapping[str, Any] | None = None,
) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ["127.0.0.1", 50000],
        "server": ["testserver", 80],
    }
    if extra:
        scope.update(extra)
    return scope


class ASGIResponse:
    def __init__(self, queue: asyncio.Queue[Message | None], timeout: float) -> None:
        self._queue = queue
        self._timeout = timeout
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False  # the app sent more_body=False

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    async def _next(self) -> Message | None:
        return await asyncio.wait_for(self._queue.get(), self._timeout)

    async def _start(self) -> None:
        message = await self._next()
        if message is None:
            raise AssertionError("the app returned without sending http.response.start")
        assert message["type"] == "http.response.start", message
        self.status = message["status"]
        self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Each non-empty body chunk as the app sends it; ends with the response. A wait longer
        than the client's read_timeout raises ``TimeoutError``."""
        while not self.complete:
            message = await self._next()
            if message is None:  # the app returned
                return
            assert message["type"] == "http.response.body", message
            if not message.get("more_body", False):
                self.complete = True
            body = bytes(message.get("body", b""))
            if body:
                yield body

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_bytes()])


@contextlib.asynccontextmanager
async def stream(
    app: ASGIApp,
    method: str = "GET",
    path: str = "/",
    *,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    scope: Scope | None = None,
    read_timeout: float = 5.0,
    close_timeout: float = 2.0,
) -> AsyncIterator[ASGIResponse]:
    """Run ``app`` for one request; yields once the response has started."""
    the_scope = scope if scope is not None else make_scope(method, path, headers=headers)
    queue: asyncio.Queue[Message | None] = asyncio.Queue()
    disconnected = asyncio.Event()
    pending_body: list[bytes] = [body]

    async def receive() -> Message:
        if pending_body:
            return {"type": "http.request", "body": pending_body.pop(), "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await queue.put(message)

    async def run() -> None:
        try:
            await app(the_scope, receive, send)
        finally:
            queue.put_nowait(None)

    task = asyncio.get_running_loop().create_task(run())
    response = ASGIResponse(queue, read_timeout)
    try:
        await response._start()
        yield response
    finally:
        disconnected.set()
        done, _ = await asyncio.wait({task}, timeout=close_timeout)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=close_timeout)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def request(
    app: ASGIApp, method: str = "GET", path: str = "/", **kwargs: Any
) -> tuple[ASGIResponse, bytes]:
    """One whole (finite) request: the response and its body."""
    async with stream(app, method, path, **kwargs) as response:
        body = await response.read()
    return response, body
