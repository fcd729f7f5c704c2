"""Asynchronous invocation (``InvocationType: Event``): Lambda's internal queue and its retries.

AWS's rules (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):

- the event is accepted (202) and run later; its response is discarded;
- on a function error (an error result, a timeout, a crash, a failed init) Lambda retries
  ``MaximumRetryAttempts`` times (0-2, default 2), one minute after the first attempt, then two
  minutes after the second;
- an invocation Lambda throttles (reserved concurrency used up) is not an attempt: it is retried
  with a backoff from 1 second to 5 minutes;
- an event older than ``MaximumEventAgeInSeconds`` (60-21600, default 6 hours) is dropped
  instead of run;
- a retry keeps the event's request id.

Destinations and dead-letter queues are not emulated: the outcome of each event is logged
(``Success``, ``RetriesExhausted``, ``EventAgeExceeded``, the conditions AWS records) and kept in
:attr:`AsyncQueue.results`.

Time comes from an injected ``clock`` and ``sleep`` (tests run hours of retries in
milliseconds); ``delay_scale`` shortens AWS's delays for demos (``--async-delay-scale``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from lambda_sse import aws
from lambda_sse.errors import LambdaSSEError
from lambda_sse.local import logs
from lambda_sse.local.lambda_api.invoker import LambdaInvoker
from lambda_sse.local.model import FunctionConfig, Throttled

__all__ = ["AsyncQueue", "AsyncResult", "Condition"]

Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded", "Stopped"]
Sleep = Callable[[float], Awaitable[None]]
_KEPT_RESULTS = 256


@dataclass(frozen=True)
class AsyncResult:
    """How one accepted event ended."""

    request_id: str
    function: str
    condition: Condition
    attempts: int  # invocations that ran (throttled tries are not attempts)
    error_type: str | None = None  # of the last attempt, when it failed
    throttles: int = 0


class AsyncQueue:
    """Runs accepted events in the background, each with AWS's retry rules."""

    def __init__(
        self,
        invoker: LambdaInvoker,
        *,
        sink: logs.LogSink = logs.stderr_sink,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        delay_scale: float = 1.0,
    ) -> None:
        if not delay_scale >= 0:
            raise ValueError("delay_scale must be 0 or more")
        self.invoker = invoker
        self.delay_scale = delay_scale
        self.results: deque[AsyncResult] = deque(maxlen=_KEPT_RESULTS)
        self._sink = sink
        self._clock = clock
        self._sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._listeners: list[Callable[[AsyncResult], None]] = []

    @property
    def pending(self) -> int:
        """Events accepted and not finished (running, or waiting for a retry)."""
        return len(self._tasks)

    def on_result(self, listener: Callable[[AsyncResult], None]) -> None:
        self._listeners.append(listener)

    def submit(self, fn: FunctionConfig, payload: bytes, request_id: str) -> None:
        """Accept an event: it runs in the background, from the next loop turn."""
        task = asyncio.ensure_future(self._run(fn, payload, request_id, self._clock()))
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    async def drain(self) -> None:
        """Until every accepted event has ended, retries included."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop: events waiting for a retry are dropped (logged as ``Stopped``)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _log(self, fn: FunctionConfig, text: str, request_id: str) -> None:
        self._sink(logs.LogRecord(fn.name, "platform", text, request_id))

    def _finish(self, result: AsyncResult) -> None:
        self.results.append(result)
        for listener in self._listeners:
            listener(result)

    async def _run(self, fn: FunctionConfig, payload: bytes, rid: str, accepted: float) -> None:
        config = fn.async_config
        attempts = throttles = 0
        error_type: str | None = None
        backoff = aws.ASYNC_THROTTLE_BACKOFF_MIN
        condition: Condition = "Stopped"
        try:
            while True:
                age = self._clock() - accepted
                if age > config.maximum_event_age:
                    condition = "EventAgeExceeded"
                    self._log(
                        fn,
                        f"async event dropped: {age:.0f} s old, over MaximumEventAgeInSeconds "
                        f"({config.maximum_event_age}) after {attempts} attempt(s)",
                        rid,
                    )
                    return
                try:
                    inv = await self.invoker.invoke(fn.name, payload, request_id=rid)
                except Throttled:
                    throttles += 1
                    self._log(fn, f"async event throttled; retry in {backoff:g} s", rid)
                    await self._sleep(backoff * self.delay_scale)
                    backoff = min(backoff * 2, aws.ASYNC_THROTTLE_BACKOFF_MAX)
                    continue
                attempts += 1
                # The response is discarded, but read: the runtime's stream must not stall.
                async for _ in inv.body():
                    pass
                outcome = await inv.outcome()
                if outcome.status == "success" and not outcome.trailer_error:
                    condition, error_type = "Success", None
                    self._log(fn, f"async event succeeded (attempt {attempts})", rid)
                    return
                error_type = outcome.error_type or outcome.status
                retries_done = attempts - 1
                if retries_done >= config.maximum_retry_attempts:
                    condition = "RetriesExhausted"
                    self._log(
                        fn,
                        f"async event failed ({error_type}) after {attempts} attempt(s): "
                        "retries exhausted (MaximumRetryAttempts "
                        f"{config.maximum_retry_attempts})",
                        rid,
                    )
                    return
                delay = aws.ASYNC_RETRY_DELAYS[min(retries_done, len(aws.ASYNC_RETRY_DELAYS) - 1)]
                scaled = delay * self.delay_scale
                self._log(
                    fn,
                    f"async event failed ({error_type}); retry {retries_done + 1} of "
                    f"{config.maximum_retry_attempts} in {scaled:g} s"
                    + (f" (AWS waits {delay:g} s)" if scaled != delay else ""),
                    rid,
                )
                await self._sleep(scaled)
        except LambdaSSEError as exc:
            # The pool closed under us (the emulator is stopping), or it refused the function.
            self._log(fn, f"async event stopped: {exc}", rid)
        finally:
            self._finish(AsyncResult(rid, fn.name, condition, attempts, error_type, throttles))
