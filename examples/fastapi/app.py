"""A FastAPI app on AWS Lambda, as one function: streamed routes beside buffered ones.

- ``GET /``: a page that shows the progress feed live with the browser's own EventSource;
- ``GET /events``: the progress feed: ``event: progress`` with increasing ids, an early ``retry``
  hint, JSON ``{step, total, percent, message}``, then ``event: complete``. A reconnecting client
  sends ``Last-Event-ID`` and the feed resumes after that step;
- ``GET /stream``: ten chunks one second apart, then ``event: end`` (the quickstart's stream);
- ``GET /hello``: plain JSON.

On Lambda the stream ends cleanly shortly before the function's timeout, after a ``retry`` hint
(lambda-sse's deadline-aware ``EventSourceResponse``): the browser reconnects with
``Last-Event-ID`` and the next invocation carries on where this one stopped.

Run it with ``lambda-sse dev examples/fastapi`` and open http://127.0.0.1:3000/dev/
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from lambda_sse.asgi import EventSourceResponse
from lambda_sse.asgi import handler as lambda_handler
from lambda_sse.sse import ServerSentEvent

# The feed's shape; the tests shrink the wait through the environment, leave these unset.
STEPS = int(os.environ.get("PROGRESS_STEPS", "20"))
STEP_SECONDS = float(os.environ.get("PROGRESS_STEP_SECONDS", "0.5"))
CHUNK_SECONDS = float(os.environ.get("QUICKSTART_CHUNK_INTERVAL", "1"))
# How long a browser waits before it reconnects (the WHATWG default is about 3 s).
RETRY_MS = 1000

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")

app = FastAPI(title="lambda-sse FastAPI example")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@app.get("/", response_class=HTMLResponse)
async def page() -> str:
    return PAGE


@app.get("/hello")
async def hello() -> dict[str, object]:
    return {
        "message": "Hello from Python on Lambda!",
        "timestamp": _now(),
        "streaming_enabled": True,
    }


async def _chunks() -> AsyncIterator[ServerSentEvent]:
    for k in range(1, 11):
        yield ServerSentEvent(data=json.dumps({"message": f"Chunk #{k}", "timestamp": _now()}))
        if k < 10:
            await asyncio.sleep(CHUNK_SECONDS)
    yield ServerSentEvent(event="end", data="Stream finished")


@app.get("/stream")
async def stream() -> EventSourceResponse:
    return EventSourceResponse(_chunks())


def resume_after(last_event_id: str | None) -> int:
    """The step a reconnecting client saw last: 0 for a first visit or an id we never sent."""
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        step = int(last_event_id)
        if 0 <= step <= STEPS:
            return step
    return 0


async def _progress(after: int) -> AsyncIterator[ServerSentEvent]:
    # The retry hint first, so that even a stream cut before its first step reconnects quickly.
    yield ServerSentEvent(retry=RETRY_MS, comment=f"progress feed, resuming after step {after}")
    for step in range(after + 1, STEPS + 1):
        await asyncio.sleep(STEP_SECONDS)  # one step of real work would go here
        data = {
            "step": step,
            "total": STEPS,
            "percent": round(100 * step / STEPS),
            "message": f"Step {step} of {STEPS} done",
        }
        yield ServerSentEvent(event="progress", id=str(step), data=json.dumps(data))
    done = {"step": STEPS, "total": STEPS, "percent": 100, "message": "All steps done"}
    yield ServerSentEvent(event="complete", data=json.dumps(done))


@app.get("/events")
async def events() -> EventSourceResponse:
    # A factory: EventSourceResponse calls it with the request's Last-Event-ID ("" if none).
    # On Lambda the stream ends 5 s before the function's timeout, after a retry hint.
    return EventSourceResponse(
        lambda last_event_id: _progress(resume_after(last_event_id)),
        deadline_margin=5.0,
        retry=RETRY_MS,
    )


# The Lambda entry point (handler: app.handler). Every route streams: API Gateway's STREAM mode
# and a RESPONSE_STREAM Function URL both expect the streaming format from every route they
# serve, JSON and HTML included.
handler = lambda_handler(app, stream=True)
