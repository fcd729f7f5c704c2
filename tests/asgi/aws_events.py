"""AWS HTTP events for the bridge tests, built from the re-typed AWS samples (tests/events/data)."""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "events" / "data"


@cache
def _sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((DATA / name).read_text())
    event.pop("_source", None)
    return event


def _body(body: bytes | None, binary: bool) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if binary:
        return base64.b64encode(body).decode(), True
    return body.decode(), False


def rest(
    path: str,
    method: str = "GET",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    binary: bool = False,
    stage: str = "prod",
) -> dict[str, Any]:
    """A REST API (payload 1.0) event on the execute-api domain, stage in the URL."""
    event = copy.deepcopy(_sample("rest_v1_console_proxy.json"))
    event.update(httpMethod=method, path=path, resource="/{proxy+}")
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"].update(httpMethod=method, path=f"/{stage}{path}", stage=stage)
    pairs = [p.split("=", 1) for p in query.split("&") if p]
    event["queryStringParameters"] = {k: v for k, v in pairs} or None  # noqa: C416
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in pairs} or None
    for key, value in (headers or {}).items():
        event["headers"][key] = value
        event["multiValueHeaders"][key] = [value]
    event["body"], event["isBase64Encoded"] = _body(body, binary)
    return event


def function_url(
    path: str,
    method: str = "GET",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    binary: bool = False,
    sample: str = "function_url_docs.json",
) -> dict[str, Any]:
    event = copy.deepcopy(_sample(sample))
    event.update(rawPath=path, rawQueryString=query, cookies=None)
    event["requestContext"]["http"].update(method=method, path=path)
    event["headers"] = {"host": event["requestContext"]["domainName"], **(headers or {})}
    event["body"], event["isBase64Encoded"] = _body(body, binary)
    return event


def http_api(path: str, method: str = "GET", **kw: Any) -> dict[str, Any]:
    return function_url(path, method, sample="http_api_v2_docs.json", **kw)


def alb(
    path: str, method: str = "GET", *, multi: bool = False, body: bytes | None = None
) -> dict[str, Any]:
    event = copy.deepcopy(_sample("alb_multi_value_docs.json" if multi else "alb_docs.json"))
    event.update(httpMethod=method, path=path)
    if multi:
        event["multiValueQueryStringParameters"] = {}
    else:
        event["queryStringParameters"] = {}
    event["body"], event["isBase64Encoded"] = _body(body, False)
    return event
