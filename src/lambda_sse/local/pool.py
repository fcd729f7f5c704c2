"""The emulator's :class:`~lambda_sse.local.model.Invoker`: every function's environments.

What Lambda's control plane does for on-demand functions, on one machine:

- **warm reuse**: an idle environment of the function (same code generation) takes the next
  invocation; ``max_concurrency`` invocations at once per environment (Managed Instances), else 1;
- **cold starts** on demand, each invocation that finds no free environment starts one;
- **throttling**: beyond ``reserved_concurrency`` invocations in flight, :class:`Throttled`;
- **timeouts**: at the function's timeout the environment is killed, the stream cut and the
  invocation ends ``Sandbox.Timeout``;
- **crashes and init errors** end the invocation with ``Runtime.ExitError`` or the init error;
- **idle reaping**: SIGTERM, a grace period (lifespan shutdown runs), then SIGKILL;
- **reload**: new invocations get environments with the new code; running ones finish first;
- **client disconnects** (:meth:`PooledInvocation.detach`) leave the function running to its end,
  as on AWS (configuration-response-streaming.html), with its output discarded.

Streamed bodies pass Lambda's bandwidth limiter (:mod:`lambda_sse.local.limiter`) unless limits
are off; a front door adds its own buckets (API Gateway REST's) with ``invoke(..., buckets=...)``.
START / END / REPORT lines go to the log sink (:mod:`lambda_sse.local.logs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace

from lambda_sse.errors import ConfigError
from lambda_sse.local import logs
from lambda_sse.local.environment import INIT_TIMEOUT, Environment, LocalStateError
from lambda_sse.local.limiter import Limiter, TokenBucket, lambda_bucket, shape
from lambda_sse.local.model import (
    FunctionConfig,
    InvocationOutcome,
    ProjectConfig,
    ResponseHead,
    Throttled,
)
from lambda_sse.local.runtime_api import RuntimeInvocation
from lambda_sse.local.runtimes import LAMBDA_SSE_WRAPPER, looks_streaming

__all__ = ["DEFAULT_IDLE_TIMEOUT", "Pool", "PooledInvocation", "UnknownFunction"]

# Lambda keeps idle environments for minutes (undocumented); locally 5 minutes.
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_GRACE = 2.0
# After a cut stream, how long to wait for the process to exit to tell a crash from a bad
# response.
_EXIT_SETTLE = 1.0


class UnknownFunction(ConfigError):
    """An invocation named a function the project does not declare."""


@dataclass
class _FunctionState:
    fn: FunctionConfig
    envs: list[Environment] = field(default_factory=list)
    in_flight: int = 0


class PooledInvocation:
    """One invocation through the pool; implements ``model.Invocation``."""

    def __init__(self, request_id: str, fn: FunctionConfig, limiter: Limiter) -> None:
        self.request_id = request_id
        self.function = fn.name
        self.cold_start = False
        self.pid: int | None = None
        self._fn = fn
        self._limiter = limiter
        loop = asyncio.get_running_loop()
        self._runtime: asyncio.Future[RuntimeInvocation | None] = loop.create_future()
        self._outcome: asyncio.Future[InvocationOutcome] = loop.create_future()
        self._detached = False
        self._on_detach: Callable[[], None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.client_context: str | None = None

    async def head(self) -> ResponseHead | None:
        inv = await asyncio.shield(self._runtime)
        return None if inv is None else await inv.head()

    async def body(self) -> AsyncGenerator[bytes, None]:
        inv = await asyncio.shield(self._runtime)
        if inv is None:
            return
        chunks = shape(inv.body(), self._limiter) if self._limiter else inv.body()
        async for chunk in chunks:
            yield chunk

    async def outcome(self) -> InvocationOutcome:
        # Resolved only after the pool's bookkeeping (END/REPORT, the environment released):
        # a caller that invokes again right after sees the environment free, as on AWS.
        return await asyncio.shield(self._outcome)

    def detach(self) -> None:
        if self._detached:
            return
        self._detached = True
        if self._runtime.done() and (inv := self._runtime.result()) is not None:
            inv.detach()
        if self._on_detach is not None:
            self._on_detach()

    @property
    def detached(self) -> bool:
        return self._detached


class Pool:
    """Environments for every function of a project; the :class:`Invoker` of the front doors.

    ``async with Pool(project) as pool: inv = await pool.invoke("fn", b"{}")``. Leaving the
    block (or :meth:`close`) stops every environment."""

    def __init__(
        self,
        functions: ProjectConfig | Iterable[FunctionConfig],
        *,
        region: str | None = None,
        limits: bool = True,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        grace: float = DEFAULT_GRACE,
        init_timeout: float = INIT_TIMEOUT,
        max_concurrency: int | None = None,
        sink: logs.LogSink = logs.stderr_sink,
        clock: Callable[[], float] = time.monotonic,
        python: str | None = None,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(functions, ProjectConfig):
            region = region or functions.region
            functions = functions.functions
        self.region = region or "us-east-1"
        self.limits = limits
        self.idle_timeout = idle_timeout
        self.grace = grace
        self.init_timeout = init_timeout
        self.generation = 0
        self._max_concurrency = max_concurrency
        self._sink = sink
        self._clock = clock
        self._python = python
        self._base_env = base_env
        # Variables the emulator adds to every new environment (AWS_ENDPOINT_URL_LAMBDA, ...).
        self.platform_env: dict[str, str] = {}
        self._functions: dict[str, _FunctionState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False
        # Every environment not yet stopped, wherever it is in its life: close() stops them all.
        self._live: set[Environment] = set()
        self._removed: list[_FunctionState] = []  # dropped by a reload, envs still running
        self._warned: set[str] = set()  # each warning once per pool (the CLI's session)
        self._install(functions)

    # -- configuration ---------------------------------------------------------------------

    def _install(self, functions: Iterable[FunctionConfig]) -> None:
        for fn in functions:
            if self._max_concurrency is not None:
                fn = replace(fn, max_concurrency=self._max_concurrency)
            if fn.max_concurrency < 1:
                raise ConfigError(
                    f"function {fn.name!r}: max concurrency must be at least 1",
                    key="max_concurrency",
                )
            if not fn.timeout > 0:
                raise ConfigError(
                    f"function {fn.name!r}: timeout must be a positive number of seconds "
                    f"(Lambda allows 1 to 900), got {fn.timeout!r}",
                    key="timeout",
                )
            state = self._functions.get(fn.name)
            if state is None:
                self._functions[fn.name] = _FunctionState(fn)
            else:
                state.fn = fn

    def function(self, name: str) -> FunctionConfig:
        try:
            return self._functions[name].fn
        except KeyError:
            known = ", ".join(sorted(self._functions)) or "none"
            raise UnknownFunction(f"no function named {name!r} (functions: {known})") from None

    def environments(self, name: str) -> list[Environment]:
        """The function's live environments (a copy), for the CLI and tests."""
        self.function(name)
        return list(self._functions[name].envs)

    def reload(self, functions: ProjectConfig | Iterable[FunctionConfig] | None = None) -> None:
        """New code (and optionally new config): later invocations start new environments;
        idle old ones stop now, busy ones once their invocations end."""
        if isinstance(functions, ProjectConfig):
            functions = functions.functions
        if functions is not None:
            functions = list(functions)
            self._install(functions)
            kept = {fn.name for fn in functions}
            for name in [n for n in self._functions if n not in kept]:
                # Gone from the config: no new invocations; its environments stop when idle.
                state = self._functions.pop(name)
                self._removed.append(state)
        self.generation += 1
        for state in [*self._functions.values(), *self._removed]:
            for env in list(state.envs):
                if env.busy == 0 and env.state == "ready":
                    self._retire(state, env)

    # -- invoking --------------------------------------------------------------------------

    async def invoke(
        self,
        function: str,
        event: bytes,
        *,
        buckets: Iterable[TokenBucket] = (),
        request_id: str | None = None,
        client_context: str | None = None,
    ) -> PooledInvocation:
        """Start an invocation; returns at once (cold start and run continue in the
        background). Raises :class:`Throttled` beyond the reserved concurrency and
        :class:`UnknownFunction` for a name the project does not declare. ``buckets`` are
        further bandwidth limits (a front door's), applied only when limits are on.
        ``request_id`` (default: a new one; the Lambda API's asynchronous retries keep theirs)
        and ``client_context`` (JSON, the Invoke API's) reach the function's context."""
        if self._closed:
            raise LocalStateError("the pool is closed")
        fn = self.function(function)
        state = self._functions[function]
        reserved = fn.reserved_concurrency
        if reserved is not None and state.in_flight >= reserved:
            self._log(fn.name, "platform", f"throttled: {state.in_flight} of {reserved} reserved")
            raise Throttled(
                f"Rate Exceeded: function {fn.name!r} is at its reserved concurrency ({reserved})"
            )
        limiter = Limiter([lambda_bucket(self._clock), *buckets] if self.limits else [])
        inv = PooledInvocation(request_id or str(uuid.uuid4()), fn, limiter)
        inv.client_context = client_context
        state.in_flight += 1
        env = self._pick(state, fn)
        rt = None
        if env is not None and env.state == "ready":
            rt = self._submit(fn, env, inv, event)  # warm: the runtime gets it right away
        else:
            env = None
        task = asyncio.ensure_future(self._run(state, fn, inv, event, env, rt))
        inv.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._ensure_reaper()
        return inv

    def _pick(self, state: _FunctionState, fn: FunctionConfig) -> Environment | None:
        candidates = [
            env
            for env in state.envs
            if env.generation == self.generation
            and env.fn is fn
            and env.state in ("starting", "ready")
            and env.busy < fn.max_concurrency
        ]
        if not candidates:
            return None
        # Warm first, then the most recently used (Lambda reuses warm sandboxes).
        return max(candidates, key=lambda e: (e.state == "ready", e.last_used))

    async def _acquire(
        self, state: _FunctionState, fn: FunctionConfig, inv: PooledInvocation
    ) -> tuple[Environment | None, InvocationOutcome | None]:
        """An environment with a free slot reserved for ``inv``, or the init failure."""
        env = self._pick(state, fn)
        if env is not None:
            env.reserved += 1
            if env.state == "starting":
                await env.wait_started()  # another invocation is running its init
            env.reserved -= 1
            if env.state == "ready":
                return env, None
            return await self._acquire(state, fn, inv)
        if self._closed:
            raise LocalStateError("the pool closed before this invocation could start")
        env = Environment(
            fn,
            sink=self._sink,
            region=self.region,
            clock=self._clock,
            python=self._python,
            base_env=self._base_env,
            init_timeout=self.init_timeout,
            generation=self.generation,
            platform_env=dict(self.platform_env),
        )
        env.reserved += 1
        state.envs.append(env)
        self._live.add(env)
        inv.cold_start = True
        try:
            failure = await env.start()
        except BaseException as exc:
            env.reserved -= 1
            with contextlib.suppress(ValueError):
                state.envs.remove(env)
            self._live.discard(env)  # start() stopped it on its way out
            if not isinstance(exc, ConfigError):
                raise  # the emulator's own failure: the invocation ends as Sandbox.Failure
            self._log(fn.name, "warning", str(exc))
            return None, InvocationOutcome(
                status="init_error",
                error_type="Runtime.InvalidEntrypoint",
                error_body=json.dumps(
                    {"errorType": "Runtime.InvalidEntrypoint", "errorMessage": str(exc)}
                ).encode(),
            )
        env.reserved -= 1
        if env.spec is not None:
            for warning in env.spec.warnings:
                if warning not in self._warned:
                    self._warned.add(warning)
                    self._log(fn.name, "warning", warning)
        if failure is not None:
            with contextlib.suppress(ValueError):
                state.envs.remove(env)
            self._live.discard(env)  # start() already stopped it
            return env, failure
        return env, None

    def _submit(
        self, fn: FunctionConfig, env: Environment, inv: PooledInvocation, event: bytes
    ) -> RuntimeInvocation:
        """Hand the event to a ready environment (synchronously: no loop turn is lost)."""
        inv.pid = env.pid
        deadline_ms = int(time.time() * 1000 + fn.timeout * 1000)
        self._log(fn.name, "platform", logs.start_line(inv.request_id), inv.request_id)
        rt = env.submit(
            event,
            request_id=inv.request_id,
            deadline_ms=deadline_ms,
            client_context=inv.client_context,
        )
        inv._runtime.set_result(rt)
        inv._on_detach = lambda: self._log(
            fn.name,
            "platform",
            "client disconnected: the function keeps running to its end, as on AWS "
            "(and is billed); the rest of its response is discarded",
            inv.request_id,
        )
        if inv.detached:
            rt.detach()
            inv._on_detach()
        return rt

    async def _run(
        self,
        state: _FunctionState,
        fn: FunctionConfig,
        inv: PooledInvocation,
        event: bytes,
        env: Environment | None,
        rt: RuntimeInvocation | None,
    ) -> None:
        """The rest of an invocation: the cold start when ``env`` is None, then supervision,
        END and REPORT."""
        try:
            if env is None or rt is None:
                env, failure = await self._acquire(state, fn, inv)
                if failure is not None or env is None:
                    assert failure is not None
                    self._finish_failed_init(fn, inv, env, failure)
                    return
                rt = self._submit(fn, env, inv, event)
            outcome, status, memory = await self._supervise(fn, env, rt)
            self._log(fn.name, "platform", logs.end_line(inv.request_id), inv.request_id)
            self._log(
                fn.name,
                "platform",
                logs.report_line(
                    inv.request_id,
                    duration_ms=outcome.duration_ms,
                    memory_size_mb=fn.memory_size,
                    max_memory_used_mb=memory,
                    init_duration_ms=env.init_duration_ms if inv.cold_start else None,
                    status=status,
                    error_type=outcome.error_type if status == "error" else None,
                ),
                inv.request_id,
            )
            self._hint(state, fn, env, outcome)
            inv._outcome.set_result(outcome)
        except asyncio.CancelledError:
            self._fail(inv, rt, "the pool was closed")
            raise
        except Exception as exc:
            self._fail(inv, rt, f"{type(exc).__name__}: {exc}")
            self._log(fn.name, "warning", f"emulator error in invocation: {exc!r}")
        finally:
            state.in_flight -= 1
            if env is not None and rt is not None:
                env.release(rt)
                self._after_release(state, env)

    @staticmethod
    def _fail(inv: PooledInvocation, rt: RuntimeInvocation | None, why: str) -> None:
        """The emulator itself failed or stopped: end the invocation as Sandbox.Failure."""
        if not inv._runtime.done():
            inv._runtime.set_result(None)
        outcome = InvocationOutcome(
            status="crash",
            error_type="Sandbox.Failure",
            error_body=json.dumps({"errorType": "Sandbox.Failure", "errorMessage": why}).encode(),
        )
        if not inv._outcome.done():
            inv._outcome.set_result(outcome)
        if rt is not None and not rt.done:
            rt.abort(outcome)

    async def _supervise(
        self, fn: FunctionConfig, env: Environment, rt: RuntimeInvocation
    ) -> tuple[InvocationOutcome, str | None, int]:
        """Wait for the invocation's end, enforcing the timeout; returns the outcome, the REPORT
        status and the peak memory (read before a kill)."""
        timeout_outcome = InvocationOutcome(
            status="timeout",
            error_type="Sandbox.Timeout",
            error_body=json.dumps(
                {
                    "errorType": "Sandbox.Timeout",
                    "errorMessage": f"{rt.request_id} Task timed out after "
                    f"{fn.timeout:.2f} seconds",
                }
            ).encode(),
            duration_ms=fn.timeout * 1000.0,
        )
        # A timer rather than wait_for: no extra task per invocation on the hot path.
        timer = asyncio.get_running_loop().call_later(fn.timeout, rt.abort, timeout_outcome)
        try:
            outcome = await rt.outcome()
        finally:
            timer.cancel()
        if outcome.status == "timeout":
            memory = env.max_memory_mb(fresh=True)  # before the kill, while /proc has it
            self._log(fn.name, "platform", logs.timeout_line(rt.request_id, fn.timeout))
            await env.kill()  # the stream was cut by abort(); now the sandbox goes
            return outcome, "timeout", memory
        if outcome.status == "crash" and outcome.error_type != "Runtime.ExitError":
            # The connection broke: if the process is dying, Lambda calls it an exit.
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(env.wait_exit(), _EXIT_SETTLE)
                message = logs.crash_message(rt.request_id, code)
                self._log(fn.name, "platform", f"{message}\nRuntime.ExitError", rt.request_id)
                outcome = replace(
                    outcome,
                    error_type="Runtime.ExitError",
                    error_body=json.dumps(
                        {"errorType": "Runtime.ExitError", "errorMessage": message}
                    ).encode(),
                )
        memory = env.max_memory_mb()
        if outcome.status in ("crash", "function_error"):
            return outcome, "error", memory
        return outcome, None, memory

    def _finish_failed_init(
        self,
        fn: FunctionConfig,
        inv: PooledInvocation,
        env: Environment | None,
        failure: InvocationOutcome,
    ) -> None:
        inv._runtime.set_result(None)
        self._log(fn.name, "platform", logs.start_line(inv.request_id), inv.request_id)
        self._log(fn.name, "platform", logs.end_line(inv.request_id), inv.request_id)
        self._log(
            fn.name,
            "platform",
            logs.report_line(
                inv.request_id,
                duration_ms=0.0,
                memory_size_mb=fn.memory_size,
                max_memory_used_mb=0,
                init_duration_ms=env.init_duration_ms if env is not None else None,
                status="error",
                error_type=failure.error_type,
            ),
            inv.request_id,
        )
        inv._outcome.set_result(failure)

    def _hint(
        self, state: _FunctionState, fn: FunctionConfig, env: Environment, out: InvocationOutcome
    ) -> None:
        spec = env.spec
        if out.status != "function_error" or spec is None or spec.runtime_client != "awslambdaric":
            return
        if looks_streaming(fn):
            hint = (
                f"{fn.handler} failed under awslambdaric, which cannot stream (as on AWS): set "
                f"AWS_LAMBDA_EXEC_WRAPPER={LAMBDA_SSE_WRAPPER} in the function's environment"
            )
            if hint not in self._warned:
                self._warned.add(hint)
                self._log(fn.name, "warning", hint)

    # -- environments' end of life -----------------------------------------------------------

    def _after_release(self, state: _FunctionState, env: Environment) -> None:
        if env.state == "dead":
            with contextlib.suppress(ValueError):
                state.envs.remove(env)
            self._background(self._stop_env(env, 0.0))  # sweeps the group, closes its server
        elif env.busy == 0 and (env.generation != self.generation or env.fn is not state.fn):
            self._retire(state, env)

    def _retire(self, state: _FunctionState, env: Environment) -> None:
        with contextlib.suppress(ValueError):
            state.envs.remove(env)
        self._background(self._stop_env(env, self.grace))

    def _background(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stop_env(self, env: Environment, grace: float) -> None:
        try:
            await env.stop(grace)
        finally:
            if env.state == "dead":
                self._live.discard(env)

    async def reap_idle(self) -> int:
        """Stop environments idle for ``idle_timeout`` (by the pool's clock); returns how many.
        SIGTERM first so the runtime can shut down (lifespan), SIGKILL after ``grace``."""
        now = self._clock()
        doomed: list[tuple[_FunctionState, Environment]] = []
        for state in [*self._functions.values(), *self._removed]:
            for env in list(state.envs):
                if env.state == "dead" or (
                    env.state == "ready"
                    and env.busy == 0
                    and now - env.last_used >= self.idle_timeout
                ):
                    doomed.append((state, env))
        for state, env in doomed:
            with contextlib.suppress(ValueError):
                state.envs.remove(env)
            self._log(state.fn.name, "platform", f"reaping idle environment (pid {env.pid})")
        await asyncio.gather(*(self._stop_env(env, self.grace) for _, env in doomed))
        return len(doomed)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.ensure_future(self._reap_forever())

    async def _reap_forever(self) -> None:
        period = max(0.05, min(self.idle_timeout / 4, 30.0))
        while not self._closed:
            await asyncio.sleep(period)
            await self.reap_idle()

    # -- shutdown ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every environment (SIGTERM, grace, SIGKILL) and wait for running invocations
        to end (they are aborted when their environment stops)."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        states = [*self._functions.values(), *self._removed]
        envs = {env for state in states for env in state.envs} | self._live
        for state in states:
            state.envs.clear()
        await asyncio.gather(*(self._stop_env(env, self.grace) for env in envs))
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self.grace + 5.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _log(
        self, function: str, kind: logs.LogKind, text: str, request_id: str | None = None
    ) -> None:
        self._sink(logs.LogRecord(function, kind, text, request_id))
