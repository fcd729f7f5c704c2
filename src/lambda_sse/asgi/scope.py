"""The ASGI HTTP scope of one invocation (ASGI spec, "HTTP Connection Scope")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambda_sse.asgi.types import Scope
from lambda_sse.events import HttpRequest

__all__ = ["build_scope"]


def build_scope(
    request: HttpRequest, event: Any, context: Any, state: Mapping[str, Any] | None
) -> Scope:
    """``path`` includes ``root_path`` (the REST stage), as uvicorn does and Starlette expects
    since 0.35; ``aws.event`` and ``aws.context`` carry the raw invocation."""
    path = request.root_path + request.path if request.root_path else request.path
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.http_version,
        "method": request.method,
        "scheme": request.scheme,
        "path": path,
        "raw_path": request.raw_path,
        "query_string": request.query_string,
        "root_path": request.root_path,
        "headers": list(request.headers),
        "client": list(request.client) if request.client else None,
        "server": list(request.server) if request.server else None,
        "aws.event": event,
        "aws.context": context,
    }
    if state is not None:
        # Lifespan state: each request gets a shallow copy (ASGI lifespan "state" extension).
        scope["state"] = dict(state)
    return scope
