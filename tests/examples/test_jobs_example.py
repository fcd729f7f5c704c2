"""The jobs example through the real ``lambda-sse dev`` (no options: channels in the project's
SQLite file, the worker started through the emulator's Lambda Invoke API), read with httpx;
plus the feed's de-duplication on a channel in memory."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lambda_sse.channels import close_backends_async, open_channel
from lambda_sse.sse import ServerSentEvent
from tests.examples.devserver import EXAMPLES, DevServer, copy_example, dev_server, read_sse

JOBS = EXAMPLES / "jobs"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    tmp = tmp_path_factory.mktemp("jobs")
    project = copy_example("jobs", tmp)
    with dev_server(project, tmp) as found:
        yield found


def start(server: DevServer, steps: int, interval_ms: int, base: str | None = None) -> str:
    reply = httpx.post(
        f"{base or server.rest + '/dev'}/jobs",
        json={"steps": steps, "interval_ms": interval_ms},
        timeout=30,
    )
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body == {"id": body["id"], "events": f"/jobs/{body['id']}/events"}
    job_id: str = body["id"]
    return job_id


def feed(server: DevServer, job_id: str, last: str = "") -> list[ServerSentEvent]:
    headers = {"Last-Event-ID": last} if last else {}
    read = read_sse(f"{server.rest}/dev/jobs/{job_id}/events", headers=headers, timeout=60)
    assert read.status == 200
    assert read.headers["content-type"].startswith("text/event-stream")
    return [a.event for a in read.arrivals]


def steps_of(events: list[ServerSentEvent]) -> list[int]:
    return [json.loads(e.data or "")["step"] for e in events if e.event == "progress"]


@pytest.mark.slow
def test_a_job_runs_in_the_worker_and_its_feed_replays_and_resumes(server: DevServer) -> None:
    job_id = start(server, 5, 100)
    events = feed(server, job_id)
    assert [e.event for e in events] == ["queued"] + ["progress"] * 5 + ["done"]
    assert json.loads(events[0].data or "") == {"id": job_id, "steps": 5, "interval_ms": 100}
    assert json.loads(events[1].data or "") == {
        "step": 1, "of": 5, "percent": 20, "message": "Step 1 of 5 done",
    }  # fmt: skip
    assert steps_of(events) == [1, 2, 3, 4, 5]
    assert json.loads(events[-1].data or "") == {
        "steps": 5, "percent": 100, "message": "All steps done",
    }  # fmt: skip
    ids = [int(e.id or "") for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    # Resumed after step 2: the rest, once; after done: nothing (and the stream ends).
    assert steps_of(feed(server, job_id, events[2].id or "")) == [3, 4, 5]
    assert feed(server, job_id, events[-1].id or "") == []
    # An id this job never gave: the whole feed again, not an empty or endless stream.
    assert steps_of(feed(server, job_id, "999999")) == [1, 2, 3, 4, 5]
    # The console said where the channels live instead of the configured table.
    assert "api, worker name a DynamoDB table on AWS" in server.output()
    assert ".lambda-sse/channels.db" in server.output()


@pytest.mark.slow
def test_the_function_url_serves_the_same_feed(server: DevServer) -> None:
    job_id = start(server, 2, 50, base=server.url(1))
    read = read_sse(f"{server.url(1)}/jobs/{job_id}/events", timeout=60)
    assert steps_of([a.event for a in read.arrivals]) == [1, 2]
    page = httpx.get(server.url(1) + "/", timeout=30)
    assert page.status_code == 200
    assert "EventSource" in page.text


@pytest.mark.parametrize(
    "body",
    [
        {"steps": 0, "interval_ms": 10},
        {"steps": 1001, "interval_ms": 10},
        {"steps": "3", "interval_ms": 10},
        {"steps": 3, "interval_ms": -1},
        {"steps": 3},
        {"steps": 3, "interval_ms": 10, "priority": "high"},
        [1, 2],
    ],
)
def test_bad_job_requests_get_422_and_start_nothing(server: DevServer, body: Any) -> None:
    reply = httpx.post(f"{server.rest}/dev/jobs", json=body, timeout=30)
    assert reply.status_code == 422
    assert reply.json()["detail"]
    assert "Invoke/Event" not in server.output().split("\n")[-1]


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job", "A" * 32])
def test_an_unknown_job_is_a_404_json_not_an_empty_stream(server: DevServer, job_id: str) -> None:
    reply = httpx.get(f"{server.rest}/dev/jobs/{job_id}/events", timeout=30)
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"error": "no such job", "id": job_id}


@pytest.mark.slow
def test_a_crash_is_retried_and_no_step_is_shown_twice(tmp_path: Path) -> None:
    """The worker process dies right after publishing step 3 (as an out-of-memory kill would);
    the emulator retries the Event invocation as Lambda does (delays scaled down), and the
    retry carries on after step 3."""
    project = copy_example("jobs", tmp_path, environment={"JOBS_CRASH_AFTER_STEP": "3"})
    with dev_server(project, tmp_path, args=["--async-delay-scale", "0.01"]) as server:
        job_id = start(server, 6, 50)
        events = feed(server, job_id)
        assert steps_of(events) == [1, 2, 3, 4, 5, 6]
        assert events[-1].event == "done"
        deadline = time.monotonic() + 10
        while server.output().count("[worker] START") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.output()
    assert log.count("[worker] START") == 2, log  # the first attempt and one retry


@pytest.mark.slow
def test_a_failing_step_publishes_failed_and_ends_the_feed(tmp_path: Path) -> None:
    project = copy_example("jobs", tmp_path, environment={"JOBS_FAIL_AT_STEP": "2"})
    with dev_server(project, tmp_path) as server:
        job_id = start(server, 4, 20)
        events = feed(server, job_id)
    assert [e.event for e in events] == ["queued", "progress", "failed"]
    assert json.loads(events[-1].data or "") == {"reason": "step 2 could not be done", "step": 2}


# -- the feed's rules, in process ----------------------------------------------------------------


@pytest.fixture
def jobs_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(JOBS))
    for name in ("app", "jobstate"):
        sys.modules.pop(name, None)
    # The example's modules import each other by plain name, as Lambda's /var/task does.
    yield importlib.import_module("app")
    for name in ("app", "jobstate"):
        sys.modules.pop(name, None)


@pytest.mark.anyio
async def test_a_step_published_twice_is_shown_once_even_across_a_resume(jobs_app: Any) -> None:
    """Lambda may deliver one Event invocation twice: two workers then publish the same steps.
    The feed shows each step once, also to a client that resumes between the copies."""
    jobstate = importlib.import_module("jobstate")
    queued_event, progress_event, done_event = (
        jobstate.queued_event,
        jobstate.progress_event,
        jobstate.done_event,
    )
    channel = open_channel("jobs/dup", "memory://dedup")
    ids = [await channel.publish(queued_event("dup", 3, 0))]
    for step in (1, 2, 1, 2, 3, 3):
        ids.append(await channel.publish(progress_event(step, 3)))
    ids.append(await channel.publish(done_event(3)))
    ids.append(await channel.publish(done_event(3)))
    await channel.end()

    async def shown(last: str) -> list[tuple[str | None, int | None]]:
        out = []
        async for e in jobs_app.job_events(channel, last):
            data = json.loads(e.data or "")
            out.append((e.event, data.get("step")))
        return out

    everything = [("queued", None), ("progress", 1), ("progress", 2), ("progress", 3)]
    assert await shown("") == [*everything, ("done", None)]
    # Resumed after the first step 2: the copies of 1 and 2 that follow are still repeats.
    assert await shown(ids[2]) == [("progress", 3), ("done", None)]
    assert await asyncio.wait_for(shown(ids[-2]), 5) == []
    await close_backends_async()


@pytest.mark.slow
def test_a_worker_that_cannot_be_started_fails_the_job_visibly(tmp_path: Path) -> None:
    project = copy_example("jobs", tmp_path)
    config_path = project / "serverless.yml"
    config = yaml.safe_load(config_path.read_text())
    config["functions"]["api"]["environment"]["WORKER_FUNCTION"] = "no-such-worker"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    with dev_server(project, tmp_path) as server:
        reply = httpx.post(
            f"{server.rest}/dev/jobs", json={"steps": 2, "interval_ms": 0}, timeout=30
        )
        assert reply.status_code == 503
        body = reply.json()
        assert "ResourceNotFoundException" in body["error"]
        events = feed(server, body["id"])
    assert [e.event for e in events] == ["queued", "failed"]
    assert "could not be started" in json.loads(events[-1].data or "")["reason"]
