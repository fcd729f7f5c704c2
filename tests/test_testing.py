"""lambda_sse.testing: the public test client drives handlers and ASGI apps through the real
runtime and a strict Runtime API, in process, with no emulator running."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI, Request

from lambda_sse import HttpResponseStream, streamify_response
from lambda_sse.asgi import EventSourceResponse
from lambda_sse.sse import ServerSentEvent

# Imported by name into a test module, as users will: pytest must not try to collect them.
from lambda_sse.testing import LambdaTestClient, TestClientError, TestResponse


@streamify_response
def paced(event: Any, response_stream: Any, context: Any) -> None:
    stream = HttpResponseStream.from_(
        response_stream,
        {"statusCode": 201, "headers": {"x-kind": "paced"}, "cookies": ["a=1", "b=2"]},
    )
    for i in range(3):
        stream.write(f"part {i}\n")
        time.sleep(0.3)


def test_a_sync_streaming_handler_streams_chunk_by_chunk() -> None:
    with LambdaTestClient(paced) as client:
        response = client.get("/anything")
    assert isinstance(response, TestResponse)
    assert response.streamed
    assert response.status_code == 201
    assert response.header("X-Kind") == "paced"
    assert response.cookies == ["a=1", "b=2"]
    assert response.text == "part 0\npart 1\npart 2\n"
    assert [c for c in response.chunks if c] == [b"part 0\n", b"part 1\n", b"part 2\n"]
    # Each chunk left when it was written, not all at the end.
    assert response.times[-1] - response.times[0] > 0.45


def buffered(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": event["path"]}


def test_a_buffered_handler_gets_a_rest_event() -> None:
    with LambdaTestClient(buffered) as client:
        response = client.get("/items/7", query={"q": "1"})
    assert not response.streamed
    assert response.status_code == 200
    assert response.text == "/items/7"


@streamify_response
async def failing(event: Any, response_stream: Any, context: Any) -> None:
    if event["path"] == "/early":
        raise ValueError("before the first byte")
    await response_stream.write(b"partial")
    raise ValueError("after the first byte")


def test_errors_before_and_after_the_first_byte() -> None:
    with LambdaTestClient(failing) as client:
        early = client.get("/early")
        late = client.get("/late")
    assert early.status_code == 502
    assert early.error_type == "Function.ValueError"
    assert b"before the first byte" in early.body
    assert late.streamed
    assert late.body == b"partial"
    assert late.error_type == "Function.ValueError"  # from the stream's error trailers


def make_app(log: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.append("startup")
        yield
        log.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    @app.get("/events", response_model=None)
    async def events(request: Request) -> EventSourceResponse:
        async def feed(last_event_id: str) -> AsyncIterator[ServerSentEvent]:
            n = int(last_event_id) + 1 if last_event_id else 0
            while True:
                yield ServerSentEvent(data=f"tick {n}", id=str(n))
                n += 1
                await asyncio.sleep(0.1)

        return EventSourceResponse(feed)

    return app


def test_an_asgi_app_streams_until_the_deadline_and_resumes() -> None:
    log: list[str] = []
    with LambdaTestClient.for_app(make_app(log), stream=["/events"], timeout=3) as client:
        hello = client.get("/hello")
        first = client.get("/events")
        resumed = client.get("/events", headers={"Last-Event-ID": first.events()[-1].id})
        assert log == ["startup"]  # once per environment
    assert log == ["startup", "shutdown"]
    assert not hello.streamed
    assert hello.json() == {"message": "hello"}
    assert first.streamed
    assert first.header(
        "content-type",
    ).startswith("text/event-stream")  # type: ignore[union-attr]
    events = first.events()
    assert [e.data for e in events[:2]] == ["tick 0", "tick 1"]
    # A 3 s function: the stream ends cleanly with a retry hint about 2.4 s in (not cut).
    assert first.body.endswith(b"retry: 1000\n\n")
    assert first.error_type is None
    assert 2.0 <= first.times[-1] < 3.0
    assert resumed.events()[0].id == str(int(events[-1].id or "-1") + 1)


def test_a_buffered_route_behind_a_response_stream_url_returns_the_envelope() -> None:
    # What AWS does: a RESPONSE_STREAM Function URL passes a buffered answer through unparsed.
    with LambdaTestClient.for_app(make_app([]), stream=["/events"], front_door="url") as client:
        raw = client.get("/hello")
    assert raw.status_code == 200
    assert raw.json()["statusCode"] == 200  # the JSON envelope itself
    with LambdaTestClient.for_app(
        make_app([]), stream=["/events"], front_door="url", url_invoke_mode="BUFFERED"
    ) as client:
        parsed = client.get("/hello")
    assert parsed.json() == {"message": "hello"}


@streamify_response
def sleepy(event: Any, response_stream: Any, context: Any) -> None:
    response_stream.write(b"started")
    time.sleep(2.5)


def test_a_handler_past_its_timeout_is_cut_and_the_client_says_so() -> None:
    client = LambdaTestClient(sleepy, timeout=1)
    try:
        response = client.get("/")
        assert response.timed_out
        assert response.error_type == "Sandbox.Timeout"
        assert response.body == b"started"
        with pytest.raises(TestClientError, match="ran past its 1 s timeout"):
            client.get("/")
    finally:
        client.close()


def test_url_invoke_mode_streams_every_url_answer_and_leaves_rest_alone() -> None:
    environment = {"LAMBDA_SSE_URL_INVOKE_MODE": "RESPONSE_STREAM"}
    with LambdaTestClient.for_app(
        make_app([]), stream=["/events"], environment=environment
    ) as client:
        url = client.get("/hello", front_door="url")
        rest = client.get("/hello", front_door="rest")
        assert os.environ["LAMBDA_SSE_URL_INVOKE_MODE"] == "RESPONSE_STREAM"
    assert url.streamed  # prelude and body: the URL delivers the JSON itself
    assert url.json() == {"message": "hello"}
    assert not rest.streamed  # a BUFFERED REST method still gets the proxy result
    assert rest.json() == {"message": "hello"}
    assert "LAMBDA_SSE_URL_INVOKE_MODE" not in os.environ  # restored by close()
