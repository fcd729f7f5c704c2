"""The runtime loop: GET /next, run the handler, post the outcome, repeat.

``python -m lambda_sse.runtime [module.function]`` lands in :func:`main`. A sync handler runs in a
plain blocking loop that never imports asyncio; an async handler gets the environment's one event
loop (:mod:`lambda_sse.runtime.aio`). Both run the same sans-IO cores, :func:`_worker` and
:func:`_callbacks` (see :mod:`lambda_sse.runtime.steps`): only how a step is performed differs.
With ``AWS_LAMBDA_MAX_CONCURRENCY`` (Lambda Managed Instances, docs:
runtimes-custom.html#runtimes-custom-managed-instances) that many invocations run at once: async
handlers as that many workers on the one loop, sync handlers in that many threads.

Process exit codes: 0 after SIGTERM (shutdown callbacks ran), 1 when init failed or the Runtime
API answered 500 / went away (AWS asks the runtime to exit then), 2 for a bad command line.
"""

from __future__ import annotations

import os
import signal
import sys

from lambda_sse.errors import OptionError, RuntimeAPIError
from lambda_sse.runtime import shutdown
from lambda_sse.runtime.client import RuntimeClient
from lambda_sse.runtime.handler import HandlerLoadError, is_async_callable, load_handler
from lambda_sse.runtime.invoke import invoke_sync
from lambda_sse.runtime.logs import install_logging, log_line
from lambda_sse.runtime.report import error_document
from lambda_sse.runtime.steps import drive, drive_async
from lambda_sse.runtime.stream import is_streaming

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Generator
    from typing import Any

    from lambda_sse.runtime.client import AsyncRuntimeClient
    from lambda_sse.runtime.steps import Step

__all__ = ["main"]

USAGE = "usage: python -m lambda_sse.runtime [MODULE.FUNCTION]  (or set _HANDLER)"


class _Shutdown(BaseException):
    """Raised in the main thread by SIGTERM (sync mode)."""


def _fatal(exc: BaseException) -> bool:
    """A Runtime API failure the runtime cannot go on from (500, garbled reply, gone)."""
    if isinstance(exc, RuntimeAPIError):
        return exc.status is None or exc.status >= 500
    return isinstance(exc, OSError)


def _concurrency() -> int:
    raw = os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise OptionError(f"AWS_LAMBDA_MAX_CONCURRENCY must be a positive integer, got {raw!r}")
    return int(raw)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in {"-h", "--help"}:
        print(USAGE)
        return 0
    if len(args) > 1:
        print(f"lambda_sse.runtime: too many arguments\n{USAGE}", file=sys.stderr)
        return 2
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
    if not address:
        print(
            "lambda_sse.runtime: AWS_LAMBDA_RUNTIME_API is not set; Lambda sets it, and locally "
            "`lambda-sse dev` does",
            file=sys.stderr,
        )
        return 2
    try:
        client = RuntimeClient(address)
        concurrency = _concurrency()
    except (RuntimeAPIError, OptionError) as exc:
        print(f"lambda_sse.runtime: {exc}", file=sys.stderr)
        return 2
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)  # prints reach the log as they happen

    spec = args[0] if args else os.environ.get("_HANDLER", "")
    try:
        if not spec:
            raise HandlerLoadError(
                "no handler: pass MODULE.FUNCTION or set _HANDLER", "Runtime.MalformedHandlerName"
            )
        handler = load_handler(spec)
    except HandlerLoadError as exc:
        return _init_failed(client, exc, exc.error_type, str(exc))
    except BaseException as exc:  # SystemExit or KeyboardInterrupt from the module's own code
        return _init_failed(client, exc, "Runtime.ExitError", f"{type(exc).__name__}: {exc}")
    install_logging()

    try:
        streaming = is_streaming(handler)
        if is_async_callable(handler):
            return _run_async(address, handler, streaming, concurrency)
        return _run_sync(client, address, handler, streaming, concurrency)
    except RuntimeAPIError as exc:
        log_line("ERROR", f"Runtime API failure, exiting: {exc}")
        return 1
    except OSError as exc:
        log_line("ERROR", f"Runtime API unreachable, exiting: {exc}")
        return 1


def _init_failed(client: RuntimeClient, exc: BaseException, error_type: str, message: str) -> int:
    cause = exc.cause if isinstance(exc, HandlerLoadError) and exc.cause else exc
    doc = error_document(cause, error_type=error_type, message=message)
    text = f"{error_type}: {message}"
    if doc["stackTrace"]:  # the user's code failed: show where, in the same log event
        text += "\nTraceback (most recent call last):\n" + "".join(doc["stackTrace"]).rstrip()
    log_line("ERROR", text)
    try:
        client.post_init_error(doc, error_type)
    except (RuntimeAPIError, OSError) as post_exc:
        log_line("ERROR", f"could not report the init error: {post_exc}")
    return 1


# ---------------------------------------------------------------------------------------------
# Shutdown


AWAIT = 10  # a step of the shutdown core: (awaitable) -> its result


def _callbacks() -> Generator[Step, Any, None]:
    """The shutdown core: every callback once, most recent first; a failure is logged."""
    for callback in shutdown.take():
        try:
            result = callback()
            if shutdown.is_awaitable(result):
                yield (AWAIT, result)
        except Exception as exc:
            log_line("ERROR", f"shutdown callback {callback!r} failed: {exc!r}", "")


def _run_callbacks_sync() -> None:
    def perform(step: Step) -> Any:
        from lambda_sse.runtime.aio import run

        return run(step[1])

    drive(_callbacks(), perform)


async def _run_callbacks_async() -> None:
    async def perform(step: Step) -> Any:
        return await step[1]

    await drive_async(_callbacks(), perform)


# ---------------------------------------------------------------------------------------------
# Sync handlers: blocking, no asyncio


NEXT = 11  # a step of the worker core: (None) -> the next invocation
INVOKE = 12  # (invocation) -> its outcome


def _worker() -> Generator[Step, Any, None]:
    """The worker core: GET /next, run the invocation, repeat. A reply the Runtime API refused
    (not a 500) or a broken response connection costs that invocation only; a 500 or a Runtime
    API that is gone ends the worker (AWS asks the runtime to exit then)."""
    while True:
        inv = yield (NEXT, None)
        try:
            yield (INVOKE, inv)
        except (RuntimeAPIError, OSError) as exc:
            if isinstance(exc, RuntimeAPIError) and not _fatal(exc):
                log_line("ERROR", f"the Runtime API refused a reply: {exc}", inv.request_id)
                continue
            if isinstance(exc, OSError) and not isinstance(exc, ConnectionRefusedError):
                # The stream's connection broke; the Runtime API itself may be fine.
                log_line("ERROR", f"response connection failed: {exc!r}", inv.request_id)
                continue
            raise


def _worker_sync(
    client: RuntimeClient, handler: Callable[..., Any], streaming: bool, set_environ: bool
) -> None:
    def perform(step: Step) -> Any:
        if step[0] == NEXT:
            return client.next()
        return invoke_sync(client, handler, streaming, step[1], set_environ=set_environ)

    drive(_worker(), perform)


def _thread_worker(
    address: str, handler: Callable[..., Any], streaming: bool
) -> None:  # pragma: no cover - runs in worker threads of a subprocess
    try:
        _worker_sync(RuntimeClient(address), handler, streaming, False)
    except BaseException as exc:
        log_line("ERROR", f"Runtime API failure, exiting: {exc}")
        sys.stderr.flush()
        os._exit(1)


def _run_sync(
    client: RuntimeClient,
    address: str,
    handler: Callable[..., Any],
    streaming: bool,
    concurrency: int,
) -> int:
    def on_term(signum: int, frame: object) -> None:
        raise _Shutdown

    signal.signal(signal.SIGTERM, on_term)
    if concurrency > 1:
        import threading

        for index in range(1, concurrency):
            threading.Thread(
                target=_thread_worker,
                args=(address, handler, streaming),
                name=f"lambda-sse-worker-{index}",
                daemon=True,
            ).start()
    try:
        _worker_sync(client, handler, streaming, concurrency == 1)
    except _Shutdown:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _run_callbacks_sync()
        return 0
    return 1  # pragma: no cover - _worker_sync only ends by raising


# ---------------------------------------------------------------------------------------------
# Async handlers: one loop for the life of the environment


async def _worker_async(
    client: AsyncRuntimeClient, handler: Callable[..., Any], streaming: bool, set_environ: bool
) -> None:
    from lambda_sse.runtime.invoke import invoke_async

    async def perform(step: Step) -> Any:
        if step[0] == NEXT:
            return await client.next()
        return await invoke_async(client, handler, streaming, step[1], set_environ=set_environ)

    await drive_async(_worker(), perform)


async def _serve_async(
    address: str, handler: Callable[..., Any], streaming: bool, concurrency: int
) -> None:
    import asyncio
    import contextvars

    from lambda_sse.runtime.client import AsyncRuntimeClient

    loop = asyncio.get_running_loop()
    workers = [
        # Each worker in its own context copy: request and trace ids never leak across them.
        loop.create_task(
            _worker_async(AsyncRuntimeClient(address, loop), handler, streaming, concurrency == 1),
            context=contextvars.copy_context(),
        )
        for _ in range(concurrency)
    ]
    try:
        done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the handlers left running (briefly awaited), then close the loop, so the
    process ends without "Task was destroyed but it is pending" noise."""
    import asyncio
    import contextlib

    leftovers = asyncio.all_tasks(loop)
    for task in leftovers:
        task.cancel()
    if leftovers:
        gathered = asyncio.gather(*leftovers, return_exceptions=True)
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.wait_for(gathered, 1.0))
    loop.close()


def _run_async(address: str, handler: Callable[..., Any], streaming: bool, concurrency: int) -> int:
    import asyncio

    from lambda_sse.runtime.aio import environment_loop

    loop = environment_loop()
    task: asyncio.Task[None] = loop.create_task(
        _serve_async(address, handler, streaming, concurrency)
    )
    stopping: list[bool] = []

    def on_term() -> None:
        stopping.append(True)
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_term)
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        if not stopping:
            raise
    loop.remove_signal_handler(signal.SIGTERM)
    if stopping:
        loop.run_until_complete(_run_callbacks_async())
        _close_loop(loop)
        return 0
    return 1  # pragma: no cover - the serve task only ends by raising or being cancelled
