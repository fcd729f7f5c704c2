"""The context object handed to handlers, and the per-invocation context variables.

Attributes follow AWS's Python context (docs: python-context.html; awslambdaric's LambdaContext).
The request id and the X-Ray trace id live in context variables, so concurrent invocations
(Managed Instances) never see each other's values; ``_X_AMZN_TRACE_ID`` is also set in the
environment when only one invocation runs at a time, as AWS's runtime does.
"""

from __future__ import annotations

import json
import os
import time
from contextvars import ContextVar

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "Client",
    "ClientContext",
    "CognitoIdentity",
    "LambdaContext",
    "current_request_id",
    "current_trace_id",
]

_request_id: ContextVar[str | None] = ContextVar("lambda_sse_request_id", default=None)
_trace_id: ContextVar[str | None] = ContextVar("lambda_sse_trace_id", default=None)


def current_request_id() -> str | None:
    """The request id of the invocation running in this context, if any."""
    return _request_id.get()


def current_trace_id() -> str | None:
    """The X-Ray trace header of the invocation running in this context, if any."""
    return _trace_id.get()


def enter_invocation(request_id: str, trace_id: str | None, *, set_environ: bool) -> None:
    _request_id.set(request_id)
    _trace_id.set(trace_id)
    if set_environ:
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.cognito_identity_id: str | None = doc.get("cognitoIdentityId")
        self.cognito_identity_pool_id: str | None = doc.get("cognitoIdentityPoolId")


class Client:
    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, doc: dict[str, Any]) -> None:
        self.installation_id: str | None = doc.get("installation_id")
        self.app_title: str | None = doc.get("app_title")
        self.app_version_name: str | None = doc.get("app_version_name")
        self.app_version_code: str | None = doc.get("app_version_code")
        self.app_package_name: str | None = doc.get("app_package_name")


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, doc: dict[str, Any]) -> None:
        client = doc.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom: dict[str, Any] | None = doc.get("custom")
        self.env: dict[str, Any] | None = doc.get("env")


def _json_object(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class LambdaContext:
    """What a handler gets as ``context``."""

    def __init__(
        self,
        *,
        aws_request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.tenant_id = tenant_id
        identity = _json_object(cognito_identity)
        self.identity = CognitoIdentity(identity) if identity is not None else None
        context = _json_object(client_context)
        self.client_context = ClientContext(context) if context is not None else None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation (never negative)."""
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        import sys

        sys.stdout.write(message if message.endswith("\n") else message + "\n")

    def __repr__(self) -> str:
        return (
            f"LambdaContext(aws_request_id={self.aws_request_id!r}, "
            f"function_name={self.function_name!r}, "
            f"invoked_function_arn={self.invoked_function_arn!r})"
        )
