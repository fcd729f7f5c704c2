"""The client against servers it did not grow up with: sse-starlette on uvicorn.

The app resumes from ``Last-Event-ID`` and ends each response after two events, so reading six
events takes three connections: consecutive numbers prove the client resumed at the right place
every time, without losing or repeating an event.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from itertools import islice

import anyio
import pytest
import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from lambda_sse.sse.client import EventSource

_SERVER_TIMEOUT = 10.0
seen_ids: list[str | None] = []


async def numbers(request: Request) -> EventSourceResponse:
    last = request.headers.get("last-event-id")
    seen_ids.append(last)
    start = int(last) + 1 if last else 1

    async def stream() -> AsyncIterator[ServerSentEvent]:
        for n in range(start, start + 2):
            yield ServerSentEvent(data=f"n{n}", id=str(n), event="tick", retry=50)

    return EventSourceResponse(stream(), ping=600)


app = Starlette(routes=[Route("/numbers", numbers)])


@pytest.fixture
def uvicorn_url() -> Iterator[str]:
    """uvicorn serving ``app`` on a loopback socket in a thread, stopped after the test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    seen_ids.clear()
    thread.start()
    try:
        for _ in range(int(_SERVER_TIMEOUT / 0.01)):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}/numbers"
    finally:
        server.should_exit = True
        thread.join(_SERVER_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def test_sync_client_resumes_an_sse_starlette_stream(uvicorn_url: str) -> None:
    delays: list[float] = []
    with EventSource(uvicorn_url, sleep=delays.append) as source:
        events = list(islice(source, 6))
    assert [e.data for e in events] == ["n1", "n2", "n3", "n4", "n5", "n6"]
    assert [e.id for e in events] == ["1", "2", "3", "4", "5", "6"]
    assert {e.event for e in events} == {"tick"}
    assert seen_ids == [None, "2", "4"]
    assert delays == [0.05, 0.05]  # sse-starlette's retry: 50
    assert source.retry == 50


@pytest.mark.anyio
async def test_async_client_resumes_an_sse_starlette_stream(uvicorn_url: str) -> None:
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    events = []
    with anyio.fail_after(_SERVER_TIMEOUT):
        async with EventSource(uvicorn_url, async_sleep=record, last_event_id="10") as source:
            async for event in source:
                events.append(event)
                if len(events) == 4:
                    break
    assert [e.data for e in events] == ["n11", "n12", "n13", "n14"]
    assert seen_ids == ["10", "12"]
    assert delays == [0.05]
