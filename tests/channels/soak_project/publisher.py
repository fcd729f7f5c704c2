"""Publish one event from a plain (blocking) handler: POST /publish/{name}?data=TEXT."""

from __future__ import annotations

import json
from typing import Any

from lambda_sse.channels import open_channel
from lambda_sse.sse import ServerSentEvent


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = (event.get("pathParameters") or {})["name"]
    data = (event.get("queryStringParameters") or {}).get("data", "")
    event_id = open_channel(name).publish_sync(ServerSentEvent(data, event="note"))
    return {"statusCode": 200, "body": json.dumps({"id": event_id})}
