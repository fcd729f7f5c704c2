"""A second real client, the AWS CLI (pip ``awscli``), against ``lambda-sse dev``'s Lambda API;
and ``lambda-sse invoke --type Event|DryRun --log-tail`` as a user runs it."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.lambda_dev import PROJECTS, DevThread

PROJECT = PROJECTS / "invoke"
AWS = str(Path(sys.executable).parent / "aws")
LAMBDA_SSE = str(Path(sys.executable).parent / "lambda-sse")


def aws_cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": "anything",
        "AWS_SECRET_ACCESS_KEY": "anything",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",  # no retries: an error must show, not be repeated
        "AWS_ENDPOINT_URL_LAMBDA": endpoint,
    }
    return subprocess.run(
        [AWS, "lambda", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_the_aws_cli_invokes_with_tail_and_sees_errors(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with DevThread(PROJECT) as dev:
        done = aws_cli(
            dev.endpoint,
            "invoke",
            "--function-name",
            "inv-test-echo",
            "--payload",
            '{"from": "cli"}',
            "--log-type",
            "Tail",
            str(out),
        )
        assert done.returncode == 0, done.stderr
        meta = json.loads(done.stdout)
        assert meta["StatusCode"] == 200
        assert "END RequestId: " in base64.b64decode(meta["LogResult"]).decode()
        assert json.loads(out.read_text()) == {"from": "cli"}

        failed = aws_cli(dev.endpoint, "invoke", "--function-name", "nope", str(out))
        assert failed.returncode != 0
        assert "(ResourceNotFoundException)" in failed.stderr
        assert "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope" in (
            failed.stderr
        )

        queued = aws_cli(
            dev.endpoint,
            "invoke",
            "--function-name",
            "echo",
            "--invocation-type",
            "Event",
            "--payload",
            "{}",
            str(out),
        )
        assert json.loads(queued.stdout)["StatusCode"] == 202


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAMBDA_SSE, "invoke", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_lambda_sse_invoke_event_waits_for_the_retries(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    attempts = tmp_path / "attempts"
    event.write_text(json.dumps({"log": str(attempts), "succeed_on": 2}))
    done = run_cli(
        "flaky", str(PROJECT), "--type", "Event", "--event", str(event),
        "--async-delay-scale", "0.001",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Event: 202 accepted (request " in done.stderr
    assert "retry 1 of 2 in 0.06 s (AWS waits 60 s)" in done.stderr
    assert "Success after 2 attempt(s)" in done.stderr
    assert len(attempts.read_text().splitlines()) == 2

    event.write_text(json.dumps({"log": str(tmp_path / "never")}))
    failed = run_cli(
        "once", str(PROJECT), "--type", "Event", "--event", str(event),
        "--async-delay-scale", "0",
    )  # fmt: skip
    assert failed.returncode == 1
    assert "RetriesExhausted after 2 attempt(s), last error Function.RuntimeError" in failed.stderr


def test_lambda_sse_invoke_dry_run_and_log_tail(tmp_path: Path) -> None:
    dry = run_cli("echo", str(PROJECT), "--type", "DryRun")
    assert (dry.returncode, dry.stdout) == (0, "")
    assert "DryRun: 204" in dry.stderr
    missing = run_cli("nope", str(PROJECT), "--type", "DryRun")
    assert missing.returncode == 2
    assert "no function named 'nope'" in missing.stderr

    event = tmp_path / "event.json"
    event.write_text('{"k": 1}')
    tail = run_cli("echo", str(PROJECT), "--event", str(event), "--log-tail")
    assert tail.returncode == 0
    assert json.loads(tail.stdout) == {"k": 1}
    lines = tail.stderr.splitlines()
    start = lines.index("log tail (the last 4 KB, as LogType Tail returns it):")
    assert lines[start + 1].startswith("START RequestId: ")
    assert lines[start + 2] == 'echo got {"k": 1}'
    assert lines[-1].startswith("REPORT RequestId: ")
    assert sum("START RequestId" in line for line in lines) == 1  # printed once, at the end


def test_lambda_sse_dev_serves_the_lambda_api_to_its_functions(tmp_path: Path) -> None:
    """The real command: route table line, AWS_ENDPOINT_URL_LAMBDA in the functions, the tail,
    and --async-delay-scale."""
    import signal
    import time

    import boto3
    from botocore.config import Config

    from tests.examples.devserver import free_port_block

    port = free_port_block(2)
    log = tmp_path / "dev.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [LAMBDA_SSE, "dev", str(PROJECT), "--port", str(port), "--no-reload",
             "--async-delay-scale", "0.001"],
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "ready in" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port}"
        assert f"AWS_ENDPOINT_URL_LAMBDA={endpoint}" in log.read_text()
        lam = boto3.client(
            "lambda", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="a", aws_secret_access_key="b",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
        )  # fmt: skip
        try:
            result = lam.invoke(
                FunctionName="caller", Payload=json.dumps({"payload": 1}), LogType="Tail"
            )
            assert json.loads(result["Payload"].read())["endpoint"] == endpoint
            assert "END RequestId" in base64.b64decode(result["LogResult"]).decode()
            attempts = tmp_path / "attempts"
            lam.invoke(
                FunctionName="flaky", InvocationType="Event",
                Payload=json.dumps({"log": str(attempts), "succeed_on": 3}),
            )["Payload"].read()  # fmt: skip
            # Two retries, 0.06 s and 0.12 s after the failures (AWS: 1 and 2 minutes).
            while "async event succeeded (attempt 3)" not in log.read_text():
                assert time.monotonic() < deadline + 30, log.read_text()
                time.sleep(0.05)
            assert len(attempts.read_text().splitlines()) == 3
        finally:
            lam.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    text = log.read_text()
    assert "retry 2 of 2 in 0.12 s (AWS waits 120 s)" in text


def test_aws_javascript_sdk_reads_the_stream() -> None:
    """A third client with its own event-stream parser: npm @aws-sdk/client-lambda."""
    from tests.conftest import IN_CI, require_tool

    node = require_tool("node")
    modules = Path(__file__).resolve().parent.parent / "node" / "node_modules"
    if not (modules / "@aws-sdk" / "client-lambda").is_dir():
        message = "@aws-sdk/client-lambda is not installed: run `cd tests/node && npm install`"
        if IN_CI:
            raise AssertionError(f"CI=true and {message}")
        import pytest

        pytest.skip(message)
    with DevThread(PROJECT) as dev:
        done = subprocess.run(
            [node, str(modules.parent / "invoke_client.mjs")],  # beside node_modules (ESM)
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "AWS_ENDPOINT_URL_LAMBDA": dev.endpoint},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["invoke"]["status"] == 200
    assert out["invoke"]["payload"] == {"from": "node"}
    assert "END RequestId: " in out["invoke"]["tail"]
    assert out["stream"]["contentType"] == "application/octet-stream"
    body = "".join(e.get("chunk", "") for e in out["stream"]["events"])
    assert body.count("data: ") == 3
    assert out["stream"]["events"][-1] == {
        "complete": {"ErrorCode": "Function.RuntimeError", "ErrorDetails": "failed after 3 chunks"}
    }
    assert out["error"]["name"] == "ResourceNotFoundException"
    assert out["error"]["status"] == 404
