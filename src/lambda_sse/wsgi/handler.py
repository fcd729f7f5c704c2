"""``handler(app, stream=...)``: a Lambda handler that runs a WSGI app (Flask, Django, ...),
streaming or buffered per route, through the very bridge that runs ASGI apps.

The WSGI app is wrapped as an ASGI app (:class:`~lambda_sse.wsgi.adapter.WSGIAdapter`) and handed
to :class:`lambda_sse.asgi.Bridge` with lifespan off (WSGI has none): event detection, route
choice (:mod:`lambda_sse.asgi.routes`), the prelude, the buffered envelope, the 500 before the
first byte and the error trailers after it are the ASGI bridge's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lambda_sse.asgi.handler import Bridge, OtherEventHandler
from lambda_sse.asgi.routes import StreamSelector
from lambda_sse.runtime.stream import ResponseStream, streamify_response
from lambda_sse.wsgi.adapter import WSGIAdapter, WSGIApp

__all__ = ["handler"]


def handler(
    app: WSGIApp,
    *,
    stream: StreamSelector = False,
    on_other_event: OtherEventHandler | None = None,
    max_buffer_items: int = 64,
    max_buffer_bytes: int = 1 << 20,
) -> Callable[[Any, ResponseStream, Any], Any]:
    """A Lambda handler running ``app`` (any PEP 3333 app: ``flask.Flask``, Django's WSGI app).

    ``stream`` picks the routes that stream, as in :func:`lambda_sse.asgi.handler`: ``True``,
    a path pattern such as ``"/v1/chat/*"``, a list of them, or a predicate on the
    :class:`~lambda_sse.events.HttpRequest`. On those routes each string the app's iterable
    yields (a Flask generator response) is written to the stream as it comes; other routes,
    and every HTTP API or ALB event, get the buffered envelope. The app runs on a worker thread;
    at most ``max_buffer_items`` chunks or ``max_buffer_bytes`` bytes wait between it and the
    stream before its next ``yield`` blocks.
    """
    adapter = WSGIAdapter(app, max_buffer_items=max_buffer_items, max_buffer_bytes=max_buffer_bytes)
    bridge = Bridge(adapter, stream=stream, lifespan="off", on_other_event=on_other_event)

    async def lambda_handler(event: Any, response_stream: ResponseStream, context: Any) -> Any:
        return await bridge(event, response_stream, context)

    lambda_handler.bridge = bridge  # type: ignore[attr-defined]
    return streamify_response(lambda_handler)
