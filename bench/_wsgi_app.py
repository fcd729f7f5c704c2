"""The apps bench_chat.py streams through the bridges: the same SSE route as a Flask generator
(through ``lambda_sse.wsgi``) and as a FastAPI async generator (through ``lambda_sse.asgi``).

Every event's data is the ``time.monotonic_ns()`` of its production, as in _asgi_app.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from flask import Flask, Response, request

import lambda_sse.asgi
import lambda_sse.wsgi

flask_app = Flask(__name__)


@flask_app.get("/sse")
def flask_sse() -> Response:
    n = int(request.args.get("n", "1000"))
    delay = float(request.args.get("delay", "0"))

    def events() -> Iterator[bytes]:
        for _ in range(n):
            yield b"data: %d\n\n" % time.monotonic_ns()
            if delay:
                time.sleep(delay)

    return Response(events(), mimetype="text/event-stream")


fastapi_app = FastAPI()


@fastapi_app.get("/sse")
async def fastapi_sse(n: int = 1000, delay: float = 0.0) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"data: %d\n\n" % time.monotonic_ns()
            if delay:
                await asyncio.sleep(delay)

    return StreamingResponse(events(), media_type="text/event-stream")


wsgi_handler = lambda_sse.wsgi.handler(flask_app, stream=True)
asgi_handler = lambda_sse.asgi.handler(fastapi_app, stream=True)
