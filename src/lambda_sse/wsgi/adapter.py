"""A WSGI app as an ASGI app: the app runs in a worker thread, its response crosses a bounded
:class:`~lambda_sse.wsgi.channel.Channel` to the runtime's event loop.

PEP 3333 (https://peps.python.org/pep-3333/) rules kept here: headers leave with the first
non-empty body string (or when the iterable ends), ``start_response`` may be called again only
with ``exc_info`` (which re-raises once headers are out), the iterable's ``close()`` is always
called, and the legacy ``write()`` callable works. Each string the iterable yields becomes one
ASGI body message, the moment it is yielded: a generator streams chunk by chunk.

An exception before the response started becomes the bridge's clean 500; after it started (a
stream in flight) it is raised on the loop, and the ASGI bridge ends the stream with the error
trailers, exactly as for an ASGI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from lambda_sse.asgi.types import Receive, Scope, Send
from lambda_sse.errors import WSGIProtocolError
from lambda_sse.wsgi.channel import Channel, ChannelClosedError
from lambda_sse.wsgi.environ import build_environ

__all__ = ["WSGIAdapter", "WSGIApp", "WSGIProtocolError"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# What crosses the channel: (START, status, headers), (BODY, bytes), (END,), (ERROR, exception).
START, BODY, END, ERROR = 0, 1, 2, 3


def _status(status: object) -> int:
    if not isinstance(status, str) or len(status) < 3 or not status[:3].isdigit():
        raise WSGIProtocolError(f"status {status!r} is not a str such as '200 OK'")
    code = int(status[:3])
    if not 100 <= code <= 599 or (len(status) > 3 and status[3] != " "):
        raise WSGIProtocolError(f"status {status!r} is not a str such as '200 OK'")
    return code


def _headers(headers: object) -> list[tuple[bytes, bytes]]:
    if not isinstance(headers, list):
        raise WSGIProtocolError(f"response headers must be a list, not {type(headers).__name__}")
    out: list[tuple[bytes, bytes]] = []
    for pair in headers:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise WSGIProtocolError(f"header {pair!r} is not a (name, value) tuple")
        name, value = pair
        if not isinstance(name, str) or not isinstance(value, str):
            raise WSGIProtocolError(f"header {pair!r} must be a pair of str")
        try:
            out.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            raise WSGIProtocolError(f"header {pair!r} is not latin-1 (PEP 3333)") from None
    return out


class _Response:
    """The worker thread's half: start_response, write, and the iteration of the body."""

    def __init__(self, channel: Channel[tuple[Any, ...]]) -> None:
        self._channel = channel
        self._pending: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self._sent = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self._sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback (PEP 3333)
        elif self._pending is not None:
            raise WSGIProtocolError("start_response called a second time without exc_info")
        self._pending = (_status(status), _headers(headers))
        return self.write

    def write(self, data: bytes) -> None:
        if type(data) is not bytes:
            if not isinstance(data, bytes | bytearray):
                raise WSGIProtocolError(f"the body must be bytes, not {type(data).__name__}")
            data = bytes(data)
        if not data:
            return  # nothing to send; headers wait for a non-empty string (PEP 3333)
        if not self._sent:
            self._send_start()
        self._channel.put((BODY, data), len(data))

    def _send_start(self) -> None:
        if self._pending is None:
            raise WSGIProtocolError("the app sent a body before calling start_response")
        self._sent = True
        self._channel.put((START, *self._pending))

    def run(self, app: WSGIApp, environ: dict[str, Any]) -> None:
        """The thread's whole job; never raises (outcomes go through the channel)."""
        try:
            result = app(environ, self.start_response)
            try:
                write = self.write
                for data in result:
                    write(data)
                if not self._sent:
                    self._send_start()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except ChannelClosedError:
            return
        except BaseException as exc:  # the loop decides what an error means for the response
            with contextlib.suppress(ChannelClosedError):
                self._channel.put((ERROR, exc))
            return
        with contextlib.suppress(ChannelClosedError):
            self._channel.put((END,))


class WSGIAdapter:
    """The ASGI app that serves ``app`` (WSGI) one request at a time on a worker thread.

    ``max_buffer_items`` / ``max_buffer_bytes`` bound what the app may produce ahead of the
    client: beyond them its thread blocks in ``yield`` (or ``write``) until the stream drains.
    """

    def __init__(
        self, app: WSGIApp, *, max_buffer_items: int = 64, max_buffer_bytes: int = 1 << 20
    ) -> None:
        self.app = app
        self.max_buffer_items = max_buffer_items
        self.max_buffer_bytes = max_buffer_bytes
        # Managed Instances may run several invocations of one process at once
        # (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-managed-instances).
        concurrency = os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "")
        self.multithread = concurrency.isdigit() and int(concurrency) > 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan in WSGI; the bridge runs it off anyway
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        environ = build_environ(scope, bytes(body), multithread=self.multithread)
        loop = asyncio.get_running_loop()
        channel: Channel[tuple[Any, ...]] = Channel(
            loop, max_items=self.max_buffer_items, max_bytes=self.max_buffer_bytes
        )
        response = _Response(channel)
        # A daemon thread of its own, not the loop's executor: an app still running after the
        # response is abandoned must not hold up the process's exit.
        worker = threading.Thread(
            target=response.run, args=(self.app, environ), name="lambda-sse-wsgi", daemon=True
        )
        worker.start()
        try:
            await self._relay(channel, send)
        finally:
            channel.close()

    @staticmethod
    async def _relay(channel: Channel[tuple[Any, ...]], send: Send) -> None:
        body_message = "http.response.body"
        while True:
            for item in await channel.get_all():
                kind = item[0]
                if kind == BODY:
                    await send({"type": body_message, "body": item[1], "more_body": True})
                elif kind == START:
                    start = {"type": "http.response.start", "status": item[1], "headers": item[2]}
                    await send(start)
                elif kind == END:
                    await send({"type": body_message, "body": b"", "more_body": False})
                    return
                else:
                    raise item[1]
