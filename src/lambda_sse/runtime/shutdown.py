"""Callbacks run once when the execution environment shuts down.

Lambda sends SIGTERM before it reclaims an environment (when an extension is registered; the
emulator always does); the runtime then runs these callbacks, most recent first, and exits 0.
Async callbacks run on the environment's event loop. Standard library only, and light: this module
is imported by ``lambda_sse.runtime`` itself.
"""

from __future__ import annotations

from lambda_sse.errors import ArgumentTypeError

__all__ = ["on_shutdown", "registered", "unregister"]

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    ShutdownCallback = Callable[[], Any]
    F = TypeVar("F", bound=ShutdownCallback)

_callbacks: list[ShutdownCallback] = []


def on_shutdown(callback: F) -> F:
    """Run ``callback`` (sync, or async returning an awaitable) once at shutdown. Usable as a
    decorator. Registering the same callable twice runs it once."""
    if not callable(callback):
        raise ArgumentTypeError(f"on_shutdown needs a callable, got {type(callback).__name__}")
    if callback not in _callbacks:
        _callbacks.append(callback)
    return callback


def unregister(callback: ShutdownCallback) -> None:
    if callback in _callbacks:
        _callbacks.remove(callback)


def registered() -> list[ShutdownCallback]:
    """The callbacks in the order they will run (last registered first)."""
    return list(reversed(_callbacks))


def take() -> list[ShutdownCallback]:
    """Remove and return every callback, in run order: a second SIGTERM runs nothing twice."""
    order = registered()
    _callbacks.clear()
    return order


def is_awaitable(value: object) -> bool:
    return hasattr(value, "__await__")
