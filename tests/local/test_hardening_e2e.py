"""Misbehaving functions through the real stack (front doors, pool, lambda-sse's runtime in real
processes, httpx over loopback): invalid response headers, errors mid-stream, how each stream
ended in the request log, the REPORT line's error status, output without a final newline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lambda_sse.local.frontdoor.doors import Access, Reporter
from lambda_sse.local.model import (
    ApiConfig,
    FunctionConfig,
    FunctionUrlConfig,
    HttpRoute,
    ProjectConfig,
)
from lambda_sse.local.pool import Pool
from lambda_sse.local.server import DevServer
from lambda_sse.sse import SSEDecoder
from tests.support.execution import WRAPPER, Recorder, python_fn

pytestmark = pytest.mark.anyio
LIMIT = 60.0


def _fn(
    name: str, handler: str, *routes: HttpRoute, url: str | None = None, timeout: float = 10.0
) -> FunctionConfig:
    return python_fn(
        name,
        "py_hardening",
        f"hard_app.{handler}",
        environment=WRAPPER,
        timeout=timeout,
        routes=routes,
        url=FunctionUrlConfig(invoke_mode=url) if url else None,  # type: ignore[arg-type]
    )


def _stream(path: str) -> HttpRoute:
    return HttpRoute("GET", path, transfer_mode="STREAM")


PROJECT = ProjectConfig(
    source=Path("/project/serverless.yml"),
    service="hard",
    api=ApiConfig(stage="dev", endpoint_type="REGIONAL"),
    functions=(
        _fn("bad", "bad_header", _stream("/bad"), url="RESPONSE_STREAM", timeout=30.0),
        _fn("badbuf", "bad_header_buffered", HttpRoute("GET", "/badbuf"), url="BUFFERED"),
        _fn("fail", "fail_mid", _stream("/fail"), url="RESPONSE_STREAM"),
        _fn("chat", "chatter", _stream("/chat")),
        _fn("slow", "chatter", _stream("/slow"), timeout=1.0),
        _fn("sse", "sse", _stream("/sse"), _stream("/sse/fails"), url="RESPONSE_STREAM", timeout=3),
        _fn("tail", "tail", HttpRoute("GET", "/tail")),
        _fn("deep", "deep"),
        _fn("cyclic", "cyclic"),
    ),
)


@dataclass
class Stack:
    rest: str
    urls: dict[str, str]
    access: list[Access]
    records: Recorder
    pool: Pool

    async def access_for(self, target: str) -> Access:
        async with asyncio.timeout(10):
            while True:
                for record in self.access:
                    if record.target == target:
                        return record
                await asyncio.sleep(0.02)

    async def report_for(self, function: str) -> str:
        async with asyncio.timeout(10):
            while True:
                for record in self.records.records:
                    if record.function == function and record.text.startswith("REPORT"):
                        return record.text
                await asyncio.sleep(0.02)


@asynccontextmanager
async def stack() -> AsyncIterator[Stack]:
    records = Recorder()
    access: list[Access] = []
    pool = Pool(PROJECT, limits=False, sink=records, grace=0.5)
    server = DevServer(PROJECT, pool, port=0, limits=False, reporter=Reporter(access=access.append))
    try:
        async with asyncio.timeout(LIMIT):
            await server.start()
            yield Stack(
                f"http://127.0.0.1:{server.rest_port}/dev",
                {name: f"http://127.0.0.1:{port}" for name, port in server.url_ports.items()},
                access,
                records,
                pool,
            )
    finally:
        await server.close()
        await pool.close()


async def _read(client: httpx.AsyncClient, url: str) -> tuple[int, bytes, bool]:
    """Status, body, and whether the body ended cleanly (final chunk) or was cut."""
    got = bytearray()
    async with client.stream("GET", url) as response:
        try:
            async for chunk in response.aiter_raw():
                got += chunk
        except httpx.RemoteProtocolError:
            return response.status_code, bytes(got), False
        return response.status_code, bytes(got), True


async def test_invalid_response_headers_get_aws_answers_and_free_the_function() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        started = time.monotonic()
        response = await client.get(f"{s.rest}/bad")
        assert response.status_code == 500  # REST STREAM, bad prelude
        assert response.json() == {"message": "Internal server error"}
        assert "Injected" not in response.headers
        note = (await s.access_for("/dev/bad")).note
        assert "'x-bad'" in note
        assert "remove it" in note
        response = await client.get(f"{s.urls['bad']}/")
        assert response.status_code == 502  # Function URL
        # The function is not held to its 30 s timeout: its REPORT comes as soon as it returns.
        await s.report_for("bad")
        assert time.monotonic() - started < 8.0
        for url in (f"{s.rest}/badbuf", f"{s.urls['badbuf']}/"):
            response = await client.get(url)
            assert response.status_code == 502
        notes = [a.note for a in s.access if a.function == "badbuf"]
        assert all("'x bad'" in n and "fix the name" in n for n in notes), notes


async def test_mid_stream_error_per_front_door_and_in_the_report() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        status, body, clean = await _read(client, f"{s.rest}/fail")
        assert (status, body, clean) == (200, b"partial\n", False)  # REST: cut
        rest = await s.access_for("/dev/fail")
        assert rest.ended == "error"
        assert "Function.RuntimeError" in rest.note
        report = await s.report_for("fail")
        assert "Status: error" in report
        assert "Error Type: Function.RuntimeError" in report
        status, body, clean = await _read(client, f"{s.urls['fail']}/")
        assert (status, body, clean) == (200, b"partial\n", True)  # Function URL: clean end
        url = await s.access_for("/")
        assert url.ended == "error"


async def test_the_request_log_says_how_each_stream_ended() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        _, body, clean = await _read(client, f"{s.rest}/chat?n=3")
        assert clean
        assert body.count(b"line") == 3
        assert (await s.access_for("/dev/chat?n=3")).ended == "complete"

        _, body, clean = await _read(client, f"{s.rest}/slow?n=100&gap=0.05")
        assert not clean
        assert (await s.access_for("/dev/slow?n=100&gap=0.05")).ended == "function timeout"

        async with client.stream("GET", f"{s.rest}/chat?n=400&gap=0.02") as response:
            async for _ in response.aiter_raw():
                break  # the client leaves after the first chunk
        assert (await s.access_for("/dev/chat?n=400&gap=0.02")).ended == "client left"

        _, body, clean = await _read(client, f"{s.rest}/sse")
        assert clean
        assert body.endswith(b"retry: 1000\n\n")
        planned = await s.access_for("/dev/sse")
        assert planned.ended == "planned close"
        assert "before the timeout" in planned.note


async def test_event_source_response_tells_the_client_its_feed_failed() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        status, body, clean = await _read(client, f"{s.urls['sse']}/sse/fails")
        assert status == 200
        assert clean  # a Function URL ends cleanly: the event says it all
        events = SSEDecoder().feed(body)
        assert [e.event for e in events] == ["message", "error"]
        assert events[1].data == '{"error":"stream failed"}'
        assert (await s.access_for("/sse/fails")).ended == "error"


async def test_output_without_a_final_newline_stays_with_its_invocation() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=20) as client:
        first = await client.get(f"{s.rest}/tail")
        assert first.status_code == 200
        await s.report_for("tail")
        await client.get(f"{s.rest}/tail")
        async with asyncio.timeout(10):
            while len([r for r in s.records.records if "tail without" in r.text]) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        for record in s.records.records:
            if "tail without newline" in record.text:
                assert record.text == f"tail without newline {record.request_id}"


@pytest.mark.parametrize("name", ["deep", "cyclic"])
async def test_unmarshallable_results_are_marshal_errors_and_keep_the_environment(
    name: str,
) -> None:
    async with stack() as s:
        outcomes = []
        pids = []
        for _ in range(2):
            inv = await s.pool.invoke(name, b"{}")
            async for _chunk in inv.body():
                pass
            outcomes.append(await inv.outcome())
            pids.append(inv.pid)
    assert [o.error_type for o in outcomes] == ["Runtime.MarshalError"] * 2, outcomes
    assert pids[0] == pids[1]  # the same warm environment served both
