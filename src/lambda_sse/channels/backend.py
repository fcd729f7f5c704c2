"""The interface every channel backend implements, and the rules it must keep.

A backend stores the ordered logs of many channels (one per name) and answers four questions,
each in a blocking and an async flavour; :class:`lambda_sse.channels.Channel` and its sans-IO
core (:mod:`lambda_sse.channels.core`) do everything else (resume, gaps, end, reconnects). One
more backend is one module with an ``open_backend(url: ChannelURL) -> Backend`` function plus one
entry in :data:`lambda_sse.channels.urls.BACKENDS`; ``tests/channels/conformance.py`` is the
suite every backend must pass.

Rules a backend keeps (the conformance suite checks each):

- **Ids** are opaque non-empty strings of at most :data:`MAX_ID_LENGTH` printable ASCII
  characters without spaces (so they are valid SSE ids and ``Last-Event-ID`` header values),
  unique and strictly increasing per channel in the backend's own order (``read`` uses it).
- **Sequence numbers**: every appended record also gets ``seq``, the channel's previous ``seq``
  plus one (starting at 1), never reused, even after the records holding them were pruned. The
  core finds gaps with it: a record whose ``seq`` is not the last one seen plus one means records
  in between were lost to retention.
- **append** is atomic (id, seq, fields and retention pruning together), raises
  :class:`ChannelEndedError` once the channel holds an end record, and prunes by the backend's
  :class:`Retention` (never the record just appended; appending the end record prunes
  nothing, and it does not count towards ``max_length``).
- **read** returns at most ``limit`` records with an id after ``after`` (all retained ones when
  ``after`` is ``""``), oldest first; when there are none it waits up to ``block`` seconds for
  one (0: do not wait). An ``after`` that is not an id of this backend's format returns the
  records from the oldest retained one, as ``""`` does.
- **find** returns the ``seq`` of the retained record whose id is ``id``, else ``None`` (an
  unknown, malformed or pruned id).
- Any failure to reach or use the store raises :class:`ChannelUnavailableError` with the library's
  exception as ``__cause__``: never a raw ``redis``, ``sqlite3`` or ``botocore`` exception.
- The async methods never block the event loop for more than a short local operation. A backend
  with a blocking client only may derive from :class:`ThreadedBackend`, which runs the blocking
  methods in a worker thread.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from lambda_sse.errors import OptionError

__all__ = [
    "MAX_ID_LENGTH",
    "Backend",
    "Entry",
    "Record",
    "Retention",
    "ThreadedBackend",
]

MAX_ID_LENGTH = 128


class Entry(NamedTuple):
    """What ``append`` stores: the event's fields (its ``id`` is the backend's to assign) or,
    with ``end`` set, the end-of-channel record."""

    data: str | None = None
    event: str | None = None
    retry: int | None = None
    comment: str | None = None
    end: bool = False


class Record(NamedTuple):
    """One stored record, as ``read`` returns it."""

    id: str
    seq: int
    data: str | None = None
    event: str | None = None
    retry: int | None = None
    comment: str | None = None
    end: bool = False


@dataclass(frozen=True)
class Retention:
    """How much of each channel a backend keeps: at least the last ``max_length`` records and
    those younger than ``max_age`` seconds; ``None`` turns a limit off. Pruning happens when
    records are appended (a backend may prune lazily, at least every 32 appends), so an idle channel
    keeps what it has until its next publishes (Redis also lets a whole idle channel expire)."""

    max_length: int | None = 10_000
    max_age: float | None = 24 * 3600.0

    def __post_init__(self) -> None:
        if self.max_length is not None and self.max_length < 1:
            raise OptionError(
                f"max_length must be 1 or more, or None; got {self.max_length}", key="max_length"
            )
        if self.max_age is not None and not self.max_age > 0:
            raise OptionError(
                f"max_age must be more than 0 seconds, or None; got {self.max_age}", key="max_age"
            )


class Backend(Protocol):
    """A store of channel logs. One instance serves every channel of one URL in a process and
    may be used from several threads and event loops."""

    #: The URL it was opened with, without any password (safe to print).
    display_url: str
    retention: Retention

    def append(self, channel: str, entry: Entry) -> str:
        """Store ``entry`` as the channel's next record and return its id."""
        ...

    def read(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        """Up to ``limit`` records after ``after``, oldest first, waiting up to ``block`` s."""
        ...

    def find(self, channel: str, id: str) -> int | None:
        """The seq of the retained record ``id``, or None."""
        ...

    def close(self) -> None:
        """Release connections; the backend may not be used afterwards."""
        ...

    async def append_async(self, channel: str, entry: Entry) -> str: ...

    async def read_async(
        self, channel: str, after: str, limit: int, block: float
    ) -> list[Record]: ...

    async def find_async(self, channel: str, id: str) -> int | None: ...

    async def close_async(self) -> None: ...


class ThreadedBackend(abc.ABC):
    """Async methods for a backend that has blocking ones only: each runs in a worker thread.
    (A long ``block`` then holds a thread of the default executor while it waits; backends that
    can wait natively should override ``read_async``.)"""

    @abc.abstractmethod
    def append(self, channel: str, entry: Entry) -> str: ...

    @abc.abstractmethod
    def read(self, channel: str, after: str, limit: int, block: float) -> list[Record]: ...

    @abc.abstractmethod
    def find(self, channel: str, id: str) -> int | None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    async def append_async(self, channel: str, entry: Entry) -> str:
        return await asyncio.to_thread(self.append, channel, entry)

    async def read_async(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        return await asyncio.to_thread(self.read, channel, after, limit, block)

    async def find_async(self, channel: str, id: str) -> int | None:
        return await asyncio.to_thread(self.find, channel, id)

    async def close_async(self) -> None:
        await asyncio.to_thread(self.close)
