"""Streaming handlers for lambda-sse's runtime; behaviour chosen by query string parameters
(``queryStringParameters`` exists in both v1 and v2 events)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from lambda_sse.runtime.stream import HttpResponseStream, streamify_response


def _params(event: dict[str, Any]) -> dict[str, str]:
    return event.get("queryStringParameters") or {}


@streamify_response
async def stream(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    params = _params(event)
    mode = params.get("mode", "sse")
    chunks = int(params.get("chunks", "3"))
    interval = float(params.get("interval", "0.1"))
    if mode == "error":
        raise ValueError("failed before the first byte")
    if mode == "raw":
        response_stream.set_content_type("text/csv")
        out = response_stream
    else:
        out = HttpResponseStream.from_(
            response_stream,
            {
                "statusCode": 200,
                "headers": {
                    "content-type": "text/event-stream",
                    "x-event-path": event.get("path") or event.get("rawPath", ""),
                    "x-pid": str(os.getpid()),
                },
                "cookies": ["session=abc"],
            },
        )
    for i in range(chunks):
        await out.write(f"data: {json.dumps({'i': i, 't': time.time()})}\n\n")
        await asyncio.sleep(interval)
    if mode == "hang":
        await asyncio.sleep(60)  # past the 2 s timeout: the stream is cut
    marker = params.get("marker")
    if marker:
        _write(Path(marker), f"finished {context.aws_request_id}\n")


def _write(path: Path, text: str) -> None:
    path.write_text(text)
