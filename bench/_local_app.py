"""The plain ASGI app bench_local.py serves two ways: through ``lambda-sse dev`` (front door,
Runtime API, lambda-sse runtime, ASGI bridge) and on uvicorn directly.

``/sse?n=N&delay=D``: N events, each carrying the ``time.monotonic_ns()`` of its production
(CLOCK_MONOTONIC is one clock for every process on the machine). ``/beat?beats=B&phase=MS``: a
heartbeat every second (offset by MS), each carrying the time it was due. ``/hello``: a small
buffered JSON reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import lambda_sse.asgi

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    # Through API Gateway the stage may be the root_path; compare the path below it.
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if path == "/hello":
        body = b'{"hello": "world"}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
    if path == "/beat":
        start = time.monotonic_ns()
        # The first beat at once (the stream is open); the rest every second, offset by
        # ``phase`` ms so that many streams do not all beat in the same instant.
        phase = int(float(query.get("phase", "0")) * 1_000_000)
        for k in range(int(query.get("beats", "10"))):
            due = start + (phase + k * 1_000_000_000 if k else 0)
            await asyncio.sleep(max(0.0, (due - time.monotonic_ns()) / 1e9))
            await send(
                {
                    "type": "http.response.body",
                    "body": f"data: {due}\n\n".encode(),
                    "more_body": True,
                }
            )
    else:
        delay = float(query.get("delay", "0"))
        for _ in range(int(query.get("n", "1000"))):
            await send(
                {
                    "type": "http.response.body",
                    "body": f"data: {time.monotonic_ns()}\n\n".encode(),
                    "more_body": True,
                }
            )
            if delay:
                await asyncio.sleep(delay)
    await send({"type": "http.response.body", "body": b""})


handler = lambda_sse.asgi.handler(app, stream=["/sse", "/beat"])
