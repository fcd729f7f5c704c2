from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_sse.runtime.prelude import (
    PRELUDE_LIMIT,
    PRELUDE_SEPARATOR,
    PreludeDecoder,
    PreludeError,
    encode_prelude,
)


def test_encode_is_compact_json_plus_eight_nuls() -> None:
    raw = encode_prelude({"statusCode": 201, "headers": {"a": "b"}, "cookies": ["x=1"]})
    assert raw.endswith(b"\x00" * 8)
    assert json.loads(raw[:-8]) == {"statusCode": 201, "headers": {"a": "b"}, "cookies": ["x=1"]}
    assert b" " not in raw[:-8]


@pytest.mark.parametrize(
    "bad",
    [
        {"statusCode": 200, "body": "x"},
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": True},
    ],
)
def test_encode_rejects_what_api_gateway_rejects(bad: dict[str, object]) -> None:
    with pytest.raises(PreludeError):
        encode_prelude(bad)


def test_encode_rejects_oversized() -> None:
    with pytest.raises(PreludeError, match="16384"):
        encode_prelude({"statusCode": 200, "headers": {"x": "y" * PRELUDE_LIMIT}})


@given(st.binary(max_size=200), st.lists(st.integers(min_value=1, max_value=40), max_size=20))
def test_decoder_any_chunking(body: bytes, cuts: list[int]) -> None:
    meta = {"statusCode": 200, "headers": {"content-type": "text/event-stream"}}
    stream = encode_prelude(meta) + body
    decoder = PreludeDecoder()
    out = b""
    pos = 0
    for size in [*cuts, len(stream)]:
        out += decoder.feed(stream[pos : pos + size])
        pos += size
    assert decoder.metadata == meta
    assert out == body


def test_decoder_no_separator_within_limit() -> None:
    decoder = PreludeDecoder()
    for _ in range(16):
        assert decoder.feed(b"{" + b"a" * 1023) == b""
    with pytest.raises(PreludeError, match="separator"):
        decoder.feed(b"a")


def test_decoder_separator_split_after_seven_nuls() -> None:
    decoder = PreludeDecoder()
    assert decoder.feed(b'{"statusCode":204}' + b"\x00" * 7) == b""
    assert decoder.metadata is None
    assert decoder.feed(b"\x00body") == b"body"
    assert decoder.metadata == {"statusCode": 204}


@pytest.mark.parametrize("head", [b"[1]", b"{nope", b'{"statusCode":200,"x":1}', b"\xff"])
def test_decoder_rejects_bad_json(head: bytes) -> None:
    with pytest.raises(PreludeError):
        PreludeDecoder().feed(head + PRELUDE_SEPARATOR)
