"""Every third-party module the package imports is declared in the extra that needs it, and the
runtime layers (what goes into a Lambda zip) import the standard library only."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import lambda_sse

SRC = Path(lambda_sse.__file__).parent
PYPROJECT = SRC.parent.parent / "pyproject.toml"
# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"yaml": "pyyaml"}
# Which extra a module's imports must be declared in, by path under src/lambda_sse; the rest
# (runtime, sse codec, events, asgi, errors, aws) must need nothing outside the standard library.
EXTRAS = {
    "sse/client.py": "client",
    "sse/policy.py": "client",
    "local/": "local",
    "cli.py": "local",
    "iam.py": "iam",
    "channels/redis.py": "redis",
    "channels/dynamodb.py": "dynamodb",
}


def _optional(node: ast.AST) -> bool:
    """Imports here cost nothing when the module is missing: ``if TYPE_CHECKING:`` blocks and
    ``try: import x`` / ``except ImportError:`` fallbacks."""
    if isinstance(node, ast.If) and isinstance(node.test, ast.Name):
        return node.test.id == "TYPE_CHECKING"
    if isinstance(node, ast.Try):
        caught = [h.type for h in node.handlers if h.type is not None]
        return any(
            isinstance(t, ast.Name) and t.id in {"ImportError", "ModuleNotFoundError"}
            for t in caught
        )
    return False


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    todo: list[ast.AST] = [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if _optional(node):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        todo.extend(ast.iter_child_nodes(node))
    return found - set(sys.stdlib_module_names) - {"lambda_sse", "__future__"}


def _declared(extra: str) -> set[str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = set()
    for requirement in project["optional-dependencies"][extra]:
        name = re.split(r"[<>=\[;! ]", requirement, maxsplit=1)[0].lower()
        names.add(name)
    return names


def _extra_for(relative: str) -> str | None:
    for prefix, extra in EXTRAS.items():
        if relative == prefix or (prefix.endswith("/") and relative.startswith(prefix)):
            return extra
    return None


def test_every_import_is_declared_in_its_extra() -> None:
    problems = []
    checked = 0
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        imports = _top_level_imports(path)
        extra = _extra_for(relative)
        declared = _declared(extra) if extra else set()
        for module in sorted(imports):
            checked += 1
            if DISTRIBUTIONS.get(module, module).lower() not in declared:
                where = f"the {extra!r} extra does not declare it" if extra else "it is stdlib only"
                problems.append(f"{relative} imports {module}, but {where}")
    assert checked >= 4  # httpx, anyio, h11, yaml at least
    assert not problems, "\n".join(problems)


def test_the_walk_sees_required_imports_and_skips_optional_ones(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json\nimport httpx\nif TYPE_CHECKING:\n    import yaml\n"
        "try:\n    import starlette\nexcept ImportError:\n    pass\n"
        "def f():\n    import h11\n"
    )
    assert _top_level_imports(probe) == {"httpx", "h11"}
