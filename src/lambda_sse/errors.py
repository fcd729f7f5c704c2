"""The one exception hierarchy of lambda-sse.

Every error the project raises on purpose derives from :class:`LambdaSSEError`, so
``except LambdaSSEError`` catches all of them and nothing else::

    LambdaSSEError
    ├── InvalidEventError (also ValueError)  an SSE field that must not be encoded
    ├── SSEDecodeError                       a line or event over the decoder's size limit
    ├── EventSourceError                     the client gave up (status, content type, attempts)
    ├── RuntimeAPIError                      the Runtime API answered what the protocol forbids
    ├── HandlerError                         a handler cannot be found, imported or initialised
    ├── ResponseStreamError                  a response stream used out of order (write after end)
    ├── EventTranslationError                an AWS event or reply that cannot be translated
    ├── LambdaAPIError                       a Lambda API request refused as AWS refuses it
    ├── InvokeStreamError                    a streamed invocation ended with an error
    ├── ConfigError                          serverless.yml / template.yaml / CLI settings
    └── ChannelError                         a channel of lambda_sse.channels failed its request
        ├── InvalidChannelNameError (also ValueError)  a name no backend can hold
        ├── ChannelEndedError                          publish after end()
        └── ChannelUnavailableError                    the backend cannot be reached

Split as h11 does: ``InvalidEventError``, ``ResponseStreamError`` and ``ConfigError`` mean *you*
(the caller) broke a rule (so do ``InvalidChannelNameError`` and ``ChannelEndedError``);
``ChannelUnavailableError``, ``SSEDecodeError``, ``EventSourceError``, ``RuntimeAPIError`` and
``InvokeStreamError`` mean the *peer* did; ``LambdaAPIError`` is the emulator telling a client
that it did. Each layer may subclass these; it does not start hierarchies of its own.
"""

from __future__ import annotations

__all__ = [
    "ChannelEndedError",
    "ChannelError",
    "ChannelUnavailableError",
    "ConfigError",
    "EventSourceError",
    "EventTranslationError",
    "HandlerError",
    "InvalidChannelNameError",
    "InvalidEventError",
    "InvokeStreamError",
    "LambdaAPIError",
    "LambdaSSEError",
    "ResponseStreamError",
    "RuntimeAPIError",
    "SSEDecodeError",
]


class LambdaSSEError(Exception):
    """Base class of every error lambda-sse raises on purpose."""


class InvalidEventError(LambdaSSEError, ValueError):
    """An SSE field that cannot be encoded safely (CR/LF in ``event`` or ``id``, NUL in ``id``,
    a negative or non-int ``retry``). A ``ValueError`` too, as design.md promises."""


class SSEDecodeError(LambdaSSEError):
    """The SSE stream broke a limit the decoder enforces (a line or an event too large)."""


class EventSourceError(LambdaSSEError):
    """The EventSource client stopped for good: a non-200 status, a wrong Content-Type, or the
    reconnection attempts ran out. ``response`` is the last response seen, when there was one."""

    def __init__(self, message: str, response: object | None = None) -> None:
        super().__init__(message)
        self.response = response


class RuntimeAPIError(LambdaSSEError):
    """The Lambda Runtime API answered with a status the runtime cannot continue from."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HandlerError(LambdaSSEError):
    """The handler named by ``_HANDLER`` (or the command line) cannot be loaded or initialised."""


class ResponseStreamError(LambdaSSEError):
    """A response stream was used out of order, e.g. a write after ``end()``."""


class EventTranslationError(LambdaSSEError):
    """An AWS event (or a reply to one) that the translators cannot map."""


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


class ConfigError(LambdaSSEError):
    """A deployment config or CLI setting that lambda-sse cannot use.

    The message always names the file, the key and the fix, so the CLI can print it as is.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.key = key


class ChannelError(LambdaSSEError):
    """A channel of :mod:`lambda_sse.channels` cannot do what was asked."""


class InvalidChannelNameError(ChannelError, ValueError):
    """A channel name that is empty, too long or holds a character outside the allowed set."""


class ChannelEndedError(ChannelError):
    """``publish`` on a channel that ``end()`` closed: its subscribers have already stopped."""


class ChannelUnavailableError(ChannelError):
    """The channel's backend cannot be reached or refused the operation (Redis down, the SQLite
    file unwritable or locked too long). The original library error is the ``__cause__``."""
