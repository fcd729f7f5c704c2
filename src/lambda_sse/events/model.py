"""The neutral request and response that every AWS HTTP event source translates to and from.

Immutable records and small pure helpers: no I/O, standard library only. The records are
``NamedTuple`` classes rather than frozen dataclasses: building a slotted frozen dataclass at
import costs about 0.8 ms per class here, a NamedTuple about a sixth of that, and this module
is on the cold-start path of every ASGI function.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from lambda_sse.errors import EventShapeError

__all__ = [
    "EventShapeError",
    "HeaderList",
    "HttpRequest",
    "HttpResponse",
    "SourceKind",
    "decode_body",
    "encode_body",
    "group_headers",
    "header_value",
    "is_text_content_type",
]

# "rest": API Gateway REST proxy, payload 1.0; "http_api": API Gateway HTTP API, payload 2.0;
# "function_url": Lambda Function URL (payload 2.0); "alb": Application Load Balancer target.
SourceKind = Literal["rest", "http_api", "function_url", "alb"]

HeaderList = tuple[tuple[bytes, bytes], ...]


class HttpRequest(NamedTuple):
    """One HTTP request, whatever front door it came through.

    ``path`` is percent-decoded and excludes ``root_path`` (the REST stage or base path);
    ``raw_path`` is the path as the client sent it when the event carries it (payload 2.0, ALB).
    Header names are lower-case; repeated headers stay separate entries, in order.
    """

    kind: SourceKind
    method: str
    path: str
    query_string: bytes = b""
    headers: HeaderList = ()
    body: bytes = b""
    root_path: str = ""
    raw_path: bytes | None = None
    scheme: str = "https"
    client: tuple[str, int] | None = None
    server: tuple[str, int] | None = None
    http_version: str = "1.1"

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return header_value(self.headers, name)


class HttpResponse(NamedTuple):
    """A complete response: status, ordered raw headers (``set-cookie`` included), body."""

    status: int = 200
    headers: HeaderList = ()
    body: bytes = b""


def header_value(headers: Iterable[tuple[bytes, bytes]], name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in headers:
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


def _want_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise EventShapeError(f"{where} must be a string, got {type(value).__name__}")
    return value


def utf8(text: str, where: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (JSON can carry ``"\\ud800"``, no client can send
    one) makes the event impossible to honour."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EventShapeError(
            f"{where} holds a lone surrogate, which no HTTP request can carry"
        ) from None


def header_bytes(text: str, where: str) -> bytes:
    """The wire bytes of a header name or value of an event.

    A front door that decoded the header bytes as ISO-8859-1 gives characters up to U+00FF, and
    ISO-8859-1 restores the exact bytes; a character above U+00FF can only come from a UTF-8
    decoding, so such a value is encoded back as UTF-8. Nothing is replaced or dropped."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return utf8(text, where)


def decode_body(body: Any, is_base64: Any, where: str = "body") -> bytes:
    """The request body bytes of an event's ``body`` / ``isBase64Encoded`` pair."""
    if body is None:
        return b""
    text = _want_str(body, where)
    if is_base64:
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise EventShapeError(f"{where} is marked isBase64Encoded but is not base64") from None
    return utf8(text, where)


# Content types whose bodies travel as JSON text; anything else (images, gzip, octet streams)
# goes base64 with isBase64Encoded, as API Gateway and Lambda expect for binary payloads.
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/x-ndjson",
        "application/graphql",
        "image/svg+xml",
    }
)


def is_text_content_type(content_type: str | None) -> bool:
    if not content_type:
        return True  # no body type declared: send it as text when it decodes
    essence = content_type.split(";", 1)[0].strip().lower()
    return (
        essence.startswith("text/") or essence in _TEXT_TYPES or essence.endswith(("+json", "+xml"))
    )


def encode_body(body: bytes, headers: Sequence[tuple[bytes, bytes]]) -> tuple[str, bool]:
    """``(body, isBase64Encoded)`` for a buffered reply.

    Text only when the content type is textual, there is no ``Content-Encoding`` (gzip bytes are
    binary whatever the type) and the bytes are valid UTF-8; base64 otherwise.
    """
    if not body:
        return "", False
    textual = is_text_content_type(header_value(headers, "content-type")) and (
        header_value(headers, "content-encoding") in (None, "identity")
    )
    if textual:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


# Hop-by-hop headers (RFC 9110 section 7.6.1) mean nothing once Lambda's front door re-frames the
# response, and a stray Transfer-Encoding from the app would contradict its framing.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
    }
)


def group_headers(
    headers: Iterable[tuple[bytes, bytes]],
) -> tuple[dict[str, list[str]], list[str]]:
    """Group raw headers case-insensitively, in first-seen order and spelling.

    Returns ``(by_name, cookies)``: every header but ``set-cookie`` under its first spelling,
    with all its values in order; and the ``set-cookie`` values apart, since each front door
    carries cookies its own way. Hop-by-hop headers are dropped.
    """
    by_name: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    cookies: list[str] = []
    for raw_key, raw_value in headers:
        key = raw_key.decode("latin-1")
        value = raw_value.decode("latin-1")
        lower = key.lower()
        if lower == "set-cookie":
            cookies.append(value)
            continue
        if lower in _HOP_BY_HOP:
            continue
        name = spelling.setdefault(lower, key)
        by_name.setdefault(name, []).append(value)
    return by_name, cookies


def string_map(value: Any, where: str) -> Mapping[str, Any]:
    """An optional JSON object of the event (``None`` reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventShapeError(f"{where} must be an object or null, got {type(value).__name__}")
    return value


def header_pairs(single: Any, multi: Any, where: str) -> HeaderList:
    """Request headers from an event's ``headers`` and ``multiValueHeaders``.

    When ``multiValueHeaders`` is present it holds every header (API Gateway and ALB fill both
    with the same names), so it wins; otherwise each ``headers`` entry is one header.
    """
    pairs: list[tuple[bytes, bytes]] = []
    multi_map = string_map(multi, f"{where}.multiValueHeaders")
    if multi_map:
        for key, values in multi_map.items():
            if values is None:
                continue
            if not isinstance(values, list):
                raise EventShapeError(f"{where}.multiValueHeaders[{key!r}] must be a list")
            here = f"{where}.multiValueHeaders[{key!r}]"
            name = header_bytes(_want_str(key, here).lower(), here)
            for item in values:
                pairs.append((name, header_bytes(_want_str(item, here), here)))
        return tuple(pairs)
    for key, item in string_map(single, f"{where}.headers").items():
        if item is None:
            continue
        here = f"{where}.headers[{key!r}]"
        name = header_bytes(_want_str(key, here).lower(), here)
        pairs.append((name, header_bytes(_want_str(item, here), here)))
    return tuple(pairs)


def query_pairs(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of ``multiValueQueryStringParameters`` (every value of a repeated
    name), else of ``queryStringParameters``. Null fields and null values mean absent; anything
    else that is not a string (or a list of strings) is refused, never converted."""
    multi = string_map(
        event.get("multiValueQueryStringParameters"), "multiValueQueryStringParameters"
    )
    pairs: list[tuple[str, str]] = []
    if multi:
        for key, values in multi.items():
            where = f"multiValueQueryStringParameters[{key!r}]"
            if values is None:
                continue
            if not isinstance(values, list):
                raise EventShapeError(f"{where} must be a list of strings or null")
            pairs.extend((_want_str(key, where), _want_str(v, where)) for v in values)
        return pairs
    for key, value in string_map(
        event.get("queryStringParameters"), "queryStringParameters"
    ).items():
        where = f"queryStringParameters[{key!r}]"
        if value is not None:
            pairs.append((_want_str(key, where), _want_str(value, where)))
    return pairs


def forwarded(
    headers: HeaderList, default_scheme: str = "https"
) -> tuple[str, tuple[str, int] | None]:
    """Scheme and server address from Host and the X-Forwarded-* headers AWS front doors add."""
    scheme = (header_value(headers, "x-forwarded-proto") or default_scheme).split(",")[0].strip()
    host = header_value(headers, "host")
    if host is None:
        return scheme, None
    port_text = header_value(headers, "x-forwarded-port")
    name, _, host_port = host.partition(":")
    try:
        port = int((port_text or host_port or "").split(",")[0].strip())
    except ValueError:
        port = 443 if scheme == "https" else 80
    return scheme, (name, port)


def client_address(ip: Any) -> tuple[str, int] | None:
    """The client as ASGI wants it; AWS events give the source IP but never the source port."""
    if isinstance(ip, str) and ip:
        return (ip, 0)
    return None


def http_version(protocol: Any) -> str:
    """``"HTTP/1.1"`` -> ``"1.1"``; ASGI accepts 1.0, 1.1 and 2."""
    if isinstance(protocol, str) and protocol.upper().startswith("HTTP/"):
        version = protocol[5:]
        if version in ("1.0", "1.1", "2", "2.0"):
            return "2" if version.startswith("2") else version
    return "1.1"
