"""A channel subscription as EventSourceResponse's feed: the deadline close with ``retry:``,
resume from ``Last-Event-ID`` and heartbeats work unchanged, and a client that reconnects
through several deadlines gets every event once, in order."""

from __future__ import annotations

import asyncio
import time

import pytest

from lambda_sse.asgi import EventSourceResponse
from lambda_sse.channels import open_channel
from lambda_sse.runtime.context import LambdaContext
from lambda_sse.sse import SSEDecoder
from tests.channels.backends import Target
from tests.support.asgi_client import make_scope, stream

pytestmark = pytest.mark.anyio

EVENTS = 40


def _context(remaining_s: float) -> LambdaContext:
    return LambdaContext(
        aws_request_id="req",
        deadline_ms=int(time.time() * 1000 + remaining_s * 1000),
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        environ={},
    )


async def test_resume_across_deadline_closes(target: Target) -> None:
    url = target.url({})
    channel = open_channel("feed", url)

    async def publisher() -> list[str]:
        ids = []
        for i in range(EVENTS):
            ids.append(await channel.publish(f"e{i}"))
            await asyncio.sleep(0.02)
        await channel.end()
        return ids

    publishing = asyncio.ensure_future(publisher())
    decoder = SSEDecoder()
    received: list[tuple[str, str]] = []
    reasons: list[str | None] = []
    for _ in range(50):  # bounded: each connection lasts ~0.4 s
        headers = [("last-event-id", decoder.last_event_id)] if decoder.last_event_id else []
        scope = make_scope(headers=headers, extra={"aws.context": _context(0.7)})
        app = EventSourceResponse(
            open_channel("feed", url).subscribe, deadline_margin=0.3, retry=10, ping=0.1
        )
        async with stream(app, scope=scope) as response:
            body = await response.read()
        reasons.append(app.stop_reason)
        received += [(e.id or "", e.data) for e in decoder.feed(body) if e.data]
        assert app.last_event_id == (headers[0][1] if headers else "")
        if app.stop_reason == "end":
            break
        assert body.endswith(b"retry: 10\n\n")  # the deadline close tells the client to return
    ids = await publishing
    assert received == [(i, f"e{n}") for n, i in enumerate(ids)], reasons
    assert reasons.count("deadline") >= 2, reasons
    assert reasons[-1] == "end", reasons


async def test_heartbeats_while_the_channel_is_quiet(target: Target) -> None:
    url = target.url({})
    channel = open_channel("quiet", url)
    channel_id = await channel.publish("hello")
    app = EventSourceResponse(channel.subscribe, ping=0.15)
    async with stream(app, read_timeout=3.0) as response:
        chunks = response.iter_bytes()
        [first] = SSEDecoder().feed(await anext(chunks))
        assert (first.id, first.data) == (channel_id, "hello")
        assert await anext(chunks) == b": ping\n"
        await channel.end()
        rest = b"".join([c async for c in chunks])
    assert rest.replace(b": ping\n", b"") == b""
    assert app.stop_reason == "end"
