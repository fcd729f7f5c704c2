"""``Channel`` and ``open_channel``: the thin async and blocking shells around the core.

Backends are cached per URL for the life of the process, so every ``open_channel`` call of a
warm Lambda environment reuses the same connections.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from functools import partial
from typing import TypeVar

from lambda_sse.channels.backend import Backend, Entry, Record
from lambda_sse.channels.core import Backoff, Follower
from lambda_sse.channels.urls import check_name, default_url, open_backend
from lambda_sse.errors import ChannelUnavailableError, InvalidEventError
from lambda_sse.sse import ServerSentEvent

__all__ = ["Channel", "close_backends", "close_backends_async", "open_channel"]

log = logging.getLogger("lambda_sse.channels")

T = TypeVar("T")

#: Records per read: what a subscriber holds in memory at most, however far behind it is.
BATCH = 100
#: Seconds one read waits for news before the loop goes round again.
BLOCK = 5.0

_backends: dict[str, Backend] = {}
_lock = threading.Lock()


def _backend(url: str) -> Backend:
    with _lock:
        backend = _backends.get(url)
        if backend is None:
            backend = _backends[url] = open_backend(url)
        return backend


def close_backends() -> None:
    """Close every cached backend (tests, or a process about to exit)."""
    with _lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        backend.close()


async def close_backends_async() -> None:
    """Close every cached backend, with the running event loop's connections (an async client
    must be closed on its own loop)."""
    with _lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        await backend.close_async()


def open_channel(name: str, url: str | None = None) -> Channel:
    """The channel ``name`` in the backend ``url`` names (default: ``LAMBDA_SSE_CHANNELS_URL``;
    without it an SQLite file under ``.lambda-sse/``, except on Lambda, where that is a
    :class:`~lambda_sse.errors.ConfigError`). Raises InvalidChannelNameError for a bad name.
    Cheap: no connection is made until the first publish or read."""
    check_name(name)
    return Channel(name, _backend(url or default_url()))


def _entry(event: ServerSentEvent | str) -> Entry:
    if isinstance(event, str):
        return Entry(data=event)
    if not isinstance(event, ServerSentEvent):
        raise InvalidEventError(
            f"publish takes a ServerSentEvent or a str, not {type(event).__name__}"
        )
    return Entry(data=event.data, event=event.event, retry=event.retry, comment=event.comment)


class Channel:
    """One named, ordered, resumable log of events. Made by :func:`open_channel`.

    Async: ``await publish(event)``, ``await end()``, ``async for e in subscribe(id)``, and what
    it holds now: ``history(id)``, ``exists()``, ``holds(id)``. Blocking twins for plain ``def``
    code: ``publish_sync``, ``end_sync``, ``subscribe_sync``, ``history_sync``, ``exists_sync``,
    ``holds_sync``.
    """

    __slots__ = ("backend", "name")

    def __init__(self, name: str, backend: Backend) -> None:
        self.name = name
        self.backend = backend

    def __repr__(self) -> str:
        return f"<Channel {self.name!r} at {self.backend.display_url}>"

    # -- publishing ----------------------------------------------------------------------------

    async def publish(self, event: ServerSentEvent | str) -> str:
        """Append ``event`` (or a str, as its data) and return the id the channel assigned.

        The channel assigns the id: any ``id`` the event carries is replaced, since only the
        channel can keep ids unique and increasing across publishers. Raises
        ChannelEndedError after :meth:`end`, ChannelUnavailableError when the backend cannot
        be reached (the event was then not stored, or the error says it may have been)."""
        return await self.backend.append_async(self.name, _entry(event))

    def publish_sync(self, event: ServerSentEvent | str) -> str:
        """The blocking twin of :meth:`publish`."""
        return self.backend.append(self.name, _entry(event))

    async def end(self) -> str:
        """Close the channel: subscribers get every event published before, then stop.
        Publishing afterwards raises ChannelEndedError. Returns the end record's id."""
        return await self.backend.append_async(self.name, Entry(end=True))

    def end_sync(self) -> str:
        """The blocking twin of :meth:`end`."""
        return self.backend.append(self.name, Entry(end=True))

    # -- subscribing ---------------------------------------------------------------------------

    def subscribe(
        self, last_event_id: str = "", *, batch: int = BATCH
    ) -> AsyncGenerator[ServerSentEvent, None]:
        """Every event after ``last_event_id`` (all retained ones for ``""``), in order, then
        new ones as they are published, until :meth:`end`. Each event's ``id`` is its channel
        id. An id the channel no longer holds yields one ``lambda-sse.gap`` event first (see
        :mod:`lambda_sse.channels.core`). A dropped backend connection is retried with backoff
        from the last id delivered: nothing lost, nothing repeated. ``batch`` bounds the
        records held in memory however far behind the subscriber is."""
        return self._follow(last_event_id, batch, wait=True)

    def subscribe_sync(
        self, last_event_id: str = "", *, batch: int = BATCH
    ) -> Generator[ServerSentEvent, None, None]:
        """The blocking twin of :meth:`subscribe`: a generator (``close()`` stops it)."""
        return self._follow_sync(last_event_id, batch, wait=True)

    # -- what the channel holds now -------------------------------------------------------------

    def history(
        self, last_event_id: str = "", *, batch: int = BATCH
    ) -> AsyncGenerator[ServerSentEvent, None]:
        """The events the channel holds now after ``last_event_id``, in order, without waiting
        for more: to rebuild state (a worker resuming after a retry) or render the past. Stops
        at the last stored event or the end; gaps are reported as :meth:`subscribe` does."""
        return self._follow(last_event_id, batch, wait=False)

    def history_sync(
        self, last_event_id: str = "", *, batch: int = BATCH
    ) -> Generator[ServerSentEvent, None, None]:
        """The blocking twin of :meth:`history`."""
        return self._follow_sync(last_event_id, batch, wait=False)

    async def _follow(
        self, last_event_id: str, batch: int, *, wait: bool
    ) -> AsyncGenerator[ServerSentEvent, None]:
        follower = Follower(last_event_id)
        backoff = Backoff()
        backend, name = self.backend, self.name
        if follower.needs_find:
            seq = await _retry_async(partial(backend.find_async, name, follower.cursor), backoff)
            for event in follower.found(seq):
                yield event
        at_head = False
        while not follower.ended:
            if wait and at_head:  # wait for news in the read this process shares for this position
                read = partial(_shared_read, backend, name, follower.cursor, batch)
            else:  # catching up: no waiting, as fast as the subscriber consumes
                read = partial(backend.read_async, name, follower.cursor, batch, 0)
            records = await _retry_async(read, backoff)
            at_head = len(records) < batch
            for event in follower.feed(records):
                yield event
            if at_head and not wait:
                return

    def _follow_sync(
        self, last_event_id: str, batch: int, *, wait: bool
    ) -> Generator[ServerSentEvent, None, None]:
        follower = Follower(last_event_id)
        backoff = Backoff()
        backend, name = self.backend, self.name
        if follower.needs_find:
            yield from follower.found(
                _retry_sync(partial(backend.find, name, follower.cursor), backoff)
            )
        while not follower.ended:
            block = BLOCK if wait else 0
            records = _retry_sync(
                partial(backend.read, name, follower.cursor, batch, block), backoff
            )
            yield from follower.feed(records)
            if not wait and len(records) < batch:
                return

    async def exists(self) -> bool:
        """Whether the channel holds anything (an event or its end): a job id that was never
        started, or whose channel retention has dropped, has none."""
        read = partial(self.backend.read_async, self.name, "", 1, 0)
        return bool(await _retry_async(read, Backoff()))

    def exists_sync(self) -> bool:
        """The blocking twin of :meth:`exists`."""
        return bool(_retry_sync(partial(self.backend.read, self.name, "", 1, 0), Backoff()))

    async def holds(self, event_id: str) -> bool:
        """Whether ``event_id`` is an id this channel still holds (not unknown, not pruned)."""
        if not event_id:
            return False
        seq = await _retry_async(partial(self.backend.find_async, self.name, event_id), Backoff())
        return seq is not None

    def holds_sync(self, event_id: str) -> bool:
        """The blocking twin of :meth:`holds`."""
        if not event_id:
            return False
        return _retry_sync(partial(self.backend.find, self.name, event_id), Backoff()) is not None


# Per event loop, the blocking reads in flight, by (backend, channel, cursor, batch): every
# subscriber of one process that has caught up with a channel waits in the same read, so 1,000
# subscribers of a channel cost one Redis connection and one XREAD per batch, not 1,000.
_reads: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[int, str, str, int], asyncio.Task[list[Record]]]
] = weakref.WeakKeyDictionary()


def _forget(
    reads: dict[tuple[int, str, str, int], asyncio.Task[list[Record]]],
    key: tuple[int, str, str, int],
) -> Callable[[asyncio.Task[list[Record]]], None]:
    def done(task: asyncio.Task[list[Record]]) -> None:
        if reads.get(key) is task:
            del reads[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have gone (a deadline close)

    return done


async def _shared_read(backend: Backend, name: str, cursor: str, batch: int) -> list[Record]:
    loop = asyncio.get_running_loop()
    reads = _reads.get(loop)
    if reads is None:
        reads = _reads[loop] = {}
    key = (id(backend), name, cursor, batch)
    task = reads.get(key)
    if task is None:
        task = loop.create_task(backend.read_async(name, cursor, batch, BLOCK))
        reads[key] = task
        task.add_done_callback(_forget(reads, key))
    # A waiter that is cancelled (its client left) must not cancel the read of the others.
    return await asyncio.shield(task)


def _warn(exc: ChannelUnavailableError, delay: float, attempt: int) -> None:
    if attempt <= 1 or attempt % 10 == 0:
        log.warning("channel backend unavailable (%s); retrying in %.2f s", exc, delay)


async def _retry_async(call: Callable[[], Awaitable[T]], backoff: Backoff) -> T:
    while True:
        try:
            result = await call()
        except ChannelUnavailableError as exc:
            delay = backoff.next_delay()
            _warn(exc, delay, backoff.attempt)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        return result


def _retry_sync(call: Callable[[], T], backoff: Backoff) -> T:
    while True:
        try:
            result = call()
        except ChannelUnavailableError as exc:
            delay = backoff.next_delay()
            _warn(exc, delay, backoff.attempt)
            time.sleep(delay)
            continue
        backoff.reset()
        return result
