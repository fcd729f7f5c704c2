"""The interface every event-source translator implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lambda_sse.events.model import HeaderList, HttpRequest, HttpResponse, SourceKind

__all__ = ["Translator"]


class Translator(Protocol):
    """Translates one AWS event source, both ways. Stateless; one instance per source."""

    @property
    def kind(self) -> SourceKind: ...

    @property
    def streams(self) -> bool:
        """Whether this front door can receive a streamed response (REST ``STREAM`` methods and
        ``RESPONSE_STREAM`` Function URLs can; HTTP APIs and ALB cannot)."""
        ...

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` comes from this source. Cheap: looks at a key or two."""
        ...

    def request(self, event: Mapping[str, Any]) -> HttpRequest:
        """The neutral request; raises ``EventTranslationError`` on a malformed event."""
        ...

    def reply(self, response: HttpResponse, event: Mapping[str, Any]) -> dict[str, Any]:
        """The buffered reply the front door expects for ``event``."""
        ...

    def prelude(self, status: int, headers: HeaderList) -> dict[str, Any]:
        """The metadata of a streamed reply (for ``encode_prelude`` / ``HttpResponseStream``);
        raises ``EventTranslationError`` when the source cannot stream."""
        ...
