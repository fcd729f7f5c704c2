"""A buffered handler for AWS's Python runtime client (awslambdaric)."""

from __future__ import annotations

import json
import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> Any:
    params = event.get("queryStringParameters") or {}
    mode = params.get("mode", "ok")
    if mode == "error":
        raise RuntimeError("boom")
    if mode == "malformed":
        return {"statusCode": 200, "unexpected": True}
    if mode == "bare":
        return {"hello": "world"}
    if mode == "sleep":
        time.sleep(float(params.get("seconds", "2")))
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-runtime": "awslambdaric"},
        "body": json.dumps(
            {
                "path": event.get("path") or event.get("rawPath"),
                "resource": event.get("resource"),
                "routeKey": event.get("routeKey"),
                "pathParameters": event.get("pathParameters"),
                "stage": event.get("requestContext", {}).get("stage"),
                "contextPath": event.get("requestContext", {}).get("path"),
            }
        ),
    }
