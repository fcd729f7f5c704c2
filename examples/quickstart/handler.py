"""The lambda-sse quickstart: a streaming endpoint beside a buffered one.

- ``stream_handler`` streams ten Server-Sent Events, one per second, then an ``end`` event. It is
  the Python twin of a Node.js handler wrapped in ``awslambda.streamifyResponse``.
- ``hello`` is an ordinary buffered handler: it returns the whole response at once.

Run it locally with ``lambda-sse dev examples/quickstart`` and ``curl -N``; deploy the zip that
``lambda-sse package examples/quickstart`` builds (see docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from typing import Any

from lambda_sse import HttpResponseStream, streamify_response
from lambda_sse.sse import ServerSentEvent

CHUNKS = 10
# One second between chunks. The tests shorten it through this variable; leave it unset.
INTERVAL = float(os.environ.get("QUICKSTART_CHUNK_INTERVAL", "1"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@streamify_response
async def stream_handler(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    stream = HttpResponseStream.from_(
        response_stream,
        {
            "statusCode": 200,
            "headers": {
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                # Tells nginx-style proxies in front of a client not to buffer the stream.
                "X-Accel-Buffering": "no",
            },
        },
    )
    for k in range(1, CHUNKS + 1):
        data = json.dumps({"message": f"Chunk #{k}", "timestamp": _now()})
        await stream.write(ServerSentEvent(data=data).encode())
        if k < CHUNKS:
            await asyncio.sleep(INTERVAL)
    await stream.write(ServerSentEvent(event="end", data="Stream finished").encode())
    await stream.end()


def hello(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = {
        "message": "Hello from Python on Lambda!",
        "timestamp": _now(),
        "streaming_enabled": True,
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
