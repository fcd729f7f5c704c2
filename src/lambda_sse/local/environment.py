"""One execution environment: an OS process running a function's runtime, and its Runtime API.

Like a Lambda sandbox, each environment has its own :class:`RuntimeAPIServer`; the runtime is
started with Lambda's reserved variables (:mod:`lambda_sse.local.runtimes`) in its own process
group (``start_new_session``), so stopping it never leaves a grandchild behind. Lifecycle::

    env = Environment(fn, sink=...)
    failure = await env.start()          # None once the runtime polls GET /next (init done)
    inv = env.submit(event, request_id=..., deadline_ms=...)
    ...                                  # the pool reads inv; env.release(inv) when it ended
    await env.stop(grace=2.0)            # SIGTERM to the group, grace, then SIGKILL

When the process exits while invocations are in flight, each is aborted with ``Runtime.ExitError``
and the message Lambda writes ("Runtime exited with error: exit status 1").
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from lambda_sse.errors import LambdaSSEError
from lambda_sse.local import logs
from lambda_sse.local.model import FunctionConfig, InvocationOutcome
from lambda_sse.local.runtime_api import RuntimeAPIServer, RuntimeInvocation
from lambda_sse.local.runtimes import LaunchSpec, launch_spec, sweep_ambiguous_bytecode

__all__ = ["INIT_TIMEOUT", "Environment", "EnvironmentState", "LocalStateError", "kill_all"]

# Lambda's init phase for on-demand functions is limited to 10 s
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib).
INIT_TIMEOUT = 10.0
_LINE_LIMIT = 256 * 1024  # longer output lines are forwarded in pieces
_KEEP_REQUESTS = 64  # Runtime API requests kept for inspection per environment
_MEMORY_EVERY = 0.05  # seconds between /proc reads of the peak memory

EnvironmentState = Literal["new", "starting", "ready", "stopping", "dead"]


class LocalStateError(LambdaSSEError, RuntimeError):
    """An environment or pool used out of order (started twice, invoked after close)."""


# Process groups still alive, so an interpreter exit (Ctrl-C, an uncaught error) kills them.
_LIVE_GROUPS: set[int] = set()


def kill_all() -> None:
    """SIGKILL every process group this module started and that was not stopped yet."""
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        _LIVE_GROUPS.discard(pgid)


atexit.register(kill_all)


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` asking the kernel to SIGKILL the runtime when the emulator dies,
    even by SIGKILL, where no atexit hook runs (prctl PR_SET_PDEATHSIG, man 2 prctl). libc is
    loaded here, once, so the child only makes the system call between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return preexec


_PREEXEC = _parent_death_signal()


def _log_stream_name() -> str:
    # Lambda's format: 2024/01/31/[$LATEST]0123456789abcdef0123456789abcdef
    day = datetime.now(UTC).strftime("%Y/%m/%d")
    return f"{day}/[$LATEST]{uuid.uuid4().hex}"


def _error_doc(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class Environment:
    """One sandbox of one function (see the module docstring)."""

    def __init__(
        self,
        fn: FunctionConfig,
        *,
        sink: logs.LogSink = logs.stderr_sink,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.monotonic,
        python: str | None = None,
        base_env: Mapping[str, str] | None = None,
        init_timeout: float = INIT_TIMEOUT,
        generation: int = 0,
        account: str = "000000000000",
        platform_env: Mapping[str, str] | None = None,
    ) -> None:
        self.fn = fn
        self.generation = generation
        self.log_stream = _log_stream_name()
        self.function_arn = f"arn:aws:lambda:{region}:{account}:function:{fn.name}"
        self.state: EnvironmentState = "new"
        self.in_flight: set[RuntimeInvocation] = set()
        self.reserved = 0  # slots promised to invocations not yet submitted (the pool's)
        self.init_duration_ms: float | None = None
        self.last_used: float = clock()
        self.spec: LaunchSpec | None = None
        self.server = RuntimeAPIServer(clock=clock, record_bodies=False)
        self._sink = sink
        self._region = region
        self._clock = clock
        self._python = python
        self._base_env = base_env
        self._platform_env = platform_env
        self._init_timeout = init_timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._exited: asyncio.Future[int] | None = None
        self._killed_by_us = False
        self._started = asyncio.Event()
        self._peak_mb = 0
        self._stop_task: asyncio.Task[None] | None = None
        self._peak_read_at = -float("inf")

    # -- facts -----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    @property
    def busy(self) -> int:
        return len(self.in_flight) + self.reserved

    def max_memory_mb(self, *, fresh: bool = False) -> int:
        """Peak resident memory so far; after the process is gone, the last figure read.

        /proc is read at most every ``_MEMORY_EVERY`` seconds (unless ``fresh``): the figure is
        a high-water mark, so a cached one is at most that much behind, and back-to-back warm
        invocations do not each pay for two file reads."""
        pid = self.pid
        now = self._clock()
        due = fresh or now - self._peak_read_at >= _MEMORY_EVERY
        if pid is not None and self.returncode is None and due:
            self._peak_mb = max(self._peak_mb, logs.max_memory_mb(pid))
            self._peak_read_at = now
        return self._peak_mb

    def _log(self, kind: logs.LogKind, text: str, request_id: str | None = None) -> None:
        self._sink(logs.LogRecord(self.fn.name, kind, text, request_id))

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> InvocationOutcome | None:
        """Start the runtime and wait for its init phase: ``None`` when it polls GET /next, else
        the init failure (``status="init_error"``). Raises ``RuntimeUnavailable`` (a
        ``ConfigError``) when the runtime cannot be started at all."""
        if self.state != "new":
            raise LocalStateError("an environment starts once")
        self.state = "starting"
        try:
            return await self._start()
        except BaseException:
            # Cancelled (the pool closed) or failed mid-start: nothing may outlive it.
            await asyncio.shield(self._begin_stop(0.0))
            raise
        finally:
            self._started.set()

    def _stop_requested(self) -> bool:
        # A method, not the attribute: stop() may set it during any await of start().
        return self._killed_by_us

    async def wait_started(self) -> None:
        """Until :meth:`start` has finished, either way (another invocation ran the init)."""
        await self._started.wait()

    async def _start(self) -> InvocationOutcome | None:
        await self.server.start()
        if self._stop_requested():  # stop() ran while the server was binding
            await self.server.close()
            self.state = "dead"
            return InvocationOutcome(
                status="init_error",
                error_type="Sandbox.Failure",
                error_body=_error_doc("Sandbox.Failure", "stopped during init"),
            )
        try:
            self.spec = launch_spec(
                self.fn,
                runtime_api=self.server.address,
                region=self._region,
                log_stream=self.log_stream,
                python=self._python,
                base_env=self._base_env,
                platform_env=self._platform_env,
            )
        except BaseException:
            self.state = "dead"
            await self.server.close()
            raise
        if self.spec.runs_python_code:
            # File-system walk (60 ms on a 5,600-file vendored tree): off the event loop, where
            # other environments' streams are being relayed.
            await asyncio.to_thread(sweep_ambiguous_bytecode, self.fn.code_dir)
        started = self._clock()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.spec.argv,
                env=dict(self.spec.env),
                cwd=self.spec.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: killpg reaches every child
                preexec_fn=_PREEXEC,
            )
        except OSError as exc:
            self.state = "dead"
            await self.server.close()
            message = f"could not start {self.spec.argv[0]}: {exc.strerror or exc}"
            self._log("platform", message)
            return InvocationOutcome(
                status="init_error",
                error_type="Runtime.InvalidEntrypoint",
                error_body=_error_doc("Runtime.InvalidEntrypoint", message),
            )
        _LIVE_GROUPS.add(self._proc.pid)
        if self._stop_requested():
            # stop() ran while the process was being spawned: it must not outlive the stop.
            await self._terminate(grace=0.0)
            return InvocationOutcome(
                status="init_error",
                error_type="Sandbox.Failure",
                error_body=_error_doc("Sandbox.Failure", "stopped during init"),
            )
        self._exited = asyncio.get_running_loop().create_future()
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._spawn(self._forward(self._proc.stdout))
        self._spawn(self._forward(self._proc.stderr))
        self._spawn(self._watch())

        failure = await self._await_init()
        self.init_duration_ms = (self._clock() - started) * 1000.0
        if failure is not None:
            await self.kill()
            return failure
        self.state = "ready"
        self.last_used = self._clock()
        self.max_memory_mb()  # a first figure, should the process die in its first invocation
        return None

    async def _await_init(self) -> InvocationOutcome | None:
        assert self._exited is not None
        poll = asyncio.ensure_future(self.server.wait_for_poll())
        init_error = asyncio.ensure_future(self.server.init_error())
        exited = asyncio.ensure_future(asyncio.shield(self._exited))
        waiters: set[asyncio.Future[Any]] = {poll, init_error, exited}
        try:
            await asyncio.wait(
                waiters, timeout=self._init_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for w in waiters:
                w.cancel()
        if init_error.done() and not init_error.cancelled():
            outcome = init_error.result()
            self._log("platform", f"init error: {outcome.error_type or 'unknown'}")
            return outcome
        if poll.done() and not poll.cancelled():
            return None
        if exited.done() and not exited.cancelled():
            message = logs.exit_reason(exited.result())
            self._log("platform", f"{message} during init (Runtime.ExitError)")
            return InvocationOutcome(
                status="init_error",
                error_type="Runtime.ExitError",
                error_body=_error_doc("Runtime.ExitError", message),
            )
        message = f"init phase ran past {self._init_timeout:.0f} s"
        self._log("platform", f"{message} (Sandbox.Timeout)")
        return InvocationOutcome(
            status="init_error",
            error_type="Sandbox.Timeout",
            error_body=_error_doc("Sandbox.Timeout", message),
        )

    def submit(
        self,
        event: bytes,
        *,
        request_id: str,
        deadline_ms: int,
        trace_id: str | None = None,
        client_context: str | None = None,
    ) -> RuntimeInvocation:
        """Queue one event for the runtime; it counts as in flight until :meth:`release`."""
        if self.state != "ready":
            raise LocalStateError(f"environment is {self.state}, not ready")
        inv = self.server.enqueue(
            event,
            deadline_ms=deadline_ms,
            request_id=request_id,
            function_arn=self.function_arn,
            trace_id=trace_id,
            client_context=client_context,
        )
        self.in_flight.add(inv)
        return inv

    def release(self, inv: RuntimeInvocation) -> None:
        """The invocation ended: free its slot and what the server recorded of it (a warm
        environment lives for hours; its bodies must not pile up)."""
        self.in_flight.discard(inv)
        self.last_used = self._clock()
        inv.chunks.clear()
        requests = self.server.requests
        if len(requests) > _KEEP_REQUESTS:
            del requests[: len(requests) - _KEEP_REQUESTS]

    async def kill(self) -> None:
        """SIGKILL the whole process group now (a timeout, a failed init)."""
        await asyncio.shield(self._begin_stop(0.0))

    async def stop(self, grace: float = 2.0) -> None:
        """SIGTERM, up to ``grace`` seconds to exit (lifespan shutdown, flushing), then SIGKILL.

        The stop runs as its own task: a caller that is cancelled meanwhile (a reaper stopped by
        the pool's close) does not leave a half-stopped process; later calls join it."""
        await asyncio.shield(self._begin_stop(grace))

    def _begin_stop(self, grace: float) -> asyncio.Task[None]:
        self._killed_by_us = True
        task = self._stop_task
        if task is None:
            task = self._stop_task = asyncio.ensure_future(self._terminate(grace))
        elif not task.done() and grace == 0.0:
            # A graceful stop is under way and now a kill is wanted: no more waiting.
            proc = self._proc
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        return task

    async def _terminate(self, grace: float) -> None:
        if self.state == "dead" and self._proc is None:
            return
        if self.state != "dead":
            self.state = "stopping"
        proc = self._proc
        if proc is not None:
            pgid = proc.pid
            if proc.returncode is None and grace > 0:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), grace)
            # Always sweep the group: children may outlive their parent.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            _LIVE_GROUPS.discard(pgid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5.0)
        self.state = "dead"
        await self.server.close()
        # The readers end at EOF once the group is gone; the watcher once wait() returned.
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=2.0)
            for task in pending:
                task.cancel()
        if proc is not None:
            # asyncio closes a subprocess transport only once every pipe hit EOF; close it
            # here so none is left for the garbage collector after the loop ended.
            transport = getattr(proc, "_transport", None)
            if transport is not None:
                transport.close()

    async def wait_exit(self) -> int:
        """The process' return code, once it exited."""
        if self._exited is None:
            raise LocalStateError("not started")
        return await asyncio.shield(self._exited)

    # -- background tasks ------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self) -> None:
        assert self._proc is not None
        assert self._exited is not None
        code = await self._proc.wait()
        _LIVE_GROUPS.discard(self._proc.pid)
        if not self._exited.done():
            self._exited.set_result(code)
        was_ready = self.state == "ready"
        self.state = "dead"
        for inv in list(self.in_flight):
            if inv.done:
                continue
            message = logs.crash_message(inv.request_id, code)
            self._log("platform", f"{message}\nRuntime.ExitError", inv.request_id)
            inv.abort(
                InvocationOutcome(
                    status="crash",
                    error_type="Runtime.ExitError",
                    error_body=_error_doc("Runtime.ExitError", message),
                )
            )
        if was_ready and not self._killed_by_us and not self.in_flight:
            self._log("platform", f"runtime exited between invocations ({code})")

    async def _forward(self, stream: asyncio.StreamReader) -> None:
        """Forward the function's output line by line, tagged with the request in flight."""
        pending = b""
        while True:
            data = await stream.read(64 * 1024)
            if not data:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            if len(pending) > _LINE_LIMIT:
                lines.append(pending)
                pending = b""
            for line in lines:
                self._emit_output(line)
        if pending:
            self._emit_output(pending)

    def _emit_output(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\r")
        current = [inv.request_id for inv in self.in_flight if not inv.done]
        self._log("output", text, current[0] if len(current) == 1 else None)
