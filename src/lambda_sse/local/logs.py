"""The log lines of the emulator's execution side, shaped like CloudWatch's.

Lambda writes a ``START``, an ``END`` and a ``REPORT`` line around every invocation, tab-separated
as in the function's log stream (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html):

    START RequestId: 8f5e... Version: $LATEST
    END RequestId: 8f5e...
    REPORT RequestId: 8f5e...\tDuration: 2.05 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t
    Max Memory Used: 39 MB\tInit Duration: 135.10 ms

The formatting is pure (:func:`start_line`, :func:`end_line`, :func:`report_line`); the only I/O
here is reading a process tree's peak resident memory from ``/proc`` and the default sink, which
writes ``[function] line`` to stderr. The CLI passes its own :data:`LogSink` to colour them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "SHUTDOWN",
    "LogRecord",
    "LogSink",
    "crash_message",
    "display_lines",
    "end_line",
    "exit_reason",
    "max_memory_mb",
    "report_line",
    "shutdown_message",
    "start_line",
    "stderr_sink",
    "timeout_line",
]

LogKind = Literal["platform", "output", "warning"]


@dataclass(frozen=True)
class LogRecord:
    """One line for the developer: ``platform`` (START/END/REPORT and the emulator's notes about an
    invocation), ``output`` (a line the function printed), or ``warning``."""

    function: str
    kind: LogKind
    text: str
    request_id: str | None = None


LogSink = Callable[[LogRecord], None]


def display_lines(text: str) -> list[str]:
    """The lines of one log event for a terminal. AWS's runtimes join a multi-line message
    (a traceback) with CR so that CloudWatch keeps it as one event; on a terminal each CR would
    draw the next line over the last, so every CR, LF or CRLF starts a line here."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def stderr_sink(record: LogRecord) -> None:
    """The default sink: ``[function] text`` on the emulator's stderr, each line tagged."""
    prefix = "warning: " if record.kind == "warning" else ""
    lines = display_lines(record.text)
    sys.stderr.write("".join(f"[{record.function}] {prefix}{line}\n" for line in lines))
    sys.stderr.flush()


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def billed_ms(duration_ms: float) -> int:
    """Lambda bills in 1 ms steps, rounded up (since December 2020), at least 1 ms."""
    return max(1, math.ceil(duration_ms))


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """The REPORT line. ``init_duration_ms`` only on a cold start. Billed Duration includes the
    init phase, as AWS bills it for on-demand functions since August 2025 (AWS Compute Blog,
    "AWS Lambda standardizes billing for INIT Phase"). ``status`` ("timeout", "error") is appended
    as AWS does when an invocation did not end normally."""
    billed = billed_ms(duration_ms + (init_duration_ms or 0.0))
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_size_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status is not None:
        fields.append(f"Status: {status}")
    if error_type is not None:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields)


def timeout_line(request_id: str, timeout_s: float) -> str:
    """What Lambda logs when it stops a function at its timeout."""
    return f"{request_id} Task timed out after {timeout_s:.2f} seconds"


def exit_reason(returncode: int | None) -> str:
    """How Lambda words a runtime's exit: "Runtime exited with error: exit status 1"."""
    if returncode is None:
        how = "exited"
    elif returncode < 0:
        how = f"signal: {_signal_name(-returncode)}"
    else:
        how = f"exit status {returncode}"
    return f"Runtime exited with error: {how}"


# Not an AWS error type: locally, an invocation still running when `lambda-sse dev` stops (Ctrl-C)
# ends with its environment. Logged and reported under this name, never as Runtime.ExitError.
SHUTDOWN = "Shutdown"


def shutdown_message(request_id: str) -> str:
    return (
        f"RequestId: {request_id} ended by the shutdown of its environment "
        "(lambda-sse dev stopping or reloading), not by the function"
    )


def crash_message(request_id: str, returncode: int | None) -> str:
    """The errorMessage of ``Runtime.ExitError``, worded as Lambda words it."""
    return f"RequestId: {request_id} Error: {exit_reason(returncode)}"


def _signal_name(signum: int) -> str:
    import signal

    try:
        name = signal.Signals(signum).name
    except ValueError:
        return str(signum)
    # Go's wording, which Lambda's messages use: "signal: killed", "signal: terminated".
    words = {"SIGKILL": "killed", "SIGTERM": "terminated", "SIGSEGV": "segmentation fault"}
    return words.get(name, name)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:  # plain open: this runs once per invocation
            return f.read()
    except OSError:
        return b""


def _vm_hwm_kib(pid: int, proc: str) -> int:
    text = _read(f"{proc}/{pid}/status")
    at = text.find(b"VmHWM:")
    if at < 0:
        return 0
    fields = text[at + 6 : text.find(b"\n", at)].split()
    return int(fields[0]) if fields and fields[0].isdigit() else 0


def _children(pid: int, proc: str) -> list[int]:
    text = _read(f"{proc}/{pid}/task/{pid}/children")
    return [int(p) for p in text.split() if p.isdigit()]


def max_memory_mb(pid: int, *, proc: Path | str = "/proc") -> int:
    """Peak resident memory of a process and its descendants, in MB (MiB, as Lambda counts).

    Reads ``VmHWM`` (the resident set's high-water mark) from ``/proc/PID/status``; a runtime
    that forks workers (awslambdaric under Managed Instances) is summed over its tree. 0 where
    ``/proc`` is not available."""
    root = str(proc)
    total_kib = 0
    seen: set[int] = set()
    todo = [pid]
    # A process tree is finite; ``seen`` guards against pid reuse races.
    while todo and len(seen) < 4096:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        total_kib += _vm_hwm_kib(current, root)
        todo.extend(_children(current, root))
    return math.ceil(total_kib / 1024)
