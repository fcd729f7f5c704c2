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
    ├── SignatureError                       a request's AWS SigV4 signature is missing or wrong
    └── ConfigError                          serverless.yml / template.yaml / CLI settings

Split as h11 does: ``InvalidEventError``, ``ResponseStreamError`` and ``ConfigError`` mean *you*
(the caller) broke a rule; ``SSEDecodeError``, ``EventSourceError``, ``RuntimeAPIError`` and
``SignatureError`` mean the *peer* did. Each layer may subclass these; it does not start
hierarchies of its own.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EventSourceError",
    "EventTranslationError",
    "HandlerError",
    "InvalidEventError",
    "LambdaSSEError",
    "ResponseStreamError",
    "RuntimeAPIError",
    "SSEDecodeError",
    "SignatureError",
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


class SignatureError(LambdaSSEError):
    """A request's AWS Signature Version 4 is missing, malformed or does not verify (the peer's
    mistake). ``reason`` says which check failed: ``missing``, ``algorithm``, ``parse``,
    ``scope``, ``signed_headers``, ``date``, ``skew``, ``key``, ``token``, ``payload`` or
    ``signature``."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConfigError(LambdaSSEError):
    """A deployment config or CLI setting that lambda-sse cannot use.

    The message always names the file, the key and the fix, so the CLI can print it as is.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.key = key
