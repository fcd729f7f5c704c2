"""Handlers run by both lambda-sse's runtime and AWS's awslambdaric (the reference)."""

from __future__ import annotations

from typing import Any


def ok(event: Any, context: Any) -> Any:
    return {"message": "hi", "echo": event, "list": [1, 2.5, None, True], "nested": {"a": {}}}


def fails(event: Any, context: Any) -> Any:
    raise ValueError("boom: " + str(event.get("why")))


def context_view(event: Any, context: Any) -> Any:
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
        "identity_id": context.identity.cognito_identity_id if context.identity else None,
        "custom": context.client_context.custom if context.client_context else None,
    }


def raw(event: Any, context: Any) -> Any:
    return b"\x01\x02 raw bytes"
