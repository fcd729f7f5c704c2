"""EventSourceResponse as a plain ASGI app, read incrementally by the project's test client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from lambda_sse.asgi import EventSourceResponse
from lambda_sse.asgi.sse import encode_item
from lambda_sse.asgi.types import Message
from lambda_sse.errors import LambdaSSEError
from lambda_sse.runtime.context import LambdaContext
from lambda_sse.sse import ServerSentEvent, SSEDecoder
from tests.support.asgi_client import make_scope, stream

pytestmark = pytest.mark.anyio


def lambda_context(remaining_s: float) -> LambdaContext:
    return LambdaContext(
        aws_request_id="req-1",
        deadline_ms=int(time.time() * 1000 + remaining_s * 1000),
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        environ={},
    )


async def endless(delay: float = 0.01, start: int = 0) -> AsyncIterator[ServerSentEvent]:
    n = start
    while True:
        yield ServerSentEvent(data=f"tick {n}", id=str(n))
        n += 1
        await asyncio.sleep(delay)


async def test_headers_and_every_item_kind() -> None:
    async def items() -> AsyncIterator[object]:
        yield ServerSentEvent(data="one", event="greet", id="1")
        yield {"data": {"n": 2}, "id": "2"}
        yield "three"
        yield b"data: four\n\n"

    app = EventSourceResponse(items())  # type: ignore[arg-type]
    async with stream(app) as response:
        assert response.status == 200
        assert response.header("content-type") == "text/event-stream; charset=utf-8"
        assert response.header("cache-control") == "no-cache"
        assert response.header("x-accel-buffering") == "no"
        body = await response.read()
    events = SSEDecoder().feed(body)
    assert [(e.event, e.data, e.id) for e in events] == [
        ("greet", "one", "1"),
        ("message", '{"n":2}', "2"),
        ("message", "three", "2"),
        ("message", "four", "2"),
    ]
    assert app.stop_reason == "end"


async def test_each_event_is_sent_as_soon_as_it_is_produced() -> None:
    gate = asyncio.Event()

    async def items() -> AsyncIterator[str]:
        yield "first"
        await gate.wait()  # the second event waits for the test: the first must be out already
        yield "second"

    async with stream(EventSourceResponse(items()), read_timeout=2.0) as response:
        chunks = response.iter_bytes()
        assert await anext(chunks) == b"data: first\n\n"
        gate.set()
        assert await anext(chunks) == b"data: second\n\n"


async def test_heartbeat_comments_while_idle() -> None:
    async def slow() -> AsyncIterator[str]:
        await asyncio.sleep(0.35)
        yield "late"

    app = EventSourceResponse(slow(), ping=0.1)
    async with stream(app) as response:
        body = await response.read()
    assert body.count(b": ping\n") >= 2
    assert body.endswith(b"data: late\n\n")
    # A heartbeat is a comment line, never a blank line: no client sees an empty event.
    assert [e.data for e in SSEDecoder().feed(body)] == ["late"]


async def test_factory_gets_last_event_id() -> None:
    seen: list[str] = []

    def resume(last_event_id: str) -> AsyncIterator[ServerSentEvent]:
        seen.append(last_event_id)
        return endless(start=int(last_event_id or -1) + 1)

    app = EventSourceResponse(resume)
    async with stream(app, headers=[("Last-Event-ID", "41")]) as response:
        first = await anext(response.iter_bytes())
    assert seen == ["41"]
    assert app.last_event_id == "41"
    assert first == b"id: 42\ndata: tick 42\n\n"


async def test_deadline_ends_cleanly_with_retry_hint() -> None:
    closed = asyncio.Event()

    async def items() -> AsyncIterator[ServerSentEvent]:
        try:
            async for event in endless(0.02):
                yield event
        finally:
            closed.set()

    app = EventSourceResponse(items(), deadline_margin=0.3, retry=250)
    scope = make_scope(extra={"aws.context": lambda_context(0.6)})
    started = time.monotonic()
    async with stream(app, scope=scope) as response:
        body = await response.read()
        assert response.complete  # a clean end, not a cut
    elapsed = time.monotonic() - started
    assert 0.2 < elapsed < 0.55
    assert body.endswith(b"retry: 250\n\n")
    decoder = SSEDecoder()
    events = decoder.feed(body)
    assert len(events) >= 5
    assert decoder.retry == 250
    assert decoder.last_event_id == events[-1].id
    assert app.stop_reason == "deadline"
    assert closed.is_set()  # the generator was closed


async def test_deadline_already_passed_sends_only_the_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = EventSourceResponse(endless(), deadline_margin=5.0)
    scope = make_scope(extra={"aws.context": lambda_context(1.0)})
    async with stream(app, scope=scope) as response:
        assert await response.read() == b"retry: 1000\n\n"
    assert app.stop_reason == "deadline"
    assert "raise the function timeout or lower the margin" in caplog.text


async def test_client_disconnect_stops_the_generator() -> None:
    closed = asyncio.Event()

    async def items() -> AsyncIterator[ServerSentEvent]:
        try:
            async for event in endless(0.01):
                yield event
        finally:
            closed.set()

    app = EventSourceResponse(items())
    async with stream(app) as response:
        chunks = response.iter_bytes()
        for _ in range(3):
            await anext(chunks)
    assert closed.is_set()
    assert app.stop_reason == "disconnect"


async def test_stalled_send_times_out() -> None:
    app = EventSourceResponse(endless(0.0), send_timeout=0.1, ping=0.05)
    sent: list[Message] = []
    stall = asyncio.Event()

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)
        if len(sent) == 3:
            await stall.wait()  # the client stopped reading: the send never completes

    await asyncio.wait_for(app(make_scope(), receive, send), 2.0)
    assert app.stop_reason == "send_timeout"
    assert len(sent) == 3


async def test_generator_error_propagates() -> None:
    async def broken() -> AsyncIterator[str]:
        yield "ok"
        raise RuntimeError("boom")

    app = EventSourceResponse(broken())
    with pytest.raises(RuntimeError, match="boom"):
        async with stream(app) as response:
            await response.read()


async def test_custom_headers_and_status() -> None:
    async def nothing() -> AsyncIterator[str]:
        return
        yield

    app = EventSourceResponse(
        nothing(), status_code=201, headers={"Cache-Control": "no-store", "X-A": "b"}
    )
    async with stream(app) as response:
        assert response.status == 201
        assert response.header("cache-control") == "no-store"
        assert response.header("x-a") == "b"
        assert await response.read() == b""


@pytest.mark.parametrize("item", [{"data": "x", "nope": 1}, 42, {"event": "a\nb", "data": "x"}])
def test_bad_items_raise_clear_errors(item: object) -> None:
    with pytest.raises(LambdaSSEError):  # ResponseStreamError, or the codec's InvalidEventError
        encode_item(item)  # type: ignore[arg-type]


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="ping"):
        EventSourceResponse(endless(), ping=0)
    with pytest.raises(ValueError, match="send_timeout"):
        EventSourceResponse(endless(), send_timeout=-1)


async def test_inside_starlette_and_fastapi_routes() -> None:
    from fastapi import FastAPI, Request
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def starlette_endpoint(request: Request) -> EventSourceResponse:
        return EventSourceResponse(endless())

    starlette_app = Starlette(routes=[Route("/sse", starlette_endpoint)])
    fastapi_app = FastAPI()

    # Not a Starlette Response subclass (the core imports no third-party code), so FastAPI
    # needs response_model=None to not treat the return annotation as a pydantic model.
    @fastapi_app.get("/sse", response_model=None)
    async def fastapi_endpoint() -> EventSourceResponse:
        return EventSourceResponse(endless())

    for app in (starlette_app, fastapi_app):
        async with stream(app, "GET", "/sse") as response:
            assert response.status == 200
            chunks = response.iter_bytes()
            got = [await anext(chunks) for _ in range(3)]
        assert got[0] == b"id: 0\ndata: tick 0\n\n"


async def test_disconnect_while_an_event_waits_behind_a_heartbeat() -> None:
    ping_blocked = asyncio.Event()
    item_ready = asyncio.Event()
    disconnect = asyncio.Event()
    sent: list[bytes] = []

    async def items() -> AsyncIterator[str]:
        await item_ready.wait()
        yield "late"  # the producer now waits for the heartbeat on the wire

    async def send(message: Message) -> None:
        body = message.get("body", b"")
        if body.startswith(b":"):
            ping_blocked.set()
            await asyncio.Event().wait()  # the heartbeat never finishes sending
        sent.append(body)

    async def receive() -> Message:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    app = EventSourceResponse(items(), ping=0.05)
    task = asyncio.ensure_future(app(make_scope(), receive, send))
    await asyncio.wait_for(ping_blocked.wait(), 2)
    item_ready.set()
    await asyncio.sleep(0.05)
    disconnect.set()
    await asyncio.wait_for(task, 2)
    assert app.stop_reason == "disconnect"
    assert b"data: late\n\n" not in sent
