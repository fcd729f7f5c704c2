"""Run any ASGI app on Lambda, streaming or buffered per route; a deadline-aware SSE response.

- :func:`handler`: the Lambda handler factory (``handler = lambda_sse.asgi.handler(app,
  stream=["/events/*"])``);
- :class:`EventSourceResponse`: a plain-ASGI Server-Sent Events response that ends cleanly before
  the Lambda deadline.

Standard library only; runs on asyncio (the loop of the lambda-sse runtime).
``EventSourceResponse`` (with the SSE codec under it) loads on first use: an app that never
answers SSE from it does not pay for it at cold start.
"""

from __future__ import annotations

from lambda_sse.asgi.handler import Bridge, handler
from lambda_sse.asgi.lifespan import LifespanError
from lambda_sse.asgi.routes import StreamSelector

TYPE_CHECKING = False  # typing.TYPE_CHECKING, for type checkers only
if TYPE_CHECKING:
    from lambda_sse.asgi.sse import EventSourceResponse

__all__ = [
    "Bridge",
    "EventSourceResponse",
    "LifespanError",
    "StreamSelector",
    "handler",
]


def __getattr__(name: str) -> object:
    if name == "EventSourceResponse":
        from lambda_sse.asgi.sse import EventSourceResponse

        globals()[name] = EventSourceResponse
        return EventSourceResponse
    raise AttributeError(f"module 'lambda_sse.asgi' has no attribute {name!r}")
