"""Handlers of the Invoke API tests; each behaves as its event says."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from lambda_sse.runtime.stream import HttpResponseStream, streamify_response


def echo(event: Any, context: Any) -> Any:
    """Returns the event (with the client context); prints a line for the log tail."""
    print(f"echo got {json.dumps(event)}")
    if isinstance(event, dict):
        if "fail" in event:
            raise ValueError(event["fail"])
        if "sleep" in event:
            time.sleep(float(event["sleep"]))
        if "big" in event:
            return "x" * int(event["big"])
        if "context" in event:
            custom = getattr(context.client_context, "custom", None)
            return {"custom": custom, "request_id": context.aws_request_id}
    return event


@streamify_response
async def stream(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    """Writes ``chunks`` pieces ``interval`` apart, each with its write time; ``prelude`` wraps
    them in an HTTP prelude; ``fail_after`` raises after that many pieces."""
    chunks = int(event.get("chunks", 3))
    interval = float(event.get("interval", 0.0))
    out = response_stream
    if event.get("prelude"):
        out = HttpResponseStream.from_(
            response_stream,
            {"statusCode": 201, "headers": {"content-type": "text/event-stream"}},
        )
    elif event.get("content_type"):
        response_stream.set_content_type(event["content_type"])
    for i in range(chunks):
        if event.get("fail_after") == i:
            raise RuntimeError(f"failed after {i} chunks")
        await out.write(f"data: {json.dumps({'i': i, 't': time.time()})}\n\n")
        if interval:
            await asyncio.sleep(interval)


def flaky(event: dict[str, Any], context: Any) -> str:
    """Appends ``{request_id} {time}`` to the file ``log``; fails until attempt ``succeed_on``
    (never when unset); ``crash`` ends the process instead of raising."""
    log = Path(event["log"])
    with log.open("a") as f:
        f.write(f"{context.aws_request_id} {time.time()}\n")
    attempt = len(log.read_text().splitlines())
    if attempt < int(event.get("succeed_on", 99)):
        if event.get("crash"):
            os._exit(3)
        raise RuntimeError(f"attempt {attempt} failed")
    return "ok"


def caller(event: dict[str, Any], context: Any) -> Any:
    """Invokes another local function through boto3, as deployed code would."""
    import boto3  # the function's own dependency

    client = boto3.client("lambda")  # AWS_ENDPOINT_URL_LAMBDA points it at lambda-sse dev
    target = event.get("target", "inv-test-echo")
    if event.get("type") == "Event":
        result = client.invoke(
            FunctionName=target, InvocationType="Event", Payload=json.dumps(event["payload"])
        )
        return {"status": result["StatusCode"]}
    if event.get("stream"):
        response = client.invoke_with_response_stream(
            FunctionName=target, Payload=json.dumps(event["payload"])
        )
        chunks = [
            e["PayloadChunk"]["Payload"].decode()
            for e in response["EventStream"]
            if "PayloadChunk" in e
        ]
        return {"chunks": chunks}
    result = client.invoke(FunctionName=target, Payload=json.dumps(event.get("payload", {})))
    return {
        "status": result["StatusCode"],
        "payload": json.loads(result["Payload"].read()),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL_LAMBDA"),
    }
