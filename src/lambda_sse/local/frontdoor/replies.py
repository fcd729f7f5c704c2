"""What a front door answers, sans-IO: proxy results, preludes and AWS's error replies.

Rules (docs: apigateway set-up-lambda-proxy-integrations.html "Output format"; lambda
urls-invocation.html "Response payload format"; services-apigateway-errors.html):

- REST v1 result: only ``statusCode``, ``headers``, ``multiValueHeaders``, ``body``,
  ``isBase64Encoded``; anything else (bad JSON, another key, a non-string body) is a malformed
  proxy response, answered 502 ``{"message": "Internal server error"}``. ``multiValueHeaders`` win
  over ``headers`` for the same name.
- v2 result (Function URL, HTTP API): a JSON object with ``statusCode`` is structured
  (``headers``, ``cookies``, ``body``, ``isBase64Encoded``); any other valid JSON is a 200
  ``application/json`` body holding the payload as it is.
- A prelude gives the status and headers of a streamed reply (``cookies`` become Set-Cookie).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lambda_sse.errors import MalformedResult

__all__ = [
    "MalformedResult",
    "Reply",
    "apigw_error",
    "head_from_prelude",
    "parse_v1_result",
    "parse_v2_result",
    "url_error",
]

_V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
# The server frames the body itself; a function's framing headers would contradict it.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def apigw_error(status: int, message: str | None, *, error_type: str | None = None) -> Reply:
    """API Gateway's own error body, e.g. 502 {"message": "Internal server error"}."""
    body = json.dumps({"message": message}).encode()
    kind = error_type or _error_type(status)
    return Reply(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind)], body)


def url_error(status: int, message: str) -> Reply:
    """A Function URL's error reply (UNCONFIRMED shapes: plain text as observed for 502)."""
    return Reply(status, [("Content-Type", "text/plain")], message.encode())


def _error_type(status: int) -> str:
    return {
        403: "MissingAuthenticationTokenException",
        413: "RequestEntityTooLargeException",
        429: "TooManyRequestsException",
        504: "InternalServerErrorException",
    }.get(status, "InternalServerErrorException")


def _status(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 599:
        # 1xx are interim responses in HTTP (RFC 9110 section 15.2), never a final answer.
        raise MalformedResult(f"statusCode must be an HTTP status from 200 to 599, got {value!r}")
    return value


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResult(f"{where} must be a string, got {type(value).__name__}")


# RFC 9110 section 5.1 (field names are tokens) and 5.5 (field values: visible characters,
# spaces and tabs inside, obs-text; never CR, LF or NUL, which would split or end the head).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _checked(name: str, value: str) -> tuple[str, str]:
    """A header as it may go on the wire; :class:`MalformedResult` naming it and the fix."""
    if not _TOKEN.fullmatch(name):
        raise MalformedResult(
            f"header name {name!r} is not a valid HTTP field name (letters, digits and "
            "!#$%&'*+-.^_`|~ only, no spaces); fix the name in the function's response"
        )
    value = value.strip(" \t")  # optional whitespace around a value is not part of it
    bad = _BAD_VALUE.search(value)
    if bad is not None:
        raise MalformedResult(
            f"header {name!r} has the control character {bad.group()!r} in its value "
            "(CR, LF and NUL would split the response head); remove it, or percent-encode the "
            "value, in the function's response"
        )
    return name, value


def _headers(single: Any, multi: Any, cookies: Any = None) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    multi_names: set[str] = set()
    if multi is not None:
        if not isinstance(multi, Mapping):
            raise MalformedResult("multiValueHeaders must be an object")
        for name, values in multi.items():
            if not isinstance(values, list):
                raise MalformedResult(f"multiValueHeaders[{name!r}] must be a list")
            multi_names.add(str(name).lower())
            headers.extend((str(name), _scalar(v, f"multiValueHeaders[{name!r}]")) for v in values)
    if single is not None:
        if not isinstance(single, Mapping):
            raise MalformedResult("headers must be an object")
        for name, value in single.items():
            if str(name).lower() not in multi_names:
                headers.append((str(name), _scalar(value, f"headers[{name!r}]")))
    if cookies is not None:
        if not isinstance(cookies, list):
            raise MalformedResult("cookies must be a list")
        headers.extend(("Set-Cookie", _scalar(c, "cookies[]")) for c in cookies)
    return [_checked(n, v) for n, v in headers if n.lower() not in _FRAMING]


def _decode_body(body: Any, is_base64: Any) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResult(f"body must be a string, got {type(body).__name__}")
    if is_base64:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResult("isBase64Encoded is true but body is not base64") from None
    return body.encode("utf-8")


def _load(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise MalformedResult("the function's result is not JSON") from None


def parse_v1_result(payload: bytes) -> Reply:
    """A REST API proxy result; :class:`MalformedResult` when API Gateway would answer 502."""
    result = _load(payload)
    if not isinstance(result, Mapping):
        raise MalformedResult("a proxy result must be a JSON object with statusCode")
    extra = set(result) - _V1_KEYS
    if extra:
        raise MalformedResult(f"a REST proxy result may not have {sorted(extra)}")
    status = _status(result.get("statusCode"))
    headers = _headers(result.get("headers"), result.get("multiValueHeaders"))
    return Reply(status, headers, _decode_body(result.get("body"), result.get("isBase64Encoded")))


def parse_v2_result(payload: bytes) -> Reply:
    """A payload 2.0 result (Function URL, HTTP API)."""
    result = _load(payload)
    if not isinstance(result, Mapping) or "statusCode" not in result:
        # Valid JSON without statusCode: AWS returns it as the body of a 200 JSON response.
        return Reply(200, [("Content-Type", "application/json")], payload)
    status = _status(result["statusCode"])
    headers = _headers(result.get("headers"), None, result.get("cookies"))
    body = _decode_body(result.get("body"), result.get("isBase64Encoded"))
    if not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Reply(status, headers, body)


def head_from_prelude(metadata: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]]]:
    """Status and headers of a streamed reply from its (already checked) prelude."""
    status = _status(metadata.get("statusCode", 200))
    headers = _headers(
        metadata.get("headers"), metadata.get("multiValueHeaders"), metadata.get("cookies")
    )
    return status, headers
