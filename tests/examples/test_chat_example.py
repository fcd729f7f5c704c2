"""The chat example end to end: the official ``openai`` SDK pointed at ``lambda-sse dev`` through
the REST API (transferMode STREAM) and the Function URL (RESPONSE_STREAM), streamed and not, with
usage, and errors raised as the SDK's own exception classes; Bedrock models through boto3 against
a loopback ConverseStream stand-in (tests/support/bedrock.py)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.examples.devserver import DevServer, copy_example, dev_server
from tests.support.bedrock import FakeBedrock, fake_bedrock

RATE = 20.0  # tokens per second of lambda-sse-local in these tests: one token every 50 ms
DOORS = ["rest", "url"]
MESSAGES: Any = [{"role": "user", "content": "How do streams work on Lambda?"}]


@pytest.fixture(scope="module")
def bedrock() -> Iterator[FakeBedrock]:
    with fake_bedrock() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, bedrock: FakeBedrock) -> Iterator[DevServer]:
    tmp = tmp_path_factory.mktemp("chat")
    project = copy_example(
        "chat",
        tmp,
        environment={
            "LOCAL_MODEL_TOKENS_PER_SECOND": str(RATE),
            "BEDROCK_MODELS": "fake.echo,fake.fail-mid,fake.throttled",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
    )
    with dev_server(project, tmp) as running:
        # A warm environment: the timing tests measure streaming, not Flask's cold start.
        assert httpx.get(f"{running.url(1)}/v1/models", timeout=30).status_code == 200
        yield running


def base(server: DevServer, door: str) -> str:
    return f"{server.rest}/dev" if door == "rest" else server.url(1)


@pytest.fixture(scope="module")
def clients(server: DevServer) -> Iterator[dict[str, OpenAI]]:
    """One SDK client per door (each holds an HTTP connection pool: closed at the end)."""
    made = {
        door: OpenAI(base_url=base(server, door) + "/v1", api_key="x", max_retries=0, timeout=30)
        for door in DOORS
    }
    yield made
    for sdk in made.values():
        sdk.close()


@pytest.mark.parametrize("door", DOORS)
def test_streamed_completion_arrives_token_by_token(clients: dict[str, OpenAI], door: str) -> None:
    sdk = clients[door]
    started = time.monotonic()
    stream = sdk.chat.completions.create(
        model="lambda-sse-local", messages=MESSAGES, stream=True, max_tokens=12
    )
    arrivals: list[tuple[float, Any]] = []
    for chunk in stream:
        arrivals.append((time.monotonic() - started, chunk))
    chunks = [c for _, c in arrivals]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith('You said: "How do streams work on Lambda?".')
    assert [c.choices[0].finish_reason for c in chunks][-1] == "length"
    content_times = [at for at, c in arrivals if c.choices[0].delta.content]
    assert len(content_times) == 12
    # 12 tokens paced at 20/s: the first is there long before the last (11 gaps = 0.55 s);
    # a buffered answer would deliver them all at the same moment.
    assert content_times[0] < 0.45, content_times
    assert content_times[-1] - content_times[0] >= 0.4, content_times
    gaps = [b - a for a, b in itertools.pairwise(content_times)]
    assert sorted(gaps)[len(gaps) // 2] >= 0.02, gaps  # median gap ~50 ms, not ~0


@pytest.mark.parametrize("door", DOORS)
def test_stream_options_include_usage(clients: dict[str, OpenAI], door: str) -> None:
    chunks = list(
        clients[door].chat.completions.create(
            model="lambda-sse-local",
            messages=MESSAGES,
            stream=True,
            max_tokens=3,
            stream_options={"include_usage": True},
        )
    )
    *content, last = chunks
    assert all(c.usage is None for c in content)
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == 3
    assert last.usage.prompt_tokens == 6 + 3  # six words, plus three for the message
    assert last.usage.total_tokens == 12


@pytest.mark.parametrize("door", DOORS)
def test_buffered_completion(clients: dict[str, OpenAI], door: str) -> None:
    sdk = clients[door]
    reply = sdk.chat.completions.create(model="lambda-sse-local", messages=MESSAGES, max_tokens=5)
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == 'You said: "How do streams'
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 5
    # Deterministic: the same conversation, the same words, through either door.
    again = sdk.chat.completions.create(model="lambda-sse-local", messages=MESSAGES, max_tokens=40)
    other = clients["url" if door == "rest" else "rest"].chat.completions.create(
        model="lambda-sse-local", messages=MESSAGES, max_tokens=40
    )
    assert again.choices[0].message.content == other.choices[0].message.content


@pytest.mark.parametrize("door", DOORS)
def test_models_are_listed(clients: dict[str, OpenAI], door: str) -> None:
    ids = [m.id for m in clients[door].models.list()]
    assert ids == ["lambda-sse-local", "fake.echo", "fake.fail-mid", "fake.throttled"]


@pytest.mark.parametrize("door", DOORS)
def test_errors_are_the_sdks_own(clients: dict[str, OpenAI], door: str) -> None:
    sdk = clients[door]
    with pytest.raises(openai.NotFoundError) as unknown:
        sdk.chat.completions.create(model="gpt-nope", messages=MESSAGES, stream=True)
    assert unknown.value.status_code == 404
    assert unknown.value.code == "model_not_found"
    assert "gpt-nope" in unknown.value.message
    with pytest.raises(openai.BadRequestError) as no_messages:
        sdk.chat.completions.create(model="lambda-sse-local", messages=[])
    assert no_messages.value.param == "messages"
    robot: Any = [{"role": "robot", "content": "x"}]
    with pytest.raises(openai.BadRequestError) as bad_role:
        sdk.chat.completions.create(model="lambda-sse-local", messages=robot)
    assert bad_role.value.param == "messages[0].role"


@pytest.mark.parametrize("door", DOORS)
def test_raw_http_errors_have_the_api_shape(server: DevServer, door: str) -> None:
    url = base(server, door) + "/v1/chat/completions"
    bad_json = httpx.post(url, content=b"{not json", timeout=15)
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.post(url, json={"model": "lambda-sse-local"}, timeout=15)
    assert missing.status_code == 400
    assert missing.json() == {
        "error": {
            "message": "Missing required parameter: 'messages'.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "missing_required_parameter",
        }
    }
    nowhere = httpx.get(base(server, door) + "/v1/nowhere", timeout=15)
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["message"] == "Invalid URL (GET /v1/nowhere)"
    wrong_method = httpx.get(url, timeout=15)
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.json()


# -- Amazon Bedrock through boto3 ------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_bedrock_model_streams_through_converse_stream(
    clients: dict[str, OpenAI], door: str, bedrock: FakeBedrock
) -> None:
    sdk = clients[door]
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    chunks = list(
        sdk.chat.completions.create(
            model="fake.echo",
            messages=messages,
            stream=True,
            max_tokens=50,
            temperature=0.2,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (7, 3)
    model, sent = bedrock.requests[-1]
    assert model == "fake.echo"
    assert sent == {
        "messages": [{"role": "user", "content": [{"text": "hello there"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 50, "temperature": 0.2},
    }


@pytest.mark.parametrize("door", DOORS)
def test_bedrock_errors(server: DevServer, clients: dict[str, OpenAI], door: str) -> None:
    sdk = clients[door]
    # Refused before the first token: an HTTP status the SDK maps to its class.
    with pytest.raises(openai.RateLimitError) as throttled:
        sdk.chat.completions.create(model="fake.throttled", messages=MESSAGES, stream=True)
    assert "ThrottlingException" in throttled.value.message
    # Failing mid-stream: the tokens so far, then an error object the SDK raises.
    received: list[str] = []

    def read_all() -> None:
        for chunk in sdk.chat.completions.create(
            model="fake.fail-mid", messages=MESSAGES, stream=True
        ):
            received.append(chunk.choices[0].delta.content or "")

    with pytest.raises(openai.APIError) as broken:
        read_all()
    assert "".join(received) == "Partial answer"
    assert "The model broke." in broken.value.message
    # The function logged it (its log lines reach the emulator's output a moment later).
    deadline = time.monotonic() + 10
    while "modelStreamErrorException" not in server.output():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)


def test_the_page_is_served(server: DevServer) -> None:
    for url in (f"{server.rest}/dev/", f"{server.url(1)}/"):
        page = httpx.get(url, timeout=15)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'fetch("v1/chat/completions"' in page.text


def test_api_key_when_configured(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("chat-key")
    project = copy_example("chat", tmp, environment={"CHAT_API_KEY": "sekrit"})
    with dev_server(project, tmp) as running:
        base_url = f"{running.url(1)}/v1"
        with (
            OpenAI(base_url=base_url, api_key="x", max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError),
        ):
            wrong.models.list()
        with OpenAI(base_url=base_url, api_key="sekrit", max_retries=0) as right:
            assert [m.id for m in right.models.list()] == ["lambda-sse-local"]
        assert json.loads(httpx.get(f"{running.url(1)}/v1/models", timeout=15).text)["error"]
