"""EventSource for Python: a reconnecting Server-Sent Events client on httpx.

One class, two flavours: ``for event in EventSource(url)`` runs on an ``httpx.Client`` and
``async for event in EventSource(url)`` on an ``httpx.AsyncClient``. It follows the connection
model of WHATWG HTML 9.2.3 "Processing model"
(https://html.spec.whatwg.org/multipage/server-sent-events.html):

- each request carries ``Accept: text/event-stream``, ``Cache-Control: no-cache`` and, when the
  last event id is not empty, ``Last-Event-ID``; redirects (301, 302, 303, 307, 308) are followed;
- a clean end of the body, a network error or a read timeout (the only way to notice a silent
  dead connection) is followed by a wait of the reconnection time (3000 ms, or what the stream's
  ``retry`` field said) and a new request from the last event id;
- a status other than 200 (204 is how a server says "stop"), or a Content-Type whose essence is
  not ``text/event-stream``, ends it with an :class:`~lambda_sse.errors.EventSourceError` that
  carries the response: reconnecting would not help.

Beyond the spec, and only after consecutive attempts that delivered no event, the wait grows
exponentially with jitter (never below the reconnection time the server asked for), and
``max_attempts`` bounds such a run of failures. Events are yielded as soon as the decoder
completes them; none that arrived is ever dropped.

The policy is sans-IO in :mod:`lambda_sse.sse.policy` (:func:`content_type_essence`,
:func:`check_response`, :func:`last_event_id_header`, :class:`ReconnectPolicy`, the argument
checks), and so is the reconnect loop itself (``EventSource._session``, a generator of steps);
the ``for`` and ``async for`` loops only perform its steps. httpx (and anyio) are the ``client``
extra; nothing else in :mod:`lambda_sse.sse` imports this module.

Why this module is longer than 400 lines: it is one class, whose core and two shells (and the
closing from another thread or task that both must support) are meant to be read together.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import random as _random
import socket
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
)
from types import TracebackType
from typing import Any

import anyio
import httpx

from lambda_sse.errors import (
    EventSourceContentTypeError,
    EventSourceError,
    EventSourceExhaustedError,
    EventSourceOptionError,
    EventSourceStatusError,
)
from lambda_sse.sse.decoder import SSEDecoder, SSELimitError
from lambda_sse.sse.event import ServerSentEvent
from lambda_sse.sse.policy import (
    _BODY_SNIPPET,
    _EVENT_STREAM,
    _TOKEN,
    CLOSED,
    CONNECTING,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BACKOFF_MS,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_RETRY_MS,
    OPEN,
    ReconnectPolicy,
    _check_headers,
    _check_int,
    _check_seconds,
    _check_url,
    check_response,
    content_type_essence,
    last_event_id_header,
)
from lambda_sse.sse.policy import BACKOFF_BASE_MS as BACKOFF_BASE_MS  # re-exported

__all__ = [
    "CLOSED",
    "CONNECTING",
    "DEFAULT_RETRY_MS",
    "OPEN",
    "EventSource",
    "EventSourceContentTypeError",
    "EventSourceExhaustedError",
    "EventSourceOptionError",
    "EventSourceStatusError",
    "ReconnectPolicy",
    "check_response",
    "content_type_essence",
    "last_event_id_header",
]

logger = logging.getLogger("lambda_sse.sse.client")

# -- errors during a connection --------------------------------------------------------------

# What ends one connection and calls for a reconnect: the peer or the network failed.
# UnsupportedProtocol (a redirect to a non-HTTP URL) and LocalProtocolError (a header of ours
# that HTTP refuses) are TransportErrors too, but would fail the same way forever.
_FATAL_TRANSPORT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)

# The steps of EventSource._session (see there); a step is ``(op, argument)``.
_OPEN, _SNIPPET, _READ, _CLOSE, _EMIT, _SLEEP = range(6)
_OPEN_STEP = (_OPEN, None)
_SNIPPET_STEP = (_SNIPPET, None)
_READ_STEP = (_READ, None)
_CLOSE_STEP = (_CLOSE, None)


def _fatal(error: httpx.HTTPError, url: httpx.URL) -> EventSourceError:
    return EventSourceError(f"cannot connect to {url}: {type(error).__name__}: {error}")


# -- the I/O shells --------------------------------------------------------------------------


class EventSource:
    """A reconnecting SSE client; iterate it with ``for`` or ``async for``.

    >>> with EventSource("http://127.0.0.1:8000/events") as source:  # doctest: +SKIP
    ...     for event in source:
    ...         print(event.event, event.data, event.id)

    Arguments (all keyword-only after ``url``):

    - ``headers``: extra request headers (``Authorization``...); they may override ``Accept``
      and ``Cache-Control``; ``Last-Event-ID`` is the client's own (use ``last_event_id``).
    - ``last_event_id``: the id to resume from on the first request.
    - ``retry``: the initial reconnection time in milliseconds (the stream's ``retry`` field
      replaces it); ``max_backoff``: the longest wait in milliseconds after repeated failures;
      ``max_attempts``: give up after that many attempts in a row without an event (None:
      never).
    - ``read_timeout``: seconds of silence after which the connection is taken for dead and
      replaced (None: wait forever); ``connect_timeout``: seconds to connect.
    - ``method`` and ``content``: for event streams that answer a POST; the body is sent again
      on every reconnect.
    - ``client``: an ``httpx.Client`` (for ``for``) or ``httpx.AsyncClient`` (for
      ``async for``) to use, left open; or ``transport``: an httpx transport for a client this
      object makes and closes.
    - ``sleep`` / ``async_sleep`` / ``random``: the wait functions (seconds) and the jitter
      source, for tests.
    - ``max_line`` / ``max_event``: the decoder's size limits in bytes.

    Attributes: ``url``, ``last_event_id``, ``retry`` (ms), ``ready_state`` (``CONNECTING``,
    ``OPEN`` or ``CLOSED``), ``response`` (the current or last response).
    """

    def __init__(
        self,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        last_event_id: str = "",
        retry: int = DEFAULT_RETRY_MS,
        max_backoff: int = DEFAULT_MAX_BACKOFF_MS,
        max_attempts: int | None = None,
        read_timeout: float | None = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        method: str = "GET",
        content: bytes | str | None = None,
        client: httpx.Client | httpx.AsyncClient | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], object] | None = None,
        async_sleep: Callable[[float], Awaitable[object]] | None = None,
        random: Callable[[], float] = _random.random,
        max_line: int | None = None,
        max_event: int | None = None,
    ) -> None:
        self.url = _check_url(url)
        self._headers = _check_headers(headers)
        _check_int("retry", retry, minimum=0)
        _check_int("max_backoff", max_backoff, minimum=0)
        if max_attempts is not None:
            _check_int("max_attempts", max_attempts, minimum=1)
        if read_timeout is not None:
            _check_seconds("read_timeout", read_timeout)
        _check_seconds("connect_timeout", connect_timeout)
        if client is not None and transport is not None:
            raise EventSourceOptionError(
                "pass client or transport, not both (a given client keeps its own transport)",
                key="transport",
            )
        if not isinstance(method, str) or not _TOKEN.fullmatch(method):
            raise EventSourceOptionError(
                f"method must be an HTTP method, got {method!r}", key="method"
            )
        if content is not None and not isinstance(content, bytes | str):
            raise EventSourceOptionError(
                f"content must be bytes, str or None, got {type(content).__name__}", key="content"
            )
        decoder_limits: dict[str, int] = {}
        for name, limit in (("max_line", max_line), ("max_event", max_event)):
            if limit is not None:
                _check_int(name, limit, minimum=1)
                decoder_limits[name] = limit
        try:
            self._decoder = SSEDecoder(last_event_id=last_event_id, **decoder_limits)
        except ValueError as exc:
            raise EventSourceOptionError(str(exc), key="last_event_id") from exc
        if "\r" in last_event_id or "\n" in last_event_id:
            raise EventSourceOptionError(
                f"last_event_id must not contain CR or LF, got {last_event_id!r}",
                key="last_event_id",
            )
        self._policy = ReconnectPolicy(
            retry_ms=retry, max_attempts=max_attempts, max_backoff_ms=max_backoff, random=random
        )
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._method = method
        self._content = content
        self._client_given = client
        self._transport = transport
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._wake = threading.Event()  # set by close(): cuts a default sleep short
        self._async_wake: anyio.Event | None = None
        self._closed = False
        self._owner: int | None = None  # the thread running the sync iteration
        self._iterator: Generator[ServerSentEvent, None, None] | None = None
        self._async_iterator: AsyncGenerator[ServerSentEvent, None] | None = None
        self.ready_state: int = CONNECTING
        self.response: httpx.Response | None = None

    # -- state -------------------------------------------------------------------------------

    @property
    def last_event_id(self) -> str:
        """The id to resume from (the stream's last dispatched id), "" for none."""
        return self._decoder.last_event_id

    @property
    def retry(self) -> int:
        """The reconnection time in milliseconds."""
        return self._policy.retry_ms

    @property
    def closed(self) -> bool:
        return self._closed

    def _stopped(self) -> bool:
        # A call, not an attribute read: close() may flip it from another thread or task.
        return self._closed

    def _request_headers(self) -> list[tuple[bytes, bytes]]:
        headers = {
            b"accept": (b"Accept", _EVENT_STREAM.encode()),
            b"cache-control": (b"Cache-Control", b"no-cache"),
        }
        for name, value in self._headers:
            headers[name.lower()] = (name, value)
        last_id = last_event_id_header(self._decoder.last_event_id)
        if last_id is not None:
            headers[b"last-event-id"] = (b"Last-Event-ID", last_id)
        return list(headers.values())

    def _events(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk; the stream's ``retry`` takes effect at once (spec 9.2.6)."""
        decoder = self._decoder
        try:
            events = decoder.feed(chunk)
        finally:
            if decoder.retry is not None:
                self._policy.retry_ms = decoder.retry
        return events

    # -- the sans-IO core of both loops ----------------------------------------------------------

    def _session(self) -> Generator[tuple[int, Any], Any, None]:
        """The reconnect loop of WHATWG HTML 9.2.3 as steps (``_OPEN``: a response;
        ``_SNIPPET``: the start of its body; ``_READ``: the next chunk, None at the end;
        ``_CLOSE``; ``_EMIT``: hand an event to the caller; ``_SLEEP``). The ``for`` and
        ``async for`` shells only perform them, so the two cannot behave differently."""
        while not self._stopped():
            delivered = False
            error: httpx.HTTPError | None = None
            self.ready_state = CONNECTING
            try:
                response = yield _OPEN_STEP
                try:
                    self.response = response
                    if self._stopped():
                        return
                    refused = response.status_code not in (200, 204)
                    check_response(response, (yield _SNIPPET_STEP) if refused else b"")
                    self.ready_state = OPEN
                    try:
                        while (chunk := (yield _READ_STEP)) is not None:
                            try:
                                events = self._events(chunk)
                            except SSELimitError as exc:
                                for event in exc.events:
                                    yield (_EMIT, event)
                                raise
                            for event in events:
                                delivered = True
                                yield (_EMIT, event)
                                if self._stopped():
                                    return
                            if self._stopped():
                                return
                    finally:
                        self._decoder.close()  # a pending block dies with its stream
                except Exception:
                    yield _CLOSE_STEP
                    raise
                yield _CLOSE_STEP
            except _FATAL_TRANSPORT as exc:
                raise _fatal(exc, self.url) from exc
            except httpx.TooManyRedirects as exc:
                raise EventSourceError(f"{self.url}: {exc}", self.response) from exc
            except (httpx.TransportError, httpx.DecodingError) as exc:
                error = exc
            except Exception:
                if self._stopped():
                    return  # close() from another thread or task tore the connection down
                raise
            if self._stopped():
                return
            self.ready_state = CONNECTING
            delay = self._policy.attempt_ended(delivered, error, self.response)
            logger.debug("reconnecting to %s in %.3f s after %r", self.url, delay, error)
            yield (_SLEEP, delay)

    def _client(self, flavour: type[httpx.Client | httpx.AsyncClient]) -> tuple[Any, bool]:
        """The client to iterate with (and whether this object owns it), checked against the
        flavour of iteration."""
        sync = flavour is httpx.Client
        client = self._client_given
        if client is None:
            transport = self._transport
            wanted = httpx.BaseTransport if sync else httpx.AsyncBaseTransport
            if transport is not None and not isinstance(transport, wanted):
                raise EventSourceOptionError(
                    "transport is async: iterate with async for, or pass an httpx.BaseTransport"
                    if sync
                    else "transport is sync: iterate with for, or pass an httpx.AsyncBaseTransport",
                    key="transport",
                )
            return flavour(transport=transport), True  # type: ignore[arg-type]  # checked above
        if not isinstance(client, flavour):
            raise EventSourceOptionError(
                "client is an httpx.AsyncClient: iterate with async for, or pass an httpx.Client"
                if sync
                else "client is an httpx.Client: iterate with for, or pass an httpx.AsyncClient",
                key="client",
            )
        return client, False

    def _stream_args(self) -> dict[str, Any]:
        return {
            "method": self._method,
            "url": self.url,
            "headers": self._request_headers(),
            "content": self._content,
            "timeout": self._timeout,
            "follow_redirects": True,
        }

    # -- sync --------------------------------------------------------------------------------

    def __iter__(self) -> Generator[ServerSentEvent, None, None]:
        self._iterator = self._run_sync()
        return self._iterator

    def _run_sync(self) -> Generator[ServerSentEvent, None, None]:
        self._owner = threading.get_ident()
        client, owned = self._client(httpx.Client)
        core = self._session()
        opened: Any = None  # the response's context manager while one is open
        chunks: Iterator[bytes] | None = None
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    step = core.send(value) if error is None else core.throw(error)
                except StopIteration:
                    return
                value = error = None
                op, arg = step
                if op == _EMIT:
                    yield arg
                    continue
                try:
                    if op == _READ:
                        if chunks is None:
                            chunks = self.response.iter_bytes()  # type: ignore[union-attr]
                        value = next(chunks, None)
                    elif op == _OPEN:
                        opened, chunks = client.stream(**self._stream_args()), None
                        value = opened.__enter__()
                    elif op == _CLOSE:
                        opened, closing = None, opened
                        if closing is not None:
                            closing.__exit__(None, None, None)
                    elif op == _SNIPPET:
                        value = _snippet(self.response)  # type: ignore[arg-type]
                    elif self._sleep is not None:
                        self._sleep(arg)
                    else:
                        self._wake.wait(arg)
                except Exception as exc:
                    error = exc
        finally:
            core.close()
            if opened is not None:
                with contextlib.suppress(Exception):
                    opened.__exit__(None, None, None)
            self.ready_state = CLOSED
            if owned:
                client.close()

    def close(self) -> None:
        """Stop: close the connection and end the iteration (from any thread)."""
        self._closed = True
        self._wake.set()
        iterator = self._iterator
        if iterator is not None:
            if self._owner in (None, threading.get_ident()) and (
                inspect.getgeneratorstate(iterator) != inspect.GEN_RUNNING
            ):
                iterator.close()
            else:
                # Iterated by another thread: a generator must not be closed from outside
                # it, so wake its read instead; the loop then sees _closed and returns.
                self._interrupt()
        self.ready_state = CLOSED

    def _interrupt(self) -> None:
        """Wake a read blocked in another thread or task by shutting its socket down.

        Closing a socket does not wake a ``recv`` blocked on it in another thread (Linux), and
        an httpx response must not be closed from outside its own thread or task; a shutdown
        does both safely: the read returns end-of-file and the loop stops.
        """
        response = self.response
        if response is None or response.is_closed:
            return  # its connection may already serve someone else's request
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        # A socket.socket (sync), or asyncio's TransportSocket wrapper (async): both shut down.
        shutdown = getattr(sock, "shutdown", None)
        if callable(shutdown):
            with contextlib.suppress(OSError):
                shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> EventSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- async -------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncGenerator[ServerSentEvent, None]:
        self._async_iterator = self._run_async()
        return self._async_iterator

    async def _run_async(self) -> AsyncGenerator[ServerSentEvent, None]:
        client, owned = self._client(httpx.AsyncClient)
        core = self._session()
        opened: Any = None
        chunks: AsyncIterator[bytes] | None = None
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    step = core.send(value) if error is None else core.throw(error)
                except StopIteration:
                    return
                value = error = None
                op, arg = step
                if op == _EMIT:
                    yield arg
                    continue
                try:
                    if op == _READ:
                        if chunks is None:
                            chunks = self.response.aiter_bytes()  # type: ignore[union-attr]
                        value = await anext(chunks, None)
                    elif op == _OPEN:
                        opened, chunks = client.stream(**self._stream_args()), None
                        value = await opened.__aenter__()
                    elif op == _CLOSE:
                        opened, closing = None, opened
                        if closing is not None:
                            await closing.__aexit__(None, None, None)
                    elif op == _SNIPPET:
                        value = await _async_snippet(self.response)  # type: ignore[arg-type]
                    elif self._async_sleep is not None:
                        await self._async_sleep(arg)
                    else:
                        # An Event of this loop, so aclose() from another task cuts the wait short.
                        self._async_wake = anyio.Event()
                        with anyio.move_on_after(arg):
                            await self._async_wake.wait()
                except Exception as exc:
                    error = exc
        finally:
            core.close()
            if opened is not None:
                with contextlib.suppress(Exception):
                    await opened.__aexit__(None, None, None)
            self.ready_state = CLOSED
            if owned:
                await client.aclose()

    async def aclose(self) -> None:
        """Stop the async iteration and close its connection."""
        self._closed = True
        self._wake.set()
        iterator = self._async_iterator
        if iterator is not None:
            try:
                await iterator.aclose()
            except RuntimeError:
                # Running in another task: wake its read or its sleep; it then sees _closed.
                self._interrupt()
                if self._async_wake is not None:
                    self._async_wake.set()
        self.ready_state = CLOSED

    async def __aenter__(self) -> EventSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = ("CONNECTING", "OPEN", "CLOSED")[self.ready_state]
        return f"<EventSource {self.url} {state} last_event_id={self.last_event_id!r}>"


# -- helpers ---------------------------------------------------------------------------------


def _snippet(response: httpx.Response) -> bytes:
    """The start of a refused response's body, for the error message; never the whole body."""
    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= _BODY_SNIPPET:
                break
    except httpx.HTTPError:
        pass
    return body[:_BODY_SNIPPET]


async def _async_snippet(response: httpx.Response) -> bytes:
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _BODY_SNIPPET:
                break
    except httpx.HTTPError:
        pass
    return body[:_BODY_SNIPPET]
