"""The Lambda Invoke API of ``lambda-sse dev`` driven by boto3, as against AWS: every
invocation type, the tail log, function errors, AWS's error classes, and a function that invokes
another through boto3 inside the emulator.

One server for the module (cold starts are paid once); every client is built without retries
(see tests/support/lambda_dev.py)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.lambda_dev import PROJECTS, DevThread

PROJECT = PROJECTS / "invoke"
WAIT = 30.0


@pytest.fixture(scope="module")
def dev() -> Iterator[DevThread]:
    with DevThread(PROJECT, delay_scale=0.001) as server:
        yield server


@pytest.fixture
def lam(dev: DevThread) -> Iterator[Any]:
    client = dev.client()
    yield client
    client.close()  # its pooled sockets, before the garbage collector finds them


def wait_until(predicate: Any, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- Invoke: RequestResponse -------------------------------------------------------------------


def test_request_response_returns_the_payload(lam: Any) -> None:
    result = lam.invoke(FunctionName="echo", Payload=json.dumps({"a": [1, 2]}))
    assert result["StatusCode"] == 200
    assert json.loads(result["Payload"].read()) == {"a": [1, 2]}
    assert "FunctionError" not in result
    assert result["ExecutedVersion"] == "$LATEST"
    assert "LogResult" not in result


def test_an_empty_payload_is_an_empty_object(lam: Any) -> None:
    result = lam.invoke(FunctionName="echo")
    assert json.loads(result["Payload"].read()) == {}


@pytest.mark.parametrize(
    "name",
    [
        "echo",  # the serverless.yml key, as `lambda-sse invoke` takes it
        "inv-test-echo",  # the deployed name, {service}-{stage}-{key}
        "echo:$LATEST",
        "arn:aws:lambda:us-east-1:000000000000:function:echo",
        "arn:aws:lambda:us-east-1:123456789012:function:inv-test-echo:$LATEST",
        "123456789012:function:inv-test-echo",
    ],
)
def test_a_function_is_found_by_every_name_aws_accepts(lam: Any, name: str) -> None:
    result = lam.invoke(FunctionName=name, Payload=b'"hi"')
    assert json.loads(result["Payload"].read()) == "hi"


def test_a_custom_deployed_name_and_the_qualifier_parameter(lam: Any) -> None:
    result = lam.invoke(FunctionName="custom-name", Qualifier="$LATEST", Payload=b"[1]")
    assert json.loads(result["Payload"].read()) == [1]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="inv-test-renamed")  # `name:` replaces the default name


def test_function_error_is_a_200_with_the_error_document(lam: Any) -> None:
    result = lam.invoke(FunctionName="echo", Payload=json.dumps({"fail": "boom"}))
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    document = json.loads(result["Payload"].read())
    assert document["errorMessage"] == "boom"
    assert document["errorType"] == "ValueError"


def test_timeout_is_a_function_error(lam: Any) -> None:
    result = lam.invoke(FunctionName="slow", Payload=json.dumps({"sleep": 3}))
    assert result["FunctionError"] == "Unhandled"
    assert "timed out after 1.00 seconds" in json.loads(result["Payload"].read())["errorMessage"]


def test_client_context_reaches_the_function(lam: Any) -> None:
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    result = lam.invoke(
        FunctionName="echo", ClientContext=context, Payload=json.dumps({"context": 1})
    )
    body = json.loads(result["Payload"].read())
    assert body["custom"] == {"k": "v"}
    assert body["request_id"] == result["ResponseMetadata"]["RequestId"]


def test_a_streaming_function_arrives_buffered_through_invoke(lam: Any) -> None:
    result = lam.invoke(FunctionName="stream", Payload=json.dumps({"chunks": 3}))
    body = result["Payload"].read()
    assert body.count(b"data: ") == 3
    assert "FunctionError" not in result


# -- LogType: Tail -----------------------------------------------------------------------------


def test_tail_returns_the_log_with_start_end_and_report(lam: Any) -> None:
    result = lam.invoke(FunctionName="echo", Payload=json.dumps({"tail": 1}), LogType="Tail")
    rid = result["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(result["LogResult"]).decode()
    lines = log.splitlines()
    assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
    assert 'echo got {"tail": 1}' in lines
    assert f"END RequestId: {rid}" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {rid}\tDuration: ")


def test_tail_keeps_the_last_4_kb(lam: Any) -> None:
    result = lam.invoke(
        FunctionName="echo", Payload=json.dumps({"pad": "y" * 10_000}), LogType="Tail"
    )
    log = base64.b64decode(result["LogResult"])
    assert len(log) == 4096
    assert log.rstrip().splitlines()[-1].startswith(b"REPORT RequestId: ")


# -- Event and DryRun --------------------------------------------------------------------------


def test_event_is_accepted_at_once_and_runs(dev: DevThread, lam: Any, tmp_path: Path) -> None:
    log = tmp_path / "attempts"
    result = lam.invoke(
        FunctionName="flaky",
        InvocationType="Event",
        Payload=json.dumps({"log": str(log), "succeed_on": 1}),
    )
    assert result["StatusCode"] == 202
    assert result["Payload"].read() == b""
    rid = result["ResponseMetadata"]["RequestId"]
    wait_until(lambda: any(r.request_id == rid for r in dev.queue.results))
    (outcome,) = [r for r in dev.queue.results if r.request_id == rid]
    assert (outcome.condition, outcome.attempts) == ("Success", 1)
    assert log.read_text().split()[0] == rid  # the function's context has the same id


def test_event_retries_twice_with_the_same_request_id(
    dev: DevThread, lam: Any, tmp_path: Path
) -> None:
    log = tmp_path / "attempts"
    result = lam.invoke(
        FunctionName="flaky", InvocationType="Event", Payload=json.dumps({"log": str(log)})
    )
    rid = result["ResponseMetadata"]["RequestId"]
    wait_until(lambda: any(r.request_id == rid for r in dev.queue.results))
    (outcome,) = [r for r in dev.queue.results if r.request_id == rid]
    assert (outcome.condition, outcome.attempts) == ("RetriesExhausted", 3)
    assert [line.split()[0] for line in log.read_text().splitlines()] == [rid] * 3


def test_dry_run_is_204_and_runs_nothing(dev: DevThread, lam: Any) -> None:
    result = lam.invoke(FunctionName="echo", InvocationType="DryRun")
    assert result["StatusCode"] == 204
    assert result["Payload"].read() == b""
    rid = result["ResponseMetadata"]["RequestId"]
    assert not [r for r in dev.records.records if r.request_id == rid]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="missing", InvocationType="DryRun")


# -- a function that invokes functions ---------------------------------------------------------


def test_a_function_invokes_another_through_boto3(dev: DevThread, lam: Any) -> None:
    result = lam.invoke(FunctionName="caller", Payload=json.dumps({"payload": {"x": 2}}))
    body = json.loads(result["Payload"].read())
    assert body == {"status": 200, "payload": {"x": 2}, "endpoint": dev.endpoint}


def test_a_function_starts_a_background_job_with_event(
    dev: DevThread, lam: Any, tmp_path: Path
) -> None:
    log = tmp_path / "job"
    payload = {"log": str(log), "succeed_on": 1}
    result = lam.invoke(
        FunctionName="caller",
        Payload=json.dumps({"type": "Event", "target": "flaky", "payload": payload}),
    )
    assert json.loads(result["Payload"].read()) == {"status": 202}
    wait_until(log.exists)


# -- API errors: botocore raises its own exception classes --------------------------------------


def test_unknown_function(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as info:
        lam.invoke(FunctionName="nope")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert info.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"
    )
    assert info.value.response["Type"] == "User"


def test_a_version_or_alias_is_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match="function:echo:prod"):
        lam.invoke(FunctionName="echo", Qualifier="prod")


def test_payload_that_is_not_json(lam: Any) -> None:
    with pytest.raises(lam.exceptions.InvalidRequestContentException) as info:
        lam.invoke(FunctionName="echo", Payload=b"{not json")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Could not parse request body into json" in str(info.value)


def test_payload_over_6_mb(lam: Any) -> None:
    with pytest.raises(lam.exceptions.RequestTooLargeException) as info:
        lam.invoke(FunctionName="echo", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_payload_over_the_ports_own_limit_is_still_lambdas_error(lam: Any) -> None:
    # Over the REST port's 10 MB, refused before the body is read, still as Lambda refuses it.
    with pytest.raises(lam.exceptions.RequestTooLargeException, match="6291456 bytes"):
        lam.invoke(FunctionName="echo", Payload=b'"' + b"x" * (11 * 1000 * 1000) + b'"')


def test_async_payload_over_1_mb(lam: Any) -> None:
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(
            FunctionName="echo", InvocationType="Event", Payload=b'"' + b"x" * 1_048_577 + b'"'
        )


def test_throttled_by_reserved_concurrency(dev: DevThread, lam: Any) -> None:
    import threading

    def hold() -> None:
        lam.invoke(FunctionName="limited", Payload=b'{"sleep": 1.5}')["Payload"].read()

    slow = threading.Thread(target=hold)
    slow.start()
    try:
        wait_until(lambda: dev.pool.environments("limited") != [] and _busy(dev, "limited"))
        with pytest.raises(lam.exceptions.TooManyRequestsException) as info:
            lam.invoke(FunctionName="limited")
        assert info.value.response["Reason"] == (
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        )
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    finally:
        slow.join(WAIT)


def _busy(dev: DevThread, name: str) -> bool:
    return any(env.busy for env in dev.pool.environments(name))


def test_bad_function_name_is_a_validation_error(lam: Any) -> None:
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="bad name!")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bad_invocation_type(lam: Any) -> None:
    with pytest.raises(ClientError, match="invocationType") as info:
        lam.invoke(FunctionName="echo", InvocationType="Later")
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_bad_client_context(lam: Any) -> None:
    with pytest.raises(lam.exceptions.InvalidRequestContentException, match="Base64"):
        lam.invoke(FunctionName="echo", ClientContext="not base64!")
