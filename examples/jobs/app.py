"""Background jobs with a live, resumable progress feed: the API function (FastAPI).

- ``POST /jobs`` (buffered) with ``{"steps": int, "interval_ms": int}``: writes the job's
  ``queued`` event to its channel, starts the worker with an asynchronous ``Invoke`` and answers
  202 ``{"id": ..., "events": "/jobs/{id}/events"}``;
- ``GET /jobs/{id}/events`` (streamed): the job's channel as Server-Sent Events, from the start
  or after ``Last-Event-ID``, until ``done`` or ``failed``; 404 JSON for an unknown job;
- ``GET /``: a page with a progress bar per job.

Each stream ends itself ``DEADLINE_MARGIN`` seconds before the function's timeout, after a
``retry`` hint; the browser reconnects with ``Last-Event-ID`` and the next invocation replays
the channel up to that id and carries on, so no event is lost or shown twice. A step the worker
published twice (Lambda may deliver an asynchronous event more than once) is shown once.

Run it with ``lambda-sse dev examples/jobs`` and open http://127.0.0.1:3000/dev/
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from jobstate import FINAL, JobState, channel_name, failed_event, queued_event, valid_job_id
from pydantic import BaseModel, ConfigDict, Field

from lambda_sse.asgi import EventSourceResponse
from lambda_sse.asgi import handler as lambda_handler
from lambda_sse.channels import Channel, open_channel
from lambda_sse.channels.core import GAP_EVENT
from lambda_sse.events import HttpRequest
from lambda_sse.sse import ServerSentEvent

WORKER = os.environ.get("WORKER_FUNCTION", "worker")
RETRY_MS = 1000  # how soon a browser reconnects after a stream ends
DEADLINE_MARGIN = float(os.environ.get("JOBS_DEADLINE_MARGIN", "5"))
PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")

app = FastAPI(title="lambda-sse background jobs")


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(ge=1, le=1000, strict=True)
    interval_ms: int = Field(ge=0, le=60_000, strict=True)


@cache
def lambda_client() -> Any:
    try:
        import boto3  # in every AWS Lambda Python runtime; `lambda-sse dev` points it at itself
    except ImportError:
        raise RuntimeError("boto3 is needed to start the worker: pip install boto3") from None
    return boto3.client("lambda")


def start_worker(payload: dict[str, Any]) -> None:
    lambda_client().invoke(
        FunctionName=WORKER, InvocationType="Event", Payload=json.dumps(payload).encode()
    )


@app.get("/", response_class=HTMLResponse)
async def page() -> str:
    return PAGE


@app.post("/jobs", status_code=202)
async def create_job(job: JobRequest) -> Any:
    job_id = uuid.uuid4().hex
    channel = open_channel(channel_name(job_id))
    await channel.publish(queued_event(job_id, job.steps, job.interval_ms))
    try:
        await asyncio.to_thread(
            start_worker, {"id": job_id, "steps": job.steps, "interval_ms": job.interval_ms}
        )
    except Exception as exc:  # botocore's errors: the job cannot start, say so to its watchers
        reason = f"the worker could not be started: {type(exc).__name__}: {exc}"
        await channel.publish(failed_event(reason, 0))
        await channel.end()
        return JSONResponse({"id": job_id, "error": reason}, status_code=503)
    return {"id": job_id, "events": f"/jobs/{job_id}/events"}


async def job_events(channel: Channel, last_event_id: str) -> AsyncIterator[ServerSentEvent]:
    """The channel from its start: what the client already has (up to ``last_event_id``) is
    read but not sent, so that a step published twice is still recognised as a repeat."""
    state = JobState()
    # An id the channel does not hold (a client of another job, or pruned): start afresh.
    catching_up = await channel.holds(last_event_id)
    async for event in channel.subscribe(""):
        if event.event == GAP_EVENT:
            continue
        new = state.see(event)
        if catching_up:
            catching_up = event.id != last_event_id
            continue
        if new:
            yield event
        if event.event in FINAL:
            return


@app.get("/jobs/{job_id}/events", response_model=None)
async def events(job_id: str) -> EventSourceResponse | JSONResponse:
    if not valid_job_id(job_id):
        return JSONResponse({"error": "no such job", "id": job_id}, status_code=404)
    channel = open_channel(channel_name(job_id))
    if not await channel.exists():
        return JSONResponse({"error": "no such job", "id": job_id}, status_code=404)
    return EventSourceResponse(
        lambda last_event_id: job_events(channel, last_event_id),
        deadline_margin=DEADLINE_MARGIN,
        retry=RETRY_MS,
    )


def _streams(request: HttpRequest) -> bool:
    # A RESPONSE_STREAM Function URL expects the streaming format from every route; behind API
    # Gateway only the event feed is a STREAM method (the others are BUFFERED).
    return request.kind == "function_url" or (
        request.path.startswith("/jobs/") and request.path.endswith("/events")
    )


# The Lambda entry point (handler: app.handler).
handler = lambda_handler(app, stream=_streams)
