"""Read an ``invoke_with_response_stream`` response: bytes, or Server-Sent Events.

boto3's ``client.invoke_with_response_stream(...)`` returns a dict whose ``EventStream`` yields
``{"PayloadChunk": {"Payload": b"..."}}`` events and ends with ``{"InvokeComplete": {...}}``
(https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html). A function
that answers through ``HttpResponseStream.from_`` (or Node's ``HttpResponseStream.from``)
reaches an SDK caller raw: the HTTP prelude (JSON, then 8 NUL bytes) comes first, and
``ResponseStreamContentType`` is ``application/vnd.awslambda.http-integration-response``.
An error after the stream started does not raise in boto3: it is only in ``InvokeComplete``.

:class:`InvokeStream` does both chores::

    response = client.invoke_with_response_stream(FunctionName="chat", Payload=b"{}")
    stream = InvokeStream(response)
    for event in stream.events():      # or stream.chunks(), or stream.read()
        print(event.event, event.data)
    stream.metadata                    # the prelude ({"statusCode": ..., "headers": ...}) or None

A failed invocation raises :class:`~lambda_sse.errors.InvokeStreamError` (``error_code``,
``error_details``) after the bytes that arrived. It takes the response dict and imports no AWS
SDK, so it works with any client that returns botocore's shape; ``achunks()`` and
``aevents()`` read an async event stream (aiobotocore's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from lambda_sse.errors import InvokeStreamError
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, PreludeDecoder
from lambda_sse.sse import ServerSentEvent, SSEDecoder

__all__ = ["InvokeStream"]


class InvokeStream:
    """One ``invoke_with_response_stream`` response, read once (see the module docstring)."""

    def __init__(self, response: Mapping[str, Any], *, strip_prelude: bool | None = None) -> None:
        self.response = response
        self.content_type: str | None = response.get("ResponseStreamContentType")
        if strip_prelude is None:
            strip_prelude = self.content_type == PRELUDE_CONTENT_TYPE
        self._prelude = PreludeDecoder() if strip_prelude else None
        self.log_result: str | None = None  # base64 log tail, with LogType="Tail"
        self.completed = False

    @property
    def metadata(self) -> dict[str, Any] | None:
        """The HTTP prelude (``statusCode``, ``headers``, ``cookies``) once read, else None."""
        return self._prelude.metadata if self._prelude is not None else None

    # -- the sans-IO core: one event in, body bytes out ---------------------------------------

    def feed(self, event: Mapping[str, Any]) -> bytes:
        """The body bytes an event carries (the prelude held back and parsed). Raises
        :class:`InvokeStreamError` for an ``InvokeComplete`` with an ``ErrorCode``."""
        chunk = event.get("PayloadChunk")
        if chunk is not None:
            data = bytes(chunk.get("Payload") or b"")
            return self._prelude.feed(data) if self._prelude is not None else data
        complete = event.get("InvokeComplete")
        if complete is not None:
            self.completed = True
            self.log_result = complete.get("LogResult") or None
            if complete.get("ErrorCode"):
                raise InvokeStreamError(complete["ErrorCode"], complete.get("ErrorDetails"))
        return b""

    # -- blocking ------------------------------------------------------------------------------

    def chunks(self) -> Iterator[bytes]:
        """The body, piece by piece as the function wrote it (empty pieces skipped). The event
        stream is closed at the end, on an error, or when the caller stops early."""
        events: Iterable[Mapping[str, Any]] = self.response["EventStream"]
        try:
            for event in events:
                data = self.feed(event)
                if data:
                    yield data
        finally:
            close = getattr(events, "close", None)
            if callable(close):
                close()  # botocore's EventStream: releases the connection

    def read(self) -> bytes:
        """The whole body."""
        return b"".join(self.chunks())

    def events(self) -> Iterator[ServerSentEvent]:
        """The body decoded as Server-Sent Events (lambda-sse's WHATWG decoder)."""
        decoder = SSEDecoder()
        for data in self.chunks():
            yield from decoder.feed(data)

    # -- async ---------------------------------------------------------------------------------

    async def achunks(self) -> AsyncIterator[bytes]:
        async for event in self.response["EventStream"]:
            data = self.feed(event)
            if data:
                yield data

    async def aevents(self) -> AsyncIterator[ServerSentEvent]:
        decoder = SSEDecoder()
        async for data in self.achunks():
            for event in decoder.feed(data):
                yield event
