"""Route matching as API Gateway does it: literal > {param} > {proxy+}; exact method > ANY."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_sse.local.frontdoor.routes import RouteTable
from lambda_sse.local.model import FunctionConfig, HttpRoute


def fn(name: str, *routes: HttpRoute) -> FunctionConfig:
    return FunctionConfig(
        name=name, handler="h.m", runtime="python3.12", code_dir=Path("/"), routes=routes
    )


TABLE = RouteTable(
    [
        fn("root", HttpRoute("GET", "/")),
        fn("items", HttpRoute("GET", "/items/{id}"), HttpRoute("POST", "/items")),
        fn("special", HttpRoute("GET", "/items/special")),
        fn("any_item", HttpRoute("ANY", "/items/{id}")),
        fn("proxy", HttpRoute("ANY", "/{proxy+}")),
        fn("files", HttpRoute("GET", "/files/{path+}")),
        fn("api", HttpRoute("GET", "/v2/{x}", kind="http_api")),
    ],
    "rest",
)


@pytest.mark.parametrize(
    ("method", "path", "function", "params"),
    [
        ("GET", "/", "root", {}),
        ("GET", "/items/42", "items", {"id": "42"}),
        ("DELETE", "/items/42", "any_item", {"id": "42"}),
        ("GET", "/items/special", "special", {}),
        ("POST", "/items", "items", {}),
        ("GET", "/items", "proxy", {"proxy": "items"}),
        ("GET", "/a/b/c", "proxy", {"proxy": "a/b/c"}),
        ("GET", "/files/x/y.txt", "files", {"path": "x/y.txt"}),
        ("PUT", "/files/x/y.txt", "proxy", {"proxy": "files/x/y.txt"}),
        ("GET", "/items/a%20b", "items", {"id": "a%20b"}),
    ],
)
def test_best_route_wins(method: str, path: str, function: str, params: dict[str, str]) -> None:
    match = TABLE.match(method, path)
    assert match is not None
    assert match.function.name == function
    assert match.path_parameters == params


def test_greedy_needs_a_segment_and_kinds_stay_apart() -> None:
    table = RouteTable(
        [
            fn("p", HttpRoute("ANY", "/{proxy+}")),
            fn("api", HttpRoute("GET", "/v2/{x}", kind="http_api")),
        ],
        "rest",
    )
    assert table.match("GET", "/") is None
    assert len(table) == 1
    api = RouteTable(
        TABLE_FUNCS := [fn("api", HttpRoute("GET", "/v2/{x}", kind="http_api"))], "http_api"
    )
    match = api.match("GET", "/v2/7")
    assert match is not None
    assert match.path_parameters == {"x": "7"}
    assert api.match("POST", "/v2/7") is None
    assert api.entries() == [(TABLE_FUNCS[0], TABLE_FUNCS[0].routes[0])]


def test_parameter_names_with_dashes_and_dots() -> None:
    table = RouteTable([fn("f", HttpRoute("GET", "/u/{user-id}/{file.name}"))], "rest")
    match = table.match("GET", "/u/7/a.txt")
    assert match is not None
    assert match.path_parameters == {"user-id": "7", "file.name": "a.txt"}
