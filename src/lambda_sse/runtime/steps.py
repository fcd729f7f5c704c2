"""Sans-IO cores as generators, and the two drivers that run them: blocking and asyncio.

A core is a generator that yields *steps* (``(op, argument)`` tuples: "send these bytes", "call
the handler", "post this error") and receives each step's result; an exception a step raised is
thrown back into the core at the ``yield``, so the core's own ``try``/``except`` decide what it
means. The core holds every rule; a shell only performs steps. One core therefore serves the
blocking flavour (sync handlers: no asyncio is ever imported) and the asyncio one, and the two
cannot drift apart. Cores here: the Runtime API exchange (:mod:`lambda_sse.runtime.exchange`),
one invocation to its outcome (:mod:`lambda_sse.runtime.invoke`), the runtime loop
(:mod:`lambda_sse.runtime.loop`).

Only ``Exception`` goes back into a core: ``BaseException`` (``SystemExit``, the runtime's SIGTERM
signal, ``KeyboardInterrupt``, cancellation) passes straight through the driver, as it would
through plain code.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator
    from typing import Any, TypeVar

    T = TypeVar("T")
    Step = tuple[int, Any]
    Core = Generator[Step, Any, T]

__all__ = ["drive", "drive_async"]


def drive(core: Core[T], perform: Callable[[Step], Any]) -> T:
    """Run ``core`` to its end, performing each step with the blocking ``perform``."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            if error is None:
                step = core.send(value)
            else:
                step, error = core.throw(error), None
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            value = perform(step)
        except Exception as exc:
            value, error = None, exc


async def drive_async(core: Core[T], perform: Callable[[Step], Awaitable[Any]]) -> T:
    """Run ``core`` to its end, awaiting ``perform`` for each step."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            if error is None:
                step = core.send(value)
            else:
                step, error = core.throw(error), None
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            value = await perform(step)
        except Exception as exc:
            value, error = None, exc
