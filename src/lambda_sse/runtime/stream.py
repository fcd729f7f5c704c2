"""The streaming handler API: the Python twin of Node's ``awslambda.streamifyResponse``.

::

    @streamify_response
    async def handler(event, response_stream, context):
        response_stream = HttpResponseStream.from_(response_stream, {"statusCode": 200})
        await response_stream.write("hello")
        await response_stream.end()        # optional: returning ends the stream

A plain ``def`` handler gets a :class:`SyncResponseStream` whose ``write`` and ``end`` block.

On the wire (docs: runtimes-custom.html#runtimes-custom-response-streaming) the stream is one
POST /response with ``Lambda-Runtime-Function-Response-Mode: streaming``, chunked framing written
here (``http.client`` cannot send trailers and drops empty chunks), and the error trailers declared
up front. The request head, and the prelude after :meth:`HttpResponseStream.from_`, go out with the
first write or at the end: the prelude is sent even when the body stays empty, where AWS's Node
client loses status and headers
(https://github.com/aws/aws-lambda-nodejs-runtime-interface-client/issues/97).

Every write goes straight to the socket: an async write waits while the socket is full
(backpressure), a sync write blocks. Nothing is buffered beyond the kernel's socket buffer.

Rule the ASGI bridge relies on: a streaming handler that returns a value other than ``None``
without having touched its stream (no write, ``from_``, ``end`` or ``set_content_type``) gets a
buffered JSON response instead. This module imports no asyncio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lambda_sse.aws import (
    RESPONSE_MODE_HEADER,
    STREAM_DEFAULT_CONTENT_TYPE,
    TRAILER_ERROR_BODY,
    TRAILER_ERROR_TYPE,
)
from lambda_sse.errors import ArgumentTypeError, ResponseStreamError
from lambda_sse.runtime.http import encode_chunk, encode_last_chunk, encode_request_head
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, encode_prelude

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from socket import socket
    from typing import Any, Protocol, TypeVar

    H = TypeVar("H", bound=Callable[..., Any])

    class SyncSink(Protocol):
        def send(self, data: bytes) -> None: ...

    class AsyncSink(Protocol):
        async def send(self, data: bytes) -> None: ...


__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "HttpResponseStream",
    "ResponseStream",
    "SyncResponseStream",
    "is_streaming",
    "streamify_response",
]

DEFAULT_CONTENT_TYPE = STREAM_DEFAULT_CONTENT_TYPE
_STREAMING_ATTR = "__lambda_sse_streaming__"

Data = bytes | bytearray | memoryview | str


def streamify_response(handler: H) -> H:
    """Mark ``handler(event, response_stream, context)`` as a streaming handler (plain ``def``
    or ``async def``). Returns the handler itself, so it stays callable and inspectable."""
    if not callable(handler):
        raise ArgumentTypeError(
            f"streamify_response needs a callable, got {type(handler).__name__}"
        )
    try:
        setattr(handler, _STREAMING_ATTR, True)
    except (AttributeError, TypeError):
        raise ArgumentTypeError(
            f"streamify_response cannot mark {handler!r}: wrap it in a function"
        ) from None
    return handler


def is_streaming(handler: object) -> bool:
    return getattr(handler, _STREAMING_ATTR, False) is True


class _StreamState:
    """What both stream flavours share: the sans-IO framing of one streamed response."""

    def __init__(self, target: str, host: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        self._target = target
        self._host = host
        self._extra_headers = list(headers)  # e.g. Lambda-Runtime-Invocation-Id
        self._content_type = DEFAULT_CONTENT_TYPE
        self._prelude: bytes | None = None
        self.touched = False  # any use at all: the handler chose to stream
        self.started = False  # the request head went out: errors now go in trailers
        self.ended = False

    def set_content_type(self, content_type: str) -> None:
        """The raw body's Content-Type (Node's ``setContentType``); before the first write."""
        if self.started or self.ended:
            raise ResponseStreamError("set_content_type() must come before the first write")
        if self._prelude is not None:
            raise ResponseStreamError(
                "set_content_type() after HttpResponseStream.from_(): put the content type in "
                "the prelude's headers instead"
            )
        if not isinstance(content_type, str) or "\r" in content_type or "\n" in content_type:
            raise ResponseStreamError(f"invalid content type {content_type!r}")
        self.touched = True
        self._content_type = content_type

    def _set_prelude(self, metadata: Mapping[str, Any]) -> None:
        if self.started or self.ended:
            raise ResponseStreamError("HttpResponseStream.from_() must come before the first write")
        if self._prelude is not None:
            raise ResponseStreamError("HttpResponseStream.from_() was already called")
        if not isinstance(metadata, Mapping):
            raise ResponseStreamError(
                f"HttpResponseStream.from_() needs a dict of metadata, got "
                f"{type(metadata).__name__}"
            )
        self._prelude = encode_prelude(metadata)
        self._content_type = PRELUDE_CONTENT_TYPE
        self.touched = True

    def _head(self) -> bytes:
        head = encode_request_head(
            "POST",
            self._target,
            [
                ("Host", self._host),
                (RESPONSE_MODE_HEADER, "streaming"),
                ("Transfer-Encoding", "chunked"),
                ("Trailer", f"{TRAILER_ERROR_TYPE}, {TRAILER_ERROR_BODY}"),
                ("Content-Type", self._content_type),
                ("Connection", "close"),
                *self._extra_headers,
            ],
        )
        self.started = True
        if self._prelude is not None:
            head += encode_chunk(self._prelude)
        return head

    def _frame(self, data: Data) -> bytes:
        if self.ended:
            raise ResponseStreamError("write() after end(): the response stream is closed")
        self.touched = True
        if isinstance(data, str):
            raw = data.encode("utf-8")
        elif isinstance(data, bytes | bytearray | memoryview):
            raw = bytes(data)
        else:
            raise ResponseStreamError(f"write() takes bytes or str, not {type(data).__name__}")
        if self.started:
            return encode_chunk(raw)
        return self._head() + encode_chunk(raw)

    def _final(self, trailers: Sequence[tuple[str, str]] = ()) -> bytes:
        """The bytes that end the body; the head too when nothing was sent yet."""
        self.touched = True
        self.ended = True
        head = b"" if self.started else self._head()
        return head + encode_last_chunk(trailers)


class ResponseStream(_StreamState):
    """The stream an ``async def`` streaming handler gets."""

    def __init__(
        self, sink: AsyncSink, target: str, host: str, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(target, host, headers)
        self._sink = sink
        self._sock: socket | None = None  # set while the body is open: the fast path

    async def write(self, data: Data) -> None:
        """Send ``data`` (``str`` is UTF-8 encoded). Waits while the socket is full. An empty
        write sends no chunk (an empty chunk would end the body); as the first write it sends
        the request head and the prelude at once (flushes the status and headers early)."""
        sock = self._sock
        if sock is not None:
            # Fast path, one send() per event: the socket is non-blocking, and only what does
            # not fit goes through the loop, which waits until the socket drains.
            if data.__class__ is str:
                data = data.encode()
            if data.__class__ is bytes and data:
                frame = b"%x\r\n%b\r\n" % (len(data), data)
                try:
                    sent = sock.send(frame)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                if sent != len(frame):
                    await self._sink.send(frame[sent:])
                return
        frame = self._frame(data)
        if frame:
            await self._sink.send(frame)
            if not self.ended:
                self._sock = getattr(self._sink, "sock", None)

    async def end(self, data: Data | None = None) -> None:
        """End the body (optionally after a last write). Ending twice is harmless."""
        if self.ended:
            return
        if data is not None:
            await self.write(data)
        self._sock = None
        await self._sink.send(self._final())

    async def _fail(self, trailers: list[tuple[str, str]]) -> None:
        self._sock = None
        await self._sink.send(self._final(trailers))


class SyncResponseStream(_StreamState):
    """The stream a plain ``def`` streaming handler gets: ``write`` and ``end`` block."""

    def __init__(
        self, sink: SyncSink, target: str, host: str, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(target, host, headers)
        self._sink = sink
        self._sock: socket | None = None  # set while the body is open: the fast path

    def write(self, data: Data) -> None:
        """Blocking twin of :meth:`ResponseStream.write`."""
        sock = self._sock
        if sock is not None:
            if data.__class__ is str:
                data = data.encode()
            if data.__class__ is bytes and data:
                sock.sendall(b"%x\r\n%b\r\n" % (len(data), data))
                return
        frame = self._frame(data)
        if frame:
            self._sink.send(frame)
            if not self.ended:
                self._sock = getattr(self._sink, "sock", None)

    def end(self, data: Data | None = None) -> None:
        if self.ended:
            return
        if data is not None:
            self.write(data)
        self._sock = None
        self._sink.send(self._final())

    def _fail(self, trailers: list[tuple[str, str]]) -> None:
        self._sock = None
        self._sink.send(self._final(trailers))


if TYPE_CHECKING:
    S = TypeVar("S", ResponseStream, SyncResponseStream)


class HttpResponseStream:
    """Namespace for :meth:`from_`, the twin of Node's ``awslambda.HttpResponseStream.from``."""

    @staticmethod
    def from_(response_stream: S, metadata: Mapping[str, Any]) -> S:
        """Make ``response_stream`` an HTTP response: ``metadata`` holds ``statusCode``,
        ``headers``, ``multiValueHeaders`` and ``cookies`` (nothing else: API Gateway answers
        500 to other keys). Returns the stream to write the body to."""
        if not isinstance(response_stream, _StreamState):
            raise ResponseStreamError(
                "HttpResponseStream.from_() needs the response_stream the handler was given"
            )
        response_stream._set_prelude(metadata)
        return response_stream
