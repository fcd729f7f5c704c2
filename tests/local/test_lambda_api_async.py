"""Asynchronous invocation: AWS's retry delays, MaximumRetryAttempts, MaximumEventAgeInSeconds
and throttle backoff, on an injected clock (hours of retries in milliseconds); a crashing
function does not stop the queue. The functions run for real in the pool."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.local.config import load_project
from lambda_sse.local.lambda_api.async_queue import AsyncQueue, AsyncResult
from lambda_sse.local.limiter import TokenBucket
from lambda_sse.local.model import (
    AsyncConfig,
    Invocation,
    InvocationOutcome,
    ProjectConfig,
    ResponseHead,
    Throttled,
)
from lambda_sse.local.pool import Pool
from tests.support.execution import Recorder
from tests.support.lambda_dev import PROJECTS

pytestmark = pytest.mark.anyio


class FakeTime:
    """A clock that only moves when the queue sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def configured(**async_config: int) -> ProjectConfig:
    project = load_project(PROJECTS / "invoke")
    flaky = replace(project.function("flaky"), async_config=AsyncConfig(**async_config))
    others = [fn for fn in project.functions if fn.name != "flaky"]
    return replace(project, functions=(flaky, *others))


async def run_events(
    project: ProjectConfig, events: Sequence[tuple[str, dict[str, Any]]], time: FakeTime
) -> list[AsyncResult]:
    records = Recorder()
    async with Pool(project, limits=False, sink=records, base_env=dict(os.environ)) as pool:
        queue = AsyncQueue(pool, sink=records, clock=time.clock, sleep=time.sleep)
        for i, (name, payload) in enumerate(events):
            queue.submit(project.function(name), json.dumps(payload).encode(), f"rid-{i}")
        await queue.drain()
    return list(queue.results)


async def test_two_retries_after_one_then_two_minutes(tmp_path: Path) -> None:
    time = FakeTime()
    log = tmp_path / "attempts"
    (result,) = await run_events(configured(), [("flaky", {"log": str(log)})], time)
    assert (result.condition, result.attempts, result.error_type) == (
        "RetriesExhausted",
        3,
        "Function.RuntimeError",
    )
    assert time.sleeps == [60.0, 120.0]
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["rid-0"] * 3


async def test_maximum_retry_attempts_from_the_config(tmp_path: Path) -> None:
    project = load_project(PROJECTS / "invoke")
    assert project.function("once").async_config.maximum_retry_attempts == 1  # serverless.yml
    time = FakeTime()
    (result,) = await run_events(project, [("once", {"log": str(tmp_path / "a")})], time)
    assert (result.condition, result.attempts) == ("RetriesExhausted", 2)
    assert time.sleeps == [60.0]
    time = FakeTime()
    (result,) = await run_events(
        configured(maximum_retry_attempts=0), [("flaky", {"log": str(tmp_path / "b")})], time
    )
    assert (result.condition, result.attempts, time.sleeps) == ("RetriesExhausted", 1, [])


async def test_an_event_older_than_its_maximum_age_is_dropped(tmp_path: Path) -> None:
    time = FakeTime()
    (result,) = await run_events(
        configured(maximum_event_age=100), [("flaky", {"log": str(tmp_path / "a")})], time
    )
    # Attempt 1 at age 0, attempt 2 at age 60; at age 180 the third would be too old.
    assert (result.condition, result.attempts) == ("EventAgeExceeded", 2)
    assert time.sleeps == [60.0, 120.0]


async def test_a_crashing_function_is_retried_and_the_queue_goes_on(tmp_path: Path) -> None:
    time = FakeTime()
    crash = {"log": str(tmp_path / "crash"), "crash": True, "succeed_on": 3}
    results = await run_events(configured(), [("flaky", crash), ("echo", {"after": "crash"})], time)
    by_id = {r.request_id: r for r in results}
    assert (by_id["rid-0"].condition, by_id["rid-0"].attempts) == ("Success", 3)
    assert by_id["rid-1"].condition == "Success"
    assert len((tmp_path / "crash").read_text().splitlines()) == 3


async def test_delay_scale_shortens_the_delays(tmp_path: Path) -> None:
    project = configured()
    time = FakeTime()
    records = Recorder()
    async with Pool(project, limits=False, sink=records, base_env=dict(os.environ)) as pool:
        queue = AsyncQueue(pool, sink=records, clock=time.clock, sleep=time.sleep, delay_scale=0.01)
        queue.submit(
            project.function("flaky"), json.dumps({"log": str(tmp_path / "a")}).encode(), "r"
        )
        await queue.drain()
    assert time.sleeps == pytest.approx([0.6, 1.2])
    assert any("retry 1 of 2 in 0.6 s (AWS waits 60 s)" in r.text for r in records.records)


# -- throttles, with a scripted invoker (the pool's throttling is tested with boto3) -----------


class ThrottlingInvoker:
    """Throttles the first ``throttles`` invocations, then succeeds."""

    def __init__(self, throttles: int) -> None:
        self.left = throttles

    async def invoke(
        self,
        function: str,
        event: bytes,
        *,
        buckets: Sequence[TokenBucket] = (),
        request_id: str | None = None,
        client_context: str | None = None,
    ) -> Invocation:
        if self.left:
            self.left -= 1
            raise Throttled("Rate Exceeded")
        return Done(request_id or "")


class Done:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id

    async def head(self) -> ResponseHead | None:
        return ResponseHead(streaming=False, content_type=None)

    async def body(self) -> AsyncIterator[bytes]:
        yield b"null"

    async def outcome(self) -> InvocationOutcome:
        return InvocationOutcome(status="success")

    def detach(self) -> None:
        pass


async def test_throttles_back_off_from_1_s_to_5_min_until_the_event_is_too_old() -> None:
    project = configured(maximum_event_age=3600)
    time = FakeTime()
    queue = AsyncQueue(ThrottlingInvoker(100), clock=time.clock, sleep=time.sleep, sink=Recorder())
    queue.submit(project.function("flaky"), b"{}", "r")
    await queue.drain()
    (result,) = queue.results
    assert result.condition == "EventAgeExceeded"
    assert (result.attempts, result.error_type) == (0, None)
    assert time.sleeps[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert set(time.sleeps[9:]) == {300.0}
    assert sum(time.sleeps[:-1]) <= 3600 < sum(time.sleeps)


async def test_a_throttled_event_runs_once_capacity_frees() -> None:
    project = configured()
    time = FakeTime()
    queue = AsyncQueue(ThrottlingInvoker(3), clock=time.clock, sleep=time.sleep, sink=Recorder())
    queue.submit(project.function("flaky"), b"{}", "r")
    await queue.drain()
    (result,) = queue.results
    assert (result.condition, result.attempts, result.throttles) == ("Success", 1, 3)
    assert time.sleeps == [1, 2, 4]
