"""Property: any interleaving of publishes, subscriber disconnects and resumes (each resume from
the last id the subscriber saw, as an EventSource sends Last-Event-ID) delivers every event to
every subscriber exactly once, in publish order; on every backend, async and blocking."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_sse.channels import Channel, close_backends, open_channel
from lambda_sse.sse import ServerSentEvent
from tests.channels.backends import Target

SUBSCRIBERS = 3
_names = itertools.count()

# An operation: ("publish", n) | ("read", subscriber, k) | ("drop", subscriber) | ("resume", s)
Op = tuple[int | str, ...]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.integers(1, 4)),
        st.tuples(st.just("read"), st.integers(0, SUBSCRIBERS - 1), st.integers(1, 5)),
        st.tuples(st.just("drop"), st.integers(0, SUBSCRIBERS - 1)),
        st.tuples(st.just("resume"), st.integers(0, SUBSCRIBERS - 1)),
    ),
    max_size=25,
)


@dataclass
class Sub:
    received: list[ServerSentEvent] = field(default_factory=list)
    live: Generator[ServerSentEvent, None, None] | None = None
    alive: AsyncGenerator[ServerSentEvent, None] | None = None

    @property
    def last_id(self) -> str:
        return self.received[-1].id or "" if self.received else ""


def _check(published: list[tuple[str, str]], subs: list[Sub]) -> None:
    for sub in subs:
        assert [(e.id, e.data) for e in sub.received] == published


def _run_sync(channel: Channel, program: list[Op]) -> None:
    published: list[tuple[str, str]] = []
    subs = [Sub() for _ in range(SUBSCRIBERS)]
    for op in program:
        if op[0] == "publish":
            for _ in range(int(op[1])):
                data = f"e{len(published)}"
                published.append((channel.publish_sync(ServerSentEvent(data)), data))
            continue
        sub = subs[int(op[1])]
        if op[0] == "drop" and sub.live is not None:
            sub.live.close()
            sub.live = None
        elif op[0] == "resume" and sub.live is None:
            sub.live = channel.subscribe_sync(sub.last_id, batch=2)
        elif op[0] == "read" and sub.live is not None:
            available = len(published) - len(sub.received)
            for _ in range(min(int(op[2]), available)):  # never blocks: these exist
                sub.received.append(next(sub.live))
    channel.end_sync()
    for sub in subs:
        if sub.live is not None:
            sub.live.close()
        sub.received += channel.subscribe_sync(sub.last_id, batch=3)
    _check(published, subs)


async def _run_async(channel: Channel, program: list[Op]) -> None:
    published: list[tuple[str, str]] = []
    subs = [Sub() for _ in range(SUBSCRIBERS)]
    for op in program:
        if op[0] == "publish":
            for _ in range(int(op[1])):
                data = f"e{len(published)}"
                published.append((await channel.publish(ServerSentEvent(data)), data))
            continue
        sub = subs[int(op[1])]
        if op[0] == "drop" and sub.alive is not None:
            await sub.alive.aclose()
            sub.alive = None
        elif op[0] == "resume" and sub.alive is None:
            sub.alive = channel.subscribe(sub.last_id, batch=2)
        elif op[0] == "read" and sub.alive is not None:
            available = len(published) - len(sub.received)
            for _ in range(min(int(op[2]), available)):
                sub.received.append(await asyncio.wait_for(anext(sub.alive), 10))
    await channel.end()
    for sub in subs:
        if sub.alive is not None:
            await sub.alive.aclose()
        sub.received += [e async for e in channel.subscribe(sub.last_id, batch=3)]
    _check(published, subs)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=ops)
def test_exactly_once_in_order_across_disconnects(target: Target, program: list[Op]) -> None:
    url = target.url({})
    try:
        _run_sync(open_channel(f"p{next(_names)}", url), program)

        async def run_async() -> None:
            from lambda_sse.channels import close_backends_async

            try:
                await _run_async(open_channel(f"p{next(_names)}", url), program)
            finally:
                await close_backends_async()

        asyncio.run(run_async())
    finally:
        close_backends()
