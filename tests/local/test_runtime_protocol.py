"""The Runtime API's rules without sockets: the sans-IO core the asyncio server is a shell of."""

from __future__ import annotations

import base64
import json

import pytest

from lambda_sse.aws import BUFFERED_LIMIT
from lambda_sse.errors import DuplicateRequestIdError
from lambda_sse.local.runtime_protocol import (
    API_PREFIX,
    Answer,
    InvocationState,
    RuntimeAPIProtocol,
    error_type,
    next_headers,
    route,
    streamed_outcome,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(rid: str) -> InvocationState:
    return InvocationState(rid, b"{}", next_headers(rid, 1, "arn", []))


def test_routes() -> None:
    assert route("GET", f"{API_PREFIX}/invocation/next").kind == "next"
    assert route("POST", f"{API_PREFIX}/init/error").kind == "init_error"
    assert route("POST", f"{API_PREFIX}/invocation/a/b/response") == ("response", "a/b", None)
    assert route("POST", f"{API_PREFIX}/invocation/x/error")[:2] == ("error", "x")
    unknown = route("POST", f"{API_PREFIX}/invocation/x/other")
    assert unknown.kind == "unknown"
    assert unknown.answer is not None
    assert unknown.answer.status == 404
    root = route("GET", "/").answer
    assert root is not None
    assert json.loads(root.body)["errorType"] == "NotFound"
    # Only the right methods: a GET on /response is no endpoint.
    assert route("GET", f"{API_PREFIX}/invocation/x/response").kind == "unknown"


def test_next_headers_skip_empty_values() -> None:
    optional: list[tuple[str, str | None]] = [("Lambda-Runtime-Trace-Id", ""), ("X", "1")]
    headers = next_headers("r", 12, "arn:x", optional)
    assert headers == [
        ("Lambda-Runtime-Aws-Request-Id", "r"),
        ("Lambda-Runtime-Deadline-Ms", "12"),
        ("Lambda-Runtime-Invoked-Function-Arn", "arn:x"),
        ("X", "1"),
    ]


def test_lookup_hand_out_and_answer_once() -> None:
    clock = Clock()
    proto: RuntimeAPIProtocol[InvocationState] = RuntimeAPIProtocol(clock=clock)
    inv = state("r1")
    proto.check_new("r1")
    proto.add(inv)
    with pytest.raises(DuplicateRequestIdError, match="in flight"):
        proto.check_new("r1")  # not while it runs
    unknown = proto.lookup("nope")
    assert isinstance(unknown, Answer)
    assert unknown.status == 400
    not_yet = proto.lookup("r1")  # queued but not handed out: the same 400
    assert isinstance(not_yet, Answer)
    assert not_yet.status == 400
    assert proto.pending.popleft() is inv
    answer = proto.hand_out(inv)
    assert (answer.status, answer.body, inv.handed_out_at) == (200, b"{}", 100.0)
    assert proto.lookup("r1") is inv
    inv.answered = True
    refused = proto.lookup("r1")
    assert isinstance(refused, Answer)
    assert refused.status == 403
    # Once answered, the id may come again: Lambda retries an asynchronous event under its id.
    proto.check_new("r1")


def test_response_mode_and_size() -> None:
    assert RuntimeAPIProtocol.response_mode(None) is None
    assert RuntimeAPIProtocol.response_mode("streaming") is None
    bad = RuntimeAPIProtocol.response_mode("Buffered")
    assert bad is not None
    assert bad.status == 400
    assert json.loads(bad.body)["errorType"] == "InvalidFunctionResponseMode"
    too_large = RuntimeAPIProtocol.too_large(BUFFERED_LIMIT)
    assert too_large.status == 413
    assert str(BUFFERED_LIMIT) in json.loads(too_large.body)["errorMessage"]


def test_init_error_is_accepted_once() -> None:
    proto: RuntimeAPIProtocol[InvocationState] = RuntimeAPIProtocol(clock=Clock())
    assert proto.accept_init_error() is None
    again = proto.accept_init_error()
    assert again is not None
    assert again.status == 403


def test_history_forgets_only_finished_invocations() -> None:
    proto: RuntimeAPIProtocol[InvocationState] = RuntimeAPIProtocol(clock=Clock(), history=2)
    first = state("a")
    for inv in (first, state("b"), state("c")):
        proto.add(inv)  # each add first trims the table to ``history``
    first.answered = True  # finished
    proto.add(state("d"))
    assert set(proto.invocations) == {"b", "c", "d"}
    proto.add(state("e"))  # nothing finished to forget: it grows rather than lose one in flight
    assert set(proto.invocations) == {"b", "c", "d", "e"}


def test_outcomes_from_trailers_and_error_bodies() -> None:
    assert streamed_outcome({}).error_type is None
    body = base64.b64encode(b'{"errorMessage":"x"}').decode()
    outcome = streamed_outcome(
        {"lambda-runtime-function-error-type": "E", "lambda-runtime-function-error-body": body}
    )
    assert (outcome.status, outcome.error_type, outcome.trailer_error) == ("success", "E", True)
    assert outcome.error_body == b'{"errorMessage":"x"}'
    raw = streamed_outcome({"lambda-runtime-function-error-body": "not base64!"})
    assert raw.error_body == b"not base64!"
    assert error_type([("lambda-runtime-function-error-type", "H")], b'{"errorType":"B"}') == "H"
    assert error_type([], b'{"errorType":"B"}') == "B"
    assert error_type([], b"not json") is None
    assert error_type([], b"[1]") is None
