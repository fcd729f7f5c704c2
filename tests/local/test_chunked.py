"""The sans-IO chunked body decoder of the Runtime API server (RFC 9112 §7.1)."""

from __future__ import annotations

import itertools

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_sse.errors import LambdaSSEError
from lambda_sse.local.chunked import ChunkedDecoder, ChunkedFramingError

BODY = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n"
TAIL = b"0\r\nLambda-Runtime-Function-Error-Type: Boom\r\n\r\n"
EXPECTED = [b"hello", b" ", b"0123456789"]


def feed_all(decoder: ChunkedDecoder, pieces: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for piece in pieces:
        out += decoder.feed(piece)
    return out


def test_whole_message_in_one_feed() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(BODY + TAIL) == EXPECTED
    assert decoder.done
    assert decoder.tail == TAIL


def test_one_byte_at_a_time() -> None:
    data = BODY + TAIL
    decoder = ChunkedDecoder()
    out = feed_all(decoder, [data[i : i + 1] for i in range(len(data))])
    assert out == EXPECTED
    assert decoder.done
    assert decoder.tail == TAIL


def test_trailing_bytes_after_the_message_stay_in_the_tail() -> None:
    decoder = ChunkedDecoder()
    extra = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
    assert decoder.feed(BODY + TAIL + extra) == EXPECTED
    assert decoder.tail == TAIL + extra
    assert decoder.feed(b"more") == []
    assert decoder.tail == TAIL + extra + b"more"


def test_tail_is_what_h11_needs_for_the_trailers() -> None:
    """h11 parses the last chunk and the trailers the decoder hands back."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(b"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert isinstance(conn.next_event(), h11.Request)
    decoder = ChunkedDecoder()
    assert decoder.feed(BODY + TAIL) == EXPECTED
    conn.receive_data(decoder.tail)
    end = conn.next_event()
    assert isinstance(end, h11.EndOfMessage)
    assert list(end.headers) == [(b"lambda-runtime-function-error-type", b"Boom")]


def test_large_chunk_split_across_feeds() -> None:
    payload = bytes(range(256)) * 1000
    frame = b"%x\r\n%b\r\n" % (len(payload), payload)
    decoder = ChunkedDecoder()
    out = feed_all(decoder, [frame[i : i + 7919] for i in range(0, len(frame), 7919)])
    assert out == [payload]
    assert not decoder.done


@pytest.mark.parametrize(
    "bad",
    [
        b"x\r\nhello\r\n",  # not hex
        b"\r\n",  # empty size
        b"-5\r\nhello\r\n",  # sign
        b"5\nhello\r\n",  # bare LF
        b"5\r\nhelloXX",  # no CRLF after the data
        b"5 \r\nhello\r\n",  # whitespace without an extension
        b"11111111111111111\r\n",  # 17 hex digits
    ],
)
def test_malformed_framing_raises(bad: bytes) -> None:
    with pytest.raises(ChunkedFramingError):
        ChunkedDecoder().feed(bad)
    decoder = ChunkedDecoder()
    with pytest.raises(ChunkedFramingError):
        feed_all(decoder, [bad[i : i + 1] for i in range(len(bad))])


def test_bounds() -> None:
    with pytest.raises(ChunkedFramingError, match="too long"):
        ChunkedDecoder(max_line=16).feed(b"1" * 17)
    with pytest.raises(ChunkedFramingError, match="over"):
        ChunkedDecoder(max_chunk=10).feed(b"b\r\n")
    assert issubclass(ChunkedFramingError, LambdaSSEError)


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=300), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=7000), max_size=12),
)
def test_any_split_gives_the_same_chunks(chunks: list[bytes], cuts: list[int]) -> None:
    wire = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + TAIL
    points = sorted({min(c, len(wire)) for c in cuts} | {0, len(wire)})
    pieces = [wire[a:b] for a, b in itertools.pairwise(points)]
    decoder = ChunkedDecoder()
    assert feed_all(decoder, pieces) == chunks
    assert decoder.done
    assert decoder.tail == TAIL
