"""Bandwidth shaping of streamed responses, as Lambda and API Gateway apply it.

Sans-IO core: a :class:`TokenBucket` counts bytes against an injected clock and says how many may
pass now and how long to wait for more; a :class:`Limiter` composes buckets so the tightest wins.
:func:`shape` is the thin asyncio shell that cuts an async byte stream to what the buckets allow.

Figures (their sources are in :mod:`lambda_sse.aws`):

- Lambda, any streamed response: the first 6 MiB pass at once, then 2 MiB/s, refilled every
  125 ms (the Runtime Interface Emulator's ``internal/lambda/core/directinvoke`` and
  ``bandwidthlimiter``: burst = 6 MiB, rate = 2 MiB/s, refill interval 125 ms, so 262,144 bytes
  per tick).
- API Gateway REST, transfer mode STREAM: the first 10 MB unrestricted, then 2 MB/s (decimal
  megabytes in API Gateway's docs, response-transfer-mode.html). The refill granularity is not
  documented (UNCONFIRMED): we use Lambda's 125 ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from lambda_sse.aws import (
    APIGW_REST_BURST,
    APIGW_REST_RATE,
    LAMBDA_BURST,
    LAMBDA_RATE,
    REFILL_INTERVAL,
)
from lambda_sse.errors import LimitError

__all__ = [
    "APIGW_REST_BURST",
    "APIGW_REST_RATE",
    "LAMBDA_BURST",
    "LAMBDA_RATE",
    "REFILL_INTERVAL",
    "LimitError",
    "Limiter",
    "TokenBucket",
    "apigw_rest_bucket",
    "lambda_bucket",
    "shape",
]


class TokenBucket:
    """Bytes allowed through, refilled in whole ticks.

    The bucket starts full (``burst`` tokens). Every ``interval`` seconds of the clock it gains
    ``rate * interval`` tokens, never more than ``burst``. Ticks are counted from the bucket's
    creation, so refills land at the same instants however often it is asked.
    """

    def __init__(
        self,
        *,
        burst: int,
        rate: int,
        interval: float = REFILL_INTERVAL,
        clock: Callable[[], float],
    ) -> None:
        if burst <= 0 or rate <= 0 or interval <= 0:
            raise LimitError("burst, rate and interval must be positive")
        self.burst = burst
        self.per_tick = max(1, round(rate * interval))
        self.interval = interval
        self._clock = clock
        self._origin = clock()
        self._ticks = 0  # refills already credited
        self._tokens = burst

    def _refill(self) -> None:
        ticks = int((self._clock() - self._origin) / self.interval)
        if ticks > self._ticks:
            gained = (ticks - self._ticks) * self.per_tick
            self._tokens = min(self.burst, self._tokens + gained)
            self._ticks = ticks

    @property
    def available(self) -> int:
        """Bytes that may pass now."""
        self._refill()
        return self._tokens

    def consume(self, n: int) -> None:
        """Spend ``n`` tokens; ``n`` must not exceed :attr:`available`."""
        self._refill()
        if n < 0 or n > self._tokens:
            raise LimitError(f"cannot consume {n} bytes, {self._tokens} available")
        self._tokens -= n

    def wait(self) -> float:
        """Seconds until the next refill (0 when tokens are available now)."""
        self._refill()
        if self._tokens > 0:
            return 0.0
        next_tick = self._origin + (self._ticks + 1) * self.interval
        return max(0.0, next_tick - self._clock())


class Limiter:
    """Several buckets in series: a byte passes when every bucket has a token for it, so the
    tightest bucket sets the pace. No buckets: no limit."""

    def __init__(self, buckets: Iterable[TokenBucket] = ()) -> None:
        self.buckets = tuple(buckets)

    def __bool__(self) -> bool:
        return bool(self.buckets)

    def grant(self, wanted: int) -> int:
        """How many of ``wanted`` bytes may pass now; they are spent from every bucket."""
        if not self.buckets:
            return wanted
        n = min(wanted, *(b.available for b in self.buckets))
        for b in self.buckets:
            b.consume(n)
        return n

    def wait(self) -> float:
        """Seconds until every bucket has at least one token again."""
        return max((b.wait() for b in self.buckets), default=0.0)


def lambda_bucket(clock: Callable[[], float]) -> TokenBucket:
    """Lambda's limiter for one streamed response: 6 MiB burst, then 2 MiB/s per 125 ms tick."""
    return TokenBucket(burst=LAMBDA_BURST, rate=LAMBDA_RATE, clock=clock)


def apigw_rest_bucket(clock: Callable[[], float]) -> TokenBucket:
    """API Gateway REST STREAM's limiter: 10 MB unrestricted, then 2 MB/s."""
    return TokenBucket(burst=APIGW_REST_BURST, rate=APIGW_REST_RATE, clock=clock)


async def shape(
    chunks: AsyncIterator[bytes],
    limiter: Limiter,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> AsyncIterator[bytes]:
    """Yield ``chunks`` as the limiter lets them through, cutting a chunk when only part of it
    may pass now and sleeping until the next refill for the rest."""
    async for chunk in chunks:
        if not limiter:
            yield chunk
            continue
        view = memoryview(chunk)
        # Each pass either sends bytes or sleeps until a refill; the chunk is finite.
        while view:
            n = limiter.grant(len(view))
            if n:
                yield bytes(view[:n])
                view = view[n:]
            else:
                await sleep(max(limiter.wait(), 0.001))
