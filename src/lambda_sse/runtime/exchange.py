"""The Runtime API client exchange, sans-IO: which bytes to send, how to read the reply, when to
retry, and what the reply means. :mod:`lambda_sse.runtime.client` performs the steps, blocking
or with asyncio (see :mod:`lambda_sse.runtime.steps`).

Endpoints (docs: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): GET
/runtime/invocation/next, POST .../{id}/response and .../{id}/error, POST /runtime/init/error.
GET /next is a long poll and has no timeout. A 500 means the container is broken and the runtime
must exit; callers get a :class:`RuntimeAPIError` with ``status`` set.
"""

from __future__ import annotations

import json

from lambda_sse import aws
from lambda_sse.aws import (
    ERROR_CONTENT_TYPE,
    ERROR_TYPE_HEADER,
    INVOCATION_ID_HEADER,
    RUNTIME_API_PREFIX,
    XRAY_CAUSE_HEADER,
    XRAY_CAUSE_LIMIT,
)
from lambda_sse.errors import RuntimeAPIError
from lambda_sse.runtime.http import ResponseParser, encode_request

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from typing import Any

    from lambda_sse.runtime.steps import Step

    Reply = Generator[Step, Any, ResponseParser]

__all__ = [
    "CLOSE",
    "CONNECT",
    "RECV",
    "SEND",
    "Call",
    "NextInvocation",
    "answer_headers",
    "call",
    "check",
    "error_call",
    "finish_stream",
    "init_error_call",
    "next_call",
    "parse_address",
    "response_call",
]

API = RUNTIME_API_PREFIX
# The steps a shell performs: connect the kept-alive socket, send bytes, receive some bytes
# (b"" at end of stream), close the socket.
CONNECT, SEND, RECV, CLOSE = 0, 1, 2, 3
# The reply's header names, as the parser keeps them (lower case).
_REQUEST_ID = aws.REQUEST_ID_HEADER.lower()
_DEADLINE = aws.DEADLINE_HEADER.lower()
_FUNCTION_ARN = aws.FUNCTION_ARN_HEADER.lower()
_TRACE_ID = aws.TRACE_ID_HEADER.lower()
_CLIENT_CONTEXT = aws.CLIENT_CONTEXT_HEADER.lower()
_COGNITO_IDENTITY = aws.COGNITO_IDENTITY_HEADER.lower()
_TENANT_ID = aws.TENANT_ID_HEADER.lower()
_INVOCATION_ID = aws.INVOCATION_ID_HEADER.lower()
_CONNECT: Step = (CONNECT, None)
_RECV: Step = (RECV, None)
_CLOSE: Step = (CLOSE, None)


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` as in AWS_LAMBDA_RUNTIME_API."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RuntimeAPIError(
            f"AWS_LAMBDA_RUNTIME_API must be HOST:PORT (e.g. 127.0.0.1:9001), got {address!r}"
        )
    return host.strip("[]"), int(port)


class NextInvocation:
    """What GET /next answered. (A plain class: ``dataclasses`` imports ``inspect``, which
    costs milliseconds at every cold start.)"""

    __slots__ = (
        "client_context",
        "cognito_identity",
        "deadline_ms",
        "event",
        "function_arn",
        "invocation_id",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        function_arn: str,
        event: bytes,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        self.request_id = request_id
        # One attempt of the request (Managed Instances); echoed on the answer, as awslambdaric.
        self.invocation_id = invocation_id
        self.deadline_ms = deadline_ms
        self.function_arn = function_arn
        self.event = event
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id


# -- reading replies -----------------------------------------------------------------------------


def read_reply() -> Reply:
    """Receive until one whole reply has arrived (or the peer closed)."""
    parser = ResponseParser()
    while True:
        chunk = yield _RECV
        if not chunk:
            parser.feed_eof()
            return parser
        if parser.feed(chunk):
            return parser


def request(data: bytes, connected: bool) -> Reply:
    """One request on the kept-alive connection. A reused connection that the peer had closed
    (the send or the reply fails) gets one more try on a fresh one."""
    reused = connected
    while True:
        try:
            if not connected:
                yield _CONNECT
                connected = True
            yield (SEND, data)
            parser = yield from read_reply()
        except (ConnectionError, RuntimeAPIError):
            yield _CLOSE
            if not reused:
                raise
            reused = connected = False
            continue
        if not parser.keep_alive:
            yield _CLOSE
        return parser


def finish_stream() -> Reply:
    """After a streamed body: read the Runtime API's answer to it, close, check it."""
    try:
        parser = yield from read_reply()
    except Exception:
        yield _CLOSE
        raise
    yield _CLOSE
    check(parser, "POST /response (streaming)")
    return parser


def check(reply: ResponseParser, what: str, expected: int = 202) -> None:
    if reply.status == expected:
        return
    detail = reply.body[:500].decode("utf-8", "replace")
    raise RuntimeAPIError(
        f"{what}: the Runtime API answered {reply.status} {reply.reason}: {detail}",
        reply.status,
    )


# -- the calls ------------------------------------------------------------------------------------


class Call:
    """One request to the Runtime API and what its reply must be."""

    __slots__ = ("data", "finish")

    def __init__(self, data: bytes, finish: Callable[[ResponseParser], Any]) -> None:
        self.data = data
        self.finish = finish


def call(spec: Call, connected: bool) -> Generator[Step, Any, Any]:
    """The core of every client method: the request, then the meaning of its reply."""
    reply = yield from request(spec.data, connected)
    return spec.finish(reply)


def answer_headers(invocation_id: str | None) -> list[tuple[str, str]]:
    """Headers every answer to an invocation carries besides its own."""
    return [(INVOCATION_ID_HEADER, invocation_id)] if invocation_id else []


def _parse_next(reply: ResponseParser) -> NextInvocation:
    check(reply, "GET /next", expected=200)
    headers = reply.headers
    request_id = headers.get(_REQUEST_ID)
    if not request_id:
        raise RuntimeAPIError("GET /next reply has no Lambda-Runtime-Aws-Request-Id", 200)
    try:
        deadline = int(headers.get(_DEADLINE, "0"))
    except ValueError:
        raise RuntimeAPIError("GET /next reply has a bad Lambda-Runtime-Deadline-Ms") from None
    return NextInvocation(
        request_id=request_id,
        deadline_ms=deadline,
        function_arn=headers.get(_FUNCTION_ARN, ""),
        event=reply.body,
        trace_id=headers.get(_TRACE_ID) or None,
        client_context=headers.get(_CLIENT_CONTEXT) or None,
        cognito_identity=headers.get(_COGNITO_IDENTITY) or None,
        tenant_id=headers.get(_TENANT_ID) or None,
        invocation_id=headers.get(_INVOCATION_ID) or None,
    )


def _checker(what: str) -> Callable[[ResponseParser], None]:
    return lambda reply: check(reply, what)


_CHECK_RESPONSE = _checker("POST /response")
_CHECK_ERROR = _checker("POST /error")
_CHECK_INIT_ERROR = _checker("POST /init/error")


def next_call(address: str) -> Call:
    return Call(encode_request("GET", f"{API}/invocation/next", address), _parse_next)


def response_call(
    address: str,
    request_id: str,
    body: bytes,
    content_type: str = "application/json",
    invocation_id: str | None = None,
) -> Call:
    path = f"{API}/invocation/{request_id}/response"
    headers = [("Content-Type", content_type), *answer_headers(invocation_id)]
    return Call(encode_request("POST", path, address, body, headers), _CHECK_RESPONSE)


def _error_request(
    path: str,
    host: str,
    doc: dict[str, Any],
    error_type: str,
    xray_cause: str | None = None,
    invocation_id: str | None = None,
) -> bytes:
    body = json.dumps(doc, ensure_ascii=False, default=str).encode()
    headers = [("Content-Type", ERROR_CONTENT_TYPE), (ERROR_TYPE_HEADER, error_type)]
    headers += answer_headers(invocation_id)
    if xray_cause and len(xray_cause) < XRAY_CAUSE_LIMIT:
        headers.append((XRAY_CAUSE_HEADER, xray_cause))
    return encode_request("POST", path, host, body, headers)


def error_call(
    address: str,
    request_id: str,
    doc: dict[str, Any],
    error_type: str,
    xray_cause: str | None = None,
    invocation_id: str | None = None,
) -> Call:
    path = f"{API}/invocation/{request_id}/error"
    data = _error_request(path, address, doc, error_type, xray_cause, invocation_id)
    return Call(data, _CHECK_ERROR)


def init_error_call(address: str, doc: dict[str, Any], error_type: str) -> Call:
    data = _error_request(f"{API}/init/error", address, doc, error_type)
    return Call(data, _CHECK_INIT_ERROR)
