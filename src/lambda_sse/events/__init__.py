"""AWS HTTP events to a neutral request, and a neutral response to each reply format.

One translator per source behind :class:`Translator`: API Gateway REST (payload 1.0),
HTTP API and Function URL (payload 2.0), Application Load Balancer. Sans-IO, standard library only.

    translator = detect(event)          # NotAnHttpEvent if it is none of them
    request = translator.request(event) # HttpRequest
    reply = translator.reply(HttpResponse(200, headers, body), event)   # buffered envelope
    metadata = translator.prelude(200, headers)   # streamed prelude (REST and Function URL)
"""

from __future__ import annotations

from lambda_sse.events.alb import AlbTranslator
from lambda_sse.events.base import Translator
from lambda_sse.events.detect import TRANSLATORS, NotAnHttpEvent, detect, is_completion_notice
from lambda_sse.events.model import (
    EventShapeError,
    HeaderList,
    HttpRequest,
    HttpResponse,
    SourceKind,
)
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
