"""Lambda events from HTTP requests, sans-IO: REST proxy v1 and payload format 2.0.

Shapes per AWS (apigateway set-up-lambda-proxy-integrations.html "Input format of a Lambda
function for proxy integration"; lambda urls-invocation.html "Request payload format";
apigateway http-api-develop-integrations-lambda.html). Notable rules:

- v1: ``path`` excludes the stage, ``requestContext.path`` includes it; ``headers`` and
  ``queryStringParameters`` keep the last value, the ``multiValue*`` twins keep all; absent maps
  are ``null``; query values are URL-decoded.
- v2: ``rawPath``/``rawQueryString`` as sent; header names lower-cased, repeats comma-joined;
  ``Cookie`` moves to ``cookies``; repeated query values comma-joined; absent keys are omitted.
- Bodies that are not UTF-8 text travel as base64 with ``isBase64Encoded: true``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from lambda_sse.local.frontdoor.request import Request

__all__ = ["ACCOUNT_ID", "build_v1_event", "build_v2_event", "encode_event"]

ACCOUNT_ID = "000000000000"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Content types sent as text when the bytes are UTF-8; anything else is base64 (Function URLs
# base64-encode binary bodies; a REST API without binaryMediaTypes sends text as text).
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_TEXT_SUFFIXES = ("+json", "+xml", "x-www-form-urlencoded")


def _clf_time(epoch: float) -> str:
    """API Gateway's requestTime: "21/Nov/2026:00:56:03 +0000"."""
    t = time.gmtime(epoch)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{time.strftime('%H:%M:%S', t)} +0000"
    )


def _body(request: Request, *, by_type: bool) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if by_type:
        content_type = (request.header("content-type") or "").lower().split(";")[0].strip()
        textual = content_type.startswith(_TEXT_TYPES) or content_type.endswith(_TEXT_SUFFIXES)
    else:
        textual = True
    if textual:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def _query(raw: str) -> list[tuple[str, str]]:
    return parse_qsl(raw, keep_blank_values=True)


def build_v1_event(
    request: Request,
    *,
    resource: str,
    path: str,
    stage: str,
    path_parameters: Mapping[str, str],
    request_id: str | None = None,
    now: float | None = None,
    api_id: str = "local",
) -> dict[str, Any]:
    """The REST API (AWS_PROXY) event. ``path`` is the request path without the stage."""
    now = time.time() if now is None else now
    request_id = request_id or str(uuid.uuid4())
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in _query(request.raw_query):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _body(request, by_type=False)
    host = request.header("host") or "localhost"
    user_agent = request.header("user-agent")
    return {
        "resource": resource,
        "path": unquote(path),
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": _clf_time(now),
            "path": f"/{stage}{unquote(path)}",
            "accountId": ACCOUNT_ID,
            "protocol": f"HTTP/{request.http_version}",
            "stage": stage,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": host,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def build_v2_event(
    request: Request,
    *,
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    request_id: str | None = None,
    now: float | None = None,
    api_id: str = "local",
    stage: str = "$default",
    function_url: bool = True,
) -> dict[str, Any]:
    """The payload 2.0 event of a Function URL (``route_key`` "$default") or an HTTP API."""
    now = time.time() if now is None else now
    request_id = request_id or str(uuid.uuid4())
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    query: dict[str, str] = {}
    for name, value in _query(request.raw_query):
        query[name] = f"{query[name]},{value}" if name in query else value
    host = request.header("host") or "localhost"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["requestContext"] = {
        "accountId": "anonymous" if function_url else ACCOUNT_ID,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "http": {
            "method": request.method,
            "path": unquote(request.raw_path),
            "protocol": f"HTTP/{request.http_version}",
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": _clf_time(now),
        "timeEpoch": int(now * 1000),
    }
    body, is_base64 = _body(request, by_type=True)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def encode_event(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
