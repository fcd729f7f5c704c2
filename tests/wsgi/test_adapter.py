"""The WSGI adapter in process: the environ of every front door's event checked by the standard
library's own PEP 3333 validator (wsgiref.validate), the response rules, bounded buffering
between the app's thread and the loop, and the app's thread stopping when the stream is dropped."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from wsgiref.validate import validator

import pytest

from lambda_sse.asgi.cycle import BufferedSink, HttpCycle
from lambda_sse.asgi.scope import build_scope
from lambda_sse.events import detect
from lambda_sse.wsgi import WSGIAdapter, build_environ
from lambda_sse.wsgi.channel import Channel, ChannelClosedError
from tests.asgi import aws_events
from tests.support.asgi_client import make_scope, request, stream
from tests.wsgi import apps

EVENTS = {
    "rest": lambda: aws_events.rest(
        "/echo",
        "POST",
        query="a=1&b=2",
        headers={"content-type": "text/plain", "x-multi": "v"},
        body=b"hi",
    ),
    "function_url": lambda: aws_events.function_url(
        "/echo", "POST", query="a=1&b=2", headers={"content-type": "text/plain"}, body=b"hi"
    ),
    "http_api": lambda: aws_events.http_api("/echo", "POST", query="a=1&b=2", body=b"hi"),
    "alb": lambda: aws_events.alb("/echo", "POST", body=b"hi"),
}


def environ_of(event: dict[str, Any]) -> dict[str, Any]:
    req = detect(event).request(event)
    return build_environ(build_scope(req, event, None, None), req.body)


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_every_front_door_gives_a_valid_environ(kind: str) -> None:
    """wsgiref.validate checks every environ key and type PEP 3333 asks for, and the app's and
    server's sides of start_response and the iterable; it raises AssertionError on a breach."""
    event = EVENTS[kind]()
    req = detect(event).request(event)
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        seen["read"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    async def run() -> BufferedSink:
        sink = BufferedSink()
        await HttpCycle(req.body, sink).run(
            WSGIAdapter(validator(app)), build_scope(req, event, None, None)
        )
        return sink

    sink = asyncio.run(run())  # a validator warning would fail too (filterwarnings = error)
    assert (sink.status, b"".join(sink.chunks)) == (200, b"ok"), "validator refused something"
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["read"] == b"hi"
    assert seen["CONTENT_LENGTH"] == "2"
    assert seen["PATH_INFO"] == "/echo"
    assert seen["aws.event"] is event
    if kind == "rest":
        assert seen["SCRIPT_NAME"] == "/prod"
        assert seen["CONTENT_TYPE"] == "text/plain"
        assert seen["HTTP_X_MULTI"] == "v"
        assert "HTTP_CONTENT_TYPE" not in seen
    if kind != "alb":
        assert seen["QUERY_STRING"] == "a=1&b=2"


def test_environ_fields() -> None:
    scope = make_scope(
        "GET",
        "/prod/café",
        query_string=b"q=%C3%A9",
        headers=[
            ("host", "example.com:8443"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
            ("accept", "text/html"),
            ("accept", "text/plain"),
            ("content-length", "999"),
        ],
        extra={"root_path": "/prod", "server": None, "scheme": "https"},
    )
    environ = build_environ(scope, b"xy")
    assert environ["SCRIPT_NAME"] == "/prod"
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9"  # UTF-8 bytes as latin-1 (PEP 3333)
    assert environ["QUERY_STRING"] == "q=%C3%A9"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"  # RFC 6265 5.4
    assert environ["HTTP_ACCEPT"] == "text/html,text/plain"  # RFC 9110 5.3
    assert environ["CONTENT_LENGTH"] == "2"  # the body we have, not what a header claimed
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.com", "8443")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("127.0.0.1", "50000")
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.errors"] is sys.stderr
    assert environ["wsgi.multithread"] is False
    no_host = build_environ(make_scope(extra={"server": None}), b"", multithread=True)
    assert (no_host["SERVER_NAME"], no_host["SERVER_PORT"]) == ("localhost", "80")
    assert no_host["wsgi.multithread"] is True


def test_managed_instances_make_the_environ_multithreaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "8")
    assert WSGIAdapter(apps.app).multithread is True
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "1")
    assert WSGIAdapter(apps.app).multithread is False


def test_flask_sees_the_unicode_path() -> None:
    async def run() -> tuple[int, bytes]:
        response, body = await request(
            WSGIAdapter(apps.app),
            scope=make_scope("POST", "/echo", query_string=b"x=%C3%A9"),
        )
        return response.status, body

    status, body = asyncio.run(run())
    assert status == 200
    assert b'"args":{"x":["\\u00e9"]}' in body.replace(b" ", b"")


# -- response rules ----------------------------------------------------------------------


def run_app(app: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    async def go() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        sink = BufferedSink()
        await HttpCycle(b"", sink).run(WSGIAdapter(app), make_scope())
        return sink.status, list(sink.headers), b"".join(sink.chunks)

    return asyncio.run(go())


def test_headers_wait_for_the_first_non_empty_string() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("500 Oops", [("x-first", "1")])
        yield b""
        # Not sent yet: the app may still change its mind with exc_info.
        try:
            raise ValueError("late")
        except ValueError:
            start_response("503 Service Unavailable", [("x-second", "2")], sys.exc_info())
        yield b"changed"

    assert run_app(app) == (503, [(b"x-second", b"2")], b"changed")


def test_exc_info_after_headers_went_out_reraises() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        try:
            raise ValueError("after the headers")
        except ValueError:
            start_response("500 Error", [], sys.exc_info())
        yield b"never"

    async def go() -> None:
        async with stream(WSGIAdapter(app)) as response:
            assert response.status == 200
            assert await response.read() == b"partial"

    with pytest.raises(ValueError, match="after the headers"):
        asyncio.run(go())


@pytest.mark.parametrize(
    ("name", "app"),
    [
        ("no start_response", lambda environ, start_response: [b"body"]),
        ("str body", lambda environ, start_response: start_response("200 OK", []) and ["text"]),
        ("bad status", lambda environ, start_response: start_response("OK", []) or [b"x"]),
        ("bad header", lambda environ, start_response: start_response("200 OK", [("a", 1)])),
        ("raises", lambda environ, start_response: 1 / 0),
    ],
)
def test_broken_apps_get_a_clean_500(name: str, app: Any) -> None:
    status, _, body = run_app(app)
    assert (status, body) == (500, b"Internal Server Error"), name


def test_start_response_twice_without_exc_info_is_a_500() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        start_response("201 Created", [])
        return [b"x"]

    assert run_app(app)[0] == 500


def test_iterable_without_body_still_answers() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("204 No Content", [("x-empty", "yes")])
        return []

    assert run_app(app) == (204, [(b"x-empty", b"yes")], b"")


# -- threads and buffering -----------------------------------------------------------------


def slow_client(app: Any, per_chunk: float) -> tuple[int, list[int], list[int]]:
    """Run ``app`` with a ``send`` that takes ``per_chunk`` seconds per body message, as a
    socket write to a slow client does; return the chunk count and, at each chunk, how many
    chunks and bytes the app had produced beyond what was sent."""
    counters = {"chunks": 0, "bytes": 0}
    ahead_chunks: list[int] = []
    ahead_bytes: list[int] = []
    sent = {"chunks": 0, "bytes": 0}

    def counted(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        for chunk in app(environ, start_response):
            counters["chunks"] += 1
            counters["bytes"] += len(chunk)
            yield chunk

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            await asyncio.sleep(per_chunk)
            sent["chunks"] += 1
            sent["bytes"] += len(message["body"])
            ahead_chunks.append(counters["chunks"] - sent["chunks"])
            ahead_bytes.append(counters["bytes"] - sent["bytes"])

    async def go() -> None:
        await asyncio.wait_for(WSGIAdapter(counted, **LIMITS)(make_scope(), receive, send), 30)

    asyncio.run(go())
    return sent["chunks"], ahead_chunks, ahead_bytes


LIMITS: dict[str, int] = {}


def test_the_app_cannot_run_ahead_of_the_client() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        for _ in range(200):
            yield b"x" * 10

    LIMITS.clear()
    LIMITS["max_buffer_items"] = 8
    chunks, ahead, _ = slow_client(app, 0.001)
    assert chunks == 200
    # Held back: the buffer (8), plus the batch the relay is sending (<= 8), plus the chunk in
    # the app's hands; a free-running generator would be ~190 ahead.
    assert max(ahead) <= 2 * 8 + 1, max(ahead)


def test_byte_bound_holds_big_chunks_back() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        for _ in range(20):
            yield b"y" * 60_000

    LIMITS.clear()
    LIMITS["max_buffer_bytes"] = 100_000
    chunks, _, ahead_bytes = slow_client(app, 0.005)
    assert chunks == 20
    # ~two 100 kB buffers' worth at most (the relay's batch and the channel), not all 1.2 MB.
    assert max(ahead_bytes) <= 5 * 60_000, max(ahead_bytes)


def test_a_dropped_stream_stops_the_apps_thread() -> None:
    closed = threading.Event()
    yielded = 0

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        nonlocal yielded
        start_response("200 OK", [])
        try:
            while True:  # endless: only the bridge can stop it
                yielded += 1
                yield b"tick"
                time.sleep(0.001)
        finally:
            closed.set()

    async def go() -> None:
        async with stream(WSGIAdapter(app, max_buffer_items=4), close_timeout=0.2) as response:
            async for _ in response.iter_bytes():
                break
        # Leaving cancelled the relay (the client's side is gone): the channel is closed.

    asyncio.run(go())
    assert closed.wait(5), "the generator was not closed"
    count = yielded
    time.sleep(0.05)
    assert yielded == count


def test_channel_hands_over_in_order_and_refuses_after_close() -> None:
    async def go() -> list[int]:
        loop = asyncio.get_running_loop()
        channel: Channel[int] = Channel(loop, max_items=3)
        got: list[int] = []

        def produce() -> None:
            for i in range(50):
                channel.put(i, 1)

        thread = threading.Thread(target=produce)
        thread.start()
        while len(got) < 50:
            got += await asyncio.wait_for(channel.get_all(), 5)
        thread.join(5)
        channel.close()
        with pytest.raises(ChannelClosedError):
            channel.put(99)
        return got

    assert asyncio.run(go()) == list(range(50))
