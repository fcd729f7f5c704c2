"""One invocation as the Runtime API server sees it: the futures the emulator awaits for its
head and outcome, and a bounded queue of body chunks that gives the runtime backpressure."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable

from lambda_sse.errors import LocalStateError
from lambda_sse.local.model import InvocationOutcome, ResponseHead
from lambda_sse.local.runtime_protocol import InvocationState

__all__ = ["RuntimeInvocation"]


class _Pipe:
    """A bounded single-consumer queue of body chunks; ``put`` waits while it is full."""

    def __init__(self, limit: int) -> None:
        self._items: deque[bytes] = deque()
        self._limit = limit
        self._closed = False
        self._discarding = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    async def put(self, data: bytes) -> None:
        while len(self._items) >= self._limit and not (self._closed or self._discarding):
            self._writable.clear()
            await self._writable.wait()
        if self._closed or self._discarding:
            return
        self._items.append(data)
        self._readable.set()

    def close(self) -> None:
        self._closed = True
        self._readable.set()
        self._writable.set()

    def discard(self) -> None:
        self._discarding = True
        self._items.clear()
        self._writable.set()

    async def drain(self) -> AsyncIterator[bytes]:
        while True:
            if self._items:
                item = self._items.popleft()
                self._writable.set()
                yield item
                continue
            if self._closed or self._discarding:
                return
            self._readable.clear()
            await self._readable.wait()


class RuntimeInvocation(InvocationState):
    """One invocation, from ``enqueue`` to its outcome. Implements ``model.Invocation``."""

    def __init__(
        self,
        *,
        request_id: str,
        event: bytes,
        headers: list[tuple[str, str]],
        clock: Callable[[], float],
        queue_limit: int,
        record: bool = True,
    ) -> None:
        super().__init__(request_id, event, headers)
        self.chunks: list[tuple[float, bytes]] = []
        self.trailers: dict[str, str] = {}
        self.detached = False
        self._record = record  # keep chunks (tests); the emulator keeps only timings
        self._clock = clock
        self._pipe = _Pipe(queue_limit)
        loop = asyncio.get_running_loop()
        self._head: asyncio.Future[ResponseHead | None] = loop.create_future()
        self._outcome: asyncio.Future[InvocationOutcome] = loop.create_future()
        self._body_taken = False

    # -- model.Invocation ------------------------------------------------------------------

    async def head(self) -> ResponseHead | None:
        return await asyncio.shield(self._head)

    def body(self) -> AsyncIterator[bytes]:
        if self._body_taken:
            raise LocalStateError("body() can be iterated once")
        self._body_taken = True
        return self._pipe.drain()

    async def outcome(self) -> InvocationOutcome:
        return await asyncio.shield(self._outcome)

    def detach(self) -> None:
        self.detached = True
        self._pipe.discard()

    # -- the execution side ----------------------------------------------------------------

    def abort(self, outcome: InvocationOutcome) -> None:
        """The environment died or timed out: end ``body()`` and set the outcome (once)."""
        self.answered = True
        self._finish(outcome)

    @property
    def done(self) -> bool:
        return self._outcome.done()

    @property
    def _answered(self) -> bool:  # the name before the protocol core held it
        return self.answered

    def _duration_ms(self) -> float:
        if self.handed_out_at is None:
            return 0.0
        return (self._clock() - self.handed_out_at) * 1000.0

    def _start(self, head: ResponseHead) -> None:
        if not self._head.done():
            self._head.set_result(head)

    async def _chunk(self, data: bytes) -> None:
        if self._record:
            self.chunks.append((self._clock(), data))
        await self._pipe.put(data)

    def _finish(self, outcome: InvocationOutcome) -> None:
        if self._outcome.done():
            return
        if not outcome.duration_ms:
            outcome = InvocationOutcome(
                status=outcome.status,
                error_type=outcome.error_type,
                error_body=outcome.error_body,
                trailer_error=outcome.trailer_error,
                duration_ms=self._duration_ms(),
            )
        if not self._head.done():
            self._head.set_result(None)
        self._pipe.close()
        self._outcome.set_result(outcome)
