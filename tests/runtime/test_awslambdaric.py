"""AWS's own Python runtime client (awslambdaric) is the reference for buffered behaviour: the
same handler, run by both against the same strict server, must produce the same requests,
modulo what legitimately differs (request ids, header details, stack-trace formatting)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest

from lambda_sse.local.runtime_api import RecordedRequest
from tests.support.runtime_api import InvokeResult, runtime_process, threaded_runtime_api

FUNCTIONS = Path(__file__).parent / "functions"
Client = Literal["lambda_sse", "awslambdaric"]

EVENTS: list[dict[str, Any]] = [{"why": "first"}, {"why": "second", "ü": "ascii-safe"}]


Run = tuple[list[InvokeResult], list[tuple[str, str]], list[RecordedRequest]]


def run_with(client: Client, handler: str) -> Run:
    with threaded_runtime_api() as api:
        with runtime_process(handler, api.address, cwd=FUNCTIONS, client=client):
            api.wait_for_poll(timeout=30)
            results = [
                api.invoke(
                    event,
                    timeout=30,
                    request_id=f"rid-{i}",
                    invocation_id=f"attempt-{i}",
                    cognito_identity='{"cognitoIdentityId":"id-9","cognitoIdentityPoolId":"p"}',
                    client_context='{"custom":{"k":"v"},"env":{},"client":{}}',
                )
                for i, event in enumerate(EVENTS)
            ]
            api.wait_for_poll(timeout=30)
        requests = api.requests
        shape = [(r.method, r.path) for r in requests]
    return results, shape, requests


@pytest.fixture(scope="module")
def reference() -> dict[str, Run]:
    return {h: run_with("awslambdaric", f"reference.{h}") for h in HANDLERS}


HANDLERS = ["ok", "fails", "context_view", "raw"]


@pytest.mark.parametrize("handler", HANDLERS)
def test_same_requests_as_awslambdaric(reference: dict[str, Run], handler: str) -> None:
    theirs, their_shape, their_requests = reference[handler]
    ours, our_shape, our_requests = run_with("lambda_sse", f"reference.{handler}")
    assert our_shape == their_shape  # same endpoints, same order, nothing extra
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine.outcome.status == ref.outcome.status
        if ref.outcome.status == "success":
            assert mine.head is not None
            assert ref.head is not None
            assert mine.head.content_type == ref.head.content_type
            if mine.head.content_type == "application/json":
                assert json.loads(mine.body) == json.loads(ref.body)
            else:
                assert mine.body == ref.body
            continue
        assert mine.outcome.error_body is not None
        assert ref.outcome.error_body is not None
        my_doc = json.loads(mine.outcome.error_body)
        ref_doc = json.loads(ref.outcome.error_body)
        assert set(my_doc) == set(ref_doc)
        for key in ("errorMessage", "errorType", "requestId"):
            assert my_doc[key] == ref_doc[key]
        # The same frames, formatted alike.
        assert my_doc["stackTrace"] == ref_doc["stackTrace"]
    # Both echo the invocation id (one attempt of the request) on their answers.
    for mine_r, ref_r in zip(our_requests, their_requests, strict=True):
        echoed = "lambda-runtime-invocation-id"
        assert mine_r.header(echoed) == ref_r.header(echoed)
    # The X-Ray error cause header, when there is one, says the same.
    header = "lambda-runtime-function-xray-error-cause"
    for mine_r, ref_r in zip(our_requests, their_requests, strict=True):
        ref_cause = ref_r.header(header)
        if ref_cause is None:
            assert mine_r.header(header) is None
            continue
        my_cause = mine_r.header(header)
        assert my_cause is not None
        mine_x, ref_x = json.loads(my_cause), json.loads(ref_cause)
        assert set(mine_x) == set(ref_x)
        assert mine_x["paths"] == ref_x["paths"]
        assert mine_x["exceptions"] == ref_x["exceptions"]


INIT_CASES = {
    "nowhere.handler": {},
    "empty.handler": {"empty": "x = 1\n"},
    "broken.handler": {"broken": "def handler(event, context)\n    return 1\n"},
    "angry.handler": {"angry": "raise ValueError('config missing')\n"},
}


def init_error_with(client: Client, handler: str, root: Path) -> tuple[str | None, Any, int]:
    with threaded_runtime_api() as api:
        with runtime_process(handler, api.address, cwd=root, client=client) as proc:
            outcome = api.init_error(timeout=30)
            code = proc.wait(30)
        (post,) = [r for r in api.requests if r.path.endswith("/init/error")]
    assert outcome.error_body is not None
    return post.header("lambda-runtime-function-error-type"), json.loads(outcome.error_body), code


@pytest.mark.parametrize("handler", sorted(INIT_CASES))
def test_same_init_errors_as_awslambdaric(tmp_path: Path, handler: str) -> None:
    for name, source in INIT_CASES[handler].items():
        (tmp_path / f"{name}.py").write_text(source)
    their_type, theirs, their_code = init_error_with("awslambdaric", handler, tmp_path)
    our_type, ours, our_code = init_error_with("lambda_sse", handler, tmp_path)
    assert (our_type, our_code) == (their_type, their_code)
    assert (ours["errorType"], ours["errorMessage"]) == (
        theirs["errorType"],
        theirs["errorMessage"],
    )
    assert ours["stackTrace"] == theirs["stackTrace"]
