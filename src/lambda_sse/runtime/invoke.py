"""One invocation, start to outcome: run the handler, then post a response or an error.

Two flavours with the same steps: blocking (sync handlers; no asyncio) and async (async handlers,
on the environment loop). The steps:

1. decode the event (bad JSON is ``Runtime.UnmarshalError``, as in awslambdaric);
2. call the handler: ``(event, context)``, or ``(event, response_stream, context)`` when it is
   marked with ``streamify_response``;
3. a streaming handler that touched its stream: end the stream (an exception after the first
   byte ends it with the error trailers instead; before it, POST /error);
4. otherwise the return value is the buffered response: JSON (``bytes`` raw), at most
   6,291,556 bytes, else ``Function.ResponseSizeTooLarge`` on /error.
"""

from __future__ import annotations

import json

from lambda_sse.runtime.client import (
    API,
    AsyncRuntimeClient,
    AsyncStreamSink,
    BlockingStreamSink,
    NextInvocation,
    RuntimeClient,
    answer_headers,
)
from lambda_sse.runtime.context import LambdaContext, enter_invocation
from lambda_sse.runtime.logs import install_logging, log_line
from lambda_sse.runtime.report import (
    error_document,
    error_trailers,
    function_error_type,
    xray_cause,
)
from lambda_sse.runtime.stream import ResponseStream, SyncResponseStream

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["BUFFERED_LIMIT", "Outcome", "invoke_async", "invoke_sync"]

# Lambda's limit for a buffered response: 6 MiB + 100 bytes (reference §1, RIE).
BUFFERED_LIMIT = 6_291_556


class _Failure(Exception):
    """Internal: report this error document on /error."""

    def __init__(self, doc: dict[str, Any], error_type: str, xray_cause: str | None = None) -> None:
        super().__init__(doc.get("errorMessage", ""))
        self.doc = doc
        self.error_type = error_type
        self.xray_cause = xray_cause


class Outcome:
    """What happened, for logs and tests: ``kind`` is "buffered", "streamed", "stream_error"
    or "error"."""

    __slots__ = ("error_type", "kind")

    def __init__(self, kind: str, error_type: str | None = None) -> None:
        self.kind = kind
        self.error_type = error_type

    def __repr__(self) -> str:
        return f"Outcome({self.kind!r}, {self.error_type!r})"


def _prepare(inv: NextInvocation, *, set_environ: bool) -> tuple[Any, LambdaContext]:
    enter_invocation(inv.request_id, inv.trace_id, set_environ=set_environ)
    install_logging()
    context = LambdaContext(
        aws_request_id=inv.request_id,
        deadline_ms=inv.deadline_ms,
        invoked_function_arn=inv.function_arn,
        client_context=inv.client_context,
        cognito_identity=inv.cognito_identity,
        tenant_id=inv.tenant_id,
    )
    try:
        event = json.loads(inv.event) if inv.event else {}
    except ValueError as exc:
        raise _Failure(
            error_document(
                exc,
                inv.request_id,
                error_type="Runtime.UnmarshalError",
                message=f"Unable to unmarshal input: {exc}",
            ),
            "Runtime.UnmarshalError",
        ) from exc
    return event, context


def _marshal(result: Any, request_id: str) -> tuple[bytes, str]:
    if isinstance(result, bytes | bytearray):
        body, content_type = bytes(result), "application/unknown"  # as awslambdaric
    else:
        try:
            body = json.dumps(result, ensure_ascii=False).encode("utf-8")
        except Exception as exc:  # TypeError, ValueError (cycles), RecursionError (deep), ...
            raise _Failure(
                error_document(
                    exc,
                    request_id,
                    error_type="Runtime.MarshalError",
                    message=f"Unable to marshal response: {exc}",
                ),
                "Runtime.MarshalError",
            ) from exc
        content_type = "application/json"
    if len(body) > BUFFERED_LIMIT:
        message = (
            f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
            f"({BUFFERED_LIMIT} bytes). Stream the response to send more."
        )
        doc = {
            "errorMessage": message,
            "errorType": "Function.ResponseSizeTooLarge",
            "requestId": request_id,
            "stackTrace": [],
        }
        raise _Failure(doc, "Function.ResponseSizeTooLarge")
    return body, content_type


def _log_exception(exc: BaseException, request_id: str) -> None:
    """One log event, as AWS's Python runtime writes it: the error, then its stack trace, lines
    joined by CR so CloudWatch keeps them together."""
    stack = "".join(error_document(exc)["stackTrace"]).rstrip("\n")
    text = f"{type(exc).__name__}: {exc}"
    if stack:
        text += "\nTraceback (most recent call last):\n" + stack
    log_line("ERROR", text, request_id)


def _handler_failure(exc: BaseException, request_id: str) -> _Failure:
    _log_exception(exc, request_id)
    return _Failure(error_document(exc, request_id), function_error_type(exc), xray_cause(exc))


def _stream_target(client: RuntimeClient | AsyncRuntimeClient, request_id: str) -> str:
    return f"{API}/invocation/{request_id}/response"


# ---------------------------------------------------------------------------------------------


def invoke_sync(
    client: RuntimeClient,
    handler: Callable[..., Any],
    streaming: bool,
    inv: NextInvocation,
    *,
    set_environ: bool = True,
) -> Outcome:
    rid = inv.request_id
    try:
        event, context = _prepare(inv, set_environ=set_environ)
        if streaming:
            sink = client.stream_sink()
            stream = SyncResponseStream(
                sink, _stream_target(client, rid), client.address, answer_headers(inv.invocation_id)
            )
            outcome, result = _stream_sync(handler, event, stream, sink, context, rid)
            if outcome is not None:
                return outcome
        else:
            try:
                result = handler(event, context)
                if hasattr(result, "__await__"):
                    from lambda_sse.runtime.aio import run

                    result = run(result)
            except Exception as exc:
                raise _handler_failure(exc, rid) from exc
        body, content_type = _marshal(result, rid)
    except _Failure as failure:
        client.post_error(
            rid, failure.doc, failure.error_type, failure.xray_cause, inv.invocation_id
        )
        return Outcome("error", failure.error_type)
    client.post_response(rid, body, content_type, inv.invocation_id)
    return Outcome("buffered")


def _stream_sync(
    handler: Callable[..., Any],
    event: Any,
    stream: SyncResponseStream,
    sink: BlockingStreamSink,
    context: LambdaContext,
    rid: str,
) -> tuple[Outcome | None, Any]:
    """Run a sync streaming handler; ``(None, value)`` means "send value buffered"."""
    try:
        result = handler(event, stream, context)
    except Exception as exc:
        if not stream.started:
            sink.abort()
            raise _handler_failure(exc, rid) from exc
        _log_exception(exc, rid)
        if not stream.ended:
            stream._fail(error_trailers(exc, rid))
        sink.finish()
        return Outcome("stream_error", function_error_type(exc)), None
    if not stream.touched and result is not None:
        return None, result
    stream.end()
    sink.finish()
    return Outcome("streamed"), None


# ---------------------------------------------------------------------------------------------


async def invoke_async(
    client: AsyncRuntimeClient,
    handler: Callable[..., Any],
    streaming: bool,
    inv: NextInvocation,
    *,
    set_environ: bool = True,
) -> Outcome:
    rid = inv.request_id
    try:
        event, context = _prepare(inv, set_environ=set_environ)
        if streaming:
            sink = client.stream_sink()
            stream = ResponseStream(
                sink, _stream_target(client, rid), client.address, answer_headers(inv.invocation_id)
            )
            outcome, result = await _stream_async(handler, event, stream, sink, context, rid)
            if outcome is not None:
                return outcome
        else:
            try:
                result = handler(event, context)
                if hasattr(result, "__await__"):
                    result = await result
            except Exception as exc:
                raise _handler_failure(exc, rid) from exc
        body, content_type = _marshal(result, rid)
    except _Failure as failure:
        await client.post_error(
            rid, failure.doc, failure.error_type, failure.xray_cause, inv.invocation_id
        )
        return Outcome("error", failure.error_type)
    await client.post_response(rid, body, content_type, inv.invocation_id)
    return Outcome("buffered")


async def _stream_async(
    handler: Callable[..., Any],
    event: Any,
    stream: ResponseStream,
    sink: AsyncStreamSink,
    context: LambdaContext,
    rid: str,
) -> tuple[Outcome | None, Any]:
    try:
        result = handler(event, stream, context)
        if hasattr(result, "__await__"):
            result = await result
    except Exception as exc:
        if not stream.started:
            sink.abort()
            raise _handler_failure(exc, rid) from exc
        _log_exception(exc, rid)
        if not stream.ended:
            await stream._fail(error_trailers(exc, rid))
        await sink.finish()
        return Outcome("stream_error", function_error_type(exc)), None
    if not stream.touched and result is not None:
        return None, result
    await stream.end()
    await sink.finish()
    return Outcome("streamed"), None
