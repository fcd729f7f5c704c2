"""InvokeWithResponseStream against ``lambda-sse dev`` with boto3: botocore's own event-stream
parser reads every byte the emulator frames. Chunks arrive as the function writes them; errors
end the stream in ``InvokeComplete``."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE
from tests.support.lambda_dev import PROJECTS, DevThread


@pytest.fixture(scope="module")
def dev() -> Iterator[DevThread]:
    with DevThread(PROJECTS / "invoke") as server:
        yield server


@pytest.fixture
def lam(dev: DevThread) -> Iterator[Any]:
    client = dev.client()
    yield client
    client.close()  # its pooled sockets, before the garbage collector finds them


def events(response: Any) -> list[tuple[float, dict[str, Any]]]:
    """Each event with the time botocore handed it over."""
    got = [(time.time(), event) for event in response["EventStream"]]
    response["EventStream"].close()  # hand its socket back before the garbage collector
    return got


def test_chunks_arrive_as_the_function_writes_them(lam: Any) -> None:
    events(lam.invoke_with_response_stream(FunctionName="stream", Payload=b'{"chunks": 1}'))
    response = lam.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"chunks": 4, "interval": 0.3})
    )
    assert response["StatusCode"] == 200
    assert response["ResponseStreamContentType"] == "application/octet-stream"
    got = events(response)
    chunks = [(at, e["PayloadChunk"]["Payload"]) for at, e in got if "PayloadChunk" in e]
    assert [e for _, e in got[-1:]] == [{"InvokeComplete": {}}]  # a clean end: no ErrorCode
    written = [json.loads(p.decode().removeprefix("data: "))["t"] for _, p in chunks]
    assert [json.loads(p.decode().removeprefix("data: "))["i"] for _, p in chunks] == [0, 1, 2, 3]
    # Each chunk reached the caller soon after the function wrote it (the same machine's clock),
    # long before the function ended: 0.9 s of writes, each seen within 0.25 s.
    lags = [arrived - wrote for (arrived, _), wrote in zip(chunks, written, strict=True)]
    assert max(lags) < 0.25, lags
    assert chunks[-1][0] - chunks[0][0] > 0.6


def test_mid_stream_error_is_in_invoke_complete(lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"chunks": 5, "fail_after": 2})
    )
    got = [e for _, e in events(response)]
    body = b"".join(e["PayloadChunk"]["Payload"] for e in got[:-1])
    assert body.count(b"data: ") == 2  # what was written before the error, then the end
    complete = got[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Function.RuntimeError"  # the runtime's error type
    assert complete["ErrorDetails"] == "failed after 2 chunks"
    assert response["StatusCode"] == 200


def test_error_before_the_first_byte(lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName="echo", Payload=json.dumps({"fail": "early"})
    )
    got = [e for _, e in events(response)]
    assert got == [
        {"InvokeComplete": {"ErrorCode": "Function.ValueError", "ErrorDetails": "early"}}
    ]


def test_timeout_mid_stream(lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName="slow", Payload=json.dumps({"sleep": 3})
    )
    got = [e for _, e in events(response)]
    assert got[-1]["InvokeComplete"]["ErrorCode"] == "Sandbox.Timeout"


def test_a_prelude_reaches_the_caller_raw(lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"chunks": 2, "prelude": True})
    )
    assert response["ResponseStreamContentType"] == PRELUDE_CONTENT_TYPE
    body = b"".join(
        e["PayloadChunk"]["Payload"] for _, e in events(response) if "PayloadChunk" in e
    )
    head, sep, rest = body.partition(b"\x00" * 8)
    assert sep
    assert json.loads(head)["statusCode"] == 201
    assert rest.count(b"data: ") == 2


def test_a_raw_content_type_is_the_stream_content_type(lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"chunks": 1, "content_type": "text/csv"})
    )
    assert response["ResponseStreamContentType"] == "text/csv"
    assert len([e for _, e in events(response) if "PayloadChunk" in e]) == 1


def test_a_buffered_function_arrives_as_one_chunk(lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName="echo", Payload=json.dumps({"big": 200_000})
    )
    got = [e for _, e in events(response)]
    assert len(got) == 2
    assert json.loads(got[0]["PayloadChunk"]["Payload"]) == "x" * 200_000
    assert got[1] == {"InvokeComplete": {}}


def test_tail_is_in_invoke_complete(lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"chunks": 1}), LogType="Tail"
    )
    rid = response["ResponseMetadata"]["RequestId"]
    complete = events(response)[-1][1]["InvokeComplete"]
    log = base64.b64decode(complete["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {rid} Version: $LATEST\n")
    assert f"\nEND RequestId: {rid}\n" in log
    assert "\nREPORT RequestId: " in log


def test_dry_run_and_event(lam: Any) -> None:
    response = lam.invoke_with_response_stream(FunctionName="stream", InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert events(response) == []
    with pytest.raises(ClientError, match="RequestResponse, DryRun") as info:
        lam.invoke_with_response_stream(FunctionName="stream", InvocationType="Event")
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_pre_stream_errors_raise_botocore_classes(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke_with_response_stream(FunctionName="nope")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke_with_response_stream(FunctionName="stream", Payload=b"nope")


def test_a_function_reads_another_functions_stream(lam: Any) -> None:
    result = lam.invoke(
        FunctionName="caller",
        Payload=json.dumps({"stream": True, "target": "stream", "payload": {"chunks": 3}}),
    )
    chunks = json.loads(result["Payload"].read())["chunks"]
    body = "".join(chunks)
    assert [json.loads(line[6:])["i"] for line in body.split("\n\n") if line] == [0, 1, 2]


# -- the caller's helper: lambda_sse.invoke_stream ---------------------------------------------


def test_helper_reads_sse_events_with_the_prelude_stripped(lam: Any) -> None:
    from lambda_sse.invoke_stream import InvokeStream

    response = lam.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"chunks": 3, "prelude": True}), LogType="Tail"
    )
    stream = InvokeStream(response)
    assert [json.loads(e.data or "")["i"] for e in stream.events()] == [0, 1, 2]
    assert stream.metadata == {"statusCode": 201, "headers": {"content-type": "text/event-stream"}}
    assert stream.completed
    assert base64.b64decode(stream.log_result or "").startswith(b"START RequestId: ")


def test_helper_reads_raw_bytes_and_raises_the_streams_error(lam: Any) -> None:
    from lambda_sse.errors import InvokeStreamError
    from lambda_sse.invoke_stream import InvokeStream

    ok = InvokeStream(
        lam.invoke_with_response_stream(FunctionName="stream", Payload=b'{"chunks": 2}')
    )
    assert ok.read().count(b"data: ") == 2
    assert ok.metadata is None
    failing = InvokeStream(
        lam.invoke_with_response_stream(
            FunctionName="stream", Payload=json.dumps({"chunks": 5, "fail_after": 1})
        )
    )
    got: list[bytes] = []
    with pytest.raises(InvokeStreamError) as info:
        got.extend(failing.chunks())
    assert len(got) == 1  # what arrived before the error
    assert info.value.error_code == "Function.RuntimeError"
    assert info.value.error_details == "failed after 1 chunks"


# -- the raw wire: a client that goes away, and the shell's routing ----------------------------


def test_a_client_that_disconnects_leaves_the_function_running(dev: DevThread) -> None:
    import httpx

    from lambda_sse.local.lambda_api.eventstream import EventStreamDecoder

    url = f"{dev.endpoint}/2021-11-15/functions/stream/response-streaming-invocations"
    body = json.dumps({"chunks": 6, "interval": 0.2}).encode()
    with httpx.Client(timeout=10) as http, http.stream("POST", url, content=body) as response:
        assert response.headers["x-amz-executed-version"] == "$LATEST"
        rid = response.headers["x-amzn-requestid"]
        decoder = EventStreamDecoder()
        for data in response.iter_raw():
            if decoder.feed(data):
                break  # the first PayloadChunk: hang up
    deadline = time.monotonic() + 10
    while not any(r.text.startswith("REPORT") for r in dev.records.records if r.request_id == rid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    texts = [r.text for r in dev.records.records if r.request_id == rid]
    assert any("client disconnected: the function keeps running" in t for t in texts)
    (access,) = [
        a
        for a in dev.access
        if a.target.endswith("response-streaming-invocations")
        and a.note.startswith("client disconnected")
    ][-1:]
    assert access.function == "stream"


def test_other_paths_still_reach_the_rest_api(dev: DevThread) -> None:
    import httpx

    answer = httpx.get(f"{dev.endpoint}/test/nothing-here", timeout=10)
    assert answer.status_code == 403  # API Gateway's "Missing Authentication Token"
    assert answer.json() == {"message": "Missing Authentication Token"}
    other = httpx.get(f"{dev.endpoint}/2015-03-31/functions/", timeout=10)
    assert other.status_code == 501
    assert other.headers["x-amzn-errortype"] == "UnsupportedOperationException"


def test_chunks_that_queue_up_go_out_together(lam: Any) -> None:
    """A function writing faster than the caller reads: the chunks waiting are sent as one
    PayloadChunk (nothing waits for a later chunk); every byte arrives, in order."""
    response = lam.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"chunks": 3000})
    )
    payloads = [e["PayloadChunk"]["Payload"] for _, e in events(response)[:-1]]
    body = b"".join(payloads)
    assert [json.loads(line[6:])["i"] for line in body.split(b"\n\n") if line] == list(range(3000))
    assert len(payloads) < 3000
