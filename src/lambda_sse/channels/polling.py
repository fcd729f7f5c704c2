"""Adaptive polling for channel backends that can only be polled (DynamoDB), sans-IO.

A subscriber waits, between two reads that found nothing new, a fixed fraction of the time since
the channel last had news, clamped to ``[fastest, slowest]``. So the delivery delay of an event
is at most about ``fraction`` times the gap since the event before it: events a second apart are
seen within a quarter of a second, while an idle subscriber settles at one read per ``slowest``
seconds. The read count over a gap of ``g`` seconds grows only with ``log(g)`` until the ceiling
(``fastest`` ... ``fastest/fraction``: ``1/fraction`` reads; then a factor ``1 + fraction`` per
read), which is what keeps a busy channel cheap.

The schedule holds no clock: the caller passes times in and sleeps the returned delay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lambda_sse.errors import OptionError

__all__ = ["PollSchedule"]


@dataclass(frozen=True)
class PollSchedule:
    """``delay(idle)``: seconds to wait before the next read, ``idle`` seconds after the last
    news (the last event read, or the start of the subscription)."""

    fastest: float = 0.1
    slowest: float = 1.0
    fraction: float = 0.25

    def __post_init__(self) -> None:
        if not (0 < self.fastest <= self.slowest) or not math.isfinite(self.slowest):
            raise OptionError(
                f"poll intervals must satisfy 0 < fastest <= slowest, finite; got "
                f"fastest={self.fastest}, slowest={self.slowest}"
            )
        if not 0 < self.fraction <= 1:
            raise OptionError(
                f"poll fraction must be in (0, 1], got {self.fraction}", key="fraction"
            )

    def delay(self, idle: float) -> float:
        return min(self.slowest, max(self.fastest, idle * self.fraction))

    def reads_per_idle_minute(self) -> float:
        """The ceiling an idle subscriber reaches (each read's own time only lowers it)."""
        return 60.0 / self.slowest
