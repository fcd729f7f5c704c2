"""Golden tests: AWS's published sample events, translated whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.errors import EventTranslationError
from lambda_sse.events import HttpRequest, NotAnHttpEvent, detect, is_completion_notice
from lambda_sse.events.model import EventShapeError

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((DATA / name).read_text())
    return event


def test_rest_docs_sample() -> None:
    event = load("rest_v1_docs.json")
    translator = detect(event)
    assert translator.kind == "rest"
    assert translator.streams
    assert translator.request(event) == HttpRequest(
        kind="rest",
        method="GET",
        path="/my/path",
        # multiValueQueryStringParameters wins: every value of a repeated key survives
        query_string=b"parameter1=value1&parameter1=value2&parameter2=value",
        headers=(
            (b"header1", b"value1"),
            (b"header2", b"value1"),
            (b"header2", b"value2"),
        ),
        body=b"Hello from Lambda!",
        root_path="",
        raw_path=None,
        scheme="https",
        client=("IP", 0),
        server=None,
        http_version="1.1",
    )


def test_rest_console_proxy_sample_has_stage_root_path_and_base64_body() -> None:
    event = load("rest_v1_console_proxy.json")
    request = detect(event).request(event)
    assert request.root_path == "/prod"
    assert request.path == "/path/to/resource"
    assert request.method == "POST"
    assert request.body == b'{"test":"body"}'
    assert request.query_string == b"foo=bar"
    assert request.scheme == "https"
    assert request.server == ("0123456789.execute-api.us-east-1.amazonaws.com", 443)
    assert request.client == ("127.0.0.1", 0)
    assert request.header("x-forwarded-for") == "127.0.0.1, 127.0.0.2"
    # Header names lower-cased, one entry per value, in the event's order.
    assert request.headers[0] == (
        b"accept",
        b"text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8",
    )
    assert len(request.headers) == 18


def test_rest_single_value_fallback_and_query_encoding() -> None:
    event = {
        "httpMethod": "get",
        "path": "/search",
        "headers": {"Host": "example.com", "X-Null": None},
        "multiValueHeaders": None,
        "queryStringParameters": {"q": "a b&c", "e": "é"},
        "multiValueQueryStringParameters": None,
        "requestContext": {"stage": "dev", "path": "/search"},
        "body": None,
        "isBase64Encoded": False,
    }
    request = detect(event).request(event)
    assert request.method == "GET"
    assert request.headers == ((b"host", b"example.com"),)
    # API Gateway hands parameters over decoded; they are re-encoded for the query string.
    assert request.query_string == b"q=a+b%26c&e=%C3%A9"
    assert request.body == b""
    assert request.root_path == ""


def test_http_api_docs_sample() -> None:
    event = load("http_api_v2_docs.json")
    translator = detect(event)
    assert translator.kind == "http_api"
    assert not translator.streams
    assert translator.request(event) == HttpRequest(
        kind="http_api",
        method="POST",
        path="/my/path",
        query_string=b"parameter1=value1&parameter1=value2&parameter2=value",
        headers=(
            (b"header1", b"value1"),
            (b"header2", b"value1,value2"),
            (b"cookie", b"cookie1; cookie2"),
        ),
        body=b"Hello from Lambda",
        root_path="",
        raw_path=b"/my/path",
        scheme="https",
        client=("192.0.2.1", 0),
        server=None,
        http_version="1.1",
    )


def test_function_url_docs_sample() -> None:
    event = load("function_url_docs.json")
    translator = detect(event)
    assert translator.kind == "function_url"
    assert translator.streams
    assert translator.request(event) == HttpRequest(
        kind="function_url",
        method="POST",
        path="/my/path",
        query_string=b"parameter1=value1&parameter1=value2&parameter2=value",
        headers=(
            (b"header1", b"value1"),
            (b"header2", b"value1,value2"),
            (b"cookie", b"cookie1; cookie2"),
        ),
        body=b"Hello from client!",
        raw_path=b"/my/path",
        client=("123.123.123.123", 0),
    )


def test_v2_percent_encoded_path_and_cookie_header_replaced() -> None:
    event = load("function_url_docs.json")
    event["rawPath"] = "/caf%C3%A9/a%2Fb"
    event["headers"]["cookie"] = "stale=1"
    request = detect(event).request(event)
    assert request.path == "/café/a/b"
    assert request.raw_path == b"/caf%C3%A9/a%2Fb"
    assert [v for k, v in request.headers if k == b"cookie"] == [b"cookie1; cookie2"]


def test_alb_docs_sample() -> None:
    event = load("alb_docs.json")
    translator = detect(event)
    assert translator.kind == "alb"
    assert not translator.streams
    assert translator.request(event) == HttpRequest(
        kind="alb",
        method="GET",
        path="/lambda",
        query_string=b"query=1234ABCD",
        headers=tuple((key.encode(), value.encode()) for key, value in event["headers"].items()),
        body=b"",
        raw_path=b"/lambda",
        scheme="http",
        client=("72.12.164.125", 0),
        server=("lambda-alb-123578498.us-east-1.elb.amazonaws.com", 80),
    )


def test_alb_multi_value_sample_keeps_encoding_and_repeats() -> None:
    event = load("alb_multi_value_docs.json")
    request = detect(event).request(event)
    assert request.path == "/lambda/café"
    assert request.raw_path == b"/lambda/caf%C3%A9"
    # ALB passes the query through still encoded: no double encoding of "%20".
    assert request.query_string == b"myKey=val1&myKey=val2&q=a%20b"
    assert [v for k, v in request.headers if k == b"cookie"] == [b"name1=value1", b"name2=value2"]
    assert request.body == b"hello"
    assert request.client == ("72.12.164.125", 0)
    assert request.scheme == "https"
    assert request.server == ("lambda-alb-123578498.us-east-1.elb.amazonaws.com", 443)


@pytest.mark.parametrize(
    "event",
    [
        {"invokeCompletionStatus": "Success", "requestId": "abc"},
        {"source": "aws.events", "detail-type": "Scheduled Event"},
        {},
        [1, 2],
        "hello",
        None,
    ],
)
def test_non_http_events_are_recognised(event: Any) -> None:
    with pytest.raises(NotAnHttpEvent):
        detect(event)


def test_completion_notice_sample() -> None:
    event = load("completion_notice.json")
    assert is_completion_notice(event)
    assert not is_completion_notice(load("rest_v1_docs.json"))
    with pytest.raises(NotAnHttpEvent, match="not an HTTP event"):
        detect(event)


@pytest.mark.parametrize(
    ("name", "mutate", "message"),
    [
        ("rest_v1_docs.json", {"httpMethod": 7}, "httpMethod"),
        ("rest_v1_docs.json", {"body": "%%%", "isBase64Encoded": True}, "base64"),
        ("rest_v1_docs.json", {"multiValueHeaders": {"a": "b"}}, "must be a list"),
        ("rest_v1_docs.json", {"headers": ["x"], "multiValueHeaders": None}, "object or null"),
        ("function_url_docs.json", {"cookies": "a=b"}, "cookies"),
        ("function_url_docs.json", {"body": 12}, "body must be a string"),
        ("http_api_v2_docs.json", {"requestContext": {"http": {}}}, "method"),
        ("alb_docs.json", {"path": 3}, "path"),
    ],
)
def test_malformed_events_raise_clear_errors(
    name: str, mutate: dict[str, Any], message: str
) -> None:
    event = load(name)
    event.update(mutate)
    with pytest.raises(EventShapeError, match=message) as info:
        detect(event).request(event)
    assert isinstance(info.value, EventTranslationError)


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({}, "function_url"),  # the lambda-url domain
        ({"domainName": "abc.execute-api.eu-west-1.amazonaws.com"}, "http_api"),
        # the emulator (and any host without an AWS domain): AuthType NONE says "anonymous"
        (
            {"domainName": "127.0.0.1:3001", "accountId": "anonymous", "apiId": "local"},
            "function_url",
        ),
        ({"domainName": "api.example.com", "apiId": "a1b2c3d4e5"}, "http_api"),  # custom domain
        ({"domainName": "api.example.com"}, "function_url"),  # 32-character url id
    ],
)
def test_function_url_or_http_api(changes: dict[str, Any], kind: str) -> None:
    event = load("function_url_docs.json")
    event["requestContext"].update(changes)
    assert detect(event).kind == kind


def test_http_api_route_key_means_http_api() -> None:
    event = load("function_url_docs.json")
    event["requestContext"]["domainName"] = "api.example.com"
    event["routeKey"] = "GET /my/path"
    assert detect(event).kind == "http_api"
