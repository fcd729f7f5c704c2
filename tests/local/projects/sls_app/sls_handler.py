"""Handlers of the SAM sample project: one stream (lambda-sse's runtime), one buffered."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from lambda_sse.runtime.stream import HttpResponseStream, streamify_response


@streamify_response
async def stream(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    out = HttpResponseStream.from_(
        response_stream, {"statusCode": 200, "headers": {"content-type": "text/event-stream"}}
    )
    for i in range(3):
        await out.write(f"data: {os.environ['GREETING']} {i}\n\n")
        await asyncio.sleep(0.2)


def buffered(event: dict[str, Any], context: Any) -> dict[str, Any]:
    item = (event.get("pathParameters") or {}).get("id")
    return {"statusCode": 200, "body": f"item {item} in stage {event['requestContext']['stage']}"}
