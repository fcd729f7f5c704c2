"""Who may call: what a SigV4 check (Function URL AWS_IAM), an authorizer cache hit and an API key
check add to a request, beside the same route without auth, in the same run.

Each variant is a real front door (asyncio + h11 on loopback) over an in-process invoker that
answers at once, so the figures are the door's own cost: the function's run time is the same
with or without auth and would only add noise. One keep-alive connection per variant sends
pre-built requests (SigV4: signed beforehand, each with its own query so no two are alike; the
authorizer: one token, so every request after the first is a cache hit) and times each response;
the variants take turns in rounds so that they share the machine's drift. Also the sans-IO
SigV4 check alone.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import best_interleaved, log, markdown_table  # noqa: E402
from lambda_sse.local.auth.iam import TrustStore  # noqa: E402
from lambda_sse.local.credentials import Credentials  # noqa: E402
from lambda_sse.local.frontdoor.doors import FunctionUrlDoor, RestApiDoor  # noqa: E402
from lambda_sse.local.frontdoor.http import Limits, Listener, serve  # noqa: E402
from lambda_sse.local.frontdoor.replies import apigw_error  # noqa: E402
from lambda_sse.local.limiter import TokenBucket  # noqa: E402
from lambda_sse.local.model import (  # noqa: E402
    ApiConfig,
    ApiKey,
    AuthorizerConfig,
    FunctionConfig,
    FunctionUrlConfig,
    HttpRoute,
    InvocationOutcome,
    ProjectConfig,
    ResponseHead,
)
from lambda_sse.sigv4 import Secret, check, sign  # noqa: E402

REGION = "eu-west-1"
DEV = Credentials("AKIABENCHDEVELOPER01", "bench-secret")
KEY = ApiKey("bench", "bench-api-key-0123456789")
ROUNDS = 25
PER_ROUND = 200  # requests per variant per round: 5,000 each
TARGET_MS = 0.3
LIMITS = Limits(1 << 20, 1 << 20, apigw_error(431, "x"), apigw_error(413, "x"))
ALLOW = json.dumps(
    {
        "principalId": "bench",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
        },
    }
).encode()
RESULT_V1 = json.dumps({"statusCode": 200, "body": "ok"}).encode()
RESULT_V2 = json.dumps({"statusCode": 200, "body": "ok"}).encode()
OK = InvocationOutcome("success")
HEAD = ResponseHead(streaming=False, content_type="application/json")


class Done:
    request_id = "bench"

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def head(self) -> ResponseHead:
        return HEAD

    async def body(self) -> AsyncIterator[bytes]:
        yield self._body

    async def outcome(self) -> InvocationOutcome:
        return OK

    def detach(self) -> None:
        pass


class Instant:
    """An invoker that answers at once; counts the authorizer's calls."""

    def __init__(self) -> None:
        self.authorizer_calls = 0

    async def invoke(
        self, function: str, event: bytes, *, buckets: Sequence[TokenBucket] = ()
    ) -> Done:
        if function == "auth":
            self.authorizer_calls += 1
            return Done(ALLOW)
        return Done(RESULT_V2 if function.startswith("url") else RESULT_V1)


def fn(name: str, *routes: HttpRoute, url: FunctionUrlConfig | None = None) -> FunctionConfig:
    return FunctionConfig(name, "h.m", "python3.12", Path("/"), routes=routes, url=url)


AUTH = AuthorizerConfig("tokens", "auth", ttl=3600)
PROJECT = ProjectConfig(
    source=Path("/bench/serverless.yml"),
    service="bench",
    region=REGION,
    api=ApiConfig(stage="dev", api_keys=(KEY,)),
    functions=(
        fn(
            "app",
            HttpRoute("GET", "/open"),
            HttpRoute("GET", "/guarded", authorizer=AUTH),
            HttpRoute("GET", "/keyed", api_key_required=True),
        ),
        fn("auth"),
        fn("url-open", url=FunctionUrlConfig()),
        fn("url-iam", url=FunctionUrlConfig(auth_type="AWS_IAM")),
    ),
)


def request(path: str, port: int, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def signed(path: str, query: str, port: int) -> bytes:
    host = [("Host", f"127.0.0.1:{port}")]
    added = sign(
        "GET", path, query, host, b"", access_key=DEV.access_key, secret_key=DEV.secret_key,
        token=None, region=REGION, service="lambda", now=time.time(),
    )  # fmt: skip
    return request(f"{path}?{query}", port, added)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def roundtrip(self, raw: bytes) -> float:
        start = time.perf_counter()
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await self.reader.readexactly(length)
        elapsed = time.perf_counter() - start
        if not head.startswith(b"HTTP/1.1 200"):
            raise AssertionError(f"{raw[:60]!r} -> {head[:40]!r} {body[:80]!r}")
        return elapsed


async def main() -> str:
    invoker = Instant()
    trust = TrustStore.build(developer=DEV)
    listeners: list[Listener] = []
    rest = await serve("127.0.0.1", 0, RestApiDoor(PROJECT, invoker), LIMITS)
    url_open = await serve(
        "127.0.0.1", 0, FunctionUrlDoor(PROJECT, invoker, PROJECT.function("url-open")), LIMITS
    )
    url_iam = await serve(
        "127.0.0.1",
        0,
        FunctionUrlDoor(PROJECT, invoker, PROJECT.function("url-iam"), trust=trust),
        LIMITS,
    )
    listeners += [rest, url_open, url_iam]
    total = ROUNDS * PER_ROUND
    log(f"signing {total} requests")
    iam_requests = [signed("/chat", f"i={i}", url_iam.port) for i in range(total + 1)]
    open_requests = [request(f"/chat?i={i}", url_open.port) for i in range(total + 1)]
    token = [("Authorization", "Bearer bench-token")]
    variants = {
        "url, NONE": (url_open.port, lambda i: open_requests[i]),
        "url, AWS_IAM (SigV4 check)": (url_iam.port, lambda i: iam_requests[i]),
        "rest, no auth": (rest.port, lambda i: request(f"/dev/open?i={i}", rest.port)),
        "rest, authorizer cache hit": (
            rest.port,
            lambda i: request(f"/dev/guarded?i={i}", rest.port, token),
        ),
        "rest, API key": (
            rest.port,
            lambda i: request(f"/dev/keyed?i={i}", rest.port, [("x-api-key", KEY.value)]),
        ),
    }
    connections = {}
    for name, (port, _) in variants.items():
        connections[name] = Connection(*await asyncio.open_connection("127.0.0.1", port))
    times: dict[str, list[float]] = {name: [] for name in variants}
    # Warm up (and fill the authorizer cache) before timing.
    for name, (_, make) in variants.items():
        await connections[name].roundtrip(make(total))
    log(f"{ROUNDS} rounds of {PER_ROUND} requests per variant")
    for round_ in range(ROUNDS):
        for name, (_, make) in variants.items():
            conn = connections[name]
            for k in range(PER_ROUND):
                times[name].append(await conn.roundtrip(make(round_ * PER_ROUND + k)))
    calls = invoker.authorizer_calls
    for conn in connections.values():
        conn.writer.close()
    for listener in listeners:
        await listener.close()
    if calls != 1:
        raise AssertionError(f"the authorizer ran {calls} times: not cache hits")

    def p50(name: str) -> float:
        return statistics.median(times[name]) * 1000

    def p99(name: str) -> float:
        return statistics.quantiles(times[name], n=100)[98] * 1000

    rows: list[list[object]] = []
    for name, base in (
        ("url, AWS_IAM (SigV4 check)", "url, NONE"),
        ("rest, authorizer cache hit", "rest, no auth"),
        ("rest, API key", "rest, no auth"),
    ):
        added = p50(name) - p50(base)
        rows.append(
            [
                f"{name}: p50 per request (ms)",
                f"{p50(name):.3f}",
                f"{p50(base):.3f} ({base})",
                f"{added:+.3f}",
                f"<= +{TARGET_MS} ms",
                "met" if added <= TARGET_MS else "NOT met",
            ]
        )
        rows.append(["  p99 (ms)", f"{p99(name):.3f}", f"{p99(base):.3f}", "", "", ""])

    # The sans-IO check alone, beside hashing the same request (what every server does anyway).
    raw = iam_requests[0].decode()
    head_lines = raw.split("\r\n")[1:-2]
    headers = [tuple(line.split(": ", 1)) for line in head_lines]
    pairs = [(h[0], h[1]) for h in headers]
    secret = Secret(DEV.secret_key, None, "dev")
    now = time.time()

    def verify() -> None:
        for _ in range(1000):
            check("GET", "/chat", "i=0", pairs, b"", region=REGION, service="lambda",
                  lookup=lambda key: secret, now=now)  # fmt: skip

    (verify_seconds,) = best_interleaved(verify)
    rows.append(
        [
            "SigV4 check alone, sans-IO (µs per request)",
            f"{verify_seconds * 1000:.1f}",
            "",
            "",
            "",
            "",
        ]
    )
    table = markdown_table(
        ["metric", "with auth", "without (same run)", "added", "target", "verdict"], rows
    )
    intro = (
        "Real front doors (asyncio + h11, loopback) over an in-process invoker that answers at "
        "once, so the figures are the doors' own cost; one keep-alive connection per variant, "
        f"{total:,} requests each, the variants taking turns in {ROUNDS} rounds. SigV4: every "
        "request signed beforehand with its own query string (the server hashes and verifies "
        "each). Authorizer: one token, so every timed request is a cache hit (the authorizer "
        "ran once, in the warm-up). The machine is shared: ratios matter more than the figures."
    )
    return f"## Who may call (auth overhead)\n\n{intro}\n\n{table}\n"


if __name__ == "__main__":
    print(asyncio.run(main()))
