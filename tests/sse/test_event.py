"""The event type and encoder: exact bytes, immutability, and refusal of unsafe fields."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from lambda_sse.errors import InvalidEventError, LambdaSSEError
from lambda_sse.sse import ServerSentEvent, SSEDecoder, encode


@pytest.mark.parametrize(
    ("kwargs", "wire"),
    [
        ({"data": "hello"}, b"data: hello\n\n"),
        ({"data": ""}, b"data: \n\n"),
        ({"data": " lead"}, b"data:  lead\n\n"),
        ({"data": "a\nb"}, b"data: a\ndata: b\n\n"),
        ({"data": "a\r\nb\rc\nd"}, b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
        ({"data": "a\r\n"}, b"data: a\ndata: \n\n"),
        ({"data": "\n"}, b"data: \ndata: \n\n"),
        ({"data": "a\u2028b\x85c\x0bd\x0ce"}, "data: a\u2028b\x85c\x0bd\x0ce\n\n".encode()),
        ({"data": "é€😀"}, "data: é€😀\n\n".encode()),
        (
            {"data": "x", "event": "tick", "id": "7", "retry": 1500},
            b"event: tick\nid: 7\nretry: 1500\ndata: x\n\n",
        ),
        ({"id": "42"}, b"id: 42\n\n"),
        ({"id": ""}, b"id: \n\n"),
        ({"retry": 0}, b"retry: 0\n\n"),
        ({"event": "", "data": "x"}, b"event: \ndata: x\n\n"),
        ({"comment": "ping"}, b": ping\n"),
        ({"comment": ""}, b": \n"),
        ({"comment": "a\r\nb"}, b": a\n: b\n"),
        ({"comment": "keep", "data": "x"}, b": keep\ndata: x\n\n"),
        ({}, b"\n"),
    ],
)
def test_encode_exact_bytes(kwargs: dict[str, object], wire: bytes) -> None:
    assert ServerSentEvent(**kwargs).encode() == wire  # type: ignore[arg-type]
    assert encode(**kwargs) == wire  # type: ignore[arg-type]


def test_positional_order_matches_design() -> None:
    event = ServerSentEvent("d", "e", "i", 5, "c")
    assert (event.data, event.event, event.id, event.retry, event.comment) == (
        "d",
        "e",
        "i",
        5,
        "c",
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"event": "a\nb"}, "event"),
        ({"event": "a\rb"}, "event"),
        ({"event": "a\r\n"}, "event"),
        ({"id": "1\n"}, "id"),
        ({"id": "\r1"}, "id"),
        ({"id": "1\x002"}, "id"),
        ({"retry": -1}, "retry"),
        ({"retry": True}, "retry"),
        ({"retry": 1.5}, "retry"),
        ({"retry": "100"}, "retry"),
        ({"data": b"bytes"}, "data"),
        ({"data": {"a": 1}}, "data"),
        ({"data": 5}, "data"),
        ({"event": 5}, "event"),
        ({"id": 5}, "id"),
        ({"comment": b"x"}, "comment"),
    ],
)
def test_invalid_fields_raise_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidEventError, match=f"^{field} ") as caught:
        ServerSentEvent(**kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, LambdaSSEError)
    with pytest.raises(InvalidEventError, match=f"^{field} "):
        encode(**kwargs)  # type: ignore[arg-type]


def test_unicode_separators_are_allowed_in_event_and_id() -> None:
    # Only CR and LF end SSE lines; U+2028 and NEL are plain content.
    assert ServerSentEvent("x", event="a\u2028b", id="\x85").encode() == (
        "event: a\u2028b\nid: \x85\ndata: x\n\n".encode()
    )


def test_str_subclass_is_accepted_and_written_as_plain_text() -> None:
    class Text(str):
        def __format__(self, spec: str) -> str:
            return "formatted"

    event = ServerSentEvent(Text("a\nb"), event=Text("t"), id=Text("1"), comment=Text("c"))
    assert event.encode() == b": c\nevent: t\nid: 1\ndata: a\ndata: b\n\n"
    assert encode(Text("x"), event=Text("t")) == b"event: t\ndata: x\n\n"
    assert type(event.event) is str


def test_int_subclass_retry_is_written_as_a_plain_int() -> None:
    import enum

    class Delay(enum.IntEnum):
        SOON = 250

        def __format__(self, spec: str) -> str:
            return "soon"

    assert ServerSentEvent(retry=Delay.SOON).encode() == b"retry: 250\n\n"
    assert encode(retry=Delay.SOON) == b"retry: 250\n\n"
    assert type(ServerSentEvent(retry=Delay.SOON).retry) is int


def test_immutable() -> None:
    event = ServerSentEvent("x")
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        event.other = 1  # type: ignore[attr-defined]
    assert event.data == "x"


def test_equality_hash_repr_pickle() -> None:
    a = ServerSentEvent("x", event="e", id="1", retry=3)
    b = ServerSentEvent("x", event="e", id="1", retry=3)
    assert a == b
    assert hash(a) == hash(b)
    assert a != ServerSentEvent("x", event="e", id="2", retry=3)
    assert a != "x"
    assert repr(a) == "ServerSentEvent(data='x', event='e', id='1', retry=3)"
    assert repr(ServerSentEvent()) == "ServerSentEvent()"
    assert pickle.loads(pickle.dumps(a)) == a


def test_match_args() -> None:
    match ServerSentEvent("payload", "kind"):
        case ServerSentEvent(data, kind):
            assert (data, kind) == ("payload", "kind")
        case _:  # pragma: no cover
            pytest.fail("no match")


def test_codec_import_does_not_pull_httpx_or_asyncio() -> None:
    code = (
        "import sys, lambda_sse.sse; from lambda_sse.sse import *; "
        "print(','.join(m for m in ('httpx', 'asyncio', 'lambda_sse.sse.client') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_attribute_of_the_package() -> None:
    import lambda_sse.sse

    with pytest.raises(AttributeError, match="nope"):
        _ = lambda_sse.sse.nope


def test_docstring_examples_hold() -> None:
    import doctest

    import lambda_sse.sse.event

    assert doctest.testmod(lambda_sse.sse.event).failed == 0


def test_decoded_events_equal_built_ones_and_stay_immutable() -> None:
    (decoded,) = SSEDecoder().feed(b"id: 3\nevent: tick\ndata: x\n\n")
    assert decoded == ServerSentEvent("x", "tick", "3")
    assert hash(decoded) == hash(ServerSentEvent("x", "tick", "3"))
    with pytest.raises(AttributeError):
        decoded.data = "y"  # type: ignore[misc]
    # What the decoder built is encodable as it is.
    assert decoded.encode() == b"event: tick\nid: 3\ndata: x\n\n"


def test_event_source_is_imported_on_first_use() -> None:
    import lambda_sse.sse
    from lambda_sse.sse.client import EventSource

    assert lambda_sse.sse.EventSource is EventSource
