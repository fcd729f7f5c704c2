"""Misbehaving handlers for the hardening tests, run by lambda-sse's runtime (exec wrapper)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

from lambda_sse.asgi import EventSourceResponse, handler
from lambda_sse.asgi.types import Receive, Scope, Send
from lambda_sse.runtime.stream import HttpResponseStream, streamify_response


@streamify_response
async def bad_header(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    # A CR/LF in a header value: the front door must refuse it, never put it on the wire.
    out = HttpResponseStream.from_(
        response_stream, {"statusCode": 200, "headers": {"x-bad": "a\r\nInjected: 1"}}
    )
    for i in range(3):
        await out.write(f"chunk {i}\n")
        await asyncio.sleep(0.05)


def bad_header_buffered(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"x bad": "1"}, "body": "x"}


@streamify_response
async def fail_mid(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    out = HttpResponseStream.from_(response_stream, {"statusCode": 200, "headers": {}})
    await out.write("partial\n")
    await asyncio.sleep(0.05)
    raise RuntimeError("broke mid-stream")


@streamify_response
async def chatter(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    out = HttpResponseStream.from_(response_stream, {"statusCode": 200, "headers": {}})
    for i in range(int(event.get("queryStringParameters", {}).get("n", "3"))):
        await out.write(f"line {i}\n")
        await asyncio.sleep(float(event.get("queryStringParameters", {}).get("gap", "0.01")))


def tail(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sys.stdout.write(f"tail without newline {context.aws_request_id}")
    sys.stdout.flush()
    return {"statusCode": 200, "body": "ok"}


def deep(event: dict[str, Any], context: Any) -> Any:
    value: Any = "leaf"
    for _ in range(100_000):
        value = [value]
    return value


def cyclic(event: dict[str, Any], context: Any) -> Any:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


async def _ticks(last_event_id: str) -> AsyncIterator[dict[str, Any]]:
    for i in range(1000):
        yield {"data": str(i), "id": str(i)}
        await asyncio.sleep(0.05)


async def _feed_fails(last_event_id: str) -> AsyncIterator[dict[str, Any]]:
    yield {"data": "first", "id": "1"}
    raise RuntimeError("feed broke")


async def _sse_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        raise ValueError("no lifespan")
    if scope["path"].endswith("/fails"):
        response = EventSourceResponse(_feed_fails, deadline_margin=1.0)
    else:
        # The function times out at 3 s: the stream ends 2.4 s early, after a retry: hint.
        response = EventSourceResponse(_ticks, deadline_margin=2.4)
    await response(scope, receive, send)


sse = handler(_sse_app, stream=True, lifespan="off")
