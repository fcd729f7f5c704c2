"""Serve a channel over SSE from an ASGI app: resume from Last-Event-ID, close cleanly before
the function's 2 s timeout (deadline_margin), and let the client return at once (retry)."""

from __future__ import annotations

from lambda_sse.asgi import EventSourceResponse
from lambda_sse.asgi import handler as asgi_handler
from lambda_sse.asgi.types import Receive, Scope, Send
from lambda_sse.channels import open_channel

# With a 2 s timeout the default margin (5 s) would leave nothing: set it for short timeouts.
DEADLINE_MARGIN = 0.5


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    name = scope["path"].rstrip("/").rsplit("/", 1)[-1]
    channel = open_channel(name)
    response = EventSourceResponse(
        channel.subscribe, deadline_margin=DEADLINE_MARGIN, retry=50, ping=1.0
    )
    await response(scope, receive, send)


handler = asgi_handler(app, stream=True)
