"""Which event source an event comes from: a table of translators, tried in order.

Each translator's module loads the first time an event gets that far down the table, so a
function behind one front door (say a Function URL) never imports the other translators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lambda_sse.errors import NotAnHttpEvent
from lambda_sse.events.base import Translator

__all__ = ["TRANSLATORS", "NotAnHttpEvent", "detect", "is_completion_notice"]


def _function_url() -> Translator:
    from lambda_sse.events.v2 import V2Translator

    return V2Translator("function_url")


def _http_api() -> Translator:
    from lambda_sse.events.v2 import V2Translator

    return V2Translator("http_api")


def _alb() -> Translator:
    from lambda_sse.events.alb import AlbTranslator

    return AlbTranslator()


def _rest() -> Translator:
    from lambda_sse.events.rest import RestTranslator

    return RestTranslator()


# Order matters only where shapes overlap: ALB events also carry httpMethod, so ALB (which has
# requestContext.elb) comes before REST; a 2.0 event is a Function URL's or an HTTP API's.
_FACTORIES: tuple[Callable[[], Translator], ...] = (_function_url, _http_api, _alb, _rest)
_loaded: dict[int, Translator] = {}  # table index -> its translator, once built


def _translator(index: int) -> Translator:
    translator = _loaded.get(index)
    if translator is None:
        # setdefault: two threads racing here (sync handlers of Managed Instances) keep one.
        translator = _loaded.setdefault(index, _FACTORIES[index]())
    return translator


def __getattr__(name: str) -> object:
    # TRANSLATORS, the whole table in detection order, builds every translator when asked for.
    if name == "TRANSLATORS":
        return tuple(_translator(i) for i in range(len(_FACTORIES)))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


TYPE_CHECKING = False  # typing.TYPE_CHECKING, for type checkers only
if TYPE_CHECKING:
    TRANSLATORS: tuple[Translator, ...]


def detect(event: Any) -> Translator:
    """The translator for ``event``; raises :class:`NotAnHttpEvent` when none fits."""
    if isinstance(event, Mapping):
        for index in range(len(_FACTORIES)):
            translator = _translator(index)
            if translator.matches(event):
                return translator
        keys = ", ".join(sorted(map(str, event))[:8]) or "no keys"
        raise NotAnHttpEvent(f"not an HTTP event of API Gateway, a Function URL or ALB ({keys})")
    raise NotAnHttpEvent(f"not an HTTP event: a JSON {type(event).__name__}, not an object")


def is_completion_notice(event: Any) -> bool:
    """``{"invokeCompletionStatus": ..., "requestId": ...}``: reported (one third-party report,
    UNCONFIRMED by AWS docs) as a second invocation after a REST API stream ends."""
    return isinstance(event, Mapping) and "invokeCompletionStatus" in event
