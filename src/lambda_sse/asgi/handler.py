"""``handler(app, ...)``: a Lambda handler that runs an ASGI app, streaming or buffered per route.

It is a streaming handler (``streamify_response``) that uses the runtime's buffered fallback: a
buffered route returns the front door's JSON envelope without touching the stream, and the
runtime sends that as an ordinary response; a streaming route writes the prelude (status,
headers, cookies) together with the first body message, then every body chunk as it comes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from lambda_sse.asgi.cycle import BufferedSink, HttpCycle
from lambda_sse.asgi.lifespan import Lifespan, LifespanMode
from lambda_sse.asgi.routes import StreamSelector, compile_selector
from lambda_sse.asgi.scope import build_scope
from lambda_sse.asgi.types import ASGIApp
from lambda_sse.aws import BUFFERED_LIMIT
from lambda_sse.events import (
    EventShapeError,
    HeaderList,
    HttpRequest,
    HttpResponse,
    NotAnHttpEvent,
    Translator,
    detect,
    is_completion_notice,
)
from lambda_sse.events.model import header_value
from lambda_sse.runtime import on_shutdown
from lambda_sse.runtime.stream import HttpResponseStream, ResponseStream, streamify_response

__all__ = ["URL_INVOKE_MODE_ENV", "Bridge", "handler"]

log = logging.getLogger("lambda_sse.asgi")

# A Function URL in RESPONSE_STREAM mode passes a buffered answer through verbatim (the JSON
# envelope becomes the body), and nothing in the event says which mode the URL has. Set to
# RESPONSE_STREAM in the function's environment (serverless.yml / template.yaml), this tells the
# bridge to answer every Function URL request in the streaming format.
URL_INVOKE_MODE_ENV = "LAMBDA_SSE_URL_INVOKE_MODE"

OtherEventHandler = Callable[[Any, Any], Any]


class StreamSink:
    """Writes the response to the runtime's stream: prelude with the first body, then chunks."""

    def __init__(self, response_stream: ResponseStream, translator: Translator) -> None:
        self._raw = response_stream
        self._translator = translator
        self._stream: ResponseStream | None = None

    async def start(self, status: int, headers: HeaderList) -> None:
        metadata = self._translator.prelude(status, headers)
        self._stream = HttpResponseStream.from_(self._raw, metadata)
        # An empty write sends the request head and the prelude now, without a body chunk, so
        # status and headers reach the client before the app's first byte does.
        await self._stream.write(b"")

    async def body(self, chunk: bytes) -> None:
        assert self._stream is not None
        await self._stream.write(chunk)

    async def end(self) -> None:
        assert self._stream is not None
        await self._stream.end()


class Bridge:
    """What one ``handler(app)`` holds for the life of the execution environment."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        stream: StreamSelector = False,
        lifespan: LifespanMode = "auto",
        on_other_event: OtherEventHandler | None = None,
        shutdown_timeout: float = 1.5,
    ) -> None:
        self.app = app
        self.should_stream = compile_selector(stream)
        self.lifespan = Lifespan(
            app, lifespan, shutdown_timeout=shutdown_timeout, register=on_shutdown
        )
        self.on_other_event = on_other_event
        self._warned: set[tuple[str, str, str]] = set()

    def _warn_once(self, key: tuple[str, str, str], message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    async def __call__(self, event: Any, response_stream: ResponseStream, context: Any) -> Any:
        if is_completion_notice(event):
            log.debug("completion notice of a streamed invocation: %s", event)
            return {}
        try:
            translator = detect(event)
        except NotAnHttpEvent as exc:
            if self.on_other_event is not None:
                return self.on_other_event(event, context)
            log.warning("lambda_sse.asgi: %s; answering without running the app", exc)
            return {"error": "NotAnHttpEvent", "message": str(exc)}
        try:
            request = translator.request(event)
        except EventShapeError as exc:
            log.error("lambda_sse.asgi: malformed %s event: %s", translator.kind, exc)
            reply = HttpResponse(
                400,
                ((b"content-type", b"text/plain; charset=utf-8"),),
                f"Bad Request: {exc}".encode(),
            )
            return translator.reply(reply, event)
        await self.lifespan.startup()
        scope = build_scope(
            request, event, context, self.lifespan.state if self.lifespan.supported else None
        )
        streaming = self.should_stream(request) or (
            translator.kind == "function_url"
            and os.environ.get(URL_INVOKE_MODE_ENV, "").strip().upper() == "RESPONSE_STREAM"
        )
        if streaming and not translator.streams:
            self._warn_once(
                ("no-stream", translator.kind, request.path),
                "route %s is configured to stream but came through %s, which cannot stream: "
                "answering buffered (the client gets the body at the end)",
                request.path,
                "an HTTP API" if translator.kind == "http_api" else "an ALB",
            )
            streaming = False
        if streaming:
            cycle = HttpCycle(request.body, StreamSink(response_stream, translator))
            await cycle.run(self.app, scope)
            return None
        return await self._buffered(translator, request, scope, event)

    async def _buffered(
        self, translator: Translator, request: HttpRequest, scope: Any, event: Any
    ) -> dict[str, Any]:
        sink = BufferedSink()
        await HttpCycle(request.body, sink).run(self.app, scope)
        body = b"".join(sink.chunks)
        content_type = header_value(sink.headers, "content-type") or ""
        if content_type.startswith("text/event-stream"):
            self._warn_once(
                ("sse-buffered", translator.kind, request.path),
                "route %s answered text/event-stream but is configured buffered: the client gets "
                "every event only when the stream ends. Add it to handler(app, stream=[...]) and "
                "deploy it with a streaming front door (REST transferMode STREAM, Function URL "
                "RESPONSE_STREAM)",
                request.path,
            )
        reply = translator.reply(HttpResponse(sink.status, sink.headers, body), event)
        # Lambda measures the reply document as the runtime encodes it (JSON, UTF-8); only a
        # large body can make it too large, so only then is it encoded here as well.
        if len(body) > BUFFERED_LIMIT // 8 and _encoded_size(reply) > BUFFERED_LIMIT:
            log.warning(
                "route %s answered %d bytes buffered; Lambda refuses buffered responses over "
                "6 MB (Function.ResponseSizeTooLarge): stream this route instead",
                request.path,
                len(body),
            )
        return reply


def _encoded_size(reply: Any) -> int:
    """The size of ``reply`` as the runtime posts it (see ``lambda_sse.runtime.invoke``)."""
    try:
        return len(json.dumps(reply, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        return 0  # the runtime reports Runtime.MarshalError itself


def handler(
    app: ASGIApp,
    *,
    stream: StreamSelector = False,
    lifespan: LifespanMode = "auto",
    on_other_event: OtherEventHandler | None = None,
    shutdown_timeout: float = 1.5,
) -> Callable[[Any, ResponseStream, Any], Any]:
    """A Lambda handler running ``app`` (any ASGI 3 app: FastAPI, Starlette, ...).

    ``stream`` picks the routes that stream (see :mod:`lambda_sse.asgi.routes`): ``True``,
    a path pattern such as ``"/events/*"``, a list of them, or a predicate on the
    :class:`~lambda_sse.events.HttpRequest`. A streaming route answers with a stream only for
    REST API and Function URL events; HTTP API and ALB events are always answered buffered.
    Behind a ``RESPONSE_STREAM`` Function URL, set ``LAMBDA_SSE_URL_INVOKE_MODE=RESPONSE_STREAM``
    in the function's environment: every route then answers a Function URL in the streaming
    format (such a URL shows a buffered answer's JSON envelope as the body).
    ``lifespan`` is ``"auto"``, ``"on"`` or ``"off"``; startup runs at the first invocation,
    shutdown when the environment ends. ``on_other_event(event, context)`` answers events that
    are no HTTP events (by default they are logged and answered with an error object).
    """
    bridge = Bridge(
        app,
        stream=stream,
        lifespan=lifespan,
        on_other_event=on_other_event,
        shutdown_timeout=shutdown_timeout,
    )

    async def lambda_handler(event: Any, response_stream: ResponseStream, context: Any) -> Any:
        return await bridge(event, response_stream, context)

    lambda_handler.bridge = bridge  # type: ignore[attr-defined]
    return streamify_response(lambda_handler)
