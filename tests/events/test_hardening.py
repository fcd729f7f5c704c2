"""Malformed and unusual events: what AWS can send is honoured byte for byte, what no client can
send is refused with the project's own error (and a 400 through the bridge), never a Python
error from deep inside a translator and never a silent change."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lambda_sse.asgi import handler
from lambda_sse.asgi.types import Receive, Scope, Send
from lambda_sse.events import detect
from lambda_sse.events.model import EventShapeError
from lambda_sse.runtime.stream import ResponseStream
from tests.asgi import aws_events

EVENTS = {
    "rest": lambda: aws_events.rest("/x"),
    "function_url": lambda: aws_events.function_url("/x"),
    "alb_multi": lambda: aws_events.alb("/x", multi=True),
    "alb": lambda: aws_events.alb("/x"),
}


def _set_header(event: dict[str, Any], name: str, value: str) -> None:
    if event.get("multiValueHeaders"):
        event["multiValueHeaders"][name] = [value]
    else:
        event["headers"][name] = value


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_header_values_beyond_latin_1_arrive_as_utf_8(kind: str) -> None:
    event = EVENTS[kind]()
    _set_header(event, "x-price", "5 €")
    _set_header(event, "x-name", "café")
    request = detect(event).request(event)
    assert (b"x-price", "5 €".encode()) in request.headers
    # Up to U+00FF the event's text is the ISO-8859-1 reading of the wire bytes: kept exact.
    assert (b"x-name", "café".encode("latin-1")) in request.headers


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_a_lone_surrogate_is_an_event_error(kind: str) -> None:
    event = EVENTS[kind]()
    _set_header(event, "x-bad", "a\ud800b")
    with pytest.raises(EventShapeError, match="lone surrogate"):
        detect(event).request(event)


def test_cookies_beyond_latin_1() -> None:
    event = aws_events.function_url("/x")
    event["cookies"] = ["name=€"]
    request = detect(event).request(event)
    assert (b"cookie", "name=€".encode()) in request.headers


@pytest.mark.parametrize("kind", ["rest", "alb_multi"])
@pytest.mark.parametrize("bad", ["ab", 5, {"a": "b"}, [1]])
def test_multi_value_query_that_is_not_a_list_of_strings(kind: str, bad: Any) -> None:
    event = EVENTS[kind]()
    event["multiValueQueryStringParameters"] = {"q": bad}
    with pytest.raises(EventShapeError, match="multiValueQueryStringParameters"):
        detect(event).request(event)


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_null_fields_aws_sends_are_honoured(kind: str) -> None:
    event = EVENTS[kind]()
    for key in ("headers", "multiValueHeaders", "queryStringParameters", "cookies", "body"):
        if key in event:
            event[key] = None
    if "multiValueQueryStringParameters" in event:
        event["multiValueQueryStringParameters"] = {"a": None, "b": ["1", "2"]}
    request = detect(event).request(event)
    assert request.body == b""


def test_v2_header_that_is_not_a_string_is_refused_not_dropped() -> None:
    event = aws_events.function_url("/x")
    event["headers"]["x-n"] = 5
    with pytest.raises(EventShapeError, match="x-n"):
        detect(event).request(event)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("function_url", "rawPath"),
        ("function_url", "rawQueryString"),
        ("function_url", "body"),
        ("rest", "path"),
        ("rest", "body"),
        ("alb", "path"),
    ],
)
def test_surrogates_elsewhere(kind: str, field: str) -> None:
    event = EVENTS[kind]()
    event[field] = "/a\udc80"
    with pytest.raises(EventShapeError, match="surrogate"):
        detect(event).request(event)


def test_surrogate_in_rest_query() -> None:
    event = aws_events.rest("/x", query="a=1")
    event["multiValueQueryStringParameters"] = {"a": ["\ud800"]}
    with pytest.raises(EventShapeError, match="surrogate"):
        detect(event).request(event)


class _Wire:
    async def send(self, data: bytes) -> None:
        pass


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_the_bridge_answers_400_for_an_event_it_cannot_honour(kind: str) -> None:
    fn = handler(_app, lifespan="off")
    event = EVENTS[kind]()
    _set_header(event, "x-bad", "\udfff")
    reply = asyncio.run(fn(event, ResponseStream(_Wire(), "/t", "h"), None))
    assert reply["statusCode"] == 400
    assert "surrogate" in reply["body"]
