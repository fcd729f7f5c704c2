"""The pool hosts real runtime clients unchanged: lambda-sse's own runtime (streaming), AWS's
Python runtime client awslambdaric (buffered only) and AWS's Node.js client (streaming)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.local.model import FunctionConfig
from lambda_sse.local.pool import Pool
from lambda_sse.runtime.prelude import PreludeDecoder
from tests.conftest import NODE_RIC_HINT, require, require_tool
from tests.support.execution import (
    FUNCTIONS,
    NODE_RIC,
    WRAPPER,
    Recorder,
    alive,
    event,
    python_fn,
    run,
)

pytestmark = pytest.mark.anyio
LIMIT = 30


@asynccontextmanager
async def make_pool(*fns: FunctionConfig, **kw: Any) -> AsyncIterator[Pool]:
    pool = Pool(list(fns), **kw)
    try:
        async with asyncio.timeout(LIMIT):
            yield pool
    finally:
        await pool.close()


def split_prelude(body: bytes) -> tuple[dict[str, Any], bytes]:
    decoder = PreludeDecoder()
    rest = decoder.feed(body)
    assert decoder.metadata is not None
    return dict(decoder.metadata), rest


def stream_fn(**kw: Any) -> FunctionConfig:
    env = {**WRAPPER, **kw.pop("environment", {})}
    return python_fn("stream", "py_stream", "stream_app.stream", environment=env, **kw)


async def test_lambda_sse_runtime_streams_chunk_by_chunk_through_the_pool() -> None:
    async with make_pool(stream_fn()) as pool:
        first = await pool.invoke("stream", event(chunks=4, interval=0.2))
        r = await run(first)
        second = await pool.invoke("stream", event(chunks=1, interval=0.0))
        r2 = await run(second)
    assert r.outcome.status == "success", r.outcome
    assert r.head.streaming is True
    prelude, body = split_prelude(r.body)
    assert prelude["statusCode"] == 200
    assert prelude["headers"]["x-pid"] == str(first.pid)
    assert body.decode().count("tick ") == 4
    # Chunks arrive as written (200 ms apart), not all at once at the end.
    times = [t for t, c in r.chunks if b"tick " in c]
    assert len(times) == 4
    # Sent 200 ms apart: buffered delivery would hand them over together at the end. Each
    # arrives on its own (a loaded machine may bunch two a little, never all of them).
    arrivals = times
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert arrivals[-1] - arrivals[0] > 0.45, gaps
    assert all(g > 0.03 for g in gaps), gaps
    assert second.pid == first.pid  # warm
    assert r2.outcome.status == "success"


async def test_lambda_sse_runtime_on_shutdown_runs_on_reap(tmp_path: Path) -> None:
    async with make_pool(
        stream_fn(environment={"MARKER_DIR": str(tmp_path)}), idle_timeout=0.0, grace=5.0
    ) as pool:
        inv = await pool.invoke("stream", event(chunks=1, interval=0.0))
        await run(inv)
        assert await pool.reap_idle() == 1
    assert inv.pid is not None
    assert (tmp_path / f"sigterm-{inv.pid}").read_text() == "shutdown ran\n"


async def test_lambda_sse_runtime_detached_stream_runs_to_its_end(tmp_path: Path) -> None:
    marker = tmp_path / "finished"
    rec = Recorder()
    async with make_pool(stream_fn(), sink=rec) as pool:
        inv = await pool.invoke("stream", event(chunks=5, interval=0.1, marker=str(marker)))
        body = inv.body()
        await anext(body)
        inv.detach()
        await body.aclose()
        outcome = await inv.outcome()
    assert outcome.status == "success"
    assert marker.read_text() == f"finished {inv.request_id}\n"


async def test_awslambdaric_runs_a_buffered_handler_unchanged() -> None:
    fn = python_fn("buf", "py_buffered", "buffered_app.handler", timeout=7.0, memory_size=256)
    rec = Recorder()
    async with make_pool(fn, region="eu-central-1", sink=rec) as pool:
        inv = await pool.invoke("buf", event(hello="world"))
        r = await run(inv)
        again = await run(await pool.invoke("buf", event()))
    assert r.outcome.status == "success", r.outcome
    assert r.head.streaming is False
    doc = r.json()
    assert doc["request_id"] == inv.request_id
    assert doc["function_name"] == "buf"
    assert doc["memory_limit_in_mb"] == "256"
    assert 5000 < doc["remaining_ms"] <= 7000  # from Lambda-Runtime-Deadline-Ms
    assert doc["cwd"] == str(FUNCTIONS / "py_buffered")
    assert doc["env"]["AWS_REGION"] == "eu-central-1"
    assert doc["env"]["_HANDLER"] == "buffered_app.handler"
    assert doc["env"]["LAMBDA_TASK_ROOT"] == str(FUNCTIONS / "py_buffered")
    assert doc["tz"] == ":UTC"
    assert again.json()["pid"] == doc["pid"]
    assert any(t.startswith(f"REPORT RequestId: {inv.request_id}") for t in rec.texts())


async def test_awslambdaric_function_error() -> None:
    fn = python_fn("buf", "py_buffered", "buffered_app.fail")
    async with make_pool(fn) as pool:
        r = await run(await pool.invoke("buf", event()))
    assert r.outcome.status == "function_error"
    assert r.outcome.error_type is not None
    assert "ValueError" in r.outcome.error_type
    assert b"bad input on purpose" in (r.outcome.error_body or b"")


async def test_awslambdaric_init_error() -> None:
    fn = python_fn("broken", "py_init_error", "broken_init.handler")
    async with make_pool(fn) as pool:
        r = await run(await pool.invoke("broken", event()))
        assert pool.environments("broken") == []
    assert r.outcome.status == "init_error"
    assert b"cannot initialise on purpose" in (r.outcome.error_body or b"")


async def test_streaming_handler_under_awslambdaric_fails_as_on_aws_and_names_the_fix() -> None:
    fn = python_fn("sse", "py_buffered", "streaming_app.handler")
    rec = Recorder()
    async with make_pool(fn, sink=rec) as pool:
        r = await run(await pool.invoke("sse", event()))
    assert r.outcome.status == "function_error"
    assert r.head is None
    warnings = rec.texts("warning")
    assert any(
        "AWS_LAMBDA_EXEC_WRAPPER=/var/task/lambda_sse/runtime/exec-wrapper" in w for w in warnings
    )


def node_ric() -> str:
    require_tool("node")
    package = NODE_RIC.parent.parent / "aws-lambda-ric"
    # The native client's place depends on how it was built (dist/ from npm install).
    built = NODE_RIC.exists() and any(package.rglob("rapid-client.node"))
    require("aws-lambda-ric is not installed", built, NODE_RIC_HINT)
    return str(NODE_RIC)


async def test_aws_node_client_streams_through_the_pool() -> None:
    ric = node_ric()
    fn = FunctionConfig(
        name="node",
        handler="index.handler",
        runtime="nodejs20.x",
        code_dir=FUNCTIONS / "node_stream",
        timeout=15.0,
    )
    base_env = {**os.environ, "LAMBDA_SSE_NODE_RIC": ric}
    async with make_pool(fn, base_env=base_env) as pool:
        inv = await pool.invoke("node", event(chunks=4, interval=0.2))
        r = await run(inv)
    assert r.outcome.status == "success", r.outcome
    assert r.head.streaming is True
    prelude, body = split_prelude(r.body)
    assert prelude["statusCode"] == 201
    assert body == b"tick 0\ntick 1\ntick 2\ntick 3\n"
    times = [t for t, c in r.chunks if b"tick" in c]
    assert len(times) >= 3
    assert times[-1] - times[0] > 0.4  # spread over ~600 ms: streamed, not buffered
    assert not alive(inv.pid or 0)


def test_node_missing_ric_is_a_clear_init_error(tmp_path: Path) -> None:
    node = require_tool("node")
    code = tmp_path / "fn"
    code.mkdir()
    fn = FunctionConfig(name="n", handler="index.handler", runtime="nodejs20.x", code_dir=code)
    rec = Recorder()

    async def go() -> Any:
        async with make_pool(fn, sink=rec, base_env={"PATH": os.path.dirname(node)}) as pool:
            return await run(await pool.invoke("n", b"{}"))

    r = asyncio.run(go())
    assert r.outcome.status == "init_error"
    assert any("npm install aws-lambda-ric" in t for t in rec.texts("warning"))
    assert "npm install aws-lambda-ric" in json.loads(r.outcome.error_body)["errorMessage"]


async def test_a_python_version_mismatch_is_warned_once_per_session() -> None:
    rec = Recorder()
    fns = [
        python_fn(name, "py_buffered", "buffered_app.handler", runtime="python3.99")
        for name in ("a", "b")
    ]
    async with make_pool(*fns, sink=rec) as pool:
        for name in ("a", "b", "a"):
            r = await run(await pool.invoke(name, event()))
            assert r.outcome.status == "success"
    mismatch = [w for w in rec.texts("warning") if "python3.99" in w]
    assert len(mismatch) == 1
    assert "is emulated with this interpreter's Python" in mismatch[0]


async def test_lambda_sse_bootstrap_as_a_custom_runtime_streams(tmp_path: Path) -> None:
    """provided.al2023 with lambda-sse's bootstrap copied to the code dir's root, as
    `lambda-sse package` lays out the zip (lambda_sse itself comes from this interpreter)."""
    import lambda_sse.runtime

    shutil.copy2(Path(lambda_sse.runtime.__file__).parent / "bootstrap", tmp_path / "bootstrap")
    (tmp_path / "stream_app.py").write_text((FUNCTIONS / "py_stream" / "stream_app.py").read_text())
    fn = FunctionConfig(
        name="custom",
        handler="stream_app.stream",
        runtime="provided.al2023",
        code_dir=tmp_path,
        timeout=10.0,
    )
    async with make_pool(fn) as pool:
        r = await run(await pool.invoke("custom", event(chunks=3, interval=0.2)))
    assert r.outcome.status == "success", r.outcome
    prelude, body = split_prelude(r.body)
    assert prelude["statusCode"] == 200
    assert body.count(b"tick ") == 3
    times = [t for t, c in r.chunks if b"tick " in c]
    assert times[-1] - times[0] > 0.3


async def test_awslambdaric_managed_instances_run_concurrently_in_one_environment() -> None:
    """awslambdaric reads AWS_LAMBDA_MAX_CONCURRENCY and forks that many workers."""
    fn = python_fn("buf", "py_buffered", "buffered_app.handler", max_concurrency=2)
    async with make_pool(fn) as pool:
        await run(await pool.invoke("buf", event()))
        invs = [await pool.invoke("buf", event(sleep=0.6)) for _ in range(2)]
        results = await asyncio.gather(*(run(i) for i in invs))
        assert len(pool.environments("buf")) == 1
        root = invs[0].pid
    assert [r.outcome.status for r in results] == ["success", "success"]
    workers = {r.json()["pid"] for r in results}
    assert len(workers) == 2
    assert root not in workers  # forked workers of the one runtime process
    # Both ran at once: each started before the other finished (no wall-clock bound, which a
    # loaded machine could miss; the overlap is the fact itself).
    spans = [(r.json()["started"], r.json()["finished"]) for r in results]
    assert max(start for start, _ in spans) < min(end for _, end in spans)
    # SIGKILL to the group reaches the workers; their death is not instantaneous.
    async with asyncio.timeout(5):
        while any(alive(pid) for pid in workers):  # noqa: ASYNC110 - only /proc tells
            await asyncio.sleep(0.02)
