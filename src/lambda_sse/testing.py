"""A test client for Lambda handlers and ASGI apps that stream: ``LambdaTestClient``.

Use it in your own pytest, without ``lambda-sse dev`` running::

    from lambda_sse.testing import LambdaTestClient
    from app import app, handler

    def test_events() -> None:
        with LambdaTestClient(handler, timeout=3) as client:   # or LambdaTestClient.for_app(app)
            response = client.get("/events")
        assert response.streamed
        assert [e.data for e in response.events()][:2] == ["tick 0", "tick 1"]

Each request runs the real path of a deployed function, in this process: the event is built as
API Gateway's REST API (payload v1) or a Function URL (payload 2.0) builds it, queued on a strict
Lambda Runtime API server on loopback (the one ``lambda-sse dev`` runs), and lambda-sse's runtime
fetches it, calls the handler and posts the answer, streamed (prelude, chunks, error trailers)
or buffered, exactly as on AWS. The response is read back and decoded: status, headers, cookies,
body chunks with their arrival times, and the SSE events.

The handler runs on one thread of its own, as one execution environment: warm state and ASGI
lifespan persist across requests; :meth:`LambdaTestClient.close` runs the shutdown callbacks
(``on_shutdown``, lifespan shutdown). ``environment`` holds the function's own variables (what
its serverless.yml or template.yaml sets); they are set in ``os.environ`` while the client is
open, since the handler runs in this process. ``timeout`` is the function timeout the context
reports, so ``EventSourceResponse`` ends an endless stream before it, as on Lambda. Needs the
``local`` extra (``pip install 'lambda-sse[local]'``) for the Runtime API server.

Why this module is longer than 400 lines: it is one public module that users import in their
tests; the client, the events it builds and the response it decodes are documented together.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from lambda_sse.errors import MissingExtraError, OptionError, TestClientError
from lambda_sse.runtime import shutdown
from lambda_sse.runtime.client import AsyncRuntimeClient, RuntimeClient
from lambda_sse.runtime.handler import is_async_callable
from lambda_sse.runtime.invoke import invoke_async, invoke_sync
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, PreludeDecoder
from lambda_sse.runtime.stream import is_streaming
from lambda_sse.sse import ServerSentEvent, SSEDecoder

try:
    from lambda_sse.local.frontdoor.build import build_v1_event, build_v2_event, encode_event
    from lambda_sse.local.frontdoor.replies import (
        MalformedResult,
        head_from_prelude,
        parse_v1_result,
        parse_v2_result,
    )
    from lambda_sse.local.frontdoor.request import Request
    from lambda_sse.local.model import InvocationOutcome
    from lambda_sse.local.runtime_api import RuntimeAPIServer, RuntimeInvocation
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError(
        f"lambda_sse.testing needs the emulator's packages ({exc.name} is missing): "
        "pip install 'lambda-sse[local]'"
    ) from exc

__all__ = ["LambdaTestClient", "TestClientError", "TestResponse"]

FrontDoor = Literal["rest", "url"]
_START_TIMEOUT = 10.0
_GRACE = 5.0  # after the function timeout: time to hand back what was collected


@dataclass
class TestResponse:
    """What the client received, decoded as the front door would deliver it."""

    __test__ = False

    status_code: int
    headers: list[tuple[str, str]]  # in order, names as sent
    body: bytes
    streamed: bool  # the function answered with a stream (not a buffered JSON result)
    chunks: list[bytes] = field(default_factory=list)  # body chunks as they arrived
    times: list[float] = field(default_factory=list)  # seconds after the request, per chunk
    error_type: str | None = None  # "Function.ValueError", "Sandbox.Timeout", ... when failed
    timed_out: bool = False
    raw: bytes = b""  # what the function sent, prelude or JSON envelope included

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (any case), or None."""
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[-1] if found else None

    @property
    def cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[ServerSentEvent]:
        """The body decoded as Server-Sent Events (comments and heartbeats skipped)."""
        return SSEDecoder().feed(self.body)


def _asgi_handler(app: Any, stream: Any) -> Callable[..., Any]:
    from lambda_sse.asgi import handler

    return handler(app, stream=stream)


class LambdaTestClient:
    """Drives one handler (``streamify_response``, async or plain ``def``, buffered or streaming)
    as one Lambda execution environment; see the module docstring."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        timeout: float = 30.0,
        front_door: FrontDoor = "rest",
        url_invoke_mode: Literal["RESPONSE_STREAM", "BUFFERED"] = "RESPONSE_STREAM",
        stage: str = "dev",
        environment: Mapping[str, str] | None = None,
    ) -> None:
        if timeout <= 0:
            raise OptionError("timeout must be a positive number of seconds", key="timeout")
        # The function's own variables, as its config sets them: set in os.environ (the handler
        # runs in this process) while the client is open, restored by close().
        self._saved_env = {name: os.environ.get(name) for name in environment or {}}
        os.environ.update(environment or {})
        self.handler = handler
        self.timeout = timeout
        self.front_door = front_door
        self.url_invoke_mode = url_invoke_mode
        self.stage = stage
        self._streaming = is_streaming(handler)
        self._async = is_async_callable(handler)
        self._broken: str | None = None
        self._closed = False
        # The Runtime API server, on a loop of its own.
        self._server_loop = asyncio.new_event_loop()
        self._server_thread = threading.Thread(
            target=self._server_loop.run_forever, name="lambda-sse-test-api", daemon=True
        )
        self._server_thread.start()
        self._server: RuntimeAPIServer = self._on_server(self._start_server(), _START_TIMEOUT)
        # The execution environment: one thread running the runtime, one invocation at a time.
        self._jobs: queue.Queue[str] = queue.Queue()
        self._done: queue.Queue[BaseException | None] = queue.Queue()
        self._env_thread = threading.Thread(
            target=self._environment, name="lambda-sse-test-environment", daemon=True
        )
        self._env_thread.start()

    @classmethod
    def for_app(cls, app: Any, *, stream: Any = True, **options: Any) -> LambdaTestClient:
        """A client for an ASGI app behind ``lambda_sse.asgi.handler(app, stream=stream)``."""
        return cls(_asgi_handler(app, stream), **options)

    # -- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        query: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        front_door: FrontDoor | None = None,
    ) -> TestResponse:
        """One HTTP request through ``front_door`` (``"rest"``: REST API proxy event v1, path
        under the stage; ``"url"``: Function URL payload 2.0)."""
        door = front_door or self.front_door
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        data = body.encode("utf-8") if isinstance(body, str) else body
        if data and not any(k.lower() == "content-length" for k, _ in pairs):
            pairs.append(("content-length", str(len(data))))
        if not any(k.lower() == "host" for k, _ in pairs):
            pairs.append(("host", "localhost"))
        target = path + (f"?{urlencode(query)}" if query else "")
        request = Request(method.upper(), target, tuple(pairs), data)
        if door == "rest":
            event = build_v1_event(
                request,
                resource="/{proxy+}",
                path=request.raw_path,
                stage=self.stage,
                path_parameters={"proxy": request.raw_path.lstrip("/")},
            )
        elif door == "url":
            event = build_v2_event(request)
        else:
            raise OptionError(f"front_door is 'rest' or 'url', not {door!r}", key="front_door")
        return self._run(encode_event(event), door)

    def get(self, path: str, **options: Any) -> TestResponse:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> TestResponse:
        return self.request("POST", path, **options)

    def invoke(self, event: Any) -> TestResponse:
        """Invoke with any JSON event; the answer is not interpreted as HTTP (status 200, the
        body as the function sent it)."""
        return self._run(json.dumps(event).encode("utf-8"), None)

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Run the shutdown callbacks (lifespan shutdown) and stop the Runtime API server."""
        if self._closed:
            return
        self._closed = True
        if self._broken is None:
            self._jobs.put("shutdown")
            self._wait_done(self.timeout + _GRACE)
        self._jobs.put("exit")
        if self._broken is None:
            self._env_thread.join(_START_TIMEOUT)  # its connections close before the server
        self._on_server(_close_server(self._server), _START_TIMEOUT)
        self._server_loop.call_soon_threadsafe(self._server_loop.stop)
        self._server_thread.join(_START_TIMEOUT)
        self._server_loop.close()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __enter__(self) -> LambdaTestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ------------------------------------------------------------------------------

    async def _start_server(self) -> RuntimeAPIServer:
        server = RuntimeAPIServer()
        await server.start()
        return server

    def _on_server(self, coro: Any, limit: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._server_loop).result(limit)

    def _environment(self) -> None:
        """The runtime's side: one GET /next and one invocation per job."""
        loop = asyncio.new_event_loop() if self._async else None
        client = RuntimeClient(self._server.address)
        aclient = AsyncRuntimeClient(self._server.address, loop) if loop else None
        try:
            while (job := self._jobs.get()) != "exit":
                try:
                    if job == "shutdown":
                        self._shutdown(loop)
                    elif loop is not None and aclient is not None:
                        loop.run_until_complete(self._invoke_async(aclient))
                    else:
                        inv = client.next()
                        invoke_sync(client, self.handler, self._streaming, inv, set_environ=False)
                    self._done.put(None)
                except BaseException as exc:
                    self._done.put(exc)
        finally:
            client.close()
            if aclient is not None:
                aclient.close()
            if loop is not None:
                loop.close()

    async def _invoke_async(self, client: AsyncRuntimeClient) -> None:
        inv = await client.next()
        await invoke_async(client, self.handler, self._streaming, inv, set_environ=False)

    def _shutdown(self, loop: asyncio.AbstractEventLoop | None) -> None:
        for callback in shutdown.take():
            result = callback()
            if shutdown.is_awaitable(result):
                runner = loop or asyncio.new_event_loop()
                try:
                    runner.run_until_complete(_awaited(result))
                finally:
                    if loop is None:
                        runner.close()

    def _wait_done(self, limit: float) -> BaseException | None:
        try:
            return self._done.get(timeout=limit)
        except queue.Empty:
            return TimeoutError()

    def _run(self, event: bytes, door: FrontDoor | None) -> TestResponse:
        if self._closed:
            raise TestClientError("the test client is closed")
        if self._broken is not None:
            raise TestClientError(self._broken)
        started = time.monotonic()
        deadline_ms = int(time.time() * 1000 + self.timeout * 1000)
        inv: RuntimeInvocation = self._on_server(
            _enqueue(self._server, event, deadline_ms), _START_TIMEOUT
        )
        self._jobs.put("invoke")
        head, chunks, outcome, timed_out = self._on_server(
            _collect(inv, self.timeout), self.timeout + _GRACE
        )
        if timed_out:
            # Lambda would kill the environment; a thread cannot be killed, so this client is
            # done. Its thread ends when the handler returns.
            self._broken = (
                f"the handler ran past its {self.timeout:g} s timeout; start a new client"
            )
        else:
            failure = self._wait_done(_GRACE)
            if failure is not None:
                raise TestClientError(f"the runtime failed: {failure!r}") from failure
        return _response(head, chunks, outcome, timed_out, started, door, self.url_invoke_mode)


def _metadata(decoder: PreludeDecoder) -> dict[str, Any] | None:
    return decoder.metadata  # read through a call: mypy would keep an attribute narrowed


async def _awaited(value: Any) -> Any:
    return await value


async def _close_server(server: RuntimeAPIServer) -> None:
    # Let the server see the runtime's connections end (EOF) before it cancels what is left.
    for _ in range(100):
        if not server._tasks:
            break
        await asyncio.sleep(0.01)
    await server.close()


async def _enqueue(server: RuntimeAPIServer, event: bytes, deadline_ms: int) -> RuntimeInvocation:
    return server.enqueue(event, deadline_ms=deadline_ms)


async def _collect(
    inv: RuntimeInvocation, limit: float
) -> tuple[Any, list[tuple[float, bytes]], InvocationOutcome, bool]:
    chunks: list[tuple[float, bytes]] = []
    head = None
    try:
        async with asyncio.timeout(limit):
            head = await inv.head()
            async for chunk in inv.body():
                chunks.append((time.monotonic(), chunk))
            outcome = await inv.outcome()
    except TimeoutError:
        outcome = InvocationOutcome("timeout", "Sandbox.Timeout")
        inv.abort(outcome)
        return head, chunks, outcome, True
    return head, chunks, outcome, False


def _response(
    head: Any,
    timed: list[tuple[float, bytes]],
    outcome: InvocationOutcome,
    timed_out: bool,
    started: float,
    door: FrontDoor | None,
    url_mode: str,
) -> TestResponse:
    raw = b"".join(chunk for _, chunk in timed)
    error_type = (
        outcome.error_type if outcome.status != "success" or outcome.trailer_error else None
    )
    if head is None:  # /error, timeout before any byte, crash
        body = outcome.error_body or b""
        status = 504 if timed_out else 502
        return TestResponse(
            status, [], body, False, error_type=error_type, timed_out=timed_out, raw=raw
        )
    if head.streaming:
        chunks: list[bytes] = []
        times: list[float] = []
        status, headers = 200, [("Content-Type", head.content_type or "application/octet-stream")]
        decoder = PreludeDecoder() if head.content_type == PRELUDE_CONTENT_TYPE else None
        for at, chunk in timed:
            if decoder is not None and _metadata(decoder) is None:
                chunk = decoder.feed(chunk)
                metadata = _metadata(decoder)
                if metadata is not None:
                    status, headers = head_from_prelude(metadata)
            if chunk:
                chunks.append(chunk)
                times.append(at - started)
        return TestResponse(
            status,
            headers,
            b"".join(chunks),
            True,
            chunks,
            times,
            error_type,
            timed_out,
            raw,
        )
    times = [timed[-1][0] - started] if timed else []
    if door is None or (door == "url" and url_mode == "RESPONSE_STREAM"):
        # A RESPONSE_STREAM Function URL passes a buffered answer through as it is: the JSON
        # envelope becomes the body (what AWS does).
        content_type = head.content_type or "application/json"
        return TestResponse(
            200, [("Content-Type", content_type)], raw, False, [raw], times, error_type, False, raw
        )
    try:
        reply = parse_v1_result(raw) if door == "rest" else parse_v2_result(raw)
    except MalformedResult as exc:
        return TestResponse(
            502,
            [],
            f'{{"message": "Internal server error ({exc})"}}'.encode(),
            False,
            error_type=error_type,
            raw=raw,
        )
    return TestResponse(
        reply.status,
        list(reply.headers),
        reply.body,
        False,
        [reply.body],
        times,
        error_type,
        False,
        raw,
    )
