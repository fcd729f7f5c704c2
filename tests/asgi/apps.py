"""Real ASGI apps served through lambda_sse.asgi.handler by a real runtime subprocess.

The runtime imports ``tests.asgi.apps.<handler>`` with the repository root as its task root.
``LAMBDA_SSE_TEST_MARKERS`` names a folder where lifespan startup and shutdown leave files.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.sse import EventSourceResponse as FastAPIEventSourceResponse
from sse_starlette import EventSourceResponse as StarletteSSEResponse
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import lambda_sse.asgi
from lambda_sse.asgi import EventSourceResponse
from lambda_sse.asgi.types import Receive, Scope, Send
from lambda_sse.sse import ServerSentEvent

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
STARTUPS = {"count": 0}


def _marker(name: str) -> None:
    folder = os.environ.get("LAMBDA_SSE_TEST_MARKERS")
    if folder:
        (Path(folder) / name).write_text(str(os.getpid()))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    STARTUPS["count"] += 1
    _marker("startup")
    yield {"db": "connected"}
    _marker("shutdown")


app = FastAPI(lifespan=lifespan)


@app.get("/json")
async def json_route(request: Request) -> dict[str, Any]:
    return {"hello": "world", "startups": STARTUPS["count"], "db": request.state.db}


@app.post("/echo")
async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(
        body,
        media_type=request.headers.get("content-type", "application/octet-stream"),
        headers={"x-length": str(len(body))},
    )


@app.get("/binary")
async def binary() -> Response:
    return Response(PNG, media_type="image/png")


@app.get("/cookies")
async def cookies() -> JSONResponse:
    response = JSONResponse({"ok": True}, status_code=201)
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", httponly=True)
    return response


@app.get("/scope")
async def scope_route(request: Request) -> dict[str, Any]:
    scope = request.scope
    context = scope["aws.context"]
    return {
        "path": scope["path"],
        "root_path": scope["root_path"],
        "route_path": request.url.path,
        "query": request.url.query,
        "client": list(scope["client"]) if scope["client"] else None,
        "scheme": scope["scheme"],
        "event_keys": sorted(scope["aws.event"]),
        "request_id": context.aws_request_id,
        "remaining_ms_positive": context.get_remaining_time_in_millis() > 0,
        "url_for_json": str(request.url_for("json_route").path),
    }


async def _ticks(n: int, delay: float) -> AsyncIterator[str]:
    for i in range(n):
        yield f"chunk {i}\n"
        await asyncio.sleep(delay)


@app.get("/stream")
async def stream() -> StreamingResponse:
    return StreamingResponse(_ticks(3, 0.25), media_type="text/plain", headers={"x-kind": "plain"})


@app.get("/fastapi-sse", response_class=FastAPIEventSourceResponse)
async def fastapi_sse() -> AsyncIterator[dict[str, int]]:
    for i in range(3):
        yield {"n": i}
        await asyncio.sleep(0.25)


@app.get("/sse-starlette")
async def sse_starlette_route() -> StarletteSSEResponse:
    async def events() -> AsyncIterator[dict[str, str]]:
        for i in range(3):
            yield {"data": f"s{i}", "id": str(i)}
            await asyncio.sleep(0.25)

    return StarletteSSEResponse(events())


@app.get("/ours", response_model=None)
async def ours(request: Request) -> EventSourceResponse:
    async def events(last_event_id: str) -> AsyncIterator[ServerSentEvent]:
        start = int(last_event_id) + 1 if last_event_id else 0
        for i in range(start, start + 3):
            yield ServerSentEvent(data=f"o{i}", id=str(i))
            await asyncio.sleep(0.25)

    return EventSourceResponse(events)


@app.get("/endless", response_model=None)
async def endless(request: Request) -> EventSourceResponse:
    async def events() -> AsyncIterator[ServerSentEvent]:
        n = 0
        while True:
            yield ServerSentEvent(data=f"e{n}", id=str(n))
            n += 1
            await asyncio.sleep(0.1)

    margin = request.query_params.get("margin")
    return EventSourceResponse(
        events(), deadline_margin=None if margin is None else float(margin), retry=500
    )


@app.get("/stream-cookies")
async def stream_cookies() -> StreamingResponse:
    response = StreamingResponse(_ticks(2, 0.0), media_type="text/plain")
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


@app.get("/stream-empty")
async def stream_empty() -> Response:
    return Response(status_code=204, headers={"x-empty": "yes"})


@app.get("/fail")
async def fail() -> None:
    raise RuntimeError("the app broke")


STREAM_ROUTES = ["/stream*", "/fastapi-sse", "/sse-starlette", "/ours", "/endless"]
handler = lambda_sse.asgi.handler(app, stream=STREAM_ROUTES)


# -- raw ASGI apps that break the protocol ------------------------------------------------------


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        raise RuntimeError("no lifespan here")
    path = scope["path"].rsplit("/", 1)[-1]
    if path == "body-first":
        await send({"type": "http.response.body", "body": b"oops"})
    elif path == "twice":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one"})
        await send({"type": "http.response.body", "body": b"two"})
    elif path == "silent":
        return
    elif path == "disconnect":
        # Reads the body, answers, and then waits for the disconnect that must come.
        message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": message["body"]})
        assert (await receive())["type"] == "http.disconnect"
    else:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x", b"y")]})
        await send({"type": "http.response.body", "body": b"ok"})


raw_handler = lambda_sse.asgi.handler(raw_app, stream=["/raw/*"])


# -- a Starlette app -------------------------------------------------------------------------


async def starlette_stream(request: Any) -> StreamingResponse:
    return StreamingResponse(_ticks(3, 0.25), media_type="text/plain")


async def starlette_hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello from starlette")


starlette_app = Starlette(
    routes=[Route("/stream", starlette_stream), Route("/hello", starlette_hello)]
)
starlette_handler = lambda_sse.asgi.handler(starlette_app, stream=lambda r: r.path == "/stream")
