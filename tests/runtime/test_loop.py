"""The runtime loop on the wire: real `python -m lambda_sse.runtime` processes against the strict
Runtime API server, every request recorded."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE
from tests.support.runtime_api import (
    RuntimeProcess,
    ThreadedRuntimeAPI,
    runtime_process,
    threaded_runtime_api,
    write_module,
)

FUNCTIONS = Path(__file__).parent / "functions"
LIMIT = 6_291_556


@contextmanager
def running(
    api: ThreadedRuntimeAPI, handler: str | None, env: Mapping[str, str] | None = None
) -> Iterator[RuntimeProcess]:
    with runtime_process(handler, api.address, cwd=FUNCTIONS, env=env) as proc:
        api.wait_for_poll()
        yield proc


def responses(api: ThreadedRuntimeAPI, request_id: str) -> list[Any]:
    return [r for r in api.requests if f"/invocation/{request_id}/" in r.path]


# -- buffered handlers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("handlers.buffered", {"event": {"a": 1}}),
        ("handlers.buffered_async", {"event": {"a": 1}, "async": True}),
    ],
)
def test_buffered(runtime_api: ThreadedRuntimeAPI, handler: str, expected: object) -> None:
    with running(runtime_api, handler):
        for _ in range(2):  # warm invocations use the same process
            result = runtime_api.invoke({"a": 1})
            assert result.outcome.status == "success"
            assert result.head is not None
            assert (result.head.streaming, result.head.content_type) == (False, "application/json")
            assert result.json() == expected
    posts = [r for r in runtime_api.requests if r.method == "POST"]
    assert len(posts) == 2
    assert all(r.header("content-length") for r in posts)
    assert all(r.header("lambda-runtime-function-response-mode") is None for r in posts)


def test_bytes_result_is_sent_raw(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.raw_bytes"):
        result = runtime_api.invoke({})
    assert result.body == b"\x00\x01raw"
    assert result.head is not None
    assert result.head.content_type == "application/unknown"  # as awslambdaric


@pytest.mark.slow
def test_result_size_limit(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.sized"):
        at_limit = runtime_api.invoke({"size": LIMIT}, timeout=30)
        over = runtime_api.invoke({"size": LIMIT + 1}, timeout=30)
    assert at_limit.outcome.status == "success"
    assert len(at_limit.body) == LIMIT
    assert (over.outcome.status, over.outcome.error_type) == (
        "function_error",
        "Function.ResponseSizeTooLarge",
    )
    assert over.outcome.error_body is not None
    assert "6291556" in json.loads(over.outcome.error_body)["errorMessage"]
    # Reported on /error, never sent to be refused with a 413.
    assert all(r.status != 413 for r in runtime_api.requests)


def test_unserializable_result(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.unserializable"):
        result = runtime_api.invoke({})
    assert (result.outcome.status, result.outcome.error_type) == (
        "function_error",
        "Runtime.MarshalError",
    )


def test_event_that_is_not_json(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.buffered"):
        bad = runtime_api.invoke(b"{not json")
        good = runtime_api.invoke({"after": "bad"})
    assert (bad.outcome.status, bad.outcome.error_type) == (
        "function_error",
        "Runtime.UnmarshalError",
    )
    assert good.json() == {"event": {"after": "bad"}}


def test_handler_exception_is_reported_and_survived(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.raises") as proc:
        failed = runtime_api.invoke({}, request_id="req-fails")
        fine = runtime_api.invoke({"ok": True})
        output = proc.output()
    assert failed.head is None
    assert (failed.outcome.status, failed.outcome.error_type) == (
        "function_error",
        "Function.ValueError",
    )
    assert failed.outcome.error_body is not None
    doc = json.loads(failed.outcome.error_body)
    assert doc["errorMessage"] == "boom"
    assert doc["errorType"] == "ValueError"
    assert doc["requestId"] == "req-fails"
    assert any("handlers.py" in line and "in raises" in line for line in doc["stackTrace"])
    assert not any("lambda_sse/runtime" in line for line in doc["stackTrace"])
    (post,) = responses(runtime_api, "req-fails")
    assert post.path.endswith("/error")
    assert post.header("content-type") == "application/vnd.aws.lambda.error+json"
    assert fine.json() == "fine"
    # The runtime's log line carries the request id, tab-separated as on AWS.
    assert "[ERROR]\t" in output
    assert "\treq-fails\tValueError: boom" in output
    # with its stack trace in the same log event (CR-joined, as AWS's Python runtime does)
    line = next(line for line in output.split("\n") if "\treq-fails\tValueError" in line)
    assert "\rTraceback (most recent call last):\r" in line
    assert "in raises" in line


def test_context_object(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.context_info"):
        first = runtime_api.invoke(
            {},
            request_id="ctx-1",
            trace_id="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            cognito_identity='{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool"}',
            client_context='{"custom":{"k":"v"},"env":{},"client":{}}',
            tenant_id="tenant-a",
            function_arn="arn:aws:lambda:eu-west-1:123456789012:function:f",
        ).json()
        second = runtime_api.invoke({}, request_id="ctx-2").json()
    assert first["aws_request_id"] == "ctx-1"
    assert first["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:f"
    assert first["function_name"] == "local"
    assert first["function_version"] == "$LATEST"
    assert first["memory_limit_in_mb"] == "1024"
    assert first["log_group_name"] == "/aws/lambda/local"
    assert first["log_stream_name"] == "local-stream"
    assert 20_000 < first["remaining"] <= 30_000  # the fixture's deadline is 30 s away
    assert first["identity"] == "id-1"
    assert first["client_custom"] == {"k": "v"}
    assert first["tenant_id"] == "tenant-a"
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    assert (first["trace_env"], first["trace_var"]) == (trace, trace)
    # The next invocation has no trace: nothing leaks from the previous one.
    assert (second["trace_env"], second["trace_var"]) == (None, None)
    assert second["identity"] is None


def test_sync_buffered_handler_imports_no_asyncio(runtime_api: ThreadedRuntimeAPI) -> None:
    """Cold start: a sync buffered handler pays for no asyncio, logging, threads or layers."""
    with running(runtime_api, "light.handler"):
        result = runtime_api.invoke({})
    assert result.json() == []


def test_logging_is_tagged_with_the_request_id(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.logs") as proc:
        runtime_api.invoke({"n": 7}, request_id="log-req")
        proc.terminate()
        output = proc.output()
    assert "printed line" in output
    line = next(line for line in output.splitlines() if "warned 7" in line)
    level, stamp, rid, message = line.split("\t")
    assert (level, rid, message) == ("[WARNING]", "log-req", "warned 7")
    assert stamp.endswith("Z")


def test_one_event_loop_for_the_environment(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.loop_identity"):
        results = [runtime_api.invoke({}).json() for _ in range(3)]
    assert results == [
        {"same_loop": True, "count": 1},
        {"same_loop": True, "count": 2},
        {"same_loop": True, "count": 3},
    ]


# -- streaming -----------------------------------------------------------------------------


def test_stream_with_prelude(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.stream_sse"):
        result = runtime_api.invoke({"n": 3}, request_id="sse-1")
    assert result.outcome.status == "success"
    assert not result.outcome.trailer_error
    assert result.head is not None
    assert (result.head.streaming, result.head.content_type) == (True, PRELUDE_CONTENT_TYPE)
    metadata, body = result.split_prelude()
    assert metadata == {
        "statusCode": 200,
        "headers": {"content-type": "text/event-stream"},
        "cookies": ["a=1"],
    }
    assert body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    (post,) = responses(runtime_api, "sse-1")
    assert post.header("lambda-runtime-function-response-mode") == "streaming"
    assert post.header("transfer-encoding") == "chunked"
    assert post.header("trailer") == (
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    assert post.header("content-length") is None
    # One chunk on the wire per write (the prelude is its own chunk).
    assert [chunk for _, chunk in post.chunks][1:] == [b"data: %d\n\n" % i for i in range(3)]
    assert post.trailers == {}


@pytest.mark.parametrize("handler", ["handlers.stream_gated", "handlers.stream_gated_sync"])
def test_chunk_leaves_before_the_handler_finishes(
    runtime_api: ThreadedRuntimeAPI, handler: str, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    with running(runtime_api, handler):
        inv = runtime_api.enqueue({"gate": str(gate)})
        head = runtime_api.head(inv)
        assert head is not None
        assert (head.streaming, head.content_type) == (True, "text/plain")

        body = inv.body()

        async def first_chunk() -> bytes:
            return await anext(body)

        async def the_rest() -> bytes:
            return b"".join([chunk async for chunk in body])

        # The handler is parked on the gate, so it has not finished: yet "first" is here.
        assert runtime_api.run(first_chunk, timeout=10) == b"first"
        assert not inv.done
        gate.touch()
        rest = runtime_api.run(the_rest)
        outcome = runtime_api.outcome(inv)
    assert rest == b"second"
    assert outcome.status == "success"
    (t1, c1), (t2, c2) = inv.chunks
    assert (c1, c2) == (b"first", b"second")
    assert t1 < t2


@pytest.mark.parametrize(
    "handler", ["handlers.stream_raises_after", "handlers.stream_raises_after_sync"]
)
def test_error_after_the_first_byte_goes_in_trailers(
    runtime_api: ThreadedRuntimeAPI, handler: str
) -> None:
    with running(runtime_api, handler) as proc:
        result = runtime_api.invoke({}, request_id="late-1")
        again = runtime_api.invoke({}, request_id="late-2")  # the runtime survived
        output = proc.output()
    assert result.body == b"partial"
    assert result.outcome.status == "success"
    assert result.outcome.trailer_error
    assert result.outcome.error_type == "Function.KeyError"
    (post,) = responses(runtime_api, "late-1")
    raw = post.trailers["lambda-runtime-function-error-body"]
    doc = json.loads(base64.b64decode(raw, validate=True))
    assert (doc["errorType"], doc["errorMessage"], doc["requestId"]) == (
        "KeyError",
        "'late'",
        "late-1",
    )
    assert again.outcome.trailer_error
    assert "\tlate-1\tKeyError" in output


def test_error_before_the_first_byte_is_an_invocation_error(
    runtime_api: ThreadedRuntimeAPI,
) -> None:
    with running(runtime_api, "handlers.stream_raises_before"):
        result = runtime_api.invoke({}, request_id="early-1")
    assert result.head is None
    assert (result.outcome.status, result.outcome.error_type) == (
        "function_error",
        "Function.RuntimeError",
    )
    (post,) = responses(runtime_api, "early-1")
    assert post.path.endswith("/error")


@pytest.mark.parametrize("handler", ["handlers.stream_or_buffer", "handlers.stream_or_buffer_sync"])
def test_untouched_stream_and_a_return_value_is_buffered(
    runtime_api: ThreadedRuntimeAPI, handler: str
) -> None:
    with running(runtime_api, handler):
        buffered = runtime_api.invoke({"buffer": True})
        streamed = runtime_api.invoke({"buffer": False})
    assert buffered.head is not None
    assert (buffered.head.streaming, buffered.head.content_type) == (False, "application/json")
    assert buffered.json() == {"statusCode": 200, "body": "buffered"}
    assert streamed.head is not None
    assert streamed.head.streaming
    assert streamed.body == b"streamed"  # the return value is ignored once streaming


def test_prelude_is_sent_for_an_empty_body(runtime_api: ThreadedRuntimeAPI) -> None:
    with running(runtime_api, "handlers.stream_empty_prelude"):
        result = runtime_api.invoke({})
    metadata, body = result.split_prelude()
    assert metadata == {"statusCode": 204, "headers": {"x-empty": "yes"}}
    assert body == b""
    assert result.outcome.status == "success"


def test_untouched_stream_returning_none_is_an_empty_stream(
    runtime_api: ThreadedRuntimeAPI,
) -> None:
    with running(runtime_api, "handlers.stream_none"):
        result = runtime_api.invoke({})
    assert result.head is not None
    assert (result.head.streaming, result.head.content_type) == (True, "application/octet-stream")
    assert result.body == b""


def test_each_streamed_response_has_its_own_closed_connection(
    runtime_api: ThreadedRuntimeAPI,
) -> None:
    with running(runtime_api, "handlers.stream_sse"):
        for i in range(3):
            runtime_api.invoke({"n": 1}, request_id=f"conn-{i}")
        runtime_api.wait_for_poll()
    requests = runtime_api.requests
    streamed = [r.connection for r in requests if r.method == "POST"]
    polls = {r.connection for r in requests if r.method == "GET"}
    assert len(set(streamed)) == 3  # a new connection for each stream
    assert not polls & set(streamed)  # and never reused afterwards
    assert len(polls) == 1  # GET /next keeps one connection alive
    assert all(r.header("connection") == "close" for r in requests if r.method == "POST")


@pytest.mark.slow
def test_bulk_stream_with_backpressure(runtime_api: ThreadedRuntimeAPI) -> None:
    piece, count = 65536, 256  # 16 MiB through a queue of 16 chunks
    with running(runtime_api, "handlers.stream_bulk"):
        result = runtime_api.invoke({"piece": piece, "count": count}, timeout=60)
    assert len(result.body) == piece * count
    assert result.outcome.status == "success"


# -- init errors and Runtime API failures ------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({}, "nowhere.handler", "Runtime.ImportModuleError", "Unable to import module 'nowhere'"),
        ({"empty": ""}, "empty.handler", "Runtime.HandlerNotFound", "Handler 'handler' missing"),
        ({"empty": ""}, "nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
        (
            {"broken": "def handler(event, context)\n    return 1\n"},
            "broken.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'broken'",
        ),
        (
            {"angry": "raise ValueError('config missing')\n"},
            "angry.handler",
            "ValueError",
            "config missing",
        ),
        ({"quits": "import sys\nsys.exit(3)\n"}, "quits.handler", "Runtime.ExitError", "3"),
        ({"pkg.sub.app": "x = 1\n"}, "pkg.sub.app.x", "Runtime.HandlerNotFound", "not callable"),
    ],
)
def test_init_errors(
    runtime_api: ThreadedRuntimeAPI,
    tmp_path: Path,
    files: dict[str, str],
    handler: str,
    error_type: str,
    message: str,
) -> None:
    for name, source in files.items():
        write_module(tmp_path, name, source)
    with runtime_process(handler, runtime_api.address, cwd=tmp_path) as proc:
        outcome = runtime_api.init_error()
        code = proc.wait()
        output = proc.output()
    assert code == 1
    assert outcome.error_type == error_type
    assert outcome.error_body is not None
    doc = json.loads(outcome.error_body)
    assert doc["errorType"] == error_type
    assert message in doc["errorMessage"]
    # one clear log event (a stack, if any, CR-joined inside it), never a raw traceback
    assert not any(line.startswith(("Traceback", "  File")) for line in output.split("\n"))
    assert "[ERROR]\t" in output
    (post,) = [r for r in runtime_api.requests if r.path.endswith("/init/error")]
    assert post.header("lambda-runtime-function-error-type") == error_type


def test_handler_from_the_environment_and_dotted_modules(
    runtime_api: ThreadedRuntimeAPI, tmp_path: Path
) -> None:
    write_module(tmp_path, "pkg.app", "def main(event, context):\n    return 'dotted'\n")
    with runtime_process(None, runtime_api.address, cwd=tmp_path, env={"_HANDLER": "pkg/app.main"}):
        assert runtime_api.invoke({}).json() == "dotted"


@pytest.mark.parametrize(
    ("kind", "handler"),
    [
        ("next", "handlers.buffered"),
        ("response", "handlers.buffered"),
        ("response", "handlers.stream_sse"),
        ("response", "handlers.stream_gated_sync"),
    ],
)
def test_a_500_from_the_runtime_api_ends_the_process(
    runtime_api: ThreadedRuntimeAPI, kind: str, handler: str, tmp_path: Path
) -> None:
    (tmp_path / "gate").touch()
    with running(runtime_api, handler) as proc:
        runtime_api.call(lambda: runtime_api.server.fail_next(kind))  # type: ignore[arg-type]
        if kind == "response":
            inv = runtime_api.enqueue({"gate": str(tmp_path / "gate")})
            assert proc.wait() == 1
            assert not inv.done  # the emulator's job to record Runtime.ExitError
        else:
            # The parked GET gets the event; the next GET is answered 500.
            runtime_api.invoke({})
            assert proc.wait() == 1
        assert "Runtime API failure, exiting" in proc.output()


def test_bad_command_lines(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    run = subprocess.run(
        [sys.executable, "-m", "lambda_sse.runtime", "a.b"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 2
    assert "AWS_LAMBDA_RUNTIME_API is not set" in run.stderr
    for address, extra, text in [
        ("nohost", {}, "HOST:PORT"),
        ("127.0.0.1:1", {"AWS_LAMBDA_MAX_CONCURRENCY": "zero"}, "positive integer"),
    ]:
        run = subprocess.run(
            [sys.executable, "-m", "lambda_sse.runtime", "a.b"],
            env={**env, "AWS_LAMBDA_RUNTIME_API": address, **extra},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (run.returncode, run.stdout) == (2, "")
        assert text in run.stderr
        assert "Traceback" not in run.stderr


# -- shutdown and Managed Instances --------------------------------------------------------


@pytest.mark.parametrize("handler", ["handlers.buffered", "handlers.buffered_async"])
def test_sigterm_runs_shutdown_callbacks_then_exits_0(
    runtime_api: ThreadedRuntimeAPI, tmp_path: Path, handler: str
) -> None:
    log = tmp_path / "shutdown.log"
    with running(runtime_api, handler, env={"SHUTDOWN_LOG": str(log)}) as proc:
        runtime_api.invoke({})
        runtime_api.wait_for_poll()
        assert proc.terminate() == 0
    # Last registered runs first; the async one runs on a live loop.
    assert log.read_text().splitlines() == [
        "async callback, loop running: True",
        "sync callback",
    ]


@pytest.mark.parametrize("handler", ["handlers.concurrent_async", "handlers.concurrent_sync"])
def test_managed_instances_run_invocations_at_once(
    runtime_api: ThreadedRuntimeAPI, handler: str
) -> None:
    n = 3
    with running(runtime_api, handler, env={"AWS_LAMBDA_MAX_CONCURRENCY": str(n)}):
        deadline = time.monotonic() + 10
        while runtime_api.call(lambda: runtime_api.server.parked) < n:
            assert time.monotonic() < deadline, "the runtime did not open N polls"
            time.sleep(0.01)
        invs = [runtime_api.enqueue({"expect": n}, trace_id=f"Root=trace-{i}") for i in range(n)]
        bodies = [json.loads(runtime_api.body(inv)) for inv in invs]
        outcomes = [runtime_api.outcome(inv) for inv in invs]
    assert [o.status for o in outcomes] == ["success"] * n
    # Each invocation saw its own trace id; the process-wide variable is left alone.
    assert [b["trace"] for b in bodies] == [f"Root=trace-{i}" for i in range(n)]
    assert all(b["env"] is None for b in bodies)


@pytest.mark.slow
def test_a_fast_producer_is_held_by_backpressure() -> None:
    """128 MiB written as fast as possible while nobody reads: the handler waits on the socket
    instead of piling the body up in memory."""
    piece, count = 65536, 2048
    with (
        threaded_runtime_api(queue_limit=1) as api,
        runtime_process("handlers.stream_bulk", api.address, cwd=FUNCTIONS) as proc,
    ):
        api.wait_for_poll()
        inv = api.enqueue({"piece": piece, "count": count})
        assert api.head(inv) is not None
        seen, stable_since = -1, time.monotonic()
        deadline = time.monotonic() + 15
        while time.monotonic() - stable_since < 0.3:  # the server stopped reading
            assert time.monotonic() < deadline
            now = api.call(lambda: len(inv.chunks))
            if now != seen:
                seen, stable_since = now, time.monotonic()
            time.sleep(0.02)
        assert not inv.done
        assert seen < count
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss_mib = next(int(x.split()[1]) for x in status.splitlines() if x[:6] == "VmRSS:") / 1024
        assert rss_mib < 64, f"the runtime holds {rss_mib:.0f} MiB: it buffers"

        async def count_bytes() -> int:
            return sum([len(chunk) async for chunk in inv.body()])

        assert api.run(count_bytes, timeout=60) == piece * count
        assert api.outcome(inv).status == "success"


@pytest.mark.parametrize(
    "handler", ["handlers.buffered", "handlers.raises", "handlers.stream_sse", "light.handler"]
)
def test_the_invocation_id_is_echoed(runtime_api: ThreadedRuntimeAPI, handler: str) -> None:
    with running(runtime_api, handler):
        runtime_api.invoke({"n": 1}, request_id="echo-1", invocation_id="attempt-7")
    (answer,) = responses(runtime_api, "echo-1")
    assert answer.header("lambda-runtime-invocation-id") == "attempt-7"
