"""The README's FastAPI example runs as shown: one function, /hello buffered, /events streamed
and resumable, through the real runtime and the strict Runtime API server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lambda_sse.sse import SSEDecoder
from tests.asgi.aws_events import rest
from tests.support.runtime_api import runtime_process, threaded_runtime_api, write_module

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_app() -> str:
    match = re.search(
        r"<!-- readme: fastapi_app -->\n```python\n(.*?)```", README.read_text(), flags=re.DOTALL
    )
    assert match, "README.md lost its FastAPI example"
    return match.group(1)


def test_readme_fastapi_app_streams_one_route_and_buffers_the_other(tmp_path: Path) -> None:
    write_module(tmp_path, "app", readme_app())
    with (
        threaded_runtime_api() as runtime_api,
        runtime_process("app.handler", runtime_api.address, cwd=tmp_path),
    ):
        hello = runtime_api.invoke(rest("/hello"), timeout=30)
        events = runtime_api.invoke(rest("/events"), timeout=30)
        resumed = runtime_api.invoke(rest("/events", headers={"Last-Event-ID": "97"}), timeout=30)

    assert hello.head is not None
    assert not hello.head.streaming
    envelope = hello.json()
    assert envelope["statusCode"] == 200
    assert json.loads(envelope["body"]) == {"message": "hello"}

    for result, first in ((events, 0), (resumed, 98)):
        assert result.head is not None
        assert result.head.streaming
        metadata, body = result.split_prelude()
        assert metadata is not None
        assert metadata["statusCode"] == 200
        content_type = {k.lower(): v for k, v in metadata["headers"].items()}["content-type"]
        assert content_type.startswith("text/event-stream")
        decoded = SSEDecoder().feed(body)
        assert [e.id for e in decoded] == [str(i) for i in range(first, 100)]
        assert [e.data for e in decoded] == [f"tick {i}" for i in range(first, 100)]
