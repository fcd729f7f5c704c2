"""Benchmark of the streaming Lambda runtime, each figure beside its baseline.

- per-event cost: a handler streaming small SSE events into a Runtime API sink in another process,
  beside the floor: one blocking ``sendall`` of the same, pre-framed event per event into the same
  kind of sink;
- bulk MB/s with 64 KiB writes, beside ``sendall`` of the same 64 KiB chunks;
- cold start, process start to the first GET /next: a trivial handler beside awslambdaric with the
  same handler; a FastAPI app beside ``python -c "import app"`` and beside awslambdaric + Mangum;
- idle RSS of the runtime process parked on GET /next, beside awslambdaric's.

Run: ``.venv/bin/python bench/bench_runtime.py``. Prints one Markdown section on stdout; progress
on stderr. The sink is a small raw-socket Runtime API (below) in its own process, so both sides
of every comparison pay the same receiving costs.

Cold starts: every side loads precompiled bytecode (``compileall`` first, so a shell with
``PYTHONDONTWRITEBYTECODE`` does not make one side compile at every start); besides the wall
time to the first GET /next, the runtime process' CPU time (user + sys, from ``wait4``) is
reported for the FastAPI comparison: on a busy machine it is far steadier than the wall time.
"""

from __future__ import annotations

import compileall
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

PYTHON = sys.executable
REPO = Path(__file__).resolve().parents[1]
EVENT = b'data: {"n": 12345, "msg": "hello"}\n\n'  # one small SSE event
EVENTS = 200_000
BULK_PIECE = 64 * 1024
BULK_COUNT = 8192  # 512 MiB
COLD_RUNS = 21
APP_RUNS = 31  # the FastAPI trio: a 10 ms target against ~0.3 s starts needs more samples

# A minimal Runtime API: GET /next hands out events queued on stdin ("EVENT <json>"); a POST's
# body is read and dropped; "NEXT <t>" and "DONE <bytes> <t0> <t1>" go to stdout (monotonic
# clock, which is system-wide on Linux, so the bench can compare it with its own).
SINK = r"""
import select, socket, sys, threading, time, queue
events = queue.Queue()
lock = threading.Lock()
def say(line):
    with lock:
        sys.stdout.write(line + "\n"); sys.stdout.flush()
def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest
def serve(conn):
    try:
        serve_one(conn)
    except OSError:
        pass  # a runtime killed by the bench
def serve_one(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    big = bytearray(1 << 20); view = memoryview(big)
    n_req = 0
    while True:
        head, buf = read_head(conn, buf)
        if head is None:
            return
        line, *lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines)}
        method, path, _ = line.split(" ", 2)
        if method == "GET":
            say("NEXT %.9f" % time.monotonic())
            while True:  # park; a runtime that died while parked must not take an event
                gone = select.select([conn], [], [], 0)[0] and not conn.recv(1, socket.MSG_PEEK)
                try:
                    body = events.get(timeout=0.02)
                except queue.Empty:
                    body = None
                if gone or (select.select([conn], [], [], 0)[0]
                            and not conn.recv(1, socket.MSG_PEEK)):
                    if body is not None:
                        events.put(body)
                    return
                if body is not None:
                    body = body.encode()
                    break
            n_req += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r%d\r\n"
                         b"Lambda-Runtime-Deadline-Ms: 99999999999999\r\n"
                         b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:::function:b\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%b" % (n_req, len(body), body))
            continue
        t0 = time.monotonic()
        total = len(buf)
        if "content-length" in headers:
            need = int(headers["content-length"]) - len(buf)
            while need > 0:
                got = conn.recv_into(view)
                need -= got; total += got
            buf = b""
        else:
            tail = buf[-5:]
            buf = b""
            while tail != b"0\r\n\r\n":
                got = conn.recv_into(view)
                if not got:
                    return
                total += got
                tail = (tail + bytes(view[max(0, got - 5):got]))[-5:]
        t1 = time.monotonic()
        conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}")
        say("DONE %d %.9f %.9f" % (total, t0, t1))
def feed():
    for line in sys.stdin:
        if line.startswith("EVENT "):
            events.put(line[6:].strip())
threading.Thread(target=feed, daemon=True).start()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
say("PORT %d" % srv.getsockname()[1])
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

# The floor: a POST head, then one sendall per pre-framed piece, then the last chunk.
FLOOR = r"""
import socket, sys, time
port, size, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
piece = open(sys.argv[4], "rb").read() if size == 0 else b"z" * size
frame = b"%x\r\n%b\r\n" % (len(piece), piece)
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b"POST /2018-06-01/runtime/invocation/r/response HTTP/1.1\r\nHost: x\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n")
sendall = s.sendall
t0 = time.perf_counter()
for _ in range(count):
    sendall(frame)
t1 = time.perf_counter()
s.sendall(b"0\r\n\r\n")
s.recv(1024)
print("%.9f" % (t1 - t0))
"""

HANDLERS = r"""
import time
from lambda_sse import streamify_response


def trivial(event, context):
    return {"ok": True}


@streamify_response
async def events_async(event, response_stream, context):
    piece = open(event["piece_file"], "rb").read() if event["size"] == 0 else b"z" * event["size"]
    write = response_stream.write
    t0 = time.perf_counter()
    for _ in range(event["count"]):
        await write(piece)
    t1 = time.perf_counter()
    open(event["out"], "w").write("%.9f" % (t1 - t0))


@streamify_response
def events_sync(event, response_stream, context):
    piece = open(event["piece_file"], "rb").read() if event["size"] == 0 else b"z" * event["size"]
    write = response_stream.write
    t0 = time.perf_counter()
    for _ in range(event["count"]):
        write(piece)
    t1 = time.perf_counter()
    open(event["out"], "w").write("%.9f" % (t1 - t0))
"""

APP = r"""
from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/echo")
async def echo(payload: dict):
    return payload
"""

LSSE_APP = r"""
from lambda_sse.asgi import handler as asgi_handler
from app import app

handler = asgi_handler(app)
"""

MANGUM_APP = r"""
from mangum import Mangum
from app import app

handler = Mangum(app, lifespan="off")
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Sink:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-c", SINK],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().split()
        self.port = int(first[1])
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, kind: str, timeout: float = 60.0) -> list[str]:
        end = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, end - time.monotonic()))
            if line.startswith(kind + " "):
                return line.split()[1:]

    def event(self, doc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("EVENT " + json.dumps(doc) + "\n")
        self.proc.stdin.flush()

    def drain(self) -> None:
        while not self.lines.empty():
            self.lines.get_nowait()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def runtime_env(port: int, root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "LAMBDA_TASK_ROOT": str(root),
            "PYTHONPATH": os.pathsep.join([str(root), str(REPO / "src")]),
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        }
    )
    env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
    return env


def start(command: list[str], port: int, root: Path) -> subprocess.Popen[bytes]:
    env = runtime_env(port, root)
    env["_HANDLER"] = command[-1]  # what Lambda sets; the exec-wrapper reads only this
    return subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes]) -> float:
    """Kill ``proc``; returns the CPU milliseconds (user + sys) it used."""
    proc.kill()
    cpu = reap(proc)
    time.sleep(0.05)  # let the sink see the parked connection close
    return cpu


def reap(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> float:
    """Wait for ``proc`` to end; returns the CPU milliseconds (user + sys) it used."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (usage.ru_utime + usage.ru_stime) * 1000


# -- throughput ------------------------------------------------------------------------------


def stream_run(sink: Sink, root: Path, handler: str, size: int, count: int) -> float:
    """Seconds a handler spent writing ``count`` pieces (measured inside the handler)."""
    out = root / "elapsed.txt"
    out.unlink(missing_ok=True)
    sink.drain()
    proc = start([PYTHON, "-m", "lambda_sse.runtime", handler], sink.port, root)
    try:
        sink.expect("NEXT")
        sink.event(
            {
                "size": size,
                "count": count,
                "out": str(out),
                "piece_file": str(root / "event.bin"),
            }
        )
        sink.expect("DONE", timeout=120)
        return float(out.read_text())
    finally:
        stop(proc)
        sink.drain()


def floor_run(sink: Sink, root: Path, size: int, count: int) -> float:
    run = subprocess.run(
        [PYTHON, "-c", FLOOR, str(sink.port), str(size), str(count), str(root / "event.bin")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sink.expect("DONE", timeout=120)
    sink.drain()
    return float(run.stdout)


def best_of(n: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(n))


# -- cold start and memory -------------------------------------------------------------------


CPU: dict[str, list[float]] = {}  # CPU ms of each cold-start sample, by label


def cold_start(sink: Sink, root: Path, command: list[str], label: str = "") -> float:
    """Milliseconds from just before spawning to the first GET /next at the sink. The process'
    CPU time up to then (it is parked on /next when killed) goes to ``CPU[label]``."""
    sink.drain()
    t0 = time.monotonic()
    proc = start(command, sink.port, root)
    arrived = None
    try:
        (arrived,) = sink.expect("NEXT", timeout=60)
    finally:
        cpu = stop(proc)
    if label:
        CPU.setdefault(label, []).append(cpu)
    return (float(arrived) - t0) * 1000


def import_time(root: Path, module: str, label: str = "") -> float:
    """Milliseconds from spawn to the end of ``import module`` in a fresh interpreter; its CPU
    time goes to ``CPU[label]``."""
    # The child kills itself once the import is done, as the bench kills a runtime parked on
    # /next: tearing the app down at exit (~30 ms for FastAPI) would count as CPU otherwise.
    code = (
        f"import {module}, time, sys, os; sys.stdout.write('%.9f' % time.monotonic()); "
        "sys.stdout.flush(); os.kill(os.getpid(), 9)"
    )
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [PYTHON, "-c", code],
        cwd=root,
        env=runtime_env(0, root),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    cpu = reap(proc)
    if proc.returncode != -9 or not out:
        raise RuntimeError(f"import {module} failed ({proc.returncode})")
    if label:
        CPU.setdefault(label, []).append(cpu)
    return (float(out) - t0) * 1000


def idle_rss(sink: Sink, root: Path, command: list[str]) -> float:
    """MiB resident once the runtime, past one invocation, is parked on GET /next."""
    sink.drain()
    proc = start(command, sink.port, root)
    try:
        sink.expect("NEXT")
        sink.event({"size": 1, "count": 1, "out": str(root / "rss.txt"), "piece_file": ""})
        sink.expect("NEXT")
        time.sleep(0.2)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
        return kib / 1024
    finally:
        stop(proc)


def median_of(n: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(n))


def sampled(n: int, fns: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """``n`` runs each, interleaved so machine load drifts hit all alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(n):
        for name, fn in fns.items():
            samples[name].append(fn())
    return samples


def interleaved(n: int, fns: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Median of ``n`` interleaved runs each."""
    return {name: statistics.median(values) for name, values in sampled(n, fns).items()}


def paired_gap(a: list[float], b: list[float]) -> float:
    """Median of the differences of runs made side by side: steadier than a difference of
    medians on a busy machine."""
    return statistics.median(x - y for x, y in zip(a, b, strict=True))


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    (root / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    (root / "app.py").write_text(textwrap.dedent(APP))
    (root / "lsse_app.py").write_text(textwrap.dedent(LSSE_APP))
    (root / "mangum_app.py").write_text(textwrap.dedent(MANGUM_APP))
    (root / "event.bin").write_bytes(EVENT)
    # Cached bytecode for every side (see the module docstring).
    for folder in (root, REPO / "src"):
        compileall.compile_dir(folder, quiet=2)
    sink = Sink()
    rows: list[str] = []
    try:
        log("per-event cost ...")
        floor = best_of(3, lambda: floor_run(sink, root, 0, EVENTS)) / EVENTS * 1e6
        ours_async = (
            best_of(3, lambda: stream_run(sink, root, "handlers.events_async", 0, EVENTS))
            / EVENTS
            * 1e6
        )
        ours_sync = (
            best_of(3, lambda: stream_run(sink, root, "handlers.events_sync", 0, EVENTS))
            / EVENTS
            * 1e6
        )
        for label, value in (("async handler", ours_async), ("sync handler", ours_sync)):
            rows.append(
                f"| per-event cost, {len(EVENT)}-byte SSE event, {label} | "
                f"{value:.2f} µs ({1e6 / value:,.0f} events/s) | `sendall` floor {floor:.2f} µs | "
                f"{value / floor:.1f}x | <= 3x | {verdict(value <= 3 * floor)} |"
            )

        log("bulk ...")
        mib = BULK_PIECE * BULK_COUNT / 1e6
        floor_bulk = mib / best_of(2, lambda: floor_run(sink, root, BULK_PIECE, BULK_COUNT))
        ours_bulk = mib / best_of(
            2, lambda: stream_run(sink, root, "handlers.events_async", BULK_PIECE, BULK_COUNT)
        )
        rows.append(
            f"| bulk, 64 KiB writes, async handler | {ours_bulk:,.0f} MB/s | "
            f"`sendall` floor {floor_bulk:,.0f} MB/s | {ours_bulk / floor_bulk:.2f}x | "
            f">= 1000 MB/s | {verdict(ours_bulk >= 1000)} |"
        )

        log("cold start ...")
        ours_cmd = [PYTHON, "-m", "lambda_sse.runtime"]
        ric_cmd = [PYTHON, "-m", "awslambdaric"]
        # As on AWS: the wrapper gets the interpreter and the runtime's own arguments.
        wrapper = REPO / "src" / "lambda_sse" / "runtime" / "exec-wrapper"
        wrapper_cmd = [str(wrapper), PYTHON, "-m", "awslambdaric"]
        samples = sampled(
            COLD_RUNS,
            {
                "ours": lambda: cold_start(sink, root, [*ours_cmd, "handlers.trivial"]),
                "ric": lambda: cold_start(sink, root, [*ric_cmd, "handlers.trivial"]),
                "wrapper": lambda: cold_start(sink, root, [*wrapper_cmd, "handlers.trivial"]),
            },
        )
        log("cold start, FastAPI ...")
        samples.update(
            sampled(
                APP_RUNS,
                {
                    "import_app": lambda: import_time(root, "app", "import_app"),
                    "ours_app": lambda: cold_start(
                        sink, root, [*wrapper_cmd, "lsse_app.handler"], "ours_app"
                    ),
                    "ric_app": lambda: cold_start(
                        sink, root, [*ric_cmd, "mangum_app.handler"], "ric_app"
                    ),
                },
            )
        )
        cold = {name: statistics.median(values) for name, values in samples.items()}
        gap = paired_gap(samples["ours_app"], samples["import_app"])
        vs_mangum = paired_gap(samples["ours_app"], samples["ric_app"])
        cpu = {name: statistics.median(values) for name, values in CPU.items()}
        cpu_gap = paired_gap(CPU["ours_app"], CPU["import_app"])
        cpu_vs_mangum = paired_gap(CPU["ours_app"], CPU["ric_app"])
        for label, key in (
            ("`python -m lambda_sse.runtime`", "ours"),
            ("through the exec-wrapper, as on AWS", "wrapper"),
        ):
            rows.append(
                f"| cold start to first GET /next, trivial handler, {label} | "
                f"{cold[key]:.1f} ms | awslambdaric {cold['ric']:.1f} ms | "
                f"{cold[key] / cold['ric']:.2f}x | <= awslambdaric | "
                f"{verdict(cold[key] <= cold['ric'])} |"
            )
        rows.append(
            f"| cold start, FastAPI app via `lambda_sse.asgi`, through the exec-wrapper | "
            f"{cold['ours_app']:.1f} ms | "
            f'`python -c "import app"` {cold["import_app"]:.1f} ms; awslambdaric + Mangum '
            f"{cold['ric_app']:.1f} ms | {gap:+.1f} ms over the import, {vs_mangum:+.1f} ms "
            f"against Mangum (medians of paired runs) | <= import + 10 ms and < Mangum | "
            f"{verdict(gap <= 10 and vs_mangum < 0)} |"
        )
        rows.append(
            f"| CPU time of that cold start (user + sys, steadier than wall time) | "
            f"{cpu['ours_app']:.1f} ms | "
            f'`python -c "import app"` {cpu["import_app"]:.1f} ms; awslambdaric + Mangum '
            f"{cpu['ric_app']:.1f} ms | {cpu_gap:+.1f} ms over the import, "
            f"{cpu_vs_mangum:+.1f} ms against Mangum (medians of paired runs) | "
            f"<= import + 10 ms and < Mangum | {verdict(cpu_gap <= 10 and cpu_vs_mangum < 0)} |"
        )

        log("idle RSS ...")
        rss = interleaved(
            3,
            {
                "ours": lambda: idle_rss(sink, root, [*ours_cmd, "handlers.trivial"]),
                "ric": lambda: idle_rss(sink, root, [*ric_cmd, "handlers.trivial"]),
            },
        )
        rows.append(
            f"| idle RSS, trivial handler | {rss['ours']:.1f} MiB | awslambdaric "
            f"{rss['ric']:.1f} MiB | {rss['ours'] / rss['ric']:.2f}x | <= 20 MB | "
            f"{verdict(rss['ours'] * 1.048576 <= 20)} |"
        )
    finally:
        sink.close()

    print("## Streaming runtime\n")
    print(
        f"Python {platform.python_version()}, loopback, sink in its own process; per-event and "
        f"bulk figures are the best of 3 (2 for bulk) runs of {EVENTS:,} events / "
        f"{BULK_PIECE * BULK_COUNT // 2**20} MiB, cold starts the median of {COLD_RUNS} "
        f"interleaved runs ({APP_RUNS} for the FastAPI app), from cached bytecode; idle RSS after "
        "one invocation, the median of 3.\n"
    )
    print("| measure | lambda-sse | baseline (same run) | ratio | target | |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
