"""The ASGI bridge: one FastAPI SSE route through bridge + runtime against uvicorn; this project's
EventSourceResponse against sse-starlette's; Mangum's time to first byte for contrast.

(a) bridge + runtime: ``python -m lambda_sse.runtime _asgi_app.handler`` (a subprocess) streams
    into the project's Runtime API server in this process, which plays the client's side;
(b) uvicorn serving the same app directly (what the Lambda Web Adapter runs behind its proxy),
    read with httpx over loopback. Both streams are read by the same consumer (an SSEDecoder over
    the body chunks); events/s counts from the request to the last event, latency from each
    event's production (its data is a monotonic timestamp) to its decoding.
The response classes are compared in process (the app called directly, sends counted), so their
own cost shows. Mangum buffers: its first byte comes when the whole stream is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from mangum import Mangum  # noqa: E402

from _asgi_app import app  # noqa: E402
from _common import log, markdown_table, verdict  # noqa: E402
from lambda_sse.local.runtime_api import RuntimeAPIServer  # noqa: E402
from lambda_sse.runtime.prelude import PreludeDecoder  # noqa: E402
from lambda_sse.sse import SSEDecoder  # noqa: E402

N = 5000  # events per stream
ROUNDS = 5
CLASS_N = 20_000
PACED_N = 300
PACED_DELAY = 0.003
BRIDGE_TARGET = 1.0  # bridge + runtime events/s >= uvicorn's
CLASS_TARGET = 2.0  # EventSourceResponse events/s >= 2x sse-starlette's


def v2_event(path: str, query: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "bench.lambda-url.us-east-1.on.aws", "accept": "text/event-stream"},
        "requestContext": {
            "domainName": "bench.lambda-url.us-east-1.on.aws",
            "http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
        },
        "isBase64Encoded": False,
    }


class Stats:
    def __init__(self, events: int, seconds: float, latencies_ns: list[int], ttfb: float) -> None:
        self.events = events
        self.seconds = seconds
        self.latencies = latencies_ns
        self.ttfb = ttfb

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def p50_us(self) -> float:
        return statistics.median(self.latencies) / 1000

    def p99_us(self) -> float:
        return statistics.quantiles(self.latencies, n=100)[98] / 1000


async def consume(chunks: AsyncIterator[bytes], started: float) -> Stats:
    """The one reader both servers get: body chunks in, events counted and timed."""
    decoder = SSEDecoder()
    latencies: list[int] = []
    first: float | None = None
    last = started
    async for chunk in chunks:
        now_ns = time.monotonic_ns()
        if first is None:
            first = time.monotonic()
        for event in decoder.feed(chunk):
            if event.data:
                latencies.append(now_ns - int(event.data))
        last = time.monotonic()
    return Stats(len(latencies), last - started, latencies, (first or last) - started)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(SRC), env.get("PYTHONPATH", "")])
    return env


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


Runner = Callable[[str, str], Awaitable[Stats]]


@contextlib.asynccontextmanager
async def bridge_server() -> AsyncIterator[Runner]:
    """The runtime subprocess serving the app, streaming into a Runtime API server here."""
    server = RuntimeAPIServer(record_bodies=False, queue_limit=256)
    await server.start()
    env = child_env()
    env.update(AWS_LAMBDA_RUNTIME_API=server.address, AWS_LAMBDA_FUNCTION_NAME="bench")

    async def run(path: str, query: str) -> Stats:
        started = time.monotonic()
        event = json_bytes(v2_event(path, query))
        inv = server.enqueue(event, deadline_ms=int(time.time() * 1000) + 120_000)
        stats = await consume(body_after_prelude(inv.body()), started)
        outcome = await inv.outcome()
        assert outcome.status == "success", outcome
        return stats

    try:
        with process([sys.executable, "-m", "lambda_sse.runtime", "_asgi_app.handler"], env):
            await asyncio.wait_for(server.wait_for_poll(), 60)
            yield run
    finally:
        await server.close()


async def body_after_prelude(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    decoder = PreludeDecoder()
    async for chunk in chunks:
        rest = decoder.feed(chunk)
        if rest:
            yield rest


def json_bytes(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def uvicorn_server() -> AsyncIterator[Runner]:
    """uvicorn serving the same app, read over loopback with httpx."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "_asgi_app:app", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--lifespan", "off",
        # Its best production configuration, as uvicorn[standard] installs it.
        "--loop", "uvloop", "--http", "httptools",
    ]  # fmt: skip
    with process(command, child_env()):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    await client.get("/docs")
                    break
                await asyncio.sleep(0.05)

            async def run(path: str, query: str) -> Stats:
                started = time.monotonic()
                async with client.stream("GET", f"{path}?{query}") as response:
                    assert response.status_code == 200
                    return await consume(response.aiter_raw(), started)

            yield run


async def in_process(path: str, n: int) -> float:
    """Events/s of the app called directly: sends counted, nothing else."""
    sent = 0

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        nonlocal sent
        sent += 1

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": f"n={n}".encode(), "headers": [], "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip
    started = time.perf_counter()
    await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    assert sent >= n, sent
    return n / elapsed


async def class_runs() -> tuple[float, float]:
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(5):  # alternate, keep the best of each
        ours.append(await in_process("/sse", CLASS_N))
        theirs.append(await in_process("/sse-starlette", CLASS_N))
    return max(ours), max(theirs)


def mangum_ttfb() -> float:
    """Seconds until Mangum hands over any byte of a 1 s stream (10 events, 0.1 s apart)."""
    handler = Mangum(app, lifespan="off")
    started = time.monotonic()
    reply = handler(v2_event("/sse", "n=10&delay=0.1"), object())  # type: ignore[arg-type]
    assert reply["statusCode"] == 200, reply
    assert reply["body"].count("data:") == 10, reply
    return time.monotonic() - started


def best(runs: list[Stats]) -> Stats:
    return max(runs, key=lambda s: s.rate)


async def main() -> None:
    query = f"n={N}"
    paced = f"n={PACED_N}&delay={PACED_DELAY}"
    async with bridge_server() as bridge_run, uvicorn_server() as uvicorn_run:
        bridge_all: list[Stats] = []
        uvi_all: list[Stats] = []
        for i in range(ROUNDS):  # alternate, so both sides share the machine's mood
            log(f"round {i + 1}/{ROUNDS}: {N} events through bridge + runtime, then uvicorn")
            bridge_all.append(await bridge_run("/sse", query))
            uvi_all.append(await uvicorn_run("/sse", query))
        bridge, uvi = best(bridge_all), best(uvi_all)
        # Latency from a paced stream (a flood measures queueing, not transit).
        log(f"latency: {PACED_N} events {PACED_DELAY * 1000:.0f} ms apart, each side")
        bridge_lat = await bridge_run("/sse", paced)
        uvi_lat = await uvicorn_run("/sse", paced)
        log("time to first byte of a 1 s stream through bridge + runtime")
        ours_ttfb = min([(await bridge_run("/sse", "n=10&delay=0.1")).ttfb for _ in range(2)])
    log(f"response classes in process: {CLASS_N} events")
    ours_rate, theirs_rate = await class_runs()
    log("time to first byte of the same 1 s stream through Mangum")
    mangum = await asyncio.to_thread(mangum_ttfb)  # Mangum runs its own event loop

    bridge_ratio = bridge.rate / uvi.rate
    class_ratio = ours_rate / theirs_rate
    rows = [
        ["events/s, FastAPI SSE route (higher is better)", f"{bridge.rate:,.0f}",
         f"{uvi.rate:,.0f} (uvicorn)", f"{bridge_ratio:.2f}x", f">= {BRIDGE_TARGET:.0f}x",
         verdict(bridge_ratio, BRIDGE_TARGET)],
        ["per-event latency p50, µs (paced stream)", f"{bridge_lat.p50_us():,.0f}",
         f"{uvi_lat.p50_us():,.0f} (uvicorn)", "", "", ""],
        ["per-event latency p99, µs (paced stream)", f"{bridge_lat.p99_us():,.0f}",
         f"{uvi_lat.p99_us():,.0f} (uvicorn)", "", "", ""],
        ["EventSourceResponse events/s, in process", f"{ours_rate:,.0f}",
         f"{theirs_rate:,.0f} (sse-starlette)", f"{class_ratio:.2f}x", f">= {CLASS_TARGET:.0f}x",
         verdict(class_ratio, CLASS_TARGET)],
        ["time to first byte of a 1 s stream, ms", f"{ours_ttfb * 1000:,.1f}",
         f"{mangum * 1000:,.0f} (Mangum)", f"{mangum / ours_ttfb:,.0f}x sooner", "", ""],
    ]  # fmt: skip
    print("## ASGI bridge\n")
    print(
        f"One FastAPI route streaming {N:,} SSE events (this project's EventSourceResponse), read "
        "by the same consumer: (a) through `lambda_sse.asgi.handler` and the runtime "
        "(`python -m lambda_sse.runtime`) into the project's Runtime API server, (b) served by "
        "uvicorn directly over loopback (httpx). Best of "
        f"{ROUNDS} streams; latency from production to decoding on a paced stream of "
        f"{PACED_N} events {PACED_DELAY * 1000:.0f} ms apart. Response classes: the same app "
        f"called in process, {CLASS_N:,} events, best of 5. Mangum buffers the whole "
        "response, so its first byte comes when the stream is over.\n"
    )
    print(markdown_table(["figure", "lambda-sse", "baseline", "ratio", "target", "verdict"], rows))


if __name__ == "__main__":
    asyncio.run(main())
