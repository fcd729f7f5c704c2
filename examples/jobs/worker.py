"""The worker: a plain Python Lambda handler, started by ``POST /jobs`` with an asynchronous
``Invoke`` (``InvocationType="Event"``), that does a job's steps and publishes its progress to
the job's channel.

Lambda retries an asynchronous invocation that fails (twice, by default) and may deliver one
more than once (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html), so the
worker first reads what the channel already holds and carries on after the last step published:
a retry after a crash neither redoes a step nor publishes it twice. A job that is already
finished is left alone. A step that raises publishes ``failed`` with the reason and ends the
channel (no retry: the error is the job's, not the environment's).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from jobstate import (
    JobState,
    channel_name,
    done_event,
    failed_event,
    progress_event,
    valid_job_id,
)

from lambda_sse.channels import Channel, open_channel
from lambda_sse.errors import ChannelEndedError

# Test hooks, unset in real use: crash the process (as an out-of-memory kill would) right after
# publishing this step, or make this step raise.
CRASH_AFTER_STEP = int(os.environ.get("JOBS_CRASH_AFTER_STEP", "0"))
FAIL_AT_STEP = int(os.environ.get("JOBS_FAIL_AT_STEP", "0"))


def replay(channel: Channel) -> JobState:
    """The job's state from everything its channel holds now (read without waiting)."""
    state = JobState()
    for event in channel.history_sync():
        state.see(event)
    return state


def do_step(step: int, interval: float) -> None:
    """One step of real work would go here."""
    time.sleep(interval)
    if step == FAIL_AT_STEP:
        raise RuntimeError(f"step {step} could not be done")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id = str(event.get("id", ""))
    if not valid_job_id(job_id):
        return {"error": f"not a job id: {job_id!r}"}  # nothing to retry
    steps, interval = int(event["steps"]), int(event["interval_ms"]) / 1000
    channel = open_channel(channel_name(job_id))
    state = replay(channel)
    if state.final is not None:
        return {"id": job_id, "status": state.final, "note": "already finished"}
    step = state.last_step
    try:
        for step in range(state.last_step + 1, steps + 1):
            do_step(step, interval)
            channel.publish_sync(progress_event(step, steps))
            if step == CRASH_AFTER_STEP:
                os._exit(1)  # the retry resumes after this step, so it crashes only once
    except ChannelEndedError:  # someone ended the channel (`lambda-sse publish --end`): stop
        return {"id": job_id, "status": "ended", "note": "the channel was ended"}
    except Exception as exc:
        channel.publish_sync(failed_event(str(exc) or type(exc).__name__, step))
        channel.end_sync()
        print(json.dumps({"job": job_id, "status": "failed", "reason": str(exc)}))
        return {"id": job_id, "status": "failed"}
    channel.publish_sync(done_event(steps))
    channel.end_sync()
    return {"id": job_id, "status": "done"}
