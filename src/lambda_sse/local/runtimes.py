"""What command starts a function's runtime, and with which environment, as Lambda would.

Pure decisions over a :class:`~lambda_sse.local.model.FunctionConfig` (plus a few file-system
look-ups): :func:`launch_spec` returns the argv, the environment and any warnings; it raises
:class:`RuntimeUnavailable` with the fix when the runtime cannot start here.

- ``python3.x``: AWS's managed Python runtime runs its runtime client, awslambdaric
  (``python -m awslambdaric HANDLER``), which never streams. When the function sets
  ``AWS_LAMBDA_EXEC_WRAPPER`` to lambda-sse's wrapper (``/var/task/lambda_sse/runtime/exec-wrapper``
  as deployed, or that path relative to the code dir), lambda-sse's runtime runs instead
  (``python -m lambda_sse.runtime HANDLER``). Another wrapper is run as Lambda runs one: with the
  default command as its arguments. The interpreter is the one running the emulator.
- ``provided.al2023`` / ``provided.al2``: the code dir's ``bootstrap`` executable, no arguments
  (with ``LAMBDA_SSE_PYTHON`` pointing at this interpreter, for lambda-sse's own bootstrap).
- ``nodejs*``: AWS's Node.js runtime client, npm ``aws-lambda-ric``.

Reserved variables follow https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lambda_sse.errors import ConfigError
from lambda_sse.local.model import FunctionConfig

__all__ = [
    "LAMBDA_SSE_WRAPPER",
    "LOCAL_CREDENTIALS",
    "NODE_RIC_ENV",
    "LaunchSpec",
    "RuntimeUnavailable",
    "launch_spec",
    "looks_streaming",
    "reserved_environment",
    "sweep_ambiguous_bytecode",
]

# Where lambda-sse's exec-wrapper sits inside a deployment zip (the zip's root is /var/task).
LAMBDA_SSE_WRAPPER = "/var/task/lambda_sse/runtime/exec-wrapper"
_WRAPPER_SUFFIX = "lambda_sse/runtime/exec-wrapper"
TASK_ROOT = "/var/task"
# Points at an aws-lambda-ric entry when it is not in the code dir's node_modules.
NODE_RIC_ENV = "LAMBDA_SSE_NODE_RIC"

# Variables of the developer's shell that a local function still needs (credentials, home,
# coverage of subprocesses); everything else is left out, as Lambda starts from a clean slate.
_PASSTHROUGH = (
    "HOME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "COVERAGE_PROCESS_START",
    "SSL_CERT_FILE",
)

# Placeholder execution-role credentials (configuration-envvars.html lists the three).
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "LAMBDASSELOCALKEY000",
    "AWS_SECRET_ACCESS_KEY": "lambda-sse-local-secret-access-key-0000",
    "AWS_SESSION_TOKEN": "lambda-sse-local-session-token",
}

_STREAMING_MARKERS = re.compile(r"streamify_response|lambda_sse\.asgi|from lambda_sse\.asgi")


class RuntimeUnavailable(ConfigError):
    """The function's runtime cannot start on this machine; the message says how to fix it."""


@dataclass(frozen=True)
class LaunchSpec:
    """How to start one execution environment of a function."""

    argv: tuple[str, ...]
    env: Mapping[str, str]  # complete: the process gets nothing else
    cwd: Path
    runtime_client: str  # "lambda-sse", "awslambdaric", "bootstrap", "aws-lambda-ric", "wrapper"
    warnings: tuple[str, ...] = field(default=())

    @property
    def runs_python_code(self) -> bool:
        """The code dir may hold Python modules this environment imports (every runtime here
        but AWS's Node client): the environment sweeps their suspect bytecode before it starts
        (:func:`sweep_ambiguous_bytecode`)."""
        return self.runtime_client != "aws-lambda-ric"


def _package_root(module: str) -> str | None:
    """The sys.path entry that holds ``module``, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    # package/__init__.py -> its parent's parent; a module file -> its parent.
    depth = len(module.split(".")) + (1 if origin.name == "__init__.py" else 0)
    root = origin
    for _ in range(depth):
        root = root.parent
    return str(root)


def _runtime_dir() -> str:
    return _package_root("lambda_sse") or str(Path(__file__).resolve().parents[2])


def reserved_environment(
    fn: FunctionConfig,
    *,
    runtime_api: str,
    region: str,
    log_stream: str,
    base_env: Mapping[str, str] | None = None,
    platform_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables Lambda sets for every function, then ``platform_env`` (what the emulator
    adds, e.g. ``AWS_ENDPOINT_URL_LAMBDA``), then the function's own (which may not override
    the reserved ones on AWS; here they may, to keep debugging easy, except
    ``AWS_LAMBDA_RUNTIME_API`` which must point at this environment's server)."""
    host = os.environ if base_env is None else base_env
    env: dict[str, str] = {k: host[k] for k in _PASSTHROUGH if k in host}
    code_dir = str(fn.code_dir)
    ld = [p for p in (host.get("LD_LIBRARY_PATH", ""), code_dir, f"{code_dir}/lib") if p]
    env.update(
        {
            "_HANDLER": fn.handler,
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": code_dir,
            "LAMBDA_RUNTIME_DIR": _runtime_dir(),
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": host.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LD_LIBRARY_PATH": ":".join(ld),
        }
    )
    # OS-only runtimes (provided.*) have no AWS_EXECUTION_ENV (configuration-envvars.html).
    if not fn.runtime.startswith("provided"):
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{fn.runtime}"
    if fn.max_concurrency > 1:
        # Managed Instances: the runtime may keep this many GET /next in flight.
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(fn.max_concurrency)
    if "AWS_ACCESS_KEY_ID" not in env and "AWS_PROFILE" not in env:
        # Lambda always gives the execution role's credentials; without the developer's own,
        # placeholders let an AWS SDK sign requests to local endpoints (which check nothing).
        env.update(LOCAL_CREDENTIALS)
    env.update(platform_env or {})
    env.update(fn.environment)
    env["AWS_LAMBDA_RUNTIME_API"] = runtime_api
    return env


def _local_path(path: str, code_dir: Path) -> Path:
    """A /var/task/... path as deployed, mapped onto the code dir; relative paths too."""
    if path == TASK_ROOT or path.startswith(TASK_ROOT + "/"):
        return code_dir / path[len(TASK_ROOT) :].lstrip("/")
    p = Path(path)
    return p if p.is_absolute() else code_dir / p


def is_lambda_sse_wrapper(path: str) -> bool:
    """lambda-sse's exec-wrapper, by its place in the zip (absolute or relative)."""
    return path.rstrip("/").endswith(_WRAPPER_SUFFIX)


def looks_streaming(fn: FunctionConfig) -> bool:
    """Whether the handler's module source uses lambda-sse's streaming API (a cheap text look,
    no import): such a handler fails under awslambdaric, on AWS as here."""
    module = fn.handler.rsplit(".", 1)[0]
    source = fn.code_dir / (module.replace(".", "/") + ".py")
    try:
        text = source.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(_STREAMING_MARKERS.search(text))


def sweep_ambiguous_bytecode(code_dir: Path) -> int:
    """Delete the code dir's cached ``.pyc`` files that may not match their source; returns
    how many went.

    CPython trusts a timestamp ``.pyc`` when the source's mtime, in whole seconds, and its size
    match the ones recorded in it (PEP 552), so an edit made within the same second that keeps
    the size runs the old code. A ``.pyc`` written no later than its source's last change (by
    the file system's nanosecond clock) is such a suspect; it is deleted and recompiled on the
    next import. (Installers compile just after extracting, so their ``.pyc`` files are kept.)
    Runtimes started here write no bytecode (see ``PYTHONDONTWRITEBYTECODE`` below), so this
    only meets ``.pyc`` files written by other processes (the developer's tests, a REPL).
    Hidden folders and ``node_modules`` are not visited.
    """
    removed = 0
    pending = [str(code_dir)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # gone or unreadable: nothing of it can be imported either
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                continue
            if entry.name == "__pycache__":
                removed += _sweep_cache(folder, entry.path)
            elif entry.name != "node_modules":
                pending.append(entry.path)
    return removed


def _sweep_cache(folder: str, cache: str) -> int:
    removed = 0
    try:
        entries = list(os.scandir(cache))
    except OSError:
        return 0
    for entry in entries:
        # "name.cpython-312.pyc" or "name.cpython-312.opt-1.pyc" caches "name.py" (PEP 3147).
        if not entry.name.endswith(".pyc"):
            continue
        source = os.path.join(folder, entry.name.split(".", 1)[0] + ".py")
        try:
            source_ns = os.stat(source).st_mtime_ns
            written_ns = entry.stat(follow_symlinks=False).st_mtime_ns
            if written_ns <= source_ns:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue  # no source (never loaded) or already gone
    return removed


def _python_version(runtime: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _no_stale_bytecode(fn: FunctionConfig, env: dict[str, str]) -> None:
    """After a reload, the runtime must run the code as it is now (see
    :func:`sweep_ambiguous_bytecode`, which the environment runs before it starts). It writes
    no ``.pyc`` into the code dir, as on AWS where /var/task is read-only: the function's own
    modules compile at each cold start (about a ms per small module) while installed packages
    keep their cached bytecode."""
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def _python_spec(fn: FunctionConfig, env: dict[str, str], python: str) -> LaunchSpec:
    warnings: list[str] = []
    version = _python_version(fn.runtime)
    if version is not None and version != sys.version_info[:2]:
        warnings.append(
            f"runtime {fn.runtime} is emulated with this interpreter's Python "
            f"{sys.version_info[0]}.{sys.version_info[1]} ({python}); install lambda-sse in a "
            f"Python {version[0]}.{version[1]} environment to match AWS exactly"
        )
    roots = [str(fn.code_dir)]
    for module in ("lambda_sse", "awslambdaric"):
        root = _package_root(module)
        if root and root not in roots:
            roots.append(root)
    if fn.environment.get("PYTHONPATH"):
        roots.insert(1, fn.environment["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(roots)
    env.setdefault("PYTHONUNBUFFERED", "1")  # function output reaches the log as it is printed
    _no_stale_bytecode(fn, env)

    wrapper = fn.exec_wrapper
    if wrapper and is_lambda_sse_wrapper(wrapper):
        argv: tuple[str, ...] = (python, "-m", "lambda_sse.runtime", fn.handler)
        return LaunchSpec(argv, env, fn.code_dir, "lambda-sse", tuple(warnings))

    default = (python, "-m", "awslambdaric", fn.handler)
    if _package_root("awslambdaric") is None:
        raise RuntimeUnavailable(
            f"function {fn.name!r} ({fn.runtime}) runs AWS's Python runtime client, which is not "
            "installed: pip install awslambdaric, or set AWS_LAMBDA_EXEC_WRAPPER="
            f"{LAMBDA_SSE_WRAPPER} in its environment to run lambda-sse's runtime"
        )
    if looks_streaming(fn):
        warnings.append(
            f"handler {fn.handler!r} uses lambda-sse's streaming API but runs under awslambdaric, "
            "which cannot stream: invocations fail here as they would on AWS. Fix: set "
            f"AWS_LAMBDA_EXEC_WRAPPER={LAMBDA_SSE_WRAPPER} in the function's environment "
            "(and ship lambda_sse in the zip)"
        )
    if wrapper:
        local = _local_path(wrapper, fn.code_dir)
        if not os.access(local, os.X_OK):
            raise RuntimeUnavailable(
                f"function {fn.name!r}: AWS_LAMBDA_EXEC_WRAPPER={wrapper} is not an executable "
                f"file here (looked at {local}); fix the path or chmod +x it"
            )
        # Lambda runs the wrapper with the runtime's own command line as its arguments.
        return LaunchSpec((str(local), *default), env, fn.code_dir, "wrapper", tuple(warnings))
    return LaunchSpec(default, env, fn.code_dir, "awslambdaric", tuple(warnings))


def _bootstrap_spec(fn: FunctionConfig, env: dict[str, str], python: str) -> LaunchSpec:
    bootstrap = fn.code_dir / "bootstrap"
    if not bootstrap.is_file():
        raise RuntimeUnavailable(
            f"function {fn.name!r} ({fn.runtime}) needs an executable named 'bootstrap' in its "
            f"code directory {fn.code_dir}, as Lambda does"
        )
    if not os.access(bootstrap, os.X_OK):
        raise RuntimeUnavailable(
            f"function {fn.name!r}: {bootstrap} is not executable; run chmod +x on it "
            "(Lambda needs the same permission in the zip)"
        )
    # lambda-sse's own bootstrap runs $LAMBDA_SSE_PYTHON: locally, the emulator's interpreter
    # (where lambda_sse is installed) unless the function names another. Others ignore it.
    env.setdefault("LAMBDA_SSE_PYTHON", python)
    _no_stale_bytecode(fn, env)
    return LaunchSpec((str(bootstrap),), env, fn.code_dir, "bootstrap")


def find_node_ric(code_dir: Path, base_env: Mapping[str, str]) -> str | None:
    """aws-lambda-ric's entry: $LAMBDA_SSE_NODE_RIC, else node_modules/.bin/aws-lambda-ric in the
    code dir or any parent (Node's own look-up order), else on PATH."""
    explicit = base_env.get(NODE_RIC_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for folder in (code_dir, *code_dir.parents):
        candidate = folder / "node_modules" / ".bin" / "aws-lambda-ric"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("aws-lambda-ric", path=base_env.get("PATH"))


def _node_spec(fn: FunctionConfig, env: dict[str, str], base_env: Mapping[str, str]) -> LaunchSpec:
    if shutil.which("node", path=base_env.get("PATH")) is None:
        raise RuntimeUnavailable(
            f"function {fn.name!r} ({fn.runtime}) needs Node.js: install Node.js 20+ "
            "(Debian: apt-get install nodejs npm)"
        )
    ric = find_node_ric(fn.code_dir, base_env)
    if ric is None:
        raise RuntimeUnavailable(
            f"function {fn.name!r} ({fn.runtime}) runs AWS's Node.js runtime client, which is not "
            f"installed: run `npm install aws-lambda-ric` in {fn.code_dir} (it compiles a native "
            f"module; needs a C++ toolchain, cmake, autoconf, automake and libtool), or point "
            f"{NODE_RIC_ENV} at an aws-lambda-ric executable"
        )
    return LaunchSpec((ric, fn.handler), env, fn.code_dir, "aws-lambda-ric")


def launch_spec(
    fn: FunctionConfig,
    *,
    runtime_api: str,
    region: str = "us-east-1",
    log_stream: str = "local",
    python: str | None = None,
    base_env: Mapping[str, str] | None = None,
    platform_env: Mapping[str, str] | None = None,
) -> LaunchSpec:
    """How to start ``fn`` against the Runtime API at ``runtime_api`` (``host:port``)."""
    host = dict(os.environ if base_env is None else base_env)
    if not fn.code_dir.is_dir():
        raise RuntimeUnavailable(f"function {fn.name!r}: code directory {fn.code_dir} not found")
    env = reserved_environment(
        fn,
        runtime_api=runtime_api,
        region=region,
        log_stream=log_stream,
        base_env=host,
        platform_env=platform_env,
    )
    if fn.runtime.startswith("python"):
        return _python_spec(fn, env, python or sys.executable)
    if fn.runtime in ("provided.al2023", "provided.al2", "provided"):
        return _bootstrap_spec(fn, env, python or sys.executable)
    if fn.runtime.startswith("nodejs"):
        return _node_spec(fn, env, host)
    raise RuntimeUnavailable(
        f"function {fn.name!r}: runtime {fn.runtime!r} is not supported by lambda-sse dev; "
        "use python3.x, nodejs*.x, provided.al2023 or provided.al2"
    )
