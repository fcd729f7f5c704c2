"""The Runtime API's rules, sans-IO: which request is which, what to answer, what it means.

:class:`RuntimeAPIProtocol` holds the protocol state of one execution environment (invocations
queued, handed out and answered; whether init failed) and decides every answer; it does no I/O
and knows neither asyncio nor h11. :mod:`lambda_sse.local.runtime_api` is its asyncio + h11
shell. The rules follow AWS's Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html,
its OpenAPI v1.0.3) and the Runtime Interface Emulator's ``internal/lambda/rapi`` handlers
(https://github.com/aws/aws-lambda-runtime-interface-emulator)::

    GET  /2018-06-01/runtime/invocation/next              200 + event, headers Lambda-Runtime-*
    POST /2018-06-01/runtime/invocation/{id}/response     202 {"status":"OK"} after the whole body
    POST /2018-06-01/runtime/invocation/{id}/error        202, recorded as a function error
    POST /2018-06-01/runtime/init/error                   202, recorded as an init error

    400 InvalidRequestID             an id that was never handed out by GET /next
    400 InvalidFunctionResponseMode  Lambda-Runtime-Function-Response-Mode other than "streaming"
    403 InvalidStateTransition       a second response or error for the same invocation
    413 RequestEntityTooLarge        a buffered body over ``BUFFERED_LIMIT`` (6 MiB + 100 bytes)
    404 NotFound                     any other path

A shell may take :class:`ServerHooks` (tests do: request records, injected failures); without
them nothing is recorded.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, NamedTuple, Protocol, TypeVar

from lambda_sse import aws
from lambda_sse.errors import DuplicateRequestIdError
from lambda_sse.local.model import InvocationOutcome

__all__ = [
    "ACCEPTED",
    "API_PREFIX",
    "BUFFERED_LIMIT",
    "DEFAULT_FUNCTION_ARN",
    "Answer",
    "FailKind",
    "InvocationState",
    "RecordedRequest",
    "Route",
    "RuntimeAPIProtocol",
    "ServerHooks",
    "error_answer",
    "error_type",
    "next_headers",
    "route",
    "streamed_outcome",
]

API_PREFIX = aws.RUNTIME_API_PREFIX
BUFFERED_LIMIT = aws.BUFFERED_LIMIT
DEFAULT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:local"
ERROR_TYPE_HEADER = aws.ERROR_TYPE_HEADER.lower()
ERROR_BODY_HEADER = aws.TRAILER_ERROR_BODY.lower()
RESPONSE_MODE_HEADER = aws.RESPONSE_MODE_HEADER.lower()
_INVOCATION = f"{API_PREFIX}/invocation/"

FailKind = Literal["next", "response", "error", "init_error"]


class Answer(NamedTuple):
    """A reply to one request: status, body, extra headers, content type."""

    status: int
    body: bytes
    headers: Sequence[tuple[str, str]] = ()
    content_type: str = "application/json"


ACCEPTED = Answer(202, b'{"status":"OK"}')


def error_answer(status: int, error_type: str, message: str) -> Answer:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return Answer(status, body)


INVALID_REQUEST_ID = error_answer(400, "InvalidRequestID", "Invalid request ID")
INVALID_STATE = error_answer(403, "InvalidStateTransition", "State transition is not allowed")


@dataclass
class RecordedRequest:
    """One request the runtime made, as it arrived (kept by :class:`ServerHooks`)."""

    method: str
    path: str
    headers: list[tuple[str, str]]  # names lower-cased, in arrival order
    started: float  # clock() when the request head arrived
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (clock(), bytes)
    trailers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    status: int | None = None  # what the server answered; None while in flight or cut
    complete: bool = False  # the whole body arrived (EndOfMessage)
    connection: int = 0  # which TCP connection carried it (1, 2, ... in accept order)

    def header(self, name: str) -> str | None:
        return _header(self.headers, name)

    @property
    def body(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)


class ServerHooks(Protocol):
    """What a test may plug into a server: see every request, fail some on purpose."""

    record_bodies: bool  # keep each body chunk in ``RecordedRequest.chunks``

    def request_started(self, record: RecordedRequest) -> None:
        """A request head arrived; the shell keeps updating ``record`` as the request goes."""

    def injected_failure(self, kind: FailKind) -> int | None:
        """A status to answer this request with instead (a container error), or None."""


class Route(NamedTuple):
    """Which endpoint a request is for; ``answer`` is set for an unknown endpoint."""

    kind: Literal["next", "response", "error", "init_error", "unknown"]
    request_id: str = ""
    answer: Answer | None = None


def route(method: str, path: str) -> Route:
    if method == "GET" and path == f"{_INVOCATION}next":
        return Route("next")
    if method == "POST" and path == f"{API_PREFIX}/init/error":
        return Route("init_error")
    if method == "POST" and path.startswith(_INVOCATION):
        request_id, _, action = path[len(_INVOCATION) :].rpartition("/")
        if action == "response":
            return Route("response", request_id)
        if action == "error":
            return Route("error", request_id)
        return Route("unknown", answer=error_answer(404, "NotFound", f"no such endpoint: {path}"))
    message = f"no such endpoint: {method} {path}"
    return Route("unknown", answer=error_answer(404, "NotFound", message))


def next_headers(
    request_id: str,
    deadline_ms: int,
    function_arn: str,
    optional: Iterable[tuple[str, str | None]],
) -> list[tuple[str, str]]:
    """The headers of GET /next's reply; each optional one only when non-empty, as Lambda sends
    them (docs: runtimes-api.html)."""
    return [
        (aws.REQUEST_ID_HEADER, request_id),
        (aws.DEADLINE_HEADER, str(int(deadline_ms))),
        (aws.FUNCTION_ARN_HEADER, function_arn),
        *((name, value) for name, value in optional if value),
    ]


class InvocationState:
    """The protocol state of one invocation; a shell subclasses it with its own I/O."""

    def __init__(self, request_id: str, event: bytes, headers: list[tuple[str, str]]) -> None:
        self.request_id = request_id
        self.event = event
        self.next_headers = headers  # what GET /next answers besides the body
        self.handed_out_at: float | None = None  # clock() when a GET /next delivered it
        self.answered = False  # a /response or /error has begun: a second one is a 403

    @property
    def done(self) -> bool:
        """The invocation has its outcome (the shell knows when)."""
        return self.answered


T = TypeVar("T", bound=InvocationState)


class RuntimeAPIProtocol(Generic[T]):
    """The Runtime API state of one execution environment; every method is pure bookkeeping."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        buffered_limit: int = BUFFERED_LIMIT,
        history: int = 10_000,
    ) -> None:
        self.clock = clock
        self.buffered_limit = buffered_limit
        self.history = history
        self.pending: deque[T] = deque()
        self.invocations: dict[str, T] = {}
        self.init_failed = False

    # -- the emulator's side ---------------------------------------------------------------

    def check_new(self, request_id: str) -> None:
        previous = self.invocations.get(request_id)
        if previous is not None and not previous.done:
            # A finished one may come again: Lambda retries an asynchronous event under its
            # request id.
            raise DuplicateRequestIdError(f"request id {request_id!r} is in flight")

    def add(self, invocation: T) -> None:
        """Queue ``invocation`` for a GET /next (after :meth:`check_new`)."""
        self._forget_old()
        self.invocations[invocation.request_id] = invocation
        self.pending.append(invocation)

    def _forget_old(self) -> None:
        """Keep at most ``history`` finished invocations (a long ``lambda-sse dev`` session);
        a very late answer for a forgotten one gets 400 instead of 403."""
        excess = len(self.invocations) - self.history
        if excess <= 0:
            return
        for rid in [rid for rid, inv in self.invocations.items() if inv.done][:excess]:
            del self.invocations[rid]

    # -- the runtime's side ----------------------------------------------------------------

    def hand_out(self, invocation: T) -> Answer:
        """GET /next delivers ``invocation`` (taken from :attr:`pending`)."""
        invocation.handed_out_at = self.clock()
        return Answer(200, invocation.event, invocation.next_headers)

    def lookup(self, request_id: str) -> T | Answer:
        """The invocation a /response or /error names, or the answer refusing it."""
        invocation = self.invocations.get(request_id)
        if invocation is None or invocation.handed_out_at is None:
            return INVALID_REQUEST_ID
        if invocation.answered:
            return INVALID_STATE
        return invocation

    @staticmethod
    def response_mode(mode: str | None) -> Answer | None:
        """None when the response mode header is absent (buffered) or "streaming"."""
        if mode is None or mode == "streaming":
            return None
        return error_answer(
            400, "InvalidFunctionResponseMode", f"Invalid function response mode: {mode!r}"
        )

    @staticmethod
    def too_large(limit: int) -> Answer:
        message = f"Exceeded maximum allowed payload size ({limit} bytes)."
        return error_answer(413, "RequestEntityTooLarge", message)

    def accept_init_error(self) -> Answer | None:
        """None when /init/error is accepted (once), else the 403."""
        if self.init_failed:
            return INVALID_STATE
        self.init_failed = True
        return None


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key == wanted:
            return value
    return None


def error_type(headers: Iterable[tuple[str, str]], body: bytes) -> str | None:
    """An /error or /init/error's type: the header, else the body's ``errorType``."""
    header = _header(headers, ERROR_TYPE_HEADER)
    if header:
        return header
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    value = doc.get("errorType") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def streamed_outcome(trailers: dict[str, str]) -> InvocationOutcome:
    """A streamed response that ended with its final chunk: a success, with the error the
    trailers report, if any (docs: runtimes-custom.html#runtimes-custom-response-streaming)."""
    kind = trailers.get(ERROR_TYPE_HEADER)
    body: bytes | None = None
    if ERROR_BODY_HEADER in trailers:
        try:
            body = base64.b64decode(trailers[ERROR_BODY_HEADER], validate=True)
        except (binascii.Error, ValueError):
            body = trailers[ERROR_BODY_HEADER].encode()
    return InvocationOutcome(
        status="success", error_type=kind, error_body=body, trailer_error=kind is not None
    )
