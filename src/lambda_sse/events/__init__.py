"""AWS HTTP events to a neutral request, and a neutral response to each reply format.

One translator per source behind :class:`Translator`: API Gateway REST (payload 1.0),
HTTP API and Function URL (payload 2.0), Application Load Balancer. Sans-IO, standard library only.

    translator = detect(event)          # NotAnHttpEvent if it is none of them
    request = translator.request(event) # HttpRequest
    reply = translator.reply(HttpResponse(200, headers, body), event)   # buffered envelope
    metadata = translator.prelude(200, headers)   # streamed prelude (REST and Function URL)

The translator classes (and ``TRANSLATORS``) load on first use, so a cold start pays only for
the front door its events come through.
"""

from __future__ import annotations

from lambda_sse.events.base import Translator
from lambda_sse.events.detect import NotAnHttpEvent, detect, is_completion_notice
from lambda_sse.events.model import (
    EventShapeError,
    HeaderList,
    HttpRequest,
    HttpResponse,
    SourceKind,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, for type checkers only
if TYPE_CHECKING:
    from lambda_sse.events.alb import AlbTranslator
    from lambda_sse.events.detect import TRANSLATORS
    from lambda_sse.events.rest import RestTranslator
    from lambda_sse.events.v2 import V2Translator

__all__ = [
    "TRANSLATORS",
    "AlbTranslator",
    "EventShapeError",
    "HeaderList",
    "HttpRequest",
    "HttpResponse",
    "NotAnHttpEvent",
    "RestTranslator",
    "SourceKind",
    "Translator",
    "V2Translator",
    "detect",
    "is_completion_notice",
]

_LAZY = {
    "AlbTranslator": "alb",
    "RestTranslator": "rest",
    "V2Translator": "v2",
    "TRANSLATORS": "detect",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lambda_sse.events' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"lambda_sse.events.{module}"), name)
    globals()[name] = value
    return value
