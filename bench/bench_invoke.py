"""The Lambda API's InvokeWithResponseStream through ``lambda-sse dev``, beside the same
function's Function URL (RESPONSE_STREAM) on the same server, in the same run. Limits off.

- first chunk: the function stamps ``time.time()`` just before its first write; the client
  notes the arrival of the first ``PayloadChunk`` (boto3) or the first body bytes (httpx on the
  Function URL) on the same machine's clock (p50 and p99 of warm invocations, alternated);
- events/s: the function writes 20,000 SSE events, one write each; the client reads to the end
  and counts the events (boto3's event-stream parser; also httpx reading the raw event stream,
  which shows what the emulator sends without botocore's parsing in the client).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import boto3  # noqa: E402
import httpx  # noqa: E402
from botocore.config import Config  # noqa: E402

from _common import log, markdown_table  # noqa: E402

ROUNDS = int(os.environ.get("INVOKE_BENCH_ROUNDS", "60"))
EVENTS = 20_000
RATE_ROUNDS = 3
START_TIMEOUT = 30.0

CONFIG = """\
service: bench
provider:
  name: aws
  runtime: python3.12
  environment:
    AWS_LAMBDA_EXEC_WRAPPER: /var/task/lambda_sse/runtime/exec-wrapper
functions:
  stream:
    handler: handler.stream
    timeout: 60
    url:
      invokeMode: RESPONSE_STREAM
"""

HANDLER = """\
import asyncio, time
from lambda_sse.runtime.stream import streamify_response

@streamify_response
async def stream(event, response_stream, context):
    params = event.get("queryStringParameters") or event
    if params.get("mode") == "first":
        await response_stream.write(f"{time.time():.6f}\\n".encode())
        await asyncio.sleep(0.02)
        return
    for i in range(int(params.get("n", 10))):
        await response_stream.write(b"data: %d\\n\\n" % i)
"""


def free_ports() -> int:
    sys.path.insert(0, str(HERE.parent))
    from tests.examples.devserver import free_port_block

    return free_port_block(2)


def start_dev(folder: Path, port: int) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "lambda-sse"), "dev", str(folder)]
    command += ["--port", str(port), "--no-limits", "--no-reload"]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port + 1}/", params={"mode": "first"}, timeout=5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("lambda-sse dev did not start")


def stop_dev(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def boto_client(endpoint: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )


def first_via_invoke(client: Any) -> float:
    response = client.invoke_with_response_stream(
        FunctionName="stream", Payload=b'{"mode": "first"}'
    )
    lag = None
    for event in response["EventStream"]:
        if lag is None and "PayloadChunk" in event:
            lag = time.time() - float(event["PayloadChunk"]["Payload"])
    assert lag is not None
    return lag


def first_via_url(http: httpx.Client, url: str) -> float:
    lag = None
    with http.stream("GET", url, params={"mode": "first"}) as response:
        for chunk in response.iter_raw():
            if lag is None and chunk:
                lag = time.time() - float(chunk)
    assert lag is not None
    return lag


def rate_via_invoke(client: Any) -> float:
    start = time.perf_counter()
    response = client.invoke_with_response_stream(
        FunctionName="stream", Payload=json.dumps({"n": EVENTS}).encode()
    )
    events = sum(
        event["PayloadChunk"]["Payload"].count(b"data: ")
        for event in response["EventStream"]
        if "PayloadChunk" in event
    )
    elapsed = time.perf_counter() - start
    assert events == EVENTS, events
    return EVENTS / elapsed


def rate_via_raw_stream(http: httpx.Client, endpoint: str) -> float:
    start = time.perf_counter()
    size = 0
    with http.stream(
        "POST",
        f"{endpoint}/2021-11-15/functions/stream/response-streaming-invocations",
        content=json.dumps({"n": EVENTS}).encode(),
    ) as response:
        for chunk in response.iter_raw():
            size += len(chunk)
    elapsed = time.perf_counter() - start
    assert size >= EVENTS * 9, size
    return EVENTS / elapsed


def rate_via_url(http: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    size = 0
    with http.stream("GET", url, params={"n": str(EVENTS)}) as response:
        for chunk in response.iter_raw():
            size += len(chunk)
    elapsed = time.perf_counter() - start
    assert size >= EVENTS * 9, size
    return EVENTS / elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "serverless.yml").write_text(CONFIG)
        (folder / "handler.py").write_text(HANDLER)
        port = free_ports()
        proc = start_dev(folder, port)
        endpoint, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}/"
        try:
            client = boto_client(endpoint)
            with httpx.Client(timeout=60) as http:
                first_via_invoke(client)  # warm both paths
                first_via_url(http, url)
                log(f"first chunk: {ROUNDS} rounds, alternated")
                invoke_lags, url_lags = [], []
                for _ in range(ROUNDS):
                    invoke_lags.append(first_via_invoke(client))
                    url_lags.append(first_via_url(http, url))
                log(f"events/s: {EVENTS} events x {RATE_ROUNDS} rounds, alternated")
                rates: dict[str, list[float]] = {"boto3": [], "raw": [], "url": []}
                for _ in range(RATE_ROUNDS):
                    rates["boto3"].append(rate_via_invoke(client))
                    rates["raw"].append(rate_via_raw_stream(http, endpoint))
                    rates["url"].append(rate_via_url(http, url))
        finally:
            stop_dev(proc)

    def ms(value: float) -> str:
        return f"{value * 1000:.2f} ms"

    best = {name: max(values) for name, values in rates.items()}
    p50_invoke, p99_invoke = statistics.median(invoke_lags), pct(invoke_lags, 0.99)
    rows = [
        [
            "first PayloadChunk after the first write, p50",
            ms(p50_invoke),
            ms(statistics.median(url_lags)),
            "<= 5 ms",
            "met" if p50_invoke <= 0.005 else "NOT met",
        ],
        [
            "first PayloadChunk after the first write, p99",
            ms(p99_invoke),
            ms(pct(url_lags, 0.99)),
            "",
            "",
        ],
        [
            "events/s, boto3 reading (botocore's parser)",
            f"{best['boto3']:,.0f}",
            f"{best['url']:,.0f}",
            ">= 0.8x",
            f"{best['boto3'] / best['url']:.2f}x "
            + ("met" if best["boto3"] >= 0.8 * best["url"] else "NOT met"),
        ],
        [
            "events/s, httpx reading the raw event stream",
            f"{best['raw']:,.0f}",
            f"{best['url']:,.0f}",
            ">= 0.8x",
            f"{best['raw'] / best['url']:.2f}x "
            + ("met" if best["raw"] >= 0.8 * best["url"] else "NOT met"),
        ],
    ]
    print("## Lambda Invoke API (InvokeWithResponseStream) beside the Function URL\n")
    print(
        "One `lambda-sse dev` (limits off) serves a lambda-sse streaming function both through "
        "the Lambda API on the REST port (`AWS_ENDPOINT_URL_LAMBDA`) and through its "
        "RESPONSE_STREAM Function URL; the two paths are measured alternately in the same run. "
        "First chunk: the function stamps `time.time()` just before its first write; the client "
        f"(boto3 `invoke_with_response_stream`, or httpx on the URL) times the arrival of the "
        f"first `PayloadChunk` or body bytes ({ROUNDS} warm invocations each). Events/s: "
        f"{EVENTS:,} SSE events, one write each, read to the end (best of {RATE_ROUNDS}); "
        "writes that queue up behind the reader travel together in one `PayloadChunk` (the "
        "Function URL path sends each chunk as its own HTTP chunk), which is why the Invoke API "
        "can outrun the baseline here.\n"
    )
    print(
        markdown_table(
            ["metric", "Invoke API", "Function URL (baseline)", "target", "verdict"], rows
        )
    )


if __name__ == "__main__":
    main()
