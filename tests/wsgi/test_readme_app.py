"""The README's Flask example runs as shown, through the real runtime and the strict Runtime API
server: the generator's ten events stream, each as its own chunk."""

from __future__ import annotations

import re
from pathlib import Path

from lambda_sse.sse import SSEDecoder
from tests.asgi.aws_events import function_url, rest
from tests.asgi.test_bridge_runtime import invoke
from tests.support.runtime_api import runtime_process, threaded_runtime_api, write_module

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_app() -> str:
    match = re.search(
        r"<!-- readme: flask_app -->\n```python\n(.*?)```", README.read_text(), flags=re.DOTALL
    )
    assert match, "README.md lost its Flask example"
    return match.group(1)


def test_readme_flask_app_streams(tmp_path: Path) -> None:
    write_module(tmp_path, "app", readme_app())
    with (
        threaded_runtime_api() as runtime_api,
        runtime_process("app.handler", runtime_api.address, cwd=tmp_path),
    ):
        results = [invoke(runtime_api, make("/ticks")) for make in (rest, function_url)]
    for result in results:
        metadata, body, timed = result.streamed()
        assert metadata["statusCode"] == 200
        assert [e.data for e in SSEDecoder().feed(body)] == [f"tick {i}" for i in range(10)]
        # One HTTP chunk per yield: the body after the prelude came as the ten events.
        assert [chunk for _, chunk in timed] == [f"data: tick {i}\n\n".encode() for i in range(10)]
