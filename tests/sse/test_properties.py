"""Hypothesis properties of the codec: round trips, chunking invariance, agreement with a
spec-literal reference parser, refusal of every unsafe field, and garbage tolerance."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lambda_sse.errors import InvalidEventError, SSEDecodeError
from lambda_sse.sse import ServerSentEvent, SSEDecoder, encode
from tests.sse import reference

# A busy CI machine must not turn a slow example into a failure.
NO_DEADLINE = settings(deadline=None)

# Hypothesis's text() leaves out lone surrogates, which UTF-8 cannot carry anyway.
one_line = st.text().filter(lambda s: "\r" not in s and "\n" not in s)
ids = one_line.filter(lambda s: "\0" not in s)
retries = st.integers(min_value=0, max_value=10**15)


@st.composite
def valid_events(draw: st.DrawFn) -> ServerSentEvent:
    return ServerSentEvent(
        data=draw(st.text()),
        event=draw(st.none() | one_line),
        id=draw(st.none() | ids),
        retry=draw(st.none() | retries),
        comment=draw(st.none() | st.text()),
    )


def _normalised(data: str) -> str:
    return data.replace("\r\n", "\n").replace("\r", "\n")


@NO_DEADLINE
@given(st.lists(valid_events(), max_size=8))
def test_decoding_an_encoding_gives_the_event_back(events: list[ServerSentEvent]) -> None:
    decoder = SSEDecoder()
    previous_id = ""
    retry: int | None = None
    for sent in events:
        (got,) = decoder.feed(sent.encode())
        expected_id = previous_id if sent.id is None else sent.id
        assert got.event == (sent.event or "message")
        assert got.data == _normalised(sent.data or "")
        assert got.id == expected_id
        assert decoder.last_event_id == expected_id
        retry = sent.retry if sent.retry is not None else retry
        assert decoder.retry == retry
        previous_id = expected_id


@NO_DEADLINE
@given(st.lists(valid_events(), max_size=6), st.data())
def test_a_concatenated_stream_in_any_chunks_round_trips(
    events: list[ServerSentEvent], data: st.DataObject
) -> None:
    stream = b"".join(e.encode() for e in events)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=False)]
    decoder = SSEDecoder()
    got = [e for chunk in chunks for e in decoder.feed(chunk)]
    assert [(e.data, e.event) for e in got] == [
        (_normalised(e.data or ""), e.event or "message") for e in events
    ]


@NO_DEADLINE
@given(st.text(), one_line, ids, retries)
def test_encode_function_matches_the_class(data: str, event: str, id: str, retry: int) -> None:
    assert encode(data, event, id, retry) == ServerSentEvent(data, event, id, retry).encode()


@NO_DEADLINE
@given(st.text())
def test_a_heartbeat_never_dispatches(comment: str) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(ServerSentEvent(comment=comment).encode()) == []
    # ...and leaves no half-open block behind: the next event is intact.
    assert [e.data for e in decoder.feed(encode("after"))] == ["after"]


# Streams built from the tokens that matter, so that random input hits the interesting paths.
TOKENS = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b":",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\x00",
    b"0",
    b"7",
    b"+",
    b"x",
    b"\xff",
    b"\xe2\x80",
    b"\xa8",
    "é".encode(),
]
streams = st.lists(st.sampled_from(TOKENS) | st.binary(max_size=4), max_size=60).map(b"".join)


def _chunked(stream: bytes, cuts: list[int]) -> Iterator[bytes]:
    points = [0, *sorted(cuts), len(stream)]
    for a, b in itertools.pairwise(points):
        yield stream[a:b]


def _run(chunks: Iterator[bytes] | list[bytes]) -> reference.Outcome:
    decoder = SSEDecoder()
    events = [(e.event or "", e.data or "", e.id or "") for c in chunks for e in decoder.feed(c)]
    decoder.close()
    return reference.Outcome(events, decoder.last_event_id, decoder.retry)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams, st.data())
def test_any_chunking_of_any_stream_agrees_with_the_reference(
    stream: bytes, data: st.DataObject
) -> None:
    expected = reference.parse(stream)
    assert _run([stream]) == expected
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    assert _run(_chunked(stream, cuts)) == expected
    assert _run([stream[i : i + 1] for i in range(len(stream))]) == expected


@NO_DEADLINE
@given(st.binary(max_size=300))
def test_arbitrary_bytes_agree_with_the_reference(stream: bytes) -> None:
    assert _run([stream]) == reference.parse(stream)


@NO_DEADLINE
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=8))
def test_garbage_yields_events_or_a_decode_error_only(stream: bytes, cuts: list[int]) -> None:
    decoder = SSEDecoder(max_line=16, max_event=32)
    try:
        for chunk in _chunked(stream, [c for c in cuts if c <= len(stream)]):
            for event in decoder.feed(chunk):
                assert isinstance(event.data, str)
    except SSEDecodeError:
        pass


# Unsafe fields: each strategy draws a value that must be refused.
def _with(char: str) -> st.SearchStrategy[str]:
    return st.tuples(st.text(), st.text()).map(lambda p: p[0] + char + p[1])


line_breaking = st.one_of(_with("\r"), _with("\n"), _with("\r\n"))


@NO_DEADLINE
@given(line_breaking)
def test_event_with_a_line_break_is_refused(value: str) -> None:
    with pytest.raises(InvalidEventError, match=r"^event "):
        ServerSentEvent("x", event=value)


@NO_DEADLINE
@given(st.one_of(line_breaking, _with("\0")))
def test_id_with_a_line_break_or_nul_is_refused(value: str) -> None:
    with pytest.raises(InvalidEventError, match=r"^id "):
        ServerSentEvent("x", id=value)


@NO_DEADLINE
@given(
    st.one_of(
        st.integers(max_value=-1),
        st.booleans(),
        st.floats(allow_nan=True),
        st.text(),
        st.binary(),
        st.decimals(allow_nan=False),
    )
)
def test_bad_retry_is_refused(value: object) -> None:
    with pytest.raises(InvalidEventError, match=r"^retry "):
        ServerSentEvent("x", retry=value)  # type: ignore[arg-type]


@NO_DEADLINE
@given(st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1))
def test_lone_surrogates_are_refused_at_encode(value: str) -> None:
    assume(value)
    with pytest.raises(InvalidEventError, match="UTF-8"):
        ServerSentEvent(value).encode()
    with pytest.raises(InvalidEventError, match="UTF-8"):
        encode("ok", event=value)
