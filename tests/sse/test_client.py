"""The EventSource client against a real HTTP/1.1 server on loopback, sync and async.

Every test runs twice: ``for`` over an ``httpx.Client`` (in a worker thread) and ``async for``
over an ``httpx.AsyncClient``. Waits between reconnects go to an injected clock, so no test
sleeps; the only real waits are read timeouts of a fraction of a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from typing import Any, Literal

import anyio
import httpx
import pytest

from lambda_sse.errors import EventSourceError
from lambda_sse.sse import ServerSentEvent, SSELimitError
from lambda_sse.sse.client import (
    CLOSED,
    CONNECTING,
    OPEN,
    EventSource,
    EventSourceContentTypeError,
    EventSourceExhaustedError,
    EventSourceOptionError,
    EventSourceStatusError,
)
from tests.support.sse_server import Gate, Reply, SSEServer, Stream, unused_port

Flavour = Literal["sync", "async"]
# A bound on any single wait for the client; real waits here are well under a second.
STEP_TIMEOUT = 10.0


class Clock:
    """The injected sleep: records each requested wait and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


class Reader:
    """Pulls events from an EventSource one at a time, in either flavour."""

    def __init__(self, source: EventSource, flavour: Flavour) -> None:
        self.source = source
        self.flavour = flavour
        self._sync: Generator[ServerSentEvent, None, None] | None = None
        self._async: AsyncGenerator[ServerSentEvent, None] | None = None

    async def next(self) -> ServerSentEvent | None:
        """The next event, or None when the source ended."""
        with anyio.fail_after(STEP_TIMEOUT):
            if self.flavour == "async":
                if self._async is None:
                    self._async = aiter(self.source)
                return await anext(self._async, None)
            if self._sync is None:
                self._sync = iter(self.source)
            iterator = self._sync
            return await anyio.to_thread.run_sync(
                lambda: next(iterator, None), abandon_on_cancel=True
            )

    async def take(self, count: int) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        for _ in range(count):
            event = await self.next()
            assert event is not None, f"stream ended after {events}"
            events.append(event)
        return events

    async def until_error(self, limit: int = 50) -> tuple[list[ServerSentEvent], Exception]:
        """All events up to the exception that ends the source."""
        events: list[ServerSentEvent] = []
        for _ in range(limit):
            try:
                event = await self.next()
            except Exception as exc:
                return events, exc
            assert event is not None, f"stream ended without an error after {events}"
            events.append(event)
        pytest.fail(f"no error after {limit} events")

    async def close(self) -> None:
        if self.flavour == "async":
            await self.source.aclose()
        else:
            self.source.close()


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    value: Flavour = request.param
    return value


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def open_reader(
    flavour: Flavour, clock: Clock
) -> AsyncGenerator[Callable[..., Reader], None]:
    """Builds Readers over EventSources with the injected clock; closes them all after."""
    readers: list[Reader] = []

    def make(url: str | httpx.URL, **options: Any) -> Reader:
        options.setdefault("sleep", clock.sleep)
        options.setdefault("async_sleep", clock.async_sleep)
        options.setdefault("random", lambda: 1.0)
        reader = Reader(EventSource(url, **options), flavour)
        readers.append(reader)
        return reader

    try:
        yield make
    finally:
        for reader in readers:
            await reader.close()


def ev(data: str, id: str = "", event: str = "message") -> ServerSentEvent:
    """An event as the decoder builds it: type "message" by default, id "" when none."""
    return ServerSentEvent(data=data, event=event, id=id)


def sse(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


# -- request headers and basic delivery --------------------------------------------------------


@pytest.mark.anyio
async def test_sends_event_stream_headers_and_yields_events(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script(
        "/events",
        Stream([sse("retry: 1500", "id: 1", "event: greet", "data: hello", "")]),
        Reply(204),
    )
    reader = open_reader(server.url(), headers={"Authorization": "Bearer t0k"})
    assert await reader.next() == ev("hello", "1", "greet")
    assert reader.source.ready_state == OPEN
    assert reader.source.retry == 1500
    assert reader.source.last_event_id == "1"
    first = server.requests_to("/events")[0]
    assert first.method == "GET"
    assert first.header("accept") == "text/event-stream"
    assert first.header("cache-control") == "no-cache"
    assert first.header("authorization") == "Bearer t0k"
    assert first.header("last-event-id") is None  # never sent while the id is empty


@pytest.mark.anyio
async def test_initial_last_event_id_is_sent(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script("/events", Stream([sse("data: x", "")]), Reply(204))
    reader = open_reader(server.url(), last_event_id="resume-here")
    # The stream named no id: the event carries the id it resumed from (as Chromium does).
    assert await reader.next() == ev("x", "resume-here")
    assert server.requests_to("/events")[0].header("last-event-id") == "resume-here"


# -- reconnecting --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_drop_mid_stream_resumes_from_the_last_id_without_loss_or_duplicates(
    server: SSEServer, open_reader: Callable[..., Reader], clock: Clock
) -> None:
    server.script(
        "/events",
        # id 3's block never gets its blank line: it is discarded and must not move the id.
        Stream(
            [sse("retry: 1500", "id: 1", "data: a", ""), sse("id: 2", "data: b", ""), b"id: 3\n"],
            end="drop",
        ),
        Stream([sse("id: 3", "data: c", "", "id: 4", "data: d", "")], end="close"),
        Reply(204),
    )
    reader = open_reader(server.url())
    events, error = await reader.until_error()
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
    assert isinstance(error, EventSourceStatusError)
    assert error.status == 204
    sent = [r.header("last-event-id") for r in server.requests_to("/events")]
    assert sent == [None, "2", "4"]
    # The server's retry: 1500 replaced the default 3000 ms, after a drop and after a clean end.
    assert clock.delays == [1.5, 1.5]


@pytest.mark.anyio
async def test_events_in_the_chunk_before_a_drop_are_all_delivered(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script(
        "/events",
        Stream([sse("id: 1", "data: a", "", "id: 2", "data: b", "", "data: lost")], end="drop"),
        Stream([sse("data: c", "")]),
        Reply(204),
    )
    events, error = await open_reader(server.url()).until_error()
    assert [e.data for e in events] == ["a", "b", "c"]
    assert [e.id for e in events] == ["1", "2", "2"]
    assert isinstance(error, EventSourceStatusError)


@pytest.mark.anyio
async def test_id_only_block_moves_the_resume_point(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script(
        "/events",
        Stream([sse("id: 1", "data: a", "", "id: 9", "")], end="drop"),
        Stream([sse("data: b", "")]),
        Reply(204),
    )
    events, _ = await open_reader(server.url()).until_error()
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "9")]
    assert [r.header("last-event-id") for r in server.requests] == [None, "9", "9"]


@pytest.mark.anyio
async def test_empty_id_field_stops_sending_last_event_id(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script(
        "/events",
        Stream([sse("id: 1", "data: a", "")]),
        Stream([sse("id", "data: b", "")]),
        Reply(204),
    )
    events, _ = await open_reader(server.url()).until_error()
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "")]
    assert [r.header("last-event-id") for r in server.requests] == [None, "1", None]


@pytest.mark.anyio
async def test_non_ascii_id_travels_back_as_utf8(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script("/events", Stream([sse("id: é✓ 7", "data: a", "")]), Reply(204))
    events, _ = await open_reader(server.url()).until_error()
    assert [e.id for e in events] == ["é✓ 7"]
    assert server.requests[1].header("last-event-id") == "é✓ 7"


@pytest.mark.anyio
async def test_silent_server_read_timeout_reconnects(
    server: SSEServer, open_reader: Callable[..., Reader], clock: Clock
) -> None:
    server.script(
        "/events",
        Stream([sse("id: 1", "data: a", "")], end="hang"),  # then silent, socket left open
        Stream([sse("id: 2", "data: b", "")]),
        Reply(204),
    )
    reader = open_reader(server.url(), read_timeout=0.3, retry=250)
    events, error = await reader.until_error()
    assert [e.data for e in events] == ["a", "b"]
    assert isinstance(error, EventSourceStatusError)
    assert [r.header("last-event-id") for r in server.requests] == [None, "1", "2"]
    assert clock.delays == [0.25, 0.25]


@pytest.mark.anyio
async def test_silent_server_without_events_counts_as_failures(
    server: SSEServer, open_reader: Callable[..., Reader], clock: Clock
) -> None:
    server.script("/events", Stream([b": just a comment\n"], end="hang"))
    reader = open_reader(server.url(), read_timeout=0.2, retry=100, max_attempts=2)
    events, error = await reader.until_error()
    assert events == []
    assert isinstance(error, EventSourceExhaustedError)
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    assert len(server.requests) == 2
    assert clock.delays == [0.1]


# -- stopping for good ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_204_stops_without_reconnecting(
    server: SSEServer, open_reader: Callable[..., Reader], clock: Clock
) -> None:
    server.script("/events", Reply(204))
    reader = open_reader(server.url())
    events, error = await reader.until_error()
    assert events == []
    assert isinstance(error, EventSourceStatusError)
    assert error.status == 204
    assert isinstance(error.response, httpx.Response)
    assert "204 No Content" in str(error)
    assert len(server.requests) == 1
    assert clock.delays == []
    assert reader.source.ready_state == CLOSED


@pytest.mark.anyio
async def test_500_stops_and_quotes_the_body(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script("/events", Reply(500, [("Content-Type", "text/plain")], b"database on fire"))
    events, error = await open_reader(server.url()).until_error()
    assert events == []
    assert isinstance(error, EventSourceStatusError)
    assert error.status == 500
    assert error.body == b"database on fire"
    assert "500 Internal Server Error" in str(error)
    assert "database on fire" in str(error)
    assert str(server.url()) in str(error)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_error_status_with_an_endless_body_is_quoted_in_part(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script("/events", Stream([b"x" * 300, b"y" * 300], status=503, end="hang"))
    _, error = await open_reader(server.url()).until_error()
    assert isinstance(error, EventSourceStatusError)
    assert error.status == 503
    assert error.body == b"x" * 300 + b"y" * 212


@pytest.mark.anyio
@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
async def test_wrong_content_type_stops(
    server: SSEServer, open_reader: Callable[..., Reader], content_type: str | None
) -> None:
    server.script("/events", Stream([sse("data: a", "")], content_type=content_type))
    events, error = await open_reader(server.url()).until_error()
    assert events == []
    assert isinstance(error, EventSourceContentTypeError)
    assert error.content_type == content_type
    assert "text/event-stream" in str(error)
    assert len(server.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type", ["text/event-stream; charset=utf-8", "Text/Event-Stream", "text/event-stream;"]
)
async def test_content_type_essence_is_accepted(
    server: SSEServer, open_reader: Callable[..., Reader], content_type: str
) -> None:
    server.script("/events", Stream([sse("data: a", "")], content_type=content_type), Reply(204))
    events, error = await open_reader(server.url()).until_error()
    assert [e.data for e in events] == ["a"]
    assert isinstance(error, EventSourceStatusError)


# -- redirects ---------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_followed_on_every_connect(
    server: SSEServer, open_reader: Callable[..., Reader], status: int
) -> None:
    server.script("/old", Reply(status, [("Location", "/events")]))
    server.script(
        "/events",
        Stream([sse("id: 1", "data: a", "")], end="drop"),
        Stream([sse("id: 2", "data: b", "")]),
        Reply(204),
    )
    events, error = await open_reader(server.url("/old")).until_error()
    assert [e.data for e in events] == ["a", "b"]
    assert isinstance(error, EventSourceStatusError)
    # Reconnects start again from the URL the client was given, with the resume point.
    assert [r.path for r in server.requests] == ["/old", "/events"] * 3
    assert [r.header("last-event-id") for r in server.requests_to("/events")] == [None, "1", "2"]
    assert all(r.header("accept") == "text/event-stream" for r in server.requests)


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "method"), [(303, "GET"), (307, "POST"), (308, "POST")])
async def test_post_streams_follow_redirects_as_http_says(
    server: SSEServer, open_reader: Callable[..., Reader], status: int, method: str
) -> None:
    server.script("/old", Reply(status, [("Location", "/events")]))
    server.script("/events", Stream([sse("data: a", "")]), Reply(204))
    reader = open_reader(server.url("/old"), method="POST", content=b'{"q": 1}')
    assert (await reader.next()) == ev("a")
    assert [(r.path, r.method) for r in server.requests[:2]] == [
        ("/old", "POST"),
        ("/events", method),
    ]


@pytest.mark.anyio
async def test_redirect_loop_stops(server: SSEServer, open_reader: Callable[..., Reader]) -> None:
    server.script("/loop", Reply(302, [("Location", "/loop")]))
    _, error = await open_reader(server.url("/loop")).until_error()
    assert isinstance(error, EventSourceError)
    assert "redirect" in str(error).lower()
    assert len(server.requests) == 21  # httpx's default limit of 20 redirects


# -- attempts, backoff and jitter --------------------------------------------------------------


@pytest.mark.anyio
async def test_attempt_limit_against_a_closed_port(
    open_reader: Callable[..., Reader], clock: Clock
) -> None:
    draws = iter([0.0, 1.0])
    url = f"http://127.0.0.1:{unused_port()}/events"
    reader = open_reader(url, max_attempts=3, retry=1000, random=lambda: next(draws))
    events, error = await reader.until_error()
    assert events == []
    assert isinstance(error, EventSourceExhaustedError)
    assert error.attempts == 3
    assert isinstance(error.__cause__, httpx.ConnectError)
    assert "max_attempts=3" in str(error)
    # 1st failure: the reconnection time; 2nd: jittered within [1 s, 2 s], here its top.
    assert clock.delays == [1.0, 1.0 + 1.0 * 0.0]


@pytest.mark.anyio
async def test_backoff_grows_with_jitter_and_resets_after_delivery(
    server: SSEServer, open_reader: Callable[..., Reader], clock: Clock
) -> None:
    nothing = Stream([b": keep-alive\n"], end="close")  # 200, but no event
    server.script(
        "/events",
        nothing,
        nothing,
        nothing,
        Stream([sse("id: 1", "data: a", "")], end="drop"),
        nothing,
        nothing,
        Reply(204),
    )
    draws = iter([0.5, 0.25, 1.0])
    reader = open_reader(server.url(), retry=1000, max_backoff=3000, random=lambda: next(draws))
    events, error = await reader.until_error()
    assert [e.data for e in events] == ["a"]
    assert isinstance(error, EventSourceStatusError)
    assert clock.delays == [
        1.0,  # 1st failure: exactly the reconnection time
        1.0 + 1.0 * 0.5,  # 2nd in a row: within [1, 2] s
        1.0 + 2.0 * 0.25,  # 3rd in a row: within [1, 3] s (capped by max_backoff)
        1.0,  # after a connection that delivered an event: the count starts over
        1.0,  # 1st failure again
        1.0 + 1.0 * 1.0,  # 2nd in a row
    ]
    assert [r.header("last-event-id") for r in server.requests][-3:] == ["1", "1", "1"]


@pytest.mark.anyio
async def test_empty_streams_exhaust_attempts(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script("/events", Stream([], end="close"))
    events, error = await open_reader(server.url(), max_attempts=4).until_error()
    assert events == []
    assert isinstance(error, EventSourceExhaustedError)
    assert "ended without an event" in str(error)
    assert isinstance(error.response, httpx.Response)
    assert len(server.requests) == 4


# -- delivery ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_each_event_is_yielded_before_the_server_sends_the_next(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    first_gate, second_gate = Gate(), Gate()
    server.script(
        "/events",
        Stream(
            [b"data: fi", b"rst\n", b"\n", first_gate, b"data: second\n\n", second_gate],
            end="hang",
        ),
    )
    reader = open_reader(server.url())
    assert await reader.next() == ev("first")
    # The server is parked at the gate: the second event does not exist yet.
    assert first_gate.reached.wait(STEP_TIMEOUT)
    assert first_gate.outcome() is None
    first_gate.open()
    assert await reader.next() == ev("second")
    assert first_gate.outcome() is True
    assert second_gate.outcome() is None


@pytest.mark.anyio
async def test_a_stream_written_one_byte_at_a_time(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    # A BOM, CRLF and CR line ends and a multi-byte character, every byte its own HTTP chunk:
    # splits inside the BOM, between CR and LF, and inside the UTF-8 sequence.
    raw = "\ufeffid: 1\r\ndata: caf\u00e9\r\n\r\nevent: x\rdata: 2\r\rdata: 3\n\n".encode()
    server.script("/events", Stream([raw[i : i + 1] for i in range(len(raw))]), Reply(204))
    events, error = await open_reader(server.url()).until_error()
    assert events == [ev("café", "1"), ev("2", "1", "x"), ev("3", "1")]
    assert isinstance(error, EventSourceStatusError)


@pytest.mark.anyio
async def test_events_before_an_oversized_line_are_delivered_then_the_error(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script("/events", Stream([sse("data: a", "", "data: " + "x" * 100, "")]))
    events, error = await open_reader(server.url(), max_line=64).until_error()
    assert [e.data for e in events] == ["a"]
    assert isinstance(error, SSELimitError)
    assert len(server.requests) == 1


# -- lifecycle and injection ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_close_ends_the_iteration_and_the_connection(
    server: SSEServer, open_reader: Callable[..., Reader]
) -> None:
    server.script("/events", Stream([sse("data: a", "")], end="hang"))
    reader = open_reader(server.url())
    assert await reader.next() == ev("a")
    await reader.close()
    assert reader.source.ready_state == CLOSED
    assert await reader.next() is None
    assert len(server.requests) == 1


def test_sync_context_manager_and_injected_client(server: SSEServer, clock: Clock) -> None:
    server.script("/events", Stream([sse("data: a", "", "data: b", "")]), Reply(204))
    with httpx.Client() as client:
        with EventSource(server.url(), client=client, sleep=clock.sleep) as source:
            for event in source:
                assert event.data == "a"
                break
        assert source.ready_state == CLOSED
        assert not client.is_closed  # an injected client stays the caller's
        assert client.get(server.url("/none")).status_code == 404


@pytest.mark.anyio
async def test_async_context_manager_and_injected_client(server: SSEServer, clock: Clock) -> None:
    server.script("/events", Stream([sse("data: a", "", "data: b", "")]), Reply(204))
    async with httpx.AsyncClient() as client:
        async with EventSource(
            server.url(), client=client, async_sleep=clock.async_sleep
        ) as source:
            async for event in source:
                assert event.data == "a"
                break
        assert source.ready_state == CLOSED
        assert not client.is_closed


def test_injected_transport(server: SSEServer) -> None:
    server.script("/events", Stream([sse("data: via transport", "")]))
    with EventSource(server.url(), transport=httpx.HTTPTransport(retries=0)) as source:
        assert next(iter(source)).data == "via transport"


@pytest.mark.anyio
async def test_wrong_flavour_of_client_is_a_clear_error() -> None:
    async with httpx.AsyncClient() as async_client:
        with pytest.raises(EventSourceOptionError, match="async for"):
            next(iter(EventSource("http://127.0.0.1:9/", client=async_client)))
    with (
        httpx.Client() as sync_client,
        pytest.raises(EventSourceOptionError, match="iterate with for"),
    ):
        await anext(aiter(EventSource("http://127.0.0.1:9/", client=sync_client)))
    with pytest.raises(EventSourceOptionError, match="transport is async"):
        next(iter(EventSource("http://127.0.0.1:9/", transport=httpx.AsyncHTTPTransport())))
    with pytest.raises(EventSourceOptionError, match="transport is sync"):
        await anext(aiter(EventSource("http://127.0.0.1:9/", transport=httpx.HTTPTransport())))


@pytest.mark.anyio
async def test_redirect_to_a_non_http_url_is_fatal(
    server: SSEServer, open_reader: Callable[..., Reader], clock: Clock
) -> None:
    server.script("/events", Reply(302, [("Location", "ftp://127.0.0.1/x")]))
    events, error = await open_reader(server.url()).until_error()
    assert events == []
    assert isinstance(error, EventSourceError)
    assert "UnsupportedProtocol" in str(error)
    assert clock.delays == []
    assert len(server.requests) == 1


def test_close_from_another_thread_wakes_a_blocked_read(server: SSEServer) -> None:
    server.script("/events", Stream([sse("data: a", "")], end="hang"))
    # No read timeout: only close() can end the read.
    source = EventSource(server.url(), read_timeout=None)
    received: list[ServerSentEvent] = []
    first = threading.Event()
    finished = threading.Event()

    def consume() -> None:
        for event in source:
            received.append(event)
            first.set()
        finished.set()

    worker = threading.Thread(target=consume)
    worker.start()
    try:
        assert first.wait(STEP_TIMEOUT)
        source.close()
        assert finished.wait(STEP_TIMEOUT), "close() did not wake the blocked read"
    finally:
        source.close()
        worker.join(STEP_TIMEOUT)
    assert [e.data for e in received] == ["a"]
    assert source.ready_state == CLOSED


def test_close_from_another_thread_cuts_the_reconnect_wait_short(server: SSEServer) -> None:
    server.script("/events", Stream([sse("data: a", "")]))  # ends, then a 60 s wait
    source = EventSource(server.url(), retry=60_000)
    received: list[ServerSentEvent] = []
    finished = threading.Event()

    def consume() -> None:
        received.extend(source)
        finished.set()

    worker = threading.Thread(target=consume)
    worker.start()
    try:
        deadline = time.monotonic() + STEP_TIMEOUT
        while source.ready_state != CONNECTING or not received:
            assert time.monotonic() < deadline, "the stream never ended"
            time.sleep(0.01)
        started = time.monotonic()
        source.close()
        assert finished.wait(STEP_TIMEOUT)
        assert time.monotonic() - started < 5
    finally:
        source.close()
        worker.join(STEP_TIMEOUT)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_aclose_from_another_task_wakes_a_blocked_read(server: SSEServer) -> None:
    server.script("/events", Stream([sse("data: a", "")], end="hang"))
    source = EventSource(server.url(), read_timeout=None)
    received: list[ServerSentEvent] = []
    first = anyio.Event()

    async def consume() -> None:
        async for event in source:
            received.append(event)
            first.set()

    with anyio.fail_after(STEP_TIMEOUT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(consume)
            await first.wait()
            await anyio.sleep(0.05)  # let consume() go back into its read
            await source.aclose()
    assert [e.data for e in received] == ["a"]


@pytest.mark.anyio
async def test_aclose_from_another_task_cuts_the_reconnect_wait_short(server: SSEServer) -> None:
    server.script("/events", Stream([sse("data: a", "")]))
    source = EventSource(server.url(), retry=60_000)
    received: list[ServerSentEvent] = []

    async def consume() -> None:
        async for event in source:
            received.append(event)

    with anyio.fail_after(STEP_TIMEOUT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(consume)
            while source.ready_state != CONNECTING or not received:  # noqa: ASYNC110
                await anyio.sleep(0.01)  # the client offers no event for "now waiting"
            await source.aclose()
    assert len(server.requests) == 1
