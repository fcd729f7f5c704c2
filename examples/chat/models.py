"""Chat models behind one small interface: a model turns a conversation into pieces of text.

- ``LocalModel`` (``lambda-sse-local``): deterministic, no weights, no network. The same
  conversation always gets the same reply, word by word, paced at ``tokens_per_second``
  (``LOCAL_MODEL_TOKENS_PER_SECOND``, default 30; 0 = as fast as possible); replies are
  ``LOCAL_MODEL_REPLY_TOKENS`` long (default 48) unless ``max_tokens`` cuts them.
- ``BedrockModel``: Amazon Bedrock's ``ConverseStream`` through boto3 (already on Lambda's Python
  runtimes). Enabled per model id with ``BEDROCK_MODELS`` (comma-separated, e.g.
  ``anthropic.claude-3-haiku-20240307-v1:0``); the function's role needs
  ``bedrock:InvokeModelWithResponseStream`` on those models.

Any object with an ``id`` and a ``stream(request)`` iterator of ``Token`` then one ``Finish``
plugs in (``register``).
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]  # [{"role": "system" | "user" | "assistant", "content": str}]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Finish:
    reason: str  # OpenAI's finish_reason: "stop", "length", "content_filter", "tool_calls"
    prompt_tokens: int
    completion_tokens: int


Piece = Token | Finish


class ChatModel(Protocol):
    id: str
    owned_by: str

    def stream(self, request: ChatRequest) -> Iterator[Piece]: ...


class ModelError(Exception):
    """The model refused or failed; ``status`` and ``kind`` map it to an OpenAI error."""

    def __init__(self, message: str, status: int = 500, kind: str = "server_error") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


# -- lambda-sse-local ---------------------------------------------------------------------

# fmt: off
_WORDS = (
    "lambda", "stream", "token", "chunk", "event", "reply", "model", "prompt", "answer",
    "function", "runtime", "buffer", "latency", "request", "response", "socket", "client",
    "server", "byte", "line", "message", "signal", "pace", "order", "first", "next", "last",
    "small", "quick", "steady", "clear", "plain", "exact", "local", "deterministic",
)
# fmt: on


def words_of(text: str) -> list[str]:
    """The local model's tokenizer: words, each but the first with its leading space."""
    parts = text.split()
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    return sum(len(words_of(m["content"])) + 3 for m in messages)  # + role and separators


class LocalModel:
    id = "lambda-sse-local"
    owned_by = "lambda-sse"

    def __init__(
        self,
        tokens_per_second: float = 30.0,
        reply_tokens: int = 48,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.tokens_per_second = tokens_per_second
        self.reply_tokens = reply_tokens
        self._clock = clock
        self._sleep = sleep

    def reply(self, messages: list[dict[str, str]]) -> list[str]:
        """The whole reply as tokens: an echo of the last user message, then words drawn from
        a generator seeded with the conversation (same conversation, same words)."""
        last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        echo = words_of(f'You said: "{" ".join(last.split()[:12])}".')
        seed = hashlib.sha256(repr([(m["role"], m["content"]) for m in messages]).encode())
        rng = random.Random(seed.digest())
        filler = [" " + rng.choice(_WORDS) for _ in range(max(0, self.reply_tokens - len(echo)))]
        if filler:
            filler[-1] += "."
        return echo + filler

    def stream(self, request: ChatRequest) -> Iterator[Piece]:
        tokens = self.reply(request.messages)
        reason = "stop"
        if request.max_tokens is not None and len(tokens) > request.max_tokens:
            tokens, reason = tokens[: request.max_tokens], "length"
        if request.stop:
            text = ""
            for i, token in enumerate(tokens):
                text += token
                if any(s in text for s in request.stop):
                    tokens, reason = tokens[:i], "stop"
                    break
        interval = 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
        started = self._clock()
        for i, token in enumerate(tokens):
            if interval and i:
                # Paced against the start, not the previous token: no drift over a long reply.
                wait = started + i * interval - self._clock()
                if wait > 0:
                    self._sleep(wait)
            yield Token(token)
        yield Finish(reason, prompt_tokens(request.messages), len(tokens))


# -- Amazon Bedrock ConverseStream ---------------------------------------------------------

# Bedrock's stopReason to OpenAI's finish_reason
# (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_MessageStopEvent.html).
_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
}

# Bedrock error codes to HTTP statuses, as Bedrock itself answers them
# (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors).
_ERROR_STATUS = {
    "ValidationException": (400, "invalid_request_error"),
    "AccessDeniedException": (403, "permission_error"),
    "ResourceNotFoundException": (404, "invalid_request_error"),
    "ThrottlingException": (429, "rate_limit_error"),
    "ServiceUnavailableException": (503, "server_error"),
    "ModelNotReadyException": (503, "server_error"),
    "ModelTimeoutException": (504, "server_error"),
}


def converse_arguments(model_id: str, request: ChatRequest) -> dict[str, Any]:
    """The ConverseStream request for an OpenAI-style conversation (pure)."""
    system = [{"text": m["content"]} for m in request.messages if m["role"] == "system"]
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m["role"] == "system":
            continue
        role = "assistant" if m["role"] == "assistant" else "user"
        if messages and messages[-1]["role"] == role:  # Converse wants the roles to alternate
            messages[-1]["content"].append({"text": m["content"]})
        else:
            messages.append({"role": role, "content": [{"text": m["content"]}]})
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = request.stop
    arguments: dict[str, Any] = {"modelId": model_id, "messages": messages}
    if system:
        arguments["system"] = system
    if config:
        arguments["inferenceConfig"] = config
    return arguments


class BedrockModel:
    owned_by = "amazon-bedrock"

    def __init__(self, model_id: str, client: Any = None) -> None:
        self.id = model_id
        self._client = client

    def client(self) -> Any:
        if self._client is None:
            import boto3  # on Lambda's Python runtimes; loaded only when a Bedrock model is used

            self._client = boto3.client("bedrock-runtime")
        return self._client

    def stream(self, request: ChatRequest) -> Iterator[Piece]:
        from botocore.exceptions import ClientError

        try:
            response = self.client().converse_stream(**converse_arguments(self.id, request))
            reason, usage = "stop", {"inputTokens": 0, "outputTokens": 0}
            for event in response["stream"]:
                if "contentBlockDelta" in event:
                    text = event["contentBlockDelta"]["delta"].get("text")
                    if text:
                        yield Token(text)
                elif "messageStop" in event:
                    reason = _STOP_REASONS.get(event["messageStop"]["stopReason"], "stop")
                elif "metadata" in event:
                    usage = event["metadata"].get("usage", usage)
        except ClientError as exc:  # EventStreamError (an error event mid-stream) is one too
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            status, kind = _ERROR_STATUS.get(code, (500, "server_error"))
            raise ModelError(f"Bedrock {code}: {error.get('Message', exc)}", status, kind) from exc
        yield Finish(reason, usage.get("inputTokens", 0), usage.get("outputTokens", 0))


# -- the registry --------------------------------------------------------------------------


def default_models(environ: dict[str, str] | None = None) -> dict[str, ChatModel]:
    env = os.environ if environ is None else environ
    rate = float(env.get("LOCAL_MODEL_TOKENS_PER_SECOND", "30"))
    length = int(env.get("LOCAL_MODEL_REPLY_TOKENS", "48"))
    models: dict[str, ChatModel] = {LocalModel.id: LocalModel(rate, length)}
    for model_id in filter(None, (s.strip() for s in env.get("BEDROCK_MODELS", "").split(","))):
        models[model_id] = BedrockModel(model_id)
    return models
