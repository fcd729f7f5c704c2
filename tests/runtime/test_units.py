"""Small pure pieces of the runtime: handler detection, context, error documents, imports."""

from __future__ import annotations

import base64
import functools
import json
import subprocess
import sys
import time
from typing import Any

import pytest

from lambda_sse.runtime.context import LambdaContext
from lambda_sse.runtime.handler import HandlerLoadError, is_async_callable, load_handler
from lambda_sse.runtime.report import error_document, error_trailers


async def coro_fn(event: Any, context: Any) -> None: ...


def sync_fn(event: Any, context: Any) -> None: ...


class AsyncCallable:
    async def __call__(self, event: Any, context: Any) -> None: ...


class InheritsAsyncCall(AsyncCallable):
    pass


class SyncCallable:
    def __call__(self, event: Any, context: Any) -> None: ...


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (coro_fn, True),
        (sync_fn, False),
        (functools.partial(coro_fn, {}), True),
        (functools.partial(functools.partial(sync_fn, {}), {}), False),
        (AsyncCallable(), True),
        (InheritsAsyncCall(), True),
        (SyncCallable(), False),
        (AsyncCallable().__call__, True),
        (lambda event, context: None, False),
    ],
)
def test_is_async_callable(obj: object, expected: bool) -> None:
    assert is_async_callable(obj) is expected


def test_load_handler_errors_name_the_problem(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_handler adds the task root
    monkeypatch.setitem(sys.modules, "modx", None)
    monkeypatch.delitem(sys.modules, "modx")
    (tmp_path / "modx.py").write_text("value = 3\n")
    with pytest.raises(HandlerLoadError, match="not callable") as info:
        load_handler("modx.value", task_root=str(tmp_path))
    assert info.value.error_type == "Runtime.HandlerNotFound"
    with pytest.raises(HandlerLoadError, match=r"MODULE\.FUNCTION"):
        load_handler("justaname", task_root=str(tmp_path))


def test_context_defaults_and_remaining_time() -> None:
    deadline = int(time.time() * 1000) + 5_000
    ctx = LambdaContext(
        aws_request_id="r",
        deadline_ms=deadline,
        invoked_function_arn="arn",
        cognito_identity="not json",
        client_context="[1, 2]",
        environ={},
    )
    assert 4_000 < ctx.get_remaining_time_in_millis() <= 5_000
    assert (ctx.identity, ctx.client_context) == (None, None)  # bad JSON is ignored
    assert (ctx.function_name, ctx.function_version) == ("", "$LATEST")
    past = LambdaContext(aws_request_id="r", deadline_ms=0, invoked_function_arn="a", environ={})
    assert past.get_remaining_time_in_millis() == 0
    assert "aws_request_id='r'" in repr(past)


def test_error_document_and_trailers() -> None:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        doc = error_document(exc, "rid")
        trailers = dict(error_trailers(exc, "rid"))
    assert doc["errorType"] == "KeyError"
    assert doc["errorMessage"] == "'missing'"
    assert doc["requestId"] == "rid"
    assert any("test_error_document_and_trailers" in frame for frame in doc["stackTrace"])
    assert trailers["Lambda-Runtime-Function-Error-Type"] == "Function.KeyError"
    decoded = json.loads(base64.b64decode(trailers["Lambda-Runtime-Function-Error-Body"]))
    assert decoded == doc


def test_runtime_package_import_is_light() -> None:
    code = (
        "import sys, lambda_sse.runtime as r; r.on_shutdown(print); "
        "print(','.join(m for m in ('asyncio', 'json', 'socket', 'lambda_sse.runtime.stream', "
        "'lambda_sse.runtime.loop') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == ""
