"""The environment's one event loop, created on first need and kept for its whole life.

Clients and pools that an async handler creates in its first invocation stay bound to this loop,
so they still work in warm invocations. Only imported once a handler is async (asyncio costs
tens of milliseconds at cold start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["environment_loop", "run"]

T = TypeVar("T")
_loop: asyncio.AbstractEventLoop | None = None


def environment_loop() -> asyncio.AbstractEventLoop:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def run(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` to completion on the environment loop (from synchronous code)."""

    async def wrap() -> T:
        return await awaitable

    result: Any = environment_loop().run_until_complete(wrap())
    return result  # type: ignore[no-any-return]
