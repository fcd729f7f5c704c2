"""An incremental SSE parser, sans-IO: byte chunks in, :class:`ServerSentEvent` objects out.

It follows WHATWG HTML 9.2.5 "Parsing an event stream" and 9.2.6 "Interpreting an event stream"
(https://html.spec.whatwg.org/multipage/server-sent-events.html) to the letter:

- the stream is UTF-8 whatever the Content-Type says; invalid bytes become U+FFFD;
- one BOM is stripped, and only at offset 0, even when it arrives split across chunks;
- a line ends at CRLF, a lone LF or a lone CR, nothing else (U+2028, U+0085, VT, FF are
  content); a CR that ends a chunk ends its line at once and one LF opening the next chunk is
  swallowed (what Chromium does), so events are never held back waiting for a byte;
- ``retry`` counts only when it is all ASCII digits; an ``id`` with NUL is ignored; an id-only
  block still moves :attr:`SSEDecoder.last_event_id`; a block without its blank line when the
  stream ends is discarded.

Why bytes rather than text: the line ends, the colon, the space and the field names are ASCII,
and in UTF-8 an ASCII byte is never part of a multi-byte sequence. So the parser splits raw bytes
with ``bytes.split`` (LF only) or ``bytes.splitlines`` (which breaks at CRLF, CR and LF, exactly
the SSE line ends, and nothing else), at C speed and with no incremental text decoder, and
decodes each value once, invalid bytes replaced; the result equals decoding the whole stream
first, as the spec does, because a UTF-8 decoder never swallows an ASCII byte into a replacement
character.

Memory is bounded: a line longer than ``max_line`` bytes or an event whose data exceeds
``max_event`` bytes raises :class:`SSELimitError` (an :class:`~lambda_sse.errors.SSEDecodeError`).
Beyond those, the decoder holds no more than the chunk it is given.
"""

from __future__ import annotations

from typing import NoReturn

from lambda_sse.errors import ArgumentTypeError, OptionError, SSEDecodeError, SSELimitError
from lambda_sse.sse.event import ServerSentEvent

__all__ = ["DEFAULT_MAX_EVENT", "DEFAULT_MAX_LINE", "SSEDecoder", "SSELimitError"]

# Generous, but finite: a browser has no limit, a server that streams a 4 MiB line is rare, and
# an endless line from a broken peer must not take the process down.
DEFAULT_MAX_LINE = 4 * 1024 * 1024
DEFAULT_MAX_EVENT = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_new = object.__new__
_LINE_ENDS = (10, 13)  # LF, CR
# int() refuses longer digit strings (the CVE-2020-10735 guard): a retry with more significant
# digits (some 10**4290 years) is ignored; leading zeros are stripped first, so they never count.
_MAX_RETRY_DIGITS = 4300


class SSEDecoder:
    """Parse an event stream fed in chunks of any size.

    ``feed(chunk)`` returns the events completed by that chunk. ``last_event_id`` is the id the
    stream last dispatched (send it as ``Last-Event-ID`` when reconnecting); ``retry`` the last
    valid reconnection time in milliseconds, or None. ``close()`` ends the stream (a pending
    block is discarded); the same decoder then parses the next connection's stream, keeping
    ``last_event_id`` and ``retry``.
    """

    __slots__ = (
        "_bom",
        "_counted",
        "_cr",
        "_data",
        "_failed",
        "_id",
        "_parts",
        "_size",
        "_tail",
        "_type",
        "last_event_id",
        "max_event",
        "max_line",
        "retry",
    )

    def __init__(
        self,
        *,
        max_line: int = DEFAULT_MAX_LINE,
        max_event: int = DEFAULT_MAX_EVENT,
        last_event_id: str = "",
    ) -> None:
        for name, value in (("max_line", max_line), ("max_event", max_event)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OptionError(f"{name} must be a positive int (bytes), got {value!r}")
        if not isinstance(last_event_id, str) or "\0" in last_event_id:
            raise OptionError(f"last_event_id must be a str without NUL, got {last_event_id!r}")
        self.max_line = max_line
        self.max_event = max_event
        self.last_event_id = last_event_id
        self.retry: int | None = None
        self._failed: SSELimitError | None = None
        self._begin_stream()

    def _begin_stream(self) -> None:
        # Per-stream state; the spec's "last event ID buffer" starts at the stream's last id.
        self._bom: bytes | None = b""  # bytes seen so far while the BOM is undecided, else None
        self._cr = False  # the previous chunk ended with CR: swallow one LF
        self._tail = b""  # the unfinished line
        self._parts: list[bytes] = []  # more unfinished-line pieces, joined when a line ends
        self._data: list[bytes] = []
        self._size = 0  # bytes of the pending event's data, over its first _counted lines
        self._counted = 0
        self._type = b""
        self._id = self.last_event_id

    def close(self) -> None:
        """End of stream: discard the pending block and unfinished line (the spec says so).

        The decoder is then ready for a new stream (a reconnect): its BOM is stripped again,
        and ``last_event_id`` and ``retry`` carry over.
        """
        self._failed = None
        self._begin_stream()

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Parse ``chunk`` and return the events it completes, in order."""
        if self._failed is not None:
            raise SSEDecodeError(f"decoder stopped after an earlier error: {self._failed}")
        if type(chunk) is not bytes:
            chunk = _as_bytes(chunk)
        if self._bom is not None:
            chunk = self._strip_bom(chunk)
        if self._cr and chunk:
            self._cr = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if b"\r" in chunk:
            # bytes.splitlines() breaks at CRLF, CR and LF and nothing else: the SSE line ends.
            # A CR that ends the chunk ends its line now (see the module docstring).
            self._cr = chunk[-1] == 13
            if self._tail:
                chunk = self._joined(chunk)
            lines = chunk.splitlines()
            tail = self._tail = b"" if chunk[-1] in _LINE_ENDS else lines.pop()
        else:
            if b"\n" not in chunk:
                if chunk:
                    self._hold(chunk)
                return []
            if self._tail:
                chunk = self._joined(chunk)
            lines = chunk.split(b"\n")
            tail = self._tail = lines.pop()
        max_line = self.max_line
        if len(chunk) > max_line and (
            len(tail) > max_line or max(map(len, lines), default=0) > max_line
        ):
            return self._over_line(lines)
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        # The hot loop. State lives in locals and is written back at the end; events are built
        # inline (no __init__: their fields are valid by construction); the commonest line
        # shapes ("data: x", "id: x", "event: x") skip the general partition.
        events: list[ServerSentEvent] = []
        append = events.append
        new = _new
        data = self._data
        size = self._size
        counted = self._counted
        etype = self._type
        id_buffer = self._id
        last_id = self.last_event_id
        max_event = self.max_event
        type_raw, type_str = b"", "message"  # the last type decoded, reused while it repeats
        try:
            for line in lines:
                if not line:
                    # Dispatch (9.2.6): the stream's id moves first, even without data.
                    last_id = id_buffer
                    if data:
                        event = new(ServerSentEvent)
                        raw = data[0] if len(data) == 1 else b"\n".join(data)
                        if len(raw) > max_event:
                            self._over_event(events, len(raw))
                        try:
                            event._data = raw.decode()  # strict is faster; bad bytes are rare
                        except UnicodeDecodeError:
                            event._data = raw.decode("utf-8", "replace")
                        if etype != type_raw:
                            type_raw = etype
                            type_str = etype.decode("utf-8", "replace") if etype else "message"
                        event._event = type_str
                        event._id = last_id
                        event._retry = None
                        event._comment = None
                        append(event)
                        data = []
                        size = counted = 0
                    etype = b""
                    continue
                first = line[0]
                if first == 100 and line[:6] == b"data: ":  # d
                    data.append(line[6:])
                    continue
                if first == 105 and line[:4] == b"id: ":  # i
                    if b"\0" not in line:
                        id_buffer = line[4:].decode("utf-8", "replace")
                    continue
                if first == 101 and line[:7] == b"event: ":  # e
                    etype = line[7:]
                    continue
                if first == 58:  # a colon: a comment
                    continue
                name, _, value = line.partition(b":")  # name is not empty: see the colon test
                if value[:1] == b" ":
                    value = value[1:]
                if name == b"data":
                    data.append(value)
                elif name == b"event":
                    etype = value
                elif name == b"id":
                    if b"\0" not in value:
                        id_buffer = value.decode("utf-8", "replace")
                elif name == b"retry" and value.isdigit():
                    # bytes.isdigit() is ASCII-only, exactly the spec's "ASCII digits".
                    digits = value.lstrip(b"0") or b"0"
                    if len(digits) <= _MAX_RETRY_DIGITS:
                        self.retry = int(digits)
            if len(data) > counted:
                # The pending event's data, counted once per feed rather than once per line:
                # together with the check at dispatch, no event holds more than max_event bytes
                # beyond the chunk being parsed.
                size += sum(map(len, data[counted:])) + len(data) - counted
                counted = len(data)
                if size - 1 > max_event:
                    self._over_event(events, size - 1)
        finally:
            self._data = data
            self._size = size
            self._counted = counted
            self._type = etype
            self._id = id_buffer
            self.last_event_id = last_id
        return events

    def _joined(self, chunk: bytes) -> bytes:
        """The unfinished line so far, followed by ``chunk``."""
        parts = self._parts
        parts.append(chunk)
        chunk = self._tail + b"".join(parts)
        self._parts = []
        return chunk

    def _hold(self, piece: bytes) -> None:
        """Keep part of an unfinished line; never more than ``max_line`` bytes."""
        parts = self._parts
        if not self._tail:
            self._tail = piece
        else:
            parts.append(piece)
            if len(parts) >= 64:
                # Many tiny chunks (a byte at a time): join in batches, so the work stays
                # linear in the line length rather than quadratic.
                self._tail += b"".join(parts)
                parts.clear()
        held = len(self._tail) + sum(map(len, parts))
        if held > self.max_line:
            self._tail = b""
            parts.clear()
            self._fail(SSELimitError(self._line_message(held), []))

    def _strip_bom(self, chunk: bytes) -> bytes:
        """Drop a BOM at offset 0 of the stream, however the first bytes are chunked."""
        head = self._bom + chunk if self._bom else chunk
        if len(head) < 3 and _BOM.startswith(head):
            self._bom = head  # undecided: maybe the start of a BOM
            return b""
        self._bom = None
        return head[3:] if head.startswith(_BOM) else head

    def _line_message(self, size: int) -> str:
        return f"SSE line of {size}+ bytes is over max_line={self.max_line}"

    def _over_line(self, lines: list[bytes]) -> NoReturn:
        """Parse the lines before the first oversized one, then raise with their events."""
        max_line = self.max_line
        long = next((i for i, line in enumerate(lines) if len(line) > max_line), len(lines))
        size = len(lines[long]) if long < len(lines) else len(self._tail)
        events = self._lines(lines[:long])
        self._tail = b""
        self._fail(SSELimitError(self._line_message(size), events))

    def _over_event(self, events: list[ServerSentEvent], size: int) -> NoReturn:
        self._data = []
        self._fail(
            SSELimitError(
                f"SSE event data of {size}+ bytes is over max_event={self.max_event}", events
            )
        )

    def _fail(self, error: SSELimitError) -> NoReturn:
        self._failed = error
        raise error


def _as_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise ArgumentTypeError(f"SSEDecoder.feed() takes bytes, got {type(chunk).__name__}")
