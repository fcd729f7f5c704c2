"""The DynamoDB channel backend against a local DynamoDB-compatible server (moto's server mode):
publish-to-deliver latency and read requests, beside Redis's blocking reads and fixed polling.

Indicative only: moto answers in about a millisecond on loopback, DynamoDB in a few (single-digit
ms), so the figures show what the polling schedule adds, not DynamoDB's own latency.

- Latency: one publisher and one subscriber (separate backends, as two Lambdas would be) per
  contender, all running at once in one event loop: 20 events 0.25 s apart, 20 at 0.5 s, 20 at
  1 s. Each event carries its publish time; the delay is measured when the subscriber's
  ``Channel.subscribe`` yields it. Contenders: ``dynamodb://`` with the default adaptive polling
  (``poll=0.1,1``), ``dynamodb://`` polling every second (``poll=1,1``: the same idle read budget
  without adaptation), and ``redis://`` (XREAD BLOCK: the server pushes, no polling).
- Reads: counted from the requests boto3 sends (botocore's before-send hook), for the latency
  run (per event delivered) and for subscribers left idle for a minute on channels whose last
  event is old.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from tests.support.moto_server import create_table, dummy_credentials, moto_server  # noqa: E402
from tests.support.redis_server import redis_server  # noqa: E402

from _common import log, markdown_table  # noqa: E402
from lambda_sse.channels import Channel, Retention, open_channel  # noqa: E402
from lambda_sse.channels.dynamodb import DynamoDBBackend  # noqa: E402
from lambda_sse.channels.polling import PollSchedule  # noqa: E402
from lambda_sse.channels.redis import open_backend as open_redis  # noqa: E402
from lambda_sse.channels.urls import parse_url  # noqa: E402

GAPS = [0.25] * 20 + [0.5] * 20 + [1.0] * 20
IDLE_SUBSCRIBERS = 10
IDLE_SECONDS = 60.0
P99_TARGET_MS = 500.0
IDLE_TARGET = 60.0
JOB_STEPS = 20


class Counted:
    """A DynamoDB client whose requests are counted by operation."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seen: Counter[str] = Counter()
        client.meta.events.register("before-send.dynamodb", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.seen[request.headers["X-Amz-Target"].decode().rpartition(".")[2]] += 1


def dynamodb(client: Any, table: str, poll: PollSchedule) -> DynamoDBBackend:
    return DynamoDBBackend(
        client, table, display_url=f"dynamodb://{table}", retention=Retention(), poll=poll
    )


async def run_latency(publisher: Channel, subscriber: Channel) -> list[float]:
    delays: list[float] = []

    async def follow() -> None:
        async for event in subscriber.subscribe():
            sent = json.loads(event.data or "{}").get("t")
            if sent is not None:
                delays.append((time.time() - sent) * 1000)

    task = asyncio.ensure_future(follow())
    await asyncio.sleep(2.0)  # the subscriber settles into idle polling first
    for gap in GAPS:
        await asyncio.sleep(gap)
        await publisher.publish(json.dumps({"t": time.time()}))
    await publisher.end()
    await asyncio.wait_for(task, 30)
    return delays


async def reference_job(publisher: Channel, subscriber: Channel) -> None:
    """The costs table's job (docs/jobs.md): queued, 20 steps a second apart, done, end; one
    watcher following from the start."""

    async def follow() -> None:
        async for _ in subscriber.subscribe():
            pass

    await publisher.publish("queued")
    task = asyncio.ensure_future(follow())
    for step in range(1, JOB_STEPS + 1):
        await asyncio.sleep(1.0)
        await publisher.publish(json.dumps({"step": step}))
    await publisher.publish("done")
    await publisher.end()
    await asyncio.wait_for(task, 30)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def idle_reads(client: Counted, table: str, poll: PollSchedule) -> float:
    """Query requests per subscriber-minute of IDLE_SUBSCRIBERS subscribers of old channels."""
    writer = dynamodb(client.client, table, poll)
    names = [f"idle-{i}" for i in range(IDLE_SUBSCRIBERS)]
    for name in names:
        await Channel(name, writer).publish("long ago")
    reader = dynamodb(client.client, table, poll)
    await asyncio.sleep(5.0)  # "long ago": the schedule reads each channel's last write time

    async def follow(name: str) -> None:
        async for _ in Channel(name, reader).subscribe():
            pass  # the one old event; then nothing

    client.seen.clear()
    tasks = [asyncio.ensure_future(follow(name)) for name in names]
    await asyncio.sleep(IDLE_SECONDS)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return client.seen["Query"] / IDLE_SUBSCRIBERS * (60.0 / IDLE_SECONDS)


async def main_async(tmp: Path) -> str:
    with moto_server(tmp) as server, dummy_credentials(), redis_server(tmp / "redis") as redis:
        admin = server.client()
        for table in ("adaptive", "fixed", "idle", "idle-fixed", "job"):
            create_table(admin, table)
        adaptive_sub, fixed_sub, idle, idle_fixed, job = (
            Counted(server.client()) for _ in range(5)
        )
        runs = {
            "adaptive": (
                Channel("c", dynamodb(server.client(), "adaptive", PollSchedule())),
                Channel("c", dynamodb(adaptive_sub.client, "adaptive", PollSchedule())),
            ),
            "fixed": (
                Channel("c", dynamodb(server.client(), "fixed", PollSchedule(1.0, 1.0))),
                Channel("c", dynamodb(fixed_sub.client, "fixed", PollSchedule(1.0, 1.0))),
            ),
            "redis": (
                open_channel("c", f"{redis.url}?prefix=bench-pub:"),
                Channel("c", open_redis(parse_url(f"{redis.url}?prefix=bench-pub:"))),
            ),
        }
        log(f"latency: {len(GAPS)} events per contender, {sum(GAPS):.0f} s")
        job_run = reference_job(
            Channel("job", dynamodb(job.client, "job", PollSchedule())),
            Channel("job", dynamodb(job.client, "job", PollSchedule())),
        )
        *results, _ = await asyncio.gather(*(run_latency(p, s) for p, s in runs.values()), job_run)
        delays = dict(zip(runs, results, strict=True))
        reads_per_event = {
            "adaptive": adaptive_sub.seen["Query"] / len(GAPS),
            "fixed": fixed_sub.seen["Query"] / len(GAPS),
        }
        log(f"idle: {IDLE_SUBSCRIBERS} subscribers for {IDLE_SECONDS:.0f} s")
        idle_per_minute, fixed_per_minute = await asyncio.gather(
            idle_reads(idle, "idle", PollSchedule()),
            idle_reads(idle_fixed, "idle-fixed", PollSchedule(1.0, 1.0)),
        )

    for name, values in delays.items():
        assert len(values) == len(GAPS), (name, len(values))
    p50 = {k: statistics.median(v) for k, v in delays.items()}
    p99 = {k: pct(v, 0.99) for k, v in delays.items()}
    met = "met" if p99["adaptive"] <= P99_TARGET_MS else "NOT met"
    idle_met = "met" if idle_per_minute <= IDLE_TARGET else "NOT met"
    job_reads = job.seen["Query"] + job.seen["GetItem"]
    job_writes = job.seen["PutItem"] + job.seen["DeleteItem"]
    rows = [
        [
            "publish-to-deliver p50, ms",
            f"{p50['adaptive']:.0f}",
            f"{p50['fixed']:.0f} (poll every 1 s) · {p50['redis']:.1f} (Redis XREAD BLOCK)",
            "",
            "",
        ],
        [
            "publish-to-deliver p99, ms",
            f"{p99['adaptive']:.0f}",
            f"{p99['fixed']:.0f} (poll every 1 s) · {p99['redis']:.1f} (Redis XREAD BLOCK)",
            f"<= {P99_TARGET_MS:.0f}",
            met,
        ],
        [
            "Query requests per event delivered (events 0.25-1 s apart)",
            f"{reads_per_event['adaptive']:.1f}",
            f"{reads_per_event['fixed']:.1f} (poll every 1 s)",
            "",
            "",
        ],
        [
            f"one job ({JOB_STEPS} steps 1 s apart, one watcher): reads / writes",
            f"{job_reads} / {job_writes}",
            "",
            "",
            "",
        ],
        [
            "Query requests per idle subscriber-minute (counted)",
            f"{idle_per_minute:.1f}",
            f"{fixed_per_minute:.1f} (poll every 1 s)",
            f"<= {IDLE_TARGET:.0f}",
            idle_met,
        ],
    ]
    intro = (
        "A publisher and a subscriber per contender, separate backends as two Lambdas would be, "
        "all at once: 60 events (20 each 0.25 s, 0.5 s and 1 s apart), delay from publish to "
        "the subscriber's `Channel.subscribe` yielding it. DynamoDB is moto's server on "
        "loopback (about 1 ms a request; DynamoDB itself takes a few ms), so the figures are "
        "indicative: what the polling schedule adds. Requests counted from what boto3 sent. "
        f"Idle: {IDLE_SUBSCRIBERS} subscribers of channels whose last event is old, "
        f"{IDLE_SECONDS:.0f} s, from their first read. One job: the costs table's job in "
        "docs/jobs.md (queued, 20 steps a second apart, done, end; a watcher from the start), "
        "every request of publisher and watcher."
    )
    header = ["figure", "dynamodb:// (adaptive, default)", "baselines", "target", "verdict"]
    return f"## DynamoDB channels\n\n{intro}\n\n{markdown_table(header, rows)}\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(asyncio.run(main_async(Path(tmp))))


if __name__ == "__main__":
    main()
