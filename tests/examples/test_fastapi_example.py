"""The FastAPI example end to end through `lambda-sse dev`: one function behind a STREAM REST API
and a RESPONSE_STREAM Function URL serving the page, JSON, the quickstart's stream and the
resumable progress feed; and the feed cut by the function's deadline and resumed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lambda_sse.sse import EventSource, ServerSentEvent
from tests.examples.devserver import DevServer, copy_example, dev_server, read_sse

STEPS = 8
FAST = {
    "PROGRESS_STEPS": str(STEPS),
    "PROGRESS_STEP_SECONDS": "0.05",
    "QUICKSTART_CHUNK_INTERVAL": "0.05",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    tmp = tmp_path_factory.mktemp("fastapi")
    project = copy_example("fastapi", tmp, environment=FAST)
    with dev_server(project, tmp) as running:
        yield running


def base(server: DevServer, door: str) -> str:
    return f"{server.rest}/dev" if door == "rest" else server.url(1)


DOORS = ["rest", "url"]


def data(event: ServerSentEvent) -> Any:
    assert event.data is not None
    return json.loads(event.data)


@pytest.mark.parametrize("door", DOORS)
def test_the_page(server: DevServer, door: str) -> None:
    response = httpx.get(base(server, door) + "/", timeout=15)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "new EventSource(base + " in response.text
    assert 'id="bar"' in response.text


@pytest.mark.parametrize("door", DOORS)
def test_hello(server: DevServer, door: str) -> None:
    response = httpx.get(base(server, door) + "/hello", timeout=15)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["message"] == "Hello from Python on Lambda!"
    assert body["streaming_enabled"] is True


@pytest.mark.parametrize("door", DOORS)
def test_the_progress_feed(server: DevServer, door: str) -> None:
    read = read_sse(base(server, door) + "/events", stop_on="complete", timeout=20)
    assert read.status == 200
    assert read.headers["content-type"].startswith("text/event-stream")
    assert read.headers["cache-control"] == "no-cache"
    # The retry hint comes first, before any step.
    first_block = read.raw.split(b"\n\n", 1)[0]
    assert b"retry: 1000" in first_block
    assert b"event: progress" not in first_block
    events = [a.event for a in read.arrivals]
    assert [e.event for e in events] == ["progress"] * STEPS + ["complete"]
    assert [e.id for e in events[:STEPS]] == [str(k) for k in range(1, STEPS + 1)]
    steps = [data(e) for e in events[:STEPS]]
    assert [s["step"] for s in steps] == list(range(1, STEPS + 1))
    assert [s["percent"] for s in steps] == [round(100 * k / STEPS) for k in range(1, STEPS + 1)]
    assert steps[0]["message"] == f"Step 1 of {STEPS} done"
    assert data(events[-1])["percent"] == 100


@pytest.mark.parametrize(
    ("last_event_id", "first_step"), [("5", 6), ("0", 1), ("abc", 1), ("999", 1)]
)
def test_last_event_id_resumes_after_that_step(
    server: DevServer, last_event_id: str, first_step: int
) -> None:
    read = read_sse(
        f"{server.rest}/dev/events",
        headers={"Last-Event-ID": last_event_id},
        stop_on="complete",
        timeout=20,
    )
    ids = [a.event.id for a in read.arrivals if a.event.event == "progress"]
    assert ids == [str(k) for k in range(first_step, STEPS + 1)]


def test_after_the_last_step_only_complete_is_left(server: DevServer) -> None:
    read = read_sse(
        f"{server.url(1)}/events",
        headers={"Last-Event-ID": str(STEPS)},
        stop_on="complete",
        timeout=20,
    )
    assert [a.event.event for a in read.arrivals] == ["complete"]


@pytest.mark.parametrize("door", DOORS)
def test_the_quickstart_stream_route(server: DevServer, door: str) -> None:
    read = read_sse(base(server, door) + "/stream", timeout=20)
    events = [a.event for a in read.arrivals]
    assert [e.event for e in events] == ["message"] * 10 + ["end"]
    assert data(events[0])["message"] == "Chunk #1"
    # Streamed, not buffered: the chunks were spread over about 9 intervals.
    spread = read.arrivals[9].at - read.arrivals[0].at
    assert 9 * 0.05 * 0.6 <= spread <= 9 * 0.05 + 0.5


# ---------------------------------------------------------------------------------------------
# The function's deadline cuts the feed; the client resumes it from the last id.

CUT = {"PROGRESS_STEPS": "12", "PROGRESS_STEP_SECONDS": "0.25"}
# EventSourceResponse ends 5 s before the timeout: a 6 s timeout leaves about 1 s of stream.
CUT_TIMEOUT = 6


@pytest.fixture(scope="module")
def short_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    tmp = tmp_path_factory.mktemp("fastapi-short")
    project = copy_example("fastapi", tmp, environment=CUT, timeouts={"app": CUT_TIMEOUT})
    with dev_server(project, tmp) as running:
        yield running


def test_the_deadline_ends_the_stream_cleanly_with_a_retry_hint(short_server: DevServer) -> None:
    first = read_sse(f"{short_server.rest}/dev/events", timeout=20)
    kinds = [a.event.event for a in first.arrivals]
    assert "complete" not in kinds
    ids = [int(a.event.id or "-1") for a in first.arrivals if a.event.event == "progress"]
    assert ids
    assert ids == list(range(1, len(ids) + 1))
    assert len(ids) < 12
    # The last thing on the wire is a retry hint, then a clean end of the body.
    assert first.raw.rstrip(b"\n").rsplit(b"\n\n", 1)[-1].startswith(b"retry: ")
    second = read_sse(
        f"{short_server.rest}/dev/events",
        headers={"Last-Event-ID": str(ids[-1])},
        timeout=20,
    )
    resumed = [int(a.event.id or "-1") for a in second.arrivals if a.event.event == "progress"]
    assert resumed[0] == ids[-1] + 1


@pytest.mark.slow
@pytest.mark.parametrize("door", DOORS)
def test_event_source_gets_every_step_once_across_cuts(short_server: DevServer, door: str) -> None:
    url = f"{short_server.rest}/dev/events" if door == "rest" else f"{short_server.url(1)}/events"
    steps: list[int] = []
    with EventSource(url, max_attempts=3, read_timeout=10) as source:
        for event in source:
            if event.event == "complete":
                break
            assert event.event == "progress"
            steps.append(data(event)["step"])
            assert len(steps) <= 12
    assert steps == list(range(1, 13))


def test_the_emulator_function_url_event_reads_as_a_function_url() -> None:
    """What the URL tests above need: the bridge streams only for events it recognises as a
    Function URL's (on AWS the domain is <url-id>.lambda-url.<region>.on.aws); an event it takes
    for an HTTP API's is answered buffered, and a RESPONSE_STREAM URL then shows the JSON
    envelope verbatim."""
    from lambda_sse.events import detect
    from lambda_sse.local.frontdoor.build import build_v2_event
    from lambda_sse.local.frontdoor.request import Request

    request = Request("GET", "/events", (("Host", "127.0.0.1:3001"),))
    assert detect(build_v2_event(request)).kind == "function_url"
    assert detect(build_v2_event(request, function_url=False)).kind == "http_api"
