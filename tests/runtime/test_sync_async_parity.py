"""The blocking and the asyncio runtime must behave the same: every scenario runs once through
``invoke_sync`` with a sync handler and once through ``invoke_async`` with its async twin,
against the strict Runtime API server, and what reached the server must be identical (requests,
headers, bodies, trailers, error documents) as must the outcomes. Both flavours run one sans-IO
core (``lambda_sse.runtime.invoke.invocation``); this test fails if a shell grows logic of its
own."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambda_sse.aws import BUFFERED_LIMIT
from lambda_sse.runtime.client import AsyncRuntimeClient, RuntimeClient
from lambda_sse.runtime.invoke import Outcome, invoke_async, invoke_sync
from lambda_sse.runtime.stream import HttpResponseStream
from tests.support.runtime_api import ThreadedRuntimeAPI, threaded_runtime_api

Action = tuple[str, Any]
# (name, streaming, event bytes, script). A script is what the handler does, in order.
SCENARIOS: list[tuple[str, bool, bytes, list[Action]]] = [
    ("buffered_json", False, b'{"a": 1}', [("return", {"ok": True, "text": "é"})]),
    ("buffered_bytes", False, b"{}", [("return", b"\x00raw")]),
    ("buffered_none", False, b"{}", [("return", None)]),
    ("unmarshal_error", False, b"{not json", [("return", 1)]),
    ("marshal_error", False, b"{}", [("return", {1, 2})]),
    ("handler_raises", False, b"{}", [("raise", "boom")]),
    ("too_large", False, b"{}", [("return", "x" * BUFFERED_LIMIT)]),
    ("stream_plain", True, b"{}", [("write", b"one"), ("write", "two"), ("write", b"")]),
    ("stream_content_type", True, b"{}", [("content_type", "text/plain"), ("write", b"hi")]),
    ("stream_prelude", True, b"{}", [("from", {"statusCode": 201}), ("write", b"body")]),
    ("stream_prelude_empty", True, b"{}", [("from", {"statusCode": 204})]),
    ("stream_error_after_bytes", True, b"{}", [("write", b"partial"), ("raise", "mid")]),
    ("stream_error_before_bytes", True, b"{}", [("raise", "early")]),
    ("stream_untouched_returns", True, b"{}", [("return", {"buffered": "fallback"})]),
    ("stream_untouched_none", True, b"{}", [("return", None)]),
    ("stream_end_then_raise", True, b"{}", [("write", b"a"), ("end", None), ("raise", "late")]),
]


def sync_handler(script: list[Action], streaming: bool) -> Any:
    def run(stream: Any) -> Any:
        for action, arg in script:
            if action == "return":
                return arg
            if action == "raise":
                raise ValueError(arg)
            if action == "write":
                stream.write(arg)
            elif action == "end":
                stream.end()
            elif action == "content_type":
                stream.set_content_type(arg)
            elif action == "from":
                stream = HttpResponseStream.from_(stream, arg)
        return None

    if streaming:
        return lambda event, stream, context: run(stream)
    return lambda event, context: run(None)


def async_handler(script: list[Action], streaming: bool) -> Any:
    async def run(stream: Any) -> Any:
        for action, arg in script:
            if action == "return":
                return arg
            if action == "raise":
                raise ValueError(arg)
            if action == "write":
                await stream.write(arg)
            elif action == "end":
                await stream.end()
            elif action == "content_type":
                stream.set_content_type(arg)
            elif action == "from":
                stream = HttpResponseStream.from_(stream, arg)
        return None

    if streaming:

        async def streamed(event: Any, stream: Any, context: Any) -> Any:
            return await run(stream)

        return streamed

    async def buffered(event: Any, context: Any) -> Any:
        return await run(None)

    return buffered


def _document(raw: bytes) -> Any:
    """An error document without what differs between a def and an async def by nature: the
    stack trace's frames."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(doc, dict):
        doc.pop("stackTrace", None)
        doc.pop("requestId", None)
    return doc


def seen(api: ThreadedRuntimeAPI, request_id: str) -> list[Any]:
    """What the server received for one invocation, with the request id taken out."""
    wanted = (
        "content-type",
        "lambda-runtime-function-response-mode",
        "trailer",
        "transfer-encoding",
        "lambda-runtime-function-error-type",
    )
    out = []
    for record in api.requests:
        if f"/invocation/{request_id}/" not in record.path:
            continue
        trailers = dict(record.trailers)
        if "lambda-runtime-function-error-body" in trailers:
            body = base64.b64decode(trailers["lambda-runtime-function-error-body"])
            trailers["lambda-runtime-function-error-body"] = json.dumps(_document(body))
        out.append(
            (
                record.method,
                record.path.replace(request_id, "<id>"),
                [(k, v) for k, v in record.headers if k in wanted],
                _document(record.body) if record.path.endswith("/error") else record.body,
                trailers,
                record.status,
                record.complete,
            )
        )
    return out


@pytest.fixture(scope="module")
def api() -> Iterator[ThreadedRuntimeAPI]:
    with threaded_runtime_api() as server:
        yield server


def run_sync(api: ThreadedRuntimeAPI, handler: Any, streaming: bool, event: bytes) -> Any:
    inv = api.enqueue(event)
    client = RuntimeClient(api.address)
    try:
        nxt = client.next()
        outcome = invoke_sync(client, handler, streaming, nxt, set_environ=False)
    finally:
        client.close()
    return inv, outcome


def run_async(api: ThreadedRuntimeAPI, handler: Any, streaming: bool, event: bytes) -> Any:
    inv = api.enqueue(event)

    async def go() -> Outcome:
        client = AsyncRuntimeClient(api.address, asyncio.get_running_loop())
        try:
            nxt = await client.next()
            return await invoke_async(client, handler, streaming, nxt, set_environ=False)
        finally:
            client.close()

    return inv, asyncio.run(go())


@pytest.mark.parametrize(
    ("name", "streaming", "event", "script"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
def test_sync_and_async_runtimes_send_the_same_bytes(
    api: ThreadedRuntimeAPI, name: str, streaming: bool, event: bytes, script: list[Action]
) -> None:
    inv_s, out_s = run_sync(api, sync_handler(script, streaming), streaming, event)
    api.outcome(inv_s)
    inv_a, out_a = run_async(api, async_handler(script, streaming), streaming, event)
    api.outcome(inv_a)
    sync_seen = seen(api, inv_s.request_id)
    async_seen = seen(api, inv_a.request_id)
    assert sync_seen, "the sync run reached the server"
    assert sync_seen == async_seen
    assert (out_s.kind, out_s.error_type) == (out_a.kind, out_a.error_type)
    emulated = [api.outcome(inv) for inv in (inv_s, inv_a)]
    assert len({(o.status, o.error_type, o.trailer_error) for o in emulated}) == 1
    assert _document(emulated[0].error_body or b"") == _document(emulated[1].error_body or b"")


def test_the_comparison_sees_a_difference(api: ThreadedRuntimeAPI) -> None:
    """The check above is not vacuous: two handlers that differ by one byte are told apart."""
    inv_s, _ = run_sync(api, sync_handler([("write", b"a")], True), True, b"{}")
    inv_a, _ = run_async(api, async_handler([("write", b"b")], True), True, b"{}")
    api.outcome(inv_s)
    api.outcome(inv_a)
    assert seen(api, inv_s.request_id) != seen(api, inv_a.request_id)
