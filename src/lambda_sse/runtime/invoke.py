"""One invocation, start to outcome: run the handler, then post a response or an error.

One sans-IO core, :func:`invocation`, holds every rule; :func:`invoke_sync` (sync handlers, no
asyncio) and :func:`invoke_async` (async handlers, on the environment loop) only perform its
steps (see :mod:`lambda_sse.runtime.steps`). The rules:

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

from lambda_sse.aws import BUFFERED_LIMIT
from lambda_sse.errors import LambdaSSEError
from lambda_sse.runtime.client import (
    API,
    AsyncRuntimeClient,
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
from lambda_sse.runtime.steps import drive, drive_async
from lambda_sse.runtime.stream import ResponseStream, SyncResponseStream

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from typing import Any

    from lambda_sse.runtime.steps import Step

    Stream = ResponseStream | SyncResponseStream

__all__ = ["BUFFERED_LIMIT", "Outcome", "invocation", "invoke_async", "invoke_sync"]


class _Failure(LambdaSSEError):
    """Internal: report this error document on /error (never leaves this module)."""

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


# -- the core ------------------------------------------------------------------------------------

# The steps a shell performs (argument in brackets; each returns what it says or None):
CALL = 0  # (handler, args): the handler's return value; an awaitable one is awaited, except
# that the blocking shell leaves a sync streaming handler's result as it is
OPEN_STREAM = 1  # (None): the response stream of this invocation (the shell keeps its sink)
STREAM_FAIL = 2  # (trailers): end the stream with the error trailers
STREAM_END = 3  # (None): end the stream
SINK_FINISH = 4  # (None): read the Runtime API's answer to the streamed body
SINK_ABORT = 5  # (None): drop the stream's connection (nothing was sent)
POST_ERROR = 6  # ((doc, error type, X-Ray cause)): POST /error
POST_RESPONSE = 7  # ((body, content type)): POST /response, buffered


def invocation(
    handler: Callable[..., Any], streaming: bool, inv: NextInvocation, *, set_environ: bool = True
) -> Generator[Step, Any, Outcome]:
    """Every rule of one invocation, as steps (see the module docstring)."""
    rid = inv.request_id
    try:
        event, context = _prepare(inv, set_environ=set_environ)
        if streaming:
            stream = yield (OPEN_STREAM, None)
            outcome, result = yield from _streamed(handler, event, stream, context, rid)
            if outcome is not None:
                return outcome
        else:
            try:
                result = yield (CALL, (handler, (event, context), False))
            except Exception as exc:
                raise _handler_failure(exc, rid) from exc
        body, content_type = _marshal(result, rid)
    except _Failure as failure:
        yield (POST_ERROR, (failure.doc, failure.error_type, failure.xray_cause))
        return Outcome("error", failure.error_type)
    yield (POST_RESPONSE, (body, content_type))
    return Outcome("buffered")


def _streamed(
    handler: Callable[..., Any], event: Any, stream: Stream, context: LambdaContext, rid: str
) -> Generator[Step, Any, tuple[Outcome | None, Any]]:
    """A streaming handler's run; ``(None, value)`` means "send value buffered"."""
    try:
        result = yield (CALL, (handler, (event, stream, context), True))
    except Exception as exc:
        if not stream.started:
            yield (SINK_ABORT, None)
            raise _handler_failure(exc, rid) from exc
        _log_exception(exc, rid)
        if not stream.ended:
            yield (STREAM_FAIL, error_trailers(exc, rid))
        yield (SINK_FINISH, None)
        return Outcome("stream_error", function_error_type(exc)), None
    if not stream.touched and result is not None:
        return None, result
    yield (STREAM_END, None)
    yield (SINK_FINISH, None)
    return Outcome("streamed"), None


def _stream_target(request_id: str) -> str:
    return f"{API}/invocation/{request_id}/response"


# -- the blocking shell ---------------------------------------------------------------------------


def invoke_sync(
    client: RuntimeClient,
    handler: Callable[..., Any],
    streaming: bool,
    inv: NextInvocation,
    *,
    set_environ: bool = True,
) -> Outcome:
    """Run one invocation of a sync handler, blocking; a coroutine a buffered handler returns
    is run to its end on the environment's loop."""
    rid = inv.request_id
    stream: SyncResponseStream | None = None
    sink: Any = None

    def perform(step: Step) -> Any:
        nonlocal stream, sink
        op, arg = step
        if op == CALL:
            fn, args, streamed = arg
            result = fn(*args)
            if not streamed and hasattr(result, "__await__"):
                from lambda_sse.runtime.aio import run

                result = run(result)
            return result
        if op == POST_RESPONSE:
            client.post_response(rid, arg[0], arg[1], inv.invocation_id)
        elif op == POST_ERROR:
            client.post_error(rid, arg[0], arg[1], arg[2], inv.invocation_id)
        elif op == OPEN_STREAM:
            sink = client.stream_sink()
            headers = answer_headers(inv.invocation_id)
            stream = SyncResponseStream(sink, _stream_target(rid), client.address, headers)
            return stream
        elif op == STREAM_END:
            assert stream is not None
            stream.end()
        elif op == SINK_FINISH:
            sink.finish()
        elif op == STREAM_FAIL:
            assert stream is not None
            stream._fail(arg)
        else:
            sink.abort()
        return None

    return drive(invocation(handler, streaming, inv, set_environ=set_environ), perform)


# -- the asyncio shell ----------------------------------------------------------------------------


async def invoke_async(
    client: AsyncRuntimeClient,
    handler: Callable[..., Any],
    streaming: bool,
    inv: NextInvocation,
    *,
    set_environ: bool = True,
) -> Outcome:
    """Run one invocation on the environment's loop; awaitable results are awaited."""
    rid = inv.request_id
    stream: ResponseStream | None = None
    sink: Any = None

    async def perform(step: Step) -> Any:
        nonlocal stream, sink
        op, arg = step
        if op == CALL:
            fn, args, _ = arg
            result = fn(*args)
            if hasattr(result, "__await__"):
                result = await result
            return result
        if op == POST_RESPONSE:
            await client.post_response(rid, arg[0], arg[1], inv.invocation_id)
        elif op == POST_ERROR:
            await client.post_error(rid, arg[0], arg[1], arg[2], inv.invocation_id)
        elif op == OPEN_STREAM:
            sink = client.stream_sink()
            headers = answer_headers(inv.invocation_id)
            stream = ResponseStream(sink, _stream_target(rid), client.address, headers)
            return stream
        elif op == STREAM_END:
            assert stream is not None
            await stream.end()
        elif op == SINK_FINISH:
            await sink.finish()
        elif op == STREAM_FAIL:
            assert stream is not None
            await stream._fail(arg)
        else:
            sink.abort()
        return None

    return await drive_async(invocation(handler, streaming, inv, set_environ=set_environ), perform)
