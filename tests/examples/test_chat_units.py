"""The chat example's pure parts in process: the local model (deterministic, paced against an
injected clock), the request checks and chunk shapes of openai_chat, and the Bedrock adapter's
request mapping and error statuses with boto3 against the loopback ConverseStream stand-in."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.support.bedrock import fake_bedrock

CHAT = Path(__file__).resolve().parents[2] / "examples" / "chat"


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ModuleType, ModuleType]]:
    """The example's modules as it imports them (``models``, ``openai_chat`` at top level),
    removed from sys.modules afterwards so no other test sees these names."""
    sys.path.insert(0, str(CHAT))
    try:
        models = importlib.import_module("models")
        openai_chat = importlib.import_module("openai_chat")
        yield models, openai_chat
    finally:
        sys.path.remove(str(CHAT))
        for name in ("models", "openai_chat"):
            sys.modules.pop(name, None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_local_model_is_deterministic_and_paced(chat: tuple[ModuleType, ModuleType]) -> None:
    models, _ = chat
    clock = FakeClock()
    model = models.LocalModel(tokens_per_second=30, clock=clock, sleep=clock.sleep)
    pieces = list(model.stream(models.ChatRequest(user("hello world"))))
    *tokens, finish = pieces
    assert len(tokens) == 48
    assert "".join(t.text for t in tokens).startswith('You said: "hello world".')
    assert finish == models.Finish("stop", prompt_tokens=2 + 3, completion_tokens=48)
    # The first token at once, then one every 1/30 s, scheduled from the start (no drift).
    assert clock.sleeps == pytest.approx([1 / 30] * 47)
    again = list(
        models.LocalModel(tokens_per_second=0).stream(models.ChatRequest(user("hello world")))
    )
    assert again == pieces
    other = list(models.LocalModel(tokens_per_second=0).stream(models.ChatRequest(user("bye"))))
    assert [t.text for t in other[4:-1]] != [t.text for t in pieces[5:-1]]


def test_local_model_limits(chat: tuple[ModuleType, ModuleType]) -> None:
    models, _ = chat
    model = models.LocalModel(tokens_per_second=0)
    *tokens, finish = model.stream(models.ChatRequest(user("a b c"), max_tokens=4))
    assert (len(tokens), finish.reason, finish.completion_tokens) == (4, "length", 4)
    *tokens, finish = model.stream(models.ChatRequest(user("a b c"), stop=["said"]))
    assert [t.text for t in tokens] == ["You"]
    assert finish.reason == "stop"


def test_pacing_keeps_time_when_the_consumer_is_slow(chat: tuple[ModuleType, ModuleType]) -> None:
    models, _ = chat
    clock = FakeClock()
    model = models.LocalModel(tokens_per_second=10, clock=clock, sleep=clock.sleep)
    stream = model.stream(models.ChatRequest(user("x"), max_tokens=5))
    next(stream)
    clock.now += 0.35  # the consumer took 350 ms over the first token
    list(stream)
    assert clock.sleeps == pytest.approx([0.05])  # tokens 2-4 were due already; 5 at 0.4 s


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        (b"{", 400, None, None),
        (b"[]", 400, None, None),
        (b'{"messages": []}', 400, "model", "missing_required_parameter"),
        (b'{"model": "lambda-sse-local"}', 400, "messages", "missing_required_parameter"),
        (b'{"model": "lambda-sse-local", "messages": []}', 400, "messages", "invalid_value"),
        (b'{"model": "m", "messages": [{"content": "x"}]}', 400, "messages[0].role", None),
        (
            b'{"model": "lambda-sse-local", "messages": [{"role": "user", "content": "x"}],'
            b' "stream_options": {"include_usage": true}}',
            400,
            "stream_options",
            "invalid_value",
        ),
        (
            b'{"model": "lambda-sse-local", "messages": [{"role": "user", "content": "x"}],'
            b' "max_tokens": 0}',
            400,
            "max_tokens",
            "invalid_value",
        ),
        (b'{"model": "gpt-x", "messages": [{"role": "user", "content": "x"}]}', 404, None, None),
    ],
)
def test_request_errors(
    chat: tuple[ModuleType, ModuleType], body: bytes, status: int, param: str | None, code: Any
) -> None:
    models, openai_chat = chat
    with pytest.raises(openai_chat.APIError) as caught:
        openai_chat.parse(body, models.default_models({}))
    error = caught.value
    assert error.status == status
    assert set(error.body["error"]) == {"message", "type", "param", "code"}
    assert error.body["error"]["type"] == "invalid_request_error"
    assert error.body["error"]["param"] == param
    if code is not None:
        assert error.body["error"]["code"] == code
    if status == 404:
        assert error.body["error"]["code"] == "model_not_found"


def test_content_parts_and_developer_role(chat: tuple[ModuleType, ModuleType]) -> None:
    models, openai_chat = chat
    body = {
        "model": "lambda-sse-local",
        "messages": [
            {"role": "developer", "content": "be terse"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
            },
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "stop": "x",
    }
    call = openai_chat.parse(json.dumps(body).encode(), models.default_models({}))
    assert call.request.messages == [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "one\ntwo"},
    ]
    assert (call.stream, call.include_usage, call.request.stop) == (True, True, ["x"])


def test_chunks_shape(chat: tuple[ModuleType, ModuleType]) -> None:
    models, openai_chat = chat
    body = json.dumps(
        {
            "model": "lambda-sse-local",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 2,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    call = openai_chat.parse(body, {"lambda-sse-local": models.LocalModel(tokens_per_second=0)})
    out = list(openai_chat.chunks(call, openai_chat.start(call)))
    assert [c["choices"][0]["delta"] for c in out[:-1]] == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "You"},
        {"content": " said:"},
        {},
    ]
    assert out[-2]["choices"][0]["finish_reason"] == "length"
    assert all(c["usage"] is None for c in out[:-1])
    assert out[-1]["choices"] == []
    assert out[-1]["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    assert openai_chat.sse("[DONE]") == b"data: [DONE]\n\n"
    assert b"\n" not in openai_chat.sse(out[0])[:-2]


def test_converse_arguments(chat: tuple[ModuleType, ModuleType]) -> None:
    models, _ = chat
    request = models.ChatRequest(
        [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
            {"role": "tool", "content": "d"},
        ],
        max_tokens=10,
        top_p=0.5,
        stop=["END"],
    )
    assert models.converse_arguments("m", request) == {
        "modelId": "m",
        "system": [{"text": "sys"}],
        "messages": [
            {"role": "user", "content": [{"text": "a"}, {"text": "b"}]},
            {"role": "assistant", "content": [{"text": "c"}]},
            {"role": "user", "content": [{"text": "d"}]},
        ],
        "inferenceConfig": {"maxTokens": 10, "topP": 0.5, "stopSequences": ["END"]},
    }


def test_bedrock_model_with_boto3(chat: tuple[ModuleType, ModuleType]) -> None:
    models, _ = chat
    with fake_bedrock() as fake:
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=fake.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        request = models.ChatRequest(user("hello there"))
        *tokens, finish = models.BedrockModel("fake.echo", client).stream(request)
        assert "".join(t.text for t in tokens) == "Echo: hello there"
        assert finish == models.Finish("stop", 7, 3)
        for model_id, status, kind in [
            ("fake.throttled", 429, "rate_limit_error"),
            ("fake.missing", 404, "invalid_request_error"),
            ("fake.fail-mid", 500, "server_error"),
        ]:
            with pytest.raises(models.ModelError) as caught:
                list(models.BedrockModel(model_id, client).stream(request))
            assert (caught.value.status, caught.value.kind) == (status, kind), model_id
        client.close()


def test_default_models_from_the_environment(chat: tuple[ModuleType, ModuleType]) -> None:
    models, _ = chat
    found = models.default_models(
        {"BEDROCK_MODELS": " a.b , ,c.d", "LOCAL_MODEL_TOKENS_PER_SECOND": "5"}
    )
    assert list(found) == ["lambda-sse-local", "a.b", "c.d"]
    assert found["lambda-sse-local"].tokens_per_second == 5
