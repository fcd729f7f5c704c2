"""Handlers for lambda-sse's own runtime (python -m lambda_sse.runtime)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from lambda_sse.runtime import on_shutdown
from lambda_sse.runtime.stream import HttpResponseStream, streamify_response


@on_shutdown
def _mark_shutdown() -> None:
    # Runs when the emulator reaps the environment with SIGTERM, as Lambda does.
    marker_dir = os.environ.get("MARKER_DIR")
    if marker_dir:
        Path(marker_dir, f"sigterm-{os.getpid()}").write_text("shutdown ran\n")


@streamify_response
async def stream(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    out = HttpResponseStream.from_(
        response_stream,
        {"statusCode": 200, "headers": {"content-type": "text/plain", "x-pid": str(os.getpid())}},
    )
    for i in range(int(event.get("chunks", 3))):
        await out.write(f"tick {i} {time.time():.6f}\n")
        await asyncio.sleep(float(event.get("interval", 0.1)))
    marker = event.get("marker")
    if marker:
        # Written after the last chunk: proves the function ran to its end.
        _write(Path(marker), f"finished {context.aws_request_id}\n")


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def buffered(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": str(os.getpid())}
