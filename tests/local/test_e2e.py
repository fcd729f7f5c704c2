"""End to end: config file -> front doors -> the real pool -> real runtime processes, over real
loopback sockets with httpx. Runtimes: lambda-sse's (exec wrapper), AWS's Python client
(awslambdaric) and AWS's Node.js client (npm aws-lambda-ric). Timing proves streaming.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lambda_sse.local.config import load_project
from lambda_sse.local.frontdoor.doors import Access, Reporter
from lambda_sse.local.pool import Pool
from lambda_sse.sse import SSEDecoder
from tests.conftest import NODE_RIC_HINT, require, require_tool
from tests.support.execution import NODE_RIC, Recorder

pytestmark = pytest.mark.anyio

PROJECT = Path(__file__).parent / "projects" / "e2e"


@dataclass
class Stack:
    rest: str
    urls: dict[str, str]
    access: list[Access]
    warnings: list[str]
    records: Recorder


def node_ric() -> str:
    require_tool("node")
    require("aws-lambda-ric is not installed", NODE_RIC.exists(), NODE_RIC_HINT)
    return str(NODE_RIC)


@asynccontextmanager
async def stack(**server_options: Any) -> AsyncIterator[Stack]:
    from lambda_sse.local.server import DevServer

    project = load_project(PROJECT)
    records = Recorder()
    access: list[Access] = []
    warnings: list[str] = []
    base_env = dict(os.environ)
    if NODE_RIC.exists():
        base_env["LAMBDA_SSE_NODE_RIC"] = str(NODE_RIC)
    pool = Pool(project, limits=False, sink=records, base_env=base_env, grace=0.5)
    server = DevServer(
        project,
        pool,
        port=0,
        limits=False,
        reporter=Reporter(access=access.append, warning=warnings.append),
        **server_options,
    )
    try:
        await server.start()
        yield Stack(
            f"http://127.0.0.1:{server.rest_port}",
            {name: f"http://127.0.0.1:{port}" for name, port in server.url_ports.items()},
            access,
            warnings,
            records,
        )
    finally:
        await server.close()
        await pool.close()


async def arrivals(
    client: httpx.AsyncClient, url: str
) -> tuple[httpx.Response, list[tuple[float, bytes]]]:
    """GET ``url`` and time each chunk's arrival on one monotonic clock."""
    async with client.stream("GET", url) as response:
        chunks = [(time.monotonic(), chunk) async for chunk in response.aiter_raw()]
    return response, chunks


async def read_into(client: httpx.AsyncClient, url: str, got: bytearray) -> int:
    async with client.stream("GET", url) as response:
        async for chunk in response.aiter_raw():
            got += chunk
        return response.status_code


def assert_spread(chunks: list[tuple[float, bytes]], count: int, interval: float) -> None:
    """The ``count`` pieces arrived one by one, about ``interval`` apart, not in one burst."""
    assert len(chunks) >= count
    first_to_last = chunks[-1][0] - chunks[0][0]
    assert first_to_last >= (count - 1) * interval * 0.7, first_to_last


# -- streaming through both doors ------------------------------------------------------------


async def test_lambda_sse_runtime_streams_through_rest_and_url() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        for url in (
            f"{s.rest}/test/stream?chunks=4&interval=0.25",
            f"{s.urls['stream']}/x?chunks=4&interval=0.25",
        ):
            response, chunks = await arrivals(client, url)
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["set-cookie"] == "session=abc"
            events = SSEDecoder().feed(b"".join(c for _, c in chunks))
            assert [json.loads(e.data or "{}")["i"] for e in events] == [0, 1, 2, 3]
            assert_spread(chunks, 4, 0.25)
        # The REST event's path excludes the stage; the URL's v2 rawPath is as sent.
        assert s.access[0].mode == "STREAM"
        assert s.access[1].mode == "RESPONSE_STREAM"


async def test_raw_stream_on_a_url_keeps_its_content_type() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        response = await client.get(f"{s.urls['stream']}/?mode=raw&chunks=2&interval=0")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv"
        assert response.text.count("data:") == 2


async def test_aws_node_client_streams_through_rest_and_url() -> None:
    node_ric()
    async with stack() as s, httpx.AsyncClient(timeout=30) as client:
        for url in (f"{s.rest}/test/node", s.urls["node"]):
            response, chunks = await arrivals(client, url)
            assert response.status_code == 200
            assert response.headers["x-runtime"] == "node"
            lines = b"".join(c for _, c in chunks).decode().splitlines()
            assert [line.split()[1] for line in lines] == ["0", "1", "2"]
            assert_spread(chunks, 3, 0.3)


async def test_awslambdaric_buffered_through_rest_url_and_http_api() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        response = await client.get(f"{s.rest}/test/items/42")
        assert response.status_code == 200
        assert response.headers["x-runtime"] == "awslambdaric"
        assert response.json() == {
            "path": "/items/42",
            "resource": "/items/{id}",
            "routeKey": None,
            "pathParameters": {"id": "42"},
            "stage": "test",
            "contextPath": "/test/items/42",
        }
        greedy = (await client.post(f"{s.rest}/test/buffered/a/b")).json()
        assert greedy["pathParameters"] == {"proxy": "a/b"}
        url = (await client.get(f"{s.urls['buffered']}/free/path")).json()
        assert url["path"] == "/free/path"
        assert url["stage"] == "$default"
        bare = await client.get(f"{s.urls['buffered']}/?mode=bare")
        assert bare.json() == {"hello": "world"}
        assert bare.headers["content-type"] == "application/json"
        api = (await client.get(f"{s.rest}/api/zed")).json()
        assert api["routeKey"] == "GET /api/{name}"
        assert api["pathParameters"] == {"name": "zed"}


# -- errors, as AWS answers them -------------------------------------------------------------


async def test_buffered_errors_are_502_on_rest_and_url() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        for mode in ("error", "malformed"):
            response = await client.get(f"{s.rest}/test/items/1?mode={mode}")
            assert response.status_code == 502, mode
            assert response.json() == {"message": "Internal server error"}
        response = await client.get(f"{s.urls['buffered']}/?mode=error")
        assert response.status_code == 502
        streamed_error = await client.get(f"{s.rest}/test/stream?mode=error")
        assert streamed_error.status_code == 502


async def test_reserved_concurrency_throttles_500_on_rest_and_429_on_url() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        slow = asyncio.ensure_future(client.get(f"{s.rest}/test/items/1?mode=sleep&seconds=3"))
        # Wait until Lambda counts it in flight (its START line), not a guessed time.
        async with asyncio.timeout(20):
            while not any(t.startswith("START") for t in s.records.texts()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        rest = await client.get(f"{s.rest}/test/items/2")
        url = await client.get(s.urls["buffered"])
        assert rest.status_code == 500
        assert rest.json() == {"message": "Internal server error"}
        assert url.status_code == 429
        assert (await slow).status_code == 200


async def test_integration_timeout_is_504() -> None:
    async with stack(integration_timeout=0.5) as s, httpx.AsyncClient(timeout=20) as client:
        response = await client.get(f"{s.rest}/test/items/1?mode=sleep&seconds=1.5")
        assert response.status_code == 504
        assert response.json() == {"message": "Endpoint request timed out"}


@pytest.mark.slow
async def test_function_timeout_mid_stream_cuts_both_doors() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        for url in (
            f"{s.rest}/test/stream?mode=hang&chunks=2&interval=0",
            f"{s.urls['stream']}/?mode=hang&chunks=2&interval=0",
        ):
            got = bytearray()
            with pytest.raises(httpx.RemoteProtocolError):
                await read_into(client, url, got)
            assert bytes(got).count(b"data:") == 2
        assert any("Sandbox.Timeout" in a.note for a in s.access)


async def test_mode_mismatches_behave_as_aws_documents() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        # A streaming function behind a BUFFERED route: status and headers, no body.
        response = await client.get(f"{s.rest}/test/stream-buffered?chunks=2&interval=0")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.content == b""
        # A buffered function behind a STREAM route: 500.
        response = await client.get(f"{s.rest}/test/buffered-stream")
        assert response.status_code == 500
        text = "\n".join(s.warnings)
        assert "response.transferMode: STREAM" in text
        assert "HttpResponseStream.from_" in text


async def test_client_disconnect_leaves_the_function_running(tmp_path: Path) -> None:
    marker = tmp_path / "finished"
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        url = f"{s.rest}/test/stream?chunks=6&interval=0.15&marker={marker}"
        async with client.stream("GET", url) as response:
            async for _ in response.aiter_raw():
                break  # the client goes away after the first chunk
        for _ in range(100):
            if marker.exists():
                break
            await asyncio.sleep(0.05)
        assert marker.read_text().startswith("finished")
        assert any("keeps running" in r.text for r in s.records.records)


async def test_sam_project_streams_under_the_implicit_prod_stage() -> None:
    from lambda_sse.local.server import DevServer

    project = load_project(Path(__file__).parent / "projects" / "sam_app")
    async with Pool(project, limits=False, sink=Recorder(), grace=0.5) as pool:
        server = DevServer(project, pool, port=0, limits=False)
        await server.start()
        try:
            async with httpx.AsyncClient(timeout=20) as client:
                base = f"http://127.0.0.1:{server.rest_port}"
                response, chunks = await arrivals(client, f"{base}/Prod/stream")
                assert response.status_code == 200
                events = SSEDecoder().feed(b"".join(c for _, c in chunks))
                assert [e.data for e in events] == ["hi 0", "hi 1", "hi 2"]
                assert_spread(chunks, 3, 0.2)
                item = await client.delete(f"{base}/Prod/items/7")
                assert item.text == "item 7 in stage Prod"
                url = await client.get(f"http://127.0.0.1:{server.url_ports['StreamFunction']}/")
                assert url.text.count("data: hi") == 3
        finally:
            await server.close()


async def test_a_broken_prelude_from_a_custom_runtime() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        for mode in ("extra-key", "no-separator"):
            rest = await client.get(f"{s.rest}/test/broken?mode={mode}")
            assert rest.status_code == 500, mode
            assert rest.json() == {"message": "Internal server error"}
            url = await client.get(f"{s.urls['broken']}/?mode={mode}")
            assert url.status_code == 502, mode  # UNCONFIRMED on AWS; see docs/local.md
        assert any("bad prelude" in a.note for a in s.access)
