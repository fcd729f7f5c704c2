"""Reply rules: REST v1 results, v2 results, preludes, AWS's error bodies."""

from __future__ import annotations

import base64
import json

import pytest

from lambda_sse.local.frontdoor.replies import (
    MalformedResult,
    apigw_error,
    head_from_prelude,
    parse_v1_result,
    parse_v2_result,
)


def test_v1_result_with_multi_value_headers_winning() -> None:
    reply = parse_v1_result(
        json.dumps(
            {
                "statusCode": 201,
                "headers": {"X-A": "single", "X-B": "b", "Content-Length": "999"},
                "multiValueHeaders": {"x-a": ["m1", "m2"]},
                "body": "hello",
                "isBase64Encoded": False,
            }
        ).encode()
    )
    assert reply.status == 201
    assert reply.headers == [("x-a", "m1"), ("x-a", "m2"), ("X-B", "b")]
    assert reply.body == b"hello"


def test_v1_base64_body() -> None:
    body = base64.b64encode(b"\x00\xff").decode()
    reply = parse_v1_result(
        json.dumps({"statusCode": 200, "body": body, "isBase64Encoded": True}).encode()
    )
    assert reply.body == b"\x00\xff"


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'"a string"',
        b'{"body": "no status"}',
        b'{"statusCode": 200, "cookies": ["a=1"]}',
        b'{"statusCode": 99}',
        b'{"statusCode": 200, "body": {"not": "a string"}}',
        b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}',
        b'{"statusCode": 200, "headers": ["x"]}',
    ],
)
def test_v1_malformed_results(payload: bytes) -> None:
    with pytest.raises(MalformedResult):
        parse_v1_result(payload)


def test_v2_json_without_status_is_a_200_json_body() -> None:
    reply = parse_v2_result(b'{"hello": "world"}')
    assert reply.status == 200
    assert reply.headers == [("Content-Type", "application/json")]
    assert reply.body == b'{"hello": "world"}'
    assert parse_v2_result(b'"text"').body == b'"text"'


def test_v2_structured_with_cookies() -> None:
    reply = parse_v2_result(
        json.dumps(
            {
                "statusCode": 418,
                "headers": {"content-type": "text/plain"},
                "cookies": ["a=1", "b=2"],
                "body": "tea",
            }
        ).encode()
    )
    assert reply.status == 418
    assert reply.headers == [
        ("content-type", "text/plain"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    assert reply.body == b"tea"


def test_v2_non_json_is_malformed() -> None:
    with pytest.raises(MalformedResult):
        parse_v2_result(b"\x00\x01")


def test_prelude_head() -> None:
    status, headers = head_from_prelude(
        {
            "statusCode": 206,
            "headers": {"a": "1"},
            "multiValueHeaders": {"b": ["2", "3"]},
            "cookies": ["c=4"],
        }
    )
    assert status == 206
    assert headers == [("b", "2"), ("b", "3"), ("a", "1"), ("Set-Cookie", "c=4")]
    assert head_from_prelude({}) == (200, [])


def test_apigw_error_body() -> None:
    reply = apigw_error(502, "Internal server error")
    assert reply.status == 502
    assert json.loads(reply.body) == {"message": "Internal server error"}
    assert ("Content-Type", "application/json") in reply.headers


def test_an_interim_status_is_no_final_answer() -> None:
    # Found by the fuzz suite: h11 refused to send it and the door failed while serving.
    from lambda_sse.local.frontdoor.replies import MalformedResult, parse_v1_result, parse_v2_result

    for parse in (parse_v1_result, parse_v2_result):
        with pytest.raises(MalformedResult, match="200 to 599"):
            parse(b'{"statusCode": 101}')
