"""The ``application/vnd.amazon.eventstream`` framing of ``InvokeWithResponseStream``, sans-IO.

Each message, big-endian (https://docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html)::

    [total length u32][headers length u32][prelude CRC32 u32][headers][payload][message CRC32 u32]

``total length`` counts the whole message (16 bytes of framing); the prelude CRC covers bytes
0-7, the message CRC every byte before it (zlib's CRC32). A header is ``[name length u8][name]
[type u8][value]``; Lambda's events use only strings (type 7: ``u16`` length and UTF-8).

Lambda's response stream carries two events, named by ``:event-type``: ``PayloadChunk`` (the
payload is the function's raw bytes) and ``InvokeComplete`` (a JSON object with ``ErrorCode``,
``ErrorDetails`` and ``LogResult``, each only when set), per botocore's model of the operation.

:func:`payload_chunk` and :func:`invoke_complete` build messages; :class:`EventStreamDecoder`
takes bytes in any pieces and hands out whole messages, checking both CRCs (for tests and
benchmarks that read the stream without botocore).
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

from lambda_sse.errors import LambdaSSEError

__all__ = [
    "EventStreamDecoder",
    "EventStreamError",
    "Message",
    "encode_headers",
    "encode_message",
    "invoke_complete",
    "payload_chunk",
]

_PRELUDE = struct.Struct(">II")
_U32 = struct.Struct(">I")
_STRING = 7
# botocore refuses larger parts (eventstream.py: _MAX_HEADERS_LENGTH, _MAX_PAYLOAD_LENGTH).
MAX_HEADERS_LENGTH = 128 * 1024
MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024


class EventStreamError(LambdaSSEError):
    """Bytes that are not a valid event-stream message (bad CRC, length or header)."""


@dataclass(frozen=True)
class Message:
    headers: dict[str, str]
    payload: bytes


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    """String headers, in order (names must be unique)."""
    out = bytearray()
    for name, value in headers:
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        if not 0 < len(raw_name) < 256 or len(raw_value) > 0xFFFF:
            raise EventStreamError(f"header {name!r} does not fit the framing")
        out += bytes((len(raw_name),)) + raw_name + bytes((_STRING,))
        out += struct.pack(">H", len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: bytes, payload: bytes) -> bytes:
    """One message from encoded headers and a payload."""
    total = 16 + len(headers) + len(payload)
    prelude = _PRELUDE.pack(total, len(headers))
    head = prelude + _U32.pack(zlib.crc32(prelude)) + headers
    crc = zlib.crc32(payload, zlib.crc32(head))
    return b"".join((head, payload, _U32.pack(crc)))


# Headers of every PayloadChunk, encoded once: the hot path only frames the payload.
_CHUNK_HEADERS = encode_headers(
    [
        (":event-type", "PayloadChunk"),
        (":content-type", "application/octet-stream"),
        (":message-type", "event"),
    ]
)
_COMPLETE_HEADERS = encode_headers(
    [
        (":event-type", "InvokeComplete"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ]
)


def payload_chunk(data: bytes) -> bytes:
    """A ``PayloadChunk`` event carrying ``data`` as is."""
    return encode_message(_CHUNK_HEADERS, data)


def invoke_complete(
    error_code: str | None = None,
    error_details: str | None = None,
    log_result: str | None = None,
) -> bytes:
    """The ``InvokeComplete`` event that ends the stream; unset fields are left out (a clean end
    is ``{}``, as AWS sends it)."""
    body: dict[str, str] = {}
    if error_code is not None:
        body["ErrorCode"] = error_code
    if error_details is not None:
        body["ErrorDetails"] = error_details
    if log_result is not None:
        body["LogResult"] = log_result
    return encode_message(_COMPLETE_HEADERS, json.dumps(body, separators=(",", ":")).encode())


class EventStreamDecoder:
    """Bytes in (any split), whole messages out. Raises :class:`EventStreamError`."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages: list[Message] = []
        while len(self._buffer) >= 12:
            total, headers_length = _PRELUDE.unpack_from(self._buffer)
            (prelude_crc,) = _U32.unpack_from(self._buffer, 8)
            if zlib.crc32(bytes(self._buffer[:8])) != prelude_crc:
                raise EventStreamError("prelude CRC mismatch")
            if headers_length > MAX_HEADERS_LENGTH or total < 16 + headers_length:
                raise EventStreamError(f"bad lengths: total {total}, headers {headers_length}")
            if total - 16 - headers_length > MAX_PAYLOAD_LENGTH:
                raise EventStreamError(f"payload over {MAX_PAYLOAD_LENGTH} bytes")
            if len(self._buffer) < total:
                break
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            (crc,) = _U32.unpack_from(raw, total - 4)
            if zlib.crc32(raw[:-4]) != crc:
                raise EventStreamError("message CRC mismatch")
            headers = _decode_headers(raw[12 : 12 + headers_length])
            messages.append(Message(headers, raw[12 + headers_length : total - 4]))
        return messages

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held back."""
        return len(self._buffer)


def _decode_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    at = 0
    while at < len(raw):
        length = raw[at]
        name = raw[at + 1 : at + 1 + length].decode("utf-8")
        at += 1 + length
        if at + 3 > len(raw) or raw[at] != _STRING:
            raise EventStreamError(f"header {name!r}: only string headers are expected here")
        (size,) = struct.unpack_from(">H", raw, at + 1)
        value = raw[at + 3 : at + 3 + size]
        if len(value) != size:
            raise EventStreamError(f"header {name!r} is cut short")
        headers[name] = value.decode("utf-8")
        at += 3 + size
    return headers
