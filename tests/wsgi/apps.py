"""Flask and plain WSGI apps for the WSGI bridge tests, with the Lambda handlers that serve them.

``LAMBDA_SSE_TEST_MARKERS`` (a folder) lets a test see what the app did after the response: the
streaming generator drops a file when it is closed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, request, stream_with_context

import lambda_sse.wsgi

app = Flask(__name__)


def _mark(name: str) -> None:
    folder = os.environ.get("LAMBDA_SSE_TEST_MARKERS")
    if folder:
        (Path(folder) / name).write_text(str(time.time()))


@app.get("/json")
def json_route() -> dict[str, Any]:
    return {"message": "hello", "path": request.path, "root": request.script_root}


@app.post("/echo")
def echo() -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "script_root": request.script_root,
        "args": request.args.to_dict(flat=False),
        "body": request.get_data(as_text=True),
        "content_type": request.content_type,
        "cookies": request.cookies.to_dict(),
        "url": request.url,
        "remote_addr": request.remote_addr,
    }


@app.get("/stream")
def stream() -> Response:
    n = int(request.args.get("n", "5"))
    delay = float(request.args.get("delay", "0"))
    label = request.args.get("label", "tick")

    def ticks() -> Iterator[str]:
        try:
            for i in range(n):
                # request is usable inside the generator thanks to stream_with_context.
                yield f"id: {i}\ndata: {label} {i} {time.monotonic_ns()} {request.path}\n\n"
                if delay:
                    time.sleep(delay)
        finally:
            _mark("stream-closed")

    return Response(
        stream_with_context(ticks()),
        mimetype="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


@app.get("/stream-boom")
def stream_boom() -> Response:
    def chunks() -> Iterator[bytes]:
        yield b"data: one\n\n"
        yield b"data: two\n\n"
        raise RuntimeError("the model fell over mid-stream")

    return Response(chunks(), mimetype="text/event-stream")


@app.get("/boom")
def boom() -> str:
    raise RuntimeError("broken before answering")


@app.get("/teapot")
def teapot() -> tuple[str, int, dict[str, str]]:
    return "short and stout", 418, {"x-kind": "teapot"}


def legacy_write_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """PEP 3333's write() callable, then an iterable: both reach the client, in order."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written ")
    sys.stderr.flush()
    return [b"returned ", json.dumps(environ["PATH_INFO"]).encode()]


handler = lambda_sse.wsgi.handler(app, stream=["/stream", "/stream-boom"])
everything_streams = lambda_sse.wsgi.handler(app, stream=True)
legacy_handler = lambda_sse.wsgi.handler(legacy_write_app, stream=True)
