"""Finding the handler named by ``_HANDLER`` (or the command line), as Lambda does.

``module.function``: the module is imported from ``LAMBDA_TASK_ROOT`` (the working directory when
unset); dotted and slashed module paths (``pkg.app.handler``, ``pkg/app.handler``) work. Failures
carry the error types AWS's Python runtime uses (awslambdaric ``FaultException``), so the init
error a user sees matches AWS.
"""

from __future__ import annotations

import importlib
import os
import sys

from lambda_sse.errors import HandlerLoadError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["HandlerLoadError", "is_async_callable", "load_handler"]

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect


def load_handler(spec: str, task_root: str | None = None) -> Callable[..., Any]:
    spec = spec.strip()
    module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise HandlerLoadError(
            f"Bad handler '{spec}': expected MODULE.FUNCTION, e.g. handler.main",
            "Runtime.MalformedHandlerName",
        )
    module_name = module_name.replace("/", ".")
    root = task_root or os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise HandlerLoadError(
            f"Syntax error in module '{module_name}': {exc}", "Runtime.UserCodeSyntaxError", exc
        ) from exc
    except ImportError as exc:
        # No stack trace, as awslambdaric: the message says which module is missing.
        raise HandlerLoadError(
            f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError"
        ) from exc
    except Exception as exc:
        # The module's own code raised: reported as that exception, as awslambdaric does.
        raise HandlerLoadError(str(exc), type(exc).__name__, exc) from exc
    handler = getattr(module, attr, None)
    if handler is None:
        raise HandlerLoadError(
            f"Handler '{attr}' missing on module '{module_name}'", "Runtime.HandlerNotFound"
        )
    if not callable(handler):
        raise HandlerLoadError(
            f"Handler '{attr}' on module '{module_name}' is not callable", "Runtime.HandlerNotFound"
        )
    return handler  # type: ignore[no-any-return]


def is_async_callable(obj: object) -> bool:
    """True for ``async def`` functions, methods, partials of them and objects with an async
    ``__call__``; checked without importing inspect (cold start)."""
    for _ in range(16):  # unwrap functools.partial / decorators that keep __wrapped__
        inner = getattr(obj, "func", None) if type(obj).__name__ == "partial" else None
        if inner is None:
            break
        obj = inner
    if getattr(obj, "_is_coroutine_marker", None) is not None:  # inspect.markcoroutinefunction
        return True
    code = getattr(obj, "__code__", None)
    if code is None:
        for klass in type(obj).__mro__:
            if "__call__" in vars(klass):
                code = getattr(vars(klass)["__call__"], "__code__", None)
                break
    return bool(code is not None and code.co_flags & _CO_COROUTINE)
