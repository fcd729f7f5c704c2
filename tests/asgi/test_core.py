"""The bridge's pieces in process: routes, scope, the message-checked cycle, lifespan, and the
handler writing through the runtime's real ResponseStream framing (parsed back with h11)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import h11
import pytest

from lambda_sse.asgi import handler
from lambda_sse.asgi.cycle import BufferedSink, HttpCycle
from lambda_sse.asgi.lifespan import Lifespan, LifespanError
from lambda_sse.asgi.routes import compile_selector
from lambda_sse.asgi.scope import build_scope
from lambda_sse.asgi.types import ASGIApp, Message, Receive, Scope, Send
from lambda_sse.aws import BUFFERED_LIMIT
from lambda_sse.errors import ConfigError
from lambda_sse.events import HttpRequest
from lambda_sse.runtime.prelude import PreludeDecoder
from lambda_sse.runtime.stream import ResponseStream
from tests.asgi import aws_events

pytestmark = pytest.mark.anyio


def req(path: str, kind: Any = "rest") -> HttpRequest:
    return HttpRequest(kind=kind, method="GET", path=path)


def test_route_selectors() -> None:
    select = compile_selector(["/stream", "/events/*"])
    assert select(req("/stream"))
    assert select(req("/events/a/b"))
    assert not select(req("/streams"))
    assert not select(req("/events"))
    assert compile_selector("/x")(req("/x"))
    assert compile_selector(True)(req("/anything"))
    assert not compile_selector(False)(req("/anything"))
    assert compile_selector(lambda r: r.path.endswith(".sse"))(req("/a.sse"))
    with pytest.raises(ConfigError, match="must be a path starting with '/'"):
        compile_selector(["stream"])


def test_scope_includes_stage_in_path() -> None:
    request = HttpRequest(
        kind="rest",
        method="POST",
        path="/items/1",
        query_string=b"a=1",
        headers=((b"host", b"h"),),
        root_path="/prod",
        client=("1.2.3.4", 0),
        server=("h", 443),
    )
    scope = build_scope(request, {"e": 1}, "ctx", {"k": "v"})
    assert scope == {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/prod/items/1",
        "raw_path": None,
        "query_string": b"a=1",
        "root_path": "/prod",
        "headers": [(b"host", b"h")],
        "client": ["1.2.3.4", 0],
        "server": ["h", 443],
        "aws.event": {"e": 1},
        "aws.context": "ctx",
        "state": {"k": "v"},
    }


def sending(*messages: Message, then: Callable[[], Any] | None = None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)
        if then is not None:
            then()

    return app


START: Message = {"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]}
BODY: Message = {"type": "http.response.body", "body": b"x"}


@pytest.mark.parametrize(
    "messages",
    [
        [BODY],  # body before start
        [START, START],
        [{"type": "http.response.start", "status": "200"}],
        [{"type": "http.response.start", "status": 200, "headers": [("a", "b")]}, BODY],
        [{"type": "http.response.start", "status": 200, "headers": 5}, BODY],
        [START, {"type": "http.response.body", "body": "text"}],
        [START, {"type": "websocket.send"}],
        ["not a dict"],
        [],  # returns without answering
    ],
)
async def test_protocol_errors_become_500(messages: list[Message]) -> None:
    sink = BufferedSink()
    await HttpCycle(b"", sink).run(sending(*messages), {"method": "GET", "path": "/"})
    assert sink.status == 500
    assert b"".join(sink.chunks) == b"Internal Server Error"
    assert sink.complete


async def test_error_after_a_partial_buffered_body_is_a_clean_500() -> None:
    sink = BufferedSink()
    app = sending(START, {**BODY, "more_body": True}, then=lambda: 1 / 0)
    await HttpCycle(b"", sink).run(app, {"method": "GET", "path": "/"})
    assert (sink.status, sink.chunks) == (500, [b"Internal Server Error"])


async def test_error_after_a_complete_response_keeps_it() -> None:
    sink = BufferedSink()
    await HttpCycle(b"", sink).run(
        sending(START, BODY, then=lambda: 1 / 0), {"method": "G", "path": "/"}
    )
    assert (sink.status, sink.chunks) == (200, [b"x"])


async def test_receive_gives_body_then_disconnect_after_the_response() -> None:
    got: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        got.append(await receive())
        waiter = asyncio.ensure_future(receive())
        await asyncio.sleep(0.01)
        assert not waiter.done()  # no disconnect while the response is open
        await send(START)
        await send(BODY)
        got.append(await asyncio.wait_for(waiter, 1))

    await HttpCycle(b"payload", BufferedSink()).run(app, {"method": "GET", "path": "/"})
    assert got == [
        {"type": "http.request", "body": b"payload", "more_body": False},
        {"type": "http.disconnect"},
    ]


def lifespan_app(fail_startup: bool = False, log: list[str] | None = None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        message = await receive()
        assert message["type"] == "lifespan.startup"
        if fail_startup:
            await send({"type": "lifespan.startup.failed", "message": "no db"})
            return
        scope["state"]["db"] = "up"
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        if log is not None:
            log.append("shutdown")
        await send({"type": "lifespan.shutdown.complete"})

    return app


async def test_lifespan_startup_once_and_shutdown_registered() -> None:
    registered: list[Callable[[], Any]] = []
    log: list[str] = []
    lifespan = Lifespan(lifespan_app(log=log), register=registered.append)
    await lifespan.startup()
    await lifespan.startup()
    assert lifespan.state == {"db": "up"}
    assert len(registered) == 1
    await registered[0]()
    assert log == ["shutdown"]


async def test_lifespan_startup_failure_is_reported_every_time() -> None:
    lifespan = Lifespan(lifespan_app(fail_startup=True))
    for _ in range(2):
        with pytest.raises(LifespanError, match="no db"):
            await lifespan.startup()


async def test_lifespan_modes_for_an_app_without_lifespan() -> None:
    app = sending()  # asserts nothing, but returns at once: treat as unsupported? no: it raises

    async def no_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError(f"unsupported scope {scope['type']}")

    auto = Lifespan(no_lifespan, "auto")
    await auto.startup()
    assert not auto.supported
    with pytest.raises(LifespanError, match="unsupported scope"):
        await Lifespan(no_lifespan, "on").startup()
    off = Lifespan(app, "off")
    await off.startup()
    assert not off.supported
    with pytest.raises(ValueError, match="lifespan must be"):
        Lifespan(app, "sometimes")  # type: ignore[arg-type]


async def test_lifespan_shutdown_is_bounded() -> None:
    async def stuck(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await asyncio.Event().wait()  # never completes shutdown

    lifespan = Lifespan(stuck, shutdown_timeout=0.1, register=lambda cb: None)
    await lifespan.startup()
    await asyncio.wait_for(lifespan.shutdown(), 2)


# -- the handler through the runtime's own stream framing ---------------------------------------


class Wire:
    """An AsyncSink recording what the runtime's ResponseStream would put on the socket."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.sent = asyncio.Event()

    async def send(self, data: bytes) -> None:
        self.writes.append(data)
        self.sent.set()

    def parse(self) -> tuple[h11.Request, bytes, bool]:
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(b"".join(self.writes))
        request: h11.Request | None = None
        body = b""
        ended = False
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                ended = True
                break
        assert request is not None
        return request, body, ended


async def test_prelude_goes_out_with_the_first_body_message_before_any_byte() -> None:
    gate = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            raise ValueError("no lifespan")
        await send({"type": "http.response.start", "status": 202, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await gate.wait()
        await send({"type": "http.response.body", "body": b"late", "more_body": False})

    fn = handler(app, stream=True)
    wire = Wire()
    stream = ResponseStream(wire, "/2018-06-01/runtime/invocation/r/response", "127.0.0.1:9001")
    task = asyncio.ensure_future(fn(aws_events.function_url("/s"), stream, None))
    await asyncio.wait_for(wire.sent.wait(), 2)
    request, body, ended = wire.parse()
    assert dict(request.headers)[b"lambda-runtime-function-response-mode"] == b"streaming"
    decoder = PreludeDecoder()
    assert decoder.feed(body) == b""
    assert decoder.metadata == {"statusCode": 202, "headers": {"x-a": "1"}}
    assert not ended
    gate.set()
    assert await asyncio.wait_for(task, 2) is None
    _, body, ended = wire.parse()
    assert ended
    assert body.endswith(b"\x00" * 8 + b"late")


async def test_buffered_route_returns_the_envelope_and_leaves_the_stream_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            raise ValueError("no lifespan")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await send({"type": "http.response.body", "body": b"data: x\n\n"})

    fn = handler(app, stream=["/only-this"])
    wire = Wire()
    stream = ResponseStream(wire, "/t", "h")
    reply = await fn(aws_events.rest("/other"), stream, None)
    assert reply["statusCode"] == 200
    assert reply["body"] == "data: x\n\n"
    assert not stream.touched
    assert wire.writes == []
    # An SSE answer on a buffered route is the obvious mismatch: said once per route.
    assert caplog.text.count("answered text/event-stream but is configured buffered") == 1
    await fn(aws_events.rest("/other"), ResponseStream(wire, "/t", "h"), None)
    assert caplog.text.count("answered text/event-stream but is configured buffered") == 1


@pytest.mark.parametrize(
    ("size", "refused"),
    [(BUFFERED_LIMIT + 1, True), (6 * 1024 * 1024 + 10, True), (6 * 1024 * 1024, False)],
)
async def test_oversized_buffered_response_is_logged(
    caplog: pytest.LogCaptureFixture, size: int, refused: bool
) -> None:
    """The warning fires exactly when the reply, encoded as the runtime posts it, is over the
    Runtime API's limit (lambda_sse.aws.BUFFERED_LIMIT): a 6 MiB body in a ~95-byte reply still
    fits, 10 bytes more do not."""
    big = {"type": "http.response.body", "body": b"x" * size}
    fn = handler(sending(START, big), lifespan="off")
    reply = await fn(aws_events.function_url("/big"), ResponseStream(Wire(), "/t", "h"), None)
    assert reply["statusCode"] == 200
    encoded = len(json.dumps(reply, ensure_ascii=False).encode("utf-8"))
    warned = "Lambda refuses buffered responses over 6 MB" in caplog.text
    assert warned == (encoded > BUFFERED_LIMIT) == refused, (size, encoded)


async def test_malformed_event_gets_a_400_not_a_traceback() -> None:
    fn = handler(sending(START, BODY), lifespan="off")
    event = aws_events.rest("/x")
    event["body"], event["isBase64Encoded"] = "%%%", True
    reply = await fn(event, ResponseStream(Wire(), "/t", "h"), None)
    assert reply["statusCode"] == 400
    assert "base64" in reply["body"]


async def test_other_events_go_to_the_given_callback() -> None:
    seen: list[Any] = []

    def other(event: Any, context: Any) -> dict[str, Any]:
        seen.append(event)
        return {"handled": True}

    fn = handler(sending(START, BODY), lifespan="off", on_other_event=other)
    assert await fn({"Records": []}, ResponseStream(Wire(), "/t", "h"), None) == {"handled": True}
    assert seen == [{"Records": []}]


def test_core_imports_only_the_standard_library() -> None:
    """lambda_sse.asgi and lambda_sse.events load and serve without any third-party package
    (Starlette blocked): what a Lambda zip of a plain ASGI app holds."""
    code = """
import sys
before = set(sys.modules)
for name in ("starlette", "fastapi", "h11", "httpx", "anyio", "pydantic"):
    sys.modules[name] = None
import asyncio, lambda_sse.asgi, lambda_sse.events
from lambda_sse.asgi import EventSourceResponse
async def events():
    yield "hi"
sent = []
async def send(m): sent.append(m)
async def receive():
    await asyncio.sleep(10)
    return {"type": "http.disconnect"}
asyncio.run(EventSourceResponse(events())({"type": "http", "headers": []}, receive, send))
print(sent[1]["body"].decode().strip())
new = {m.split(".")[0] for m in set(sys.modules) - before if sys.modules[m] is not None}
print(",".join(sorted(new - set(sys.stdlib_module_names) - {"lambda_sse"})))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "data: hi"
    assert lines[1:] in ([], [""])
