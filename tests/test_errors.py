"""The one exception tree: every error class lambda-sse defines, and every error it raises on
purpose, is a :class:`LambdaSSEError` whose name ends in ``Error``; the docstring draws them all."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import lambda_sse
from lambda_sse import errors
from lambda_sse.errors import LambdaSSEError

SRC = Path(lambda_sse.__file__).parent
# Exceptions a shell lets through from the OS or the event loop, never raised "on purpose".
BUILTIN_ERRORS = {
    name
    for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException)
}
# ``raise SystemExit`` and friends end a process; they are not errors.
# AttributeError is the protocol of a module ``__getattr__`` (PEP 562), not an error raised.
ALLOWED_BUILTINS = {
    "AttributeError",
    "KeyboardInterrupt",
    "StopAsyncIteration",
    "StopIteration",
    "SystemExit",
}


def _modules() -> list[str]:
    names = ["lambda_sse"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="lambda_sse."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def _error_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("lambda_sse"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_error_class_is_in_the_tree_and_named_error() -> None:
    classes = _error_classes()
    assert len(classes) > 30  # the walk really found the package's errors
    for qualname, cls in classes.items():
        if cls.__name__.startswith("_"):
            continue  # a module's private control-flow signal that never leaves it
        assert issubclass(cls, LambdaSSEError), qualname
        assert cls.__name__.endswith("Error"), qualname
        assert cls.__module__ == "lambda_sse.errors", f"{qualname} is defined outside errors.py"


def test_the_docstring_draws_every_public_error() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls.__name__ == name:  # an alias is drawn under its new name
            assert f" {name} " in doc or f" {name}\n" in doc, f"{name} missing from the tree"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("NotAnHttpEvent", "NotAnHttpEventError"),
        ("MalformedResult", "MalformedResultError"),
        ("UnknownFunction", "UnknownFunctionError"),
        ("RuntimeUnavailable", "RuntimeUnavailableError"),
        ("Throttled", "ThrottledError"),
        ("ClientGone", "ClientGoneError"),
        ("RequestTooLarge", "RequestTooLargeError"),
    ],
)
def test_old_names_stay_importable(old: str, new: str) -> None:
    assert getattr(errors, old) is getattr(errors, new)


def test_old_names_import_from_their_old_modules() -> None:
    from lambda_sse.events import NotAnHttpEvent
    from lambda_sse.local.frontdoor.http import ClientGone, RequestTooLarge
    from lambda_sse.local.frontdoor.replies import MalformedResult
    from lambda_sse.local.model import Throttled
    from lambda_sse.local.pool import UnknownFunction
    from lambda_sse.local.runtimes import RuntimeUnavailable

    assert NotAnHttpEvent is errors.NotAnHttpEventError
    assert ClientGone is errors.ClientGoneError
    assert RequestTooLarge is errors.RequestTooLargeError
    assert MalformedResult is errors.MalformedResultError
    assert Throttled is errors.ThrottledError
    assert UnknownFunction is errors.UnknownFunctionError
    assert RuntimeUnavailable is errors.RuntimeUnavailableError


def _raised_builtins(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        name = target.id if isinstance(target, ast.Name) else None
        if name in BUILTIN_ERRORS and name not in ALLOWED_BUILTINS:
            bad.append(f"{path.relative_to(root)}:{node.lineno} raises {name}")
    return bad


def test_no_module_raises_a_builtin_error_on_purpose() -> None:
    bad = [hit for path in sorted(SRC.rglob("*.py")) for hit in _raised_builtins(path)]
    assert not bad, "\n".join(bad)


def test_the_check_sees_a_builtin_raise(tmp_path: Path) -> None:
    """The AST check above is not vacuous."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f(x):\n    if x:\n        raise ValueError('x')\n    raise OSError\n")
    assert sorted(_raised_builtins(probe, tmp_path)) == [
        "probe.py:3 raises ValueError",
        "probe.py:4 raises OSError",
    ]


def test_builtin_bases_keep_old_except_clauses_working() -> None:
    assert issubclass(errors.OptionError, ValueError)
    assert issubclass(errors.InvalidHeaderError, ValueError)
    assert issubclass(errors.ArgumentTypeError, TypeError)
    assert issubclass(errors.UnknownFunctionError, KeyError)
    assert issubclass(errors.EventSourceOptionError, errors.OptionError)
    assert str(errors.UnknownFunctionError("no function named 'x'")) == "no function named 'x'"
