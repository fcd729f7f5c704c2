"""The HTTP integration prelude of a streamed Lambda response, sans-IO.

A streamed response whose Content-Type is ``application/vnd.awslambda.http-integration-response``
starts with a JSON object (``statusCode``, ``headers``, ``multiValueHeaders``, ``cookies``), then
exactly eight NUL bytes, then the raw body. API Gateway needs the eight NULs within the first
16 KB and accepts no other keys (docs: apigateway response-transfer-mode-lambda.html; Lambda's
runtimes-custom.html#runtimes-custom-response-streaming).
"""

from __future__ import annotations

import json

from lambda_sse.aws import PRELUDE_CONTENT_TYPE, PRELUDE_LIMIT, PRELUDE_SEPARATOR
from lambda_sse.errors import PreludeError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "PRELUDE_CONTENT_TYPE",
    "PRELUDE_KEYS",
    "PRELUDE_LIMIT",
    "PRELUDE_SEPARATOR",
    "PreludeDecoder",
    "PreludeError",
    "encode_prelude",
]

PRELUDE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "cookies"})


def _check(metadata: Mapping[str, Any]) -> None:
    extra = set(metadata) - PRELUDE_KEYS
    if extra:
        raise PreludeError(
            f"prelude has keys API Gateway rejects: {sorted(extra)}; "
            f"allowed are {sorted(PRELUDE_KEYS)}"
        )
    status = metadata.get("statusCode", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise PreludeError(f"prelude statusCode must be an int from 100 to 599, got {status!r}")


def encode_prelude(metadata: Mapping[str, Any]) -> bytes:
    """The bytes that open a streamed HTTP response: compact JSON plus eight NULs."""
    _check(metadata)
    body = json.dumps(dict(metadata), separators=(",", ":"), ensure_ascii=False).encode()
    if len(body) + len(PRELUDE_SEPARATOR) > PRELUDE_LIMIT:
        raise PreludeError(
            f"prelude is {len(body)} bytes; API Gateway needs it under {PRELUDE_LIMIT} bytes"
        )
    return body + PRELUDE_SEPARATOR


class PreludeDecoder:
    """Splits a streamed body into its prelude and the raw body, across any chunking.

    ``feed`` returns the body bytes that follow the prelude, once it is complete; ``metadata`` is
    ``None`` until then. ``PreludeError`` is raised when no separator shows within the limit, or
    the JSON is not an object with allowed keys.
    """

    def __init__(self, limit: int = PRELUDE_LIMIT) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self.metadata: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self.metadata is not None:
            return chunk
        # Search only the new bytes plus seven of the old, so a long prelude stays linear.
        start = max(0, len(self._buffer) - (len(PRELUDE_SEPARATOR) - 1))
        self._buffer += chunk
        index = self._buffer.find(PRELUDE_SEPARATOR, start)
        if index < 0:
            if len(self._buffer) > self._limit:
                raise PreludeError(
                    f"no 8-NUL prelude separator within the first {self._limit} bytes"
                )
            return b""
        if index + len(PRELUDE_SEPARATOR) > self._limit:
            raise PreludeError(f"no 8-NUL prelude separator within the first {self._limit} bytes")
        head = bytes(self._buffer[:index])
        rest = bytes(self._buffer[index + len(PRELUDE_SEPARATOR) :])
        self._buffer.clear()
        try:
            parsed = json.loads(head.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise PreludeError(f"prelude is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise PreludeError("prelude must be a JSON object")
        _check(parsed)
        self.metadata = parsed
        return rest

    @property
    def pending(self) -> bytes:
        """Bytes held while waiting for the separator (for a stream that ends early)."""
        return bytes(self._buffer)
