"""A lambda-sse streaming handler deployed WITHOUT the exec-wrapper: awslambdaric runs it, and
it fails, locally as on AWS."""

from __future__ import annotations

from typing import Any

from lambda_sse.runtime.stream import streamify_response


@streamify_response
async def handler(event: dict[str, Any], response_stream: Any, context: Any) -> None:
    await response_stream.write(b"never streamed under awslambdaric")
