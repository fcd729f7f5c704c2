"""What the API and the worker agree on: a job's channel name and its events, and the fold that
reads a job's state back from its channel. Pure functions, no I/O.

A job's channel holds, in order: ``queued`` (the job's parameters, written by ``POST /jobs``),
``progress`` per step (``{"step", "of", "percent", "message"}``, steps numbered from 1), then
``done`` or ``failed`` (JSON too), then the channel's end.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lambda_sse.sse import ServerSentEvent

__all__ = [
    "FINAL",
    "JobState",
    "channel_name",
    "done_event",
    "failed_event",
    "progress_event",
    "queued_event",
    "valid_job_id",
]

FINAL = frozenset({"done", "failed"})
_JOB_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex


def valid_job_id(job_id: str) -> bool:
    return _JOB_ID.fullmatch(job_id) is not None


def channel_name(job_id: str) -> str:
    return f"jobs/{job_id}"


def _event(kind: str, data: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(event=kind, data=json.dumps(data, separators=(",", ":")))


def queued_event(job_id: str, steps: int, interval_ms: int) -> ServerSentEvent:
    return _event("queued", {"id": job_id, "steps": steps, "interval_ms": interval_ms})


def progress_event(step: int, of: int) -> ServerSentEvent:
    percent = round(100 * step / of)
    return _event(
        "progress",
        {"step": step, "of": of, "percent": percent, "message": f"Step {step} of {of} done"},
    )


def done_event(steps: int) -> ServerSentEvent:
    return _event("done", {"steps": steps, "percent": 100, "message": "All steps done"})


def failed_event(reason: str, step: int) -> ServerSentEvent:
    return _event("failed", {"reason": reason, "step": step})


@dataclass
class JobState:
    """A job as far as its channel tells: fold its events in order with :meth:`see`."""

    steps: int | None = None
    last_step: int = 0  # the highest step published
    final: str | None = None  # "done" or "failed" once published

    def see(self, event: ServerSentEvent) -> bool:
        """Take one event into account; False when it repeats a step already seen (an async
        retry that published it again), so a watcher should not be shown it."""
        if event.event == "queued" and event.data:
            self.steps = int(json.loads(event.data)["steps"])
        elif event.event == "progress" and event.data:
            step = int(json.loads(event.data)["step"])
            if step <= self.last_step:
                return False
            self.last_step = step
        elif event.event in FINAL:
            if self.final is not None:
                return False
            self.final = event.event
        return True
