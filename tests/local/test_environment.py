"""One execution environment: the process Lambda would start, its variables, its process group,
its output, and how it stops."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.local import environment as environment_module
from lambda_sse.local.environment import Environment, LocalStateError
from lambda_sse.local.model import FunctionConfig
from lambda_sse.local.runtimes import RuntimeUnavailable
from tests.support.execution import FUNCTIONS, Recorder, alive, bootstrap_fn, event

pytestmark = pytest.mark.anyio
LIMIT = 30


@asynccontextmanager
async def started(fn: FunctionConfig, **kw: Any) -> AsyncIterator[Environment]:
    env = Environment(fn, **kw)
    try:
        async with asyncio.timeout(LIMIT):
            failure = await env.start()
            assert failure is None, failure
            yield env
    finally:
        await env.stop(grace=1.0)


async def invoke(env: Environment, payload: bytes, request_id: str) -> Any:
    inv = env.submit(payload, request_id=request_id, deadline_ms=int(time.time() * 1000) + 5000)
    body = b"".join([c async for c in inv.body()])
    outcome = await inv.outcome()
    env.release(inv)
    assert outcome.status == "success", outcome
    return json.loads(body)


async def test_the_process_sees_lambdas_variables_and_runs_in_the_code_dir() -> None:
    fn = bootstrap_fn("envcheck", memory_size=333, environment={"GREETING": "hi"})
    async with started(fn, region="ap-south-1") as env:
        doc = await invoke(env, event(action="env"), "req-1")
        assert env.init_duration_ms is not None
        assert env.init_duration_ms > 0
        assert env.state == "ready"
    seen = doc["env"]
    assert seen["AWS_LAMBDA_RUNTIME_API"] == env.server.address
    assert seen["AWS_LAMBDA_FUNCTION_NAME"] == "envcheck"
    assert seen["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "333"
    assert seen["AWS_LAMBDA_LOG_STREAM_NAME"] == env.log_stream
    assert seen["AWS_REGION"] == "ap-south-1"
    assert seen["GREETING"] == "hi"
    assert "AWS_EXECUTION_ENV" not in seen  # provided.*
    assert doc["cwd"] == str(FUNCTIONS / "bootstrap_py")
    assert env.function_arn == "arn:aws:lambda:ap-south-1:000000000000:function:envcheck"


async def test_stop_kills_the_whole_process_group() -> None:
    async with started(bootstrap_fn()) as env:
        doc = await invoke(env, event(action="spawn_child"), "req-1")
        child = doc["event"]["child"]
        assert alive(child)
        pid = env.pid
        await env.stop(grace=0.5)
        assert env.state == "dead"
    assert pid is not None
    assert not alive(pid)
    for _ in range(100):  # the orphan is reaped by init shortly after SIGKILL
        if not alive(child):
            break
        await asyncio.sleep(0.02)
    assert not alive(child)


async def test_function_output_is_forwarded_line_by_line_with_the_request() -> None:
    rec = Recorder()
    async with started(bootstrap_fn(), sink=rec) as env:
        await invoke(env, event(action="echo"), "req-42")
        async with asyncio.timeout(LIMIT):  # stdout is read concurrently: wait for its line
            while "handled req-42" not in rec.lines_for("req-42"):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    assert "init done" in rec.texts("output")
    assert "handled req-42" in rec.lines_for("req-42")
    assert all(r.function == "boot" for r in rec.records)


async def test_exit_while_invoking_aborts_with_runtime_exit_error() -> None:
    rec = Recorder()
    async with started(bootstrap_fn(), sink=rec) as env:
        inv = env.submit(event(action="crash"), request_id="req-x", deadline_ms=0)
        outcome = await inv.outcome()
        assert await env.wait_exit() == 3
    assert outcome.status == "crash"
    assert outcome.error_type == "Runtime.ExitError"
    assert json.loads(outcome.error_body or b"{}") == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: req-x Error: Runtime exited with error: exit status 3",
    }
    assert any("Runtime exited with error: exit status 3" in t for t in rec.texts("platform"))


async def test_exit_during_init_is_an_init_error(tmp_path: Path) -> None:
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_text("#!/bin/sh\necho starting\nexit 4\n")
    bootstrap.chmod(0o755)
    env = Environment(bootstrap_fn(code_dir=tmp_path))
    try:
        async with asyncio.timeout(LIMIT):
            failure = await env.start()
    finally:
        await env.stop(0.1)
    assert failure is not None
    assert (failure.status, failure.error_type) == ("init_error", "Runtime.ExitError")
    assert b"exit status 4" in (failure.error_body or b"")
    assert env.state == "dead"


async def test_a_bootstrap_that_is_not_a_program_is_an_invalid_entrypoint(tmp_path: Path) -> None:
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_bytes(b"\x00\x01 not an executable format")
    bootstrap.chmod(0o755)
    env = Environment(bootstrap_fn(code_dir=tmp_path))
    try:
        failure = await asyncio.wait_for(env.start(), LIMIT)
    finally:
        await env.stop(0.1)
    assert failure is not None
    assert failure.error_type == "Runtime.InvalidEntrypoint"


async def test_unavailable_runtime_raises_config_error_and_closes_the_server(
    tmp_path: Path,
) -> None:
    env = Environment(bootstrap_fn(code_dir=tmp_path))
    with pytest.raises(RuntimeUnavailable):
        await asyncio.wait_for(env.start(), LIMIT)
    assert env.state == "dead"
    with pytest.raises(LocalStateError):
        await env.start()


async def test_submit_before_ready_is_refused() -> None:
    env = Environment(bootstrap_fn())
    with pytest.raises(LocalStateError, match="not ready"):
        env.submit(b"{}", request_id="r", deadline_ms=0)


def test_kill_all_at_interpreter_exit_leaves_no_process(tmp_path: Path) -> None:
    """A program that starts an environment and exits without stopping it (as after Ctrl-C)
    leaves no runtime process behind: the atexit hook kills the group."""
    script = tmp_path / "leave.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, sys
            sys.path[:0] = {[str(Path(__file__).resolve().parents[2])]!r}
            from tests.support.execution import bootstrap_fn
            from lambda_sse.local.environment import Environment

            async def main():
                env = Environment(bootstrap_fn(), sink=lambda r: None)
                assert await env.start() is None
                print(env.pid, flush=True)

            asyncio.run(main())
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_runtime_dies_with_a_killed_emulator(tmp_path: Path) -> None:
    """SIGKILL runs no atexit hook: the kernel's parent-death signal still stops the runtime."""
    script = tmp_path / "die.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, os, signal, sys
            sys.path[:0] = {[str(Path(__file__).resolve().parents[2])]!r}
            from tests.support.execution import bootstrap_fn
            from lambda_sse.local.environment import Environment

            async def main():
                # A runtime busy in its init, away from any socket, notices nothing by itself.
                fn = bootstrap_fn(environment={{"SLOW_INIT": "30"}})
                env = Environment(fn, sink=lambda r: None)
                task = asyncio.ensure_future(env.start())
                for _ in range(500):
                    if env.pid is not None:
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.3)
                print(env.pid, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

            asyncio.run(main())
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -9, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid)


async def test_kill_all_kills_live_environments_and_forgets_them() -> None:
    env = Environment(bootstrap_fn())
    try:
        assert await asyncio.wait_for(env.start(), LIMIT) is None
        pid = env.pid
        assert pid in environment_module._LIVE_GROUPS
        environment_module.kill_all()
        assert await asyncio.wait_for(env.wait_exit(), LIMIT) == -9
        assert pid not in environment_module._LIVE_GROUPS
    finally:
        await env.stop(0.1)


async def test_cancelling_start_leaves_no_process() -> None:
    env = Environment(bootstrap_fn(environment={"SLOW_INIT": "30"}))
    task = asyncio.ensure_future(env.start())
    async with asyncio.timeout(LIMIT):
        while env.pid is None:  # noqa: ASYNC110 - the spawn announces nothing
            await asyncio.sleep(0.01)
    pid = env.pid
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert env.state == "dead"
    assert not alive(pid)


async def test_release_drops_recorded_bodies_and_requests_are_not_recorded() -> None:
    async with started(bootstrap_fn()) as env:
        for i in range(40):  # each invocation makes two requests: GET /next, POST /response
            inv = env.submit(
                event(action="stream", chunks=2, size=1000),
                request_id=f"req-{i}",
                deadline_ms=int(time.time() * 1000) + 5000,
            )
            body = b"".join([c async for c in inv.body()])
            assert len(body) == 2000
            assert (await inv.outcome()).status == "success"
            env.release(inv)
            assert inv.chunks == []
        assert not env.server.recording  # no hooks: requests leave nothing behind
