"""API Gateway route matching, sans-IO: methods, ``ANY``, ``{param}`` and greedy ``{proxy+}``.

As API Gateway picks a resource (docs: apigateway api-gateway-method-settings-method-request.html
"Set up a proxy resource with a greedy path variable"): a literal segment beats a path parameter,
which beats a greedy one; a method named exactly beats ``ANY``. A greedy variable matches one or
more segments, so ``/{proxy+}`` does not match ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lambda_sse.local.model import FunctionConfig, HttpRoute, RouteKind

__all__ = ["RouteMatch", "RouteTable", "compile_path"]

_PARAM = re.compile(r"\{([A-Za-z0-9_.\-]+)(\+?)\}")


@dataclass(frozen=True)
class RouteMatch:
    function: FunctionConfig
    route: HttpRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Compiled:
    function: FunctionConfig
    route: HttpRoute
    pattern: re.Pattern[str]
    rank: tuple[int, ...]  # per segment: 2 literal, 1 parameter, 0 greedy; higher wins


def compile_path(path: str) -> tuple[re.Pattern[str], tuple[int, ...]]:
    """The regex of a resource path and its specificity rank."""
    parts: list[str] = []
    rank: list[int] = []
    for segment in path.strip("/").split("/") if path.strip("/") else []:
        match = _PARAM.fullmatch(segment)
        if match is None:
            parts.append(re.escape(segment))
            rank.append(2)
        elif match.group(2):
            parts.append(f"(?P<{_group(match.group(1))}>.+)")
            rank.append(0)
        else:
            parts.append(f"(?P<{_group(match.group(1))}>[^/]+)")
            rank.append(1)
    return re.compile("/" + "/".join(parts)), tuple(rank)


def _group(name: str) -> str:
    # Regex group names must be identifiers; keep the original name recoverable.
    return "p_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in name)


def _ungroup(group: str) -> str:
    return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m.group(1), 16)), group[2:])


class RouteTable:
    """The routes of one API (a REST API or an HTTP API) over all functions."""

    def __init__(self, functions: Iterable[FunctionConfig], kind: RouteKind) -> None:
        self._routes: list[_Compiled] = []
        for fn in functions:
            for route in fn.routes:
                if route.kind == kind:
                    pattern, rank = compile_path(route.path)
                    self._routes.append(_Compiled(fn, route, pattern, rank))

    def __len__(self) -> int:
        return len(self._routes)

    def entries(self) -> list[tuple[FunctionConfig, HttpRoute]]:
        return [(r.function, r.route) for r in self._routes]

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The best route for ``method`` and the (stage-less, still encoded) ``path``."""
        best: tuple[tuple[tuple[int, ...], int], _Compiled, re.Match[str]] | None = None
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            found = compiled.pattern.fullmatch(path)
            if found is None:
                continue
            key = (compiled.rank, 1 if compiled.route.method == method else 0)
            if best is None or key > best[0]:
                best = (key, compiled, found)
        if best is None:
            return None
        _, compiled, found = best
        params = {_ungroup(name): value for name, value in found.groupdict().items()}
        return RouteMatch(compiled.function, compiled.route, params)
