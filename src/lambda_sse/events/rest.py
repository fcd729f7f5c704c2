"""API Gateway REST API proxy integration, payload format 1.0.

Event and reply shapes: https://docs.aws.amazon.com/apigateway/latest/developerguide/
set-up-lambda-proxy-integrations.html (input format and output format sections); the streamed
prelude: response-transfer-mode-lambda.html.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

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
    header_pairs,
    http_version,
    query_pairs,
    string_map,
    utf8,
)

__all__ = ["RestTranslator", "split_headers_v1"]


def split_headers_v1(headers: HeaderList) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``(headers, multiValueHeaders)`` of a REST reply: a name with one value goes into
    ``headers``, a repeated one (and every ``Set-Cookie``) into ``multiValueHeaders``, which is
    how a REST API returns several cookies (a JSON object has one value per key)."""
    by_name, cookies = group_headers(headers)
    single = {name: values[0] for name, values in by_name.items() if len(values) == 1}
    multi = {name: values for name, values in by_name.items() if len(values) > 1}
    if cookies:
        multi["Set-Cookie"] = cookies
    return single, multi


def _root_path(event_path: str, context: Mapping[str, Any]) -> str:
    # requestContext.path is the path the client asked for, stage or base path included
    # ("/prod/items/1" for path "/items/1" on the execute-api domain; "/items/1" on a custom
    # domain mapped at the root). What precedes the resource path is the ASGI root_path.
    full = context.get("path")
    if isinstance(full, str) and event_path and full.endswith(event_path) and full != event_path:
        return full[: len(full) - len(event_path)].rstrip("/")
    return ""


def _query(event: Mapping[str, Any]) -> bytes:
    # API Gateway hands the parameters over decoded; re-encode them for the ASGI query string.
    pairs = query_pairs(event)
    for key, value in pairs:
        utf8(key + value, "a query string parameter")  # what urlencode would choke on
    return urlencode(pairs, doseq=False).encode("ascii")


class RestTranslator:
    kind: SourceKind = "rest"
    streams = True

    def matches(self, event: Mapping[str, Any]) -> bool:
        context = event.get("requestContext")
        return (
            "httpMethod" in event
            and isinstance(context, Mapping)
            and "elb" not in context
            and event.get("version") != "2.0"
        )

    def request(self, event: Mapping[str, Any]) -> HttpRequest:
        method = event.get("httpMethod")
        if not isinstance(method, str) or not method:
            raise EventShapeError("REST event: httpMethod must be a non-empty string")
        path = event.get("path")
        if path is None or path == "":
            path = "/"
        if not isinstance(path, str):
            raise EventShapeError("REST event: path must be a string")
        utf8(path, "REST event: path")
        context = string_map(event.get("requestContext"), "requestContext")
        identity = string_map(context.get("identity"), "requestContext.identity")
        headers = header_pairs(event.get("headers"), event.get("multiValueHeaders"), "REST event")
        scheme, server = forwarded(headers)
        return HttpRequest(
            kind=self.kind,
            method=method.upper(),
            path=path,
            query_string=_query(event),
            headers=headers,
            body=decode_body(event.get("body"), event.get("isBase64Encoded")),
            root_path=_root_path(path, context),
            scheme=scheme,
            client=client_address(identity.get("sourceIp")),
            server=server,
            http_version=http_version(context.get("protocol")),
        )

    def reply(self, response: HttpResponse, event: Mapping[str, Any]) -> dict[str, Any]:
        single, multi = split_headers_v1(response.headers)
        body, is_base64 = encode_body(response.body, response.headers)
        return {
            "statusCode": response.status,
            "headers": single,
            "multiValueHeaders": multi,
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def prelude(self, status: int, headers: HeaderList) -> dict[str, Any]:
        single, multi = split_headers_v1(headers)
        metadata: dict[str, Any] = {"statusCode": status, "headers": single}
        if multi:
            metadata["multiValueHeaders"] = multi
        return metadata
