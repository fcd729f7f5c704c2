"""The sans-IO rules: policy evaluation with wildcards, authorizer output checks, the cache on an
injected clock, CORS origin patterns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambda_sse.local.auth.authorizers import (
    AuthorizerCache,
    AuthorizerOutputError,
    decide,
    method_arn,
    parse_output,
)
from lambda_sse.local.auth.cors import origin_allowed, response_headers
from lambda_sse.local.model import CorsConfig

ARN = method_arn("eu-west-1", "123456789012", "abc123", "dev", "GET", "/items/7")


def output(*statements: dict[str, Any], **extra: Any) -> bytes:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return json.dumps({"principalId": "u", "policyDocument": document, **extra}).encode()


def allow(
    resource: Any, action: Any = "execute-api:Invoke", effect: str = "Allow"
) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource}


def test_method_arn_shape() -> None:
    assert ARN == "arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/GET/items/7"
    assert method_arn("r", "a", "i", "s", "POST", "/").endswith("/s/POST/")


@pytest.mark.parametrize(
    ("statements", "decision"),
    [
        ([allow(ARN)], "allow"),
        ([allow("arn:aws:execute-api:eu-west-1:123456789012:abc123/*")], "allow"),
        ([allow("arn:aws:execute-api:*:*:abc123/dev/GET/items/*")], "allow"),
        ([allow("arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/GET/items/?")], "allow"),
        ([allow("arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/POST/*")], "none"),
        ([allow("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*")], "none"),
        ([allow([ARN, "x"], action=["s3:GetObject", "execute-api:*"])], "allow"),
        ([allow("*", action="*")], "allow"),
        ([allow(ARN, action="s3:*")], "none"),
        ([allow("*"), allow(ARN, effect="Deny")], "deny"),
        ([allow(ARN, effect="Deny"), allow("*")], "deny"),
        ([allow("arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/GET/items/7/x")], "none"),
    ],
)
def test_policy_evaluation(statements: list[dict[str, Any]], decision: str) -> None:
    assert decide(parse_output(output(*statements)), ARN) == decision


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        json.dumps({"policyDocument": {"Statement": []}}).encode(),
        json.dumps({"principalId": "u"}).encode(),
        output({"Effect": "Maybe", "Action": "*", "Resource": "*"}),
        output(allow(None)),
        output(allow("*"), context={"list": [1]}),
        output(allow("*"), context="text"),
    ],
)
def test_invalid_outputs(payload: bytes) -> None:
    with pytest.raises(AuthorizerOutputError):
        parse_output(payload)


def test_statement_may_be_a_single_object_and_context_is_kept() -> None:
    document = {"principalId": 5, "policyDocument": {"Statement": allow(ARN)}, "context": {"a": 1}}
    result = parse_output(json.dumps(document).encode())
    assert (result.principal_id, dict(result.context)) == ("5", {"a": 1})


def test_cache_ttl_on_injected_clock() -> None:
    now = [0.0]
    cache = AuthorizerCache(lambda: now[0], max_entries=2)
    result = parse_output(output(allow("*")))
    cache.put("a", ("t",), result, 10)
    cache.put("a", ("zero",), result, 0)  # TTL 0: never cached
    assert cache.get("a", ("t",)) is result
    assert cache.get("a", ("zero",)) is None
    assert cache.get("b", ("t",)) is None  # per authorizer
    now[0] = 9.999
    assert cache.get("a", ("t",)) is result
    now[0] = 10.0
    assert cache.get("a", ("t",)) is None
    for i in range(5):  # bounded
        cache.put("a", (str(i),), result, 100)
    assert len(cache._entries) <= 2


def test_cors_origin_patterns() -> None:
    cors = CorsConfig(allow_origins=("https://*.example.com", "http://localhost:*"))
    assert origin_allowed(cors, "https://app.example.com")
    assert origin_allowed(cors, "HTTPS://APP.EXAMPLE.COM")
    assert origin_allowed(cors, "http://localhost:3000")
    assert not origin_allowed(cors, "https://example.com.evil.test")
    assert not origin_allowed(cors, "http://localhost.evil.test")  # no port: no match
    assert not origin_allowed(CorsConfig(), "https://app.example.com")
    assert not origin_allowed(CorsConfig(allow_origins=("https://a.b",)), "https://a.bc")
    headers = response_headers(
        cors,
        [("Origin", "http://localhost:1")],
        [("access-control-allow-origin", "*"), ("Access-Control-Max-Age", "1"), ("X", "y")],
    )
    assert headers == [
        ("X", "y"),
        ("Access-Control-Allow-Origin", "http://localhost:1"),
        ("Vary", "Origin"),
    ]
