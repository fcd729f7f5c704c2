"""Channels: publish-to-deliver latency and publish throughput, each beside raw clients.

A real ``redis-server`` on a loopback port (started and stopped here) and an SQLite file:

- latency: a separate publisher process publishes one event every few milliseconds, carrying
  its ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process of the machine); the
  subscribers, asyncio tasks of this process, record arrival minus that stamp. Ours:
  ``Channel.publish_sync`` / ``async for event in channel.subscribe()``. Baseline on Redis: raw
  redis-py, ``XADD`` (``MAXLEN ~``) / a loop of ``XREAD BLOCK`` with ``COUNT`` per subscriber.
  Baseline on SQLite: a raw ``sqlite3`` ``INSERT`` / a loop polling ``SELECT`` at the same
  interval as our backend's poll;
- 1,000 subscribers of one channel in one process (one Managed Instances environment), Redis;
- publish throughput: sequential publishes from one client, ours against raw ``XADD``.
Ours and the baseline run alternately, so both see the same machine load.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis
import redis.asyncio as aredis

from _common import log, markdown_table, verdict
from lambda_sse.channels import close_backends_async, open_channel
from lambda_sse.channels.redis import AGE_EVERY
from lambda_sse.sse import ServerSentEvent

SQLITE_POLL = 0.02
THROUGHPUT_N = 300  # per round; many short alternating rounds, best of each
THROUGHPUT_ROUNDS = 30
ROUNDS = 2


# -- servers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found (Debian: apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--maxclients", "5000", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port)
        for _ in range(200):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.02)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


# -- the publisher process ---------------------------------------------------------------------


def _sender(mode: str, url: str, name: str) -> Callable[[str], object]:
    if mode == "ours":
        channel = open_channel(name, url)
        return lambda data: channel.publish_sync(ServerSentEvent(data))
    if mode == "raw-redis":
        client = redis.Redis.from_url(url)
        return lambda data: client.xadd(name, {"d": data}, maxlen=10_000, approximate=True)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS raw (seq INTEGER PRIMARY KEY, data TEXT)")
    return lambda data: conn.execute("INSERT INTO raw (data) VALUES (?)", (data,))


def publisher(mode: str, url: str, name: str, n: int, interval: float) -> None:
    """Runs in its own process: n events, one every ``interval`` s, each stamped."""
    send = _sender(mode, url, name)
    next_at = time.monotonic()
    for _ in range(n):
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        send(repr(time.monotonic()))
    if mode == "ours":
        open_channel(name, url).end_sync()
    else:
        send("end")


def start_publisher(
    mode: str, url: str, name: str, n: int, interval: float
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "publish", mode, url, name, str(n), str(interval)]
    )


# -- subscribers -------------------------------------------------------------------------------


async def ours_subscriber(url: str, name: str, out: list[float], ready: asyncio.Event) -> None:
    subscription = open_channel(name, url).subscribe()
    first = asyncio.ensure_future(anext(subscription))
    ready.set()
    try:
        event = await first
        while True:
            out.append(time.monotonic() - float(event.data or "0"))
            event = await anext(subscription)
    except StopAsyncIteration:
        return


async def raw_redis_subscriber(
    client: aredis.Redis, name: str, out: list[float], ready: asyncio.Event
) -> None:
    last = "0-0"
    ready.set()
    while True:
        reply = await client.xread({name: last}, count=100, block=5000)
        if not reply:
            continue
        for entry_id, fields in reply[0][1]:
            last = entry_id
            data = fields[b"d"]
            if data == b"end":
                return
            out.append(time.monotonic() - float(data))


async def raw_sqlite_subscriber(path: str, out: list[float], ready: asyncio.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    ready.set()
    last = 0
    while True:
        try:
            rows = conn.execute(
                "SELECT seq, data FROM raw WHERE seq > ? ORDER BY seq LIMIT 100", (last,)
            ).fetchall()
        except sqlite3.OperationalError:  # the publisher has not created the table yet
            rows = []
        for seq, data in rows:
            last = seq
            if data == "end":
                conn.close()
                return
            out.append(time.monotonic() - float(data))
        if not rows:
            await asyncio.sleep(SQLITE_POLL)


async def latency(
    kind: str, mode: str, url: str, subscribers: int, n: int, interval: float
) -> list[float]:
    name = f"lat-{kind}-{mode}-{subscribers}-{time.monotonic_ns()}"
    samples: list[list[float]] = [[] for _ in range(subscribers)]
    readies = [asyncio.Event() for _ in range(subscribers)]
    client: aredis.Redis | None = None
    if mode == "ours":
        tasks = [ours_subscriber(url, name, s, r) for s, r in zip(samples, readies, strict=True)]
        pub_url = url
    elif kind == "redis":
        client = aredis.Redis.from_url(url, max_connections=subscribers + 10)
        tasks = [
            raw_redis_subscriber(client, name, s, r) for s, r in zip(samples, readies, strict=True)
        ]
        pub_url = url
    else:
        path = url.removeprefix("sqlite:///").split("?")[0] + f".{name}.raw"
        pub_url = f"sqlite:///{path}"
        sqlite3.connect(path, isolation_level=None).execute("PRAGMA journal_mode = WAL").close()
        tasks = [raw_sqlite_subscriber(path, s, r) for s, r in zip(samples, readies, strict=True)]
    running = [asyncio.ensure_future(t) for t in tasks]
    for ready in readies:
        await ready.wait()
    await asyncio.sleep(0.3)  # every subscriber is waiting in its read
    proc = start_publisher("ours" if mode == "ours" else f"raw-{kind}", pub_url, name, n, interval)
    try:
        await asyncio.wait_for(asyncio.gather(*running), n * interval + 60)
    finally:
        await asyncio.to_thread(proc.wait, 30)
        if client is not None:
            await client.aclose()
        await close_backends_async()
    flat = [x for s in samples for x in s]
    assert len(flat) == n * subscribers, (len(flat), n * subscribers)
    return flat


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


# -- throughput --------------------------------------------------------------------------------


async def throughput(url: str) -> tuple[float, float, float, float]:
    """Publishes per second: ours async, raw async, ours blocking, raw blocking (best rounds)."""
    channel = open_channel(f"tp-{time.monotonic_ns()}", url)
    raw = aredis.Redis.from_url(url)
    raw_sync = redis.Redis.from_url(url)
    key = f"tp-raw-{time.monotonic_ns()}"
    event = ServerSentEvent('{"delta": "token "}')
    best = [0.0, 0.0, 0.0, 0.0]

    async def ours_async() -> None:
        for _ in range(THROUGHPUT_N):
            await channel.publish(event)

    async def raw_async() -> None:
        for _ in range(THROUGHPUT_N):
            await raw.xadd(key, {"d": '{"delta": "token "}'}, maxlen=10_000, approximate=True)

    def ours_sync() -> None:
        for _ in range(THROUGHPUT_N):
            channel.publish_sync(event)

    def raw_blocking() -> None:
        for _ in range(THROUGHPUT_N):
            raw_sync.xadd(key, {"d": '{"delta": "token "}'}, maxlen=10_000, approximate=True)

    await ours_async()  # warm up: connections, script load
    await raw_async()
    for _ in range(THROUGHPUT_ROUNDS):
        for i, run in enumerate((ours_async, raw_async)):
            start = time.perf_counter()
            await run()
            best[i] = max(best[i], THROUGHPUT_N / (time.perf_counter() - start))
        for i, run_sync in ((2, ours_sync), (3, raw_blocking)):
            start = time.perf_counter()
            run_sync()
            best[i] = max(best[i], THROUGHPUT_N / (time.perf_counter() - start))
    await raw.aclose()
    raw_sync.close()
    await close_backends_async()
    return best[0], best[1], best[2], best[3]


# -- main --------------------------------------------------------------------------------------


async def measure(redis_url: str, sqlite_url: str) -> str:
    rows: list[list[object]] = []
    cases = [
        ("Redis", "redis", redis_url, 1, 1000, 0.005, (0.3, 1.0)),
        ("Redis", "redis", redis_url, 100, 300, 0.02, (None, 10.0)),
        ("SQLite", "sqlite", sqlite_url, 1, 300, 0.01, (None, 100.0)),
        ("SQLite", "sqlite", sqlite_url, 100, 150, 0.02, (None, 100.0)),
        ("Redis, 1 process (Managed Instances)", "redis", redis_url, 1000, 100, 0.05, (None, None)),
    ]
    for title, kind, url, subs, n, interval, (p50_extra, p99_target) in cases:
        ours: list[float] = []
        raw: list[float] = []
        for _ in range(ROUNDS):
            log(f"latency {title} x{subs}: ours")
            ours += await latency(kind, "ours", url, subs, n, interval)
            log(f"latency {title} x{subs}: raw")
            raw += await latency(kind, "raw", url, subs, n, interval)
        o50, o99, r50, r99 = pct(ours, 50), pct(ours, 99), pct(raw, 50), pct(raw, 99)
        targets = []
        met = []
        if p50_extra is not None:
            targets.append(f"p50 <= raw + {p50_extra} ms")
            met.append(o50 <= r50 + p50_extra)
        if p99_target is not None and subs == 1 and kind == "redis":
            targets.append(f"p99 <= raw + {p99_target} ms")
            met.append(o99 <= r99 + p99_target)
        elif p99_target is not None:
            targets.append(f"p99 <= {p99_target:.0f} ms")
            met.append(o99 <= p99_target)
        rows.append(
            [
                f"{title}, {subs} subscriber{'s' if subs > 1 else ''}",
                f"{n * subs * ROUNDS:,}",
                f"{o50:.2f}",
                f"{o99:.2f}",
                f"{r50:.2f}",
                f"{r99:.2f}",
                "; ".join(targets) or "none set",
                ("met" if all(met) else "NOT met") if met else "-",
            ]
        )
    log("throughput")
    ours_a, raw_a, ours_s, raw_s = await throughput(redis_url)
    tp_rows = [
        ["async (`await publish`)", f"{ours_a:,.0f}", f"{raw_a:,.0f}", f"{ours_a / raw_a:.2f}x",
         ">= 0.8x", verdict(ours_a / raw_a, 0.8)],
        ["blocking (`publish_sync`)", f"{ours_s:,.0f}", f"{raw_s:,.0f}", f"{ours_s / raw_s:.2f}x",
         ">= 0.8x", verdict(ours_s / raw_s, 0.8)],
    ]  # fmt: skip
    lines = [
        "## Channels",
        "",
        "Publish-to-deliver latency in ms: a publisher process publishes at a steady pace, each "
        "event stamped with CLOCK_MONOTONIC; asyncio subscribers in one other process record "
        "arrival minus stamp. Baselines in the same run, alternating: raw redis-py (`XADD "
        "MAXLEN ~` / one `XREAD BLOCK COUNT 100` loop per subscriber) and a raw `sqlite3` "
        f"`INSERT` / `SELECT` polled every {SQLITE_POLL * 1000:.0f} ms, the same interval as the "
        f"SQLite backend's default poll (`?poll={SQLITE_POLL}`), which bounds its latency. "
        "Real `redis-server` 7 on loopback; SQLite file in WAL mode on local disk.",
        "",
        markdown_table(
            [
                "case",
                "events delivered",
                "ours p50",
                "ours p99",
                "raw p50",
                "raw p99",
                "target",
                "verdict",
            ],
            rows,
        ),
        "",
        f"Publish throughput on Redis, publishes/s from one client: rounds of {THROUGHPUT_N:,} "
        f"sequential publishes, ours and raw alternating, best of {THROUGHPUT_ROUNDS} rounds each. "
        "Ours is `Channel.publish`: one `XADD` with an explicit id (the channel's next seq) and "
        f"`MAXLEN ~` (default retention: 10,000 events, one day; the age check, at most every "
        f"{AGE_EVERY}th publish, waits until the oldest entry can have expired); raw is a bare "
        "`XADD MAXLEN ~` with an automatic id.",
        "",
        markdown_table(
            ["client", "ours", "raw redis-py XADD", "ratio", "target", "verdict"], tp_rows
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "publish":
        mode, url, name, n, interval = sys.argv[2:7]
        publisher(mode, url, name, int(n), float(interval))
        return
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url:
        sqlite_url = f"sqlite:///{tmp}/channels.db"
        os.environ.pop("LAMBDA_SSE_CHANNELS_URL", None)
        print(asyncio.run(measure(redis_url, sqlite_url)))


if __name__ == "__main__":
    main()
