"""Serverless Framework variables: ``${self:...}``, ``${opt:stage, 'dev'}``, ``${env:X}``,
``${sls:stage}``, ``${param:x}``, ``${aws:region}``, with comma-separated fallbacks.

Syntax per the Framework's docs (serverless.com/framework/docs/guides/variables). Sources that
need AWS (``ssm``, ``cf``, ``s3``, ``file(...)``...) are not fetched: with a literal fallback the
fallback is used; without one the error says how to give one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lambda_sse.local.config.common import Context, join_key

__all__ = ["Resolver"]

# Innermost first: a variable without "${" or "}" inside it. Nested ones resolve outward.
_VARIABLE = re.compile(r"\$\{([^${}]*)\}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_MAX_STEPS = 200
_MAX_DEPTH = 20
# Values built while resolving (the document's own plus every copy a ${self:...} makes) and
# characters of substituted text: references that double at each level would otherwise take
# exponential time and memory. Real configs stay far below both.
_MAX_VALUES = 200_000
_MAX_TEXT = 1_000_000


class Resolver:
    """Resolves every variable in a parsed serverless.yml."""

    def __init__(
        self,
        document: Mapping[str, Any],
        context: Context,
        *,
        options: Mapping[str, str],
        environ: Mapping[str, str],
    ) -> None:
        self._document = document
        self._context = context
        self._options = options
        self._environ = environ
        self.stage = "dev"
        self.region = "us-east-1"
        self._values = 0
        self._text = 0

    def _expanded(self, key: str) -> Exception:
        return self._context.error(
            key,
            f"variables expand to over {_MAX_VALUES} values or {_MAX_TEXT} characters "
            "(${self:...} references that repeat other references at each level)",
            "refer to the values you need directly instead of nesting the references",
        )

    def resolve(self, value: Any, key: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self._context.error(
                key,
                f"variables nest more than {_MAX_DEPTH} levels deep or refer to each other in a "
                "loop",
                "break the cycle or refer to the value directly",
            )
        self._values += 1
        if self._values > _MAX_VALUES:
            raise self._expanded(key)
        if isinstance(value, str):
            return self._string(value, key, depth)
        if isinstance(value, Mapping):
            return {k: self.resolve(v, join_key(key, str(k)), depth) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, join_key(key, i), depth) for i, v in enumerate(value)]
        return value

    def _string(self, text: str, key: str, depth: int) -> Any:
        for _ in range(_MAX_STEPS):
            match = _VARIABLE.search(text)
            if match is None:
                return text
            value = self._expression(match.group(1), key, depth)
            if match.start() == 0 and match.end() == len(text):
                return value  # the whole string: keep the type (a number, a mapping...)
            if isinstance(value, Mapping | list):
                raise self._context.error(
                    key,
                    f"${{{match.group(1)}}} is a {type(value).__name__} inside a string",
                    "refer to a single value there",
                )
            text = text[: match.start()] + str(value) + text[match.end() :]
            self._text += len(text)
            if self._text > _MAX_TEXT:
                raise self._expanded(key)
        raise self._context.error(key, "too many nested variables", "simplify the value")

    def _expression(self, expression: str, key: str, depth: int) -> Any:
        unsupported: list[str] = []
        for part in _split_fallbacks(expression):
            if not part:
                continue
            if part[0] in "'\"" and part[-1] == part[0] and len(part) >= 2:
                return part[1:-1]
            if _NUMBER.fullmatch(part):
                return float(part) if "." in part else int(part)
            source, sep, address = part.partition(":")
            if not sep:
                raise self._context.error(
                    key,
                    f"cannot read the variable ${{{expression}}}",
                    "write ${source:address}, e.g. ${opt:stage, 'dev'}",
                )
            found = self._lookup(source.strip(), address.strip(), key, depth)
            if found is _UNSUPPORTED:
                unsupported.append(source.strip())
            elif found is not None:
                return found
        if unsupported:
            raise self._context.error(
                key,
                f"${{{expression}}} uses the source {unsupported[0]!r}, which lambda-sse dev does "
                "not fetch",
                f"add a literal fallback: ${{{expression}, 'local-value'}}",
            )
        raise self._context.error(
            key,
            f"${{{expression}}} resolves to nothing",
            "define what it refers to, or add a fallback: ${..., 'default'}",
        )

    def _lookup(self, source: str, address: str, key: str, depth: int) -> Any:
        if source == "self":
            value: Any = self._document
            for name in filter(None, address.split(".")):
                if not isinstance(value, Mapping) or name not in value:
                    return None
                value = value[name]
            return self.resolve(value, key, depth + 1)
        if source == "opt":
            return self._options.get(address)
        if source == "env":
            return self._environ.get(address)
        if source == "sls":
            return {"stage": self.stage, "instanceId": "local"}.get(address)
        if source == "aws":
            # No account locally; the region is the configured one.
            return {"region": self.region, "accountId": "000000000000"}.get(address)
        if source == "param":
            params = self._document.get("params")
            if isinstance(params, Mapping):
                for group in (self.stage, "default"):
                    values = params.get(group)
                    if isinstance(values, Mapping) and address in values:
                        return self.resolve(values[address], key, depth + 1)
            return None
        return _UNSUPPORTED


_UNSUPPORTED = object()


def _split_fallbacks(expression: str) -> list[str]:
    """ "opt:stage, 'a,b'" -> ["opt:stage", "'a,b'"]: commas inside quotes do not split."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in expression:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts
