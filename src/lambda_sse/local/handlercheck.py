"""Handler mistakes found before the first request: a typo in the handler string, a module that
does not import, a syntax error, a name that is not there or not callable.

Two checks, one report shape (:class:`HandlerProblem`, rendered with file and line):

- :func:`check_imports` (``lambda-sse dev``): imports each Python function's handler in a
  subprocess started with the function's own environment (what :func:`launch_spec` gives its
  runtime: ``PYTHONPATH``, variables, working directory), through the runtime's own loader, so it
  fails exactly where the first invocation would. A subprocess, because importing runs the user's
  module code, which must not run (or stay cached) in the emulator.
- :func:`check_static` (``lambda-sse package``): reads the handler's module without importing it
  (its dependencies are built for Lambda's platform, not this machine): the file exists, parses,
  and binds the name at module level.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import difflib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lambda_sse.local.model import FunctionConfig, ProjectConfig
from lambda_sse.local.runtimes import RuntimeUnavailable, launch_spec

__all__ = ["HandlerProblem", "check_imports", "check_static", "handler_key"]

# A handler module may import a large framework; on a loaded machine FastAPI alone takes ~2 s.
CHECK_TIMEOUT = 30.0
_MARK = "\x1elambda-sse-handler-check "

# Runs in the function's environment: load the handler as the runtime does, report as JSON.
_SCRIPT = r"""
import json, os, sys, traceback
from lambda_sse.runtime.handler import HandlerLoadError, load_handler
spec, root = sys.argv[1], os.path.realpath(sys.argv[2])
report = {"ok": True}
try:
    load_handler(spec, root)
except HandlerLoadError as exc:
    cause = exc.__cause__ or exc.cause
    report = {"ok": False, "error_type": exc.error_type, "message": str(exc)}
    if isinstance(cause, SyntaxError):
        report.update(file=cause.filename, line=cause.lineno, text=cause.text,
                      offset=cause.offset, detail=f"{type(cause).__name__}: {cause.msg}")
    elif cause is not None:
        frames = [f for f in traceback.extract_tb(cause.__traceback__)
                  if os.path.realpath(f.filename).startswith(root + os.sep)]
        if frames:
            report.update(file=frames[-1].filename, line=frames[-1].lineno, text=frames[-1].line)
        report["detail"] = "".join(traceback.format_exception_only(cause)).strip()
sys.stdout.flush()
sys.stdout.write("\n" + MARK + json.dumps(report) + "\n")
""".replace("MARK", repr(_MARK))


@dataclass(frozen=True)
class HandlerProblem:
    """Why a function's handler cannot load; ``str()`` is the readable report."""

    function: str
    handler: str
    error_type: str  # the Runtime.* / exception type the first invocation will report
    message: str
    file: str | None = None
    line: int | None = None
    text: str | None = None  # the source line
    offset: int | None = None  # 1-based column of a syntax error
    detail: str | None = None  # "SyntaxError: expected ':'"
    hint: str | None = None  # the fix

    def brief(self) -> str:
        """One line: what, where, and the fix."""
        where = f" ({self.file}, line {self.line})" if self.file else ""
        detail = f": {self.detail}" if self.detail and self.detail not in self.message else ""
        fix = f"; {self.hint}" if self.hint else ""
        head = f"function {self.function!r}: handler {self.handler!r}"
        return f"{head}: {self.message}{where}{detail}{fix}"

    def __str__(self) -> str:
        lines = [f"function {self.function!r}: handler {self.handler!r}: {self.message}"]
        if self.file:
            lines.append(f'  File "{self.file}", line {self.line}')
            if self.text and self.text.strip():
                source = self.text.rstrip("\n")
                stripped = source.lstrip()
                lines.append(f"    {stripped}")
                if self.offset:
                    column = self.offset - (len(source) - len(stripped))
                    lines.append("    " + " " * max(0, column - 1) + "^")
        if self.detail and self.detail not in self.message:
            lines.append(f"  {self.detail}")
        if self.hint:
            lines.append(f"  fix: {self.hint}")
        return "\n".join(lines)


def handler_key(project: ProjectConfig, fn: FunctionConfig) -> str:
    """Where the handler is set: ``serverless.yml: functions.api.handler``."""
    if project.source.name.startswith("serverless"):
        return f"{project.source.name}: functions.{fn.name}.handler"
    return f"{project.source.name}: Resources.{fn.name}.Properties.Handler"


def _module_names(code_dir: Path) -> list[str]:
    names: list[str] = []
    with contextlib.suppress(OSError):
        for entry in sorted(os.listdir(code_dir)):
            if entry.endswith(".py"):
                names.append(entry[:-3])
            elif (code_dir / entry / "__init__.py").is_file():
                names.append(entry)
    return names


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _module_file(code_dir: Path, module: str) -> Path | None:
    base = code_dir.joinpath(*module.replace("/", ".").split("."))
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _missing_module(fn: FunctionConfig, key: str, module: str) -> HandlerProblem:
    top = module.replace("/", ".").split(".")[0]
    return HandlerProblem(
        fn.name,
        fn.handler,
        "Runtime.ImportModuleError",
        f"no module {module!r} in {fn.code_dir}{_suggest(top, _module_names(fn.code_dir))}",
        hint=f"correct the handler in {key}, or add the module",
    )


# -- static (package) --------------------------------------------------------------------------


def _bound_names(body: Iterable[ast.stmt]) -> tuple[set[str], bool]:
    """Names bound at module level (into if/try/with blocks, not into functions); and whether a
    ``from x import *`` makes the answer unknowable."""
    names: set[str] = set()
    star = False
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    star = True
                else:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For | ast.With):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For):
                targets = [node.target]
            if isinstance(node, ast.With):
                targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        for block in ("body", "orelse", "finalbody", "handlers"):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                break
            inner = getattr(node, block, None)
            if isinstance(inner, list):
                statements = [s for s in inner if isinstance(s, ast.stmt)]
                for handler in (h for h in inner if isinstance(h, ast.ExceptHandler)):
                    statements.extend(handler.body)
                more, more_star = _bound_names(statements)
                names |= more
                star = star or more_star
    return names, star


def check_static(project: ProjectConfig, fn: FunctionConfig) -> HandlerProblem | None:
    """The handler's module file exists under the code dir, parses, and binds the name."""
    if not fn.runtime.startswith("python"):
        return None
    key = handler_key(project, fn)
    module, _, attr = fn.handler.strip().rpartition(".")
    if not module or not attr:
        return HandlerProblem(
            fn.name,
            fn.handler,
            "Runtime.MalformedHandlerName",
            "expected MODULE.FUNCTION, e.g. app.handler",
            hint=f"correct the handler in {key}",
        )
    path = _module_file(fn.code_dir, module)
    if path is None:
        return _missing_module(fn, key, module)
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return HandlerProblem(
            fn.name,
            fn.handler,
            "Runtime.UserCodeSyntaxError",
            f"syntax error in {path.name}",
            file=str(path),
            line=exc.lineno,
            text=exc.text,
            offset=exc.offset,
            detail=f"SyntaxError: {exc.msg}",
        )
    names, star = _bound_names(tree.body)
    if attr in names or star:
        return None
    return HandlerProblem(
        fn.name,
        fn.handler,
        "Runtime.HandlerNotFound",
        f"{path.name} defines no {attr!r}{_suggest(attr, names)}",
        hint=f"correct the handler in {key}, or define {attr} in {path.name}",
    )


# -- import in a subprocess (dev) --------------------------------------------------------------


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _run(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    limit: float,
    running: list[subprocess.Popen[bytes]],
) -> tuple[int, bytes, bytes] | None:
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: a kill reaches whatever the import started
    )
    running.append(process)
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill(process)
        process.communicate()
        return None
    finally:
        _kill(process)  # children the import left behind
    return process.returncode, out, err


async def _import_check(
    project: ProjectConfig,
    fn: FunctionConfig,
    limit: float,
    running: list[subprocess.Popen[bytes]],
) -> HandlerProblem | None:
    static = check_static(project, fn)
    if static is not None and static.error_type == "Runtime.MalformedHandlerName":
        return static
    try:
        spec = launch_spec(fn, runtime_api="127.0.0.1:9", region=project.region)
    except RuntimeUnavailable:
        return None  # the pool reports it, with its fix, at the first invocation
    python = spec.argv[0] if spec.runtime_client in ("lambda-sse", "awslambdaric") else None
    env = dict(spec.env)
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    argv = [python or sys.executable, "-c", _SCRIPT, fn.handler, str(fn.code_dir)]
    # A thread with a blocking Popen rather than an asyncio subprocess: cancelling the check
    # (Ctrl-C, a busy port) then never leaves a process unreaped; check_imports kills them.
    done = await asyncio.to_thread(_run, argv, env, spec.cwd, limit, running)
    if done is None:
        return None  # slow to import is not wrong; the invocation's own init timeout decides
    returncode, out, err = done
    text = out.decode("utf-8", "replace")
    marker = text.rfind(_MARK)
    if marker < 0:
        # The module killed the interpreter (os._exit, a crash in a C extension).
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        return HandlerProblem(
            fn.name,
            fn.handler,
            "Runtime.ExitError",
            f"importing it ended the process (exit status {returncode})",
            detail=" | ".join(tail) or None,
        )
    report = json.loads(text[marker + len(_MARK) :].splitlines()[0])
    if report["ok"]:
        return None
    error_type = str(report["error_type"])
    key = handler_key(project, fn)
    if error_type == "Runtime.ImportModuleError" and static is not None:
        return static  # the module file itself is missing: say which and what is close
    hint = None
    if error_type == "Runtime.HandlerNotFound" and static is not None:
        return static
    if error_type == "Runtime.ImportModuleError":
        hint = "install the missing package (requirements.txt) or correct the import"
    elif error_type == "Runtime.HandlerNotFound":
        hint = f"correct the handler in {key}"
    return HandlerProblem(
        fn.name,
        fn.handler,
        error_type,
        str(report["message"]),
        file=report.get("file"),
        line=report.get("line"),
        text=report.get("text"),
        offset=report.get("offset"),
        detail=report.get("detail"),
        hint=hint,
    )


async def check_imports(
    project: ProjectConfig, *, limit: float = CHECK_TIMEOUT
) -> dict[str, HandlerProblem]:
    """Import every Python function's handler, each in its own subprocess, all at once; the
    problems by function name."""
    functions = [fn for fn in project.functions if fn.runtime.startswith("python")]
    running: list[subprocess.Popen[bytes]] = []
    try:
        results = await asyncio.gather(
            *(_import_check(project, fn, limit, running) for fn in functions)
        )
    except asyncio.CancelledError:
        for process in running:
            _kill(process)  # their threads return at once and reap them
        raise
    return {fn.name: problem for fn, problem in zip(functions, results, strict=True) if problem}
