"""Helpers for tests of the emulator's execution side (pool, environments): the test functions,
a log sink that records, and a liveness check that sees through zombies."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambda_sse.local.logs import LogRecord
from lambda_sse.local.model import FunctionConfig
from lambda_sse.local.pool import PooledInvocation

FUNCTIONS = Path(__file__).resolve().parent.parent / "local" / "functions"
NODE_RIC = (
    Path(__file__).resolve().parent.parent / "node" / "node_modules" / ".bin" / "aws-lambda-ric"
)
PYTHON_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
WRAPPER = {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/lambda_sse/runtime/exec-wrapper"}


def bootstrap_fn(name: str = "boot", **kw: Any) -> FunctionConfig:
    """The provided.al2023 test runtime (a Python script speaking the Runtime API)."""
    values: dict[str, Any] = {
        "name": name,
        "handler": "unused.handler",
        "runtime": "provided.al2023",
        "code_dir": FUNCTIONS / "bootstrap_py",
        "timeout": 10.0,
        "memory_size": 128,
    }
    values.update(kw)
    return FunctionConfig(**values)


def python_fn(name: str, folder: str, handler: str, **kw: Any) -> FunctionConfig:
    values: dict[str, Any] = {
        "name": name,
        "handler": handler,
        "runtime": PYTHON_RUNTIME,
        "code_dir": FUNCTIONS / folder,
        "timeout": 10.0,
        "memory_size": 256,
    }
    values.update(kw)
    return FunctionConfig(**values)


@dataclass
class Recorder:
    """A log sink that keeps every record."""

    records: list[LogRecord] = field(default_factory=list)

    def __call__(self, record: LogRecord) -> None:
        self.records.append(record)

    def texts(self, kind: str | None = None) -> list[str]:
        return [r.text for r in self.records if kind is None or r.kind == kind]

    def lines_for(self, request_id: str) -> list[str]:
        return [r.text for r in self.records if r.request_id == request_id]


@dataclass
class Result:
    head: Any
    chunks: list[tuple[float, bytes]]
    outcome: Any

    @property
    def body(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    def json(self) -> Any:
        return json.loads(self.body)


async def run(inv: PooledInvocation, clock: Any = None) -> Result:
    """Read an invocation to its end, timing every chunk."""
    import time

    now = clock or time.monotonic
    head = await inv.head()
    chunks = [(now(), chunk) async for chunk in inv.body()]
    return Result(head, chunks, await inv.outcome())


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def event(**fields: Any) -> bytes:
    return json.dumps(fields).encode()
