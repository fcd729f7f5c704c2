"""EventSourceResponse off Lambda and with a simulated deadline, served by a real uvicorn on
loopback and read by real clients (httpx, and the project's reconnecting EventSource)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from lambda_sse.asgi import EventSourceResponse
from lambda_sse.asgi.types import ASGIApp, Receive, Scope, Send
from lambda_sse.runtime.context import LambdaContext
from lambda_sse.sse import EventSource, ServerSentEvent, SSEDecoder

pytestmark = pytest.mark.anyio

CLOSED: list[str] = []


async def ticks(last_event_id: str) -> AsyncIterator[ServerSentEvent]:
    n = int(last_event_id) + 1 if last_event_id else 0
    try:
        while True:
            yield ServerSentEvent(data=f"tick {n}", id=str(n))
            n += 1
            await asyncio.sleep(0.02)
    finally:
        CLOSED.append(last_event_id)


async def endpoint(request: Request) -> EventSourceResponse:
    return EventSourceResponse(ticks, ping=0.05, deadline_margin=0.3, retry=50)


class FakeDeadline:
    """Plays the bridge's part: every request gets a Lambda context 0.5 s from its deadline."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/lambda":
            scope["aws.context"] = LambdaContext(
                aws_request_id="r",
                deadline_ms=int(time.time() * 1000) + 500,
                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
                environ={},
            )
        await self.app(scope, receive, send)


app = FakeDeadline(Starlette(routes=[Route("/plain", endpoint), Route("/lambda", endpoint)]))


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def test_off_lambda_a_plain_endless_stream_and_disconnect(base_url: str) -> None:
    CLOSED.clear()
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=5) as client,
        client.stream("GET", "/plain", headers={"Last-Event-ID": "9"}) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["x-accel-buffering"] == "no"
        decoder = SSEDecoder()
        events: list[ServerSentEvent] = []
        async for chunk in response.aiter_raw():
            events += decoder.feed(chunk)
            if len(events) >= 5:
                break
    assert [e.id for e in events[:3]] == ["10", "11", "12"]
    # The client went away: uvicorn says http.disconnect and the generator is closed.
    for _ in range(100):
        if CLOSED:
            break
        await asyncio.sleep(0.02)
    assert CLOSED == ["9"]


async def test_deadline_end_makes_eventsource_resume(base_url: str) -> None:
    CLOSED.clear()
    seen: list[Any] = []
    started = time.monotonic()
    async with EventSource(f"{base_url}/lambda", read_timeout=5) as source:
        async for event in source:
            seen.append(event.id)
            if len(seen) >= 30:
                break
    # Ids never repeat nor skip across the clean ends: each new invocation resumed after the
    # Last-Event-ID the client sent, after the retry hint of 50 ms.
    assert seen == [str(i) for i in range(30)]
    assert len(CLOSED) >= 2  # at least two streams ended at their deadline
    assert CLOSED[0] == ""
    assert time.monotonic() - started < 10
