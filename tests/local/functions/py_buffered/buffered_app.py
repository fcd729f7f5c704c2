"""Buffered handlers for AWS's Python runtime client (awslambdaric), as on the managed runtime."""

from __future__ import annotations

import os
import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    print(f"handling {context.aws_request_id}")
    started = time.time()  # wall clock: compared across worker processes
    if event.get("sleep"):
        time.sleep(float(event["sleep"]))
    return {
        "statusCode": 200,
        "started": started,
        "finished": time.time(),
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_"))},
        "tz": os.environ.get("TZ"),
    }


def fail(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise ValueError("bad input on purpose")
