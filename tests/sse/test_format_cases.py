"""The decoder against the web-platform-tests format-* cases, the spec's examples and our own
edge cases (tests/sse/data/format_cases.json), each fed whole, a byte at a time, at every
two-piece split and at seeded random split points."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.sse import SSEDecoder

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "format_cases.json").read_text(encoding="utf-8")
)["cases"]


def _input(case: dict[str, Any]) -> bytes:
    if "input_latin1" in case:
        return str(case["input_latin1"]).encode("latin-1")
    return str(case["input"]).encode("utf-8")


def _decode(chunks: Iterable[bytes]) -> tuple[list[dict[str, str]], SSEDecoder]:
    decoder = SSEDecoder()
    got = [
        {"type": e.event or "", "data": e.data or "", "lastEventId": e.id or ""}
        for chunk in chunks
        for e in decoder.feed(chunk)
    ]
    decoder.close()
    return got, decoder


def _check(case: dict[str, Any], chunks: Iterable[bytes]) -> None:
    got, decoder = _decode(chunks)
    assert got == case["events"]
    assert decoder.retry == case["retry"]
    if "lastEventId" in case:
        assert decoder.last_event_id == case["lastEventId"]


def _splits(raw: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(points)]


IDS = [case["name"] for case in CASES]


def test_the_data_file_is_well_formed() -> None:
    assert len(CASES) >= 70
    assert len(set(IDS)) == len(IDS)
    assert sum(case["source"].startswith("web-platform-tests") for case in CASES) >= 18


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_whole(case: dict[str, Any]) -> None:
    _check(case, [_input(case)])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_byte_at_a_time(case: dict[str, Any]) -> None:
    raw = _input(case)
    _check(case, [raw[i : i + 1] for i in range(len(raw))])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_two_piece_split_with_empty_chunks(case: dict[str, Any]) -> None:
    raw = _input(case)
    for cut in range(min(len(raw), 300) + 1):
        _check(case, [b"", raw[:cut], b"", raw[cut:], b""])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_random_splits(case: dict[str, Any]) -> None:
    raw = _input(case)
    rng = random.Random(case["name"])
    for _ in range(30):
        cuts = [rng.randrange(len(raw) + 1) for _ in range(rng.randrange(1, 8))]
        _check(case, _splits(raw, cuts))


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # The CR ended the line at once; the LF that completes CRLF must not read as a blank line.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\r") == []
    events = decoder.feed(b"\r")
    assert [e.data for e in events] == ["a\nb"]


def test_a_cr_at_the_end_of_a_chunk_completes_the_event_at_once() -> None:
    decoder = SSEDecoder()
    assert [e.data for e in decoder.feed(b"data: now\r\r")] == ["now"]


def test_bom_split_over_three_chunks_is_stripped() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    assert [e.data for e in decoder.feed(b"\xbfdata: x\n\n")] == ["x"]


def test_partial_bom_then_other_bytes_is_content() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    # Not a BOM after all: the bytes poison the first field name, the next block is fine.
    assert decoder.feed(b"data: x\n\ndata: y\n\n")[0].data == "y"


def test_close_starts_a_new_stream_keeping_id_and_retry() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 10\nid: 7\ndata: a\n\nid: 8\ndata: pending")
    decoder.close()
    assert (decoder.last_event_id, decoder.retry) == ("7", 10)
    # The next stream may start with a BOM again, and its first event still carries id 7.
    events = decoder.feed(b"\xef\xbb\xbfdata: b\n\n")
    assert [(e.data, e.id) for e in events] == [("b", "7")]


def test_initial_last_event_id() -> None:
    decoder = SSEDecoder(last_event_id="41")
    assert decoder.last_event_id == "41"
    assert decoder.feed(b"data: x\n\n")[0].id == "41"


def test_decoded_events_have_no_retry_or_comment() -> None:
    (event,) = SSEDecoder().feed(b": c\nretry: 5\ndata: x\n\n")
    assert (event.retry, event.comment, event.event) == (None, None, "message")


def test_feed_accepts_bytearray_and_memoryview_and_refuses_str() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(bytearray(b"data: a\n")) == []
    assert decoder.feed(memoryview(b"\n"))[0].data == "a"
    with pytest.raises(TypeError, match="takes bytes, got str"):
        decoder.feed("data: x\n\n")  # type: ignore[arg-type]
