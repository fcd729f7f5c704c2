"""Which requests stream: chosen per route by the deployer, never guessed.

The runtime cannot see whether Lambda was invoked with InvokeWithResponseStream, and one REST API
can send STREAM and BUFFERED methods to the same function, so the mode is configuration:

- ``True`` / ``False``: every route streams / none does;
- a pattern or a list of them, matched against the request path without the stage
  (``fnmatch`` rules: ``*`` matches any run of characters, ``/`` included, so ``"/events/*"``
  matches ``/events/a/b``; ``?`` one character);
- a predicate ``(HttpRequest) -> bool``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from lambda_sse.errors import ConfigError
from lambda_sse.events import HttpRequest

__all__ = ["StreamSelector", "compile_selector"]

StreamSelector = bool | str | Iterable[str] | Callable[[HttpRequest], bool]


def compile_selector(stream: StreamSelector) -> Callable[[HttpRequest], bool]:
    if isinstance(stream, bool):
        every: bool = stream
        return lambda _request: every
    if isinstance(stream, str):
        stream = [stream]
    if callable(stream):
        return stream
    patterns = tuple(stream)
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.startswith("/"):
            raise ConfigError(
                f"stream route pattern {pattern!r} must be a path starting with '/', "
                'such as "/stream" or "/events/*"',
                key="stream",
            )
    exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
    globs = tuple(p for p in patterns if p not in exact)

    def matches(request: HttpRequest) -> bool:
        return request.path in exact or any(fnmatchcase(request.path, g) for g in globs)

    return matches
