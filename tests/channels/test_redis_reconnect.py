"""A real redis-server killed (SIGKILL) and restarted under live subscribers: they reconnect
with backoff and resume from their last id, nothing lost, nothing repeated; a publish while it
is down raises the typed error at once."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from lambda_sse.channels import open_channel
from lambda_sse.errors import ChannelUnavailableError
from tests.support.redis_server import redis_server

pytestmark = pytest.mark.anyio


async def test_subscribers_survive_a_redis_restart(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis", appendonly=True) as server:
        url = server.url
        channel = open_channel("restart", url)
        got_async: list[str] = []
        got_sync: list[str] = []

        async def follow() -> None:
            async for event in open_channel("restart", url).subscribe():
                got_async.append(event.id or "")

        def follow_sync() -> None:
            for event in open_channel("restart", url).subscribe_sync():
                got_sync.append(event.id or "")

        thread = threading.Thread(target=follow_sync, daemon=True)
        thread.start()
        task = asyncio.ensure_future(follow())
        try:
            ids = [await channel.publish(f"before {i}") for i in range(10)]
            await _until(lambda: len(got_async) == len(got_sync) == 10)

            server.kill()
            started = time.monotonic()
            with pytest.raises(ChannelUnavailableError) as info:
                await channel.publish("while down")
            with pytest.raises(ChannelUnavailableError):
                channel.publish_sync("while down")
            assert time.monotonic() - started < 10.0
            assert "redis" not in type(info.value).__module__
            await asyncio.sleep(0.5)  # the subscribers are retrying now
            assert not task.done()

            server.start()  # same port, same data (append-only file, fsync always)
            ids += [await channel.publish(f"after {i}") for i in range(10)]
            ids.append(await channel.end())
            await asyncio.wait_for(task, 30)
            await asyncio.to_thread(thread.join, 30)
            assert not thread.is_alive()
        finally:
            task.cancel()
        assert got_async == ids[:-1]
        assert got_sync == ids[:-1]


async def _until(condition: object, within: float = 10.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
