"""Serve a channel from a plain streamify_response handler: write event.encode() for each
subscribed event until shortly before the deadline, then a retry hint."""

from __future__ import annotations

import asyncio
from typing import Any

from lambda_sse.channels import open_channel
from lambda_sse.runtime.stream import HttpResponseStream, streamify_response
from lambda_sse.sse import ServerSentEvent

DEADLINE_MARGIN = 0.5


@streamify_response
async def handler(request: dict[str, Any], response_stream: Any, context: Any) -> None:
    headers: dict[str, str] = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
    name = (request.get("queryStringParameters") or {}).get("channel", "default")
    out = HttpResponseStream.from_(
        response_stream,
        {"statusCode": 200, "headers": {"content-type": "text/event-stream"}},
    )
    subscription = open_channel(name).subscribe(headers.get("last-event-id", ""))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN
    try:
        while True:
            next_event: ServerSentEvent
            try:
                # Only the wait is bounded: a write is never cut in the middle of an event.
                next_event = await asyncio.wait_for(anext(subscription), deadline - loop.time())
            except StopAsyncIteration:
                return  # the channel ended
            except TimeoutError:
                await out.write(b"retry: 50\n\n")
                return
            await out.write(next_event.encode())
    finally:
        await subscription.aclose()
