"""lambda_sse.sse: Server-Sent Events, exact to the WHATWG rules, standard library only.

- :class:`ServerSentEvent` and :func:`encode`: events to bytes, refusing fields that would break
  or inject into the stream;
- :class:`SSEDecoder`: an incremental, size-bounded parser, byte chunks in, events out;
- :class:`EventSource`: a reconnecting client on httpx (extra ``lambda-sse[client]``), imported
  only when first used, so the codec never pulls httpx in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambda_sse.sse.decoder import SSEDecoder, SSELimitError
from lambda_sse.sse.event import ServerSentEvent, encode

if TYPE_CHECKING:
    from lambda_sse.sse.client import EventSource as EventSource

# EventSource stays out of __all__: a star import must not pull httpx in.
__all__ = ["SSEDecoder", "SSELimitError", "ServerSentEvent", "encode"]


def __getattr__(name: str) -> Any:
    if name == "EventSource":
        import importlib

        value = importlib.import_module("lambda_sse.sse.client").EventSource
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lambda_sse.sse' has no attribute {name!r}")
