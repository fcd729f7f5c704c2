"""Events built from requests: REST v1 and payload 2.0, whole-structure checks."""

from __future__ import annotations

import base64
import json

from lambda_sse.local.frontdoor.build import build_v1_event, build_v2_event, encode_event
from lambda_sse.local.frontdoor.request import Request

NOW = 1_763_686_563.25  # 2025-11-21T00:56:03.250Z


def test_v1_event_whole_structure() -> None:
    request = Request(
        method="POST",
        target="/dev/items/42?a=1&a=2&b=x%20y&empty=",
        headers=(
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "1"),
            ("X-Multi", "2"),
        ),
        body=b'{"k": "v"}',
        source_ip="127.0.0.9",
    )
    event = build_v1_event(
        request,
        resource="/items/{id}",
        path="/items/42",
        stage="dev",
        path_parameters={"id": "42"},
        request_id="rid",
        now=NOW,
    )
    assert event == {
        "resource": "/items/{id}",
        "path": "/items/42",
        "httpMethod": "POST",
        "headers": {"Host": "127.0.0.1:3000", "User-Agent": "curl/8", "X-Multi": "2"},
        "multiValueHeaders": {
            "Host": ["127.0.0.1:3000"],
            "User-Agent": ["curl/8"],
            "X-Multi": ["1", "2"],
        },
        "queryStringParameters": {"a": "2", "b": "x y", "empty": ""},
        "multiValueQueryStringParameters": {"a": ["1", "2"], "b": ["x y"], "empty": [""]},
        "pathParameters": {"id": "42"},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": "/items/{id}",
            "httpMethod": "POST",
            "extendedRequestId": "rid",
            "requestTime": "21/Nov/2025:00:56:03 +0000",
            "path": "/dev/items/42",
            "accountId": "000000000000",
            "protocol": "HTTP/1.1",
            "stage": "dev",
            "domainPrefix": "127",
            "requestTimeEpoch": 1763686563250,
            "requestId": "rid",
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "127.0.0.9",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "curl/8",
                "user": None,
            },
            "domainName": "127.0.0.1:3000",
            "apiId": "local",
        },
        "body": '{"k": "v"}',
        "isBase64Encoded": False,
    }


def test_v1_event_without_query_body_or_params_uses_null() -> None:
    event = build_v1_event(
        Request("GET", "/dev/", ()), resource="/", path="/", stage="dev", path_parameters={}
    )
    for key in (
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "body",
    ):
        assert event[key] is None, key
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["path"] == "/dev/"


def test_v1_binary_body_is_base64() -> None:
    body = bytes(range(256))
    event = build_v1_event(
        Request("PUT", "/dev/f", (), body),
        resource="/f",
        path="/f",
        stage="dev",
        path_parameters={},
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_v2_event_whole_structure() -> None:
    request = Request(
        method="GET",
        target="/a%20b/c?x=1&x=2&y=%2F",
        headers=(
            ("Host", "127.0.0.1:3001"),
            ("User-Agent", "httpx"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "a=1; b=2"),
        ),
        source_ip="127.0.0.1",
    )
    event = build_v2_event(request, request_id="rid", now=NOW, api_id="urlid")
    assert event == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/a%20b/c",
        "rawQueryString": "x=1&x=2&y=%2F",
        "cookies": ["a=1", "b=2"],
        "headers": {"host": "127.0.0.1:3001", "user-agent": "httpx", "x-multi": "1,2"},
        "queryStringParameters": {"x": "1,2", "y": "/"},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "urlid",
            "domainName": "127.0.0.1:3001",
            "domainPrefix": "127",
            "http": {
                "method": "GET",
                "path": "/a b/c",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "httpx",
            },
            "requestId": "rid",
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2025:00:56:03 +0000",
            "timeEpoch": 1763686563250,
        },
        "isBase64Encoded": False,
    }


def test_v2_body_text_or_base64_by_content_type() -> None:
    text = build_v2_event(Request("POST", "/", (("Content-Type", "application/json"),), b'{"a":1}'))
    assert text["body"] == '{"a":1}'
    assert text["isBase64Encoded"] is False
    binary = build_v2_event(Request("POST", "/", (("Content-Type", "image/png"),), b"\x89PNG"))
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG"


def test_v2_http_api_route_key_and_path_parameters() -> None:
    event = build_v2_event(
        Request("GET", "/v2/7", ()),
        route_key="GET /v2/{x}",
        path_parameters={"x": "7"},
        function_url=False,
    )
    assert event["routeKey"] == "GET /v2/{x}"
    assert event["requestContext"]["routeKey"] == "GET /v2/{x}"
    assert event["pathParameters"] == {"x": "7"}
    assert event["requestContext"]["accountId"] == "000000000000"
    assert json.loads(encode_event(event)) == event
