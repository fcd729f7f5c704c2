"""A strict, sans-IO decoder for an HTTP/1.1 chunked request body (RFC 9112 §7.1), bytes in,
whole chunks out.

The Runtime API server reads a streamed ``/response`` through this instead of h11: one SSE event
per chunk made h11's generic per-byte machinery the emulator's largest cost per event. h11 still
parses the request head before and the last chunk with its trailers after (the decoder stops at
the ``0`` line and hands that line and everything after it back untouched as :attr:`tail`).

    decoder = ChunkedDecoder()
    for chunk in decoder.feed(data): ...     # each wire chunk whole, in order
    if decoder.done: h11_conn.receive_data(decoder.tail)

Malformed framing raises :class:`ChunkedFramingError`; a size line longer than ``max_line`` or a
chunk larger than ``max_chunk`` too, so a broken peer cannot make the server buffer without bound.
"""

from __future__ import annotations

from lambda_sse.errors import ChunkedFramingError

__all__ = ["ChunkedDecoder", "ChunkedFramingError"]

_HEX = frozenset(b"0123456789abcdefABCDEF")
_OWS = b" \t"
MAX_LINE = 4096  # a chunk-size line with extensions; h11 allows the same order of magnitude
MAX_CHUNK = 256 * 1024 * 1024  # over Lambda's 200 MB streamed-response cap


class ChunkedDecoder:
    """Feed raw body bytes; get each chunk's data whole, then :attr:`tail` (see module doc)."""

    def __init__(self, *, max_line: int = MAX_LINE, max_chunk: int = MAX_CHUNK) -> None:
        self._max_line = max_line
        self._max_chunk = max_chunk
        self._buffer = bytearray()
        self._need = -1  # bytes of chunk data (+ its CRLF) still wanted; -1: a size line
        self.done = False
        self.tail = b""  # once done: the last-chunk line and everything after it
        self.failed: ChunkedFramingError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """The chunks completed by ``data``. Malformed framing after good chunks in the same
        ``data`` returns those chunks and sets :attr:`failed`; the next feed raises it."""
        if self.failed is not None:
            raise self.failed
        out: list[bytes] = []
        try:
            self._feed(data, out)
        except ChunkedFramingError as exc:
            if not out:
                raise
            self.failed = exc
        return out

    def _feed(self, data: bytes, out: list[bytes]) -> None:
        if self.done:
            self.tail += data
            return
        buf = self._buffer
        if not buf and self._need < 0:
            # Fast path: one or more whole chunks in one read (the usual case, one SSE event
            # per send()), sliced straight out of ``data`` without a copy into the buffer.
            pos = self._whole_chunks(data, out)
            if self.done or pos == len(data):
                return
            data = data[pos:]
        buf += data
        while True:
            if self._need < 0:
                end = buf.find(b"\n")
                if end < 0:
                    if len(buf) > self._max_line:
                        raise ChunkedFramingError("chunk-size line too long")
                    return
                size = self._size(bytes(buf[: end + 1]))
                if size == 0:
                    self.done = True
                    self.tail = bytes(buf)
                    buf.clear()
                    return
                del buf[: end + 1]
                self._need = size + 2
            if len(buf) < self._need:
                return
            need = self._need
            if buf[need - 2 : need] != b"\r\n":
                raise ChunkedFramingError("chunk data not followed by CRLF")
            out.append(bytes(buf[: need - 2]))
            del buf[:need]
            self._need = -1

    def _whole_chunks(self, data: bytes, out: list[bytes]) -> int:
        """Take the complete chunks at the front of ``data``; returns where the rest starts."""
        pos = 0
        n = len(data)
        while pos < n:
            end = data.find(b"\n", pos)
            if end < 0:
                if n - pos > self._max_line:
                    raise ChunkedFramingError("chunk-size line too long")
                return pos
            size = self._size(data[pos : end + 1])
            if size == 0:
                self.done = True
                self.tail = data[pos:]
                return n
            stop = end + 1 + size
            if stop + 2 > n:
                return pos
            if data[stop : stop + 2] != b"\r\n":
                raise ChunkedFramingError("chunk data not followed by CRLF")
            out.append(data[end + 1 : stop])
            pos = stop + 2
        return pos

    def _size(self, line: bytes) -> int:
        """The size of a ``chunk-size [chunk-ext] CRLF`` line (RFC 9112 §7.1, §7.1.1)."""
        if len(line) > self._max_line:
            raise ChunkedFramingError("chunk-size line too long")
        if not line.endswith(b"\r\n"):
            raise ChunkedFramingError("chunk-size line not ended by CRLF")
        digits = line[:-2]
        semi = digits.find(b";")
        if semi >= 0:
            digits = digits[:semi].rstrip(_OWS)  # BWS before ';' (RFC 9112 §7.1.1)
        if not digits or len(digits) > 16 or not _HEX.issuperset(digits):
            raise ChunkedFramingError(f"invalid chunk size {bytes(digits)[:32]!r}")
        size = int(digits, 16)
        if size > self._max_chunk:
            raise ChunkedFramingError(f"chunk of {size} bytes is over {self._max_chunk}")
        return size
