"""Run any ASGI app on Lambda, streaming or buffered per route; a deadline-aware SSE response.

- :func:`handler`: the Lambda handler factory (``handler = lambda_sse.asgi.handler(app,
  stream=["/events/*"])``);
- :class:`EventSourceResponse`: a plain-ASGI Server-Sent Events response that ends cleanly before
  the Lambda deadline.

Standard library only; runs on asyncio (the loop of the lambda-sse runtime).
"""

from __future__ import annotations

from lambda_sse.asgi.handler import Bridge, handler
from lambda_sse.asgi.lifespan import LifespanError
from lambda_sse.asgi.routes import StreamSelector
from lambda_sse.asgi.sse import EventSourceResponse

__all__ = [
    "Bridge",
    "EventSourceResponse",
    "LifespanError",
    "StreamSelector",
    "handler",
]
