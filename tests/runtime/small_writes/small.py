"""``n`` writes of ``size`` bytes, ``interval`` seconds apart; each starts with its index and the
CLOCK_MONOTONIC nanoseconds of the write (one clock for every process on the machine)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lambda_sse import HttpResponseStream, streamify_response


def _params(event: dict[str, Any]) -> tuple[int, float, int]:
    query = event.get("queryStringParameters") or {}
    return int(query.get("n", 10)), float(query.get("interval", 0.05)), int(query.get("size", 24))


@streamify_response
async def handler(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    n, interval, size = _params(event)
    stream = HttpResponseStream.from_(
        response_stream, {"statusCode": 200, "headers": {"content-type": "text/plain"}}
    )
    for i in range(n):
        line = f"{i} {time.monotonic_ns()}"
        await stream.write(line.ljust(size - 1).encode() + b"\n")
        await asyncio.sleep(interval)
    await stream.end()
