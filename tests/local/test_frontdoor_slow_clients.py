"""Slow clients cannot hold a front door's connection forever: a request head must arrive
within the head timeout (else 408 and close), an idle connection is closed, a body that stops
flowing is cut."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.local.test_frontdoor import Script, running, v1

pytestmark = pytest.mark.anyio


async def _exchange(port: int, parts: list[bytes], gap: float) -> tuple[bytes, float]:
    """Send ``parts`` ``gap`` seconds apart, then read until the server closes."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = b""
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(gap)
        async with asyncio.timeout(5):
            data = await reader.read()
    except ConnectionResetError:
        # The server answered and closed while the client was still sending: the kernel
        # resets such a connection, and the answer may be lost with it.
        data = b"<reset>"
    finally:
        writer.close()
    return data, time.monotonic() - started


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def test_a_head_that_never_ends_gets_408() -> None:
    async with running(head_timeout=0.3) as h:
        data, took = await _exchange(
            _port(h.rest), [b"GET /dev/items/1 HTTP/1.1\r\nHost: a\r\n"], 0
        )
    assert data.startswith(b"HTTP/1.1 408 ")
    assert took < 3.0


async def test_a_slow_drip_is_cut_by_the_total_head_time() -> None:
    head = b"GET /dev/items/1 HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 40
    parts = [head[i : i + 4] for i in range(0, len(head), 4)]  # 0.05 s apart: ~1 s in all
    async with running(head_timeout=0.3) as h:
        data, took = await _exchange(_port(h.rest), parts, 0.05)
    assert data.startswith(b"HTTP/1.1 408 ") or data == b"<reset>"
    assert took < 3.0


async def test_an_idle_connection_is_closed_without_an_answer() -> None:
    async with running(head_timeout=0.3) as h:
        data, took = await _exchange(_port(h.rest), [], 0)
    assert data == b""
    assert took < 3.0


async def test_a_body_that_stops_flowing_is_cut() -> None:
    async with running(head_timeout=0.3) as h:
        h.invoker.scripts["buf"] = Script(chunks=[(0, v1())])
        request = b"POST /dev/items HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc"
        data, took = await _exchange(_port(h.rest), [request], 0)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert took < 3.0
    assert h.invoker.events == []


async def test_a_prompt_client_is_served_on_a_kept_alive_connection() -> None:
    async with running(head_timeout=0.3) as h:
        h.invoker.scripts["buf"] = Script(chunks=[(0, v1(200, "ok"))])
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(h.rest))
        for _ in range(2):
            writer.write(b"GET /dev/items/1 HTTP/1.1\r\nHost: a\r\n\r\n")
            await writer.drain()
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200 ")
                await reader.readexactly(2)
            await asyncio.sleep(0.2)  # under the timeout each time: the connection stays
        writer.close()
