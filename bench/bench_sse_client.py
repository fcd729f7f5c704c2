"""EventSource client throughput over loopback: lambda_sse against httpx-sse, same server, same run.

A tiny asyncio HTTP/1.1 server in a background thread answers every request with the same
chunked event stream (N events, 4 KiB chunks, written as fast as the socket takes them). Each
client reads exactly N events from one connection:

- lambda_sse: ``EventSource(url)`` iterated with ``for`` (httpx.Client) and ``async for``
  (httpx.AsyncClient);
- baseline: httpx-sse's ``connect_sse(...).iter_sse()`` / ``aconnect_sse(...).aiter_sse()`` on
  the same kind of httpx client.

Both sit on httpx, so the difference is what each does per chunk and per event (decoding,
bookkeeping for reconnects). Runs alternate between the two, best of several.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from httpx_sse import aconnect_sse, connect_sse

from _common import log, markdown_table, ratio, verdict
from lambda_sse.sse import ServerSentEvent
from lambda_sse.sse.client import EventSource

N = 50_000
REPEAT = 5
CHUNK = 4096
TARGET = 1.0  # the reconnecting client may not cost throughput against a client without it


def body() -> bytes:
    """N small JSON events with ids, as a token stream sends them."""
    return b"".join(
        ServerSentEvent(data=json.dumps({"delta": f"w{i} ", "i": i}), id=str(i)).encode()
        for i in range(N)
    )


def chunked(payload: bytes) -> bytes:
    """An HTTP/1.1 response carrying ``payload`` in CHUNK-sized chunks (RFC 9112 7.1)."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    pieces = [head]
    for start in range(0, len(payload), CHUNK):
        piece = payload[start : start + CHUNK]
        pieces.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    pieces.append(b"0\r\n\r\n")
    return b"".join(pieces)


class Server:
    """Answers every request with the same bytes, then closes; in its own thread and loop."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("benchmark server did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _run(self) -> None:
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()
            self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self.response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def ours_sync(url: str) -> int:
    count = 0
    with httpx.Client() as client, EventSource(url, client=client) as source:
        for _ in source:
            count += 1
            if count == N:
                break
    return count


def theirs_sync(url: str) -> int:
    count = 0
    with httpx.Client() as client, connect_sse(client, "GET", url) as events:
        for _ in events.iter_sse():
            count += 1
            if count == N:
                break
    return count


async def ours_async(url: str) -> int:
    count = 0
    async with httpx.AsyncClient() as client, EventSource(url, client=client) as source:
        async for _ in source:
            count += 1
            if count == N:
                break
    return count


async def theirs_async(url: str) -> int:
    count = 0
    async with httpx.AsyncClient() as client, aconnect_sse(client, "GET", url) as events:
        async for _ in events.aiter_sse():
            count += 1
            if count == N:
                break
    return count


def timed(run: Callable[[], int]) -> float:
    start = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - start
    if count != N:
        raise RuntimeError(f"read {count} events, expected {N}")
    return elapsed


def best_pair(ours: Callable[[], int], theirs: Callable[[], int]) -> tuple[float, float]:
    """Best time of each, runs alternating so both see the same machine load."""
    timed(ours), timed(theirs)  # warm-up
    best_ours = best_theirs = float("inf")
    for _ in range(REPEAT):
        best_ours = min(best_ours, timed(ours))
        best_theirs = min(best_theirs, timed(theirs))
    return best_ours, best_theirs


def main() -> None:
    payload = body()
    with Server(chunked(payload)) as server:
        url = f"http://127.0.0.1:{server.port}/events"
        rows: list[list[object]] = []
        flavours: list[tuple[str, Callable[[], int], Callable[[], int]]] = [
            ("sync (`for`)", lambda: ours_sync(url), lambda: theirs_sync(url)),
            (
                "async (`async for`)",
                lambda: asyncio.run(ours_async(url)),
                lambda: asyncio.run(theirs_async(url)),
            ),
        ]
        for name, ours, theirs in flavours:
            log(f"client {name}: {N} events, best of {REPEAT}")
            ours_s, theirs_s = best_pair(ours, theirs)
            speedup = ratio(ours_s, theirs_s)
            rows.append(
                [
                    name,
                    f"{N / ours_s:,.0f}",
                    f"{len(payload) / ours_s / 1e6:.1f}",
                    f"{N / theirs_s:,.0f}",
                    f"{speedup:.2f}x",
                    f">= {TARGET:.1f}x",
                    verdict(speedup, TARGET),
                ]
            )
    header = [
        "client",
        "lambda_sse events/s",
        "MB/s",
        "httpx-sse events/s",
        "ratio",
        "target",
        "verdict",
    ]
    print("## SSE client")
    print()
    print(
        f"{N:,} events (`id` + small JSON `data`, {len(payload) / 1e6:.1f} MB) read from one "
        f"loopback HTTP/1.1 connection in {CHUNK} B chunks, best of {REPEAT} runs each, "
        "alternating. lambda_sse's reconnecting `EventSource` against httpx-sse's "
        "`connect_sse`/`aconnect_sse` (no reconnects) on the same httpx client type and the same "
        "server. Target: the reconnect bookkeeping costs no throughput (ratio >= 1)."
    )
    print()
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
