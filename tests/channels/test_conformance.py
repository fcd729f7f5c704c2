"""The conformance suite every channel backend passes (backends.py lists them): the rules of
lambda_sse.channels.backend, through the public API, async and blocking."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import pytest

from lambda_sse.channels import GAP_EVENT, open_channel
from lambda_sse.channels.backend import MAX_ID_LENGTH, Entry
from lambda_sse.errors import (
    ChannelEndedError,
    ChannelUnavailableError,
    InvalidChannelNameError,
    LambdaSSEError,
)
from lambda_sse.sse import ServerSentEvent, SSEDecoder
from tests.channels.backends import Target

pytestmark = pytest.mark.anyio

VALID_ID = re.compile(rf"[!-~]{{1,{MAX_ID_LENGTH}}}")  # printable ASCII, no space


def _url(target: Target, **query: str) -> str:
    return target.url(dict(query))


def _drain_sync(
    channel_url: str, name: str, last: str = "", batch: int = 100
) -> list[ServerSentEvent]:
    return list(open_channel(name, channel_url).subscribe_sync(last, batch=batch))


async def _drain(
    channel_url: str, name: str, last: str = "", batch: int = 100
) -> list[ServerSentEvent]:
    return [e async for e in open_channel(name, channel_url).subscribe(last, batch=batch)]


def _gap(event: ServerSentEvent) -> dict[str, object]:
    assert event.event == GAP_EVENT
    assert event.id is None  # a browser's lastEventId must stay on the last real event
    data: dict[str, object] = json.loads(event.data or "")
    return data


# -- publish and replay ------------------------------------------------------------------------


async def test_ids_are_valid_increasing_and_replay_in_order(target: Target) -> None:
    url = _url(target)
    channel = open_channel("orders", url)
    ids = [await channel.publish(ServerSentEvent(f"e{i}")) for i in range(5)]
    ids += [channel.publish_sync(f"e{i}") for i in range(5, 10)]
    assert all(VALID_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 10
    await channel.end()
    for events in (await _drain(url, "orders"), _drain_sync(url, "orders")):
        assert [e.data for e in events] == [f"e{i}" for i in range(10)]
        assert [e.id for e in events] == ids


async def test_history_exists_and_holds_answer_at_once(target: Target) -> None:
    url = _url(target, max_length="3")
    channel = open_channel("now", url)
    assert not await channel.exists()
    assert not channel.exists_sync()
    assert [e async for e in channel.history()] == []  # returns at once: nothing to wait for
    ids = [await channel.publish(f"e{i}") for i in range(3)]
    assert await channel.exists()
    assert channel.exists_sync()
    assert await channel.holds(ids[1])
    assert channel.holds_sync(ids[1])
    for unknown in ("", "no-such-id"):
        assert not await channel.holds(unknown)
        assert not channel.holds_sync(unknown)
    # Without end(), history still stops at the last stored event; batch bounds each read.
    started = time.monotonic()
    everything = [e async for e in channel.history(batch=2)]
    assert time.monotonic() - started < 2.0  # no blocking read (subscribe would wait 5 s)
    assert [(e.id, e.data) for e in everything] == [(i, f"e{n}") for n, i in enumerate(ids)]
    after_first = list(channel.history_sync(ids[0], batch=2))
    assert [e.data for e in after_first] == ["e1", "e2"]
    # Past retention (Redis trims whole stream nodes: publish well past them): the gap event
    # first, then what is still held, as subscribe does; the end stops it.
    ids += [channel.publish_sync(f"e{i}") for i in range(3, 350)]
    await channel.end()
    replay = [e async for e in channel.history(ids[0])]
    assert _gap(replay[0])["reason"] == "unknown-id"
    kept = [e.id for e in replay[1:]]
    assert 3 <= len(kept) < 350
    assert kept == ids[-len(kept) :]
    assert not await channel.holds(ids[0])
    assert [e.id for e in channel.history_sync()] == kept


async def test_fields_round_trip_and_the_channel_assigns_the_id(target: Target) -> None:
    url = _url(target)
    channel = open_channel("fields", url)
    sent = [
        ServerSentEvent("line 1\nline 2\r\nline 3", event="multi"),
        ServerSentEvent("", event="empty-data"),
        ServerSentEvent(None, event="no-data"),
        ServerSentEvent("héllo ✓ 😀 \x00 nul", retry=2500),
        ServerSentEvent("c", comment="note"),
        ServerSentEvent("mine", id="my-own-id"),
        ServerSentEvent(" leading space "),
    ]
    ids = [await channel.publish(e) for e in sent]
    assert "my-own-id" not in ids
    await channel.end()
    got = await _drain(url, "fields")
    assert got == [
        ServerSentEvent(e.data, event=e.event, id=i, retry=e.retry, comment=e.comment)
        for e, i in zip(sent, ids, strict=True)
    ]
    # What a client decodes from the encoded stream is what was published, with the ids.
    decoder = SSEDecoder()
    decoded = decoder.feed(b"".join(e.encode() for e in got))
    assert [d.data for d in decoded if d.data] == [
        e.data.replace("\r\n", "\n") for e in sent if e.data
    ]
    assert decoder.last_event_id == ids[-1]


async def test_resume_after_every_id(target: Target) -> None:
    url = _url(target)
    channel = open_channel("resume", url)
    ids = [channel.publish_sync(str(i)) for i in range(6)]
    channel.end_sync()
    for k, last in enumerate(ids):
        assert [e.data for e in await _drain(url, "resume", last)] == [
            str(i) for i in range(k + 1, 6)
        ]
        assert [e.id for e in _drain_sync(url, "resume", last)] == ids[k + 1 :]


async def test_channels_are_separate(target: Target) -> None:
    url = _url(target)
    a, b = open_channel("a", url), open_channel("a:b", url)
    await a.publish("to a")
    await b.publish("to b")
    await a.end()
    await b.end()
    assert [e.data for e in await _drain(url, "a")] == ["to a"]
    assert [e.data for e in await _drain(url, "a:b")] == ["to b"]


async def test_small_batches_deliver_everything_once(target: Target) -> None:
    url = _url(target)
    channel = open_channel("batches", url)
    ids = [channel.publish_sync(str(i)) for i in range(23)]
    channel.end_sync()
    assert [e.id for e in await _drain(url, "batches", batch=4)] == ids
    assert [e.id for e in _drain_sync(url, "batches", batch=1)] == ids


async def test_backend_read_is_bounded_and_waits_at_most_block(target: Target) -> None:
    channel = open_channel("bounded", _url(target))
    backend = channel.backend
    ids = [backend.append("bounded", Entry(data=str(i))) for i in range(12)]
    assert [r.id for r in backend.read("bounded", "", 5, 0)] == ids[:5]
    assert [r.id for r in await backend.read_async("bounded", ids[4], 5, 0)] == ids[5:10]
    assert [r.seq for r in backend.read("bounded", ids[9], 5, 0)] == [11, 12]
    start = time.monotonic()
    assert backend.read("bounded", ids[-1], 5, 0.3) == []
    assert await backend.read_async("bounded", ids[-1], 5, 0.3) == []
    assert 0.5 <= time.monotonic() - start < 5.0
    assert backend.find("bounded", ids[3]) == 4
    assert await backend.find_async("bounded", ids[3]) == 4
    for bad in ("", "nope", "01", "1-", "-1", "99999999999999999999999-0", "\u0661"):
        assert backend.find("bounded", bad) is None


# -- following live ----------------------------------------------------------------------------


async def test_subscribers_follow_new_events_live(target: Target) -> None:
    url = _url(target)
    channel = open_channel("live", url)
    first = await channel.publish("before")
    received: list[list[str]] = [[], [], []]

    async def follow(into: list[str], last: str) -> None:
        async for event in open_channel("live", url).subscribe(last):
            into.append(event.data or "")

    def follow_sync(into: list[str]) -> None:
        for event in open_channel("live", url).subscribe_sync():
            into.append(event.data or "")

    thread = threading.Thread(target=follow_sync, args=(received[2],), daemon=True)
    thread.start()
    tasks = [
        asyncio.ensure_future(follow(received[0], "")),
        asyncio.ensure_future(follow(received[1], first)),
    ]
    await asyncio.sleep(0.3)
    for i in range(5):
        await channel.publish(f"live {i}")
        await asyncio.sleep(0.01)
    await channel.end()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive()
    live = [f"live {i}" for i in range(5)]
    assert received == [["before", *live], live, ["before", *live]]


async def test_aclose_stops_a_waiting_subscription(target: Target) -> None:
    url = _url(target)
    channel = open_channel("closing", url)
    await channel.publish("one")
    subscription = channel.subscribe()
    assert (await subscription.__anext__()).data == "one"
    waiting = asyncio.ensure_future(subscription.__anext__())
    await asyncio.sleep(0.2)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.wait_for(subscription.aclose(), 5)
    # The channel still works for the next subscriber.
    await channel.publish("two")
    await channel.end()
    assert [e.data for e in await _drain(url, "closing")] == ["one", "two"]


# -- end ---------------------------------------------------------------------------------------


async def test_end_stops_subscribers_and_refuses_publish(target: Target) -> None:
    url = _url(target)
    channel = open_channel("ending", url)
    last = await channel.publish("only")
    end_id = await channel.end()
    assert VALID_ID.fullmatch(end_id)
    with pytest.raises(ChannelEndedError):
        await channel.publish("late")
    with pytest.raises(ChannelEndedError):
        channel.publish_sync("late")
    with pytest.raises(ChannelEndedError):
        channel.end_sync()
    assert [e.data for e in await _drain(url, "ending")] == ["only"]
    assert await asyncio.wait_for(_drain(url, "ending", last), 5) == []
    assert _drain_sync(url, "ending", last) == []


# -- gaps --------------------------------------------------------------------------------------


@pytest.mark.parametrize("unknown", ["garbage", "0", "99999", "99999999999999-0", "1-1-1"])
async def test_an_unknown_id_yields_a_gap_then_everything_retained(
    target: Target, unknown: str
) -> None:
    url = _url(target)
    channel = open_channel("unknown", url)
    ids = [await channel.publish(str(i)) for i in range(3)]
    await channel.end()
    for events in (await _drain(url, "unknown", unknown), _drain_sync(url, "unknown", unknown)):
        assert _gap(events[0]) == {"reason": "unknown-id", "last_event_id": unknown, "lost": None}
        assert [e.id for e in events[1:]] == ids


async def test_an_id_past_retention_yields_a_gap(target: Target) -> None:
    url = _url(target, max_length="3")
    channel = open_channel("short", url)
    # Redis trims whole stream nodes (MAXLEN ~, 100 entries each): publish well past them.
    ids = [channel.publish_sync(str(i)) for i in range(350)]
    await channel.end()
    events = await _drain(url, "short")
    kept = [e.id for e in events]
    assert 3 <= len(kept) < 350
    assert kept == ids[-len(kept) :]  # no gap event: a fresh start has lost nothing
    events = await _drain(url, "short", ids[0])
    assert _gap(events[0])["reason"] == "unknown-id"
    assert [e.id for e in events[1:]] == kept
    assert channel.backend.find("short", ids[0]) is None


async def test_a_subscriber_that_falls_behind_retention_is_told(target: Target) -> None:
    url = _url(target, max_length="3")
    channel = open_channel("lagging", url)
    ids = [channel.publish_sync(str(i)) for i in range(5)]
    subscription = channel.subscribe(batch=1)
    first = await subscription.__anext__()
    assert first.id in ids
    more = [channel.publish_sync(str(i)) for i in range(5, 400)]
    channel.end_sync()
    rest = [e async for e in subscription]
    gap = _gap(rest[0])
    assert gap["reason"] == "pruned"
    assert gap["last_event_id"] == first.id
    delivered = [e.id for e in rest[1:]]
    all_ids = ids + more
    assert isinstance(gap["lost"], int)
    assert gap["lost"] > 0
    start = all_ids.index(first.id or "") + 1 + int(gap["lost"])
    assert delivered == all_ids[start:]


async def test_retention_by_age(target: Target) -> None:
    url = _url(target, max_age="0.5")
    channel = open_channel("aging", url)
    old = await channel.publish("old")
    await asyncio.sleep(0.8)
    # A backend may prune lazily (every few publishes); 40 publishes leave it no excuse.
    new = [await channel.publish(f"new {i}") for i in range(40)]
    await channel.end()
    assert channel.backend.find("aging", old) is None
    assert channel.backend.find("aging", new[0]) is not None
    assert [e.data for e in await _drain(url, "aging")] == [f"new {i}" for i in range(40)]


# -- concurrency -------------------------------------------------------------------------------


async def test_concurrent_publishers_get_unique_ids_in_one_order(target: Target) -> None:
    url = _url(target)
    published: list[list[str]] = [[] for _ in range(4)]

    def publish(k: int) -> None:
        channel = open_channel("crowd", url)
        for i in range(40):
            published[k].append(channel.publish_sync(f"{k}:{i}"))

    threads = [threading.Thread(target=publish, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    open_channel("crowd", url).end_sync()
    events = await _drain(url, "crowd")
    assert len(events) == 160
    assert sorted(e.id or "" for e in events) == sorted(i for ids in published for i in ids)
    for k in range(4):  # each publisher's events keep its order
        mine = [e.data for e in events if (e.data or "").startswith(f"{k}:")]
        assert mine == [f"{k}:{i}" for i in range(40)]
        order = [e.id for e in events]
        assert [order.index(i) for i in published[k]] == sorted(
            order.index(i) for i in published[k]
        )


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "x" * 201, "a b", "tab\t", "new\nline", "é", "{tag}", "a*"])
def test_invalid_names_are_refused_clearly(target: Target, name: str) -> None:
    with pytest.raises(InvalidChannelNameError) as info:
        open_channel(name, _url(target))
    assert isinstance(info.value, ValueError)
    assert "channel name" in str(info.value)


def test_the_longest_name_works(target: Target) -> None:
    url = _url(target)
    channel = open_channel("n" * 200, url)
    channel.publish_sync("x")
    channel.end_sync()
    assert [e.data for e in _drain_sync(url, "n" * 200)] == ["x"]


async def test_an_unreachable_backend_raises_a_typed_error(target: Target) -> None:
    if not target.unreachable_url:  # memory:// cannot be unreachable
        assert open_channel("nowhere", _url(target)).publish_sync("x")
        return
    channel = open_channel("nowhere", target.unreachable_url)
    with pytest.raises(ChannelUnavailableError) as info:
        await asyncio.wait_for(channel.publish("x"), 20)
    assert isinstance(info.value, LambdaSSEError)
    assert info.value.__cause__ is not None
    with pytest.raises(ChannelUnavailableError):
        channel.publish_sync("x")
    with pytest.raises(ChannelUnavailableError):
        channel.end_sync()
    backend = channel.backend
    with pytest.raises(ChannelUnavailableError):
        backend.read("nowhere", "", 1, 0)
    with pytest.raises(ChannelUnavailableError):
        await backend.read_async("nowhere", "", 1, 0)
