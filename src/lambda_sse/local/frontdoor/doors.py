"""The front doors: API Gateway REST (BUFFERED and STREAM), Function URLs (BUFFERED and
RESPONSE_STREAM) and HTTP API routes (buffered v2), each answering as AWS does.

Facts (AWS's docs, cited in :mod:`lambda_sse.aws` and docs/limits.md):

- REST: ``/{stage}/{path}``; an unknown resource or method is 403 ``{"message": "Missing
  Authentication Token"}``; 10 MB payload (413); an event over Lambda's 6 MB invocation payload
  is rejected by Lambda, which API Gateway answers 500, as it answers a throttled invocation.
  BUFFERED: 29 s integration timeout (504 ``{"message": "Endpoint request timed out"}``); a
  function error or malformed result is 502 ``{"message": "Internal server error"}``. STREAM:
  status and headers from the prelude (a bad or missing prelude is 500), then the body as it
  comes; a timeout mid-stream closes the connection without the final chunk (and, UNCONFIRMED,
  so does an error mid-stream); the idle timeout is 5 minutes (REGIONAL, PRIVATE) or 30 seconds
  (EDGE).
- Function URL: v2 events; BUFFERED answers by the v2 result rules (6 MB); RESPONSE_STREAM
  streams a prelude's status and headers, or the raw body with its content type (200 MB); a
  buffered result in RESPONSE_STREAM mode passes through verbatim; an error mid-stream ends the
  body cleanly (observed). Throttled: 429 (UNCONFIRMED).
- Invalid response headers (CR, LF, NUL in a value; a name that is not a token) never reach the
  client: the bad-prelude or malformed-result answer, and the invocation is detached.
- A client that goes away detaches the invocation: the function keeps running, as on AWS.
- Who may call (``lambda_sse.local.auth``, off with ``auth=False``): REST Lambda authorizers
  and API keys before the integration; a Function URL's CORS (preflight answered without
  invoking, headers on every response) and AWS_IAM SigV4 check.

Why this module is longer than 400 lines: both front doors apply the same AWS rules
(payload limits, timeouts, prelude, detaching) over one Invoker, side by side for comparison.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

# API Gateway's and Lambda's quotas, with their sources, live in lambda_sse.aws.
from lambda_sse.aws import (
    EDGE_IDLE_TIMEOUT,
    HEAD_LIMIT,
    HTTP_API_TIMEOUT,
    INTEGRATION_TIMEOUT,
    INVOKE_PAYLOAD_LIMIT,
    REGIONAL_IDLE_TIMEOUT,
    REST_PAYLOAD_LIMIT,
    URL_BUFFERED_LIMIT,
    URL_STREAM_LIMIT,
)
from lambda_sse.errors import LambdaSSEError, SignatureError
from lambda_sse.local.auth import cors as cors_rules
from lambda_sse.local.auth import iam
from lambda_sse.local.auth.apikeys import key_id
from lambda_sse.local.auth.guard import Admitted, RestGuard
from lambda_sse.local.frontdoor.build import build_v1_event, build_v2_event, encode_event
from lambda_sse.local.frontdoor.http import ClientGone, Responder
from lambda_sse.local.frontdoor.replies import (
    MalformedResult,
    Reply,
    apigw_error,
    head_from_prelude,
    parse_v1_result,
    parse_v2_result,
    url_error,
)
from lambda_sse.local.frontdoor.request import Request
from lambda_sse.local.frontdoor.routes import RouteMatch, RouteTable
from lambda_sse.local.model import (
    FunctionConfig,
    Invocation,
    Invoker,
    ProjectConfig,
    Throttled,
)
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, PreludeDecoder, PreludeError

__all__ = [
    "EDGE_IDLE_TIMEOUT",
    "ENDINGS",
    "HEAD_LIMIT",
    "HTTP_API_TIMEOUT",
    "INTEGRATION_TIMEOUT",
    "INVOKE_PAYLOAD_LIMIT",
    "REGIONAL_IDLE_TIMEOUT",
    "REST_PAYLOAD_LIMIT",
    "URL_BUFFERED_LIMIT",
    "URL_STREAM_LIMIT",
    "Access",
    "FunctionUrlDoor",
    "Reporter",
    "RestApiDoor",
    "head_limit_reply",
]


INTERNAL_ERROR = "Internal server error"
# How a stream ended, for the request log: the function returned ("complete"), or returned after
# EventSourceResponse's retry: hint before its deadline ("planned close"), ran past its timeout,
# failed, the client left, the REST idle timeout or the Function URL's size cap cut it.
ENDINGS = (
    "complete",
    "planned close",
    "function timeout",
    "error",
    "client left",
    "idle timeout",
    "size cap",
)
DETACHED_NOTE = "client disconnected; the function keeps running, as on AWS"


@dataclass(frozen=True)
class Access:
    """One request, for the request log."""

    door: str  # "rest", "url", "http_api"
    method: str
    target: str
    status: int
    mode: str
    function: str | None
    duration_ms: float
    bytes_sent: int
    note: str = ""
    ended: str = ""  # how a stream ended, one of ENDINGS; "" for a whole (unstreamed) reply


@dataclass
class Reporter:
    """Where the doors report: one call per request, and warnings (each said once)."""

    access: Callable[[Access], None] = lambda record: None
    warning: Callable[[str], None] = lambda text: None
    _said: set[str] = field(default_factory=set)

    def warn_once(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.warning(text)


class _Cut(LambdaSSEError):
    """The stream must end without its final chunk."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


class _Door:
    door = ""

    def __init__(
        self,
        project: ProjectConfig,
        invoker: Invoker,
        reporter: Reporter | None = None,
        *,
        limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
        auth: bool = True,
    ) -> None:
        self.project = project
        self.invoker = invoker
        self.reporter = reporter or Reporter()
        self.limits = limits
        self.clock = clock
        self.auth = auth  # False: --no-auth, nothing is checked
        self._sam = project.source.name.startswith("template")

    async def _invoke(self, fn: FunctionConfig, event: bytes, *, rest_stream: bool) -> Invocation:
        if rest_stream and self.limits:
            from lambda_sse.local.limiter import apigw_rest_bucket

            bucket = apigw_rest_bucket(self.clock)
            return await self.invoker.invoke(fn.name, event, buckets=[bucket])
        return await self.invoker.invoke(fn.name, event)

    def _log(
        self,
        request: Request,
        responder: Responder,
        start: float,
        mode: str,
        fn: str | None,
        note: str = "",
    ) -> None:
        self.reporter.access(
            Access(
                door=self.door,
                method=request.method,
                target=request.target,
                status=responder.status,
                mode=mode,
                function=fn,
                duration_ms=(self.clock() - start) * 1000.0,
                bytes_sent=responder.bytes_sent,
                note=note,
                ended=responder.ended,
            )
        )

    def _fix_stream(self) -> str:
        if self._sam:
            return "set the Api event's ResponseTransferMode: RESPONSE_STREAM in template.yaml"
        return "set response.transferMode: STREAM on the http event in serverless.yml"

    def _fix_url(self, mode: str) -> str:
        if self._sam:
            return f"set FunctionUrlConfig.InvokeMode: {mode} in template.yaml"
        return f"set url.invokeMode: {mode} in serverless.yml"

    async def _stream(
        self,
        inv: Invocation,
        responder: Responder,
        chunks: AsyncIterator[bytes],
        status: int,
        headers: list[tuple[str, str]],
        first: bytes,
        *,
        idle: float | None,
        cap: int | None,
        fn_timeout: float,
    ) -> str:
        """Send a streamed reply; returns a note for the log and sets ``responder.ended`` to how
        the stream ended (:data:`ENDINGS`). A cut (idle timeout, size cap, function timeout or
        crash, and on a REST API a mid-stream error) closes the connection without the final
        chunk."""
        await responder.start_stream(status, headers)
        sent = 0
        last = first
        try:
            await responder.send(first)
            sent += len(first)
            async with asyncio.timeout(None) as deadline:
                loop = asyncio.get_running_loop()
                # Moving the deadline costs a timer per chunk; move it at most every idle/10,
                # so the cut comes between ``idle`` and 1.1 x ``idle`` after the last chunk.
                slack = idle / 10 if idle is not None else 0.0
                moved = -float("inf")
                while True:
                    if idle is not None and (now := loop.time()) - moved >= slack:
                        deadline.reschedule(now + idle + slack)
                        moved = now
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    sent += len(chunk)
                    if cap is not None and sent > cap:
                        raise _Cut(f"response over {cap} bytes: cut")
                    if chunk:
                        last = chunk
                    await responder.send(chunk)
        except TimeoutError:
            inv.detach()
            responder.abort()
            responder.ended = "idle timeout"
            return f"idle for {idle:g} s: connection closed"
        except _Cut as cut:
            inv.detach()
            responder.abort()
            responder.ended = "size cap"
            return cut.note
        except ClientGone:
            inv.detach()  # the pool logs that the function keeps running
            responder.abort()
            responder.ended = "client left"
            return DETACHED_NOTE
        outcome = await inv.outcome()
        if outcome.status == "timeout":
            # Lambda cuts the stream: the client gets no final chunk.
            responder.abort()
            responder.ended = "function timeout"
            return f"{outcome.error_type or outcome.status}: stream cut"
        if outcome.status != "success":
            responder.abort()
            responder.ended = "error"
            return f"{outcome.error_type or outcome.status}: stream cut"
        if outcome.trailer_error:
            responder.ended = "error"
            error = outcome.error_type or "an error"
            if self.door == "rest":
                # UNCONFIRMED what API Gateway does with Lambda's error trailers; cut as it does
                # on a timeout, so that a client can tell the body is incomplete.
                responder.abort()
                return f"mid-stream error {error}: stream cut"
            # A Function URL ends such a stream cleanly, with a 200 (observed on AWS).
            await responder.end()
            return f"mid-stream error {error}: ended cleanly, as a Function URL does"
        await responder.end()
        if _is_retry_close(headers, last) and outcome.duration_ms:
            left = fn_timeout - outcome.duration_ms / 1000.0
            responder.ended = "planned close"
            return f"retry: sent {left:.1f} s before the timeout; the client reconnects"
        responder.ended = "complete"
        return ""


def _is_retry_close(headers: list[tuple[str, str]], last: bytes) -> bool:
    """Whether an SSE stream's last bytes are a ``retry:`` hint: how ``EventSourceResponse``
    ends a stream before the function's deadline so that the client resumes."""
    if not (last.startswith(b"retry:") or b"\nretry:" in last):
        return False
    return any(
        n.lower() == "content-type" and v.lower().startswith("text/event-stream")
        for n, v in headers
    )


async def _collect(chunks: AsyncIterator[bytes], cap: int) -> bytes | None:
    """The whole body, or None when it grows over ``cap``."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > cap:
            return None
    return bytes(body)


async def _decode_prelude(
    chunks: AsyncIterator[bytes], idle: float | None
) -> tuple[dict[str, Any], bytes] | None:
    """Read until the prelude is complete: (metadata, body bytes after it), or None when the
    stream ends first. Raises PreludeError, TimeoutError."""
    decoder = PreludeDecoder()
    async with asyncio.timeout(idle):
        async for chunk in chunks:
            rest = decoder.feed(chunk)
            if decoder.metadata is not None:
                return decoder.metadata, rest
    return None


def _admit_into(event: dict[str, Any], admitted: Admitted) -> None:
    context = event["requestContext"]
    if admitted.api_key is not None:
        context["identity"]["apiKey"] = admitted.api_key.value
        context["identity"]["apiKeyId"] = key_id(admitted.api_key)
    if admitted.authorizer is not None:
        context["authorizer"] = admitted.authorizer


class RestApiDoor(_Door):
    """``http://HOST:PORT/{stage}/{path}``, plus HTTP API routes at ``/{path}``."""

    door = "rest"

    def __init__(
        self,
        project: ProjectConfig,
        invoker: Invoker,
        reporter: Reporter | None = None,
        *,
        limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
        integration_timeout: float = INTEGRATION_TIMEOUT,
        idle_timeout: float | None = None,
        auth: bool = True,
    ) -> None:
        super().__init__(project, invoker, reporter, limits=limits, clock=clock, auth=auth)
        self.guard = RestGuard(project, invoker, clock=clock, timeout=integration_timeout)
        self.routes = RouteTable(project.functions, "rest")
        self.http_api = RouteTable(project.functions, "http_api")
        self.integration_timeout = integration_timeout
        if idle_timeout is None:
            edge = project.api.endpoint_type == "EDGE"
            idle_timeout = EDGE_IDLE_TIMEOUT if edge else REGIONAL_IDLE_TIMEOUT
        self.idle_timeout = idle_timeout

    async def __call__(self, request: Request, responder: Responder) -> None:
        start = self.clock()
        stage = self.project.api.stage
        raw_path = request.raw_path
        prefix = f"/{stage}"
        if raw_path == prefix or raw_path.startswith(prefix + "/"):
            path = raw_path[len(prefix) :] or "/"
            match = self.routes.match(request.method, path)
            if match is not None:
                await self._rest(request, responder, match, path, start)
                return
            await responder.reply(apigw_error(403, "Missing Authentication Token"))
            self._log(request, responder, start, "-", None, "no such route")
            return
        api_match = self.http_api.match(request.method, raw_path)
        if api_match is not None:
            await self._http_api(request, responder, api_match, start)
            return
        await responder.reply(apigw_error(403, "Missing Authentication Token"))
        self._log(request, responder, start, "-", None, f"not under the stage /{stage}")

    async def _rest(
        self, request: Request, responder: Responder, match: RouteMatch, path: str, start: float
    ) -> None:
        fn = match.function
        mode = match.route.transfer_mode
        proxy_event = build_v1_event(
            request,
            resource=match.route.path,
            path=path,
            stage=self.project.api.stage,
            path_parameters=match.path_parameters,
        )
        if self.auth and RestGuard.needed(match.route):
            admitted = await self.guard.admit(request, match.route, path, proxy_event)
            if not isinstance(admitted, Admitted):
                await responder.reply(admitted.reply)
                self._log(request, responder, start, mode, fn.name, admitted.note)
                return
            _admit_into(proxy_event, admitted)
            auth_note = "; ".join(admitted.notes)
        else:
            auth_note = ""
        event = encode_event(proxy_event)
        if len(event) > INVOKE_PAYLOAD_LIMIT:
            await responder.reply(apigw_error(500, INTERNAL_ERROR))
            self._log(request, responder, start, mode, fn.name, "event over Lambda's 6 MB payload")
            return
        try:
            inv = await self._invoke(fn, event, rest_stream=mode == "STREAM")
        except Throttled:
            await responder.reply(apigw_error(500, INTERNAL_ERROR))
            self._log(request, responder, start, mode, fn.name, "throttled")
            return
        if mode == "STREAM":
            note = await self._rest_stream(inv, fn, responder, path)
        else:
            note = await self._rest_buffered(inv, fn, responder)
        note = "; ".join(part for part in (auth_note, note) if part)
        self._log(request, responder, start, mode, fn.name, note)

    async def _rest_buffered(
        self, inv: Invocation, fn: FunctionConfig, responder: Responder
    ) -> str:
        try:
            async with asyncio.timeout(self.integration_timeout):
                head = await inv.head()
                body = await _collect(inv.body(), REST_PAYLOAD_LIMIT) if head else b""
                outcome = await inv.outcome()
        except TimeoutError:
            inv.detach()
            await responder.reply(apigw_error(504, "Endpoint request timed out"))
            return f"integration timeout ({self.integration_timeout:g} s)"
        if outcome.status != "success" or head is None:
            await responder.reply(apigw_error(502, INTERNAL_ERROR))
            return f"function error {outcome.error_type or outcome.status}"
        if body is None:
            await responder.reply(apigw_error(502, INTERNAL_ERROR))
            return "response over 10 MB"
        if head.streaming and head.content_type == PRELUDE_CONTENT_TYPE:
            # Compatibility matrix: BUFFERED with a streamed prelude gives status and headers,
            # no body.
            self.reporter.warn_once(
                f"{fn.name}: the function streams but its route is BUFFERED, so API Gateway "
                f"drops the body; {self._fix_stream()}"
            )
            decoder = PreludeDecoder()
            try:
                decoder.feed(body)
                status, headers = head_from_prelude(decoder.metadata or {})
            except (PreludeError, MalformedResult):
                await responder.reply(apigw_error(502, INTERNAL_ERROR))
                return "bad prelude"
            await responder.reply(Reply(status, headers, b""))
            return "body dropped (BUFFERED route, streamed response)"
        try:
            reply = parse_v1_result(body)
        except MalformedResult as exc:
            if head.streaming:
                self.reporter.warn_once(
                    f"{fn.name}: a raw stream is not a proxy result; {self._fix_stream()} "
                    "and write a prelude (HttpResponseStream.from_)"
                )
            await responder.reply(apigw_error(502, INTERNAL_ERROR))
            return f"malformed proxy result: {exc}"
        await responder.reply(reply)
        return ""

    async def _rest_stream(
        self, inv: Invocation, fn: FunctionConfig, responder: Responder, path: str
    ) -> str:
        head = await inv.head()
        if head is None:
            outcome = await inv.outcome()
            await responder.reply(apigw_error(502, INTERNAL_ERROR))
            return f"function error {outcome.error_type or outcome.status}"
        if not head.streaming:
            # Compatibility matrix: STREAM with a response not in the prelude format is a 500.
            # A buffered answer is what lambda_sse.asgi.handler gives for a route it was not
            # told to stream, so name that fix first.
            self.reporter.warn_once(
                f"{fn.name}: {path} is a STREAM route but the function answered buffered; with "
                f'lambda_sse.asgi.handler add "{path}" to handler(app, stream=[...]) (or '
                "stream=True); a handler of your own must write to its response stream through "
                "HttpResponseStream.from_(stream, {...})"
            )
            inv.detach()
            await responder.reply(apigw_error(500, INTERNAL_ERROR))
            return "buffered answer on a STREAM route"
        if head.content_type != PRELUDE_CONTENT_TYPE:
            self.reporter.warn_once(
                f"{fn.name}: {path} is a STREAM route but the response has no HTTP prelude "
                f"(content type {head.content_type!r}); wrap the stream with "
                "HttpResponseStream.from_(stream, {...})"
            )
            inv.detach()
            await responder.reply(apigw_error(500, INTERNAL_ERROR))
            return "no prelude"
        chunks = aiter(inv.body())
        try:
            decoded = await _decode_prelude(chunks, self.idle_timeout)
            if decoded is None:
                outcome = await inv.outcome()
                await responder.reply(apigw_error(500, INTERNAL_ERROR))
                return f"stream ended before the prelude ({outcome.error_type or outcome.status})"
            status, headers = head_from_prelude(decoded[0])
        except (PreludeError, MalformedResult) as exc:
            inv.detach()
            await responder.reply(apigw_error(500, INTERNAL_ERROR))
            return f"bad prelude: {exc}"
        except TimeoutError:
            inv.detach()
            await responder.reply(apigw_error(504, "Endpoint request timed out"))
            return "no prelude before the idle timeout"
        return await self._stream(
            inv,
            responder,
            chunks,
            status,
            headers,
            decoded[1],
            idle=self.idle_timeout,
            cap=None,
            fn_timeout=fn.timeout,
        )

    async def _http_api(
        self, request: Request, responder: Responder, match: RouteMatch, start: float
    ) -> None:
        fn = match.function
        event = encode_event(
            build_v2_event(
                request,
                route_key=f"{match.route.method} {match.route.path}",
                path_parameters=match.path_parameters,
                function_url=False,
            )
        )
        errors = {"message": "Internal Server Error"}
        fail = Reply(500, [("Content-Type", "application/json")], json.dumps(errors).encode())
        try:
            inv = await self.invoker.invoke(fn.name, event)
        except Throttled:
            await responder.reply(fail)
            self._log(request, responder, start, "HTTP_API", fn.name, "throttled")
            return
        try:
            async with asyncio.timeout(HTTP_API_TIMEOUT):
                head = await inv.head()
                body = await _collect(inv.body(), REST_PAYLOAD_LIMIT) if head else b""
                outcome = await inv.outcome()
        except TimeoutError:
            inv.detach()
            body_503 = json.dumps({"message": "Service Unavailable"}).encode()
            await responder.reply(Reply(503, [("Content-Type", "application/json")], body_503))
            self._log(request, responder, start, "HTTP_API", fn.name, "integration timeout")
            return
        note = ""
        try:
            if outcome.status != "success" or body is None:
                raise MalformedResult(outcome.error_type or outcome.status)
            reply = parse_v2_result(body)
        except MalformedResult as exc:
            reply, note = fail, f"function error: {exc}"
        await responder.reply(reply)
        self._log(request, responder, start, "HTTP_API", fn.name, note)


class FunctionUrlDoor(_Door):
    """One function's URL: every method and path go to it."""

    door = "url"

    def __init__(
        self,
        project: ProjectConfig,
        invoker: Invoker,
        function: FunctionConfig,
        reporter: Reporter | None = None,
        *,
        limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
        auth: bool = True,
        trust: iam.TrustStore | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(project, invoker, reporter, limits=limits, clock=clock, auth=auth)
        assert function.url is not None
        self.function = function
        self.mode = function.url.invoke_mode
        self.cors = function.url.cors
        self.iam = auth and function.url.auth_type == "AWS_IAM"
        self.trust = trust if trust is not None else iam.TrustStore.build(developer=None)
        self.wall_clock = wall_clock  # SigV4's clock skew is checked against real time

    async def __call__(self, request: Request, responder: Responder) -> None:
        start = self.clock()
        fn = self.function
        cors = self.cors
        if cors is not None:
            if cors_rules.is_preflight(request.method, request.headers):
                await responder.reply(cors_rules.preflight_reply(cors, request.headers))
                self._log(request, responder, start, "CORS", None, "preflight, not invoked")
                return
            request_headers = request.headers
            responder.rewrite_headers = lambda headers: cors_rules.response_headers(
                cors, request_headers, headers
            )
        url_event = build_v2_event(request)
        if self.iam:
            try:
                access_key, caller = iam.verify_request(
                    self.trust, request, self.project.region, self.wall_clock()
                )
            except SignatureError as exc:
                await responder.reply(iam.forbidden(exc))
                self._log(request, responder, start, self.mode, fn.name, f"AWS_IAM: {exc}")
                return
            url_event["requestContext"]["accountId"] = caller.account_id
            url_event["requestContext"]["authorizer"] = iam.iam_context(access_key, caller)
        event = encode_event(url_event)
        if len(event) > INVOKE_PAYLOAD_LIMIT:
            message = {
                "Message": f"Request must be smaller than {INVOKE_PAYLOAD_LIMIT} bytes for the "
                "InvokeFunction operation"
            }
            await responder.reply(
                Reply(413, [("Content-Type", "application/json")], json.dumps(message).encode())
            )
            self._log(request, responder, start, self.mode, fn.name, "event over 6 MB")
            return
        try:
            inv = await self.invoker.invoke(fn.name, event)
        except Throttled:
            body = json.dumps({"Message": "Rate Exceeded."}).encode()
            await responder.reply(Reply(429, [("Content-Type", "application/json")], body))
            self._log(request, responder, start, self.mode, fn.name, "throttled (429 UNCONFIRMED)")
            return
        if self.mode == "RESPONSE_STREAM":
            note = await self._streamed(inv, responder)
        else:
            note = await self._buffered(inv, responder)
        self._log(request, responder, start, self.mode, fn.name, note)

    async def _buffered(self, inv: Invocation, responder: Responder) -> str:
        head = await inv.head()
        body = await _collect(inv.body(), URL_BUFFERED_LIMIT) if head else b""
        outcome = await inv.outcome()
        if head is None or outcome.status != "success" or body is None:
            await responder.reply(url_error(502, "Internal Server Error"))
            reason = "response over 6 MB" if body is None else outcome.error_type
            return f"function error {reason or outcome.status}"
        if head.streaming:
            self.reporter.warn_once(
                f"{self.function.name}: the function streams but its URL is BUFFERED; "
                f"{self._fix_url('RESPONSE_STREAM')}"
            )
        try:
            reply = parse_v2_result(body)
        except MalformedResult as exc:
            await responder.reply(url_error(502, "Internal Server Error"))
            return f"malformed result: {exc}"
        await responder.reply(reply)
        return ""

    async def _streamed(self, inv: Invocation, responder: Responder) -> str:
        head = await inv.head()
        if head is None:
            outcome = await inv.outcome()
            await responder.reply(url_error(502, "Internal Server Error"))
            return f"function error {outcome.error_type or outcome.status}"
        chunks = aiter(inv.body())
        if head.streaming and head.content_type == PRELUDE_CONTENT_TYPE:
            try:
                decoded = await _decode_prelude(chunks, None)
                if decoded is None:
                    raise PreludeError("the stream ended before the prelude's separator")
                status, headers = head_from_prelude(decoded[0])
            except (PreludeError, MalformedResult) as exc:
                # UNCONFIRMED what a Function URL answers to a bad prelude; 502 like other
                # invalid responses.
                inv.detach()
                await responder.reply(url_error(502, "Internal Server Error"))
                return f"bad prelude: {exc}"
            first = decoded[1]
        else:
            if not head.streaming:
                self.reporter.warn_once(
                    f"{self.function.name}: a buffered result on a RESPONSE_STREAM URL passes "
                    "through verbatim, JSON envelope and all (as on AWS); for lambda_sse.asgi "
                    "set LAMBDA_SSE_URL_INVOKE_MODE: RESPONSE_STREAM in the function's "
                    "environment so that every route answers in the streaming format; for a "
                    "handler of your own stream with lambda_sse.streamify_response and "
                    f"HttpResponseStream.from_; or {self._fix_url('BUFFERED')}"
                )
            status = 200
            headers = [("Content-Type", head.content_type or "application/octet-stream")]
            first = b""
        return await self._stream(
            inv,
            responder,
            chunks,
            status,
            headers,
            first,
            idle=None,
            cap=URL_STREAM_LIMIT,
            fn_timeout=self.function.timeout,
        )


def head_limit_reply(door: str) -> Reply:
    """AWS's answer to a request line plus headers over 1 MB (UNCONFIRMED body)."""
    if door == "url":
        return url_error(431, "Request Header Fields Too Large")
    return apigw_error(431, "Request Header Fields Too Large")
