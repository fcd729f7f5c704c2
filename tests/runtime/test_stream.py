"""The response stream's framing and rules, with in-memory sinks (no sockets)."""

from __future__ import annotations

import json

import h11
import pytest

import lambda_sse
from lambda_sse.errors import ResponseStreamError
from lambda_sse.runtime import on_shutdown, shutdown
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, PreludeDecoder, PreludeError
from lambda_sse.runtime.stream import (
    HttpResponseStream,
    ResponseStream,
    SyncResponseStream,
    is_streaming,
    streamify_response,
)

TARGET = "/2018-06-01/runtime/invocation/rid/response"


class ListSink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)


class AsyncListSink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> None:
        self.sent.append(data)


def parse(raw: bytes) -> tuple[dict[str, str], bytes, dict[str, str]]:
    """Read a streamed POST back with h11: (headers, body, trailers)."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(raw)
    headers: dict[str, str] = {}
    body = b""
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Request):
            headers = {k.decode(): v.decode() for k, v in event.headers}
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return headers, body, {k.decode(): v.decode() for k, v in event.headers}
        else:
            raise AssertionError(f"incomplete request: {event!r}")


def test_streamify_marks_and_returns_the_same_function() -> None:
    def handler(event: object, stream: object, context: object) -> None:
        return None

    assert not is_streaming(handler)
    assert streamify_response(handler) is handler
    assert is_streaming(handler)
    assert lambda_sse.streamify_response is streamify_response
    assert lambda_sse.HttpResponseStream is HttpResponseStream


def test_streamify_refuses_non_callables() -> None:
    with pytest.raises(TypeError, match="callable"):
        streamify_response(42)  # type: ignore[type-var]


def test_sync_stream_wire_format() -> None:
    sink = ListSink()
    stream = SyncResponseStream(sink, TARGET, "127.0.0.1:9001")
    stream.set_content_type("text/event-stream")
    assert sink.sent == []  # nothing leaves before the first write
    stream.write("data: é\n\n")
    stream.write(b"")  # sends nothing, and above all does not end the body
    stream.write(bytearray(b"data: 2\n\n"))
    stream.end()
    headers, body, trailers = parse(b"".join(sink.sent))
    assert headers["lambda-runtime-function-response-mode"] == "streaming"
    assert headers["transfer-encoding"] == "chunked"
    assert headers["trailer"] == (
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    assert headers["content-type"] == "text/event-stream"
    assert body == "data: é\n\ndata: 2\n\n".encode()
    assert trailers == {}
    assert len(sink.sent) == 3  # one socket write per non-empty write, one for the end


def test_default_content_type() -> None:
    sink = ListSink()
    stream = SyncResponseStream(sink, TARGET, "h")
    stream.end()
    headers, body, _ = parse(b"".join(sink.sent))
    assert headers["content-type"] == "application/octet-stream"
    assert body == b""


def test_prelude_is_sent_even_for_an_empty_body() -> None:
    sink = ListSink()
    stream = HttpResponseStream.from_(
        SyncResponseStream(sink, TARGET, "h"),
        {"statusCode": 404, "headers": {"x-a": "b"}, "cookies": ["c=1"]},
    )
    assert sink.sent == []
    stream.end()
    headers, body, _ = parse(b"".join(sink.sent))
    assert headers["content-type"] == PRELUDE_CONTENT_TYPE
    decoder = PreludeDecoder()
    assert decoder.feed(body) == b""
    assert decoder.metadata == {"statusCode": 404, "headers": {"x-a": "b"}, "cookies": ["c=1"]}


@pytest.mark.anyio
async def test_async_stream_with_prelude_and_error_trailers() -> None:
    sink = AsyncListSink()
    stream = HttpResponseStream.from_(
        ResponseStream(sink, TARGET, "h"), {"statusCode": 200, "multiValueHeaders": {"a": ["1"]}}
    )
    await stream.write("partial")
    await stream._fail([("Lambda-Runtime-Function-Error-Type", "Function.ValueError")])
    assert stream.ended
    _, body, trailers = parse(b"".join(sink.sent))
    decoder = PreludeDecoder()
    assert decoder.feed(body) == b"partial"
    assert decoder.metadata == {"statusCode": 200, "multiValueHeaders": {"a": ["1"]}}
    assert trailers == {"lambda-runtime-function-error-type": "Function.ValueError"}
    with pytest.raises(ResponseStreamError, match="after end"):
        await stream.write("late")
    await stream.end()  # ending twice is harmless


@pytest.mark.anyio
async def test_async_end_with_data() -> None:
    sink = AsyncListSink()
    stream = ResponseStream(sink, TARGET, "h")
    await stream.end("last words")
    _, body, _ = parse(b"".join(sink.sent))
    assert body == b"last words"


def test_order_rules() -> None:
    stream = SyncResponseStream(ListSink(), TARGET, "h")
    touched = [stream.touched]
    stream.write("x")
    touched.append(stream.touched)
    assert touched == [False, True]
    with pytest.raises(ResponseStreamError, match="before the first write"):
        stream.set_content_type("text/plain")
    with pytest.raises(ResponseStreamError, match="before the first write"):
        HttpResponseStream.from_(stream, {"statusCode": 200})
    other = HttpResponseStream.from_(SyncResponseStream(ListSink(), TARGET, "h"), {})
    with pytest.raises(ResponseStreamError, match="already called"):
        HttpResponseStream.from_(other, {})
    with pytest.raises(ResponseStreamError, match="prelude"):
        other.set_content_type("text/plain")


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({"statusCode": 200, "body": "x"}, PreludeError),
        ({"statusCode": 42}, PreludeError),
        ([("statusCode", 200)], ResponseStreamError),
    ],
)
def test_bad_metadata_is_a_clear_error(metadata: object, error: type[Exception]) -> None:
    stream = SyncResponseStream(ListSink(), TARGET, "h")
    with pytest.raises(error):
        HttpResponseStream.from_(stream, metadata)  # type: ignore[arg-type]
    assert not stream.touched


def test_from_needs_a_response_stream() -> None:
    with pytest.raises(ResponseStreamError, match="response_stream"):
        HttpResponseStream.from_(object(), {})  # type: ignore[type-var]


@pytest.mark.parametrize("bad", [1, None, ["x"]])
def test_write_refuses_other_types(bad: object) -> None:
    stream = SyncResponseStream(ListSink(), TARGET, "h")
    with pytest.raises(ResponseStreamError, match="bytes or str"):
        stream.write(bad)  # type: ignore[arg-type]


def test_bad_content_type() -> None:
    with pytest.raises(ResponseStreamError, match="invalid content type"):
        SyncResponseStream(ListSink(), TARGET, "h").set_content_type("text/plain\r\nX: 1")


def test_on_shutdown_registry() -> None:
    def first() -> None: ...

    async def second() -> None: ...

    try:
        assert on_shutdown(first) is first
        on_shutdown(second)
        on_shutdown(first)  # twice: still once
        assert shutdown.registered() == [second, first]
        with pytest.raises(TypeError, match="callable"):
            on_shutdown("nope")  # type: ignore[type-var]
    finally:
        shutdown.unregister(first)
        shutdown.unregister(second)
    assert shutdown.registered() == []


def test_stream_metadata_json_is_compact() -> None:
    sink = ListSink()
    HttpResponseStream.from_(SyncResponseStream(sink, TARGET, "h"), {"statusCode": 200}).end()
    _, body, _ = parse(b"".join(sink.sent))
    assert body == json.dumps({"statusCode": 200}, separators=(",", ":")).encode() + b"\0" * 8
