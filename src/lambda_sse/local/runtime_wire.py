"""The Runtime API server's wire, h11 plus the fast chunked decoder: request heads, whole
events, and streamed bodies passed on chunk by chunk. Functions of an ``h11.Connection`` and an
``asyncio.StreamReader``; the server (:mod:`lambda_sse.local.runtime_api`) decides what to do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import h11

from lambda_sse.errors import TruncatedRequestError
from lambda_sse.local.chunked import ChunkedDecoder
from lambda_sse.local.runtime_invocation import RuntimeInvocation
from lambda_sse.local.runtime_protocol import Answer

__all__ = [
    "MAX_HEAD",
    "READ_SIZE",
    "encode_answer",
    "headers",
    "next_event",
    "next_request",
    "stream_chunks",
    "stream_h11",
]

READ_SIZE = 64 * 1024
MAX_HEAD = 64 * 1024  # bytes of a request head read line by line; h11 rejects over 16 KiB


async def next_request(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    """The next request head. Read line by line, so that h11 gets the head and no body
    bytes: a streamed body can then be decoded without h11 (see :func:`stream_chunks`)."""
    event = conn.next_event()
    if event is not h11.NEED_DATA or conn.trailing_data[0]:
        return event if event is not h11.NEED_DATA else await next_event(conn, reader)
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
    return await next_event(conn, reader)


async def next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    """The next h11 event (a class sentinel such as PAUSED, or an h11.Event)."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(READ_SIZE)
            conn.receive_data(data)
            continue
        return event


def encode_answer(conn: h11.Connection, answer: Answer) -> bytes:
    """The whole reply to one request, through h11 (so its state machine follows)."""
    fields = [
        ("Content-Type", answer.content_type),
        ("Content-Length", str(len(answer.body))),
        *answer.headers,
    ]
    data = conn.send(h11.Response(status_code=answer.status, headers=fields)) or b""
    data += conn.send(h11.Data(data=answer.body)) or b""
    return data + (conn.send(h11.EndOfMessage()) or b"")


async def stream_chunks(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    invocation: RuntimeInvocation,
    sink: list[tuple[float, bytes]] | None,
    clock: Callable[[], float],
) -> h11.EndOfMessage:
    """The hot path: chunks decoded by :class:`ChunkedDecoder` (h11 got the head and no body
    bytes), passed on one by one; h11 parses the last chunk and the trailers."""
    decoder = ChunkedDecoder()
    while not decoder.done:
        data = await reader.read(READ_SIZE)
        if not data:
            raise TruncatedRequestError("stream ended without its final chunk")
        for chunk in decoder.feed(data):
            if sink is not None:
                sink.append((clock(), chunk))
            if not invocation.detached:
                await invocation._chunk(chunk)
        if decoder.failed is not None:
            raise decoder.failed  # after the good chunks before it, as h11 would
    conn.receive_data(decoder.tail)
    event = await next_event(conn, reader)
    if not isinstance(event, h11.EndOfMessage):
        raise TruncatedRequestError("stream ended without its final chunk")
    return event


async def stream_h11(
    conn: h11.Connection,
    reader: asyncio.StreamReader,
    invocation: RuntimeInvocation,
    sink: list[tuple[float, bytes]] | None,
    clock: Callable[[], float],
    chunked: bool,
) -> h11.EndOfMessage:
    """The body through h11: a Content-Length body, or a chunked one when h11 already holds
    body bytes (it read past the head). Wire chunks are passed on whole, other bodies as
    they arrive."""
    pending: list[bytes] = []  # pieces of one wire chunk, joined at chunk_end
    while True:
        event = await next_event(conn, reader)
        if isinstance(event, h11.Data):
            pending.append(event.data)
            if chunked and not event.chunk_end:
                continue
            data = b"".join(pending)
            pending.clear()
            if sink is not None:
                sink.append((clock(), data))
            if invocation.detached:
                continue
            await invocation._chunk(data)
            continue
        if isinstance(event, h11.EndOfMessage):
            return event
        raise TruncatedRequestError("stream ended without its final chunk")


def headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
