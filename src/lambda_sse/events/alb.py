"""Application Load Balancer, Lambda target.

Shapes: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
("Receive events from the load balancer", "Respond to the load balancer", "Multi-value headers").
ALB hands query parameters over still percent-encoded, and replies with ``multiValueHeaders``
exactly when the target group has multi-value headers on, which the event shows by carrying
``multiValueHeaders`` itself. ALB cannot stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from lambda_sse.errors import EventTranslationError
from lambda_sse.events.model import (
    EventShapeError,
    HeaderList,
    HttpRequest,
    HttpResponse,
    SourceKind,
    decode_body,
    encode_body,
    forwarded,
    group_headers,
    header_bytes,
    header_pairs,
    header_value,
    query_pairs,
    utf8,
)

__all__ = ["AlbTranslator"]


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _query(event: Mapping[str, Any]) -> bytes:
    pairs = query_pairs(event)
    # Already encoded by the client and left so by ALB: join, do not re-encode.
    text = "&".join(f"{key}={value}" if value != "" else key for key, value in pairs)
    return header_bytes(text, "a query string parameter")


def _case_variants(name: str, count: int) -> list[str]:
    """``count`` spellings of ``name`` that differ only in letter case.

    In single-value mode ALB takes one value per key; distinct spellings of Set-Cookie are
    distinct keys yet the same header to any HTTP client (names are case-insensitive), so each
    cookie survives. UNCONFIRMED on AWS itself; multi-value mode is the reliable way.
    """
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    variants: list[str] = []
    for n in range(2 ** len(letters)):
        chars = list(name.lower())
        for bit, index in enumerate(letters):
            if n >> bit & 1:
                chars[index] = chars[index].upper()
        variants.append("".join(chars))
        if len(variants) == count:
            break
    return variants


class AlbTranslator:
    kind: SourceKind = "alb"
    streams = False

    def matches(self, event: Mapping[str, Any]) -> bool:
        context = event.get("requestContext")
        return isinstance(context, Mapping) and "elb" in context

    def request(self, event: Mapping[str, Any]) -> HttpRequest:
        method = event.get("httpMethod")
        if not isinstance(method, str) or not method:
            raise EventShapeError("ALB event: httpMethod must be a non-empty string")
        raw_path = event.get("path")
        if raw_path is None or raw_path == "":
            raw_path = "/"
        if not isinstance(raw_path, str):
            raise EventShapeError("ALB event: path must be a string")
        raw_path_bytes = utf8(raw_path, "ALB event: path")
        headers = header_pairs(event.get("headers"), event.get("multiValueHeaders"), "ALB event")
        scheme, server = forwarded(headers, default_scheme="http")
        forwarded_for = header_value(headers, "x-forwarded-for")
        client = None
        if forwarded_for:
            # The load balancer appends the address it saw last; the first is the client's.
            client = (forwarded_for.split(",")[0].strip(), 0)
        return HttpRequest(
            kind=self.kind,
            method=method.upper(),
            path=unquote(raw_path),
            raw_path=raw_path_bytes,
            query_string=_query(event),
            headers=headers,
            body=decode_body(event.get("body"), event.get("isBase64Encoded")),
            scheme=scheme,
            client=client,
            server=server,
        )

    def reply(self, response: HttpResponse, event: Mapping[str, Any]) -> dict[str, Any]:
        by_name, cookies = group_headers(response.headers)
        body, is_base64 = encode_body(response.body, response.headers)
        reply: dict[str, Any] = {
            "statusCode": response.status,
            "statusDescription": _status_line(response.status),
        }
        if event.get("multiValueHeaders") is not None:
            multi = dict(by_name)
            if cookies:
                multi["Set-Cookie"] = cookies
            reply["multiValueHeaders"] = multi
        else:
            single = {name: ",".join(values) for name, values in by_name.items()}
            for name, cookie in zip(
                _case_variants("set-cookie", len(cookies)), cookies, strict=False
            ):
                single[name] = cookie
            reply["headers"] = single
        reply["body"] = body
        reply["isBase64Encoded"] = is_base64
        return reply

    def prelude(self, status: int, headers: HeaderList) -> dict[str, Any]:
        raise EventTranslationError("an Application Load Balancer cannot stream; reply buffered")
