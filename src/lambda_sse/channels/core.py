"""The sans-IO core of a subscription: records in, events out, plus where to read next.

:class:`Follower` is the state one subscriber keeps (its cursor, the ``seq`` it expects next,
whether the channel ended); the async and the blocking loops in :mod:`lambda_sse.channels.channel`
only ask the backend what :class:`Follower` says and yield what it returns. :class:`Backoff` is
the reconnection schedule they share.

The gap event: when a subscriber asks to resume from an id the channel no longer holds (unknown,
malformed, or pruned by retention), or records between two it reads were pruned while it lagged,
it gets one ``event: lambda-sse.gap`` (no ``id``, so a browser's ``lastEventId`` stays on the last
real event) whose data is JSON::

    {"reason": "unknown-id" | "pruned", "last_event_id": "<the id it had>", "lost": N | null}

and then continues from the oldest retained record (``lost`` counts the records that were
skipped when the core can tell, else ``null``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from lambda_sse.channels.backend import Record
from lambda_sse.sse import ServerSentEvent

__all__ = ["GAP_EVENT", "Backoff", "Follower", "gap_event", "to_event"]

GAP_EVENT = "lambda-sse.gap"


def to_event(record: Record) -> ServerSentEvent:
    """The event a subscriber yields for a stored record: its fields, with the channel's id."""
    return ServerSentEvent(
        data=record.data,
        event=record.event,
        id=record.id,
        retry=record.retry,
        comment=record.comment,
    )


def gap_event(reason: str, last_event_id: str, lost: int | None) -> ServerSentEvent:
    """The documented event that replaces a silent gap."""
    data = json.dumps(
        {"reason": reason, "last_event_id": last_event_id, "lost": lost}, separators=(",", ":")
    )
    return ServerSentEvent(data=data, event=GAP_EVENT)


class Follower:
    """One subscriber's position in a channel.

    Use: if :attr:`needs_find`, ask the backend ``find(last_event_id)`` and pass the answer to
    :meth:`found`; then, until :attr:`ended`, ``read(cursor, ...)`` and pass each batch to
    :meth:`feed`. Both return the events to yield, in order.
    """

    __slots__ = ("cursor", "ended", "expected", "needs_find")

    def __init__(self, last_event_id: str = "") -> None:
        self.cursor = last_event_id
        self.needs_find = bool(last_event_id)
        self.expected: int | None = None  # the seq the next record must have; None: any
        self.ended = False

    def found(self, seq: int | None) -> list[ServerSentEvent]:
        """The backend's answer to ``find(last_event_id)``."""
        self.needs_find = False
        if seq is not None:
            self.expected = seq + 1
            return []
        lost_from = self.cursor
        self.cursor = ""  # from the oldest retained record
        self.expected = None
        return [gap_event("unknown-id", lost_from, None)]

    def feed(self, records: list[Record]) -> list[ServerSentEvent]:
        """Events for one batch that ``read(cursor)`` returned; stops at the end record."""
        out: list[ServerSentEvent] = []
        for record in records:
            if self.ended:
                break
            if self.expected is not None and record.seq != self.expected:
                # Lower: the channel was deleted and started again (a Redis key that expired
                # while idle), so how much was lost is unknown. Higher: records were pruned.
                lost = record.seq - self.expected if record.seq > self.expected else None
                out.append(gap_event("pruned", self.cursor, lost))
            self.expected = record.seq + 1
            self.cursor = record.id
            if record.end:
                self.ended = True
                break
            out.append(to_event(record))
        return out


class Backoff:
    """Delays between reconnection attempts: exponential from ``first`` to ``cap`` seconds, with
    full jitter (so many subscribers of one restarted server do not return at once), reset by a
    success."""

    __slots__ = ("_attempt", "_random", "cap", "first")

    def __init__(
        self, first: float = 0.05, cap: float = 2.0, rand: Callable[[], float] = random.random
    ) -> None:
        self.first = first
        self.cap = cap
        self._attempt = 0
        self._random = rand

    @property
    def attempt(self) -> int:
        return self._attempt

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.first * (2**self._attempt))
        self._attempt = min(self._attempt + 1, 30)
        return float(ceiling / 2 + self._random() * ceiling / 2)

    def reset(self) -> None:
        self._attempt = 0
