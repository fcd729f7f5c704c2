"""``EventSourceResponse``: a plain-ASGI Server-Sent Events response that knows the Lambda deadline.

Serving rules (WHATWG HTML section 9.2, https://html.spec.whatwg.org/multipage/server-sent-events.html;
docs/sse.md): the headers
``Content-Type: text/event-stream``, ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``; a
comment heartbeat while idle (15 s by default; ALB and nginx drop idle connections after 60 s,
edge-optimized API Gateway after 30 s); every event sent the moment it is produced.

On Lambda (``scope["aws.context"]`` set by :func:`lambda_sse.asgi.handler`) a stream must bound
its own duration, since Lambda cuts it at the function timeout and never says when a client went
away: this response ends cleanly ``deadline_margin`` seconds before the timeout, after a
``retry:`` hint, so an EventSource reconnects at once with ``Last-Event-ID``. The default margin
scales with the time the invocation has left when the stream starts (a fifth of it, between
0.5 s and 5 s), so short timeouts still stream for most of their length. The generator can
resume from there: pass a factory, which is called with the request's Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from lambda_sse.asgi.types import Receive, Scope, Send
from lambda_sse.errors import OptionError, ResponseStreamError
from lambda_sse.sse import ServerSentEvent, encode

__all__ = ["ERROR_EVENT", "EventSourceResponse", "default_margin", "encode_item"]

log = logging.getLogger("lambda_sse.asgi")

Item = ServerSentEvent | Mapping[str, Any] | str | bytes
Content = AsyncIterable[Item] | Callable[[str], AsyncIterable[Item]]

_FIELDS = frozenset({"data", "event", "id", "retry", "comment"})
# Sent when the content raises: an ``error`` event a browser's EventSource
# (``addEventListener("error", ...)`` gets it as a MessageEvent with ``data``) and
# lambda_sse.sse.EventSource both see. The exception itself stays in the function's log.
ERROR_EVENT = encode('{"error":"stream failed"}', "error")

# The default deadline margin: a share of the time left when the stream starts, within bounds.
# Enough for the retry hint and the end of the body to leave before Lambda's cut, without
# spending most of a short timeout (6 s, the Serverless Framework's default, streams 4.8 s; SAM's
# 3 s streams 2.4 s; 25 s and more keep the full 5 s).
MARGIN_SHARE = 0.2
MARGIN_MIN = 0.5
MARGIN_MAX = 5.0


def default_margin(remaining: float) -> float:
    """The deadline margin used when none is given, for ``remaining`` seconds left."""
    return min(MARGIN_MAX, max(MARGIN_MIN, remaining * MARGIN_SHARE))


def encode_item(item: Item) -> bytes:
    """Bytes of one item: a :class:`ServerSentEvent`, a dict of its fields (``data`` that is not
    a string is sent as compact JSON), a string (one data event) or pre-encoded bytes."""
    kind = type(item)  # exact types first: this runs once per event
    if kind is ServerSentEvent:
        return item.encode()  # type: ignore[union-attr]
    if kind is dict or isinstance(item, Mapping):
        return _encode_fields(item)  # type: ignore[arg-type]
    if kind is str or isinstance(item, str):
        return encode(item)  # type: ignore[arg-type]
    if kind is bytes:
        return item  # type: ignore[return-value]
    if isinstance(item, ServerSentEvent):
        return item.encode()
    raise ResponseStreamError(
        f"EventSourceResponse yields ServerSentEvent, dict, str or bytes, not {type(item).__name__}"
    )


def _encode_fields(item: Mapping[str, Any]) -> bytes:
    if not item.keys() <= _FIELDS:
        extra = sorted(map(str, set(item) - _FIELDS))
        raise ResponseStreamError(f"an SSE event dict takes {sorted(_FIELDS)}, not {extra}")
    data = item.get("data")
    if data is not None and not isinstance(data, str):
        data = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return encode(data, item.get("event"), item.get("id"), item.get("retry"), item.get("comment"))


def _last_event_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"last-event-id":
            return bytes(value).decode("utf-8", "replace")
    return ""


def _remaining_seconds(scope: Scope) -> float | None:
    context = scope.get("aws.context")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        return float(remaining()) / 1000.0
    except (TypeError, ValueError):
        return None


if TYPE_CHECKING:
    _Base = object
else:
    # Starlette and FastAPI pass only instances of Starlette's Response through and serialise any
    # other return value as JSON. So when Starlette is importable (it is in every app that uses
    # it) this class derives from it; it overrides all the behaviour it uses. Without Starlette
    # (the Lambda zip of a plain ASGI app) the base is object: no dependency is declared.
    try:
        from starlette.responses import Response as _Base
    except ImportError:
        _Base = object


class EventSourceResponse(_Base):
    """An ASGI app (usable as a Starlette/FastAPI response) streaming Server-Sent Events.

    ``content`` is an async iterable of items, or a factory ``(last_event_id) -> async
    iterable`` called with the request's ``Last-Event-ID`` ("" when absent). ``ping`` seconds of
    silence send a ``: ping`` comment (``None``: never). A send stalled for ``send_timeout``
    seconds ends the stream (checked at least every ``ping`` seconds). On Lambda, the stream ends
    ``deadline_margin`` seconds before the function's timeout after a ``retry: <retry>`` line;
    ``None`` (the default) takes :func:`default_margin` of the time left when the stream starts.
    After the response, ``stop_reason`` is ``"end"``, ``"deadline"``, ``"disconnect"`` or
    ``"send_timeout"``. When ``content`` raises, :data:`ERROR_EVENT` (``event: error``) goes out
    before the exception propagates: a Function URL ends such a stream cleanly, so the event is
    how a client learns of it.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: Content,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        ping: float | None = 15.0,
        send_timeout: float | None = 30.0,
        deadline_margin: float | None = None,
        retry: int = 1000,
        ping_comment: str = "ping",
    ) -> None:
        if ping is not None and ping <= 0:
            raise OptionError("ping must be a positive number of seconds or None")
        if send_timeout is not None and send_timeout <= 0:
            raise OptionError("send_timeout must be a positive number of seconds or None")
        if deadline_margin is not None and deadline_margin < 0:
            raise OptionError("deadline_margin must be 0 or more seconds, or None for the default")
        self.content = content
        self.status_code = status_code
        self.ping = ping
        self.send_timeout = send_timeout
        self.deadline_margin = deadline_margin
        self.retry = retry
        self._ping_bytes = encode(comment=ping_comment)
        self._retry_bytes = encode(retry=retry)
        self.raw_headers = self._build_headers(headers or {})
        self.margin: float | None = None  # the margin in use, once the response runs on Lambda
        self.last_event_id = ""
        self.stop_reason: str | None = None
        # Starlette's background tasks (FastAPI sets this attribute): run after the stream ends.
        self.background: Callable[[], Any] | None = None
        # Shared between the producer and the watchdog (one event loop, no locks needed).
        self._last_send = 0.0
        self._sending_since: float | None = None
        self._ping_task: asyncio.Future[None] | None = None
        self._stop: str | None = None

    @staticmethod
    def _build_headers(extra: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
        base = {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "x-accel-buffering": "no",
        }
        for key, value in extra.items():
            base[key.lower()] = value
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in base.items()]

    def _iterator(self, scope: Scope) -> AsyncIterator[Item]:
        self.last_event_id = _last_event_id(scope)
        content = self.content
        if not isinstance(content, AsyncIterable) and callable(content):
            content = content(self.last_event_id)
        if not isinstance(content, AsyncIterable):
            raise ResponseStreamError(
                "EventSourceResponse content must be an async iterable or a factory returning one"
            )
        return aiter(content)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        iterator = self._iterator(scope)
        remaining = _remaining_seconds(scope)
        margin = self.deadline_margin
        if remaining is not None and margin is None:
            margin = default_margin(remaining)
        self.margin = margin
        deadline = None if remaining is None else loop.time() + remaining - (margin or 0.0)
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        self._last_send = loop.time()
        if deadline is not None and loop.time() >= deadline:
            # Every reconnect would end the same way: say why, loudly.
            log.warning(
                "SSE stream ends at once: the invocation has %.1f s left, not more than "
                "deadline_margin=%.1f s; raise the function timeout or lower the margin",
                remaining,
                margin,
            )
            self._stop = "deadline"
            producer: asyncio.Task[None] | None = None
        else:
            producer = loop.create_task(self._produce(iterator, send))
        helpers: list[asyncio.Task[None]] = []
        if producer is not None:
            helpers.append(loop.create_task(self._watch(producer, send, deadline)))
            helpers.append(loop.create_task(self._listen(receive, producer)))
            try:
                await asyncio.wait({producer})
            finally:
                for task in helpers:
                    task.cancel()
                if not producer.done():  # we are being cancelled ourselves
                    producer.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
            if not producer.cancelled() and (error := producer.exception()) is not None:
                # A Function URL ends the stream cleanly whatever Lambda was told: say it in
                # the stream, then raise for the runtime's error trailers and the log.
                with contextlib.suppress(Exception):
                    await send(
                        {"type": "http.response.body", "body": ERROR_EVENT, "more_body": True}
                    )
                raise error
        if producer is None or producer.done():
            await _close(iterator)
        self.stop_reason = self._stop or "end"
        if self._stop in ("disconnect", "send_timeout"):
            return  # no one to tell, or no way to
        if self._stop == "deadline":
            log.info(
                "SSE stream ends %.1f s before the Lambda deadline; the client will resume",
                self.margin,
            )
            await send({"type": "http.response.body", "body": self._retry_bytes, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self.background is not None:
            await self.background()

    async def _produce(self, iterator: AsyncIterator[Item], send: Send) -> None:
        loop = asyncio.get_running_loop()
        async for item in iterator:
            chunk = encode_item(item)
            if self._ping_task is not None:
                await self._ping_task  # a heartbeat is on the wire: do not interleave
            self._sending_since = loop.time()
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            self._last_send = self._sending_since
            self._sending_since = None
            if self._stop is not None:
                return

    async def _watch(
        self, producer: asyncio.Task[None], send: Send, deadline: float | None
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wake = self._last_send + self.ping if self.ping is not None else None
            since = self._sending_since
            if since is not None and self.send_timeout is not None:
                wake = _earliest(wake, since + self.send_timeout)
            wake = _earliest(wake, deadline)
            if wake is None:
                wake = loop.time() + 3600.0
            await asyncio.sleep(max(0.0, wake - loop.time()))
            now = loop.time()
            since = self._sending_since
            if deadline is not None and now >= deadline:
                self._stop = "deadline"
                if since is None:
                    producer.cancel()  # waiting on the generator: stop it there
                return  # mid-send: the producer stops after this send
            if (
                since is not None
                and self.send_timeout is not None
                and now - since >= self.send_timeout
            ):
                log.warning("SSE send stalled for %.1f s: ending the stream", now - since)
                self._stop = "send_timeout"
                producer.cancel()
                return
            if since is None and self.ping is not None and now - self._last_send >= self.ping:
                self._ping_task = loop.create_future()
                try:
                    await send(
                        {"type": "http.response.body", "body": self._ping_bytes, "more_body": True}
                    )
                finally:
                    # A producer cancelled while waiting on it cancels the future itself.
                    if not self._ping_task.done():
                        self._ping_task.set_result(None)
                    self._ping_task = None
                self._last_send = loop.time()

    async def _listen(self, receive: Receive, producer: asyncio.Task[None]) -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                if self._stop is None:
                    self._stop = "disconnect"
                    producer.cancel()
                return


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


async def _close(iterator: AsyncIterator[Item]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # a generator failing while closing must not hide the response
            log.exception("SSE generator failed while closing")
