"""A minimal HTTP/1.1 client codec for the Runtime API, sans-IO (bytes in, bytes out).

Why not ``http.client``: it costs import time at every cold start, cannot send trailers and drops
zero-length chunks, which a streamed response may carry (docs:
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html). The Runtime API is a fixed
local peer, so the runtime needs little: requests with a known body or chunked framing, and
replies with ``Content-Length``, chunked framing, or a body that ends when the peer closes.
"""

from __future__ import annotations

from collections.abc import Sequence

from lambda_sse.errors import InvalidHeaderError, RuntimeAPIError

__all__ = [
    "ResponseParser",
    "encode_chunk",
    "encode_last_chunk",
    "encode_request",
    "encode_request_head",
]

_MAX_HEAD = 64 * 1024


def _check_header(name: str, value: str) -> None:
    if any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
        raise InvalidHeaderError(f"header {name!r} has a character HTTP forbids there")


def encode_request_head(method: str, target: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        _check_header(name, value)
        lines.append(f"{name}: {value}")
    # Header values are Latin-1 on the wire (RFC 9110 §5.5); anything else becomes "?" rather
    # than an exception in the middle of reporting an error (e.g. a non-ASCII class name).
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def encode_request(
    method: str, target: str, host: str, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """A whole request with a ``Content-Length`` body."""
    all_headers = [("Host", host), *headers]
    if method != "GET" or body:
        all_headers.append(("Content-Length", str(len(body))))
    return encode_request_head(method, target, all_headers) + body


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body. Empty data gives b"": a zero-length chunk would end the body
    (RFC 9112 §7.1), so it is never sent."""
    if not data:
        return b""
    return b"%x\r\n%b\r\n" % (len(data), data)


def encode_last_chunk(trailers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The last chunk, with optional trailer fields (RFC 9112 §7.1.2)."""
    out = b"0\r\n"
    for name, value in trailers:
        _check_header(name, value)
        out += f"{name}: {value}\r\n".encode("latin-1", "replace")
    return out + b"\r\n"


class ResponseParser:
    """Parses one HTTP/1.1 response fed in pieces. ``feed`` returns True once it is complete;
    then ``status``, ``headers`` (names lower-cased) and ``body`` are set, and ``keep_alive``
    says whether the connection can carry another request. ``feed_eof`` marks the peer's close."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body = bytearray()
        self._state = (
            "head"  # head, length, chunk_size, chunk_data, chunk_crlf, trailers, eof, done
        )
        self._remaining = 0
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.keep_alive = True

    @property
    def body(self) -> bytes:
        return bytes(self._body)

    @property
    def complete(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes) -> bool:
        self._buffer += data
        while self._state != "done":
            if not self._step():
                break
        return self._state == "done"

    def feed_eof(self) -> bool:
        if self._state == "eof":
            self._body += self._buffer
            self._buffer.clear()
            self._state = "done"
            self.keep_alive = False
            return True
        if self._state != "done":
            raise RuntimeAPIError("the Runtime API closed the connection in the middle of a reply")
        return True

    def _line(self) -> bytes | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEAD:
                raise RuntimeAPIError("the Runtime API sent a line longer than 64 KiB")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _step(self) -> bool:
        if self._state == "head":
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    raise RuntimeAPIError("the Runtime API sent a reply head over 64 KiB")
                return False
            head = bytes(self._buffer[:end]).decode("latin-1")
            del self._buffer[: end + 4]
            self._parse_head(head)
            return True
        if self._state == "length":
            take = min(self._remaining, len(self._buffer))
            self._body += self._buffer[:take]
            del self._buffer[:take]
            self._remaining -= take
            if self._remaining == 0:
                self._state = "done"
                return True
            return False
        if self._state == "chunk_size":
            line = self._line()
            if line is None:
                return False
            size_text = line.split(b";", 1)[0].strip()
            try:
                self._remaining = int(size_text, 16)
            except ValueError:
                raise RuntimeAPIError(f"bad chunk size from the Runtime API: {line!r}") from None
            self._state = "chunk_data" if self._remaining else "trailers"
            return True
        if self._state == "chunk_data":
            take = min(self._remaining, len(self._buffer))
            self._body += self._buffer[:take]
            del self._buffer[:take]
            self._remaining -= take
            if self._remaining:
                return False
            self._state = "chunk_crlf"
            return True
        if self._state == "chunk_crlf":
            line = self._line()
            if line is None:
                return False
            self._state = "chunk_size"
            return True
        if self._state == "trailers":
            line = self._line()
            if line is None:
                return False
            if line == b"":
                self._state = "done"
            return True
        # "eof": everything until the peer closes is body
        self._body += self._buffer
        self._buffer.clear()
        return False

    def _parse_head(self, head: str) -> None:
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise RuntimeAPIError(f"not an HTTP/1.1 reply from the Runtime API: {status_line!r}")
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        if parts[0] == "HTTP/1.0":
            self.keep_alive = False
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise RuntimeAPIError(f"bad header line from the Runtime API: {line!r}")
            self.headers[name.strip().lower()] = value.strip()
        if self.headers.get("connection", "").lower() == "close":
            self.keep_alive = False
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._state = "chunk_size"
        elif "content-length" in self.headers:
            try:
                self._remaining = int(self.headers["content-length"])
            except ValueError:
                raise RuntimeAPIError("bad Content-Length from the Runtime API") from None
            self._state = "length" if self._remaining else "done"
        elif self.status in (204, 304) or 100 <= self.status < 200:
            self._state = "done"
        else:
            self._state = "eof"
            self.keep_alive = False
