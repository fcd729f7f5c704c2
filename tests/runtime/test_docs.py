"""The handlers in docs/runtime.md, twins of AWS's Node examples, run as documented (and the
README shows the very same code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import lambda_sse
from tests.support.runtime_api import ThreadedRuntimeAPI, runtime_process, write_module

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "runtime.md"
README = ROOT / "README.md"


def twin(name: str, doc: Path = DOC) -> str:
    match = re.search(
        rf"<!-- twin: {name} -->\n```python\n(.*?)```", doc.read_text(), flags=re.DOTALL
    )
    assert match, f"{doc.name} lost the {name} example"
    return match.group(1)


def test_readme_shows_the_twin_the_tests_run() -> None:
    assert twin("http_stream", README) == twin("http_stream")


@pytest.mark.slow
def test_http_stream_twin(runtime_api: ThreadedRuntimeAPI, tmp_path: Path) -> None:
    write_module(tmp_path, "handler", twin("http_stream"))
    with runtime_process("handler.handler", runtime_api.address, cwd=tmp_path):
        result = runtime_api.invoke({}, timeout=20)
    metadata, body = result.split_prelude()
    assert metadata == {
        "statusCode": 200,
        "headers": {"x-foo": "bar"},
        "multiValueHeaders": {"x-mv1": ["hello", "world"], "Set-Cookie": ["c1=blue", "c2=red"]},
    }
    assert body == b"First payload Final payload"
    chunks = result.invocation.chunks
    assert [c for _, c in chunks[1:]] == [b"First payload ", b"Final payload"]
    # The synthetic delay separates the two payloads on the wire, as on AWS.
    assert chunks[2][0] - chunks[1][0] >= 0.9


def test_plain_stream_twin(runtime_api: ThreadedRuntimeAPI, tmp_path: Path) -> None:
    write_module(tmp_path, "handler", twin("plain_stream"))
    with runtime_process("handler.handler", runtime_api.address, cwd=tmp_path):
        result = runtime_api.invoke({})
    assert result.head is not None
    assert (result.head.streaming, result.head.content_type) == (True, "text/plain")
    assert result.body == b"Hello, world!"


def test_documented_paths_exist() -> None:
    text = DOC.read_text()
    package = Path(lambda_sse.__file__).parent
    for documented in re.findall(r"/var/task/(lambda_sse/[\w/.-]+)", text):
        path = package.parent / documented
        assert path.is_file() or path.is_dir(), documented
