"""The EventSource client's policy, sans-IO: the spec's constants, the request and response
rules, when to reconnect and how long to wait, and the checks of the client's arguments.
:mod:`lambda_sse.sse.client` is the I/O around it (httpx). WHATWG HTML 9.2
(https://html.spec.whatwg.org/multipage/server-sent-events.html)."""

from __future__ import annotations

import logging
import random as _random
import re
from collections.abc import Callable, Mapping
from typing import Final

import httpx

from lambda_sse.errors import (
    EventSourceContentTypeError,
    EventSourceExhaustedError,
    EventSourceOptionError,
    EventSourceStatusError,
)

__all__ = [
    "BACKOFF_BASE_MS",
    "CLOSED",
    "CONNECTING",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_BACKOFF_MS",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_RETRY_MS",
    "OPEN",
    "ReconnectPolicy",
    "check_response",
    "content_type_essence",
    "last_event_id_header",
]

logger = logging.getLogger("lambda_sse.sse.client")

# readyState values of the browser's EventSource (WHATWG HTML 9.2.2).
CONNECTING: Final = 0
OPEN: Final = 1
CLOSED: Final = 2

# Browsers' default reconnection time; the spec leaves it to the user agent, all use 3 s.
DEFAULT_RETRY_MS: Final = 3000
# A stream that stays silent this long is taken for dead: above the 15 s heartbeats the spec
# suggests, and at the 60 s idle timeout of ALB and nginx, which would cut it anyway.
DEFAULT_READ_TIMEOUT: Final = 60.0
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_MAX_BACKOFF_MS: Final = 30_000
# Backoff grows from at least this much, so a server's ``retry: 0`` plus a dead backend does
# not become a busy loop.
BACKOFF_BASE_MS: Final = 1000
# How much of a refused response's body goes into the error, for the message.
_BODY_SNIPPET = 512
_EVENT_STREAM: Final = "text/event-stream"
# RFC 9110 5.1 (field name = token) and 5.5 (no control characters but HTAB in a value).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


# -- the sans-IO policy ----------------------------------------------------------------------


def content_type_essence(content_type: str | None) -> str:
    """The MIME type essence: type/subtype, lowercased, parameters dropped (WHATWG MIME
    Sniffing 2.1: ``text/event-stream; charset=utf-8`` has the essence ``text/event-stream``)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip(" \t\r\n").lower()


def last_event_id_header(last_event_id: str) -> bytes | None:
    """The ``Last-Event-ID`` value to send, or None when none should be sent.

    UTF-8, as browsers send it (an id is any text without NUL, CR or LF). HTTP trims spaces and
    tabs around a header value, so they are trimmed here too. An id holding a control character
    cannot travel in a header at all (RFC 9110 5.5): it is not sent, and a warning is logged,
    rather than failing every reconnect.
    """
    value = last_event_id.encode("utf-8").strip(b" \t")
    if not value:
        return None
    if any((byte < 0x20 and byte != 0x09) or byte == 0x7F for byte in value):
        logger.warning(
            "last event id %r cannot be sent as a header; resuming without it", last_event_id
        )
        return None
    return value


def check_response(response: httpx.Response, body: bytes = b"") -> None:
    """Raise the error that ends the stream when ``response`` cannot be an event stream.

    ``body`` is the start of the body of a refused status, quoted in the message.
    """
    where = f"{response.request.method} {response.request.url}"
    status = response.status_code
    if status == 204:
        raise EventSourceStatusError(
            f"{where} answered 204 No Content: the server asks the client to stop", response
        )
    if status != 200:
        reason = response.reason_phrase or httpx.codes.get_reason_phrase(status) or "(no reason)"
        message = f"{where} answered {status} {reason}; an event stream needs 200"
        if body:
            message += f"; body: {body.decode('utf-8', 'replace')!r}"
        raise EventSourceStatusError(message, response, body)
    content_type = response.headers.get("content-type")
    if content_type_essence(content_type) != _EVENT_STREAM:
        shown = repr(content_type) if content_type is not None else "no Content-Type"
        raise EventSourceContentTypeError(
            f"{where} answered 200 with {shown}; an event stream needs {_EVENT_STREAM}",
            response,
        )


class ReconnectPolicy:
    """When to reconnect and how long to wait first; no I/O, no clock.

    Call :meth:`attempt_ended` after each connection attempt: it returns the delay in seconds
    before the next one, or raises :class:`EventSourceExhaustedError`.

    - An attempt that delivered at least one event resets the failure count and waits exactly
      the reconnection time (``retry_ms``), like a browser.
    - The first attempt in a row without an event waits the reconnection time too (one blip).
    - From the second one on, the wait is drawn uniformly between the reconnection time and
      ``min(max(retry_ms, BACKOFF_BASE_MS) * 2 ** (failures - 1), max_backoff_ms)`` ("full
      jitter" over a floor: never sooner than the server asked, and never in lockstep with
      other clients; see AWS Architecture Blog, "Exponential Backoff And Jitter").
    - After ``max_attempts`` attempts in a row without an event, it gives up.
    """

    def __init__(
        self,
        *,
        retry_ms: int = DEFAULT_RETRY_MS,
        max_attempts: int | None = None,
        max_backoff_ms: int = DEFAULT_MAX_BACKOFF_MS,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.retry_ms = retry_ms
        self.max_attempts = max_attempts
        self.max_backoff_ms = max_backoff_ms
        self.random = random
        self.failures = 0

    def delay_ms(self) -> float:
        """The wait before the next attempt, given the current failure count."""
        retry = self.retry_ms
        if self.failures <= 1:
            return float(retry)
        base = max(retry, BACKOFF_BASE_MS)
        ceiling = max(min(base * (1 << min(self.failures - 1, 32)), self.max_backoff_ms), retry)
        return retry + (ceiling - retry) * self.random()

    def attempt_ended(
        self,
        delivered: bool,
        error: BaseException | None = None,
        response: httpx.Response | None = None,
    ) -> float:
        """Record an attempt's outcome; return the delay in seconds before the next one."""
        self.failures = 0 if delivered else self.failures + 1
        if self.max_attempts is not None and self.failures >= self.max_attempts:
            if error is not None:
                why = f"last error: {type(error).__name__}: {error}"
            else:
                why = "the last one ended without an event"
            raise EventSourceExhaustedError(
                f"gave up after {self.failures} connection attempt(s) in a row that delivered "
                f"no event (max_attempts={self.max_attempts}); {why}",
                self.failures,
                response,
            ) from error
        return self.delay_ms() / 1000.0


# -- checking EventSource's arguments ----------------------------------------------------------


def _check_url(url: object) -> httpx.URL:
    if not isinstance(url, str | httpx.URL):
        raise EventSourceOptionError(
            f"url must be a str or httpx.URL, got {type(url).__name__}", key="url"
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise EventSourceOptionError(f"url {url!r} is not a valid URL: {exc}", key="url") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise EventSourceOptionError(
            f"url must be an absolute http:// or https:// URL, got {str(url)!r}", key="url"
        )
    return parsed


def _check_headers(headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
    if headers is None:
        return []
    if not isinstance(headers, Mapping):
        raise EventSourceOptionError(
            f"headers must be a mapping of str to str, got {type(headers).__name__}",
            key="headers",
        )
    checked: list[tuple[bytes, bytes]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise EventSourceOptionError(
                f"headers must map str to str, got {name!r}: {value!r}", key="headers"
            )
        if not _TOKEN.fullmatch(name):
            raise EventSourceOptionError(f"{name!r} is not a valid header name", key="headers")
        if _BAD_VALUE.search(value):
            raise EventSourceOptionError(
                f"header {name}: {value!r} holds a control character HTTP forbids",
                key="headers",
            )
        if name.lower() == "last-event-id":
            raise EventSourceOptionError(
                "Last-Event-ID is the client's own header: pass last_event_id= instead",
                key="headers",
            )
        checked.append((name.encode("ascii"), value.strip(" \t").encode("utf-8")))
    return checked


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise EventSourceOptionError(f"{name} must be an int >= {minimum}, got {value!r}", key=name)


def _check_seconds(name: str, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise EventSourceOptionError(
            f"{name} must be a positive number of seconds, got {value!r}", key=name
        )
