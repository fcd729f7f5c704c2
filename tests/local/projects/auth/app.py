"""A resumable SSE feed (lambda-sse's runtime) and a TOKEN authorizer, for the auth tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lambda_sse.runtime.stream import HttpResponseStream, streamify_response


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


@streamify_response
async def feed(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    """Events after Last-Event-ID up to ``count`` (query, default 3); the first one tells who
    called (``requestContext.authorizer`` and ``identity.apiKey``)."""
    params = event.get("queryStringParameters") or {}
    count = int(params.get("count", "3"))
    start = int(_header(event, "last-event-id") or "0")
    request_context = event.get("requestContext") or {}
    out = HttpResponseStream.from_(
        response_stream,
        {
            "statusCode": 200,
            "headers": {
                "content-type": "text/event-stream",
                "x-feed": "yes",
                # CORS headers of the URL's configuration take precedence over these.
                "access-control-allow-origin": "*",
            },
        },
    )
    caller = {
        "authorizer": request_context.get("authorizer"),
        "apiKey": (request_context.get("identity") or {}).get("apiKey"),
        "method": event.get("httpMethod") or request_context.get("http", {}).get("method"),
        "body": event.get("body"),
    }
    await out.write(f"event: caller\ndata: {json.dumps(caller)}\n\n")
    for i in range(start + 1, count + 1):
        await out.write(f"id: {i}\ndata: step {i}\n\n")
        await asyncio.sleep(0.02)


def gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """TOKEN authorizer: "allow-<user>" is allowed on the whole API, "deny" is denied."""
    token = event["authorizationToken"]
    api = event["methodArn"].split("/")[0]
    if token.startswith("allow-"):
        effect = "Allow"
    elif token == "deny":
        effect = "Deny"
    else:
        raise Exception("Unauthorized")
    return {
        "principalId": token.removeprefix("allow-"),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": f"{api}/*"}
            ],
        },
        "context": {"plan": "pro", "quota": 5},
    }
