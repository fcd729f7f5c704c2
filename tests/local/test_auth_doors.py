"""Who may call, over real loopback sockets with httpx: Function URL AWS_IAM (requests signed by
botocore's signer and by lambda_sse.iam.IAMAuth) and CORS, REST API keys and Lambda authorizers,
streamed routes included. The invoker is scripted (tests/local/test_frontdoor.py's); everything
from the socket to the Invoker protocol is real."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from lambda_sse.iam import IAMAuth
from lambda_sse.local.auth.iam import TrustStore
from lambda_sse.local.credentials import FUNCTION_CREDENTIALS, Credentials
from lambda_sse.local.frontdoor.doors import Access, FunctionUrlDoor, Reporter, RestApiDoor
from lambda_sse.local.frontdoor.http import Door, Limits, Listener, serve
from lambda_sse.local.frontdoor.replies import apigw_error
from lambda_sse.local.limiter import TokenBucket
from lambda_sse.local.model import (
    ApiConfig,
    ApiKey,
    AuthorizerConfig,
    CorsConfig,
    FunctionConfig,
    FunctionUrlConfig,
    HttpRoute,
    InvocationOutcome,
    ProjectConfig,
)
from lambda_sse.runtime.prelude import encode_prelude
from lambda_sse.sse import EventSource
from tests.local.test_frontdoor import STREAM_HEAD, FakeInvocation, Script, v1

pytestmark = pytest.mark.anyio

REGION = "eu-central-1"
NOT_AUTHORIZED = "User is not authorized to access this resource"
DEV = Credentials("AKIADEVELOPER0000001", "developer-secret")
LIMITS = Limits(
    max_head=1 << 20,
    max_body=1 << 22,
    head_reply=apigw_error(431, "x"),
    body_reply=apigw_error(413, "x"),
)
FN = FUNCTION_CREDENTIALS
GOOD_KEY = ApiKey("team", "k" * 24)
OFF_KEY = ApiKey("old", "o" * 24, enabled=False)


class Invoker:
    """Scripts per function, or a function of the event (authorizers)."""

    def __init__(self) -> None:
        self.scripts: dict[str, Script | Callable[[dict[str, Any]], Script]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}

    async def invoke(
        self, function: str, event: bytes, *, buckets: Sequence[TokenBucket] = ()
    ) -> FakeInvocation:
        decoded = json.loads(event)
        self.events.setdefault(function, []).append(decoded)
        script = self.scripts[function]
        return FakeInvocation(script(decoded) if callable(script) else script)


def function(name: str, *routes: HttpRoute, url: FunctionUrlConfig | None = None) -> FunctionConfig:
    return FunctionConfig(
        name=name, handler="h.m", runtime="python3.12", code_dir=Path("/"), routes=routes, url=url
    )


def policy(effect: str, resource: str, **context: Any) -> Script:
    output = {
        "principalId": "user-7",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }
    return Script(chunks=[(0, json.dumps(output).encode())])


def token_authorizer(event: dict[str, Any]) -> Script:
    """Allows "allow-*" tokens on every method of the stage, denies "deny", fails otherwise."""
    token = event["authorizationToken"]
    arn_prefix = event["methodArn"].split("/")[0]
    if token.startswith("allow"):
        return policy("Allow", f"{arn_prefix}/dev/*", tier="gold", n=3, ok=True)
    if token == "deny":
        return policy("Deny", f"{arn_prefix}/*")
    if token == "only-get":
        return policy("Allow", f"{arn_prefix}/dev/GET/*")
    if token == "object-context":
        return policy("Allow", "*", nested={"a": 1})
    message = "Unauthorized" if token == "unauthorized" else "boom"
    body = json.dumps({"errorMessage": message, "errorType": "Exception"}).encode()
    return Script(head=None, outcome=InvocationOutcome("function_error", "Exception", body))


TOKEN_AUTH = AuthorizerConfig(
    "tokenAuth", "auth", "TOKEN", ttl=300, validation=r"(allow|deny|only|object|unauth|boom).*"
)
REQUEST_AUTH = AuthorizerConfig(
    "requestAuth",
    "reqauth",
    "REQUEST",
    identity_sources=("method.request.header.X-User", "method.request.querystring.team"),
    ttl=0,
)
SSE_PRELUDE = encode_prelude({"statusCode": 200, "headers": {"Content-Type": "text/event-stream"}})


def project(url_auth: str = "NONE", cors: CorsConfig | None = None) -> ProjectConfig:
    return ProjectConfig(
        source=Path("/p/serverless.yml"),
        service="s",
        region=REGION,
        api=ApiConfig(stage="dev", api_keys=(GOOD_KEY, OFF_KEY)),
        functions=(
            function(
                "app",
                HttpRoute("GET", "/private", api_key_required=True),
                HttpRoute("GET", "/private-stream", transfer_mode="STREAM", api_key_required=True),
                HttpRoute("ANY", "/guarded/{proxy+}", authorizer=TOKEN_AUTH),
                HttpRoute("GET", "/stream", transfer_mode="STREAM", authorizer=TOKEN_AUTH),
                HttpRoute("GET", "/by-request", authorizer=REQUEST_AUTH),
                HttpRoute("GET", "/open"),
            ),
            function("auth"),
            function("reqauth"),
            function(
                "url",
                url=FunctionUrlConfig(invoke_mode="RESPONSE_STREAM", auth_type=url_auth, cors=cors),
            ),
        ),
    )


@dataclass
class Harness:
    invoker: Invoker
    base: str
    access: list[Access]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def running(make: Callable[[Invoker, Reporter], Door]) -> AsyncIterator[Harness]:
    invoker = Invoker()
    access: list[Access] = []
    listener: Listener = await serve(
        "127.0.0.1", 0, make(invoker, Reporter(access=access.append)), LIMITS
    )
    try:
        yield Harness(invoker, f"http://127.0.0.1:{listener.port}", access)
    finally:
        await listener.close()


def url_door(proj: ProjectConfig, *, auth: bool = True) -> Callable[[Invoker, Reporter], Door]:
    trust = TrustStore.build(developer=DEV, extra=[Credentials("AKIAEXTRA00000000001", "x-secret")])
    return lambda inv, rep: FunctionUrlDoor(
        proj, inv, proj.function("url"), rep, auth=auth, trust=trust
    )


def rest_door(clock: Clock, *, auth: bool = True) -> Callable[[Invoker, Reporter], Door]:
    return lambda inv, rep: RestApiDoor(project(), inv, rep, clock=clock, auth=auth)


def botocore_headers(
    method: str, url: str, body: bytes = b"", *, creds: BotoCredentials, region: str = REGION
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(creds, "lambda", region).add_auth(request)
    return dict(request.headers.items())


STREAMED = Script(
    head=STREAM_HEAD, chunks=[(0, SSE_PRELUDE), (0, b"id: 1\ndata: one\n\n"), (0, b"data: two\n\n")]
)


# -- Function URL: AWS_IAM ------------------------------------------------------------------------


async def test_iam_url_accepts_botocore_signatures_and_fills_the_event() -> None:
    async with running(url_door(project("AWS_IAM"))) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["url"] = STREAMED
        url = f"{h.base}/chat?x=1"
        body = b'{"prompt": "hi"}'
        headers = botocore_headers(
            "POST", url, body, creds=BotoCredentials(DEV.access_key, DEV.secret_key)
        )
        response = await client.post(url, content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.text == "id: 1\ndata: one\n\ndata: two\n\n"  # streamed behind IAM
        context = h.invoker.events["url"][0]["requestContext"]
        assert context["authorizer"]["iam"]["accessKey"] == DEV.access_key
        assert context["authorizer"]["iam"]["cognitoIdentity"] is None
        assert set(context["authorizer"]["iam"]) == {
            "accessKey",
            "accountId",
            "callerId",
            "cognitoIdentity",
            "principalOrgId",
            "userArn",
            "userId",
        }
        assert context["accountId"] == context["authorizer"]["iam"]["accountId"]
        # The functions' own credentials (temporary: with their session token) are trusted.
        creds = FUNCTION_CREDENTIALS
        signed = botocore_headers(
            "GET", url, creds=BotoCredentials(creds.access_key, creds.secret_key, creds.token)
        )
        assert (await client.get(url, headers=signed)).status_code == 200


async def test_iam_url_refuses_as_aws_does() -> None:
    async with running(url_door(project("AWS_IAM"))) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["url"] = STREAMED
        url = f"{h.base}/chat"
        dev = BotoCredentials(DEV.access_key, DEV.secret_key)
        cases = {
            "unsigned": {},
            "unknown key": botocore_headers("GET", url, creds=BotoCredentials("AKIANOBODY", "s")),
            "other region": botocore_headers("GET", url, creds=dev, region="us-east-1"),
            "other path": botocore_headers("GET", f"{h.base}/admin", creds=dev),
            "other method": botocore_headers("DELETE", url, creds=dev),
        }
        for case, headers in cases.items():
            response = await client.get(url, headers=headers)
            assert response.status_code == 403, case
            assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
            assert response.json()["Message"].startswith(
                "Forbidden. For troubleshooting Function URL"
            )
        forged_token = botocore_headers(
            "GET", url, creds=BotoCredentials(FN.access_key, FN.secret_key, "forged")
        )
        response = await client.get(url, headers=forged_token)
        assert response.status_code == 403
        assert response.json() == {
            "Message": "The security token included in the request is invalid."
        }
        assert "url" not in h.invoker.events  # never invoked
        assert all(a.status == 403 and a.note.startswith("AWS_IAM:") for a in h.access)


async def test_no_auth_lets_unsigned_requests_through() -> None:
    async with (
        running(url_door(project("AWS_IAM"), auth=False)) as h,
        httpx.AsyncClient() as client,
    ):
        h.invoker.scripts["url"] = STREAMED
        assert (await client.get(f"{h.base}/")).status_code == 200
        assert "authorizer" not in h.invoker.events["url"][0]["requestContext"]


async def test_iam_auth_client_signs_posts_and_each_eventsource_reconnect() -> None:
    stamps = iter(range(100))

    def clock() -> float:  # a new second per signature: each request has its own X-Amz-Date
        return time.time() - 60 + next(stamps)

    auth = IAMAuth(region=REGION, credentials=DEV, clock=clock)
    async with running(url_door(project("AWS_IAM"))) as h:
        h.invoker.scripts["url"] = STREAMED
        async with httpx.AsyncClient(auth=auth) as client:
            response = await client.post(f"{h.base}/p?a=b%20c", json={"prompt": "hi"})
            assert response.status_code == 200, response.text
            received = []
            source = EventSource(f"{h.base}/events", client=client, retry=0, max_attempts=5)
            async for event in source:
                received.append((event.id, event.data))
                if len(received) == 4:
                    await source.aclose()
        assert received == [("1", "one"), ("1", "two")] * 2
        events = h.invoker.events["url"]
        assert len(events) == 3
        # Every request was signed afresh: its own date, the reconnect's Last-Event-ID signed.
        dates = [e["headers"]["x-amz-date"] for e in events]
        assert len(set(dates)) == 3
        assert events[2]["headers"]["last-event-id"] == "1"
        assert "last-event-id" in events[2]["headers"]["authorization"]
        assert (
            events[0]["headers"]["x-amz-content-sha256"]
            != events[1]["headers"]["x-amz-content-sha256"]
        )


# -- Function URL: CORS ---------------------------------------------------------------------------

CORS = CorsConfig(
    allow_origins=("https://app.example.com", "http://127.0.0.1:*"),
    allow_methods=("GET", "POST"),
    allow_headers=("content-type", "x-custom"),
    expose_headers=("x-request-id",),
    max_age=600,
)


async def test_cors_preflight_is_answered_without_invoking() -> None:
    async with running(url_door(project("AWS_IAM", CORS))) as h, httpx.AsyncClient() as client:
        asked = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-custom",
        }
        allowed = await client.options(
            f"{h.base}/chat", headers={"Origin": "http://127.0.0.1:5173", **asked}
        )
        assert allowed.status_code == 200  # no signature needed: browsers never sign preflights
        assert allowed.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
        assert allowed.headers["access-control-allow-methods"] == "GET,POST"
        assert allowed.headers["access-control-allow-headers"] == "content-type,x-custom"
        assert allowed.headers["access-control-max-age"] == "600"
        assert "access-control-allow-credentials" not in allowed.headers
        refused = await client.options(
            f"{h.base}/chat", headers={"Origin": "https://evil.example", **asked}
        )
        assert refused.status_code == 200
        assert not [n for n in refused.headers if n.startswith("access-control-")]
        assert h.invoker.events == {}


async def test_cors_headers_on_streamed_responses_override_the_functions() -> None:
    async with running(url_door(project("NONE", CORS))) as h, httpx.AsyncClient() as client:
        prelude = encode_prelude(
            {
                "statusCode": 200,
                "headers": {
                    "Content-Type": "text/plain",
                    "Access-Control-Allow-Origin": "*",
                    "X-Request-Id": "r1",
                },
            }
        )
        h.invoker.scripts["url"] = Script(head=STREAM_HEAD, chunks=[(0, prelude), (0, b"hello")])
        response = await client.get(f"{h.base}/", headers={"Origin": "https://app.example.com"})
        assert response.text == "hello"
        assert response.headers.get_list("access-control-allow-origin") == [
            "https://app.example.com"
        ]
        assert response.headers["access-control-expose-headers"] == "x-request-id"
        assert response.headers["vary"] == "Origin"
        other = await client.get(f"{h.base}/", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers  # the function's "*" is dropped
        # An OPTIONS that is not a preflight goes to the function.
        await client.options(f"{h.base}/", headers={"Origin": "https://app.example.com"})
        assert len(h.invoker.events["url"]) == 3


async def test_cors_wildcard_and_credentials() -> None:
    cors = CorsConfig(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
    async with running(url_door(project("NONE", cors))) as h, httpx.AsyncClient() as client:
        asked = {"Origin": "http://x.test", "Access-Control-Request-Method": "PUT"}
        response = await client.options(f"{h.base}/", headers=asked)
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-allow-methods"] == "*"
    cors = replace(cors, allow_credentials=True)
    async with running(url_door(project("NONE", cors))) as h, httpx.AsyncClient() as client:
        response = await client.options(f"{h.base}/", headers=asked)
        # With credentials "*" would be refused by browsers: the origin and method are named.
        assert response.headers["access-control-allow-origin"] == "http://x.test"
        assert response.headers["access-control-allow-credentials"] == "true"
        assert response.headers["access-control-allow-methods"] == "PUT"


# -- REST API keys --------------------------------------------------------------------------------


async def test_api_keys_guard_private_methods_streams_included() -> None:
    async with running(rest_door(Clock())) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["app"] = Script(chunks=[(0, v1(200, "secret"))])
        for headers in ({}, {"x-api-key": "wrong" * 5}, {"x-api-key": OFF_KEY.value}):
            response = await client.get(f"{h.base}/dev/private", headers=headers)
            assert response.status_code == 403
            assert response.json() == {"message": "Forbidden"}
            assert response.headers["x-amzn-errortype"] == "ForbiddenException"
        assert "app" not in h.invoker.events
        response = await client.get(f"{h.base}/dev/private", headers={"X-API-Key": GOOD_KEY.value})
        assert response.status_code == 200
        assert response.text == "secret"
        identity = h.invoker.events["app"][0]["requestContext"]["identity"]
        assert identity["apiKey"] == GOOD_KEY.value
        assert len(identity["apiKeyId"]) == 10
        h.invoker.scripts["app"] = STREAMED
        response = await client.get(
            f"{h.base}/dev/private-stream", headers={"x-api-key": GOOD_KEY.value}
        )
        assert response.text == "id: 1\ndata: one\n\ndata: two\n\n"
        assert (await client.get(f"{h.base}/dev/private-stream")).status_code == 403


# -- REST Lambda authorizers ----------------------------------------------------------------------


async def test_token_authorizer_allow_deny_and_errors() -> None:
    clock = Clock()
    async with running(rest_door(clock)) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["app"] = Script(chunks=[(0, v1(200, "ok"))])
        h.invoker.scripts["auth"] = token_authorizer

        async def get(path: str, token: str | None) -> httpx.Response:
            headers = {"Authorization": token} if token is not None else {}
            return await client.get(f"{h.base}/dev{path}", headers=headers)

        response = await get("/guarded/a", "allow-1")
        assert response.status_code == 200
        authorizer = h.invoker.events["app"][0]["requestContext"]["authorizer"]
        assert authorizer["principalId"] == "user-7"
        assert (authorizer["tier"], authorizer["n"], authorizer["ok"]) == ("gold", "3", "true")
        assert isinstance(authorizer["integrationLatency"], int)
        call = h.invoker.events["auth"][0]
        assert call == {
            "type": "TOKEN",
            "authorizationToken": "allow-1",
            "methodArn": f"arn:aws:execute-api:{REGION}:000000000000:local/dev/GET/guarded/a",
        }
        expected = {
            None: (401, {"message": "Unauthorized"}),  # no token: the authorizer is not called
            "nope": (401, {"message": "Unauthorized"}),  # fails the validation expression
            "unauthorized": (401, {"message": "Unauthorized"}),  # raised "Unauthorized"
            "deny": (403, {"message": f"{NOT_AUTHORIZED} with an explicit deny"}),
            "boom": (500, {"message": None}),  # any other failure
            "object-context": (500, {"message": None}),  # context values must be scalars
        }
        for token, (status, body) in expected.items():
            response = await get("/guarded/a", token)
            assert (response.status_code, response.json()) == (status, body), token
        assert response.headers["x-amzn-errortype"] == "AuthorizerConfigurationException"
        assert [e["authorizationToken"] for e in h.invoker.events["auth"]] == [
            "allow-1",
            "unauthorized",
            "deny",
            "boom",
            "object-context",
        ]
        assert len(h.invoker.events["app"]) == 1  # refused requests never reached the function


async def test_authorizer_cache_ttl_and_policy_reuse() -> None:
    clock = Clock()
    async with running(rest_door(clock)) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["app"] = Script(chunks=[(0, v1(200, "ok"))])
        h.invoker.scripts["auth"] = token_authorizer
        headers = {"Authorization": "only-get"}
        assert (await client.get(f"{h.base}/dev/guarded/a", headers=headers)).status_code == 200
        assert (await client.get(f"{h.base}/dev/guarded/b", headers=headers)).status_code == 200
        assert len(h.invoker.events["auth"]) == 1  # cache hit
        # The cached policy is evaluated again for another method: it does not cover POST.
        response = await client.post(f"{h.base}/dev/guarded/a", headers=headers)
        assert response.status_code == 403
        assert response.json() == {"message": "User is not authorized to access this resource"}
        assert len(h.invoker.events["auth"]) == 1
        clock.now += 299.0
        await client.get(f"{h.base}/dev/guarded/a", headers=headers)
        assert len(h.invoker.events["auth"]) == 1
        clock.now += 1.0  # the TTL (300 s) is over
        await client.get(f"{h.base}/dev/guarded/a", headers=headers)
        assert len(h.invoker.events["auth"]) == 2
        # Another identity is another cache entry.
        await client.get(f"{h.base}/dev/guarded/a", headers={"Authorization": "allow-2"})
        assert len(h.invoker.events["auth"]) == 3


async def test_request_authorizer_identity_and_event_without_cache() -> None:
    async with running(rest_door(Clock())) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["app"] = Script(chunks=[(0, v1(200, "ok"))])
        h.invoker.scripts["reqauth"] = lambda event: policy("Allow", event["methodArn"])
        url = f"{h.base}/dev/by-request?team=red"
        assert (await client.get(url)).status_code == 401  # X-User missing
        assert (
            await client.get(f"{h.base}/dev/by-request", headers={"X-User": "ann"})
        ).status_code == 401
        assert "reqauth" not in h.invoker.events
        for _ in range(2):
            assert (await client.get(url, headers={"X-User": "ann"})).status_code == 200
        calls = h.invoker.events["reqauth"]
        assert len(calls) == 2  # TTL 0: no caching
        assert calls[0]["type"] == "REQUEST"
        assert calls[0]["headers"]["X-User"] == "ann"
        assert calls[0]["queryStringParameters"] == {"team": "red"}
        assert calls[0]["httpMethod"] == "GET"
        assert calls[0]["resource"] == "/by-request"
        assert calls[0]["methodArn"].endswith("/dev/GET/by-request")


async def test_stream_behind_authorizer_and_no_auth_switch() -> None:
    async with running(rest_door(Clock())) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["app"] = STREAMED
        h.invoker.scripts["auth"] = token_authorizer
        response = await client.get(f"{h.base}/dev/stream", headers={"Authorization": "allow-x"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.text == "id: 1\ndata: one\n\ndata: two\n\n"
        assert (await client.get(f"{h.base}/dev/stream")).status_code == 401
    async with running(rest_door(Clock(), auth=False)) as h, httpx.AsyncClient() as client:
        h.invoker.scripts["app"] = STREAMED
        assert (await client.get(f"{h.base}/dev/stream")).status_code == 200
        assert (await client.get(f"{h.base}/dev/private")).status_code == 200
        assert "auth" not in h.invoker.events
