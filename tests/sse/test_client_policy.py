"""The EventSource client's sans-IO policy and argument checks: no sockets involved."""

from __future__ import annotations

import logging
import random

import httpx
import pytest

from lambda_sse.errors import ConfigError, EventSourceError, LambdaSSEError
from lambda_sse.sse.client import (
    BACKOFF_BASE_MS,
    CLOSED,
    CONNECTING,
    EventSource,
    EventSourceContentTypeError,
    EventSourceExhaustedError,
    EventSourceOptionError,
    EventSourceStatusError,
    ReconnectPolicy,
    check_response,
    content_type_essence,
    last_event_id_header,
)

URL = "http://127.0.0.1:9/events"


def response(status: int, content_type: str | None = None) -> httpx.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", URL))


# -- content type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "essence"),
    [
        ("text/event-stream", "text/event-stream"),
        ("text/event-stream; charset=utf-8", "text/event-stream"),
        ("TEXT/Event-Stream ;charset=UTF-8", "text/event-stream"),
        ("  text/event-stream  ", "text/event-stream"),
        ("text/plain", "text/plain"),
        ("text/event-streams", "text/event-streams"),
        ("", ""),
        (None, ""),
    ],
)
def test_content_type_essence(header: str | None, essence: str) -> None:
    assert content_type_essence(header) == essence


@pytest.mark.parametrize(
    "content_type",
    ["text/event-stream", "text/event-stream; charset=utf-8", "Text/Event-Stream"],
)
def test_check_response_accepts_event_streams(content_type: str) -> None:
    check_response(response(200, content_type))


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/json", "text/event-stream-x", "text/html"]
)
def test_check_response_refuses_other_types(content_type: str | None) -> None:
    refused = response(200, content_type)
    with pytest.raises(EventSourceContentTypeError) as caught:
        check_response(refused)
    assert caught.value.response is refused
    assert caught.value.content_type == content_type
    assert "text/event-stream" in str(caught.value)
    assert (repr(content_type) if content_type else "no Content-Type") in str(caught.value)


def test_check_response_204_says_stop() -> None:
    with pytest.raises(EventSourceStatusError, match=r"204 No Content.*stop") as caught:
        check_response(response(204, "text/event-stream"))
    assert caught.value.status == 204


@pytest.mark.parametrize("status", [201, 202, 206, 304, 400, 401, 404, 429, 500, 503])
def test_check_response_refuses_every_other_status(status: int) -> None:
    with pytest.raises(EventSourceStatusError) as caught:
        check_response(response(status, "text/event-stream"), b"details here")
    assert caught.value.status == status
    assert f"answered {status}" in str(caught.value)
    assert "details here" in str(caught.value)
    assert caught.value.body == b"details here"
    assert isinstance(caught.value, EventSourceError)
    assert isinstance(caught.value, LambdaSSEError)


# -- Last-Event-ID -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_id", "header"),
    [
        ("", None),
        ("42", b"42"),
        ("é✓", "é✓".encode()),
        ("  padded\t", b"padded"),
        ("   ", None),
        ("a\tb", b"a\tb"),
    ],
)
def test_last_event_id_header(last_id: str, header: bytes | None) -> None:
    assert last_event_id_header(last_id) == header


@pytest.mark.parametrize("last_id", ["a\x01b", "\x7f", "x\x1fy"])
def test_last_event_id_header_drops_control_characters(
    last_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lambda_sse.sse.client"):
        assert last_event_id_header(last_id) is None
    assert "cannot be sent" in caplog.text


# -- reconnect policy --------------------------------------------------------------------------


def policy_with(draws: list[float], **options: int | None) -> ReconnectPolicy:
    values = iter(draws)
    return ReconnectPolicy(random=lambda: next(values), **options)  # type: ignore[arg-type]


def test_policy_waits_the_reconnection_time_after_a_delivering_attempt() -> None:
    policy = ReconnectPolicy(retry_ms=1500, random=lambda: pytest.fail("no jitter expected"))
    for _ in range(5):
        assert policy.attempt_ended(delivered=True) == 1.5
    assert policy.failures == 0


def test_policy_first_failure_waits_the_reconnection_time_exactly() -> None:
    policy = ReconnectPolicy(retry_ms=2000, random=lambda: pytest.fail("no jitter expected"))
    assert policy.attempt_ended(delivered=False) == 2.0
    assert policy.failures == 1


def test_policy_backs_off_with_jitter_after_consecutive_failures() -> None:
    policy = policy_with([0.0, 1.0, 0.5, 1.0, 0.25], retry_ms=1000, max_backoff_ms=5000)
    delays = [policy.attempt_ended(delivered=False) for _ in range(6)]
    # f=1: the retry; f=2: [1000, 2000]; f=3: [1000, 4000]; f>=4: [1000, 5000] (the cap)
    assert delays == [1.0, 1.0, 4.0, 3.0, 5.0, 2.0]


def test_policy_success_resets_the_backoff() -> None:
    policy = policy_with([1.0] * 10, retry_ms=1000)
    assert [policy.attempt_ended(False) for _ in range(3)] == [1.0, 2.0, 4.0]
    assert policy.attempt_ended(True) == 1.0
    assert [policy.attempt_ended(False) for _ in range(3)] == [1.0, 2.0, 4.0]


def test_policy_delays_stay_between_retry_and_cap() -> None:
    rng = random.Random(1234)
    for retry in (0, 1, 250, 3000, 60_000):
        policy = ReconnectPolicy(retry_ms=retry, max_backoff_ms=30_000, random=rng.random)
        for failures in range(1, 200):
            delay = policy.attempt_ended(delivered=False) * 1000
            assert policy.failures == failures
            assert retry <= delay <= max(retry, 30_000)


def test_policy_retry_zero_still_backs_off() -> None:
    policy = policy_with([1.0] * 4, retry_ms=0)
    assert [policy.attempt_ended(False) for _ in range(3)] == [
        0.0,
        2 * BACKOFF_BASE_MS / 1000,
        4 * BACKOFF_BASE_MS / 1000,
    ]


def test_policy_gives_up_after_max_attempts_in_a_row() -> None:
    policy = ReconnectPolicy(retry_ms=10, max_attempts=3, random=lambda: 0.0)
    assert policy.attempt_ended(False) == 0.01
    assert policy.attempt_ended(True) == 0.01  # a delivering attempt resets the count
    policy.attempt_ended(False)
    policy.attempt_ended(False)
    cause = httpx.ConnectError("refused")
    with pytest.raises(EventSourceExhaustedError, match="3 connection attempt") as caught:
        policy.attempt_ended(False, cause)
    assert caught.value.attempts == 3
    assert caught.value.__cause__ is cause
    assert "ConnectError: refused" in str(caught.value)


def test_policy_exhaustion_without_an_error_says_so() -> None:
    policy = ReconnectPolicy(max_attempts=1)
    last = response(200, "text/event-stream")
    with pytest.raises(EventSourceExhaustedError, match="ended without an event") as caught:
        policy.attempt_ended(False, None, last)
    assert caught.value.response is last


# -- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        ({"url": "ftp://example.com/x"}, "url", "http:// or https://"),
        ({"url": "/relative/path"}, "url", "absolute"),
        ({"url": "http://[::1"}, "url", "not a valid URL"),
        ({"url": 42}, "url", "str or httpx.URL"),
        ({"retry": -1}, "retry", ">= 0"),
        ({"retry": 1.5}, "retry", "int"),
        ({"retry": True}, "retry", "int"),
        ({"max_attempts": 0}, "max_attempts", ">= 1"),
        ({"max_backoff": -5}, "max_backoff", ">= 0"),
        ({"read_timeout": 0}, "read_timeout", "positive"),
        ({"read_timeout": "5"}, "read_timeout", "positive"),
        ({"connect_timeout": -1.0}, "connect_timeout", "positive"),
        ({"headers": {"Last-Event-ID": "3"}}, "headers", "last_event_id="),
        ({"headers": {"X-Bad": "a\nb"}}, "headers", "control character"),
        ({"headers": {"Bad Name": "x"}}, "headers", "not a valid header name"),
        ({"headers": {"X-Num": 5}}, "headers", "str to str"),
        ({"headers": [("a", "b")]}, "headers", "mapping"),
        ({"last_event_id": "a\nb"}, "last_event_id", "CR or LF"),
        ({"last_event_id": "a\0b"}, "last_event_id", "NUL"),
        ({"max_line": 0}, "max_line", ">= 1"),
        ({"max_event": "big"}, "max_event", "int"),
        ({"last_event_id": 7}, "last_event_id", "str"),
        ({"method": "GET /x"}, "method", "HTTP method"),
        ({"content": {"a": 1}}, "content", "bytes, str or None"),
        (
            {"client": httpx.Client(), "transport": httpx.HTTPTransport()},
            "transport",
            "not both",
        ),
    ],
)
def test_bad_arguments_raise_a_clear_option_error(
    options: dict[str, object], key: str, message: str
) -> None:
    url = options.pop("url", URL)
    try:
        with pytest.raises(EventSourceOptionError, match=message) as caught:
            EventSource(url, **options)  # type: ignore[arg-type]
    finally:
        client = options.get("client")
        if isinstance(client, httpx.Client):
            client.close()
    assert caught.value.key == key
    assert isinstance(caught.value, ConfigError)
    assert isinstance(caught.value, ValueError)


def test_fresh_source_state() -> None:
    source = EventSource(URL, last_event_id="7", retry=1234)
    assert source.last_event_id == "7"
    assert source.retry == 1234
    assert source.ready_state == CONNECTING
    assert source.response is None
    assert str(source.url) == URL
    assert "CONNECTING" in repr(source)
    source.close()
    assert source.ready_state == CLOSED
    assert source.closed
    assert list(source) == []  # a closed source yields nothing


def test_package_exports_the_client_lazily() -> None:
    import lambda_sse.sse

    assert lambda_sse.sse.EventSource is EventSource
