"""``memory://``: channels in this process's memory, for tests and single-process apps.

Standard library only. Threads and event loops of one process share it (``memory://`` and
``memory://NAME`` are separate stores); nothing survives the process. Ids are the decimal
``seq``.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from lambda_sse.channels.backend import Entry, Record, Retention
from lambda_sse.channels.urls import ChannelURL
from lambda_sse.errors import ChannelEndedError

__all__ = ["MemoryBackend", "open_backend"]

_DECIMAL = re.compile(r"[1-9][0-9]{0,17}")


@dataclass
class _Log:
    records: deque[tuple[Record, float]] = field(default_factory=deque)
    seq: int = 0
    ended: bool = False


def _seq_of(id: str) -> int | None:
    """The seq an id of this backend stands for (ids are the decimal seq), else None."""
    return int(id) if _DECIMAL.fullmatch(id) else None


class MemoryBackend:
    def __init__(self, display_url: str, retention: Retention) -> None:
        self.display_url = display_url
        self.retention = retention
        self._logs: dict[str, _Log] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def append(self, channel: str, entry: Entry) -> str:
        now = time.monotonic()
        with self._lock:
            log = self._logs.setdefault(channel, _Log())
            if log.ended:
                raise ChannelEndedError(f"channel {channel!r} has ended: publish refused")
            log.seq += 1
            record = Record(str(log.seq), log.seq, *entry)
            log.records.append((record, now))
            log.ended = entry.end
            if not entry.end:  # the end record neither counts nor prunes
                self._prune(log, now)
            self._changed.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed
                self._waiters.discard((loop, event))
        return record.id

    def _prune(self, log: _Log, now: float) -> None:
        keep = self.retention
        records = log.records
        if keep.max_length is not None:
            while len(records) > keep.max_length:
                records.popleft()
        if keep.max_age is not None:
            while len(records) > 1 and now - records[0][1] > keep.max_age:
                records.popleft()

    def _after(self, channel: str, after: str, limit: int) -> list[Record]:
        log = self._logs.get(channel)
        if log is None or not log.records:
            return []
        records = log.records
        seq = _seq_of(after)
        start = 0
        if seq is not None:
            first = records[0][0].seq  # seqs in the deque are consecutive
            start = max(0, min(len(records), seq + 1 - first))
        end = min(len(records), start + limit)
        return [records[i][0] for i in range(start, end)]

    def read(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        deadline = time.monotonic() + block
        with self._lock:
            while True:
                found = self._after(channel, after, limit)
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    def find(self, channel: str, id: str) -> int | None:
        seq = _seq_of(id)
        with self._lock:
            log = self._logs.get(channel)
            if seq is None or log is None or not log.records:
                return None
            seqs = [r.seq for r, _ in log.records]
            i = bisect.bisect_left(seqs, seq)
            return seq if i < len(seqs) and seqs[i] == seq else None

    def close(self) -> None:
        with self._lock:
            self._logs.clear()

    async def append_async(self, channel: str, entry: Entry) -> str:
        return self.append(channel, entry)

    async def read_async(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block
        event = asyncio.Event()
        waiter = (loop, event)
        try:
            while True:
                with self._lock:
                    found = self._after(channel, after, limit)
                    if not found:
                        event.clear()
                        self._waiters.add(waiter)
                remaining = deadline - loop.time()
                if found or remaining <= 0:
                    return found
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    async def find_async(self, channel: str, id: str) -> int | None:
        return self.find(channel, id)

    async def close_async(self) -> None:
        self.close()


def open_backend(url: ChannelURL) -> MemoryBackend:
    url.no_more_options()
    return MemoryBackend(url.display, url.retention)
