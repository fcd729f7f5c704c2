"""Validation shared by the serverless.yml and template.yaml readers.

Every error names the file, the dotted key (``functions.stream.events[0].http.method``) and the
fix, so the CLI can print it as it is and exit 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from lambda_sse import aws
from lambda_sse.errors import ConfigError
from lambda_sse.local.model import AsyncConfig, EndpointType

__all__ = [
    "HTTP_METHODS",
    "MAX_MEMORY",
    "MAX_TIMEOUT",
    "MIN_MEMORY",
    "ConfigFileError",
    "Context",
    "async_config",
    "endpoint_type",
    "http_method",
    "join_key",
    "normalize_path",
]

# Lambda quotas (docs: lambda/latest/dg/gettingstarted-limits.html, configuration-memory.html).
MAX_TIMEOUT = 900
MIN_MEMORY = 128
MAX_MEMORY = 10240
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})


class ConfigFileError(ConfigError):
    """A config problem tied to a place in a file."""


def join_key(parent: str, child: str | int) -> str:
    if isinstance(child, int):
        return f"{parent}[{child}]"
    return f"{parent}.{child}" if parent else child


def normalize_path(path: str) -> str:
    """ "/items/{id}/", "items/{id}" -> "/items/{id}"."""
    stripped = path.strip().strip("/")
    return "/" + stripped if stripped else "/"


@dataclass
class Context:
    """The file being read and the warnings gathered so far."""

    file: Path
    warnings: list[str] = field(default_factory=list)

    def error(self, key: str, problem: str, fix: str) -> ConfigFileError:
        where = f"{self.file.name}: {key}" if key else self.file.name
        return ConfigFileError(f"{where}: {problem}; {fix}", file=str(self.file), key=key)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.file.name}: {key}: {message}")

    def unknown_keys(self, spec: Mapping[str, Any], key: str, known: frozenset[str]) -> None:
        """Warn about keys neither read nor known to the tool (a typo such as ``timout``)."""
        for name in spec:
            if str(name) not in known:
                close = difflib.get_close_matches(str(name), known, n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                self.warn(join_key(key, str(name)), f"unknown key, ignored{hint}")

    # Typed getters: each checks the type and names the key on failure.

    def mapping(self, value: Any, key: str, *, optional: bool = True) -> Mapping[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(
                key, f"expected a mapping, got {_kind(value)}", "write it as key: value lines"
            )
        return value

    def string(self, value: Any, key: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(key, f"expected a string, got {_kind(value)}", "give a plain string")
        return str(value)

    def integer(self, value: Any, key: str, *, low: int, high: int) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(
                key,
                f"expected a whole number, got {_kind(value)}",
                f"give an integer from {low} to {high}",
            )
        if not low <= value <= high:
            raise self.error(
                key, f"{value} is out of range", f"give an integer from {low} to {high}"
            )
        return value

    def environment(self, value: Any, key: str) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, item in self.mapping(value, key).items():
            item_key = join_key(key, str(name))
            if isinstance(item, bool):
                # YAML reads `true` as a bool; Lambda variables are strings ("true").
                result[str(name)] = "true" if item else "false"
            elif isinstance(item, str | int | float):
                result[str(name)] = str(item)
            elif item is None:
                result[str(name)] = ""
            else:
                raise self.error(
                    item_key, f"expected a string, got {_kind(item)}", "give a plain string value"
                )
        return result


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        if len(value) == 1:
            (only,) = value
            if only == "Ref" or str(only).startswith("Fn::"):
                return f"an unresolved {only}"
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def http_method(context: Context, value: Any, key: str) -> str:
    """An API Gateway method, upper-cased; ``*`` (Serverless and SAM's "any") becomes ``ANY``."""
    method = context.string(value, key).upper()
    if method == "*":
        method = "ANY"
    if method not in HTTP_METHODS:
        raise context.error(
            key, f"unknown method {value!r}", f"use one of {', '.join(sorted(HTTP_METHODS))}"
        )
    return method


def endpoint_type(context: Context, value: Any, key: str) -> EndpointType:
    """API Gateway's endpoint type; EDGE when unset, as on AWS."""
    if value is None:
        return "EDGE"
    text = context.string(value, key).upper()
    if text not in ("EDGE", "REGIONAL", "PRIVATE"):
        raise context.error(
            key, f"unknown endpoint type {value!r}", "use EDGE, REGIONAL or PRIVATE"
        )
    return cast(EndpointType, text)


def async_config(
    context: Context, retries: Any, max_age: Any, keys: tuple[str, str]
) -> AsyncConfig:
    """MaximumRetryAttempts (0-2) and MaximumEventAgeInSeconds (60-21600), AWS's defaults when
    unset (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""
    config = AsyncConfig()
    if retries is not None:
        config = AsyncConfig(
            context.integer(retries, keys[0], low=0, high=aws.ASYNC_MAX_RETRY_ATTEMPTS),
            config.maximum_event_age,
        )
    if max_age is not None:
        config = AsyncConfig(
            config.maximum_retry_attempts,
            context.integer(
                max_age, keys[1], low=aws.ASYNC_MIN_EVENT_AGE, high=aws.ASYNC_MAX_EVENT_AGE
            ),
        )
    return config
