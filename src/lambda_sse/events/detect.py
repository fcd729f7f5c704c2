"""Which event source an event comes from: a table of translators, tried in order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambda_sse.errors import EventTranslationError
from lambda_sse.events.alb import AlbTranslator
from lambda_sse.events.base import Translator
from lambda_sse.events.rest import RestTranslator
from lambda_sse.events.v2 import V2Translator

__all__ = ["TRANSLATORS", "NotAnHttpEvent", "detect", "is_completion_notice"]

# Order matters only where shapes overlap: ALB events also carry httpMethod, so ALB (which has
# requestContext.elb) comes before REST; a 2.0 event is a Function URL's or an HTTP API's.
TRANSLATORS: tuple[Translator, ...] = (
    V2Translator("function_url"),
    V2Translator("http_api"),
    AlbTranslator(),
    RestTranslator(),
)


class NotAnHttpEvent(EventTranslationError):
    """The event is no HTTP event of a known front door (a completion notice, a scheduled
    event, a direct invoke with a custom payload)."""


def detect(event: Any) -> Translator:
    """The translator for ``event``; raises :class:`NotAnHttpEvent` when none fits."""
    if isinstance(event, Mapping):
        for translator in TRANSLATORS:
            if translator.matches(event):
                return translator
        keys = ", ".join(sorted(map(str, event))[:8]) or "no keys"
        raise NotAnHttpEvent(f"not an HTTP event of API Gateway, a Function URL or ALB ({keys})")
    raise NotAnHttpEvent(f"not an HTTP event: a JSON {type(event).__name__}, not an object")


def is_completion_notice(event: Any) -> bool:
    """``{"invokeCompletionStatus": ..., "requestId": ...}``: reported (one third-party report,
    UNCONFIRMED by AWS docs) as a second invocation after a REST API stream ends."""
    return isinstance(event, Mapping) and "invokeCompletionStatus" in event
