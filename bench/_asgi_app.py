"""The FastAPI app bench_asgi.py measures, served by the bridge + runtime, by uvicorn, by Mangum.

Every event's data is the ``time.monotonic_ns()`` of its production: the reader takes latency
from it (CLOCK_MONOTONIC is one clock for every process on the machine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sse_starlette import EventSourceResponse as StarletteSSEResponse

import lambda_sse.asgi
from lambda_sse.asgi import EventSourceResponse

app = FastAPI()


async def stamped(n: int, delay: float = 0.0) -> AsyncIterator[dict[str, str]]:
    for i in range(n):
        yield {"data": str(time.monotonic_ns()), "id": str(i)}
        if delay:
            await asyncio.sleep(delay)


@app.get("/sse", response_model=None)
async def sse(n: int = 1000, delay: float = 0.0) -> EventSourceResponse:
    return EventSourceResponse(stamped(n, delay))


@app.get("/sse-starlette", response_model=None)
async def sse_starlette(n: int = 1000, delay: float = 0.0) -> StarletteSSEResponse:
    return StarletteSSEResponse(stamped(n, delay), ping=3600)


handler = lambda_sse.asgi.handler(app, stream=["/sse", "/sse-starlette"])
