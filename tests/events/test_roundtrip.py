"""Hypothesis round trips: whatever a client sends or an app answers survives translation."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote

from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_sse.events import HttpResponse, detect

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
# Header values: visible ASCII and inner spaces (RFC 9110 field-value; no commas, since payload
# 2.0 joins repeated headers with commas).
VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=","),
    max_size=20,
)
HEADERS = st.lists(st.tuples(TOKEN, VALUE), max_size=8)
QUERY = st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=6)
PATH = st.lists(st.text(min_size=1, max_size=8).filter(lambda s: "/" not in s), max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
BODY = st.binary(max_size=64)


def grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        out[key.lower()].append(value)
    return dict(out)


def body_field(body: bytes) -> tuple[str, bool]:
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT"]),
    path=PATH,
    query=QUERY,
    headers=HEADERS,
    body=BODY,
)
def test_rest_request_round_trip(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    text, is_b64 = body_field(body)
    event: dict[str, Any] = {
        "httpMethod": method,
        "path": path,
        "multiValueHeaders": grouped(headers) or None,
        # keys as the client sent them (case kept), values grouped per key
        "multiValueQueryStringParameters": {
            k: [v for kk, v in query if kk == k] for k in dict.fromkeys(k for k, _ in query)
        }
        or None,
        "requestContext": {"stage": "prod", "path": "/prod" + path},
        "body": text or None,
        "isBase64Encoded": is_b64,
    }
    request = detect(event).request(event)
    assert request.kind == "rest"
    assert request.method == method
    assert request.path == path
    assert request.root_path == "/prod"
    assert grouped(parse_qsl(request.query_string.decode(), keep_blank_values=True)) == grouped(
        query
    )
    assert grouped((k.decode(), v.decode()) for k, v in request.headers) == grouped(headers)
    assert request.body == body


@settings(max_examples=150, deadline=None)
@given(path=PATH, query=QUERY, headers=HEADERS, cookies=st.lists(VALUE, max_size=3), body=BODY)
def test_function_url_request_round_trip(
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    cookies: list[str],
    body: bytes,
) -> None:
    raw_path = quote(path)
    raw_query = "&".join(f"{quote(k)}={quote(v)}" for k, v in query)
    joined = {k: ",".join(v) for k, v in grouped(headers).items() if k != "cookie"}
    text, is_b64 = body_field(body)
    event: dict[str, Any] = {
        "version": "2.0",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "cookies": cookies or None,
        "requestContext": {
            "domainName": "x" * 32 + ".lambda-url.eu-west-1.on.aws",
            "http": {"method": "POST", "sourceIp": "198.51.100.7"},
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }
    request = detect(event).request(event)
    assert request.kind == "function_url"
    assert request.path == path
    assert request.raw_path == raw_path.encode()
    assert parse_qsl(request.query_string.decode(), keep_blank_values=True) == query
    expected = dict(joined)
    if cookies:
        expected["cookie"] = "; ".join(cookies)
    assert {k.decode(): v.decode() for k, v in request.headers} == expected
    assert request.body == body
    assert request.client == ("198.51.100.7", 0)


CONTENT_TYPES = st.sampled_from(
    ["text/plain", "application/json", "image/png", "application/octet-stream", None]
)


def response_strategy() -> st.SearchStrategy[HttpResponse]:
    return st.builds(
        lambda status, headers, cookies, ctype, body: HttpResponse(
            status,
            tuple((k.encode(), v.encode()) for k, v in headers)
            + tuple((b"set-cookie", c.encode()) for c in cookies)
            + (((b"content-type", ctype.encode()),) if ctype else ()),
            body,
        ),
        st.integers(200, 599),
        st.lists(st.tuples(TOKEN.filter(lambda t: t not in EXCLUDED), VALUE), max_size=6),
        st.lists(VALUE, max_size=3),
        CONTENT_TYPES,
        BODY,
    )


# Hop-by-hop headers are dropped on purpose; content-type is drawn on its own.
EXCLUDED = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "content-type",
    "set-cookie",
}


def reply_body(reply: dict[str, Any]) -> bytes:
    if reply["isBase64Encoded"]:
        return base64.b64decode(reply["body"])
    text: str = reply["body"]
    return text.encode()


def expected_headers(response: HttpResponse) -> dict[str, list[str]]:
    return grouped((k.decode(), v.decode()) for k, v in response.headers)


@settings(max_examples=150, deadline=None)
@given(response=response_strategy())
def test_rest_reply_round_trip(response: HttpResponse) -> None:
    event = {"httpMethod": "GET", "path": "/", "requestContext": {}}
    reply = detect(event).reply(response, event)
    assert set(reply) == {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
    assert not {k.lower() for k in reply["headers"]} & {
        k.lower() for k in reply["multiValueHeaders"]
    }
    merged = grouped(
        [(k, v) for k, v in reply["headers"].items()]
        + [(k, v) for k, vs in reply["multiValueHeaders"].items() for v in vs]
    )
    assert reply["statusCode"] == response.status
    assert merged == expected_headers(response)
    assert reply_body(reply) == response.body


@settings(max_examples=150, deadline=None)
@given(response=response_strategy())
def test_v2_reply_round_trip(response: HttpResponse) -> None:
    event = {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}}
    reply = detect(event).reply(response, event)
    merged = grouped(
        [(k, v) for k, joined in reply["headers"].items() for v in joined.split(",")]
        + [("set-cookie", c) for c in reply["cookies"]]
    )
    # Splitting on commas restores each value, since the strategy keeps commas out of values.
    expected = {
        k: [x for v in vs for x in (v.split(",") if k != "set-cookie" else [v])]
        for k, vs in expected_headers(response).items()
    }
    assert merged == expected
    assert reply_body(reply) == response.body


@settings(max_examples=100, deadline=None)
@given(response=response_strategy(), multi=st.booleans())
def test_alb_reply_round_trip(response: HttpResponse, multi: bool) -> None:
    event: dict[str, Any] = {"httpMethod": "GET", "path": "/", "requestContext": {"elb": {}}}
    if multi:
        event["multiValueHeaders"] = {}
    reply = detect(event).reply(response, event)
    if multi:
        merged = grouped((k, v) for k, vs in reply["multiValueHeaders"].items() for v in vs)
        assert merged == expected_headers(response)
    else:
        merged = grouped(
            (k, v)
            for k, joined in reply["headers"].items()
            for v in (joined.split(",") if k.lower() != "set-cookie" else [joined])
        )
        expected = {
            k: [x for v in vs for x in (v.split(",") if k != "set-cookie" else [v])]
            for k, vs in expected_headers(response).items()
        }
        assert merged == expected
    assert reply_body(reply) == response.body
