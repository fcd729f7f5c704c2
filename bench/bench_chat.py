"""Token streaming: the chat example's time to first token and tokens/s through `lambda-sse dev`
(REST API and Function URL) beside calling its generator directly; Flask through
`lambda_sse.wsgi` beside FastAPI through `lambda_sse.asgi`; apig-wsgi's and Mangum's buffered
first byte for the same Flask stream.

(a) direct: examples/chat's own code in this process (request parsed, the lambda-sse-local
    model, chunk objects encoded as `data:` lines), timed to its first content chunk and to the
    end; no HTTP, no Lambda;
(b) the same request to `lambda-sse dev examples/chat` (the real CLI, a copy of the example with
    the model unpaced), read with httpx and the project's SSE decoder, through each front door:
    the request leaves, and the clock stops when the first content token is decoded;
(c) one SSE route, Flask generator vs FastAPI async generator, each through its bridge and the
    runtime (`python -m lambda_sse.runtime`) into the project's Runtime API server, read by
    the same consumer as bench_asgi.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHAT = ROOT / "examples" / "chat"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(CHAT))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import models  # noqa: E402
import openai_chat  # noqa: E402
import yaml  # noqa: E402
from apig_wsgi import make_lambda_handler  # noqa: E402
from asgiref.wsgi import WsgiToAsgi  # noqa: E402
from mangum import Mangum  # noqa: E402
from tests.examples.devserver import free_port_block  # noqa: E402

from _common import log, markdown_table, verdict  # noqa: E402
from bench_asgi import (  # noqa: E402
    Stats,
    body_after_prelude,
    child_env,
    consume,
    json_bytes,
    process,
    v2_event,
)
from lambda_sse.local.runtime_api import RuntimeAPIServer  # noqa: E402
from lambda_sse.sse import SSEDecoder  # noqa: E402

TTFT_REQUESTS = 40  # per door, and direct
TTFT_TOKENS = 16
LONG_TOKENS = 2000  # for tokens/s
LONG_ROUNDS = 3
EVENTS = 5000  # per WSGI/ASGI stream
ROUNDS = 5
TTFT_TARGET_MS = 5.0  # through the emulator, within 5 ms of direct
WSGI_TARGET = 0.5  # WSGI events/s >= 0.5x the ASGI path's

REQUEST = {
    "model": "lambda-sse-local",
    "messages": [{"role": "user", "content": "How do tokens stream from Lambda?"}],
    "stream": True,
}


# -- (a) direct ---------------------------------------------------------------------------


def direct(max_tokens: int) -> tuple[float, float, int]:
    """(seconds to the first content chunk, seconds to the end, content tokens)."""
    available = {"lambda-sse-local": models.LocalModel(0, LONG_TOKENS)}
    started = time.perf_counter()
    call = openai_chat.parse(json.dumps({**REQUEST, "max_tokens": max_tokens}).encode(), available)
    first = 0.0
    tokens = 0
    for chunk in openai_chat.chunks(call, openai_chat.start(call)):
        openai_chat.sse(chunk)
        if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
            tokens += 1
            if tokens == 1:
                first = time.perf_counter() - started
    openai_chat.sse("[DONE]")
    return first, time.perf_counter() - started, tokens


# -- (b) through lambda-sse dev --------------------------------------------------------------


@contextlib.contextmanager
def dev_server() -> Iterator[int]:
    """`lambda-sse dev` on a copy of examples/chat with the model unpaced; yields the port."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "chat"
        shutil.copytree(CHAT, project, ignore=shutil.ignore_patterns(".lambda-sse", "__pycache__"))
        config_path = project / "serverless.yml"
        config: dict[str, Any] = yaml.safe_load(config_path.read_text())
        config["provider"]["environment"].update(
            LOCAL_MODEL_TOKENS_PER_SECOND="0", LOCAL_MODEL_REPLY_TOKENS=str(LONG_TOKENS)
        )
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        port = free_port_block(2)
        script = Path(sys.executable).parent / "lambda-sse"
        command = [str(script), "dev", str(project), "--port", str(port)]
        proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    httpx.get(f"http://127.0.0.1:{port + 1}/v1/models", timeout=10)
                    break
                time.sleep(0.05)
            yield port
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


async def over_http(
    client: httpx.AsyncClient, url: str, max_tokens: int
) -> tuple[float, float, int]:
    body = json.dumps({**REQUEST, "max_tokens": max_tokens}).encode()
    headers = {"content-type": "application/json"}
    decoder = SSEDecoder()
    first = 0.0
    tokens = 0
    started = time.perf_counter()
    async with client.stream("POST", url, content=body, headers=headers) as response:
        assert response.status_code == 200, response.status_code
        async for raw in response.aiter_raw():
            for event in decoder.feed(raw):
                if event.data == "[DONE]":
                    continue
                chunk = json.loads(event.data or "{}")
                if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    tokens += 1
                    if tokens == 1:
                        first = time.perf_counter() - started
    return first, time.perf_counter() - started, tokens


# -- (c) Flask through lambda_sse.wsgi vs FastAPI through lambda_sse.asgi ----------------


@contextlib.asynccontextmanager
async def bridge(handler: str) -> AsyncIterator[Any]:
    server = RuntimeAPIServer(record_bodies=False, queue_limit=256)
    await server.start()
    env = child_env()
    env.update(AWS_LAMBDA_RUNTIME_API=server.address, AWS_LAMBDA_FUNCTION_NAME="bench")

    async def run(path: str, query: str) -> Stats:
        started = time.monotonic()
        inv = server.enqueue(
            json_bytes(v2_event(path, query)), deadline_ms=int(time.time() * 1000) + 120_000
        )
        stats = await consume(body_after_prelude(inv.body()), started)
        outcome = await inv.outcome()
        assert outcome.status == "success", outcome
        return stats

    try:
        with process([sys.executable, "-m", "lambda_sse.runtime", handler], env):
            await asyncio.wait_for(server.wait_for_poll(), 60)
            yield run
    finally:
        await server.close()


def buffered_ttfb(handler: Any) -> float:
    """Seconds until a buffering adapter hands over any byte of a 1 s stream (10 events)."""
    loop = asyncio.new_event_loop()  # Mangum asks for the thread's current loop
    asyncio.set_event_loop(loop)
    try:
        return _buffered_ttfb(handler)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _buffered_ttfb(handler: Any) -> float:
    started = time.monotonic()
    event = v2_event("/sse", "n=10&delay=0.1")
    event["requestContext"]["http"]["protocol"] = "HTTP/1.1"  # apig-wsgi reads it
    reply = handler(event, None)
    assert reply["statusCode"] == 200, reply
    assert reply["body"].count("data:") == 10, reply
    return time.monotonic() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}"


async def main() -> None:
    from _wsgi_app import flask_app

    log(f"direct: {TTFT_REQUESTS} requests of {TTFT_TOKENS} tokens, {LONG_ROUNDS} of {LONG_TOKENS}")
    for _ in range(5):
        direct(TTFT_TOKENS)
    direct_ttft = [direct(TTFT_TOKENS)[0] for _ in range(TTFT_REQUESTS)]
    direct_long = [direct(LONG_TOKENS) for _ in range(LONG_ROUNDS)]

    doors: dict[str, tuple[list[float], list[tuple[float, float, int]]]] = {}
    with dev_server() as port:
        urls = {
            "REST API": f"http://127.0.0.1:{port}/dev/v1/chat/completions",
            "Function URL": f"http://127.0.0.1:{port + 1}/v1/chat/completions",
        }
        async with httpx.AsyncClient(timeout=60) as client:
            for url in urls.values():
                for _ in range(5):  # warm: cold start, connections, lazy imports
                    await over_http(client, url, TTFT_TOKENS)
            ttfts: dict[str, list[float]] = {name: [] for name in urls}
            for i in range(TTFT_REQUESTS):  # alternate the doors: same machine mood
                if i % 10 == 0:
                    log(f"time to first token through lambda-sse dev: {i}/{TTFT_REQUESTS}")
                for name, url in urls.items():
                    ttfts[name].append((await over_http(client, url, TTFT_TOKENS))[0])
            longs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in urls}
            for _ in range(LONG_ROUNDS):
                log(f"tokens/s through lambda-sse dev: {LONG_TOKENS} tokens per door")
                for name, url in urls.items():
                    longs[name].append(await over_http(client, url, LONG_TOKENS))
            for name in urls:
                doors[name] = (ttfts[name], longs[name])

    rates: dict[str, list[Stats]] = {"wsgi": [], "asgi": []}
    async with (
        bridge("_wsgi_app.wsgi_handler") as wsgi_run,
        bridge("_wsgi_app.asgi_handler") as asgi_run,
    ):
        for _ in range(2):
            await wsgi_run("/sse", "n=500")
            await asgi_run("/sse", "n=500")
        for i in range(ROUNDS):
            log(f"round {i + 1}/{ROUNDS}: {EVENTS} events, Flask via WSGI then FastAPI via ASGI")
            rates["wsgi"].append(await wsgi_run("/sse", f"n={EVENTS}"))
            rates["asgi"].append(await asgi_run("/sse", f"n={EVENTS}"))
        wsgi_ttfb = min([(await wsgi_run("/sse", "n=10&delay=0.1")).ttfb for _ in range(2)])
    log("apig-wsgi and Mangum (on asgiref's WsgiToAsgi): the same 1 s Flask stream")
    apig = await asyncio.to_thread(buffered_ttfb, make_lambda_handler(flask_app))
    mangum = await asyncio.to_thread(
        buffered_ttfb,
        Mangum(WsgiToAsgi(flask_app), lifespan="off"),  # type: ignore[no-untyped-call]
    )

    def tok_rate(runs: list[tuple[float, float, int]]) -> float:
        return max(tokens / (end - first) for first, end, tokens in runs if end > first)

    d_med, d_p90 = statistics.median(direct_ttft), statistics.quantiles(direct_ttft, n=10)[8]
    d_rate = tok_rate(direct_long)
    rows: list[list[str]] = []
    met_all = True
    for name, (ttft, long) in doors.items():
        med = statistics.median(ttft)
        p90 = statistics.quantiles(ttft, n=10)[8]
        gap = (med - d_med) * 1000
        ok = gap <= TTFT_TARGET_MS
        met_all &= ok
        rows.append(
            [f"time to first token, median ms, {name}", ms(med), f"{ms(d_med)} (direct)",
             f"+{gap:.2f} ms", f"<= +{TTFT_TARGET_MS:.0f} ms", "met" if ok else "NOT met"]
        )  # fmt: skip
        rows.append([f"time to first token, p90 ms, {name}", ms(p90), f"{ms(d_p90)} (direct)",
                     "", "", ""])  # fmt: skip
        rows.append([f"time to first token, best ms, {name}", ms(min(ttft)),
                     f"{ms(min(direct_ttft))} (direct)", "", "", ""])  # fmt: skip
        rate = tok_rate(long)
        rows.append([f"tokens/s, unpaced, {name}", f"{rate:,.0f}", f"{d_rate:,.0f} (direct)",
                     f"{rate / d_rate:.2f}x", "", ""])  # fmt: skip
    wsgi = max(rates["wsgi"], key=lambda s: s.rate)
    asgi = max(rates["asgi"], key=lambda s: s.rate)
    wsgi_ratio = wsgi.rate / asgi.rate
    rows += [
        ["events/s, Flask via lambda_sse.wsgi (bridge + runtime)", f"{wsgi.rate:,.0f}",
         f"{asgi.rate:,.0f} (FastAPI via lambda_sse.asgi)", f"{wsgi_ratio:.2f}x",
         f">= {WSGI_TARGET}x", verdict(wsgi_ratio, WSGI_TARGET)],
        ["time to first byte of a 1 s Flask stream, ms", ms(wsgi_ttfb),
         f"{apig * 1000:,.0f} (apig-wsgi)", f"{apig / wsgi_ttfb:,.0f}x sooner", "", ""],
        ["", "", f"{mangum * 1000:,.0f} (Mangum + asgiref WsgiToAsgi)",
         f"{mangum / wsgi_ttfb:,.0f}x sooner", "", ""],
    ]  # fmt: skip
    print("## Token streaming (chat example, WSGI bridge)\n")
    print(
        "examples/chat (Flask through `lambda_sse.wsgi`, the `lambda-sse-local` model unpaced) "
        f"behind `lambda-sse dev`, read with httpx and the project's SSE decoder; beside it the "
        "example's own code called directly in the same process (request parsing, the model, "
        "chunk objects encoded as `data:` lines). Time to first token: from sending the request "
        f"to decoding the first content token, {TTFT_REQUESTS} requests of {TTFT_TOKENS} tokens "
        "per side, doors alternated, warm environment (the median carries the load of the "
        "shared machine; the best shows the path's own cost); tokens/s: best of "
        f"{LONG_ROUNDS} replies "
        f"of {LONG_TOKENS:,} tokens, from the first token to the last. The real model in "
        "production paces itself (30 tokens/s by default here), far below either ceiling. "
        f"WSGI vs ASGI: one SSE route streaming {EVENTS:,} events, Flask generator vs FastAPI "
        "async generator, each through its bridge and the runtime into the project's Runtime "
        f"API server, best of {ROUNDS}. apig-wsgi and Mangum buffer: their first byte comes "
        "when the stream is over.\n"
    )
    print(markdown_table(["figure", "lambda-sse", "baseline", "ratio", "target", "verdict"], rows))
    if not met_all:
        log("time to first token target NOT met")


if __name__ == "__main__":
    asyncio.run(main())
