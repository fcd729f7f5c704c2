"""Which Lambda runtimes the emulator can start, and the checks both config readers share."""

from __future__ import annotations

import re

from lambda_sse.local.config.common import Context

__all__ = ["check_handler", "check_runtime"]

# python3.x runs awslambdaric (or lambda-sse's runtime through the exec wrapper); nodejsNN.x runs
# AWS's Node client; provided.* runs the code's own `bootstrap`, as Lambda does.
_RUNTIME = re.compile(r"python3\.\d+|nodejs\d+\.x|provided(\.al2|\.al2023)?")


def check_runtime(context: Context, runtime: str, key: str) -> str:
    if not _RUNTIME.fullmatch(runtime):
        raise context.error(
            key,
            f"runtime {runtime!r} cannot run in lambda-sse dev",
            "use python3.x, nodejsNN.x, provided.al2023 or provided.al2",
        )
    return runtime


def check_handler(context: Context, handler: str, runtime: str, key: str) -> str:
    if runtime.startswith(("python", "nodejs")) and "." not in handler.strip("."):
        raise context.error(
            key,
            f"handler {handler!r} names no function",
            "write it as module.function, e.g. handler.main",
        )
    return handler
