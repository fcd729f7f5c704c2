"""The Lambda Invoke API's requests and replies, sans-IO (a :class:`Request` in, a
:class:`Reply` or an :class:`InvokeCall` out).

Shapes from botocore's model of the Lambda API and AWS's reference
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html,
https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html):

- ``POST /2015-03-31/functions/{FunctionName}/invocations`` (Invoke) and
  ``POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations``
  (InvokeWithResponseStream); ``Qualifier`` in the query; ``X-Amz-Invocation-Type``
  (``RequestResponse``, ``Event`` (Invoke only), ``DryRun``), ``X-Amz-Log-Type`` (``None``,
  ``Tail``), ``X-Amz-Client-Context`` (base64 of a JSON object, at most 3,583 bytes).
- Errors: the status, ``X-Amzn-ErrorType: <Code>`` and ``{"Type": "User", "Message": ...}``;
  botocore takes the code from that header and raises ``client.exceptions.<Code>``.
- A function error is not an API error: 200, ``X-Amz-Function-Error: Unhandled`` and the
  error document as the payload.

Requests are not signature-checked: any credentials work.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote

from lambda_sse import aws
from lambda_sse.errors import LambdaAPIError
from lambda_sse.local.frontdoor.replies import Reply
from lambda_sse.local.frontdoor.request import Request
from lambda_sse.local.lambda_api.names import Resolved, resolve
from lambda_sse.local.model import ProjectConfig

__all__ = [
    "InvokeCall",
    "Operation",
    "error_reply",
    "function_error_document",
    "is_lambda_api",
    "parse_invoke",
]

Operation = Literal["Invoke", "InvokeWithResponseStream"]
InvocationType = Literal["RequestResponse", "Event", "DryRun"]

_ROUTES: tuple[tuple[str, str, Operation], ...] = (
    (aws.INVOKE_PATH_PREFIX, "/invocations", "Invoke"),
    (aws.STREAM_INVOKE_PATH_PREFIX, "/response-streaming-invocations", "InvokeWithResponseStream"),
)
_TYPES: dict[Operation, tuple[str, ...]] = {
    "Invoke": ("Event", "RequestResponse", "DryRun"),
    "InvokeWithResponseStream": ("RequestResponse", "DryRun"),
}


@dataclass(frozen=True)
class InvokeCall:
    """A valid invocation request."""

    operation: Operation
    target: Resolved
    invocation_type: InvocationType
    tail: bool  # X-Amz-Log-Type: Tail
    client_context: str | None  # the decoded JSON, as the Runtime API passes it on
    payload: bytes  # the event (an empty body is "{}")


def is_lambda_api(raw_path: str) -> bool:
    """Whether the path belongs to the Lambda API (it takes precedence on the REST port)."""
    return raw_path.startswith((aws.INVOKE_PATH_PREFIX, aws.STREAM_INVOKE_PATH_PREFIX))


def error_reply(error: LambdaAPIError, request_id: str) -> Reply:
    """AWS's error answer: status, ``X-Amzn-ErrorType`` and a JSON body."""
    body: dict[str, str] = {"Type": "User", "Message": error.message}
    if error.code == "TooManyRequestsException":
        # This shape's members are lower-case "message" plus "Reason" (botocore's model).
        body = {"Type": "User", "message": error.message}
    if error.status >= 500:
        body["Type"] = "Service"
    body.update(error.fields)
    return Reply(
        error.status,
        [
            ("Content-Type", "application/json"),
            ("X-Amzn-ErrorType", error.code),
            ("X-Amzn-RequestId", request_id),
        ],
        json.dumps(body).encode(),
    )


def function_error_document(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _operation(request: Request) -> tuple[Operation, str]:
    path = request.raw_path
    for prefix, suffix, operation in _ROUTES:
        if path.startswith(prefix) and path.endswith(suffix) and request.method == "POST":
            name = path[len(prefix) : len(path) - len(suffix)]
            if name and "/" not in name:
                return operation, unquote(name)
    raise LambdaAPIError(
        "UnsupportedOperationException",
        501,
        f"lambda-sse dev serves the Lambda API's Invoke (POST {aws.INVOKE_PATH_PREFIX}NAME"
        f"/invocations) and InvokeWithResponseStream (POST {aws.STREAM_INVOKE_PATH_PREFIX}NAME"
        f"/response-streaming-invocations) only, not {request.method} {path}",
    )


def _enum(value: str, member: str, allowed: tuple[str, ...]) -> LambdaAPIError:
    return LambdaAPIError(
        "ValidationException",
        400,
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]",
    )


def _reject_constant(name: str) -> object:
    # NaN and Infinity are not JSON (RFC 8259); Python's parser accepts them, Lambda does not.
    raise ValueError(f"Non-standard token '{name}'")


def _check_json(payload: bytes, what: str) -> None:
    try:
        json.loads(payload, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LambdaAPIError(
            "InvalidRequestContentException",
            400,
            f"Could not parse request body into json: Could not parse {what} into json: {exc}",
        ) from None


def _client_context(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > aws.CLIENT_CONTEXT_LIMIT:
        raise LambdaAPIError(
            "InvalidRequestContentException",
            400,
            f"Client context must be at most {aws.CLIENT_CONTEXT_LIMIT} bytes of base64",
        )
    try:
        decoded = base64.b64decode(value, validate=True)
        document = json.loads(decoded)
    except (binascii.Error, ValueError):
        document = None
    if not isinstance(document, dict):
        raise LambdaAPIError(
            "InvalidRequestContentException",
            400,
            "Client context must be a valid Base64-encoded JSON object.",
        )
    return decoded.decode("utf-8")


def parse_invoke(request: Request, project: ProjectConfig) -> InvokeCall:
    """The invocation ``request`` asks for. Raises :class:`LambdaAPIError` with AWS's code."""
    operation, reference = _operation(request)
    query = parse_qs(request.raw_query, keep_blank_values=True)
    qualifier = query.get("Qualifier", [None])[-1]
    target = resolve(project, reference, qualifier or None)
    invocation_type = request.header("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type not in _TYPES[operation]:
        raise _enum(invocation_type, "invocationType", _TYPES[operation])
    log_type = request.header("X-Amz-Log-Type") or "None"
    if log_type not in ("None", "Tail"):
        raise _enum(log_type, "logType", ("None", "Tail"))
    client_context = _client_context(request.header("X-Amz-Client-Context"))
    payload = request.body
    limit = aws.ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else aws.SYNC_PAYLOAD_LIMIT
    if len(payload) > limit:
        what = "InvokeAsync" if invocation_type == "Event" else "InvokeFunction"
        raise LambdaAPIError(
            "RequestTooLargeException",
            413,
            f"Request must be smaller than {limit} bytes for the {what} operation",
        )
    if not payload.strip():
        payload = b"{}"  # Lambda passes an empty payload on as {}
    elif invocation_type != "DryRun":
        _check_json(payload, "payload")
    return InvokeCall(
        operation=operation,
        target=target,
        invocation_type=invocation_type,  # type: ignore[arg-type]  # checked above
        tail=log_type == "Tail",
        client_context=client_context,
        payload=payload,
    )
