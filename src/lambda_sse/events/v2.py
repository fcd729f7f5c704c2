"""Payload format 2.0: API Gateway HTTP APIs and Lambda Function URLs.

Shapes: https://docs.aws.amazon.com/apigateway/latest/developerguide/
http-api-develop-integrations-lambda.html and
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html (request and response payloads).
Only a Function URL in ``RESPONSE_STREAM`` mode streams; an HTTP API always buffers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from lambda_sse.errors import EventTranslationError
from lambda_sse.events.model import (
    EventShapeError,
    HeaderList,
    HttpRequest,
    HttpResponse,
    SourceKind,
    client_address,
    decode_body,
    encode_body,
    forwarded,
    group_headers,
    header_bytes,
    http_version,
    string_map,
    utf8,
)

__all__ = ["V2Translator", "is_function_url_event", "split_headers_v2"]


def split_headers_v2(headers: HeaderList) -> tuple[dict[str, str], list[str]]:
    """``(headers, cookies)`` of a 2.0 reply. Repeated headers are comma-joined, as payload 2.0
    does on requests; Set-Cookie values go to ``cookies`` (one header each on the wire)."""
    by_name, cookies = group_headers(headers)
    return {name: ",".join(values) for name, values in by_name.items()}, cookies


def is_function_url_event(event: Mapping[str, Any]) -> bool:
    """Whether a payload 2.0 event comes from a Function URL rather than an HTTP API.

    Signs, strongest first: a Function URL's domain is ``<url-id>.lambda-url.<region>.on.aws``
    and an HTTP API's ``<api-id>.execute-api.<region>.amazonaws.com``; a Function URL with
    ``AuthType: NONE`` reports ``accountId: "anonymous"`` (urls-invocation.html, request payload)
    and its ``apiId`` is the 32-character url id (an HTTP API id has 10); an HTTP API route other
    than ``$default`` has a key like ``"GET /items"``. Anything else (an HTTP API behind a custom
    domain) counts as an HTTP API: the one that never streams.
    """
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return False
    domain = context.get("domainName")
    if isinstance(domain, str):
        if ".lambda-url." in domain:
            return True
        if ".execute-api." in domain:
            return False
    if event.get("routeKey", "$default") != "$default":
        return False
    if context.get("accountId") == "anonymous":
        return True
    api_id = context.get("apiId")
    return isinstance(api_id, str) and len(api_id) == 32


class V2Translator:
    def __init__(self, kind: SourceKind) -> None:
        self._kind: SourceKind = kind

    @property
    def kind(self) -> SourceKind:
        return self._kind

    @property
    def streams(self) -> bool:
        return self._kind == "function_url"

    def matches(self, event: Mapping[str, Any]) -> bool:
        if event.get("version") != "2.0" or "rawPath" not in event:
            return False
        return is_function_url_event(event) == (self._kind == "function_url")

    def request(self, event: Mapping[str, Any]) -> HttpRequest:
        context = string_map(event.get("requestContext"), "requestContext")
        http = string_map(context.get("http"), "requestContext.http")
        method = http.get("method")
        if not isinstance(method, str) or not method:
            raise EventShapeError("2.0 event: requestContext.http.method must be a string")
        raw_path = event.get("rawPath")
        raw_query = event.get("rawQueryString")
        if raw_path is None or raw_path == "":
            raw_path = "/"
        if raw_query is None:
            raw_query = ""
        if not isinstance(raw_path, str) or not isinstance(raw_query, str):
            raise EventShapeError("2.0 event: rawPath and rawQueryString must be strings")
        raw_path_bytes = utf8(raw_path, "2.0 event: rawPath")
        raw_query_bytes = utf8(raw_query, "2.0 event: rawQueryString")
        pairs: list[tuple[bytes, bytes]] = []
        for key, value in string_map(event.get("headers"), "headers").items():
            if value is None:
                continue
            where = f"2.0 event: headers[{key!r}]"
            if not isinstance(key, str) or not isinstance(value, str):
                raise EventShapeError(f"{where} must be a string")
            # Repeated headers arrive comma-joined already; they stay one entry, as any
            # HTTP server may legally present them (RFC 9110 section 5.3).
            pairs.append((header_bytes(key.lower(), where), header_bytes(value, where)))
        cookies = event.get("cookies")
        if cookies:
            if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
                raise EventShapeError("2.0 event: cookies must be a list of strings")
            # Payload 2.0 moves the Cookie header into `cookies`; put it back for the app.
            pairs = [p for p in pairs if p[0] != b"cookie"]
            pairs.append((b"cookie", header_bytes("; ".join(cookies), "2.0 event: cookies")))
        headers = tuple(pairs)
        scheme, server = forwarded(headers)
        return HttpRequest(
            kind=self._kind,
            method=method.upper(),
            path=unquote(raw_path),
            raw_path=raw_path_bytes,
            query_string=raw_query_bytes,
            headers=headers,
            body=decode_body(event.get("body"), event.get("isBase64Encoded")),
            scheme=scheme,
            client=client_address(http.get("sourceIp")),
            server=server,
            http_version=http_version(http.get("protocol")),
        )

    def reply(self, response: HttpResponse, event: Mapping[str, Any]) -> dict[str, Any]:
        headers, cookies = split_headers_v2(response.headers)
        body, is_base64 = encode_body(response.body, response.headers)
        return {
            "statusCode": response.status,
            "headers": headers,
            "cookies": cookies,
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def prelude(self, status: int, headers: HeaderList) -> dict[str, Any]:
        if not self.streams:
            raise EventTranslationError("an HTTP API cannot stream a response; reply buffered")
        single, cookies = split_headers_v2(headers)
        metadata: dict[str, Any] = {"statusCode": status, "headers": single}
        if cookies:
            metadata["cookies"] = cookies
        return metadata
