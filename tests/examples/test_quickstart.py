"""The quickstart end to end: `lambda-sse dev` serving examples/quickstart, read by httpx, curl
and the project's EventSource, through the REST API (STREAM and BUFFERED) and the Function URL.

The fast tests shorten the one-second interval through the function's environment (a copy of
the example's serverless.yml); one slow test runs the example itself, unchanged, in real time.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from lambda_sse.sse import EventSource, ServerSentEvent, SSEDecoder
from tests.conftest import require_tool
from tests.examples.devserver import (
    EXAMPLES,
    Arrival,
    DevServer,
    copy_example,
    dev_server,
    read_sse,
)

INTERVAL = 0.2  # seconds between chunks in the fast tests


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    tmp = tmp_path_factory.mktemp("quickstart")
    project = copy_example(
        "quickstart", tmp, environment={"QUICKSTART_CHUNK_INTERVAL": str(INTERVAL)}
    )
    with dev_server(project, tmp) as running:
        yield running


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


def check_chunks(arrivals: list[Arrival], interval: float, slack: float) -> None:
    """Ten message events "Chunk #1".."Chunk #10", the k-th about (k-1)*interval after the first,
    then `end` / "Stream finished"."""
    events = [a.event for a in arrivals]
    assert [e.event for e in events] == ["message"] * 10 + ["end"]
    assert events[-1].data == "Stream finished"
    bodies = [json.loads(e.data or "") for e in events[:10]]
    assert [b["message"] for b in bodies] == [f"Chunk #{k}" for k in range(1, 11)]
    stamps = [parse_time(b["timestamp"]) for b in bodies]
    now = datetime.now(UTC)
    assert all(now - timedelta(minutes=1) < s <= now for s in stamps)
    assert stamps == sorted(stamps)
    first = arrivals[0].at
    for k, arrival in enumerate(arrivals[:10], start=1):
        offset = arrival.at - first
        assert abs(offset - (k - 1) * interval) <= slack, (k, offset)
    # `end` follows the tenth chunk at once.
    assert arrivals[10].at - arrivals[9].at <= slack


def test_stream_through_the_rest_api(server: DevServer) -> None:
    read = read_sse(f"{server.rest}/dev/stream")
    assert read.status == 200
    assert read.headers["content-type"] == "text/event-stream"
    assert read.headers["cache-control"] == "no-cache"
    check_chunks(read.arrivals, INTERVAL, slack=0.25)


def test_stream_through_the_function_url(server: DevServer) -> None:
    read = read_sse(f"{server.url(1)}/")
    assert read.status == 200
    assert read.headers["content-type"] == "text/event-stream"
    check_chunks(read.arrivals, INTERVAL, slack=0.25)


def test_stream_bytes_are_the_documented_format(server: DevServer) -> None:
    read = read_sse(f"{server.rest}/dev/stream")
    blocks = read.raw.decode().split("\n\n")
    assert blocks[0].startswith('data: {"message": "Chunk #1", "timestamp": "')
    assert blocks[10] == "event: end\ndata: Stream finished"
    assert blocks[11:] == [""]


def test_hello_is_buffered_json(server: DevServer) -> None:
    response = httpx.get(f"{server.rest}/dev/hello", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    # Buffered: a Content-Length, not a chunked stream.
    assert int(response.headers["content-length"]) == len(response.content)
    body = response.json()
    assert set(body) == {"message", "timestamp", "streaming_enabled"}
    assert body["message"] == "Hello from Python on Lambda!"
    assert body["streaming_enabled"] is True
    parse_time(body["timestamp"])


def test_unknown_route_is_api_gateways_403(server: DevServer) -> None:
    response = httpx.get(f"{server.rest}/dev/nope", timeout=10)
    assert response.status_code == 403


@pytest.mark.parametrize("door", ["rest", "url"])
def test_curl_sees_each_chunk_as_it_is_sent(server: DevServer, door: str) -> None:
    curl = require_tool("curl")
    url = f"{server.rest}/dev/stream" if door == "rest" else f"{server.url(1)}/"
    arrivals = curl_events(curl, url)
    check_chunks(arrivals, INTERVAL, slack=0.25)


def curl_events(curl: str, url: str, timeout: float = 30.0) -> list[Arrival]:
    """`curl -N` as the README shows it; each event timed as curl prints it."""
    process = subprocess.Popen(
        [curl, "-sS", "-N", "--max-time", str(int(timeout)), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    decoder = SSEDecoder()
    arrivals: list[Arrival] = []
    # A watchdog bounds the read even if curl hung without printing.
    timer = threading.Timer(timeout + 5, process.kill)
    timer.start()
    try:
        while chunk := os.read(process.stdout.fileno(), 65536):
            now = time.monotonic()
            arrivals.extend(Arrival(now, e) for e in decoder.feed(chunk))
        assert process.wait(10) == 0, process.stderr.read() if process.stderr else b""
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    return arrivals


def test_the_project_event_source_reads_to_the_end(server: DevServer) -> None:
    received: list[ServerSentEvent] = []
    with EventSource(f"{server.rest}/dev/stream", max_attempts=1, read_timeout=10) as source:
        for event in source:
            received.append(event)
            if event.event == "end":
                break
            assert len(received) <= 11
    assert [e.event for e in received] == ["message"] * 10 + ["end"]
    assert json.loads(received[9].data or "")["message"] == "Chunk #10"


@pytest.mark.slow
def test_readme_quickstart_in_real_time(tmp_path: Path) -> None:
    """The example exactly as shipped: one chunk per second through `lambda-sse dev`."""
    with dev_server(EXAMPLES / "quickstart", tmp_path) as running:
        rest = read_sse(f"{running.rest}/dev/stream", timeout=40)
        check_chunks(rest.arrivals, 1.0, slack=0.35)
        url = read_sse(f"{running.url(1)}/", timeout=40)
        check_chunks(url.arrivals, 1.0, slack=0.35)
        # The route table names both URLs, the Function URL included.
        table = running.output()
        assert f"http://127.0.0.1:{running.port}/dev/stream" in table
        assert f"http://127.0.0.1:{running.port}/dev/hello" in table
        assert f"http://127.0.0.1:{running.port + 1}/" in table
