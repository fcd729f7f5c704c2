"""lambda_sse.invoke_stream without a server: split preludes, async event streams, and no AWS
SDK imported (the boto3 tests are in tests/local/test_lambda_api_stream.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lambda_sse.invoke_stream import InvokeStream
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE

PRELUDE = b'{"statusCode": 200, "headers": {"a": "b"}}' + b"\x00" * 8


def response(*payloads: bytes, content_type: str = PRELUDE_CONTENT_TYPE, **done: str) -> Any:
    events: list[dict[str, Any]] = [{"PayloadChunk": {"Payload": p}} for p in payloads]
    events.append({"InvokeComplete": dict(done)})
    return {"ResponseStreamContentType": content_type, "EventStream": events}


def test_a_prelude_split_anywhere_is_held_back() -> None:
    body = PRELUDE + b"data: 1\n\ndata: 2\n\n"
    for cut in range(1, len(body)):
        stream = InvokeStream(response(body[:cut], body[cut:]))
        assert [e.data for e in stream.events()] == ["1", "2"]
        assert stream.metadata == {"statusCode": 200, "headers": {"a": "b"}}


def test_no_prelude_for_other_content_types_unless_asked() -> None:
    raw = response(PRELUDE, content_type="application/octet-stream")
    assert InvokeStream(raw).read() == PRELUDE
    assert InvokeStream(raw, strip_prelude=True).read() == b""


async def _aiter(items: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


@pytest.mark.anyio
async def test_async_event_streams() -> None:
    r = response(PRELUDE + b"data: x\n\n")
    r["EventStream"] = _aiter(r["EventStream"])
    assert [e.data async for e in InvokeStream(r).aevents()] == ["x"]


def test_importing_it_loads_no_aws_sdk() -> None:
    code = (
        "import sys, lambda_sse.invoke_stream; "
        "print(any(m.startswith(('boto', 'httpx')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
