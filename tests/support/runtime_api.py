"""Test fixtures around the strict Runtime API server, shared by the runtime, ASGI and emulator
tests.

- :class:`RequestLog`: the test hooks of a server (every request recorded, up to ``history``;
  :meth:`RequestLog.fail_next` answers the next request of a kind with a container error), and
  :class:`RecordingRuntimeAPIServer`, a :class:`RuntimeAPIServer` with them, exposing
  ``requests`` and ``fail_next`` as the tests use them.
- :class:`ThreadedRuntimeAPI`: a recording server on its own event loop in a background
  thread, with blocking accessors bounded by timeouts (for sync tests and subprocess runtimes).
- :func:`runtime_process`: starts ``python -m lambda_sse.runtime`` (or AWS's ``awslambdaric``)
  as a subprocess against a server and always stops it.
- :func:`write_module`: writes a handler module into a directory.

Typical use::

    def test_x(runtime_api: ThreadedRuntimeAPI, tmp_path: Path) -> None:
        write_module(tmp_path, "app", '''
            def handler(event, context):
                return {"ok": True}
        ''')
        with runtime_process("app.handler", runtime_api.address, cwd=tmp_path):
            result = runtime_api.invoke({"x": 1})
        assert result.outcome.status == "success"
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from lambda_sse.local.model import InvocationOutcome, ResponseHead
from lambda_sse.local.runtime_api import RecordedRequest, RuntimeAPIServer, RuntimeInvocation
from lambda_sse.local.runtime_protocol import FailKind
from lambda_sse.runtime.prelude import PreludeDecoder

__all__ = [
    "InvokeResult",
    "RecordingRuntimeAPIServer",
    "RequestLog",
    "RuntimeProcess",
    "ThreadedRuntimeAPI",
    "runtime_api",
    "runtime_process",
    "threaded_runtime_api",
    "write_module",
]

T = TypeVar("T")
DEFAULT_TIMEOUT = 15.0
REPO_SRC = Path(__file__).resolve().parents[2] / "src"


class RequestLog:
    """Test hooks for a :class:`RuntimeAPIServer`: a bounded record of every request, and
    failures injected on purpose (a 500 is a container error: the runtime must exit)."""

    def __init__(self, *, history: int = 10_000, record_bodies: bool = True) -> None:
        self.history = history
        self.record_bodies = record_bodies
        self.requests: list[RecordedRequest] = []
        self._fail: dict[str, int] = {}

    def request_started(self, record: RecordedRequest) -> None:
        self.requests.append(record)
        if len(self.requests) > self.history:
            del self.requests[: len(self.requests) - self.history]

    def injected_failure(self, kind: FailKind) -> int | None:
        return self._fail.pop(kind, None)

    def fail_next(self, kind: FailKind, status: int = 500) -> None:
        """Answer the next request of this kind with ``status``."""
        self._fail[kind] = status


class RecordingRuntimeAPIServer(RuntimeAPIServer):
    """A :class:`RuntimeAPIServer` with a :class:`RequestLog` plugged in. ``history`` bounds both
    the requests recorded and the finished invocations remembered, as one knob."""

    def __init__(self, *, history: int = 10_000, record_bodies: bool = True, **kw: Any) -> None:
        self.log = RequestLog(history=history, record_bodies=record_bodies)
        super().__init__(history=history, record_bodies=record_bodies, hooks=self.log, **kw)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.log.requests

    def fail_next(self, kind: FailKind, status: int = 500) -> None:
        self.log.fail_next(kind, status)


@dataclass
class InvokeResult:
    invocation: RuntimeInvocation
    head: ResponseHead | None
    body: bytes  # raw, prelude included
    outcome: InvocationOutcome

    def split_prelude(self) -> tuple[dict[str, Any] | None, bytes]:
        """(prelude metadata, body after the eight NULs); (None, body) without a prelude."""
        if self.head is None or self.head.content_type != (
            "application/vnd.awslambda.http-integration-response"
        ):
            return None, self.body
        decoder = PreludeDecoder()
        rest = decoder.feed(self.body)
        return decoder.metadata, rest

    def json(self) -> Any:
        return json.loads(self.body)


class ThreadedRuntimeAPI:
    """A RuntimeAPIServer running on a private loop in a daemon thread."""

    def __init__(self, **server_kwargs: Any) -> None:
        self._kwargs = server_kwargs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="runtime-api", daemon=True
        )
        self.server: RecordingRuntimeAPIServer
        self.address = ""

    def start(self) -> None:
        self._thread.start()

        async def boot() -> RecordingRuntimeAPIServer:
            server = RecordingRuntimeAPIServer(**self._kwargs)
            await server.start()
            return server

        self.server = self.run(boot)
        self.address = self.server.address

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                self.run(self.server.close, timeout=10)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)
        self._loop.close()

    # -- running things on the server's loop -----------------------------------------------

    def run(self, factory: Callable[[], Awaitable[T]], timeout: float = DEFAULT_TIMEOUT) -> T:
        async def wrap() -> T:
            return await factory()

        future = asyncio.run_coroutine_threadsafe(wrap(), self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def call(self, fn: Callable[[], T], timeout: float = DEFAULT_TIMEOUT) -> T:
        async def wrap() -> T:
            return fn()

        return self.run(wrap, timeout)

    # -- sync accessors ----------------------------------------------------------------------

    def enqueue(
        self, event: bytes | Mapping[str, Any] | list[Any], deadline_s: float = 30.0, **kw: Any
    ) -> RuntimeInvocation:
        raw = event if isinstance(event, bytes) else json.dumps(event).encode()
        deadline_ms = int((time.time() + deadline_s) * 1000)
        return self.call(lambda: self.server.enqueue(raw, deadline_ms=deadline_ms, **kw))

    def wait_for_poll(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.run(self.server.wait_for_poll, timeout)

    def head(self, inv: RuntimeInvocation, timeout: float = DEFAULT_TIMEOUT) -> ResponseHead | None:
        return self.run(inv.head, timeout)

    def outcome(
        self, inv: RuntimeInvocation, timeout: float = DEFAULT_TIMEOUT
    ) -> InvocationOutcome:
        return self.run(inv.outcome, timeout)

    def body(self, inv: RuntimeInvocation, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        async def collect() -> bytes:
            return b"".join([chunk async for chunk in inv.body()])

        return self.run(collect, timeout)

    def init_error(self, timeout: float = DEFAULT_TIMEOUT) -> InvocationOutcome:
        return self.run(self.server.init_error, timeout)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.call(lambda: list(self.server.requests))

    def invoke(
        self,
        event: bytes | Mapping[str, Any] | list[Any],
        timeout: float = DEFAULT_TIMEOUT,
        **kw: Any,
    ) -> InvokeResult:
        """Enqueue one event and collect head, whole body and outcome."""
        inv = self.enqueue(event, **kw)
        head = self.head(inv, timeout)
        body = self.body(inv, timeout)
        outcome = self.outcome(inv, timeout)
        return InvokeResult(inv, head, body, outcome)


@contextmanager
def threaded_runtime_api(**server_kwargs: Any) -> Iterator[ThreadedRuntimeAPI]:
    api = ThreadedRuntimeAPI(**server_kwargs)
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def runtime_api() -> Iterator[ThreadedRuntimeAPI]:
    """A running strict Runtime API server in a background thread."""
    with threaded_runtime_api() as api:
        yield api


# ---------------------------------------------------------------------------------------------
# Runtime subprocesses


class RuntimeProcess:
    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen = popen
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log.read_bytes().decode(errors="replace")  # keep CRs as written

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        return self.popen.wait(timeout)

    def terminate(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """SIGTERM (Lambda's shutdown signal), then wait for the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def runtime_env(address: str, cwd: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": address,
            "LAMBDA_TASK_ROOT": str(cwd),
            "AWS_LAMBDA_FUNCTION_NAME": "local",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/local",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local-stream",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(cwd), str(REPO_SRC), env.get("PYTHONPATH", "")) if p
            ),
        }
    )
    env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
    env.pop("_HANDLER", None)
    if extra:
        env.update(extra)
    return env


@contextmanager
def runtime_process(
    handler: str | None,
    address: str,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    client: Literal["lambda_sse", "awslambdaric"] = "lambda_sse",
    command: list[str] | None = None,
) -> Iterator[RuntimeProcess]:
    """Start a runtime subprocess against ``address``; always stopped on exit.

    ``handler`` is passed as the argument (``None``: rely on ``_HANDLER`` in ``env``);
    ``command`` replaces the whole command line (e.g. an exec-wrapper)."""
    if command is None:
        module = "lambda_sse.runtime" if client == "lambda_sse" else "awslambdaric"
        command = [sys.executable, "-m", module, *([handler] if handler else [])]
    fd, name = tempfile.mkstemp(prefix="runtime-", suffix=".log")
    log = Path(name)
    with os.fdopen(fd, "wb") as out:
        popen = subprocess.Popen(
            command,
            cwd=cwd,
            env=runtime_env(address, cwd, env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    process = RuntimeProcess(popen, log)
    try:
        yield process
    finally:
        process.stop()
        log.unlink(missing_ok=True)


def write_module(directory: Path, name: str, source: str) -> Path:
    """Write ``name``.py (``name`` may be dotted: packages get an ``__init__.py``)."""
    parts = name.split(".")
    folder = directory
    folder.mkdir(parents=True, exist_ok=True)
    for part in parts[:-1]:
        folder = folder / part
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").touch()
    path = folder / f"{parts[-1]}.py"
    path.write_text(textwrap.dedent(source).lstrip())
    return path
