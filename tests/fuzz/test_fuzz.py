"""Fuzzing every public entry that takes outside input: it may refuse an input only with the
project's own errors (``LambdaSSEError``), never let a Python error of its own escape.

Entries: the event translators (AWS's sample events, mutated), the ASGI bridge, the SSE decoder,
the prelude decoder, config loading (YAML text and structures), the front doors' request parsing
(raw bytes through the HTTP shell, then events built and translated back), and the doors' parsing
of function results and preludes.

By default each entry runs a bounded number of examples (seconds in all, in CI). A longer run:
``LAMBDA_SSE_FUZZ_SECONDS=60 pytest tests/fuzz -s`` keeps each entry going for that many seconds
(fresh random examples each round) and prints how many examples ran;
``LAMBDA_SSE_FUZZ_EXAMPLES`` sets the examples per entry of the bounded run.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_sse.asgi import handler
from lambda_sse.asgi.types import Receive, Scope, Send
from lambda_sse.errors import LambdaSSEError
from lambda_sse.events import HttpResponse, detect
from lambda_sse.events.model import EventShapeError
from lambda_sse.local.chunked import ChunkedDecoder
from lambda_sse.local.config import load_project
from lambda_sse.local.frontdoor.build import build_v1_event, build_v2_event, encode_event
from lambda_sse.local.frontdoor.http import Limits, _read_request, _value_bytes
from lambda_sse.local.frontdoor.replies import (
    Reply,
    head_from_prelude,
    parse_v1_result,
    parse_v2_result,
)
from lambda_sse.local.runtime_protocol import RuntimeAPIProtocol, route
from lambda_sse.runtime.prelude import PreludeDecoder
from lambda_sse.runtime.stream import ResponseStream
from lambda_sse.sse import SSEDecoder
from tests.asgi import aws_events

EXAMPLES = int(os.environ.get("LAMBDA_SSE_FUZZ_EXAMPLES", "120"))
SECONDS = float(os.environ.get("LAMBDA_SSE_FUZZ_SECONDS", "0"))
RUNS: dict[str, int] = {}  # entry -> examples run, for the long run's summary

# -- strategies ----------------------------------------------------------------------------------

# Every code point, lone surrogates included (JSON can carry "\ud800"), plus the characters that
# break protocols.
ANY_CHAR = st.characters(codec=None, blacklist_categories=())
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=12),
    st.sampled_from(
        ["", "/", "\r\n", "\x00", "a b", "€", "\ud800", "%zz", "?a=1&a=2", "${self:x}", "*a"]
    ),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _samples() -> list[dict[str, Any]]:
    return [
        aws_events.rest("/items/1", query="a=1&b=2", headers={"x-a": "1"}, body=b"hi"),
        aws_events.function_url(
            "/s", query="q=1", headers={"x-b": "2"}, body=b"\x00\xff", binary=True
        ),
        aws_events.http_api("/v2/x"),
        aws_events.alb("/alb"),
        aws_events.alb("/alb", multi=True),
    ]


SAMPLES = _samples()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """An AWS sample event with a few fields replaced, removed or added (or, rarely, any JSON)."""
    if draw(st.integers(0, 19)) == 0:
        return draw(JSON)
    event = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(event)))
        if not path:
            continue
        parent = event
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if op == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(JSON)
        else:
            parent[path[-1]] = draw(JSON)
    return event


# -- the harness ---------------------------------------------------------------------------------


def fuzz(name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> None:
    """Run ``check`` over ``strategy``: EXAMPLES examples, or rounds of them for SECONDS."""

    def counted(value: Any) -> None:
        RUNS[name] = RUNS.get(name, 0) + 1
        check(value)

    config = settings(
        max_examples=EXAMPLES if not SECONDS else 2000,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not SECONDS,  # CI: the same examples each run; long runs: fresh ones
    )
    test = config(given(strategy)(counted))
    stop = time.monotonic() + SECONDS
    test()
    while time.monotonic() < stop:
        test()
    if SECONDS:
        print(f"\nfuzz {name}: {RUNS[name]} examples in {SECONDS:g} s, no foreign exception")


def only_ours(call: Callable[[], Any]) -> Any:
    """Call; a LambdaSSEError is a refusal (fine), anything else escapes and fails the test."""
    try:
        return call()
    except LambdaSSEError:
        return None


# -- entries -------------------------------------------------------------------------------------


def test_event_translators() -> None:
    def check(event: Any) -> None:
        translator = only_ours(lambda: detect(event))
        if translator is None:
            return
        request = only_ours(lambda: translator.request(event))
        if request is None:
            return
        # Whatever the request carried can go back out in a reply and a prelude.
        response = HttpResponse(200, request.headers, request.body)
        json.dumps(translator.reply(response, event))
        only_ours(lambda: translator.prelude(200, request.headers))

    fuzz("translators", mutated_events(), check)


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        raise ValueError("no lifespan")
    message = await receive()
    headers = [(k, v) for k, v in scope["headers"] if k.isascii() and k.isalpha()]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": message.get("body", b"")})


class _Wire:
    async def send(self, data: bytes) -> None:
        pass


BUFFERED = handler(_echo, lifespan="off")
STREAMED = handler(_echo, stream=True, lifespan="off")


def test_asgi_bridge() -> None:
    def check(drawn: tuple[Any, bool]) -> None:
        event, streamed = drawn
        fn = STREAMED if streamed else BUFFERED
        stream = ResponseStream(_Wire(), "/2018-06-01/runtime/invocation/r/response", "h:1")
        reply = only_ours(lambda: asyncio.run(fn(event, stream, None)))
        # An event the translators refuse is a clean 400 through the bridge.
        try:
            translator = detect(event)
            translator.request(event)
        except EventShapeError:
            assert isinstance(reply, dict)
            assert reply.get("statusCode") == 400
        except LambdaSSEError:
            pass

    fuzz("asgi bridge", st.tuples(mutated_events(), st.booleans()), check)


SSE_BYTES = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from(
            [b"data: x\n", b"\r\n", b"\r", b"\n\n", b"id: 1\n", b"retry: 5\n", b"event:\xff\n"]
        ),
    ),
    max_size=10,
)


def test_sse_decoder() -> None:
    def check(chunks: list[bytes]) -> None:
        decoder = SSEDecoder()
        for chunk in chunks:
            only_ours(functools.partial(decoder.feed, chunk))
        only_ours(decoder.close)

    fuzz("sse decoder", SSE_BYTES, check)


PRELUDE_BYTES = st.lists(
    st.one_of(
        st.binary(max_size=30),
        st.sampled_from([b"\x00" * 8, b'{"statusCode": 200}', b"{", b"[]", b'"x"']),
        JSON.map(lambda v: json.dumps(v).encode()),
    ),
    max_size=6,
)


def test_prelude_decoder() -> None:
    def check(chunks: list[bytes]) -> None:
        decoder = PreludeDecoder()
        for chunk in chunks:
            only_ours(functools.partial(decoder.feed, chunk))
        if decoder.metadata is not None:
            only_ours(lambda: head_from_prelude(decoder.metadata or {}))

    fuzz("prelude decoder", PRELUDE_BYTES, check)


def test_function_results() -> None:
    results = st.one_of(
        st.binary(max_size=60),
        JSON.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"statusCode": SCALARS},
            optional={"headers": JSON, "multiValueHeaders": JSON, "cookies": JSON, "body": JSON},
        ).map(lambda v: json.dumps(v).encode()),
    )

    def check(payload: bytes) -> None:
        for parse in (parse_v1_result, parse_v2_result):
            reply = only_ours(functools.partial(parse, payload))
            if isinstance(reply, Reply):
                # What the doors accept goes on the wire through h11 without a complaint.
                h11.Connection(h11.SERVER).send(
                    h11.Response(
                        status_code=reply.status,
                        headers=[(n.encode("latin-1"), _value_bytes(v)) for n, v in reply.headers],
                    )
                )

    fuzz("function results", results, check)


YAML_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=80),
    st.lists(
        st.sampled_from(
            [
                "service: s\n",
                "provider: {name: aws, runtime: python3.12}\n",
                "functions:\n",
                "  f:\n",
                "    handler: h.main\n",
                "    timeout: ${self:custom.t}\n",
                "    url: {invokeMode: RESPONSE_STREAM}\n",
                "    events: [{http: {path: /x, method: get}}]\n",
                "custom: &c {t: 3, self: *c}\n",
                "custom: {t: '${opt:stage}'}\n",
                "a: &a [1, 2]\nb: [*a, *a]\n",
                "Resources:\n",
                "  Fn: {Type: AWS::Serverless::Function, Properties: {Handler: h.m}}\n",
                "  Fn: {Type: AWS::Serverless::Function}\n",
                "  X: !Ref Y\n",
                "[",
                "\t",
                "? [a]\n: 1\n",
            ]
        ),
        max_size=8,
    ).map("".join),
    JSON.map(lambda v: json.dumps({"service": "s", "functions": v, "custom": v})),
)


def test_config_loading() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "serverless.yml"

        def check(text: str) -> None:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            only_ours(lambda: load_project(folder))

        fuzz("config loading", YAML_TEXT, check)


class _Writer:
    def write(self, data: bytes) -> None:
        pass

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1)


LIMITS = Limits(
    max_head=4096,
    max_body=4096,
    head_reply=Reply(431),
    body_reply=Reply(413),
    head_timeout=5.0,
)

RAW_REQUESTS = st.one_of(
    st.binary(max_size=200),
    st.tuples(
        st.sampled_from([b"GET", b"POST", b"OPTIONS", b"G\xffT", b""]),
        st.binary(max_size=30).map(lambda b: b"/" + b.replace(b" ", b"").replace(b"\n", b"")),
        st.lists(st.tuples(st.binary(max_size=10), st.binary(max_size=20)), max_size=4),
        st.binary(max_size=30),
    ).map(
        lambda r: (
            r[0]
            + b" "
            + r[1]
            + b" HTTP/1.1\r\nHost: h\r\n"
            + b"".join(k + b": " + v + b"\r\n" for k, v in r[2])
            + b"Content-Length: %d\r\n\r\n" % len(r[3])
            + r[3]
        )
    ),
)


def test_front_door_request_parsing() -> None:
    async def parse(data: bytes) -> Any:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=LIMITS.max_head)
        return await _read_request(conn, reader, _Writer(), LIMITS)  # type: ignore[arg-type]

    def check(data: bytes) -> None:
        try:
            request = asyncio.run(parse(data))
        except (LambdaSSEError, h11.RemoteProtocolError):
            return  # answered 400/413/431/408 by the shell
        if request is None:
            return
        # Every request the shell accepts becomes events that the function side reads back.
        v1 = json.loads(
            encode_event(
                build_v1_event(
                    request,
                    resource="/{proxy+}",
                    path=request.raw_path,
                    stage="dev",
                    path_parameters={"proxy": request.raw_path},
                )
            )
        )
        v2 = json.loads(encode_event(build_v2_event(request)))
        for event in (v1, v2):
            detect(event).request(event)

    fuzz("front door parsing", RAW_REQUESTS, check)


# The Runtime API server's sans-IO parts: routing, the response mode header, and the chunked
# decoder a streamed POST /response goes through (split anywhere, as a socket delivers it).
CHUNKED_BODIES = st.one_of(
    st.binary(max_size=120),
    st.lists(
        st.tuples(
            st.integers(0, 40), st.binary(max_size=40), st.sampled_from([b"\r\n", b"\n", b""])
        ),
        max_size=5,
    ).map(lambda chunks: b"".join(b"%x\r\n%s%s" % (n, data, end) for n, data, end in chunks)),
)


def test_runtime_api_server_parsing() -> None:
    def check(value: tuple[str, str, str, bytes, list[int]]) -> None:
        method, path, mode, body, cuts = value
        found = route(method, path)
        assert found.kind in ("next", "init_error", "response", "error", "unknown")
        assert (found.answer is None) == (found.kind != "unknown")
        answer = RuntimeAPIProtocol.response_mode(mode)
        assert answer is None or answer.status == 400
        decoder = ChunkedDecoder(max_line=64, max_chunk=1024)
        data = b""
        edges = sorted({min(c, len(body)) for c in cuts} | {len(body)})
        start = 0
        for end in edges:
            got = only_ours(functools.partial(decoder.feed, body[start:end]))
            if got is None:
                break  # refused with ChunkedFramingError: the shell answers 400
            data += b"".join(got)
            start = end
        assert len(data) <= len(body)

    strategy = st.tuples(
        st.sampled_from(["GET", "POST", "PUT", "get", ""]),
        st.one_of(
            st.text(max_size=60),
            st.builds(
                lambda rid, action: f"/2018-06-01/runtime/invocation/{rid}/{action}",
                st.text(max_size=20),
                st.sampled_from(["response", "error", "next", "", "x/response"]),
            ),
        ),
        st.text(max_size=20),
        CHUNKED_BODIES,
        st.lists(st.integers(0, 200), max_size=6),
    )
    fuzz("runtime api server", strategy, check)


@pytest.fixture(autouse=True, scope="module")
def _summary() -> Any:
    yield
    if SECONDS:
        total = sum(RUNS.values())
        print(f"\nfuzz total: {total} examples over {len(RUNS)} entries, no foreign exception")
