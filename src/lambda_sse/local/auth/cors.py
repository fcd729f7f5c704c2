"""Function URL CORS, sans-IO: the preflight answer and the headers of actual responses.

AWS's rules (https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html#urls-cors,
https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html):

- with ``Cors`` configured the URL answers a preflight (``OPTIONS`` with ``Origin`` and
  ``Access-Control-Request-Method``) itself, without invoking the function: 200, and the
  ``Access-Control-Allow-*`` headers when the origin is allowed (none otherwise, so the browser
  refuses); the browser checks the method and headers against the lists it gets;
- Lambda adds the CORS headers to every response of the URL, streamed ones included; where the
  function sets CORS headers too, the URL's configuration takes precedence, so the function's
  ``Access-Control-*`` headers are dropped;
- ``AllowOrigins`` entries may hold ``*`` as a wildcard (``*`` alone: any origin;
  ``http://localhost:*``: any port). An allowed origin is echoed (``*`` when every origin is
  allowed and credentials are not), with ``Vary: Origin``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from lambda_sse.local.frontdoor.replies import Reply
from lambda_sse.local.model import CorsConfig

__all__ = ["is_preflight", "origin_allowed", "preflight_reply", "response_headers"]

Headers = list[tuple[str, str]]


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


@lru_cache(maxsize=64)
def _pattern(origins: tuple[str, ...]) -> re.Pattern[str]:
    parts = ("[^\\s]*".join(re.escape(p) for p in o.split("*")) for o in origins)
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def origin_allowed(cors: CorsConfig, origin: str) -> bool:
    if not cors.allow_origins:
        return False
    return _pattern(cors.allow_origins).fullmatch(origin) is not None


def is_preflight(method: str, headers: Sequence[tuple[str, str]]) -> bool:
    return (
        method == "OPTIONS"
        and _header(headers, "origin") is not None
        and _header(headers, "access-control-request-method") is not None
    )


def _allow_origin(cors: CorsConfig, origin: str) -> Headers:
    if cors.allow_origins == ("*",) and not cors.allow_credentials:
        out = [("Access-Control-Allow-Origin", "*")]
    else:
        out = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    if cors.allow_credentials:
        out.append(("Access-Control-Allow-Credentials", "true"))
    return out


def preflight_reply(cors: CorsConfig, headers: Sequence[tuple[str, str]]) -> Reply:
    origin = _header(headers, "origin") or ""
    if not origin_allowed(cors, origin):
        return Reply(200, [])
    out = _allow_origin(cors, origin)
    if cors.allow_methods:
        methods = ",".join(cors.allow_methods)
        if methods == "*" and cors.allow_credentials:
            # With credentials a browser reads "*" as a method name: name the one asked for.
            methods = _header(headers, "access-control-request-method") or "*"
        out.append(("Access-Control-Allow-Methods", methods))
    if cors.allow_headers:
        allowed = ",".join(cors.allow_headers)
        if allowed == "*" and cors.allow_credentials:
            allowed = _header(headers, "access-control-request-headers") or "*"
        out.append(("Access-Control-Allow-Headers", allowed))
    if cors.max_age is not None:
        out.append(("Access-Control-Max-Age", str(cors.max_age)))
    return Reply(200, out)


def response_headers(
    cors: CorsConfig, request_headers: Sequence[tuple[str, str]], headers: Headers
) -> Headers:
    """An actual response's headers: the function's, without its ``Access-Control-*``, plus the
    URL's when the request's origin is allowed."""
    out = [(n, v) for n, v in headers if not n.lower().startswith("access-control-")]
    origin = _header(request_headers, "origin")
    if origin is None or not origin_allowed(cors, origin):
        return out
    out.extend(_allow_origin(cors, origin))
    if cors.expose_headers:
        out.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    return out
