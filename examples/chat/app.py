"""An OpenAI-compatible Chat Completions endpoint on Lambda: Flask through lambda-sse's WSGI
bridge, streamed token by token through a REST API (transferMode STREAM) or a Function URL
(RESPONSE_STREAM).

    POST /v1/chat/completions   {"model": "lambda-sse-local", "messages": [...], "stream": true}
    GET  /v1/models
    GET  /                      a page that reads the stream with fetch() and can stop it

Point any OpenAI client at it: ``OpenAI(base_url="http://127.0.0.1:3000/dev/v1", api_key="x")``.
Set ``CHAT_API_KEY`` to require ``Authorization: Bearer <key>``; ``BEDROCK_MODELS`` adds Amazon
Bedrock models (see models.py).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, Response, request, stream_with_context
from models import ModelError, default_models
from openai_chat import APIError, chunks, completion, model_list, parse, sse, start
from werkzeug.exceptions import HTTPException

import lambda_sse.wsgi

log = logging.getLogger("chat")
PAGE = (Path(__file__).parent / "index.html").read_bytes()
MODELS = default_models()

app = Flask(__name__)


def error_response(error: APIError) -> Response:
    return Response(json.dumps(error.body), status=error.status, mimetype="application/json")


@app.errorhandler(APIError)
def api_error(error: APIError) -> Response:
    return error_response(error)


@app.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    # Unknown paths and methods answer in the API's error shape too, as OpenAI's do.
    message = f"Invalid URL ({request.method} {request.path})"
    if error.code == 405:
        message = f"Method {request.method} is not allowed for {request.path}."
    return error_response(APIError(error.code or 500, message))


@app.before_request
def check_key() -> None:
    key = os.environ.get("CHAT_API_KEY")
    if not key or request.path == "/":
        return
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), key.encode()):
        raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")


@app.get("/")
def page() -> Response:
    return Response(PAGE, mimetype="text/html")


@app.get("/v1/models")
def models() -> dict[str, object]:
    return model_list(MODELS)


@app.post("/v1/chat/completions")
def chat_completions() -> Response:
    call = parse(request.get_data(), MODELS)
    try:
        if not call.stream:
            return Response(json.dumps(completion(call)), mimetype="application/json")
        pieces = start(call)
    except ModelError as exc:
        raise APIError(exc.status, str(exc), kind=exc.kind) from exc

    def events() -> Iterator[bytes]:
        for chunk in chunks(call, pieces):
            yield sse(chunk)  # one write per chunk: each token leaves at once
            if "error" in chunk:
                log.error("model %s failed mid-stream: %s", call.model.id, chunk["error"])
                return
        yield sse("[DONE]")

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


# Every route streams (the deployment sends them all through streaming front doors); a Flask
# response that is not a generator simply arrives as one chunk.
handler = lambda_sse.wsgi.handler(app, stream=True)
