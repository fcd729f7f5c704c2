"""Front doors over real loopback sockets with httpx, against a scripted in-process invoker.

The invoker here stands in for the execution side only (tests/local/test_e2e*.py run the real
pool, processes and runtimes); everything from the socket to the Invoker protocol is real.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from lambda_sse.local.frontdoor.doors import Access, Reporter
from lambda_sse.local.limiter import TokenBucket
from lambda_sse.local.model import (
    ApiConfig,
    FunctionConfig,
    FunctionUrlConfig,
    HttpRoute,
    InvocationOutcome,
    ProjectConfig,
    ResponseHead,
    Throttled,
)
from lambda_sse.local.server import DevServer
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, encode_prelude

pytestmark = pytest.mark.anyio

OK = InvocationOutcome(status="success")
STREAM_HEAD = ResponseHead(streaming=True, content_type=PRELUDE_CONTENT_TYPE)
BUFFERED_HEAD = ResponseHead(streaming=False, content_type="application/json")


@dataclass
class Script:
    head: ResponseHead | None = BUFFERED_HEAD
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    outcome: InvocationOutcome = OK
    head_delay: float = 0.0
    throttled: bool = False


class FakeInvocation:
    def __init__(self, script: Script) -> None:
        self.request_id = "req-1"
        self.script = script
        self.detached = asyncio.Event()
        self.done = asyncio.Event()

    async def head(self) -> ResponseHead | None:
        await asyncio.sleep(self.script.head_delay)
        return self.script.head

    async def body(self) -> AsyncIterator[bytes]:
        for delay, chunk in self.script.chunks:
            await asyncio.sleep(delay)
            yield chunk
        self.done.set()

    async def outcome(self) -> InvocationOutcome:
        return self.script.outcome

    def detach(self) -> None:
        self.detached.set()


class FakeInvoker:
    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {}
        self.events: list[dict[str, Any]] = []
        self.invocations: list[FakeInvocation] = []

    async def invoke(
        self, function: str, event: bytes, *, buckets: Sequence[TokenBucket] = ()
    ) -> FakeInvocation:
        script = self.scripts[function]
        if script.throttled:
            raise Throttled("reserved concurrency used up")
        self.events.append(json.loads(event))
        inv = FakeInvocation(script)
        self.invocations.append(inv)
        return inv


def fn(name: str, *routes: HttpRoute, url: str | None = None) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        handler="h.m",
        runtime="python3.12",
        code_dir=Path("/"),
        routes=routes,
        url=FunctionUrlConfig(invoke_mode=url) if url else None,  # type: ignore[arg-type]
    )


PROJECT = ProjectConfig(
    source=Path("/project/serverless.yml"),
    service="s",
    api=ApiConfig(stage="dev"),
    functions=(
        fn("buf", HttpRoute("GET", "/items/{id}"), HttpRoute("POST", "/items"), url="BUFFERED"),
        fn("stream", HttpRoute("GET", "/stream", transfer_mode="STREAM"), url="RESPONSE_STREAM"),
        fn("api", HttpRoute("GET", "/v2/{x}", kind="http_api")),
    ),
)


@dataclass
class Harness:
    invoker: FakeInvoker
    rest: str
    urls: dict[str, str]
    access: list[Access]
    warnings: list[str]


@asynccontextmanager
async def running(invoker: FakeInvoker | None = None, **options: Any) -> AsyncIterator[Harness]:
    invoker = invoker or FakeInvoker()
    access: list[Access] = []
    warnings: list[str] = []
    reporter = Reporter(access=access.append, warning=warnings.append)
    server = DevServer(PROJECT, invoker, port=0, reporter=reporter, **options)
    await server.start()
    try:
        yield Harness(
            invoker,
            f"http://127.0.0.1:{server.rest_port}",
            {name: f"http://127.0.0.1:{port}" for name, port in server.url_ports.items()},
            access,
            warnings,
        )
    finally:
        await server.close()


def v1(status: int = 200, body: str = "", **extra: Any) -> bytes:
    return json.dumps({"statusCode": status, "body": body, **extra}).encode()


async def read_into(client: httpx.AsyncClient, url: str, got: bytearray) -> int:
    """GET ``url`` streaming, appending the body to ``got``; returns the status."""
    async with client.stream("GET", url) as response:
        async for chunk in response.aiter_raw():
            got += chunk
        return response.status_code


async def timed_chunks(
    response: httpx.Response, clock: Callable[[], float]
) -> list[tuple[float, bytes]]:
    return [(clock(), chunk) async for chunk in response.aiter_raw()]


# -- REST API, BUFFERED --------------------------------------------------------------------------


async def test_rest_buffered_result_and_event() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(0, v1(201, "made", headers={"X-A": "1"}))])
        response = await client.get(f"{h.rest}/dev/items/42?q=1", headers={"X-Test": "yes"})
        assert response.status_code == 201
        assert response.text == "made"
        assert response.headers["x-a"] == "1"
        event = h.invoker.events[0]
        assert event["path"] == "/items/42"
        assert event["resource"] == "/items/{id}"
        assert event["requestContext"]["path"] == "/dev/items/42"
        assert event["requestContext"]["stage"] == "dev"
        assert event["pathParameters"] == {"id": "42"}
        assert event["queryStringParameters"] == {"q": "1"}
        assert event["headers"]["X-Test"] == "yes"
        assert h.access[0].status == 201
        assert h.access[0].function == "buf"


@pytest.mark.parametrize(
    ("script", "status", "message"),
    [
        (Script(chunks=[(0, b"not json")]), 502, "Internal server error"),
        (Script(chunks=[(0, b'{"statusCode": 200, "cookies": []}')]), 502, "Internal server error"),
        (
            Script(head=None, outcome=InvocationOutcome("function_error", "Function.ValueError")),
            502,
            "Internal server error",
        ),
        (Script(throttled=True), 500, "Internal server error"),
    ],
)
async def test_rest_buffered_errors(script: Script, status: int, message: str) -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = script
        response = await client.get(f"{h.rest}/dev/items/1")
        assert response.status_code == status
        assert response.json() == {"message": message}


async def test_rest_integration_timeout_is_504_and_detaches() -> None:
    async with running(integration_timeout=0.2) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(5.0, v1())])
        started = time.monotonic()
        response = await client.get(f"{h.rest}/dev/items/1")
        assert response.status_code == 504
        assert response.json() == {"message": "Endpoint request timed out"}
        assert time.monotonic() - started < 4.0  # well under the script's 5 s: the timeout cut it
        assert h.invoker.invocations[0].detached.is_set()


async def test_rest_unknown_route_method_and_stage_are_403() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        for method, path in [
            ("GET", "/dev/nope"),
            ("DELETE", "/dev/items/1"),
            ("GET", "/prod/items/1"),
        ]:
            response = await client.request(method, f"{h.rest}{path}")
            assert response.status_code == 403
            assert response.json() == {"message": "Missing Authentication Token"}
        assert h.invoker.events == []


async def test_rest_buffered_route_with_streamed_prelude_drops_the_body() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        prelude = encode_prelude({"statusCode": 202, "headers": {"x-p": "1"}})
        h.invoker.scripts["buf"] = Script(head=STREAM_HEAD, chunks=[(0, prelude + b"body")])
        response = await client.get(f"{h.rest}/dev/items/1")
        assert response.status_code == 202
        assert response.headers["x-p"] == "1"
        assert response.content == b""
        assert any("response.transferMode: STREAM" in w for w in h.warnings)


async def test_rest_payload_over_10_mb_is_413() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(0, v1())])
        response = await client.post(f"{h.rest}/dev/items", content=b"x" * (10_000_001))
        assert response.status_code == 413
        assert response.json() == {"message": "Request Too Long"}
        # Over Lambda's 6 MB invocation payload but under 10 MB: Lambda rejects, API Gateway 500.
        response = await client.post(f"{h.rest}/dev/items", content=b"x" * (6 * 1024 * 1024))
        assert response.status_code == 500
        assert h.invoker.events == []


async def test_headers_over_1_mb_are_refused() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        response = await client.get(
            f"{h.rest}/dev/items/1", headers={"X-Big": "a" * (1024 * 1024 + 10)}
        )
        assert response.status_code == 431


# -- REST API, STREAM ----------------------------------------------------------------------------


async def test_rest_stream_sends_chunks_as_they_come() -> None:
    prelude = encode_prelude(
        {"statusCode": 207, "headers": {"content-type": "text/event-stream"}, "cookies": ["c=1"]}
    )
    chunks = [(0.0, prelude), (0.0, b"data: 0\n\n")] + [
        (0.15, f"data: {i}\n\n".encode()) for i in range(1, 4)
    ]
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["stream"] = Script(head=STREAM_HEAD, chunks=chunks)
        async with client.stream("GET", f"{h.rest}/dev/stream") as response:
            assert response.status_code == 207
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["set-cookie"] == "c=1"
            assert response.headers["transfer-encoding"] == "chunked"
            received = await timed_chunks(response, time.monotonic)
        body = b"".join(chunk for _, chunk in received)
        assert body == b"".join(f"data: {i}\n\n".encode() for i in range(4))
        # Streaming: the chunks arrived spread over time, not all at once at the end.
        assert received[-1][0] - received[0][0] >= 0.3
        assert len(received) >= 4


@pytest.mark.parametrize(
    ("script", "status"),
    [
        (Script(head=STREAM_HEAD, chunks=[(0, b'{"statusCode": 200, "bad": 1}' + b"\0" * 8)]), 500),
        (Script(head=STREAM_HEAD, chunks=[(0, b"x" * 20000)]), 500),
        (Script(head=ResponseHead(True, "text/plain"), chunks=[(0, b"raw")]), 500),
        (Script(head=BUFFERED_HEAD, chunks=[(0, v1())]), 500),
        (Script(head=None, outcome=InvocationOutcome("function_error", "Function.X")), 502),
    ],
)
async def test_rest_stream_bad_replies(script: Script, status: int) -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["stream"] = script
        response = await client.get(f"{h.rest}/dev/stream")
        assert response.status_code == status
        assert response.json() == {"message": "Internal server error"}


async def test_rest_stream_without_prelude_warns_with_the_fix() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["stream"] = Script(
            head=ResponseHead(True, "text/plain"), chunks=[(0, b"raw")]
        )
        await client.get(f"{h.rest}/dev/stream")
        assert any("HttpResponseStream.from_" in w for w in h.warnings)


async def test_rest_stream_with_a_buffered_answer_names_the_stream_list() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["stream"] = Script(head=BUFFERED_HEAD, chunks=[(0, v1())])
        response = await client.get(f"{h.rest}/dev/stream")
        assert response.status_code == 500
    (warning,) = [w for w in h.warnings if "answered buffered" in w]
    assert 'add "/stream" to handler(app, stream=[...])' in warning
    assert "use lambda_sse.asgi" not in warning


async def test_rest_stream_timeout_mid_stream_cuts_without_final_chunk() -> None:
    prelude = encode_prelude({"statusCode": 200})
    script = Script(
        head=STREAM_HEAD,
        chunks=[(0, prelude + b"partial")],
        outcome=InvocationOutcome("timeout", "Sandbox.Timeout"),
    )
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["stream"] = script
        got = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):
            await read_into(client, f"{h.rest}/dev/stream", got)
        assert bytes(got) == b"partial"
        assert "Sandbox.Timeout" in h.access[0].note


async def test_rest_stream_idle_timeout_closes_the_connection() -> None:
    prelude = encode_prelude({"statusCode": 200})
    script = Script(head=STREAM_HEAD, chunks=[(0, prelude + b"a"), (5.0, b"never")])
    async with running(idle_timeout=0.3) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["stream"] = script
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            await read_into(client, f"{h.rest}/dev/stream", bytearray())
        assert time.monotonic() - started < 4.0  # well under the script's 5 s: the timeout cut it
        assert h.invoker.invocations[0].detached.is_set()
        assert "idle" in h.access[0].note


async def test_idle_timeout_follows_the_endpoint_type() -> None:
    from lambda_sse.local.frontdoor.doors import RestApiDoor

    edge = RestApiDoor(PROJECT, FakeInvoker())
    regional = RestApiDoor(
        ProjectConfig(source=PROJECT.source, service="s", api=ApiConfig(endpoint_type="REGIONAL")),
        FakeInvoker(),
    )
    assert edge.idle_timeout == 30.0
    assert regional.idle_timeout == 300.0


async def test_client_disconnect_detaches_and_logs() -> None:
    prelude = encode_prelude({"statusCode": 200})
    chunks = [(0, prelude + b"first")] + [(0.05, b"more") for _ in range(40)]
    async with running() as h:
        h.invoker.scripts["stream"] = Script(head=STREAM_HEAD, chunks=chunks)
        sock = socket.create_connection(("127.0.0.1", int(h.rest.rsplit(":", 1)[1])))
        sock.sendall(b"GET /dev/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.get_running_loop().run_in_executor(None, sock.recv, 1024)
        sock.close()
        inv = h.invoker.invocations[0]
        await asyncio.wait_for(inv.detached.wait(), 5.0)
        for _ in range(100):
            if h.access:
                break
            await asyncio.sleep(0.02)
        assert "keeps running" in h.access[0].note


# -- Function URLs -------------------------------------------------------------------------------


async def test_url_buffered_v2_rules() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(0, b'{"hello": "world"}')])
        response = await client.post(
            f"{h.urls['buf']}/any/path?x=1", content=b"hi", headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"hello": "world"}
        event = h.invoker.events[0]
        assert event["version"] == "2.0"
        assert event["rawPath"] == "/any/path"
        assert event["rawQueryString"] == "x=1"
        assert event["body"] == "hi"
        assert event["requestContext"]["http"]["method"] == "POST"


@pytest.mark.parametrize(
    ("script", "status"),
    [
        (Script(head=None, outcome=InvocationOutcome("function_error", "Function.X")), 502),
        (Script(chunks=[(0, b"not json")]), 502),
        (Script(throttled=True), 429),
    ],
)
async def test_url_buffered_errors(script: Script, status: int) -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = script
        response = await client.get(h.urls["buf"])
        assert response.status_code == status


async def test_url_stream_with_prelude_and_raw_body() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        prelude = encode_prelude({"statusCode": 201, "headers": {"x-a": "b"}})
        h.invoker.scripts["stream"] = Script(
            head=STREAM_HEAD, chunks=[(0, prelude), (0.1, b"one"), (0.1, b"two")]
        )
        response = await client.get(h.urls["stream"])
        assert response.status_code == 201
        assert response.headers["x-a"] == "b"
        assert response.content == b"onetwo"
        h.invoker.scripts["stream"] = Script(
            head=ResponseHead(True, "text/csv"), chunks=[(0, b"a,b\n")]
        )
        response = await client.get(h.urls["stream"])
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv"
        assert response.content == b"a,b\n"


async def test_url_stream_passes_a_buffered_envelope_verbatim() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        envelope = b'{"statusCode": 200, "body": "hi"}'
        h.invoker.scripts["stream"] = Script(head=BUFFERED_HEAD, chunks=[(0, envelope)])
        response = await client.get(h.urls["stream"])
        assert response.status_code == 200
        assert response.content == envelope
        assert response.headers["content-type"] == "application/json"
        assert any("verbatim" in w and "url.invokeMode: BUFFERED" in w for w in h.warnings)


async def test_url_stream_timeout_cuts() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["stream"] = Script(
            head=ResponseHead(True, "text/plain"),
            chunks=[(0, b"partial")],
            outcome=InvocationOutcome("timeout", "Sandbox.Timeout"),
        )
        got = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):
            await read_into(client, h.urls["stream"], got)
        assert bytes(got) == b"partial"


async def test_url_payload_over_6_mb_is_413() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(0, b"{}")])
        response = await client.post(h.urls["buf"], content=b"x" * (6 * 1024 * 1024 + 1))
        assert response.status_code == 413
        assert "6291456" in response.json()["Message"]


# -- HTTP API ------------------------------------------------------------------------------------


async def test_http_api_route_buffered_v2() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["api"] = Script(
            chunks=[
                (0, b'{"statusCode": 200, "body": "v2", "headers": {"content-type": "text/plain"}}')
            ]
        )
        response = await client.get(f"{h.rest}/v2/9")
        assert response.status_code == 200
        assert response.text == "v2"
        event = h.invoker.events[0]
        assert event["routeKey"] == "GET /v2/{x}"
        assert event["pathParameters"] == {"x": "9"}


async def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(0, v1(200, "x"))])
        for _ in range(3):
            response = await client.get(f"{h.rest}/dev/items/1")
            assert response.text == "x"
        assert len(h.invoker.events) == 3


class ShapingInvoker(FakeInvoker):
    """Takes front-door bandwidth buckets, as the pool does."""

    def __init__(self) -> None:
        super().__init__()
        self.buckets: list[list[object]] = []

    async def invoke(
        self, function: str, event: bytes, *, buckets: Sequence[TokenBucket] = ()
    ) -> FakeInvocation:
        self.buckets.append(list(buckets))
        return await super().invoke(function, event)


@pytest.mark.parametrize("limits", [True, False])
async def test_rest_streams_add_api_gateways_bucket_only_with_limits(limits: bool) -> None:
    from lambda_sse.local.limiter import APIGW_REST_BURST, TokenBucket

    invoker = ShapingInvoker()
    prelude = encode_prelude({"statusCode": 200})
    async with running(invoker, limits=limits) as h, httpx.AsyncClient() as client:
        invoker.scripts["stream"] = Script(head=STREAM_HEAD, chunks=[(0, prelude + b"x")])
        invoker.scripts["buf"] = Script(chunks=[(0, v1())])
        assert (await client.get(f"{h.rest}/dev/stream")).status_code == 200
        assert (await client.get(h.urls["stream"])).status_code == 200
        assert (await client.get(f"{h.rest}/dev/items/1")).status_code == 200
    rest_stream, url_stream, rest_buffered = invoker.buckets
    if limits:
        assert len(rest_stream) == 1
        assert isinstance(rest_stream[0], TokenBucket)
        assert rest_stream[0].available == APIGW_REST_BURST
    else:
        assert rest_stream == []
    assert url_stream == []
    assert rest_buffered == []


async def test_head_requests_get_the_head_without_a_body() -> None:
    prelude = encode_prelude({"statusCode": 200, "headers": {"x-a": "1"}})
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(0, v1(200, "body"))])
        h.invoker.scripts["stream"] = Script(head=STREAM_HEAD, chunks=[(0, prelude + b"data")])
        h.invoker.scripts["api"] = Script(chunks=[(0, b"{}")])
        buffered = await client.head(f"{h.urls['buf']}/")
        assert buffered.status_code == 200
        assert buffered.content == b""
        streamed = await client.head(h.urls["stream"])
        assert streamed.headers["x-a"] == "1"
        assert streamed.content == b""
        # The connection is still usable afterwards.
        assert (await client.get(f"{h.urls['buf']}/")).text == "body"


async def test_an_emulator_bug_answers_500_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async with running() as h, httpx.AsyncClient() as client:
        # No script for the function: the fake invoker raises KeyError, as a bug would.
        response = await client.get(f"{h.rest}/dev/items/1")
        assert response.status_code == 500
        assert response.json() == {"message": "Internal server error"}
    assert "error while serving GET /dev/items/1" in caplog.text


async def test_header_values_beyond_latin_1_go_out_as_utf_8_not_question_marks() -> None:
    async with running() as h, httpx.AsyncClient() as client:
        h.invoker.scripts["buf"] = Script(chunks=[(0, v1(200, "x", headers={"X-Price": "5 €"}))])
        response = await client.get(f"{h.rest}/dev/items/1")
        raw = {name.lower(): value for name, value in response.headers.raw}
        assert raw[b"x-price"] == "5 €".encode()
