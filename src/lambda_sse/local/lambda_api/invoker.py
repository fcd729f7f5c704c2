"""What the Lambda API needs of the emulator's invoker (the pool implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from lambda_sse.local.model import Invocation

if TYPE_CHECKING:
    from lambda_sse.local.limiter import TokenBucket

__all__ = ["LambdaInvoker"]


class LambdaInvoker(Protocol):
    async def invoke(
        self,
        function: str,
        event: bytes,
        *,
        buckets: Sequence[TokenBucket] = (),
        request_id: str | None = None,
        client_context: str | None = None,
    ) -> Invocation:
        """As ``model.Invoker.invoke``, plus the request id (asynchronous retries keep theirs)
        and the client context of the Invoke API."""
        ...
