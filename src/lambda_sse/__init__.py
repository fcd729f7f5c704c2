"""lambda-sse: stream Server-Sent Events and any HTTP response from AWS Lambda in Python.

Imports are lazy on purpose: a buffered handler that does ``import lambda_sse`` must not pay
for asyncio, the SSE codec or the ASGI bridge at cold start (see ARCHITECTURE.md).
"""

from __future__ import annotations

from lambda_sse._version import __version__
from lambda_sse.errors import LambdaSSEError

# `typing` costs ~3 ms at cold start; type checkers treat this constant as typing.TYPE_CHECKING.
TYPE_CHECKING = False
if TYPE_CHECKING:  # real names for type checkers; at run time they load on first use
    from typing import Any

    from lambda_sse.asgi import EventSourceResponse
    from lambda_sse.runtime.stream import HttpResponseStream, streamify_response

__all__ = [
    "EventSourceResponse",
    "HttpResponseStream",
    "LambdaSSEError",
    "__version__",
    "streamify_response",
]

_LAZY = {
    "streamify_response": "lambda_sse.runtime.stream",
    "HttpResponseStream": "lambda_sse.runtime.stream",
    "EventSourceResponse": "lambda_sse.asgi",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_sse' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
