"""Flask through ``lambda_sse.wsgi.handler`` and the real runtime (``python -m
lambda_sse.runtime``, a subprocess) against the strict test Runtime API; beside it, the same app
through apig-wsgi and through Mangum (on asgiref's WSGI-to-ASGI wrapper), both of which buffer."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from asgiref.wsgi import WsgiToAsgi
from mangum import Mangum

from lambda_sse.sse import SSEDecoder
from tests.asgi import aws_events
from tests.asgi.test_bridge_runtime import Served, assert_spread, invoke
from tests.support.runtime_api import runtime_process, threaded_runtime_api
from tests.wsgi import apps

REPO = Path(__file__).resolve().parents[2]
DOORS: list[Any] = [aws_events.rest, aws_events.function_url]
N, DELAY = 4, 0.25  # /stream?n=4&delay=0.25: one event every 250 ms
MARKERS: list[str] = []  # the folder the module's function drops its markers in


@pytest.fixture(scope="module")
def flask_fn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    markers = tmp_path_factory.mktemp("markers")
    MARKERS[:] = [str(markers)]
    with (
        threaded_runtime_api() as api,
        runtime_process(
            "tests.wsgi.apps.handler",
            api.address,
            cwd=REPO,
            env={"LAMBDA_SSE_TEST_MARKERS": str(markers)},
        ) as process,
    ):
        api.wait_for_poll(30)
        yield Served(api, process)


def logged(served: Served, text: str, timeout: float = 10.0) -> None:
    """The runtime's log shows ``text`` (it may land a moment after the response ends)."""
    deadline = time.monotonic() + timeout
    while text not in served.process.output():
        assert time.monotonic() < deadline, served.process.output()
        time.sleep(0.05)


@pytest.mark.parametrize("make", DOORS)
def test_generator_response_streams_chunk_by_chunk(flask_fn: Served, make: Any) -> None:
    result = invoke(flask_fn.api, make("/stream", query=f"n={N}&delay={DELAY}"))
    metadata, body, timed = result.streamed()
    assert metadata["statusCode"] == 200
    assert metadata["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    assert metadata["headers"]["cache-control"] == "no-cache"
    events = SSEDecoder().feed(body)
    assert [e.id for e in events] == [str(i) for i in range(N)]
    # stream_with_context: the request is still there inside the generator.
    assert all(e.data is not None and e.data.endswith(" /stream") for e in events)
    # Each event arrived on its own, while the app produced them: N pieces over >= 3 gaps.
    assert_spread(timed, N, 0.5)
    for (at, chunk), event_id in zip(timed, range(N), strict=False):
        assert chunk.startswith(f"id: {event_id}\n".encode()), (at, chunk)
    assert result.outcome.status == "success"


@pytest.mark.parametrize("make", DOORS)
def test_each_event_arrives_when_produced(flask_fn: Served, make: Any) -> None:
    """Production time (monotonic_ns in the data; one clock for every process on the machine)
    to arrival at the Runtime API: a few ms, not the length of the stream."""
    result = invoke(flask_fn.api, make("/stream", query="n=6&delay=0.15"))
    _, _, timed = result.streamed()
    lags = []
    for at, chunk in timed:
        for event in SSEDecoder().feed(chunk):
            assert event.data is not None
            produced_ns = int(event.data.split()[2])
            lags.append(at + result.started - produced_ns / 1e9)
    assert len(lags) == 6
    # Buffered, the first event would wait for the whole 0.75 s stream. The margins leave room
    # for a loaded 2-core machine.
    assert statistics.median(lags) < 0.1, lags
    assert max(lags) < 0.3, lags


def test_buffered_route_gets_the_envelope(flask_fn: Served) -> None:
    reply = invoke(flask_fn.api, aws_events.rest("/json")).reply()
    assert reply["statusCode"] == 200
    assert reply["headers"]["content-type"] == "application/json"
    assert json.loads(reply["body"]) == {"message": "hello", "path": "/json", "root": "/prod"}


@pytest.mark.parametrize("make", [aws_events.rest, aws_events.function_url, aws_events.alb])
def test_request_reaches_flask_as_sent(flask_fn: Served, make: Any) -> None:
    body = b'{"text": "h\xc3\xa9llo"}'
    if make is aws_events.alb:
        event = make("/echo", "POST", body=body)
        event["headers"]["content-type"] = "application/json"
    else:
        event = make(
            "/echo",
            "POST",
            query="a=1&b=x",
            headers={"content-type": "application/json", "cookie": "c1=blue; c2=red"},
            body=body,
        )
    reply = invoke(flask_fn.api, event).reply()
    seen = json.loads(reply["body"])
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo"
    assert seen["body"] == body.decode()
    assert seen["content_type"] == "application/json"
    if make is aws_events.rest:
        assert seen["script_root"] == "/prod"
        assert seen["url"].startswith("https://")
        assert "/prod/echo?" in seen["url"]
    if make is not aws_events.alb:
        assert seen["args"] == {"a": ["1"], "b": ["x"]}
        assert seen["cookies"] == {"c1": "blue", "c2": "red"}


def test_exception_before_answering_is_a_500(flask_fn: Served) -> None:
    # Flask turns it into its own 500 page; the bridge passes it on (no crash, no hang).
    result = invoke(flask_fn.api, aws_events.function_url("/boom"))
    assert result.outcome.status == "success"
    assert result.reply()["statusCode"] == 500
    logged(flask_fn, "broken before answering")


def test_non_200_status_and_headers(flask_fn: Served) -> None:
    reply = invoke(flask_fn.api, aws_events.function_url("/teapot")).reply()
    assert reply["statusCode"] == 418
    assert reply["headers"]["x-kind"] == "teapot"
    assert reply["body"] == "short and stout"


@pytest.mark.parametrize("make", DOORS)
def test_error_mid_stream_ends_the_stream_with_error_trailers(flask_fn: Served, make: Any) -> None:
    """As for an ASGI app: what was sent stays sent, the runtime reports the error in the
    Lambda-Runtime-Function-Error trailers, and the environment serves the next request."""
    result = invoke(flask_fn.api, make("/stream-boom"))
    metadata, body, _ = result.streamed()
    assert metadata["statusCode"] == 200
    assert body == b"data: one\n\ndata: two\n\n"
    assert result.outcome.status == "success"
    assert result.outcome.trailer_error is True
    logged(flask_fn, "the model fell over mid-stream")
    again = invoke(flask_fn.api, make("/stream", query="n=2"))
    assert SSEDecoder().feed(again.streamed()[1])[-1].id == "1"


def test_streaming_route_through_a_buffering_front_door_is_buffered(flask_fn: Served) -> None:
    reply = invoke(flask_fn.api, aws_events.http_api("/stream", query="n=3")).reply()
    assert reply["statusCode"] == 200
    assert [e.id for e in SSEDecoder().feed(reply["body"].encode())] == ["0", "1", "2"]


def test_generator_is_closed_after_the_stream(flask_fn: Served) -> None:
    marker = Path(MARKERS[0]) / "stream-closed"
    marker.unlink(missing_ok=True)
    result = invoke(flask_fn.api, aws_events.function_url("/stream", query="n=1"))
    assert result.outcome.status == "success"
    # The response ended only after the app's iterable was closed (PEP 3333: close() is called).
    assert marker.exists()


def test_legacy_write_callable(tmp_path: Path) -> None:
    with (
        threaded_runtime_api() as api,
        runtime_process("tests.wsgi.apps.legacy_handler", api.address, cwd=REPO),
    ):
        api.wait_for_poll(30)
        metadata, body, _ = invoke(api, aws_events.rest("/café")).streamed()
    assert metadata["statusCode"] == 200
    # write() first, then the iterable; PATH_INFO is the UTF-8 bytes read as latin-1 (PEP 3333).
    assert body == b'written returned "/caf\\u00c3\\u00a9"'


# -- the same Flask app through the WSGI adapters that exist for Lambda today --------------


def _time_handler(handler: Any, event: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    reply: dict[str, Any] = handler(event, None)
    return time.monotonic() - started, reply


def test_apig_wsgi_buffers_the_same_stream() -> None:
    """apig-wsgi answers only when the generator is exhausted (one JSON envelope): the client's
    first byte comes after the whole stream, where lambda-sse's came after the first event."""
    handler = make_lambda_handler(apps.app)
    took, reply = _time_handler(handler, aws_events.rest("/stream", query="n=4&delay=0.2"))
    assert took >= 0.6
    assert reply["statusCode"] == 200
    assert [e.id for e in SSEDecoder().feed(reply["body"].encode())] == ["0", "1", "2", "3"]


def test_mangum_on_wrapped_flask_buffers_the_same_stream() -> None:
    handler = Mangum(WsgiToAsgi(apps.app), lifespan="off")  # type: ignore[no-untyped-call]
    event = aws_events.function_url("/stream", query="n=4&delay=0.2")
    took, reply = _time_handler(handler, event)
    assert took >= 0.6
    assert [e.id for e in SSEDecoder().feed(reply["body"].encode())] == ["0", "1", "2", "3"]


def test_first_event_beats_the_buffering_adapters(flask_fn: Served) -> None:
    result = invoke(flask_fn.api, aws_events.function_url("/stream", query="n=4&delay=0.2"))
    _, _, timed = result.streamed()
    assert timed[0][0] < 0.45  # first event ~immediately; the buffering adapters take >= 0.6 s
