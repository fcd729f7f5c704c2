"""The emulator's execution side: cold start of an environment and the pool's cost per warm
invocation.

(a) cold start: from spawning the runtime process to its first GET /next, through
    ``Environment.start`` (lambda-sse's runtime and awslambdaric), beside the bare cost of
    starting this interpreter (``python -c pass``) measured in the same run;
(b) warm invocation round trip (a tiny buffered handler under lambda-sse's runtime), through
    ``Pool.invoke`` -> body -> outcome, beside the same runtime driven by a bare
    ``RuntimeAPIServer`` (enqueue -> body -> outcome) without the pool: the difference is what the
    pool adds (environment pick, START/END/REPORT lines, /proc memory read, timeout watch).
Limits off (no bandwidth shaping); logs go to a sink that drops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import log, markdown_table  # noqa: E402
from lambda_sse.local.environment import Environment  # noqa: E402
from lambda_sse.local.logs import LogRecord  # noqa: E402
from lambda_sse.local.model import FunctionConfig  # noqa: E402
from lambda_sse.local.pool import Pool  # noqa: E402
from lambda_sse.local.runtime_api import RuntimeAPIServer  # noqa: E402
from lambda_sse.local.runtimes import launch_spec  # noqa: E402

COLD_RUNS = 7
WARM_RUNS = 2000
WRAPPER = {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/lambda_sse/runtime/exec-wrapper"}
PYTHON_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def drop(record: LogRecord) -> None:
    del record


def function(code: Path, *, wrapper: bool) -> FunctionConfig:
    return FunctionConfig(
        name="bench",
        handler="app.handler",
        runtime=PYTHON_RUNTIME,
        code_dir=code,
        timeout=30.0,
        environment=WRAPPER if wrapper else {},
    )


def interpreter_start_ms() -> float:
    best = float("inf")
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


async def cold_start_ms(fn: FunctionConfig) -> float:
    times = []
    for _ in range(COLD_RUNS):
        env = Environment(fn, sink=drop)
        try:
            start = time.perf_counter()
            failure = await env.start()
            times.append(time.perf_counter() - start)
            if failure is not None:
                raise SystemExit(f"cold start failed: {failure}")
        finally:
            await env.stop(grace=1.0)
    return min(times) * 1000.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def pool_round_trip(pool: Pool) -> float:
    start = time.perf_counter()
    inv = await pool.invoke("bench", b'{"n": 1}')
    async for _ in inv.body():
        pass
    outcome = await inv.outcome()
    elapsed = time.perf_counter() - start
    if outcome.status != "success":
        raise SystemExit(f"invocation failed: {outcome}")
    return elapsed * 1e6


async def bare_round_trip(server: RuntimeAPIServer) -> float:
    start = time.perf_counter()
    inv = server.enqueue(b'{"n": 1}', deadline_ms=int(time.time() * 1000) + 30_000)
    async for _ in inv.body():
        pass
    outcome = await inv.outcome()
    elapsed = time.perf_counter() - start
    if outcome.status != "success":
        raise SystemExit(f"invocation failed: {outcome}")
    return elapsed * 1e6


async def warm_round_trips(fn: FunctionConfig) -> tuple[list[float], list[float]]:
    """Pool and bare server side by side, in alternating blocks, so that the load of a shared
    machine falls on both alike. The bare side runs the same runtime command, minus the pool."""
    server = RuntimeAPIServer(record_bodies=False)
    await server.start()
    spec = launch_spec(fn, runtime_api=server.address)
    proc = await asyncio.create_subprocess_exec(
        *spec.argv,
        env=dict(spec.env),
        cwd=spec.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pool_us: list[float] = []
    bare_us: list[float] = []
    try:
        async with Pool([fn], limits=False, sink=drop) as pool:
            await asyncio.wait_for(server.wait_for_poll(), 30)
            for _ in range(50):  # warm-up, both sides
                await pool_round_trip(pool)
                await bare_round_trip(server)
            block = 100
            for _ in range(WARM_RUNS // block):
                pool_us += [await pool_round_trip(pool) for _ in range(block)]
                bare_us += [await bare_round_trip(server) for _ in range(block)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        await proc.wait()
        await server.close()
    return pool_us, bare_us


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp)
        (code / "app.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
        ours_fn = function(code, wrapper=True)
        ric_fn = function(code, wrapper=False)

        log("interpreter start (baseline) ...")
        bare_ms = interpreter_start_ms()
        log("cold start, lambda-sse runtime ...")
        ours_cold = await cold_start_ms(ours_fn)
        log("cold start, awslambdaric ...")
        ric_cold = await cold_start_ms(ric_fn)
        log(f"warm invocations, pool and bare server alternating ({WARM_RUNS} each) ...")
        pool_us, bare_us = await warm_round_trips(ours_fn)

    p50_add = statistics.median(pool_us) - statistics.median(bare_us)
    p99_add = percentile(pool_us, 0.99) - percentile(bare_us, 0.99)
    rows = [
        [
            "cold start to first GET /next, lambda-sse runtime (ms, best of 7)",
            f"{ours_cold:.1f}",
            f"{bare_ms:.1f} (python -c pass)",
            "<= 1000",
            "met" if ours_cold <= 1000 else "NOT met",
        ],
        [
            "cold start to first GET /next, awslambdaric (ms, best of 7)",
            f"{ric_cold:.1f}",
            f"{bare_ms:.1f} (python -c pass)",
            "<= 1000",
            "met" if ric_cold <= 1000 else "NOT met",
        ],
        [
            "warm invocation round trip p50 (µs)",
            f"{statistics.median(pool_us):.0f}",
            f"{statistics.median(bare_us):.0f} (bare server)",
            "pool adds <= 100",
            "met" if p50_add <= 100 else "NOT met",
        ],
        [
            "warm invocation round trip p99 (µs)",
            f"{percentile(pool_us, 0.99):.0f}",
            f"{percentile(bare_us, 0.99):.0f} (bare server)",
            "pool adds <= 500",
            "met" if p99_add <= 500 else "NOT met",
        ],
    ]
    print("## Execution environments (pool)\n")
    print(
        "Cold start: `Environment.start` from spawn to the runtime's first `GET /next`. Warm: "
        f"{WARM_RUNS} buffered invocations of a tiny handler, `Pool.invoke` to outcome, beside "
        "the same runtime behind a bare `RuntimeAPIServer`. Limits off.\n"
    )
    print(markdown_table(["measure", "ours", "baseline", "target", "verdict"], rows))


if __name__ == "__main__":
    asyncio.run(main())
