"""The one exception hierarchy of lambda-sse.

Every error the project raises on purpose is one of these, so ``except LambdaSSEError`` catches
all of them and nothing else. Where Python's convention names a built-in (a bad argument is a
``ValueError``, a wrong type a ``TypeError``), the class derives from that too, so callers that
catch the built-in keep working::

    LambdaSSEError
    ├── InvalidEventError (ValueError)         an SSE field that must not be encoded
    ├── InvalidHeaderError (ValueError)        a header name or value HTTP forbids
    ├── ArgumentTypeError (TypeError)          an argument of the wrong type (not a callable, ...)
    ├── MissingExtraError (ImportError)        a module needs an extra that is not installed
    ├── SSEDecodeError                         the peer's SSE stream broke a decoder rule
    │   └── SSELimitError                      a line or event over the decoder's size limit
    ├── EventSourceError                       the SSE client gave up
    │   ├── EventSourceStatusError             a status other than 200
    │   ├── EventSourceContentTypeError        a Content-Type other than text/event-stream
    │   └── EventSourceExhaustedError          ``max_attempts`` attempts in a row gave no event
    ├── RuntimeAPIError                        the Runtime API answered what the protocol forbids
    ├── HandlerError                           a handler cannot be found, imported or initialised
    │   ├── HandlerLoadError                   ... with the ``error_type`` /init/error reports
    │   └── LifespanError                      an ASGI app's lifespan startup failed
    ├── ResponseStreamError                    a response stream used out of order
    │   ├── ASGIProtocolError                  ASGI messages out of order or malformed
    │   ├── WSGIProtocolError                  a WSGI app broke a PEP 3333 rule
    │   └── ChannelClosedError                 the WSGI bridge's reader stopped: nowhere to write
    ├── EventTranslationError                  an AWS event or reply that cannot be translated
    │   ├── EventShapeError                    an HTTP event with a field of the wrong type
    │   ├── NotAnHttpEventError                no HTTP event of a known front door
    │   ├── PreludeError                       a prelude API Gateway would refuse
    │   ├── MalformedResultError               a function result no front door can answer with
    │   └── AuthorizerOutputError              an authorizer's output API Gateway cannot use
    ├── ConfigError                            serverless.yml / template.yaml / CLI settings
    │   ├── OptionError (ValueError)           an argument or setting outside its range
    │   │   └── EventSourceOptionError         ... of the SSE client
    │   ├── ConfigFileError                    tied to a place in a config file
    │   ├── PackagingError                     the deployment package cannot be built
    │   ├── UnknownFunctionError (KeyError)    a function the project does not declare
    │   └── RuntimeUnavailableError            the function's runtime cannot start here
    ├── LocalStateError (RuntimeError)         an emulator object used out of order
    │   ├── DuplicateRequestIdError (ValueError)  a request id enqueued twice
    │   └── UnknownRequestIdError (KeyError)   a request id the Runtime API never saw
    ├── LimitError (ValueError)                a bandwidth bucket used against its rules
    ├── ThrottledError                         the emulated Lambda refused: concurrency used up
    ├── ChunkedFramingError                    the peer's chunked framing is malformed
    ├── TruncatedRequestError (ConnectionError)  a request body cut short: the peer hung up
    ├── ClientGoneError                        the HTTP client hung up mid-reply
    ├── ClientTooSlowError                     an HTTP client stalled past the head timeout
    ├── RequestTooLargeError                   an HTTP request over a front door's size limit
    ├── SignatureError                         a request's AWS SigV4 signature is missing or wrong
    ├── LambdaAPIError                         a Lambda API request refused as AWS refuses it
    ├── InvokeStreamError                      a streamed invocation ended with an error
    ├── EventStreamError                       bytes that are no valid AWS event-stream message
    ├── TestClientError                        ``lambda_sse.testing``'s client cannot go on
    ├── ScaffoldError                          ``lambda-sse init`` would overwrite a file
    └── ChannelError                           a channel of lambda_sse.channels failed its request
        ├── InvalidChannelNameError (ValueError)  a name no backend can hold
        ├── ChannelEndedError                  publish after end()
        └── ChannelUnavailableError            the backend cannot be reached

Split as h11 does: ``InvalidEventError``, ``ResponseStreamError``, ``ConfigError``,
``LocalStateError``, ``InvalidChannelNameError`` and ``ChannelEndedError`` mean *you* (the caller)
broke a rule; ``SSEDecodeError``, ``EventSourceError``, ``RuntimeAPIError``,
``ChunkedFramingError``, ``ChannelUnavailableError``, ``SignatureError`` and
``InvokeStreamError`` mean the *peer* did; ``LambdaAPIError`` is the emulator telling a client
that it did.
Layers import their errors from here; they do not start hierarchies of their own. Older names
(``NotAnHttpEvent``, ``Throttled``, ``UnknownFunction``, ``ClientGone``, ``RequestTooLarge``,
``MalformedResult``, ``RuntimeUnavailable``) stay importable as aliases, from here and from the
modules that defined them.

This module is part of the Lambda package (the runtime imports it): standard library only.

Why this module is longer than 400 lines: it is the one tree, every class of it in one place,
so that the drawing above and the classes below can be read and checked side by side.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    import httpx

    from lambda_sse.local.frontdoor.replies import Reply
    from lambda_sse.sse.event import ServerSentEvent

__all__ = [
    "ASGIProtocolError",
    "ArgumentTypeError",
    "AuthorizerOutputError",
    "ChannelClosedError",
    "ChannelEndedError",
    "ChannelError",
    "ChannelUnavailableError",
    "ChunkedFramingError",
    "ClientGone",
    "ClientGoneError",
    "ClientTooSlowError",
    "ConfigError",
    "ConfigFileError",
    "DuplicateRequestIdError",
    "EventShapeError",
    "EventSourceContentTypeError",
    "EventSourceError",
    "EventSourceExhaustedError",
    "EventSourceOptionError",
    "EventSourceStatusError",
    "EventStreamError",
    "EventTranslationError",
    "HandlerError",
    "HandlerLoadError",
    "InvalidChannelNameError",
    "InvalidEventError",
    "InvalidHeaderError",
    "InvokeStreamError",
    "LambdaAPIError",
    "LambdaSSEError",
    "LifespanError",
    "LimitError",
    "LocalStateError",
    "MalformedResult",
    "MalformedResultError",
    "MissingExtraError",
    "NotAnHttpEvent",
    "NotAnHttpEventError",
    "OptionError",
    "PackagingError",
    "PreludeError",
    "RequestTooLarge",
    "RequestTooLargeError",
    "ResponseStreamError",
    "RuntimeAPIError",
    "RuntimeUnavailable",
    "RuntimeUnavailableError",
    "SSEDecodeError",
    "SSELimitError",
    "ScaffoldError",
    "SignatureError",
    "TestClientError",
    "Throttled",
    "ThrottledError",
    "TruncatedRequestError",
    "UnknownFunction",
    "UnknownFunctionError",
    "UnknownRequestIdError",
    "WSGIProtocolError",
]


class LambdaSSEError(Exception):
    """Base class of every error lambda-sse raises on purpose."""


# -- rules the caller broke ---------------------------------------------------------------------


class InvalidEventError(LambdaSSEError, ValueError):
    """An SSE field that cannot be encoded safely (CR/LF in ``event`` or ``id``, NUL in ``id``,
    a negative or non-int ``retry``). A ``ValueError`` too: that is the public contract of
    :class:`~lambda_sse.sse.ServerSentEvent`."""


class InvalidHeaderError(LambdaSSEError, ValueError):
    """A header name or value holding a character HTTP forbids there (CR, LF; ``:`` in a name)."""


class ArgumentTypeError(LambdaSSEError, TypeError):
    """An argument of the wrong type, e.g. ``streamify_response`` given something not callable."""


class MissingExtraError(LambdaSSEError, ImportError):
    """A module needs packages of an extra that is not installed; the message names the
    ``pip install 'lambda-sse[...]'`` that brings them."""


# -- the SSE codec and client -------------------------------------------------------------------


class SSEDecodeError(LambdaSSEError):
    """The SSE stream broke a rule the decoder enforces."""


class SSELimitError(SSEDecodeError):
    """A line or an event went over the decoder's size limit.

    ``events`` holds the events completed earlier in the same ``SSEDecoder.feed`` call, so
    a caller that reports the error can still deliver them.
    """

    def __init__(self, message: str, events: list[ServerSentEvent]) -> None:
        super().__init__(message)
        self.events = events


class EventSourceError(LambdaSSEError):
    """The EventSource client stopped for good: a non-200 status, a wrong Content-Type, or the
    reconnection attempts ran out. ``response`` is the last response seen, when there was one."""

    def __init__(self, message: str, response: object | None = None) -> None:
        super().__init__(message)
        self.response = response


class EventSourceStatusError(EventSourceError):
    """The server answered a status other than 200 (a 204 means "stop"); ``status`` holds it."""

    def __init__(self, message: str, response: httpx.Response, body: bytes = b"") -> None:
        super().__init__(message, response)
        self.status = response.status_code
        self.body = body


class EventSourceContentTypeError(EventSourceError):
    """The server answered 200 with a Content-Type whose essence is not text/event-stream."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message, response)
        self.content_type = response.headers.get("content-type")


class EventSourceExhaustedError(EventSourceError):
    """``max_attempts`` connection attempts in a row delivered no event.

    ``attempts`` is that count; ``__cause__`` the last error, when the last attempt failed
    with one; ``response`` the last response, when there was one.
    """

    def __init__(self, message: str, attempts: int, response: httpx.Response | None) -> None:
        super().__init__(message, response)
        self.attempts = attempts


# -- the runtime --------------------------------------------------------------------------------


class RuntimeAPIError(LambdaSSEError):
    """The Lambda Runtime API answered with a status the runtime cannot continue from."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HandlerError(LambdaSSEError):
    """The handler named by ``_HANDLER`` (or the command line) cannot be loaded or initialised."""


class HandlerLoadError(HandlerError):
    """The handler cannot be loaded; ``error_type`` is what /init/error reports."""

    def __init__(self, message: str, error_type: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.cause = cause


class LifespanError(HandlerError):
    """The app's lifespan startup failed (``lifespan.startup.failed`` or an exception)."""


class ResponseStreamError(LambdaSSEError):
    """A response stream was used out of order, e.g. a write after ``end()``."""


class ASGIProtocolError(ResponseStreamError):
    """The app sent ASGI messages out of order or malformed."""


class WSGIProtocolError(ResponseStreamError):
    """A WSGI app broke a PEP 3333 rule (no start_response, str body, bad status or headers)."""


class ChannelClosedError(ResponseStreamError):
    """The loop side of the WSGI bridge stopped reading: the response has nowhere to go."""


# -- AWS events and replies ---------------------------------------------------------------------


class EventTranslationError(LambdaSSEError):
    """An AWS event (or a reply to one) that the translators cannot map."""


class EventShapeError(EventTranslationError):
    """An event that claims to be an HTTP event but has a field of the wrong type."""


class NotAnHttpEventError(EventTranslationError):
    """The event is no HTTP event of a known front door (a completion notice, a scheduled
    event, a direct invoke with a custom payload)."""


class PreludeError(EventTranslationError):
    """A prelude that API Gateway would refuse (it answers 500): bad JSON, unknown keys, no
    separator within 16 KB."""


class MalformedResultError(EventTranslationError):
    """A function result the front door cannot turn into an HTTP response (AWS answers 502)."""


class AuthorizerOutputError(EventTranslationError):
    """A Lambda authorizer's output API Gateway cannot use (it answers 500)."""


class SignatureError(LambdaSSEError):
    """A request's AWS Signature Version 4 is missing, malformed or does not verify (the peer's
    mistake). ``reason`` says which check failed: ``missing``, ``algorithm``, ``parse``,
    ``scope``, ``signed_headers``, ``date``, ``skew``, ``key``, ``token``, ``payload`` or
    ``signature``."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class LambdaAPIError(LambdaSSEError):
    """A Lambda API request (``Invoke``, ``InvokeWithResponseStream``) that ``lambda-sse dev``
    refuses with AWS's error: ``code`` (``ResourceNotFoundException`` ...) goes into the
    ``X-Amzn-ErrorType`` header, so that botocore raises its own exception class; ``status`` is
    the HTTP status; ``fields`` are extra members of the JSON body (``Reason``)."""

    def __init__(
        self, code: str, status: int, message: str, *, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.fields = dict(fields or {})


class InvokeStreamError(LambdaSSEError):
    """An ``invoke_with_response_stream`` response ended with an ``InvokeComplete`` event that
    carries an ``ErrorCode`` (the function failed mid-stream, timed out, or crashed)."""

    def __init__(self, error_code: str, error_details: str | None = None) -> None:
        super().__init__(f"{error_code}: {error_details}" if error_details else error_code)
        self.error_code = error_code
        self.error_details = error_details


class EventStreamError(LambdaSSEError):
    """Bytes that are not a valid AWS event-stream message (bad CRC, length or header)."""


# -- configuration ------------------------------------------------------------------------------


class ConfigError(LambdaSSEError):
    """A deployment config or CLI setting that lambda-sse cannot use.

    The message always names the file, the key and the fix, so the CLI can print it as is.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.key = key


class OptionError(ConfigError, ValueError):
    """An argument or setting outside its range (a non-positive size, an unknown mode);
    ``key`` names it when the raiser knows it."""


class EventSourceOptionError(OptionError):
    """An argument of ``EventSource`` that cannot work; ``key`` names it."""


class ConfigFileError(ConfigError):
    """A config problem tied to a place in a file."""


class PackagingError(ConfigError):
    """The package cannot be built; the message says what to change."""


class UnknownFunctionError(ConfigError, KeyError):
    """An invocation named a function the project does not declare."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RuntimeUnavailableError(ConfigError):
    """The function's runtime cannot start on this machine; the message says how to fix it."""


# -- the emulator -------------------------------------------------------------------------------


class LocalStateError(LambdaSSEError, RuntimeError):
    """An environment, pool or Runtime API server used out of order (started twice, invoked
    after close, used before start)."""


class DuplicateRequestIdError(LocalStateError, ValueError):
    """An invocation enqueued with a request id the Runtime API server already used."""


class UnknownRequestIdError(LocalStateError, KeyError):
    """A request id the Runtime API server never handed out (or has forgotten)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class LimitError(LambdaSSEError, ValueError):
    """A bucket used against its rules (non-positive sizes, spending tokens it does not have)."""


class ThrottledError(LambdaSSEError):
    """Lambda rejected the invocation: reserved concurrency is used up.

    A REST API answers 500 {"message": "Internal server error"}; a Function URL 429."""


class ChunkedFramingError(LambdaSSEError):
    """The peer's chunked framing is malformed (RFC 9112 §7.1)."""


class TruncatedRequestError(LambdaSSEError, ConnectionError):
    """A request whose body ended before its framing said it would: the peer hung up."""


class ClientGoneError(LambdaSSEError):
    """The client closed the connection while the reply was being written."""


class ClientTooSlowError(LambdaSSEError):
    """An HTTP client of ``lambda-sse dev`` did not send its request head within the head
    timeout, or its body stalled that long (answered 408, connection closed)."""


class RequestTooLargeError(LambdaSSEError):
    """A request over a front door's head or body limit; ``reply`` is what the door answers."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class TestClientError(LambdaSSEError):
    """The test client cannot go on: its environment was lost to a handler that ran past its
    timeout, or it was closed."""

    __test__ = False  # not a test class, whatever pytest guesses from the name


class ScaffoldError(LambdaSSEError):
    """``lambda-sse init`` cannot write the project: a file it would write exists (it writes
    nothing then), or the target is not a folder."""


class ChannelError(LambdaSSEError):
    """A channel of :mod:`lambda_sse.channels` cannot do what was asked."""


class InvalidChannelNameError(ChannelError, ValueError):
    """A channel name that is empty, too long or holds a character outside the allowed set."""


class ChannelEndedError(ChannelError):
    """``publish`` on a channel that ``end()`` closed: its subscribers have already stopped."""


class ChannelUnavailableError(ChannelError):
    """The channel's backend cannot be reached or refused the operation (Redis down, the SQLite
    file unwritable or locked too long). The original library error is the ``__cause__``."""


# Older names, kept importable.
NotAnHttpEvent = NotAnHttpEventError
MalformedResult = MalformedResultError
UnknownFunction = UnknownFunctionError
RuntimeUnavailable = RuntimeUnavailableError
Throttled = ThrottledError
ClientGone = ClientGoneError
RequestTooLarge = RequestTooLargeError
