"""The Lambda API's sans-IO parts: event-stream framing (AWS SDKs' test vectors, botocore's
decoder), FunctionName resolution, request parsing and error replies, the log tail."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from botocore.eventstream import EventStreamBuffer

from lambda_sse.errors import LambdaAPIError
from lambda_sse.local.frontdoor.request import Request
from lambda_sse.local.lambda_api.door import overlapping_routes
from lambda_sse.local.lambda_api.eventstream import (
    EventStreamDecoder,
    EventStreamError,
    encode_headers,
    encode_message,
    invoke_complete,
    payload_chunk,
)
from lambda_sse.local.lambda_api.names import resolve
from lambda_sse.local.lambda_api.protocol import error_reply, parse_invoke
from lambda_sse.local.lambda_api.tail import LogTap
from lambda_sse.local.limiter import TokenBucket
from lambda_sse.local.logs import LogRecord
from lambda_sse.local.model import FunctionConfig, HttpRoute, Invocation, ProjectConfig

# The event-stream test vectors shared by the AWS SDKs (aws-sdk-go's eventstream testdata, also
# in botocore's tests/unit/test_eventstream.py): a payload without headers, and one string
# header.
PAYLOAD_NO_HEADERS = (
    b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfd\x52\x8c\x5a{'foo':'bar'}\xc3\x65\x39\x36"
)
PAYLOAD_ONE_STR_HEADER = (
    b"\x00\x00\x00\x3d\x00\x00\x00\x20\x07\xfd\x83\x96"
    b"\x0ccontent-type\x07\x00\x10application/json"
    b"{'foo':'bar'}\x8d\x9c\x08\xb1"
)


def test_framing_matches_the_sdk_test_vectors() -> None:
    assert encode_message(b"", b"{'foo':'bar'}") == PAYLOAD_NO_HEADERS
    headers = encode_headers([("content-type", "application/json")])
    assert encode_message(headers, b"{'foo':'bar'}") == PAYLOAD_ONE_STR_HEADER


def test_payload_chunk_bytes() -> None:
    frame = payload_chunk(b"hi")
    # 4 + 4 + 4 prelude, headers, 2 payload bytes, 4 CRC.
    headers = (
        b"\x0b:event-type\x07\x00\x0cPayloadChunk"
        b"\x0d:content-type\x07\x00\x18application/octet-stream"
        b"\x0d:message-type\x07\x00\x05event"
    )
    assert frame[:4] == (16 + len(headers) + 2).to_bytes(4, "big")
    assert frame[4:8] == len(headers).to_bytes(4, "big")
    assert frame[12 : 12 + len(headers)] == headers
    assert frame[12 + len(headers) : -4] == b"hi"


@pytest.mark.parametrize("split", [1, 3, 7, 1000])
def test_botocore_decodes_our_frames_in_any_split(split: int) -> None:
    stream = payload_chunk(b"a" * 100) + payload_chunk(b"") + invoke_complete("E", "d", "TG9n")
    buffer = EventStreamBuffer()
    messages = []
    for at in range(0, len(stream), split):
        buffer.add_data(stream[at : at + split])
        messages.extend(buffer)
    assert [m.headers[":event-type"] for m in messages] == [
        "PayloadChunk",
        "PayloadChunk",
        "InvokeComplete",
    ]
    assert messages[0].payload == b"a" * 100
    assert messages[0].headers[":message-type"] == "event"
    assert json.loads(messages[2].payload) == {
        "ErrorCode": "E",
        "ErrorDetails": "d",
        "LogResult": "TG9n",
    }
    assert (
        json.loads(EventStreamDecoder().feed(invoke_complete())[0].payload) == {}
    )  # a clean end carries no key


def test_our_decoder_round_trips_and_checks_crcs() -> None:
    stream = payload_chunk(b"x") + invoke_complete("Sandbox.Timeout", "late")
    decoder = EventStreamDecoder()
    got = [m for byte in stream for m in decoder.feed(bytes([byte]))]
    assert next(m.payload for m in got) == b"x"
    assert got[1].headers[":event-type"] == "InvokeComplete"
    assert decoder.pending == 0
    broken = bytearray(payload_chunk(b"x"))
    broken[-6] ^= 1
    with pytest.raises(EventStreamError, match="message CRC"):
        EventStreamDecoder().feed(bytes(broken))
    broken = bytearray(payload_chunk(b"x"))
    broken[2] ^= 1
    with pytest.raises(EventStreamError, match="prelude CRC"):
        EventStreamDecoder().feed(bytes(broken))


# -- names -------------------------------------------------------------------------------------


def project(*functions: FunctionConfig) -> ProjectConfig:
    return ProjectConfig(source=Path("serverless.yml"), service="svc", functions=functions)


def fn(
    name: str, deployed: str | None = None, routes: tuple[HttpRoute, ...] = ()
) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        handler="h.h",
        runtime="python3.12",
        code_dir=Path("."),
        deployed_name=deployed,
        routes=routes,
    )


def test_a_key_wins_over_another_functions_deployed_name() -> None:
    p = project(fn("a", deployed="b"), fn("b", deployed="svc-dev-b"))
    assert resolve(p, "b", None).function.name == "b"
    assert resolve(p, "svc-dev-b", None).function.name == "b"


@pytest.mark.parametrize(
    ("reference", "qualifier", "code"),
    [
        ("x" * 65, None, "ValidationException"),
        ("a" * 171, None, "ValidationException"),
        ("a:b:c", None, "ValidationException"),
        ("a", "q" * 129, "ValidationException"),
        ("a:$LATEST", "v1", "InvalidParameterValueException"),
        ("a:1", None, "ResourceNotFoundException"),
        ("zz", None, "ResourceNotFoundException"),
    ],
)
def test_bad_references(reference: str, qualifier: str | None, code: str) -> None:
    with pytest.raises(LambdaAPIError) as info:
        resolve(project(fn("a")), reference, qualifier)
    assert info.value.code == code


# -- requests and replies ----------------------------------------------------------------------


def request(path: str, body: bytes = b"{}", method: str = "POST", **headers: str) -> Request:
    return Request(method, path, tuple((k.replace("_", "-"), v) for k, v in headers.items()), body)


def test_parse_an_invoke() -> None:
    context = base64.b64encode(b'{"custom": {}}').decode()
    call = parse_invoke(
        request(
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aa/invocations"
            "?Qualifier=%24LATEST",
            b"",
            X_Amz_Invocation_Type="Event",
            X_Amz_Log_Type="Tail",
            X_Amz_Client_Context=context,
        ),
        project(fn("a")),
    )
    assert call.operation == "Invoke"
    assert call.target.function.name == "a"
    assert (call.invocation_type, call.tail, call.payload) == ("Event", True, b"{}")
    assert call.client_context == '{"custom": {}}'


@pytest.mark.parametrize(
    ("path", "method", "body", "code", "status"),
    [
        ("/2015-03-31/functions/a", "GET", b"", "UnsupportedOperationException", 501),
        ("/2015-03-31/functions/a/invocations", "GET", b"", "UnsupportedOperationException", 501),
        (
            "/2015-03-31/functions/a/invocations",
            "POST",
            b"NaN",
            "InvalidRequestContentException",
            400,
        ),
        (
            "/2015-03-31/functions/a/invocations",
            "POST",
            b"\xff",
            "InvalidRequestContentException",
            400,
        ),
    ],
)
def test_refused_requests(path: str, method: str, body: bytes, code: str, status: int) -> None:
    with pytest.raises(LambdaAPIError) as info:
        parse_invoke(request(path, body, method), project(fn("a")))
    assert (info.value.code, info.value.status) == (code, status)


def test_error_reply_has_aws_shape() -> None:
    reply = error_reply(LambdaAPIError("ResourceNotFoundException", 404, "gone"), "rid")
    assert reply.status == 404
    assert ("X-Amzn-ErrorType", "ResourceNotFoundException") in reply.headers
    assert json.loads(reply.body) == {"Type": "User", "Message": "gone"}
    throttled = error_reply(
        LambdaAPIError("TooManyRequestsException", 429, "Rate Exceeded.", fields={"Reason": "R"}),
        "rid",
    )
    assert json.loads(throttled.body) == {
        "Type": "User",
        "message": "Rate Exceeded.",
        "Reason": "R",
    }


def test_overlapping_http_api_routes_are_reported() -> None:
    catch_all = fn("api", routes=(HttpRoute("ANY", "/{proxy+}", kind="http_api"),))
    narrow = fn("n", routes=(HttpRoute("GET", "/items", kind="http_api"),))
    assert overlapping_routes(project(catch_all, narrow)) == ["ANY /{proxy+} (api)"]
    assert overlapping_routes(project(narrow)) == []


# -- the tail ----------------------------------------------------------------------------------


def test_tail_attributes_late_output_and_forgets_old_invocations() -> None:
    seen: list[LogRecord] = []
    tap = LogTap(seen.append, limit=64)
    tap(LogRecord("f", "platform", "START RequestId: r1 Version: $LATEST", "r1"))
    tap(LogRecord("f", "output", "printed", None))  # untagged: the one open invocation's
    tap(LogRecord("f", "warning", "not in the tail", "r1"))
    tap(LogRecord("f", "platform", "END RequestId: r1", "r1"))
    tap(LogRecord("f", "platform", "REPORT RequestId: r1\tDuration: 1 ms", "r1"))
    tap(LogRecord("f", "output", "after the end", None))  # nobody's
    assert len(seen) == 6
    log = base64.b64decode(tap.take("r1")).decode()
    assert (
        log
        == (
            "START RequestId: r1 Version: $LATEST\nprinted\nEND RequestId: r1\n"
            "REPORT RequestId: r1\tDuration: 1 ms\n"
        )[-64:]
    )
    assert tap.take("r1") == ""
    for i in range(600):
        tap(LogRecord("f", "platform", f"START RequestId: x{i} Version: $LATEST", f"x{i}"))
    assert tap.take("x0") == ""  # forgotten: at most 512 invocations are remembered
    assert tap.take("x599") != ""


# -- config: deployed names and asynchronous settings ------------------------------------------

SAM = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Named:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: h.h
      FunctionName: my-named
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        MaximumEventAgeInSeconds: 120
  Generated:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: h.h}
"""


def test_sam_function_name_and_event_invoke_config(tmp_path: Path) -> None:
    from lambda_sse.local.config import load_project
    from lambda_sse.local.model import AsyncConfig

    (tmp_path / "template.yaml").write_text(SAM)
    project = load_project(tmp_path)
    named, generated = project.function("Named"), project.function("Generated")
    assert named.deployed_name == "my-named"
    assert named.async_config == AsyncConfig(0, 120)
    assert generated.deployed_name is None  # CloudFormation would generate one
    assert generated.async_config == AsyncConfig(2, 21600)
    assert resolve(project, "my-named", None).function is named


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("maximumRetryAttempts: 3", "functions.f.maximumRetryAttempts"),
        ("maximumEventAge: 30", "functions.f.maximumEventAge"),
    ],
)
def test_bad_async_settings_name_the_key(tmp_path: Path, setting: str, key: str) -> None:
    from lambda_sse.errors import ConfigError
    from lambda_sse.local.config import load_project

    (tmp_path / "serverless.yml").write_text(
        f"service: s\nprovider: {{name: aws, runtime: python3.12}}\n"
        f"functions:\n  f:\n    handler: h.h\n    {setting}\n"
    )
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as info:
        load_project(tmp_path)
    assert "out of range" in str(info.value)


@pytest.mark.anyio
async def test_an_overlapping_http_api_route_is_warned_about_at_start() -> None:
    from lambda_sse.local.app import _print_table
    from lambda_sse.local.frontdoor.doors import Reporter
    from lambda_sse.local.server import Console, DevServer

    catch_all = fn("api", routes=(HttpRoute("ANY", "/{proxy+}", kind="http_api"),))
    warnings: list[str] = []
    server = DevServer(
        project(catch_all), _NoInvoker(), port=0, reporter=Reporter(warning=warnings.append)
    )
    await server.start()
    try:
        assert server.lambda_endpoint == f"http://127.0.0.1:{server.rest_port}"
        out = io.StringIO()
        _print_table(Console(out, color=False), server.project, server, limits=True)
        line = f"AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:{server.rest_port}"
        assert any(
            row.startswith("  LAMBDA ") and row.endswith(line)
            for row in out.getvalue().splitlines()
        )
    finally:
        await server.close()
    assert len(warnings) == 1
    assert "HTTP API route ANY /{proxy+} (api) overlaps the Lambda API's paths" in warnings[0]


class _NoInvoker:
    async def invoke(
        self, function: str, event: bytes, *, buckets: Sequence[TokenBucket] = ()
    ) -> Invocation:
        raise AssertionError("not invoked")


# -- the function environment ------------------------------------------------------------------


def test_functions_get_the_endpoint_and_credentials_as_on_lambda() -> None:
    from lambda_sse.local.runtimes import LOCAL_CREDENTIALS, reserved_environment

    endpoint = {"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9"}
    env = reserved_environment(
        fn("f"), runtime_api="x", region="r", log_stream="l", base_env={}, platform_env=endpoint
    )
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == "http://127.0.0.1:9"
    assert {k: env[k] for k in LOCAL_CREDENTIALS} == LOCAL_CREDENTIALS
    assert set(LOCAL_CREDENTIALS) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
    # The developer's own credentials (or profile) win, so calls to real AWS keep working.
    mine = {"AWS_ACCESS_KEY_ID": "AKIAME", "AWS_SECRET_ACCESS_KEY": "s"}
    env = reserved_environment(fn("f"), runtime_api="x", region="r", log_stream="l", base_env=mine)
    assert (env["AWS_ACCESS_KEY_ID"], "AWS_SESSION_TOKEN" in env) == ("AKIAME", False)
    env = reserved_environment(
        fn("f"), runtime_api="x", region="r", log_stream="l", base_env={"AWS_PROFILE": "dev"}
    )
    assert "AWS_ACCESS_KEY_ID" not in env
    # A function's own environment overrides the emulator's endpoint.
    own = FunctionConfig(
        name="g",
        handler="h.h",
        runtime="python3.12",
        code_dir=Path("."),
        environment={"AWS_ENDPOINT_URL_LAMBDA": "http://elsewhere"},
    )
    env = reserved_environment(
        own, runtime_api="x", region="r", log_stream="l", base_env={}, platform_env=endpoint
    )
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == "http://elsewhere"
