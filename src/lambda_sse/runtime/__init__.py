"""The function side: a Lambda runtime loop for Python that streams (standard library only).

``python -m lambda_sse.runtime [module.function]`` runs it. Public names:

- :func:`on_shutdown` (here): run a callback once when the environment shuts down;
- :mod:`lambda_sse.runtime.stream`: ``streamify_response``, ``HttpResponseStream`` (also
  re-exported as ``lambda_sse.streamify_response`` / ``lambda_sse.HttpResponseStream``);
- :mod:`lambda_sse.runtime.context`: the handler's ``context`` object;
- :mod:`lambda_sse.runtime.prelude`: the HTTP integration prelude codec.

Importing this package stays light (no asyncio, no json): the rest loads when used.
"""

from __future__ import annotations

from lambda_sse.runtime.shutdown import on_shutdown

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any

__all__ = ["HttpResponseStream", "on_shutdown", "streamify_response"]


def __getattr__(name: str) -> Any:
    if name in {"streamify_response", "HttpResponseStream"}:
        from lambda_sse.runtime import stream

        return getattr(stream, name)
    raise AttributeError(f"module 'lambda_sse.runtime' has no attribute {name!r}")
