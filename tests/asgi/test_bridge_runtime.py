"""Real ASGI apps through the bridge and the real runtime (``python -m lambda_sse.runtime``, a
subprocess) against the strict test Runtime API: every mode each event format supports."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.local.model import InvocationOutcome, ResponseHead
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, PreludeDecoder
from lambda_sse.sse import ServerSentEvent, SSEDecoder
from tests.asgi import aws_events
from tests.asgi.apps import PNG
from tests.support.runtime_api import (
    RuntimeProcess,
    ThreadedRuntimeAPI,
    runtime_process,
    threaded_runtime_api,
)

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Timed:
    """One invocation as the Runtime API saw it, body chunks with their arrival times."""

    head: ResponseHead | None
    chunks: list[tuple[float, bytes]]
    outcome: InvocationOutcome
    started: float

    @property
    def raw(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)

    def reply(self) -> dict[str, Any]:
        """The buffered JSON envelope."""
        assert self.head is not None
        assert not self.head.streaming, "expected a buffered response"
        reply: dict[str, Any] = json.loads(self.raw)
        return reply

    def streamed(self) -> tuple[dict[str, Any], bytes, list[tuple[float, bytes]]]:
        """(prelude metadata, body, body chunks with arrival times after the start)."""
        assert self.head is not None
        assert self.head.streaming, "expected a streamed response"
        assert self.head.content_type == PRELUDE_CONTENT_TYPE
        decoder = PreludeDecoder()
        timed: list[tuple[float, bytes]] = []
        for at, chunk in self.chunks:
            rest = decoder.feed(chunk)
            if rest:
                timed.append((at - self.started, rest))
        assert decoder.metadata is not None
        return decoder.metadata, b"".join(c for _, c in timed), timed


def invoke(api: ThreadedRuntimeAPI, event: dict[str, Any], deadline_s: float = 30.0) -> Timed:
    started = time.monotonic()
    inv = api.enqueue(event, deadline_s=deadline_s)

    async def collect() -> list[tuple[float, bytes]]:
        return [(time.monotonic(), chunk) async for chunk in inv.body()]

    head = api.head(inv)
    chunks = api.run(collect)
    return Timed(head, chunks, api.outcome(inv), started)


@dataclass
class Served:
    api: ThreadedRuntimeAPI
    process: RuntimeProcess


@pytest.fixture(scope="module")
def fastapi_fn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    markers = tmp_path_factory.mktemp("markers")
    with (
        threaded_runtime_api() as api,
        runtime_process(
            "tests.asgi.apps.handler",
            api.address,
            cwd=REPO,
            env={"LAMBDA_SSE_TEST_MARKERS": str(markers)},
        ) as process,
    ):
        api.wait_for_poll(30)
        yield Served(api, process)


@pytest.fixture(scope="module")
def raw_fn() -> Iterator[Served]:
    with (
        threaded_runtime_api() as api,
        runtime_process("tests.asgi.apps.raw_handler", api.address, cwd=REPO) as process,
    ):
        api.wait_for_poll(30)
        yield Served(api, process)


def sse_events(body: bytes) -> list[ServerSentEvent]:
    return SSEDecoder().feed(body)


# -- buffered -------------------------------------------------------------------------------


def test_buffered_json_via_rest(fastapi_fn: Served) -> None:
    result = invoke(fastapi_fn.api, aws_events.rest("/json"))
    assert result.outcome.status == "success"
    reply = result.reply()
    assert reply == {
        "statusCode": 200,
        "headers": {"content-length": str(len(reply["body"])), "content-type": "application/json"},
        "multiValueHeaders": {},
        "body": reply["body"],
        "isBase64Encoded": False,
    }
    # Lifespan ran once for the environment and its state reaches every request.
    assert json.loads(reply["body"]) == {"hello": "world", "startups": 1, "db": "connected"}


@pytest.mark.parametrize("make", [aws_events.function_url, aws_events.http_api])
def test_buffered_json_via_v2(fastapi_fn: Served, make: Any) -> None:
    reply = invoke(fastapi_fn.api, make("/json")).reply()
    assert set(reply) == {"statusCode", "headers", "cookies", "body", "isBase64Encoded"}
    assert reply["statusCode"] == 200
    assert reply["cookies"] == []
    assert json.loads(reply["body"])["startups"] == 1


@pytest.mark.parametrize("multi", [False, True])
def test_buffered_json_via_alb(fastapi_fn: Served, multi: bool) -> None:
    reply = invoke(fastapi_fn.api, aws_events.alb("/json", multi=multi)).reply()
    assert reply["statusCode"] == 200
    assert reply["statusDescription"] == "200 OK"
    assert ("multiValueHeaders" in reply) is multi
    assert ("headers" in reply) is not multi
    assert json.loads(reply["body"])["db"] == "connected"


def test_lifespan_runs_once_per_environment(fastapi_fn: Served) -> None:
    for _ in range(3):
        reply = invoke(fastapi_fn.api, aws_events.function_url("/json")).reply()
        assert json.loads(reply["body"])["startups"] == 1


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("make", [aws_events.rest, aws_events.function_url])
def test_request_bodies_text_and_base64(fastapi_fn: Served, make: Any, binary: bool) -> None:
    payload = b'{"text": "h\xc3\xa9llo"}' if not binary else bytes(range(256))
    ctype = "application/json" if not binary else "application/octet-stream"
    event = make("/echo", "POST", headers={"content-type": ctype}, body=payload, binary=binary)
    reply = invoke(fastapi_fn.api, event).reply()
    assert reply["statusCode"] == 200
    assert reply["isBase64Encoded"] is binary
    sent = base64.b64decode(reply["body"]) if binary else reply["body"].encode()
    assert sent == payload


def test_binary_response_is_base64(fastapi_fn: Served) -> None:
    reply = invoke(fastapi_fn.api, aws_events.rest("/binary")).reply()
    assert reply["isBase64Encoded"] is True
    assert base64.b64decode(reply["body"]) == PNG


def test_cookies_in_every_buffered_format(fastapi_fn: Served) -> None:
    rest = invoke(fastapi_fn.api, aws_events.rest("/cookies")).reply()
    assert rest["statusCode"] == 201
    assert [c.split(";")[0] for c in rest["multiValueHeaders"]["Set-Cookie"]] == ["a=1", "b=2"]
    url = invoke(fastapi_fn.api, aws_events.function_url("/cookies")).reply()
    assert [c.split(";")[0] for c in url["cookies"]] == ["a=1", "b=2"]
    assert "set-cookie" not in {k.lower() for k in url["headers"]}
    alb = invoke(fastapi_fn.api, aws_events.alb("/cookies", multi=True)).reply()
    assert [c.split(";")[0] for c in alb["multiValueHeaders"]["Set-Cookie"]] == ["a=1", "b=2"]


def test_scope_carries_stage_client_scheme_and_aws_objects(fastapi_fn: Served) -> None:
    reply = invoke(fastapi_fn.api, aws_events.rest("/scope", query="x=1")).reply()
    seen = json.loads(reply["body"])
    assert seen["root_path"] == "/prod"
    assert seen["path"] == "/prod/scope"
    assert seen["url_for_json"] == "/prod/json"  # links keep the stage
    assert seen["query"] == "x=1"
    assert seen["client"] == ["127.0.0.1", 0]
    assert seen["scheme"] == "https"
    assert "requestContext" in seen["event_keys"]
    assert seen["remaining_ms_positive"] is True
    assert len(seen["request_id"]) > 0


def test_app_exception_is_a_500(fastapi_fn: Served) -> None:
    result = invoke(fastapi_fn.api, aws_events.function_url("/fail"))
    assert result.outcome.status == "success"
    assert result.reply()["statusCode"] == 500


# -- streaming ------------------------------------------------------------------------------


def assert_spread(timed: list[tuple[float, bytes]], pieces: int, gap: float) -> None:
    """The body came in at least ``pieces`` parts, the last ``gap`` seconds after the first:
    chunks went out while the app produced them, not at the end."""
    assert len(timed) >= pieces, timed
    assert timed[-1][0] - timed[0][0] >= gap, timed


@pytest.mark.parametrize("make", [aws_events.rest, aws_events.function_url])
def test_streaming_response_streams(fastapi_fn: Served, make: Any) -> None:
    result = invoke(fastapi_fn.api, make("/stream"))
    metadata, body, timed = result.streamed()
    assert metadata["statusCode"] == 200
    assert metadata["headers"]["content-type"] == "text/plain; charset=utf-8"
    assert metadata["headers"]["x-kind"] == "plain"
    assert body == b"chunk 0\nchunk 1\nchunk 2\n"
    assert_spread(timed, 3, 0.4)
    assert result.outcome.status == "success"


def test_streamed_cookies_per_front_door(fastapi_fn: Served) -> None:
    rest, body, _ = invoke(fastapi_fn.api, aws_events.rest("/stream-cookies")).streamed()
    assert [c.split(";")[0] for c in rest["multiValueHeaders"]["Set-Cookie"]] == ["a=1", "b=2"]
    assert "cookies" not in rest
    assert body == b"chunk 0\nchunk 1\n"
    url, body, _ = invoke(fastapi_fn.api, aws_events.function_url("/stream-cookies")).streamed()
    assert [c.split(";")[0] for c in url["cookies"]] == ["a=1", "b=2"]
    assert "multiValueHeaders" not in url
    assert body == b"chunk 0\nchunk 1\n"


@pytest.mark.parametrize("make", [aws_events.rest, aws_events.function_url])
def test_streamed_empty_body_still_sends_status_and_headers(fastapi_fn: Served, make: Any) -> None:
    result = invoke(fastapi_fn.api, make("/stream-empty"))
    metadata, body, _ = result.streamed()
    assert metadata == {"statusCode": 204, "headers": {"x-empty": "yes"}}
    assert body == b""
    assert result.outcome.status == "success"


@pytest.mark.parametrize("route", ["/fastapi-sse", "/sse-starlette", "/ours"])
@pytest.mark.parametrize("make", [aws_events.rest, aws_events.function_url])
def test_sse_responses_stream(fastapi_fn: Served, make: Any, route: str) -> None:
    result = invoke(fastapi_fn.api, make(route))
    metadata, body, timed = result.streamed()
    assert metadata["statusCode"] == 200
    assert metadata["headers"]["content-type"].startswith("text/event-stream")
    events = [e for e in sse_events(body) if e.data]
    assert len(events) == 3
    assert_spread(timed, 3, 0.4)


def test_our_sse_resumes_from_last_event_id(fastapi_fn: Served) -> None:
    event = aws_events.function_url("/ours", headers={"last-event-id": "6"})
    _, body, _ = invoke(fastapi_fn.api, event).streamed()
    assert [(e.id, e.data) for e in sse_events(body)] == [("7", "o7"), ("8", "o8"), ("9", "o9")]


@pytest.mark.parametrize("make", [aws_events.rest, aws_events.function_url])
def test_deadline_ends_stream_cleanly_with_retry(fastapi_fn: Served, make: Any) -> None:
    # Function timeout 2.5 s, margin 1.5 s: the stream must end cleanly about 1 s in.
    result = invoke(fastapi_fn.api, make("/endless", query="margin=1.5"), deadline_s=2.5)
    _, body, timed = result.streamed()
    assert result.outcome.status == "success"  # not Sandbox.Timeout
    assert not result.outcome.trailer_error
    assert 0.7 < timed[-1][0] < 2.0
    assert body.endswith(b"retry: 500\n\n")
    decoder = SSEDecoder()
    events = decoder.feed(body)
    assert len(events) >= 5
    assert decoder.retry == 500
    assert decoder.last_event_id == events[-1].id


@pytest.mark.slow
@pytest.mark.parametrize(("timeout", "at_least"), [(6.0, 4.5), (3.0, 2.0)])
def test_default_margin_scales_with_the_function_timeout(
    fastapi_fn: Served, timeout: float, at_least: float
) -> None:
    # The Serverless Framework's default 6 s and SAM's 3 s must still stream for most of their
    # length: a fixed 5 s margin would end a 6 s function's stream after about 1 s.
    result = invoke(fastapi_fn.api, aws_events.rest("/endless"), deadline_s=timeout)
    _, body, timed = result.streamed()
    assert result.outcome.status == "success"  # a planned close, not Sandbox.Timeout
    assert body.endswith(b"retry: 500\n\n")
    last_event = max(at for at, chunk in timed if b"data: " in chunk)
    assert at_least <= last_event < timeout


@pytest.mark.parametrize("make", [aws_events.http_api, aws_events.alb])
def test_streaming_route_through_a_buffering_front_door_is_buffered(
    fastapi_fn: Served, make: Any
) -> None:
    result = invoke(fastapi_fn.api, make("/stream"))
    reply = result.reply()
    assert reply["statusCode"] == 200
    assert reply["body"] == "chunk 0\nchunk 1\nchunk 2\n"
    assert "cannot stream" in fastapi_fn.process.output()


def test_non_http_events_are_answered(fastapi_fn: Served) -> None:
    notice = invoke(fastapi_fn.api, {"invokeCompletionStatus": "Success", "requestId": "r"})
    assert notice.outcome.status == "success"
    assert notice.reply() == {}
    other = invoke(fastapi_fn.api, {"source": "aws.events"})
    assert other.outcome.status == "success"
    assert other.reply()["error"] == "NotAnHttpEvent"
    # The environment still serves HTTP afterwards.
    assert invoke(fastapi_fn.api, aws_events.rest("/json")).reply()["statusCode"] == 200


def test_lifespan_shutdown_runs_on_sigterm(tmp_path: Path) -> None:
    with (
        threaded_runtime_api() as api,
        runtime_process(
            "tests.asgi.apps.handler",
            api.address,
            cwd=REPO,
            env={"LAMBDA_SSE_TEST_MARKERS": str(tmp_path)},
        ) as process,
    ):
        api.wait_for_poll(30)
        assert not (tmp_path / "startup").exists()  # not at import: at the first invocation
        assert invoke(api, aws_events.rest("/json")).reply()["statusCode"] == 200
        assert (tmp_path / "startup").exists()
        assert not (tmp_path / "shutdown").exists()
        assert process.terminate() == 0
    assert (tmp_path / "shutdown").read_text() == str(process.pid)


# -- ASGI protocol errors from the app ------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/raw", "/buffered"])
@pytest.mark.parametrize("name", ["body-first", "silent"])
def test_message_order_errors_are_500(raw_fn: Served, prefix: str, name: str) -> None:
    result = invoke(raw_fn.api, aws_events.function_url(f"{prefix}/{name}"))
    assert result.outcome.status == "success"
    if prefix == "/raw":
        metadata, body, _ = result.streamed()
        assert metadata["statusCode"] == 500
    else:
        reply = result.reply()
        assert reply["statusCode"] == 500
        body = reply["body"].encode()
    assert body == b"Internal Server Error"


def test_message_after_the_end_is_logged_not_a_hang(raw_fn: Served) -> None:
    result = invoke(raw_fn.api, aws_events.rest("/buffered/twice"))
    reply = result.reply()
    assert (reply["statusCode"], reply["body"]) == (200, "one")
    assert "after the response was complete" in raw_fn.process.output()


@pytest.mark.parametrize("make", [aws_events.rest, aws_events.function_url])
def test_disconnect_arrives_after_the_response(raw_fn: Served, make: Any) -> None:
    result = invoke(raw_fn.api, make("/raw/disconnect", "POST", body=b"ping"))
    _, body, _ = result.streamed()
    assert body == b"ping"
    assert result.outcome.status == "success"


def test_app_without_lifespan_support(raw_fn: Served) -> None:
    reply = invoke(raw_fn.api, aws_events.alb("/buffered/ok")).reply()
    assert reply["statusCode"] == 200
    assert reply["headers"]["x"] == "y"


# -- Starlette ------------------------------------------------------------------------------


def test_starlette_app_streams_and_buffers() -> None:
    with (
        threaded_runtime_api() as api,
        runtime_process("tests.asgi.apps.starlette_handler", api.address, cwd=REPO),
    ):
        api.wait_for_poll(30)
        _, body, timed = invoke(api, aws_events.function_url("/stream")).streamed()
        assert body == b"chunk 0\nchunk 1\nchunk 2\n"
        assert_spread(timed, 3, 0.4)
        reply = invoke(api, aws_events.rest("/hello")).reply()
        assert reply["body"] == "hello from starlette"
