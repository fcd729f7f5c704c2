"""Error documents the Runtime API expects, sans-IO.

Shape (docs: runtimes-api.html#runtimes-api-invokeerror, and awslambdaric's ``make_error``):
``{"errorMessage", "errorType", "requestId", "stackTrace": [...]}``. The error type of a handler's
exception is ``Function.<ExceptionClass>`` on the wire (header and trailer, Lambda's
``Category.Reason`` advice) and the bare class name in the JSON, as awslambdaric reports it.
"""

from __future__ import annotations

import json

from lambda_sse.aws import TRAILER_ERROR_BODY, TRAILER_ERROR_TYPE

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any

__all__ = ["error_document", "error_trailers", "function_error_type", "xray_cause"]

# Where the runtime's own frames live: they are cut from stack traces shown to users.
_OWN_FRAMES = (
    "/lambda_sse/runtime/loop.py",
    "/lambda_sse/runtime/invoke.py",
    "/lambda_sse/runtime/steps.py",
    "/lambda_sse/runtime/handler.py",
)


def function_error_type(exc: BaseException) -> str:
    return f"Function.{type(exc).__name__}"


def _frames(exc: BaseException) -> list[Any]:
    import traceback  # only on the error path: it is not cheap to import

    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not f.filename.endswith(_OWN_FRAMES)]


def _stack(exc: BaseException) -> list[str]:
    import traceback

    if isinstance(exc, SyntaxError) and exc.filename:
        # Where the syntax error is, as awslambdaric reports it (no frames to speak of).
        line = f'  File "{exc.filename}" Line {exc.lineno}\n'
        return [line + (f"    {exc.text.strip()}\n" if exc.text else "")]
    # Plain tuples: the same text as awslambdaric, without 3.11's "^^^" marker lines.
    return traceback.format_list(
        [(f.filename, f.lineno or 0, f.name, f.line or "") for f in _frames(exc)]
    )


def xray_cause(exc: BaseException) -> str:
    """The X-Ray error cause AWS's Python runtime sends with an invocation error (the header
    ``Lambda-Runtime-Function-XRay-Error-Cause``): ASCII JSON, so it fits in a header."""
    import os

    frames = _frames(exc)
    stack = [{"label": f.name, "path": f.filename, "line": f.lineno} for f in frames]
    return json.dumps(
        {
            "working_directory": os.getcwd(),
            "exceptions": [{"message": str(exc), "type": type(exc).__name__, "stack": stack}],
            "paths": list(dict.fromkeys(f.filename for f in frames)),
        }
    )


def error_document(
    exc: BaseException,
    request_id: str | None = None,
    *,
    error_type: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id or "",
        "stackTrace": _stack(exc),
    }


def error_trailers(exc: BaseException, request_id: str | None) -> list[tuple[str, str]]:
    """The two trailers that report an error after the first streamed byte (docs:
    runtimes-custom.html#runtimes-custom-response-streaming)."""
    import binascii

    doc = json.dumps(error_document(exc, request_id), ensure_ascii=False).encode()
    return [
        (TRAILER_ERROR_TYPE, function_error_type(exc)),
        (TRAILER_ERROR_BODY, binascii.b2a_base64(doc, newline=False).decode()),
    ]
