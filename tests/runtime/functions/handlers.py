"""Handlers for the runtime's wire tests. Plain Python, run by `python -m lambda_sse.runtime`."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from lambda_sse.runtime import on_shutdown
from lambda_sse.runtime.context import current_trace_id
from lambda_sse.runtime.stream import HttpResponseStream, streamify_response

logger = logging.getLogger("handlers")
_state: dict[str, Any] = {}
_lock = threading.Lock()


def _wait_for(path: str, limit_s: float = 10.0) -> None:
    """Bounded wait for the test to create ``path``."""
    end = time.monotonic() + limit_s
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.005)


async def _await_for(path: str, limit_s: float = 10.0) -> None:
    await asyncio.to_thread(_wait_for, path, limit_s)  # the loop stays free meanwhile


# -- buffered ------------------------------------------------------------------------------


def buffered(event: Any, context: Any) -> Any:
    return {"event": event}


async def buffered_async(event: Any, context: Any) -> Any:
    await asyncio.sleep(0)
    return {"event": event, "async": True}


def raw_bytes(event: Any, context: Any) -> Any:
    return b"\x00\x01raw"


def sized(event: Any, context: Any) -> Any:
    # A JSON string of exactly event["size"] bytes once encoded (two quotes).
    return "x" * (event["size"] - 2)


def unserializable(event: Any, context: Any) -> Any:
    return {"set": {1, 2}}


def raises(event: Any, context: Any) -> Any:
    if event.get("ok"):
        return "fine"
    raise ValueError("boom")


def context_info(event: Any, context: Any) -> Any:
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": context.identity and context.identity.cognito_identity_id,
        "client_custom": context.client_context and context.client_context.custom,
        "tenant_id": context.tenant_id,
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        "trace_var": current_trace_id(),
    }


def logs(event: Any, context: Any) -> Any:
    print("printed line")
    logger.warning("warned %s", event.get("n"))
    return None


async def loop_identity(event: Any, context: Any) -> Any:
    loop = asyncio.get_running_loop()
    if "loop" not in _state:
        _state["loop"] = loop
        _state["queue"] = asyncio.Queue()  # bound to the first loop it is used on
    await _state["queue"].put(1)
    return {"same_loop": _state["loop"] is loop, "count": _state["queue"].qsize()}


# -- streaming -----------------------------------------------------------------------------


@streamify_response
async def stream_sse(event: Any, response_stream: Any, context: Any) -> Any:
    metadata = {
        "statusCode": 200,
        "headers": {"content-type": "text/event-stream"},
        "cookies": ["a=1"],
    }
    response_stream = HttpResponseStream.from_(response_stream, metadata)
    for i in range(event.get("n", 3)):
        await response_stream.write(f"data: {i}\n\n")
    await response_stream.end()


@streamify_response
async def stream_gated(event: Any, response_stream: Any, context: Any) -> Any:
    response_stream.set_content_type("text/plain")
    await response_stream.write("first")
    await _await_for(event["gate"])
    await response_stream.write("second")


@streamify_response
def stream_gated_sync(event: Any, response_stream: Any, context: Any) -> Any:
    response_stream.set_content_type("text/plain")
    response_stream.write("first")
    _wait_for(event["gate"])
    response_stream.write("second")


@streamify_response
async def stream_raises_after(event: Any, response_stream: Any, context: Any) -> Any:
    await response_stream.write("partial")
    raise KeyError("late")


@streamify_response
def stream_raises_after_sync(event: Any, response_stream: Any, context: Any) -> Any:
    response_stream.write("partial")
    raise KeyError("late")


@streamify_response
async def stream_raises_before(event: Any, response_stream: Any, context: Any) -> Any:
    HttpResponseStream.from_(response_stream, {"statusCode": 200})
    raise RuntimeError("early")


@streamify_response
async def stream_or_buffer(event: Any, response_stream: Any, context: Any) -> Any:
    if event.get("buffer"):
        return {"statusCode": 200, "body": "buffered"}
    await response_stream.write("streamed")
    return {"ignored": True}


@streamify_response
def stream_or_buffer_sync(event: Any, response_stream: Any, context: Any) -> Any:
    if event.get("buffer"):
        return {"statusCode": 200, "body": "buffered"}
    response_stream.write("streamed")
    return {"ignored": True}


@streamify_response
async def stream_empty_prelude(event: Any, response_stream: Any, context: Any) -> Any:
    HttpResponseStream.from_(response_stream, {"statusCode": 204, "headers": {"x-empty": "yes"}})


@streamify_response
async def stream_none(event: Any, response_stream: Any, context: Any) -> Any:
    return None


@streamify_response
async def stream_bulk(event: Any, response_stream: Any, context: Any) -> Any:
    piece = b"z" * event["piece"]
    for _ in range(event["count"]):
        await response_stream.write(piece)


# -- Managed Instances ---------------------------------------------------------------------


async def concurrent_async(event: Any, context: Any) -> Any:
    _state["arrived"] = _state.get("arrived", 0) + 1
    everyone = _state.setdefault("everyone", asyncio.Event())
    if _state["arrived"] >= event["expect"]:
        everyone.set()
    await asyncio.wait_for(everyone.wait(), 5)  # only passes when all ran at once
    await asyncio.sleep(0.01)
    return {"trace": current_trace_id(), "env": os.environ.get("_X_AMZN_TRACE_ID")}


def concurrent_sync(event: Any, context: Any) -> Any:
    with _lock:
        barrier = _state.setdefault("barrier", threading.Barrier(event["expect"], timeout=5))
    barrier.wait()  # raises BrokenBarrierError unless all ran at once
    time.sleep(0.01)
    return {"trace": current_trace_id(), "env": os.environ.get("_X_AMZN_TRACE_ID")}


# -- shutdown ------------------------------------------------------------------------------


def _mark(name: str) -> None:
    path = os.environ.get("SHUTDOWN_LOG")
    if path:
        with open(path, "a") as out:
            out.write(name + "\n")


@on_shutdown
def _sync_callback() -> None:
    _mark("sync callback")


@on_shutdown
async def _async_callback() -> None:
    await asyncio.sleep(0)
    _mark(f"async callback, loop running: {asyncio.get_running_loop().is_running()}")
