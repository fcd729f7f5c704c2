"""A bounded hand-off from one worker thread (the WSGI app) to the asyncio loop (the runtime).

The thread blocks in :meth:`Channel.put` while the buffer holds ``max_items`` items or
``max_bytes`` bytes, so a fast generator cannot run ahead of a slow client by more than that
(backpressure reaches the app, as a blocking socket write would on a WSGI server). The loop wakes
only when it is waiting on an empty buffer: a thread that runs ahead costs one lock per chunk and
no loop wake-up, and the loop takes everything buffered in one :meth:`Channel.get_all`.

:meth:`Channel.close` (from the loop) makes every later or blocked ``put`` raise
:class:`ChannelClosedError`, so the app's thread stops when the response cannot go anywhere.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Generic, TypeVar

from lambda_sse.errors import ChannelClosedError

__all__ = ["Channel", "ChannelClosedError"]

T = TypeVar("T")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Channel(Generic[T]):
    def __init__(
        self, loop: asyncio.AbstractEventLoop, *, max_items: int = 64, max_bytes: int = 1 << 20
    ) -> None:
        self._loop = loop
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._closed = False
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: T, size: int = 0) -> None:
        """From the worker thread: add ``item`` (of ``size`` bytes), waiting for room."""
        with self._space:
            while not self._closed and (
                len(self._items) >= self._max_items or self._bytes >= self._max_bytes
            ):
                self._space.wait()
            if self._closed:
                raise ChannelClosedError("the response stream was closed")
            self._items.append((item, size))
            self._bytes += size
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._loop.call_soon_threadsafe(_wake, waiter)

    async def get_all(self) -> list[T]:
        """On the loop: every buffered item, oldest first, waiting while there is none."""
        while True:
            with self._lock:
                if self._items:
                    items = [item for item, _ in self._items]
                    self._items.clear()
                    self._bytes = 0
                    self._space.notify_all()
                    return items
                waiter = self._waiter = self._loop.create_future()
            await waiter

    def close(self) -> None:
        """On the loop: refuse further items and release a blocked ``put``."""
        with self._space:
            self._closed = True
            self._items.clear()
            self._bytes = 0
            self._space.notify_all()
