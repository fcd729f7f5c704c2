"""The Lambda API's I/O shell on the REST API's port: Invoke and InvokeWithResponseStream.

Paths under ``/2015-03-31/functions/`` and ``/2021-11-15/functions/`` are the Lambda API's and
take precedence on that port; every other request goes to the REST API door behind it. So
``AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:PORT`` points boto3 (and the AWS CLI, and the other
AWS SDKs) at ``lambda-sse dev``. What each answer looks like: :mod:`.protocol`.

- ``RequestResponse``: waits for the function; its result (or error document with
  ``X-Amz-Function-Error: Unhandled``) is the payload; a streamed response arrives buffered,
  prelude included, as on AWS.
- ``Event``: 202 at once; :class:`~.async_queue.AsyncQueue` runs it with AWS's retries.
- ``DryRun``: 204 once the name resolves.
- ``InvokeWithResponseStream``: ``PayloadChunk`` events with the function's chunks, sent as
  they come (chunks that queued up behind a slow reader go together), then ``InvokeComplete``
  (with ``ErrorCode`` and ``ErrorDetails`` when the function failed, mid-stream included, and
  ``LogResult`` with ``Tail``). The HTTP content type is the function's
  (``ResponseStreamContentType``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from lambda_sse import aws
from lambda_sse.errors import LambdaAPIError, LambdaSSEError
from lambda_sse.local.frontdoor.doors import DETACHED_NOTE, Access, Reporter
from lambda_sse.local.frontdoor.http import ClientGone, Door, Responder
from lambda_sse.local.frontdoor.replies import Reply
from lambda_sse.local.frontdoor.request import Request
from lambda_sse.local.frontdoor.routes import RouteTable
from lambda_sse.local.lambda_api.async_queue import AsyncQueue
from lambda_sse.local.lambda_api.eventstream import invoke_complete, payload_chunk
from lambda_sse.local.lambda_api.invoker import LambdaInvoker
from lambda_sse.local.lambda_api.protocol import (
    InvokeCall,
    error_reply,
    function_error_document,
    is_lambda_api,
    parse_invoke,
)
from lambda_sse.local.lambda_api.tail import LogTap
from lambda_sse.local.model import Invocation, InvocationOutcome, ProjectConfig, Throttled

__all__ = ["STREAM_LIMIT", "LambdaApiDoor", "overlapping_routes", "too_large_reply"]

# A streamed response may reach 200 MB
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html).
STREAM_LIMIT = 200 * 1024 * 1024
_VERSION = "$LATEST"
_GATHER_LIMIT = 1024 * 1024  # bytes gathered into one PayloadChunk at most


def too_large_reply(target: str) -> Reply | None:
    """What a Lambda API path answers to a body over the port's own limit (the REST API's
    10 MB), before it is read: Lambda's ``RequestTooLargeException``. ``None`` for other
    paths."""
    if not is_lambda_api(target.partition("?")[0]):
        return None
    error = LambdaAPIError(
        "RequestTooLargeException",
        413,
        f"Request must be smaller than {aws.SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction "
        "operation",
    )
    return error_reply(error, str(uuid.uuid4()))


def overlapping_routes(project: ProjectConfig) -> list[str]:
    """HTTP API routes that would match a Lambda API path (the Lambda API wins on the port)."""
    table = RouteTable(project.functions, "http_api")
    found: list[str] = []
    for path in (
        f"{aws.INVOKE_PATH_PREFIX}f/invocations",
        f"{aws.STREAM_INVOKE_PATH_PREFIX}f/response-streaming-invocations",
    ):
        match = table.match("POST", path)
        if match is not None:
            label = f"{match.route.method} {match.route.path} ({match.function.name})"
            if label not in found:
                found.append(label)
    return found


class LambdaApiDoor:
    """Serves the Lambda API, hands every other request to ``fallback`` (the REST API door)."""

    door = "lambda"

    def __init__(
        self,
        project: ProjectConfig,
        invoker: LambdaInvoker,
        fallback: Door,
        reporter: Reporter | None = None,
        *,
        queue: AsyncQueue,
        tap: LogTap | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.project = project
        self.invoker = invoker
        self.fallback = fallback
        self.reporter = reporter or Reporter()
        self.queue = queue
        self.tap = tap
        self.clock = clock
        for label in overlapping_routes(project):
            self.reporter.warning(
                f"HTTP API route {label} overlaps the Lambda API's paths "
                f"({aws.INVOKE_PATH_PREFIX}..., {aws.STREAM_INVOKE_PATH_PREFIX}...), which take "
                "precedence on this port: such requests invoke functions instead"
            )

    async def __call__(self, request: Request, responder: Responder) -> None:
        if not is_lambda_api(request.raw_path):
            await self.fallback(request, responder)
            return
        start = self.clock()
        request_id = str(uuid.uuid4())
        mode, function, note = "-", None, ""
        try:
            call = parse_invoke(request, self.project)
            function = call.target.function.name
            mode = f"{call.operation}/{call.invocation_type}"
            note = await self._serve(call, request_id, responder)
        except LambdaAPIError as error:
            if responder.started:  # pragma: no cover - errors are raised before any byte
                raise
            await responder.reply(error_reply(error, request_id))
            note = f"{error.code}: {error.message}"
        finally:
            if responder.started:
                self.reporter.access(
                    Access(
                        door=self.door,
                        method=request.method,
                        target=request.target,
                        status=responder.status,
                        mode=mode,
                        function=function,
                        duration_ms=(self.clock() - start) * 1000.0,
                        bytes_sent=responder.bytes_sent,
                        note=note,
                    )
                )

    async def _serve(self, call: InvokeCall, request_id: str, responder: Responder) -> str:
        headers = [("X-Amzn-RequestId", request_id)]
        if call.invocation_type == "DryRun":
            await responder.reply(Reply(204, headers))
            return ""
        if call.invocation_type == "Event":
            self.queue.submit(call.target.function, call.payload, request_id)
            await responder.reply(Reply(202, headers))
            return "queued"
        inv = await self._start(call, request_id)
        if call.operation == "Invoke":
            return await self._buffered(call, inv, request_id, responder)
        return await self._streamed(call, inv, request_id, responder)

    async def _start(self, call: InvokeCall, request_id: str) -> Invocation:
        try:
            return await self.invoker.invoke(
                call.target.function.name,
                call.payload,
                request_id=request_id,
                client_context=call.client_context,
            )
        except Throttled:
            raise LambdaAPIError(
                "TooManyRequestsException",
                429,
                "Rate Exceeded.",
                fields={"Reason": aws.THROTTLE_RESERVED},
            ) from None
        except LambdaSSEError as exc:  # the pool is closing
            raise LambdaAPIError("ServiceException", 500, str(exc)) from None

    def _log_result(self, call: InvokeCall, request_id: str) -> str | None:
        if not call.tail:
            return None
        return self.tap.take(request_id) if self.tap is not None else ""

    async def _buffered(
        self, call: InvokeCall, inv: Invocation, request_id: str, responder: Responder
    ) -> str:
        head = await inv.head()
        body = await _collect(inv.body(), aws.RESPONSE_PAYLOAD_LIMIT) if head else b""
        if body is None:
            inv.detach()  # the rest is discarded; the function runs to its end
        outcome = await inv.outcome()
        headers = [
            ("Content-Type", "application/json"),
            ("X-Amz-Executed-Version", _VERSION),
            ("X-Amzn-RequestId", request_id),
        ]
        log_result = self._log_result(call, request_id)
        if log_result is not None:
            headers.append(("X-Amz-Log-Result", log_result))
        note = ""
        if body is None:
            body = function_error_document(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size "
                f"({aws.RESPONSE_PAYLOAD_LIMIT} bytes).",
            )
            note = "Function.ResponseSizeTooLarge"
        elif outcome.status != "success" or outcome.trailer_error:
            body = outcome.error_body or function_error_document(
                outcome.error_type or "Unknown", outcome.status
            )
            note = f"function error {outcome.error_type or outcome.status}"
        if note:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        await responder.reply(Reply(200, headers, body))
        return note

    async def _streamed(
        self, call: InvokeCall, inv: Invocation, request_id: str, responder: Responder
    ) -> str:
        head = await inv.head()
        if head is None:
            content_type = "application/json"
        elif head.streaming:
            content_type = head.content_type or "application/octet-stream"
        else:
            content_type = head.content_type or "application/json"
        await responder.start_stream(
            200,
            [
                ("Content-Type", content_type),
                ("X-Amz-Executed-Version", _VERSION),
                ("X-Amzn-RequestId", request_id),
            ],
        )
        cut: str | None = None
        sent = 0
        try:
            if head is not None:
                # aclosing: a break or a client gone stops the gathering task at once.
                async with contextlib.aclosing(_gathered(inv.body())) as frames:
                    async for chunk in frames:
                        sent += len(chunk)
                        if sent > STREAM_LIMIT:
                            cut = f"response over {STREAM_LIMIT} bytes"
                            inv.detach()
                            break
                        await responder.send(payload_chunk(chunk))
            outcome = await inv.outcome()
            code, details = _stream_error(outcome, cut)
            await responder.send(invoke_complete(code, details, self._log_result(call, request_id)))
            await responder.end()
        except ClientGone:
            inv.detach()  # the pool logs that the function keeps running, as on AWS
            responder.abort()
            return DETACHED_NOTE
        return f"ended with {code}" if code else ""


def _stream_error(outcome: InvocationOutcome, cut: str | None) -> tuple[str | None, str | None]:
    """``ErrorCode`` and ``ErrorDetails`` of ``InvokeComplete`` (unset on success)."""
    if cut is not None:
        return "Function.ResponseSizeTooLarge", cut
    if outcome.status == "success" and not outcome.trailer_error:
        return None, None
    code = outcome.error_type or outcome.status
    details = code
    if outcome.error_body:
        try:
            document = json.loads(outcome.error_body)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
            details = document["errorMessage"]
    return code, details


async def _gathered(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """``chunks`` as they come, except that those that arrive while the previous one is still
    being sent (a client reading slower than the function writes) go out together, as one
    ``PayloadChunk``: nothing waits for a later chunk, and a slow reader is not sent thousands of
    tiny events. At most ``_GATHER_LIMIT`` bytes are held; then the function is held back."""
    pending = bytearray()
    more = asyncio.Event()
    room = asyncio.Event()
    room.set()
    finished = False

    async def pump() -> None:
        nonlocal finished
        try:
            async for chunk in chunks:
                pending.extend(chunk)
                more.set()
                if len(pending) >= _GATHER_LIMIT:
                    room.clear()
                    await room.wait()
        finally:
            finished = True
            more.set()

    task = asyncio.ensure_future(pump())
    try:
        while True:
            if pending:
                data = bytes(pending)
                pending.clear()
                room.set()
                yield data
            elif finished:
                break
            else:
                more.clear()
                await more.wait()
        task.result()  # the body's own error, if it ended with one
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _collect(chunks: AsyncIterator[bytes], cap: int) -> bytes | None:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > cap:
            return None
    return bytes(body)
