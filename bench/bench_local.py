"""The local emulator, whole stack: client -> ``lambda-sse dev`` front door -> Runtime API ->
lambda-sse runtime -> ASGI bridge -> app, against the same app on uvicorn directly, read by the
same client (httpx) in the same run. Limits off.

- per-event latency (p50, p99): 5,000 events one per millisecond, each stamped with
  ``time.monotonic_ns()`` at production and timed at arrival on the same clock;
- events/s: 20,000 events as fast as the app sends them;
- concurrent open SSE streams, one heartbeat a second each, lateness p99: N streams with one
  process per environment, and M streams in one Managed Instances environment
  (``--concurrency M``); defaults 200 and 2,000 (LOCAL_BENCH_STREAMS / LOCAL_BENCH_MI_STREAMS
  scale them down on a slow machine);
- time from starting ``lambda-sse dev`` to the first request served (the first request includes
  the function's cold start), beside uvicorn's start to first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402

from _common import log as _log  # noqa: E402
from _common import markdown_table  # noqa: E402

_T0 = time.monotonic()


def log(message: str) -> None:
    _log(f"[{time.monotonic() - _T0:5.1f} s] {message}")


LATENCY_N = 5000
RATE_N = 20_000
STREAMS = int(os.environ.get("LOCAL_BENCH_STREAMS", "200"))
MI_STREAMS = int(os.environ.get("LOCAL_BENCH_MI_STREAMS", "2000"))
HOLD = 4.0  # seconds every stream is held open together
COLD_BATCH = 25  # streams opened at once when each one cold-starts a process (2 cores)
WARM_BATCH = 250  # streams opened at once when no process starts
START_TIMEOUT = 30.0

CONFIG = """\
service: bench
provider:
  name: aws
  runtime: python3.11
  stage: bench
  endpointType: REGIONAL
  timeout: 300
  environment:
    AWS_LAMBDA_EXEC_WRAPPER: /var/task/lambda_sse/runtime/exec-wrapper
functions:
  app:
    handler: _local_app.handler
    events:
      - http: {path: /sse, method: get, response: {transferMode: STREAM}}
      - http: {path: /beat, method: get, response: {transferMode: STREAM}}
      - http: GET /hello
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def project() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        folder = Path(tmp)
        (folder / "serverless.yml").write_text(CONFIG)
        shutil.copy(HERE / "_local_app.py", folder / "_local_app.py")
        yield folder


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    started: float


@contextlib.contextmanager
def spawn(command: list[str], base: str, cwd: Path) -> Iterator[Server]:
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        yield Server(process, base, started)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(15)


def dev_server(folder: Path, *extra: str) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    command = [sys.executable, "-m", "lambda_sse.cli", "dev", str(folder), "--port", str(port)]
    command += ["--no-limits", "--no-reload", *extra]
    return spawn(command, f"http://127.0.0.1:{port}/bench", folder)


def relay_server(folder: Path, upstream: str) -> contextlib.AbstractContextManager[Server]:
    """bench/_relay.py in front of ``upstream`` (a base URL on loopback)."""
    port = free_port()
    upstream_port = upstream.rsplit(":", 1)[1]
    command = [sys.executable, str(HERE / "_relay.py"), str(port), upstream_port]
    return spawn(command, f"http://127.0.0.1:{port}", folder)


def uvicorn_server(folder: Path) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "_local_app:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "1"]
    # Its best production configuration, as uvicorn[standard] installs it.
    command += ["--loop", "uvloop", "--http", "httptools"]
    return spawn(command, f"http://127.0.0.1:{port}", folder)


async def first_request(server: Server) -> float:
    """Seconds from the process start to the first /hello answered 200."""
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() - server.started < START_TIMEOUT:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{server.base}/hello")).status_code == 200:
                    return time.monotonic() - server.started
            await asyncio.sleep(0.005)
    raise RuntimeError(f"{server.base} did not answer within {START_TIMEOUT} s")


def _stamps(buffer: bytearray) -> Iterator[int]:
    """Complete "data: <ns>\\n\\n" events at the front of ``buffer`` (consumed)."""
    while (end := buffer.find(b"\n\n")) >= 0:
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        if line.startswith(b"data: "):
            yield int(line[6:])


@dataclass
class StreamResult:
    latencies_us: list[float]
    events: int
    seconds: float

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies_us)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def read_stream(client: httpx.AsyncClient, url: str) -> StreamResult:
    latencies: list[float] = []
    buffer = bytearray()
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        first: float | None = None
        async for chunk in response.aiter_raw():
            now = time.monotonic_ns()
            first = first if first is not None else now / 1e9
            buffer += chunk
            latencies.extend((now - stamp) / 1000 for stamp in _stamps(buffer))
    last = time.monotonic()
    return StreamResult(latencies, len(latencies), last - (first or last))


async def latency_and_rate(base: str, *, rate: bool = True) -> tuple[StreamResult, StreamResult]:
    async with httpx.AsyncClient(timeout=60) as client:
        await read_stream(client, f"{base}/sse?n=200")  # warm: cold start, imports, caches
        paced = await read_stream(client, f"{base}/sse?n={LATENCY_N}&delay=0.001")
        fast = await read_stream(client, f"{base}/sse?n={RATE_N}") if rate else paced
    return paced, fast


async def hold_streams(base: str, count: int, batch: int) -> tuple[int, list[float]]:
    """Open ``count`` heartbeat streams (ramping up in batches), hold them together for HOLD
    seconds; returns how many were open together and the lateness (ms) of the heartbeats that
    arrived while all were open."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    lateness: list[float] = []
    all_open = asyncio.Event()
    window_start = [0]
    opened = 0

    async def one(client: httpx.AsyncClient, ready: asyncio.Event, index: int) -> None:
        nonlocal opened
        buffer = bytearray()
        phase = 1000 * index / count  # beats spread evenly over each second
        async with client.stream("GET", f"{base}/beat?beats=600&phase={phase:.3f}") as response:
            response.raise_for_status()
            async for chunk in response.aiter_raw():
                now = time.monotonic_ns()
                buffer += chunk
                for due in _stamps(buffer):
                    if not ready.is_set():
                        opened += 1
                        ready.set()
                    elif all_open.is_set() and due >= window_start[0]:
                        lateness.append((now - due) / 1e6)

    async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=60), limits=limits) as client:
        tasks: list[asyncio.Task[None]] = []
        for start in range(0, count, batch):
            events = [asyncio.Event() for _ in range(min(batch, count - start))]
            tasks += [
                asyncio.ensure_future(one(client, e, start + i)) for i, e in enumerate(events)
            ]
            waits = [asyncio.ensure_future(e.wait()) for e in events]
            _done, pending = await asyncio.wait(waits, timeout=60)
            for w in pending:
                w.cancel()
            failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
            if failed:
                log(f"  a stream failed: {failed[0].exception()!r}")
                break
            if start // batch % 4 == 3 or opened == count:
                log(f"  {opened}/{count} streams open")
        window_start[0] = time.monotonic_ns() + 1_000_000_000  # from the next beat on
        all_open.set()
        await asyncio.sleep(HOLD + 1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return opened, lateness


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def signed(value: float) -> str:
    return f"{value:+,.0f}"


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


async def main() -> None:
    with project() as folder:
        log("uvicorn: start, latency, events/s")
        with uvicorn_server(folder) as uvi:
            uvi_start = await first_request(uvi)
            uvi_paced, uvi_fast = await latency_and_rate(uvi.base)
            log("uvicorn behind a bare asyncio relay: latency")
            with relay_server(folder, uvi.base) as relay:
                await first_request(relay)
                relay_paced, _ = await latency_and_rate(relay.base, rate=False)
            log(f"uvicorn: {STREAMS} heartbeat streams")
            uvi_open, uvi_late = await hold_streams(uvi.base, STREAMS, WARM_BATCH)
            log(f"uvicorn: {MI_STREAMS} heartbeat streams")
            uvi_mi_open, uvi_mi_late = await hold_streams(uvi.base, MI_STREAMS, WARM_BATCH)
        log("lambda-sse dev: start, latency, events/s")
        # As many environments as streams: the local cap (default 32) would throttle the rest.
        with dev_server(folder, "--max-environments", str(STREAMS)) as dev:
            dev_start = await first_request(dev)
            dev_paced, dev_fast = await latency_and_rate(dev.base)
            log(f"lambda-sse dev: {STREAMS} streams, one process per environment")
            dev_open, dev_late = await hold_streams(dev.base, STREAMS, COLD_BATCH)
            log("stopping lambda-sse dev")
        log(f"lambda-sse dev --concurrency {MI_STREAMS}: {MI_STREAMS} streams in one environment")
        with dev_server(folder, "--concurrency", str(MI_STREAMS)) as mi:
            await first_request(mi)
            mi_open, mi_late = await hold_streams(mi.base, MI_STREAMS, WARM_BATCH)

    dev_rate = dev_fast.events / dev_fast.seconds
    uvi_rate = uvi_fast.events / uvi_fast.seconds
    p50_gap = dev_paced.p(0.5) - uvi_paced.p(0.5)
    p99_gap = dev_paced.p(0.99) - uvi_paced.p(0.99)
    rows: list[list[object]] = [
        [
            "latency p50 (µs), 5,000 events 1/ms",
            fmt(dev_paced.p(0.5)),
            fmt(uvi_paced.p(0.5)),
            signed(p50_gap),
            "<= +100 µs",
            "met" if p50_gap <= 100 else "NOT met",
        ],
        [
            "latency p99 (µs)",
            fmt(dev_paced.p(0.99)),
            fmt(uvi_paced.p(0.99)),
            signed(p99_gap),
            "<= +500 µs",
            "met" if p99_gap <= 500 else "NOT met",
        ],
        [
            "  reference: uvicorn behind a bare asyncio relay, p50 (µs)",
            fmt(relay_paced.p(0.5)),
            fmt(uvi_paced.p(0.5)),
            signed(relay_paced.p(0.5) - uvi_paced.p(0.5)),
            "(floor of one more hop)",
            "",
        ],
        [
            "  reference: the same relay, p99 (µs)",
            fmt(relay_paced.p(0.99)),
            fmt(uvi_paced.p(0.99)),
            signed(relay_paced.p(0.99) - uvi_paced.p(0.99)),
            "(floor of one more hop)",
            "",
        ],
        [
            "events/s (20,000 events)",
            fmt(dev_rate),
            fmt(uvi_rate),
            f"{dev_rate / uvi_rate:.2f}x",
            ">= 0.5x",
            "met" if dev_rate >= 0.5 * uvi_rate else "NOT met",
        ],
        [
            f"streams open, one process per environment (of {STREAMS})",
            dev_open,
            uvi_open,
            "",
            f"{STREAMS}",
            "met" if dev_open == STREAMS else "NOT met",
        ],
        [
            "  heartbeat lateness p99 (ms)",
            fmt(p99(dev_late), 1),
            fmt(p99(uvi_late), 1),
            "",
            "<= 100 ms",
            "met" if p99(dev_late) <= 100 else "NOT met",
        ],
        [
            f"streams open in one Managed Instances environment (of {MI_STREAMS})",
            mi_open,
            uvi_mi_open,
            "",
            f"{MI_STREAMS}",
            "met" if mi_open == MI_STREAMS else "NOT met",
        ],
        [
            "  heartbeat lateness p99 (ms)",
            fmt(p99(mi_late), 1),
            fmt(p99(uvi_mi_late), 1),
            "",
            "<= 100 ms",
            "met" if p99(mi_late) <= 100 else "NOT met",
        ],
        [
            "start to first request served (ms)",
            fmt(dev_start * 1000),
            fmt(uvi_start * 1000),
            "",
            "<= 1,000 ms",
            "met" if dev_start <= 1.0 else "NOT met",
        ],
    ]
    print("## Local emulator (lambda-sse dev), whole stack\n")
    print(
        "Client (httpx) -> `lambda-sse dev` REST STREAM front door -> Runtime API -> lambda-sse "
        "runtime -> ASGI bridge -> a plain ASGI app, against the same app on uvicorn directly, "
        "read by the same client in the same run; bandwidth limits off. Latency: each event "
        "carries `time.monotonic_ns()` from its production, timed at arrival on the same clock. "
        f"Streams: one heartbeat a second each (phases spread over the second), lateness of the "
        "beats while all were open "
        f"({HOLD:g} s); the baseline column is uvicorn holding the same number of streams. "
        "The first request served includes the function's cold start. The reference row puts "
        "one bare asyncio TCP relay (bench/_relay.py: read, write, nothing else) between the "
        "client and uvicorn: what one more asyncio process on the path costs by itself, the floor "
        "under the emulator's extra hop (runtime -> emulator -> client).\n"
    )
    print(
        markdown_table(
            ["metric", "lambda-sse dev", "uvicorn direct", "gap", "target", "verdict"], rows
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
