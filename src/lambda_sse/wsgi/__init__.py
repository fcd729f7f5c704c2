"""Run any WSGI app (Flask, Django) on Lambda, streaming or buffered per route.

- :func:`handler`: the Lambda handler factory (``handler = lambda_sse.wsgi.handler(app,
  stream=["/v1/chat/completions"])``), the WSGI twin of :func:`lambda_sse.asgi.handler`;
- :class:`WSGIAdapter`: a WSGI app as an ASGI app (worker thread, bounded buffer).

Standard library only.
"""

from __future__ import annotations

from lambda_sse.wsgi.adapter import WSGIAdapter, WSGIApp, WSGIProtocolError
from lambda_sse.wsgi.environ import build_environ
from lambda_sse.wsgi.handler import handler

__all__ = ["WSGIAdapter", "WSGIApp", "WSGIProtocolError", "build_environ", "handler"]
