"""Soak through the real ``lambda-sse dev``: one publisher, 20 subscribers through both front
doors (REST API STREAM with an ASGI EventSourceResponse, Function URL with a plain
streamify_response handler), a 2 s function timeout that forces well over 100 deadline closes
and reconnects, and random client disconnects. Every subscriber must get every event exactly
once, in order. Bounded well under 60 s."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from lambda_sse.channels import close_backends_async, open_channel
from lambda_sse.sse import SSEDecoder
from tests.examples.devserver import dev_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(120)]

PROJECT = Path(__file__).parent / "soak_project"
SUBSCRIBERS_PER_DOOR = 10
EVENTS = 450
PUBLISH_EVERY = 0.03  # about 14 s of publishing
BOUND = 55.0  # seconds for the whole soak, startup excluded


@dataclass
class Client:
    url: str
    rng: random.Random
    received: list[tuple[str, str]] = field(default_factory=list)
    last_id: str = ""
    deadline_closes: int = 0
    disconnects: int = 0
    connections: int = 0

    async def run(self, http: httpx.AsyncClient, published: asyncio.Event) -> None:
        while True:
            self.connections += 1
            assert self.connections < 500, "runaway reconnect loop"
            headers = {"last-event-id": self.last_id} if self.last_id else {}
            # A third of the connections are dropped by the client after a few events.
            drop_after = self.rng.randint(1, 15) if self.rng.random() < 0.33 else None
            decoder = SSEDecoder()
            got = 0
            dropped = False
            async with http.stream("GET", self.url, headers=headers) as response:
                assert response.status_code == 200, await response.aread()
                async for chunk in response.aiter_raw():
                    for event in decoder.feed(chunk):
                        if event.data is None:
                            continue
                        self.received.append((event.id or "", event.data))
                        self.last_id = event.id or ""
                        got += 1
                    if drop_after is not None and got >= drop_after:
                        dropped = True
                        break
            if dropped:
                self.disconnects += 1
            elif decoder.retry is not None:
                self.deadline_closes += 1
            elif published.is_set():
                return  # the stream ended without a retry hint: the channel has ended
            await asyncio.sleep(decoder.retry / 1000 if decoder.retry else 0.05)


async def test_soak_exactly_once_across_deadlines_and_disconnects(tmp_path: Path) -> None:
    project = tmp_path / "soak"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".lambda-sse", "__pycache__"))
    name = "soak"
    url = f"sqlite:///{project.resolve()}/.lambda-sse/channels.db"
    with dev_server(project, tmp_path, url_functions=1) as server:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=httpx.Timeout(20.0), limits=limits) as http:
            # A publisher function and the subscriber functions share the channel: the first
            # event comes from a function, through dev's default SQLite file.
            reply = await http.post(f"{server.rest}/soak/publish/{name}?data=e0")
            assert reply.status_code == 200, reply.text
            published: list[tuple[str, str]] = [(reply.json()["id"], "e0")]
            assert (project / ".lambda-sse" / "channels.db").is_file()

            rng = random.Random(1234)
            clients = [
                Client(f"{server.rest}/soak/feed/{name}", random.Random(rng.random()))
                for _ in range(SUBSCRIBERS_PER_DOOR)
            ] + [
                Client(f"{server.url(1)}/?channel={name}", random.Random(rng.random()))
                for _ in range(SUBSCRIBERS_PER_DOOR)
            ]
            done = asyncio.Event()
            channel = open_channel(name, url)

            async def publish() -> None:
                for i in range(1, EVENTS):
                    published.append((await channel.publish(f"e{i}"), f"e{i}"))
                    await asyncio.sleep(PUBLISH_EVERY)
                await channel.end()
                done.set()

            started = time.monotonic()
            try:
                await asyncio.wait_for(
                    asyncio.gather(publish(), *(c.run(http, done) for c in clients)), BOUND
                )
            finally:
                await close_backends_async()
            elapsed = time.monotonic() - started
    for k, client in enumerate(clients):
        door = "REST" if k < SUBSCRIBERS_PER_DOOR else "Function URL"
        assert len(client.received) == len(set(client.received)), f"{door} client {k}: duplicates"
        assert client.received == published, f"{door} client {k}: lost or out of order"
    deadline_closes = sum(c.deadline_closes for c in clients)
    disconnects = sum(c.disconnects for c in clients)
    for group in (clients[:SUBSCRIBERS_PER_DOOR], clients[SUBSCRIBERS_PER_DOOR:]):
        assert sum(c.deadline_closes for c in group) >= 40
    assert deadline_closes >= 100, deadline_closes
    assert disconnects >= 20, disconnects
    assert elapsed < BOUND
    print(
        f"soak: {len(clients)} subscribers x {len(published)} events in {elapsed:.1f} s, "
        f"{deadline_closes} deadline closes, {disconnects} client disconnects"
    )
