"""Channel URLs: which backend a URL names, its retention options, the default URL, and the
rule for channel names. Pure functions; the only I/O is reading the environment.

``scheme://rest?max_length=N&max_age=SECONDS`` (``0`` or ``none`` turns a limit off); a backend
may take more query options of its own (SQLite ``poll``, Redis ``prefix``), and rejects any it
does not know, so a typo never passes silently.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lambda_sse.channels.backend import Backend, Retention
from lambda_sse.errors import ConfigError, InvalidChannelNameError

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "MAX_NAME_LENGTH",
    "ChannelURL",
    "check_name",
    "default_url",
    "open_backend",
    "parse_url",
]

ENV_VAR = "LAMBDA_SSE_CHANNELS_URL"

#: URL scheme -> module with ``open_backend(url: ChannelURL) -> Backend``. A new backend is one
#: module and one line here.
BACKENDS: dict[str, str] = {
    "sqlite": "lambda_sse.channels.sqlite",
    "memory": "lambda_sse.channels.memory",
    "redis": "lambda_sse.channels.redis",
    "rediss": "lambda_sse.channels.redis",
    "dynamodb": "lambda_sse.channels.dynamodb",
}

MAX_NAME_LENGTH = 200
# Letters, digits and . _ - : / @ : safe as a Redis key part, an SQLite value, a DynamoDB key,
# a path segment of a URL and a shell argument.
_NAME = re.compile(r"[A-Za-z0-9._:/@-]+")


def check_name(name: object) -> str:
    """Return ``name`` if every backend can hold it, else raise InvalidChannelNameError."""
    if not isinstance(name, str):
        raise InvalidChannelNameError(f"a channel name is a str, not {type(name).__name__}")
    if not name:
        raise InvalidChannelNameError("a channel name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidChannelNameError(
            f"channel name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    if not _NAME.fullmatch(name):
        bad = sorted({c for c in name if not _NAME.fullmatch(c)})
        raise InvalidChannelNameError(
            f"channel name {name!r} holds {''.join(bad)!r}: use letters, digits and . _ - : / @"
        )
    return name


@dataclass(frozen=True)
class ChannelURL:
    """A parsed channel URL: what a backend module's ``open_backend`` receives."""

    url: str  # as given
    scheme: str
    netloc: str
    path: str
    retention: Retention
    options: dict[str, str] = field(default_factory=dict)  # query options left for the backend

    @property
    def base(self) -> str:
        """``url`` with only the query options not taken yet (what a client library parses)."""
        query = urlencode(list(self.options.items()))
        return f"{self.scheme}://{self.netloc}{self.path}" + (f"?{query}" if query else "")

    @property
    def display(self) -> str:
        """The URL without a password."""
        parts = urlsplit(self.url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            name = user.partition(":")[0]
            netloc = f"{name}:***@{host}" if ":" in user else f"{name}@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def take(self, name: str) -> str | None:
        """Remove and return a backend-specific query option."""
        return self.options.pop(name, None)

    def no_more_options(self) -> None:
        """Raise ConfigError naming any query option nobody took (a typo, most likely)."""
        if self.options:
            raise ConfigError(
                f"channels URL {self.display}: unknown option(s) {', '.join(sorted(self.options))}"
                f"; {self.scheme}:// takes max_length, max_age"
                + {
                    "sqlite": ", poll",
                    "redis": ", prefix",
                    "rediss": ", prefix",
                    "dynamodb": ", region, endpoint_url, poll",
                }.get(self.scheme, ""),
                key=ENV_VAR,
            )


def _limit(url: str, name: str, text: str, kind: type) -> float | int | None:
    if text.lower() in ("", "0", "none"):
        return None
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(
            f"channels URL {url}: {name}={text!r} is not a number (use {name}=N, or none)",
            key=ENV_VAR,
        ) from None
    if not value > 0:
        raise ConfigError(f"channels URL {url}: {name} must be more than 0", key=ENV_VAR)
    return value  # type: ignore[no-any-return]


def parse_url(url: str) -> ChannelURL:
    """Split a channel URL; ConfigError (naming the variable) when the scheme is unknown."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in BACKENDS or "://" not in url:
        known = ", ".join(f"{s}://" for s in BACKENDS)
        raise ConfigError(
            f"channels URL {url!r} names no known backend: use one of {known} "
            f"(in {ENV_VAR}, --url or --channels-url)",
            key=ENV_VAR,
        )
    options: dict[str, str] = {}
    retention = Retention()
    max_length: int | None = retention.max_length
    max_age: float | None = retention.max_age
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "max_length":
            max_length = _limit(url, key, value, int)  # type: ignore[assignment]
        elif key == "max_age":
            max_age = _limit(url, key, value, float)
        else:
            options[key] = value
    return ChannelURL(
        url=url,
        scheme=scheme,
        netloc=parts.netloc,
        path=parts.path,
        retention=Retention(max_length=max_length, max_age=max_age),
        options=options,
    )


def default_url(environ: dict[str, str] | None = None) -> str:
    """``LAMBDA_SSE_CHANNELS_URL``; without it, an SQLite file under ``.lambda-sse/`` of the
    working directory, except on Lambda, where a file is local to one execution environment
    (and lost with it), so there it is an error that names the variable."""
    env = os.environ if environ is None else environ
    url = env.get(ENV_VAR, "").strip()
    if url:
        return url
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise ConfigError(
            f"{ENV_VAR} is not set: on Lambda each execution environment has its own disk, so "
            f"channels need a shared backend. Set {ENV_VAR} in the function's environment, "
            "e.g. rediss://:PASSWORD@HOST:6379/0, or pass url= to open_channel()",
            key=ENV_VAR,
        )
    return "sqlite:///.lambda-sse/channels.db"


def open_backend(url: str) -> Backend:
    """A new backend for ``url`` (the module of its scheme is imported on first use)."""
    parsed = parse_url(url)
    module = importlib.import_module(BACKENDS[parsed.scheme])
    backend: Backend = module.open_backend(parsed)
    return backend
