"""The pool through real processes on loopback: warm reuse, cold starts, throttling, Managed
Instances concurrency, timeouts, crashes, init errors, reaping, reload, detach and REPORT lines."""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.errors import ConfigError
from lambda_sse.local.model import FunctionConfig, ThrottledError
from lambda_sse.local.pool import Pool, UnknownFunctionError
from tests.support.execution import Recorder, alive, bootstrap_fn, event, run

pytestmark = pytest.mark.anyio
LIMIT = 30  # seconds: no test waits longer on anything


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0  # exact in binary, so idle arithmetic has no rounding

    def __call__(self) -> float:
        return self.now


async def wait_until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Poll a condition that no event announces (a process' death), bounded in time."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - nothing to wait on but /proc
            await asyncio.sleep(0.02)


@asynccontextmanager
async def make_pool(*fns: FunctionConfig, **kw: Any) -> AsyncIterator[Pool]:
    pool = Pool(list(fns), **kw)
    try:
        async with asyncio.timeout(LIMIT):
            yield pool
    finally:
        await pool.close()


async def test_warm_reuse_runs_the_second_invocation_in_the_same_process() -> None:
    rec = Recorder()
    async with make_pool(bootstrap_fn(), sink=rec) as pool:
        first = await pool.invoke("boot", event(action="echo"))
        r1 = await run(first)
        second = await pool.invoke("boot", event(action="echo"))
        r2 = await run(second)
    assert r1.outcome.status == r2.outcome.status == "success"
    assert r1.json()["pid"] == r2.json()["pid"] == first.pid == second.pid
    assert (first.cold_start, second.cold_start) == (True, False)
    assert r1.head.streaming is False
    # The function's own output is forwarded, tagged with its invocation.
    assert f"handled {second.request_id}" in rec.lines_for(second.request_id)
    assert not alive(first.pid or 0)  # close() stopped it


async def test_chunks_arrive_through_the_pool_as_the_function_sends_them() -> None:
    async with make_pool(bootstrap_fn()) as pool:
        await run(await pool.invoke("boot", event(action="echo")))  # warm up
        inv = await pool.invoke("boot", event(action="stream", chunks=4, interval=0.2))
        r = await run(inv)
    assert r.head.streaming is True
    assert [c for _, c in r.chunks] == [b"chunk %d\n" % i for i in range(4)]
    # Sent 200 ms apart: buffered delivery would hand them over together at the end. Each
    # arrives on its own (a loaded machine may bunch two a little, never all of them).
    arrivals = [t for t, _ in r.chunks]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert arrivals[-1] - arrivals[0] > 0.45, gaps
    assert all(g > 0.03 for g in gaps), gaps
    assert r.outcome.status == "success"


async def test_reserved_concurrency_throttles_beyond_the_cap() -> None:
    async with make_pool(
        bootstrap_fn(reserved_concurrency=1), bootstrap_fn("off", reserved_concurrency=0)
    ) as pool:
        busy = await pool.invoke("boot", event(action="sleep", seconds=0.5))
        with pytest.raises(ThrottledError, match="reserved concurrency"):
            await pool.invoke("boot", event(action="echo"))
        assert (await run(busy)).outcome.status == "success"
        again = await run(await pool.invoke("boot", event(action="echo")))
        assert again.outcome.status == "success"
        with pytest.raises(ThrottledError):
            await pool.invoke("off", event(action="echo"))


async def test_environments_per_function_are_capped() -> None:
    from lambda_sse.local.pool import DEFAULT_MAX_ENVIRONMENTS

    assert DEFAULT_MAX_ENVIRONMENTS >= 8
    rec = Recorder()
    async with make_pool(bootstrap_fn(), max_environments=2, sink=rec) as pool:
        busy = [await pool.invoke("boot", event(action="sleep", seconds=0.5)) for _ in range(2)]
        with pytest.raises(ThrottledError, match="2 environments"):
            await pool.invoke("boot", event(action="echo"))
        assert any("2 environments" in text for text in rec.texts("warning"))
        assert [(await run(inv)).outcome.status for inv in busy] == ["success"] * 2
        again = await run(await pool.invoke("boot", event(action="echo")))
        assert again.outcome.status == "success"
        assert len(pool.environments("boot")) == 2  # a warm one took it: no third process


async def test_managed_instances_run_several_invocations_in_one_process() -> None:
    async with make_pool(bootstrap_fn(max_concurrency=3)) as pool:
        await run(await pool.invoke("boot", event(action="echo")))  # cold start out of the way
        invs = [await pool.invoke("boot", event(action="sleep", seconds=0.6)) for _ in range(3)]
        results = await asyncio.gather(*(run(i) for i in invs))
        assert len(pool.environments("boot")) == 1
        # A fourth at once needs a second environment.
        more = [await pool.invoke("boot", event(action="sleep", seconds=0.3)) for _ in range(4)]
        more_results = await asyncio.gather(*(run(i) for i in more))
        assert len(pool.environments("boot")) == 2
    pids = {r.json()["pid"] for r in results}
    threads = {r.json()["thread"] for r in results}
    assert len(pids) == 1
    assert len(threads) == 3  # three GET /next in flight in one process
    # All three ran at once: each started before any finished (the overlap itself, not a
    # wall-clock bound a loaded machine could miss).
    spans = [(r.json()["event"]["started"], r.json()["event"]["finished"]) for r in results]
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    assert len({r.json()["pid"] for r in more_results}) == 2


async def test_pool_wide_max_concurrency_override() -> None:
    async with make_pool(bootstrap_fn(), max_concurrency=2) as pool:
        assert pool.function("boot").max_concurrency == 2
        invs = [await pool.invoke("boot", event(action="sleep", seconds=0.3)) for _ in range(2)]
        results = await asyncio.gather(*(run(i) for i in invs))
    assert len({r.json()["pid"] for r in results}) == 1


async def test_timeout_kills_the_environment_and_cuts_the_stream() -> None:
    rec = Recorder()
    async with make_pool(bootstrap_fn(timeout=1.0), sink=rec) as pool:
        await run(await pool.invoke("boot", event(action="echo")))
        inv = await pool.invoke("boot", event(action="stream", chunks=100, interval=0.2))
        started = time.monotonic()
        r = await run(inv)
        cut_after = time.monotonic() - started
        pid = inv.pid
        assert pid is not None
        after = await pool.invoke("boot", event(action="echo"))
        r_after = await run(after)
    assert r.outcome.status == "timeout"
    assert r.outcome.error_type == "Sandbox.Timeout"
    assert 0.9 < cut_after < 3.0
    assert 2 <= len(r.chunks) <= 7  # some chunks, then the cut
    assert not alive(pid)
    assert after.cold_start is True
    assert r_after.json()["pid"] != pid
    lines = rec.lines_for(inv.request_id)
    assert f"{inv.request_id} Task timed out after 1.00 seconds" in rec.texts("platform")
    report = next(line for line in lines if line.startswith("REPORT"))
    assert report.endswith("Status: timeout")


async def test_crash_mid_stream_is_runtime_exit_error() -> None:
    rec = Recorder()
    async with make_pool(bootstrap_fn(), sink=rec) as pool:
        inv = await pool.invoke("boot", event(action="crash_mid_stream", after=2))
        r = await run(inv)
        pid = inv.pid
        r2 = await run(await pool.invoke("boot", event(action="echo")))
    assert r.head.streaming is True
    assert r.body == b"chunk 0\nchunk 1\n"
    assert r.outcome.status == "crash"
    assert r.outcome.error_type == "Runtime.ExitError"
    assert b"Runtime exited with error: exit status 7" in (r.outcome.error_body or b"")
    assert r2.json()["pid"] != pid
    assert any("Error Type: Runtime.ExitError" in t for t in rec.lines_for(inv.request_id))


async def test_crash_before_responding() -> None:
    async with make_pool(bootstrap_fn()) as pool:
        r = await run(await pool.invoke("boot", event(action="crash")))
    assert r.head is None
    assert r.chunks == []
    assert (r.outcome.status, r.outcome.error_type) == ("crash", "Runtime.ExitError")
    assert b"exit status 3" in (r.outcome.error_body or b"")


async def test_function_error_keeps_the_environment() -> None:
    async with make_pool(bootstrap_fn()) as pool:
        bad = await pool.invoke("boot", event(action="error"))
        r = await run(bad)
        good = await pool.invoke("boot", event(action="echo"))
        r2 = await run(good)
    assert r.head is None
    assert (r.outcome.status, r.outcome.error_type) == ("function_error", "Function.Boom")
    assert r2.json()["pid"] == bad.pid


async def test_init_error_is_reported_and_retried_on_the_next_invocation() -> None:
    rec = Recorder()
    fn = bootstrap_fn(environment={"FAIL_INIT": "1"})
    async with make_pool(fn, sink=rec) as pool:
        first = await pool.invoke("boot", event(action="echo"))
        r = await run(first)
        second = await pool.invoke("boot", event(action="echo"))
        r2 = await run(second)
        assert pool.environments("boot") == []
    assert r.head is None
    assert (r.outcome.status, r.outcome.error_type) == ("init_error", "Init.Broken")
    assert b"init failed on purpose" in (r.outcome.error_body or b"")
    assert r2.outcome.status == "init_error"
    assert second.cold_start is True


async def test_init_timeout() -> None:
    fn = bootstrap_fn(environment={"SLOW_INIT": "5"})
    async with make_pool(fn, init_timeout=0.5) as pool:
        inv = await pool.invoke("boot", event(action="echo"))
        r = await run(inv)
    assert (r.outcome.status, r.outcome.error_type) == ("init_error", "Sandbox.Timeout")


async def test_a_runtime_that_cannot_start_is_an_init_error_with_the_fix(tmp_path: Path) -> None:
    rec = Recorder()
    fn = bootstrap_fn(code_dir=tmp_path)  # no bootstrap file in it
    async with make_pool(fn, sink=rec) as pool:
        r = await run(await pool.invoke("boot", event()))
    assert (r.outcome.status, r.outcome.error_type) == ("init_error", "Runtime.InvalidEntrypoint")
    assert any("needs an executable named 'bootstrap'" in t for t in rec.texts("warning"))


async def test_unknown_function_is_a_config_error() -> None:
    async with make_pool(bootstrap_fn()) as pool:
        with pytest.raises(
            UnknownFunctionError, match=r"no function named 'nope' \(functions: boot\)"
        ):
            await pool.invoke("nope", b"{}")
    assert issubclass(UnknownFunctionError, ConfigError)


async def test_reaping_sends_sigterm_first(tmp_path: Path) -> None:
    clock = FakeClock()
    fn = bootstrap_fn(environment={"MARKER_DIR": str(tmp_path)})
    async with make_pool(fn, clock=clock, idle_timeout=600.0, grace=3.0) as pool:
        inv = await pool.invoke("boot", event(action="echo"))
        await run(inv)
        assert await pool.reap_idle() == 0  # not idle long enough
        clock.now += 599.0
        assert await pool.reap_idle() == 0
        clock.now += 1.0
        assert await pool.reap_idle() == 1
        assert pool.environments("boot") == []
    assert inv.pid is not None
    assert (tmp_path / f"sigterm-{inv.pid}").read_text() == "shutdown ran\n"
    assert not alive(inv.pid)


async def test_reaping_kills_after_the_grace_when_sigterm_is_ignored() -> None:
    clock = FakeClock()
    fn = bootstrap_fn(environment={"IGNORE_SIGTERM": "1"})
    async with make_pool(fn, clock=clock, idle_timeout=600.0, grace=0.3) as pool:
        inv = await pool.invoke("boot", event(action="echo"))
        await run(inv)
        env = pool.environments("boot")[0]
        clock.now += 600.0
        started = time.monotonic()
        assert await pool.reap_idle() == 1
        took = time.monotonic() - started
    assert 0.25 < took < 3.0
    assert env.returncode == -9
    assert not alive(inv.pid or 0)


async def test_reload_gives_new_environments_while_running_streams_finish(tmp_path: Path) -> None:
    fn = bootstrap_fn(environment={"MARKER_DIR": str(tmp_path)})
    async with make_pool(fn, grace=3.0) as pool:
        old = await pool.invoke("boot", event(action="echo"))
        await run(old)
        running = await pool.invoke("boot", event(action="stream", chunks=5, interval=0.1))
        assert await running.head() is not None
        pool.reload()
        new = await pool.invoke("boot", event(action="echo"))
        r_new = await run(new)
        r_running = await run(running)
        assert running.pid == old.pid
        # The old environment stops once its stream ended (SIGTERM, so shutdown code runs).
        assert old.pid is not None
        await wait_until(lambda: not alive(old.pid or 0))
    assert r_new.json()["pid"] != old.pid
    assert new.cold_start is True
    assert r_running.body == b"".join(b"chunk %d\n" % i for i in range(5))
    assert r_running.outcome.status == "success"
    assert (tmp_path / f"sigterm-{old.pid}").exists()


async def test_reload_with_new_config_applies_it() -> None:
    async with make_pool(bootstrap_fn()) as pool:
        await run(await pool.invoke("boot", event(action="echo")))
        pool.reload([bootstrap_fn(environment={"STAGE": "two"})])
        r = await run(await pool.invoke("boot", event(action="env")))
    assert r.json()["env"]["STAGE"] == "two"


async def test_detach_leaves_the_function_running_to_its_end(tmp_path: Path) -> None:
    rec = Recorder()
    marker = tmp_path / "done"
    async with make_pool(bootstrap_fn(), sink=rec) as pool:
        inv = await pool.invoke(
            "boot", event(action="stream", chunks=6, interval=0.1, marker=str(marker))
        )
        body = inv.body()
        first = await anext(body)
        inv.detach()
        await body.aclose()
        assert not marker.exists()  # still streaming
        outcome = await inv.outcome()
        # The runtime finished writing everything; its next poll proves it is free again.
        r = await run(await pool.invoke("boot", event(action="echo")))
    assert first == b"chunk 0\n"
    assert outcome.status == "success"
    assert marker.read_text() == f"finished {inv.request_id}\n"
    assert r.json()["pid"] == inv.pid
    lines = rec.lines_for(inv.request_id)
    assert any("client disconnected" in t for t in lines)
    # Billed to its end, as on AWS: the REPORT comes when the function finished, ~0.6 s in.
    report = next(t for t in lines if t.startswith("REPORT"))
    duration = float(report.split("Duration: ")[1].split(" ms")[0])
    assert duration > 450, report


async def test_report_lines_match_cloudwatch() -> None:
    rec = Recorder()
    async with make_pool(bootstrap_fn(memory_size=512), sink=rec) as pool:
        cold = await pool.invoke("boot", event(action="echo"))
        await run(cold)
        warm = await pool.invoke("boot", event(action="echo"))
        await run(warm)
    pattern = re.compile(
        r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<d>\d+\.\d\d) ms\t"
        r"Billed Duration: (?P<b>\d+) ms\tMemory Size: 512 MB\tMax Memory Used: (?P<m>\d+) MB"
        r"(\tInit Duration: (?P<i>\d+\.\d\d) ms)?$"
    )
    for inv, is_cold in ((cold, True), (warm, False)):
        lines = rec.lines_for(inv.request_id)
        platform = [t for t in lines if t.split(" ")[0] in ("START", "END", "REPORT")]
        assert platform[0] == f"START RequestId: {inv.request_id} Version: $LATEST"
        assert platform[1] == f"END RequestId: {inv.request_id}"
        match = pattern.match(platform[2])
        assert match is not None, platform[2]
        assert match["id"] == inv.request_id
        assert int(match["m"]) > 5  # a Python process' peak RSS, read from /proc
        assert (match["i"] is not None) is is_cold
        # Billed = ceil(duration + init) of the exact figures; the printed ones are rounded
        # to 0.01 ms each, so recomputing from them may land one below.
        exact = float(match["d"]) + (float(match["i"]) if match["i"] else 0.0)
        billed = int(match["b"])
        assert max(1, math.ceil(exact - 0.02)) <= billed <= max(1, math.ceil(exact + 0.02))


async def test_limits_shape_a_large_stream_and_can_be_turned_off() -> None:
    size = 512 * 1024
    chunks = 14  # 7 MiB: 1 MiB over Lambda's 6 MiB burst needs four 125 ms ticks
    timings: dict[bool, float] = {}
    for limits in (True, False):
        async with make_pool(bootstrap_fn(), limits=limits) as pool:
            await run(await pool.invoke("boot", event(action="echo")))
            inv = await pool.invoke("boot", event(action="stream", chunks=chunks, size=size))
            r = await run(inv)
            assert len(r.body) == size * chunks
            timings[limits] = r.chunks[-1][0] - r.chunks[0][0]
    assert timings[True] >= 0.375  # at least three full ticks after the burst
    assert timings[False] < timings[True]


async def test_close_stops_every_process_and_aborts_running_invocations() -> None:
    pool = Pool([bootstrap_fn(max_concurrency=2)], grace=0.5)
    try:
        async with asyncio.timeout(LIMIT):
            invs = [await pool.invoke("boot", event(action="sleep", seconds=20)) for _ in range(2)]
            await wait_until(lambda: all(i.pid for i in invs))
    finally:
        await pool.close()
    outcomes = [await i.outcome() for i in invs]
    assert {o.status for o in outcomes} == {"crash"}
    assert not alive(invs[0].pid or 0)
    with pytest.raises(Exception, match="closed"):
        await pool.invoke("boot", b"{}")


async def test_reload_without_a_function_removes_it() -> None:
    async with make_pool(bootstrap_fn(), bootstrap_fn("other")) as pool:
        inv = await pool.invoke("other", event(action="echo"))
        await run(inv)
        pool.reload([bootstrap_fn()])
        with pytest.raises(UnknownFunctionError, match="functions: boot"):
            await pool.invoke("other", b"{}")
        assert (await run(await pool.invoke("boot", event(action="echo")))).outcome.status == (
            "success"
        )
        await wait_until(lambda: not alive(inv.pid or 0))


async def test_a_front_doors_extra_bucket_is_applied_and_ignored_with_limits_off() -> None:
    from lambda_sse.local.limiter import TokenBucket

    timings: dict[bool, float] = {}
    for limits in (True, False):
        async with make_pool(bootstrap_fn(), limits=limits) as pool:
            await run(await pool.invoke("boot", event(action="echo")))
            # 1,000 bytes at once, then 1,000 per 125 ms tick: 3,000 bytes need two ticks.
            bucket = TokenBucket(burst=1000, rate=8000, clock=time.monotonic)
            inv = await pool.invoke(
                "boot", event(action="stream", chunks=3, size=1000), buckets=[bucket]
            )
            r = await run(inv)
            assert [len(c) for _, c in r.chunks] == [1000, 1000, 1000]
            timings[limits] = r.chunks[-1][0] - r.chunks[0][0]
    assert timings[True] >= 0.2
    assert timings[False] < 0.2


async def test_simultaneous_invocations_start_one_environment_each() -> None:
    async with make_pool(bootstrap_fn()) as pool:
        invs = [await pool.invoke("boot", event(action="sleep", seconds=0.2)) for _ in range(3)]
        results = await asyncio.gather(*(run(i) for i in invs))
        assert all(i.cold_start for i in invs)
        assert len(pool.environments("boot")) == 3
        # All three are warm now: three more reuse them, no new process.
        again = [await pool.invoke("boot", event(action="echo")) for _ in range(3)]
        await asyncio.gather(*(run(i) for i in again))
        assert not any(i.cold_start for i in again)
    assert len({r.json()["pid"] for r in results}) == 3
    assert {i.pid for i in again} <= {r.json()["pid"] for r in results}


async def test_close_during_a_cold_start_ends_the_invocation_and_the_process() -> None:
    pool = Pool([bootstrap_fn(environment={"SLOW_INIT": "30"})], grace=0.5)
    try:
        async with asyncio.timeout(LIMIT):
            inv = await pool.invoke("boot", event(action="echo"))
            await wait_until(lambda: any(e.pid for e in pool.environments("boot")))
            pid = pool.environments("boot")[0].pid
    finally:
        await pool.close()
    outcome = await asyncio.wait_for(inv.outcome(), LIMIT)
    assert outcome.status == "init_error"
    assert await inv.head() is None
    assert not alive(pid or 0)


async def test_close_right_after_invoke_leaves_nothing_open() -> None:
    pool = Pool([bootstrap_fn(environment={"SLOW_INIT": "30"})], grace=0.5)
    inv = await pool.invoke("boot", event(action="echo"))
    await asyncio.wait_for(pool.close(), LIMIT)
    outcome = await asyncio.wait_for(inv.outcome(), LIMIT)
    # Sandbox.Failure: the emulator stopped it; unclosed sockets would fail this test
    # (warnings are errors).
    assert outcome.error_type == "Sandbox.Failure"


async def test_invocations_waiting_on_a_failed_init_retry_with_a_fresh_environment() -> None:
    fn = bootstrap_fn(max_concurrency=2, environment={"FAIL_INIT": "1"})
    rec = Recorder()
    async with make_pool(fn, sink=rec) as pool:
        first = await pool.invoke("boot", event(action="echo"))
        second = await pool.invoke("boot", event(action="echo"))  # waits on the same init
        outcomes = [(await run(i)).outcome for i in (first, second)]
        assert pool.environments("boot") == []
    assert [o.error_type for o in outcomes] == ["Init.Broken", "Init.Broken"]
    assert first.cold_start
    assert second.cold_start  # its own retry, as the shared init failed
    assert sum("init error" in t for t in rec.texts("platform")) == 2


async def test_the_background_reaper_stops_idle_environments() -> None:
    async with make_pool(bootstrap_fn(), idle_timeout=0.2, grace=1.0) as pool:
        inv = await pool.invoke("boot", event(action="echo"))
        await run(inv)
        await wait_until(lambda: not pool.environments("boot"))
        await wait_until(lambda: not alive(inv.pid or 0))


def test_impossible_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="max concurrency must be at least 1"):
        Pool([bootstrap_fn()], max_concurrency=0)
    with pytest.raises(ConfigError, match="timeout must be a positive number of seconds"):
        Pool([bootstrap_fn(timeout=0)])


async def test_close_while_the_reaper_is_in_a_grace_period_leaves_no_process() -> None:
    fn = bootstrap_fn(environment={"IGNORE_SIGTERM": "1"})
    pool = Pool([fn], idle_timeout=0.1, grace=3.0)
    try:
        async with asyncio.timeout(LIMIT):
            inv = await pool.invoke("boot", event(action="echo"))
            await run(inv)
            # The reaper took it and sent SIGTERM, which it ignores: it waits out the grace.
            await wait_until(lambda: not pool.environments("boot"))
            assert alive(inv.pid or 0)
    finally:
        started = time.monotonic()
        await pool.close()  # cancels the reaper mid-grace; the stop itself goes on
        took = time.monotonic() - started
    assert not alive(inv.pid or 0)
    assert took < 5.0
