"""The request a front door received, as plain data (what the HTTP shell hands over)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Request"]


@dataclass(frozen=True)
class Request:
    method: str  # upper-case
    target: str  # the raw request target: path plus "?query", still percent-encoded
    headers: tuple[tuple[str, str], ...]  # in order, names as the client sent them
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    http_version: str = "1.1"

    @property
    def raw_path(self) -> str:
        return self.target.partition("?")[0] or "/"

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None
