"""OpenAI's Chat Completions wire format, pure: a request body in, the objects to send out.

Shapes as https://platform.openai.com/docs/api-reference/chat documents them: ``chat.completion``
(buffered), ``chat.completion.chunk`` objects as ``data:`` lines ending with ``data: [DONE]``
(streamed), a last chunk with empty ``choices`` and the ``usage`` when
``stream_options.include_usage`` is set, and errors as ``{"error": {"message", "type", "param",
"code"}}`` with the HTTP status the API uses.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from models import ChatModel, ChatRequest, Finish, ModelError, Piece, Token

ROLES = {"system", "developer", "user", "assistant", "tool"}


class APIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "param": param, "code": code}}


def missing(param: str) -> APIError:
    return APIError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def invalid(param: str, message: str) -> APIError:
    return APIError(400, message, param=param, code="invalid_value")


@dataclass(frozen=True)
class Call:
    model: ChatModel
    request: ChatRequest
    stream: bool
    include_usage: bool


def _content(message: dict[str, Any], index: int) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if content is None and message.get("role") == "assistant":
        return ""
    if isinstance(content, list):  # content parts: the text ones count
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or "type" not in part:
                raise missing(f"messages[{index}].content[{j}].type")
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    raise missing(f"messages[{index}].content[{j}].text")
                texts.append(part["text"])
        return "\n".join(texts)
    raise invalid(f"messages[{index}].content", f"Invalid content in 'messages[{index}]'.")


def parse(body: bytes, models: dict[str, ChatModel]) -> Call:
    """A Chat Completions request body, checked; APIError says what is wrong with it."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise APIError(
            400,
            "The request body is not valid JSON. Send a JSON object with 'model' and 'messages' "
            "and the header 'Content-Type: application/json'.",
        ) from None
    if not isinstance(data, dict):
        raise APIError(400, "The request body must be a JSON object.")
    if "model" not in data:
        raise missing("model")
    if "messages" not in data:
        raise missing("messages")
    model_id, raw_messages = data["model"], data["messages"]
    if not isinstance(raw_messages, list) or not raw_messages:
        raise invalid("messages", "'messages' must be a non-empty array of messages.")
    messages: list[dict[str, str]] = []
    for i, message in enumerate(raw_messages):
        if not isinstance(message, dict):
            raise invalid(f"messages[{i}]", f"'messages[{i}]' must be an object.")
        if "role" not in message:
            raise missing(f"messages[{i}].role")
        if message["role"] not in ROLES:
            raise invalid(
                f"messages[{i}].role",
                f"Invalid value: '{message['role']}'. Supported values are: "
                + ", ".join(f"'{r}'" for r in sorted(ROLES))
                + ".",
            )
        role = "system" if message["role"] == "developer" else message["role"]
        messages.append({"role": role, "content": _content(message, i)})
    stream = data.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise invalid("stream", "'stream' must be a boolean.")
    options = data.get("stream_options") or {}
    if not isinstance(options, dict):
        raise invalid("stream_options", "'stream_options' must be an object.")
    if options and not stream:
        raise invalid("stream_options", "'stream_options' is only allowed when 'stream' is true.")
    max_tokens = data.get("max_completion_tokens", data.get("max_tokens"))
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise invalid("max_tokens", "'max_tokens' must be a positive integer.")
    stop = data.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise invalid("stop", "'stop' must be a string or an array of strings.")
    model = models.get(model_id) if isinstance(model_id, str) else None
    if model is None:
        raise APIError(
            404,
            f"The model `{model_id}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    request = ChatRequest(
        messages=messages,
        max_tokens=max_tokens,
        temperature=data.get("temperature"),
        top_p=data.get("top_p"),
        stop=stop or None,
    )
    return Call(model, request, bool(stream), bool(options.get("include_usage")))


def _usage(finish: Finish) -> dict[str, int]:
    return {
        "prompt_tokens": finish.prompt_tokens,
        "completion_tokens": finish.completion_tokens,
        "total_tokens": finish.prompt_tokens + finish.completion_tokens,
    }


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def start(call: Call) -> Iterator[Piece]:
    """The model's pieces with the first one already produced, so that a model that fails at
    once (a Bedrock validation or throttling error) still gets an HTTP error status."""
    pieces = call.model.stream(call.request)
    first = next(pieces)  # ModelError propagates: nothing was sent yet
    return itertools.chain((first,), pieces)


def chunks(call: Call, pieces: Iterator[Piece]) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer (``pieces`` from
    :func:`start`), each as soon as its token is there. A model error after that ends the stream
    with an ``error`` object, which the OpenAI SDKs raise as an API error."""
    base = {
        "id": completion_id(),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": call.model.id,
        "system_fingerprint": None,
    }
    extra = {"usage": None} if call.include_usage else {}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice], **extra}

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    try:
        for piece in pieces:
            if isinstance(piece, Token):
                yield chunk({"content": piece.text})
            else:
                yield chunk({}, piece.reason)
                if call.include_usage:
                    yield {**base, "choices": [], "usage": _usage(piece)}
    except ModelError as exc:
        yield {"error": {"message": str(exc), "type": exc.kind, "param": None, "code": None}}


def completion(call: Call) -> dict[str, Any]:
    """The buffered ``chat.completion`` object (ModelError propagates: nothing was sent)."""
    text: list[str] = []
    finish: Finish | None = None
    for piece in call.model.stream(call.request):
        if isinstance(piece, Token):
            text.append(piece.text)
        else:
            finish = piece
    assert finish is not None, "a model ends with a Finish"
    message = {"role": "assistant", "content": "".join(text), "refusal": None}
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model.id,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish.reason}
        ],
        "usage": _usage(finish),
    }


def model_list(models: dict[str, ChatModel]) -> dict[str, Any]:
    created = 1_700_000_000  # fixed: these models have no release date worth reporting
    return {
        "object": "list",
        "data": [
            {"id": m.id, "object": "model", "created": created, "owned_by": m.owned_by}
            for m in models.values()
        ],
    }


def sse(data: dict[str, Any] | str) -> bytes:
    """One ``data:`` line and the blank line that ends the event (compact JSON: no newline)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return b"data: " + text.encode() + b"\n\n"
