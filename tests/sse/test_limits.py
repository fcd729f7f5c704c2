"""The decoder's size limits: bounded memory whatever the peer sends, and clear errors."""

from __future__ import annotations

import time
from collections.abc import Iterable

import pytest

from lambda_sse.errors import LambdaSSEError, SSEDecodeError
from lambda_sse.sse import SSEDecoder, SSELimitError
from lambda_sse.sse.decoder import DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE


def _feed_all(decoder: SSEDecoder, chunks: Iterable[bytes], delivered: list[str]) -> None:
    """Feed every chunk, recording what each feed() returned, until the decoder raises."""
    for chunk in chunks:
        delivered += [e.data or "" for e in decoder.feed(chunk)]


def test_defaults_are_finite() -> None:
    decoder = SSEDecoder()
    assert (decoder.max_line, decoder.max_event) == (DEFAULT_MAX_LINE, DEFAULT_MAX_EVENT)
    assert DEFAULT_MAX_LINE <= DEFAULT_MAX_EVENT < 2**31


def test_a_line_of_exactly_max_line_bytes_is_fine() -> None:
    decoder = SSEDecoder(max_line=10)
    assert decoder.feed(b"data: 1234\n\n")[0].data == "1234"  # "data: 1234" is 10 bytes


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 10_000])
def test_a_long_complete_line_raises_however_chunked(chunk_size: int) -> None:
    stream = b"data: ok\n\ndata: 12345\n\n"  # the second line is 11 bytes
    decoder = SSEDecoder(max_line=10)
    delivered: list[str] = []
    chunks = (stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size))
    with pytest.raises(SSELimitError, match="max_line=10") as caught:
        _feed_all(decoder, chunks, delivered)
    # Events completed before the bad line reach the caller, from feed() or from the error.
    assert delivered + [e.data or "" for e in caught.value.events] == ["ok"]
    assert isinstance(caught.value, SSEDecodeError)
    assert isinstance(caught.value, LambdaSSEError)


def test_an_endless_line_is_cut_off_without_buffering_it() -> None:
    decoder = SSEDecoder(max_line=1000)
    chunk = b"x" * 64
    sent: list[bytes] = []

    def endless() -> Iterable[bytes]:
        for _ in range(10_000):
            sent.append(chunk)
            yield chunk

    with pytest.raises(SSELimitError, match="max_line=1000"):
        _feed_all(decoder, endless(), [])
    # It stops within one chunk of the limit, not after the peer has sent everything.
    assert 1000 < len(sent) * len(chunk) <= 1000 + len(chunk)


def test_an_oversized_unterminated_line_in_one_chunk_raises() -> None:
    decoder = SSEDecoder(max_line=10)
    with pytest.raises(SSELimitError) as caught:
        decoder.feed(b"data: a\n\ndata: 0123456789")
    assert [e.data for e in caught.value.events] == ["a"]


def test_event_limit_counts_the_data_of_one_event() -> None:
    decoder = SSEDecoder(max_event=11)
    # "12345", LF, "12345" is 11 bytes of data: the limit, not over it.
    assert decoder.feed(b"data: 12345\ndata:12345\n\n")[0].data == "12345\n12345"
    with pytest.raises(SSELimitError, match="max_event=11") as caught:
        decoder.feed(b"data: a\n\ndata: 12345\ndata: 123456\n\n")
    assert [e.data for e in caught.value.events] == ["a"]


def test_event_limit_spans_chunks() -> None:
    decoder = SSEDecoder(max_line=100, max_event=50)
    with pytest.raises(SSELimitError, match="max_event=50"):
        _feed_all(decoder, [b"data: 0123456789\n"] * 100, [])


def test_after_an_error_the_decoder_refuses_until_closed() -> None:
    decoder = SSEDecoder(max_line=4)
    with pytest.raises(SSELimitError):
        decoder.feed(b"data: long\n")
    with pytest.raises(SSEDecodeError, match="earlier error"):
        decoder.feed(b"data\n\n")
    decoder.close()
    assert decoder.feed(b"data\n\n")[0].data == ""


def test_a_long_line_a_byte_at_a_time_takes_linear_time() -> None:
    size = 200_000
    decoder = SSEDecoder()
    start = time.perf_counter()
    decoder.feed(b"data: ")
    for _ in range(size):
        decoder.feed(b"x")
    (event,) = decoder.feed(b"\n\n")
    assert len(event.data or "") == size
    # Quadratic joining would copy ~20 GB here; linear work is well under a second.
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize(
    "kwargs", [{"max_line": 0}, {"max_line": -1}, {"max_event": True}, {"max_event": 1.5}]
)
def test_bad_limits_are_refused(kwargs: dict[str, object]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"^{name} must be a positive int"):
        SSEDecoder(**kwargs)  # type: ignore[arg-type]


def test_bad_initial_last_event_id_is_refused() -> None:
    with pytest.raises(ValueError, match="last_event_id"):
        SSEDecoder(last_event_id="a\0b")


def test_retry_leading_zeros_never_count_against_the_digit_limit() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: " + b"0" * 5000 + b"5\n\n")
    assert decoder.retry == 5
    decoder.feed(b"retry: " + b"0" * 5000 + b"\n\n")
    assert decoder.retry == 0


def test_a_retry_too_long_for_int_is_ignored_not_a_crash() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 7\n\n")
    decoder.feed(b"retry: " + b"9" * 4301 + b"\n\n")
    assert decoder.retry == 7
    decoder.feed(b"retry: " + b"9" * 4300 + b"\n\n")
    assert decoder.retry == 10**4300 - 1
