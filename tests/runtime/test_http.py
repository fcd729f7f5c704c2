"""The runtime's sans-IO HTTP/1.1 codec: every reply fed whole, byte by byte, and split."""

from __future__ import annotations

import h11
import pytest

from lambda_sse.errors import RuntimeAPIError
from lambda_sse.runtime.http import (
    ResponseParser,
    encode_chunk,
    encode_last_chunk,
    encode_request,
    encode_request_head,
)

REPLIES = [
    (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nLambda-Runtime-Aws-Request-Id: r1\r\n\r\nhello",
        200,
        b"hello",
        True,
    ),
    (
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
        202,
        b"abcde",
        True,
    ),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", True),
    (b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 202, b"", False),
]


@pytest.mark.parametrize(("raw", "status", "body", "keep_alive"), REPLIES)
@pytest.mark.parametrize("mode", ["whole", "bytewise", "halves"])
def test_parse_replies(raw: bytes, status: int, body: bytes, keep_alive: bool, mode: str) -> None:
    parser = ResponseParser()
    if mode == "whole":
        pieces = [raw]
    elif mode == "bytewise":
        pieces = [raw[i : i + 1] for i in range(len(raw))]
    else:
        pieces = [raw[: len(raw) // 2], raw[len(raw) // 2 :]]
    done = [parser.feed(piece) for piece in pieces]
    assert done[-1] is True
    assert not any(done[:-1])
    assert (parser.status, parser.body, parser.keep_alive) == (status, body, keep_alive)


def test_header_names_are_lower_cased() -> None:
    parser = ResponseParser()
    parser.feed(REPLIES[0][0])
    assert parser.headers["lambda-runtime-aws-request-id"] == "r1"


def test_body_until_close() -> None:
    parser = ResponseParser()
    assert not parser.feed(b"HTTP/1.1 500 Oops\r\n\r\npart")
    assert not parser.feed(b" two")
    assert parser.feed_eof()
    assert (parser.status, parser.reason, parser.body, parser.keep_alive) == (
        500,
        "Oops",
        b"part two",
        False,
    )


def test_close_in_the_middle_is_an_error() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(RuntimeAPIError, match="middle"):
        parser.feed_eof()


@pytest.mark.parametrize(
    "raw",
    [
        b"SMTP 200 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
    ],
)
def test_garbage_is_a_runtime_api_error(raw: bytes) -> None:
    with pytest.raises(RuntimeAPIError):
        ResponseParser().feed(raw)


def test_endless_head_is_refused() -> None:
    with pytest.raises(RuntimeAPIError, match="64 KiB"):
        ResponseParser().feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000)


def test_chunks_and_trailers_read_back_by_h11() -> None:
    """What the runtime writes is valid HTTP/1.1 to h11, trailers included."""
    head = encode_request_head(
        "POST",
        "/r",
        [("Host", "h"), ("Transfer-Encoding", "chunked"), ("Trailer", "X-Error")],
    )
    raw = head + encode_chunk(b"abc") + encode_chunk(b"") + encode_chunk(b"x" * 300)
    raw += encode_last_chunk([("X-Error", "Function.ValueError")])
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(raw)
    events = []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            break
        events.append(event)
        if isinstance(event, h11.EndOfMessage):
            break
    data = b"".join(e.data for e in events if isinstance(e, h11.Data))
    assert data == b"abc" + b"x" * 300
    end = events[-1]
    assert isinstance(end, h11.EndOfMessage)
    assert list(end.headers) == [(b"x-error", b"Function.ValueError")]


def test_empty_chunk_is_never_a_terminator() -> None:
    assert encode_chunk(b"") == b""
    assert encode_chunk(b"\x00") == b"1\r\n\x00\r\n"


def test_request_with_body_has_content_length() -> None:
    raw = encode_request("POST", "/p", "127.0.0.1:9001", b"{}", [("Content-Type", "a/b")])
    assert raw == (
        b"POST /p HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nContent-Type: a/b\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    assert b"Content-Length" not in encode_request("GET", "/n", "h")


@pytest.mark.parametrize(("name", "value"), [("X", "a\r\nInjected: 1"), ("X:Y", "v"), ("X\n", "v")])
def test_header_injection_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="forbids"):
        encode_request_head("GET", "/", [(name, value)])


def test_non_latin1_header_values_degrade_instead_of_raising() -> None:
    class 错误(Exception):  # a class name a user may well choose
        pass

    head = encode_request_head("POST", "/", [("Lambda-Runtime-Function-Error-Type", 错误.__name__)])
    assert b"Lambda-Runtime-Function-Error-Type: ??\r\n" in head
    assert encode_last_chunk([("X-Type", "Function.é错")]) == b"0\r\nX-Type: Function.\xe9?\r\n\r\n"
