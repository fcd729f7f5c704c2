"""Golden tests of every reply format, compared as whole structures."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.errors import EventTranslationError
from lambda_sse.events import HttpResponse, detect
from lambda_sse.runtime.prelude import PreludeDecoder, encode_prelude

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((DATA / name).read_text())
    return event


RESPONSE = HttpResponse(
    status=201,
    headers=(
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1; Path=/"),
        (b"x-multi", b"one"),
        (b"set-cookie", b"b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
        (b"X-Multi", b"two"),
        (b"transfer-encoding", b"chunked"),
    ),
    body=b'{"ok":true}',
)


def test_rest_buffered_reply() -> None:
    event = load("rest_v1_docs.json")
    assert detect(event).reply(RESPONSE, event) == {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {
            "x-multi": ["one", "two"],
            "Set-Cookie": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"],
        },
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }


def test_v2_buffered_reply_for_http_api_and_function_url() -> None:
    expected = {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-multi": "one,two"},
        "cookies": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"],
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }
    for name in ("http_api_v2_docs.json", "function_url_docs.json"):
        event = load(name)
        assert detect(event).reply(RESPONSE, event) == expected


def test_alb_single_value_reply() -> None:
    event = load("alb_docs.json")
    assert detect(event).reply(RESPONSE, event) == {
        "statusCode": 201,
        "statusDescription": "201 Created",
        "headers": {
            "content-type": "application/json",
            "x-multi": "one,two",
            "set-cookie": "a=1; Path=/",
            "Set-cookie": "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
        },
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }


def test_alb_multi_value_reply() -> None:
    event = load("alb_multi_value_docs.json")
    assert detect(event).reply(RESPONSE, event) == {
        "statusCode": 201,
        "statusDescription": "201 Created",
        "multiValueHeaders": {
            "content-type": ["application/json"],
            "x-multi": ["one", "two"],
            "Set-Cookie": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"],
        },
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("content_type", "encoding", "body", "binary"),
    [
        (b"image/png", None, b"\x89PNG\r\n\x1a\n", True),
        (b"application/octet-stream", None, b"abc", True),
        (b"text/plain; charset=utf-8", None, "héllo".encode(), False),
        (b"text/plain", None, b"\xff\xfe", True),  # not UTF-8 whatever the type says
        (b"application/json", b"gzip", b"\x1f\x8b\x08\x00", True),
        (b"application/vnd.api+json", None, b"{}", False),
        (b"text/event-stream", None, b"data: x\n\n", False),
        (None, None, b"plain", False),
    ],
)
def test_binary_bodies_go_base64(
    content_type: bytes | None, encoding: bytes | None, body: bytes, binary: bool
) -> None:
    headers: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if encoding is not None:
        headers.append((b"content-encoding", encoding))
    response = HttpResponse(200, tuple(headers), body)
    for name in ("rest_v1_docs.json", "function_url_docs.json", "alb_docs.json"):
        event = load(name)
        reply = detect(event).reply(response, event)
        assert reply["isBase64Encoded"] is binary
        sent = base64.b64decode(reply["body"]) if binary else reply["body"].encode()
        assert sent == body


def test_empty_body_is_empty_text() -> None:
    event = load("rest_v1_docs.json")
    reply = detect(event).reply(HttpResponse(204), event)
    assert reply == {
        "statusCode": 204,
        "headers": {},
        "multiValueHeaders": {},
        "body": "",
        "isBase64Encoded": False,
    }


def test_streaming_prelude_for_rest() -> None:
    event = load("rest_v1_docs.json")
    metadata = detect(event).prelude(200, RESPONSE.headers)
    assert metadata == {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {
            "x-multi": ["one", "two"],
            "Set-Cookie": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"],
        },
    }
    # What the runtime sends is accepted by the project's own prelude codec.
    decoder = PreludeDecoder()
    assert decoder.feed(encode_prelude(metadata) + b"body") == b"body"
    assert decoder.metadata == metadata


def test_streaming_prelude_for_function_url() -> None:
    event = load("function_url_docs.json")
    metadata = detect(event).prelude(200, RESPONSE.headers)
    assert metadata == {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-multi": "one,two"},
        "cookies": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"],
    }
    assert encode_prelude(metadata).endswith(b"\x00" * 8)


def test_streaming_prelude_without_cookies_has_no_cookie_keys() -> None:
    headers = ((b"content-type", b"text/event-stream"),)
    for name in ("rest_v1_docs.json", "function_url_docs.json"):
        event = load(name)
        assert detect(event).prelude(200, headers) == {
            "statusCode": 200,
            "headers": {"content-type": "text/event-stream"},
        }


@pytest.mark.parametrize("name", ["http_api_v2_docs.json", "alb_docs.json"])
def test_sources_that_cannot_stream_refuse_a_prelude(name: str) -> None:
    event = load(name)
    with pytest.raises(EventTranslationError, match="cannot stream"):
        detect(event).prelude(200, ())
