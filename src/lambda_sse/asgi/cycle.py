"""One HTTP request/response cycle of an ASGI app, against a response sink.

The cycle checks the app's messages against the ASGI HTTP rules (``http.response.start`` once,
then ``http.response.body`` until ``more_body`` is false, nothing after) and hands a sink the
status and headers together with the first body, then each body chunk as it comes. An app that
breaks the order, raises before answering or returns without answering gets a 500, never a hang.
``http.disconnect`` is what ``receive`` gives once the request body is read and the response is
over (a Lambda function is not told when a client goes away).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from lambda_sse.asgi.types import ASGIApp, Message, Scope
from lambda_sse.errors import ASGIProtocolError
from lambda_sse.events import HeaderList

__all__ = ["ASGIProtocolError", "BufferedSink", "HttpCycle", "ResponseSink"]

log = logging.getLogger("lambda_sse.asgi")

ERROR_HEADERS: HeaderList = ((b"content-type", b"text/plain; charset=utf-8"),)
ERROR_BODY = b"Internal Server Error"


class ResponseSink(Protocol):
    async def start(self, status: int, headers: HeaderList) -> None: ...

    async def body(self, chunk: bytes) -> None: ...

    async def end(self) -> None: ...


class BufferedSink:
    """Collects the whole response for a buffered reply."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: HeaderList = ()
        self.chunks: list[bytes] = []
        self.complete = False

    async def start(self, status: int, headers: HeaderList) -> None:
        self.status = status
        self.headers = headers

    async def body(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    async def end(self) -> None:
        self.complete = True


def _headers(raw: Any) -> HeaderList:
    if raw is None:
        return ()
    if not isinstance(raw, Iterable):
        raise ASGIProtocolError("http.response.start headers must be an iterable of pairs")
    out: list[tuple[bytes, bytes]] = []
    for pair in raw:
        try:
            name, value = pair
        except (TypeError, ValueError):
            raise ASGIProtocolError(f"header {pair!r} is not a (name, value) pair") from None
        if not isinstance(name, bytes | bytearray) or not isinstance(value, bytes | bytearray):
            raise ASGIProtocolError(f"header {pair!r} must be a pair of bytes")
        out.append((bytes(name), bytes(value)))
    return tuple(out)


class HttpCycle:
    """Runs ``app`` once for one request; ``run`` returns when the response is over."""

    def __init__(self, body: bytes, sink: ResponseSink) -> None:
        self._body: bytes | None = body
        self._sink = sink
        self._status = 0
        self._headers: HeaderList = ()
        self._response_started = False  # http.response.start received
        self.sent = False  # the sink got start(): status and headers are final
        self.complete = False
        self._done = asyncio.Event()

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.sent and not self.complete and type(message) is dict:
            # The hot path of a stream: one more body chunk, checked in a few lookups.
            body = message.get("body", b"")
            if message.get("type") == "http.response.body" and type(body) is bytes:
                more = message.get("more_body", False)
                if body:
                    await self._sink.body(body)
                if not more:
                    self.complete = True
                    self._done.set()
                    await self._sink.end()
                return
        kind = message.get("type") if isinstance(message, Mapping) else None
        if self.complete:
            raise ASGIProtocolError(f"{kind!r} sent after the response was complete")
        if not self._response_started:
            if kind != "http.response.start":
                raise ASGIProtocolError(f"expected 'http.response.start', got {kind!r}")
            status = message.get("status")
            if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
                raise ASGIProtocolError(f"http.response.start status {status!r} is not an int")
            self._status = status
            self._headers = _headers(message.get("headers"))
            self._response_started = True
            return
        if kind != "http.response.body":
            raise ASGIProtocolError(f"expected 'http.response.body', got {kind!r}")
        body = message.get("body", b"")
        if not isinstance(body, bytes | bytearray | memoryview):
            raise ASGIProtocolError(f"http.response.body body must be bytes, not {type(body)}")
        more = bool(message.get("more_body", False))
        if not self.sent:
            self.sent = True
            await self._sink.start(self._status, self._headers)
        if body:
            await self._sink.body(bytes(body))
        if not more:
            self.complete = True
            self._done.set()
            await self._sink.end()

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        """Run the app. Errors before any byte went out become a 500; after that (a stream in
        flight) they are re-raised, for the runtime to report in the error trailers."""
        try:
            await app(scope, self.receive, self.send)
        except Exception:
            if self.complete:  # the client has the whole response; the error is only logged
                log.exception(
                    "ASGI app failed after answering %s %s", scope["method"], scope["path"]
                )
                return
            if self.sent and not isinstance(self._sink, BufferedSink):
                raise
            # Nothing reached the client yet (or only a buffer did): answer a clean 500.
            log.exception("ASGI app failed before answering %s %s", scope["method"], scope["path"])
            await self._fail()
            return
        finally:
            self._done.set()
        if not self.sent:
            log.error(
                "ASGI app returned without a complete response to %s %s: answering 500",
                scope["method"],
                scope["path"],
            )
            await self._fail()
        elif not self.complete:
            # The app returned mid-body: end what was sent, as an HTTP server closes it.
            self.complete = True
            await self._sink.end()

    async def _fail(self) -> None:
        if isinstance(self._sink, BufferedSink):
            self._sink.chunks.clear()
        self.sent = self.complete = True
        await self._sink.start(500, ERROR_HEADERS)
        await self._sink.body(ERROR_BODY)
        await self._sink.end()
