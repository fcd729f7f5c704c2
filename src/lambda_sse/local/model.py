"""The emulator's shared vocabulary: what a project declares, and how a front door invokes.

Two halves of ``lambda_sse.local`` meet here and nowhere else:

- ``config`` (serverless.yml / template.yaml) produces a :class:`ProjectConfig`;
- the execution side (Runtime API server, environments) implements :class:`Invoker`;
- the front doors (REST API, Function URLs, HTTP API) take both and serve HTTP.

Plain frozen dataclasses and Protocols: no I/O, no third-party imports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from lambda_sse.local.limiter import TokenBucket

__all__ = [
    "ApiConfig",
    "AsyncConfig",
    "FunctionConfig",
    "FunctionUrlConfig",
    "HttpRoute",
    "Invocation",
    "InvocationOutcome",
    "Invoker",
    "ProjectConfig",
    "ResponseHead",
    "Throttled",
]

TransferMode = Literal["BUFFERED", "STREAM"]
InvokeMode = Literal["BUFFERED", "RESPONSE_STREAM"]
EndpointType = Literal["EDGE", "REGIONAL", "PRIVATE"]
RouteKind = Literal["rest", "http_api"]


@dataclass(frozen=True)
class HttpRoute:
    """One API Gateway method that integrates with a function (AWS_PROXY)."""

    method: str  # upper-case HTTP method, or "ANY"
    path: str  # resource path as declared: "/stream", "/items/{id}", "/{proxy+}"
    kind: RouteKind = "rest"  # "rest": REST API (v1 events); "http_api": HTTP API (v2 events)
    transfer_mode: TransferMode = "BUFFERED"  # REST only; HTTP APIs never stream


@dataclass(frozen=True)
class FunctionUrlConfig:
    invoke_mode: InvokeMode = "BUFFERED"
    auth_type: str = "NONE"  # AWS_IAM is accepted with a warning, not enforced locally
    cors: Mapping[str, object] | None = None  # accepted with a warning, not enforced locally


@dataclass(frozen=True)
class AsyncConfig:
    """How Lambda retries an asynchronous (``Event``) invocation
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""

    maximum_retry_attempts: int = 2  # 0-2
    maximum_event_age: int = 21600  # seconds, 60-21600


@dataclass(frozen=True)
class FunctionConfig:
    """One function, with every default already applied (provider / Globals merged in)."""

    name: str  # the logical name (serverless.yml key / SAM resource id)
    handler: str  # "handler.stream_handler", or the bootstrap's handler string
    runtime: str  # "python3.12", "provided.al2023", "nodejs20.x", ...
    code_dir: Path  # absolute path of the function's code (LAMBDA_TASK_ROOT)
    timeout: float = 6.0  # seconds (Serverless Framework default 6, SAM default 3)
    memory_size: int = 1024  # MB
    environment: Mapping[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None  # None: no cap besides the account's
    max_concurrency: int = 1  # invocations at once per environment (Managed Instances)
    url: FunctionUrlConfig | None = None
    routes: tuple[HttpRoute, ...] = ()
    architecture: str = "x86_64"
    deployed_name: str | None = None  # the name on AWS: serverless.yml `name:` or
    # `{service}-{stage}-{key}`, SAM's FunctionName; None when AWS generates it
    async_config: AsyncConfig = field(default_factory=AsyncConfig)

    @property
    def exec_wrapper(self) -> str | None:
        return self.environment.get("AWS_LAMBDA_EXEC_WRAPPER")


@dataclass(frozen=True)
class ApiConfig:
    stage: str = "dev"  # Serverless Framework default "dev"; SAM implicit API "Prod"
    endpoint_type: EndpointType = "EDGE"  # API Gateway's and the Framework's default


@dataclass(frozen=True)
class ProjectConfig:
    source: Path  # the file that was read
    service: str
    region: str = "us-east-1"
    api: ApiConfig = field(default_factory=ApiConfig)
    functions: tuple[FunctionConfig, ...] = ()
    warnings: tuple[str, ...] = ()  # settings valid on AWS but not emulated, mismatches, ...

    def function(self, name: str) -> FunctionConfig:
        for fn in self.functions:
            if fn.name == name:
                return fn
        raise KeyError(name)

    @property
    def url_functions(self) -> tuple[FunctionConfig, ...]:
        """Functions with a Function URL, in declaration order: the k-th (1-based) listens on
        port PORT+k."""
        return tuple(fn for fn in self.functions if fn.url is not None)


# ---------------------------------------------------------------------------------------------
# Invoking a function, as a front door sees it.


class Throttled(Exception):
    """Lambda rejected the invocation: reserved concurrency is used up.

    A REST API answers 500 {"message": "Internal server error"}; a Function URL 429."""


@dataclass(frozen=True)
class ResponseHead:
    """How the runtime started its POST /response."""

    streaming: bool  # Lambda-Runtime-Function-Response-Mode: streaming
    content_type: str | None  # the Content-Type of that POST (prelude type, or the raw body's)


@dataclass(frozen=True)
class InvocationOutcome:
    """How an invocation ended.

    ``status`` is one of:
    - "success": the response was complete (a streamed body may still carry an error trailer);
    - "function_error": POST /error (error_type from the header or body);
    - "timeout": the function ran past its timeout (``Sandbox.Timeout``), environment killed;
    - "crash": the environment died or sent an invalid response (``Runtime.ExitError`` ...);
    - "init_error": POST /init/error or the process exited during init.
    """

    status: Literal["success", "function_error", "timeout", "crash", "init_error"]
    error_type: str | None = None  # "Function.ValueError", "Sandbox.Timeout", ...
    error_body: bytes | None = None  # JSON error document, raw
    trailer_error: bool = (
        False  # a streamed body ended with Lambda-Runtime-Function-Error-* trailers
    )
    duration_ms: float = 0.0


class Invocation(Protocol):
    """One invocation in flight."""

    request_id: str

    async def head(self) -> ResponseHead | None:
        """Wait until the runtime starts its response; ``None`` if it never does (error, timeout,
        crash): then ``outcome()`` says why."""
        ...

    def body(self) -> AsyncIterator[bytes]:
        """The raw response body (prelude included) chunk by chunk as the runtime sends it, after
        Lambda's bandwidth limiter. Ends when the response ends or is cut."""
        ...

    async def outcome(self) -> InvocationOutcome:
        """How it ended; waits for the end."""
        ...

    def detach(self) -> None:
        """The client went away. On AWS the function keeps running (and is billed): keep it
        running, discard what it still sends, and log it."""
        ...


class Invoker(Protocol):
    async def invoke(
        self, function: str, event: bytes, *, buckets: Sequence[TokenBucket] = ()
    ) -> Invocation:
        """Start an invocation of ``function`` with the JSON ``event``. Raises :class:`Throttled`
        when Lambda would reject it. ``buckets`` are a front door's own bandwidth limits (API
        Gateway REST's), applied on top of Lambda's when limits are on."""
        ...
