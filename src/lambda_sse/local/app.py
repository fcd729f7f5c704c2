"""The two commands of the emulator, as coroutines the CLI runs: ``dev`` and ``invoke``.

``run_dev`` loads the config, starts the pool and the front doors, prints the route table,
watches the code for changes and stops everything (every environment, no orphans) on
SIGINT/SIGTERM. ``run_invoke`` (:mod:`lambda_sse.local.invoke_command`, re-exported here)
invokes one function once and copies its streamed bytes to stdout as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lambda_sse import aws
from lambda_sse.errors import ConfigError
from lambda_sse.local.auth.iam import TrustStore, developer_credentials, parse_key_option
from lambda_sse.local.channels import aws_table_notice, with_channels_url
from lambda_sse.local.config import load_project
from lambda_sse.local.frontdoor.doors import Access, Reporter
from lambda_sse.local.handlercheck import HandlerProblem
from lambda_sse.local.invoke_command import InvokeOptions, load_with_warnings, run_invoke
from lambda_sse.local.lambda_api.async_queue import AsyncQueue
from lambda_sse.local.lambda_api.tail import LogTap
from lambda_sse.local.model import ProjectConfig
from lambda_sse.local.server import Console, DevServer, watch

if TYPE_CHECKING:
    pass

__all__ = ["DevOptions", "InvokeOptions", "run_dev", "run_invoke"]


@dataclass(frozen=True)
class DevOptions:
    directory: Path = Path(".")
    config: str | None = None
    host: str = "127.0.0.1"
    port: int = 3000
    limits: bool = True
    concurrency: int | None = None
    max_environments: int | None = None  # None: reserved concurrency, else the pool's default
    reload: bool = True
    idle_timeout: float | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # --stage, --region, ...
    auth: bool = True  # False: --no-auth
    iam_keys: tuple[str, ...] = ()  # --iam-key ACCESS_KEY:SECRET[:TOKEN]
    profile: str | None = None  # the developer's credentials (botocore's chain) for AWS_IAM
    channels_url: str | None = None  # --channels-url: every function's LAMBDA_SSE_CHANNELS_URL
    async_delay_scale: float = 1.0  # multiplies AWS's asynchronous retry delays


def _routes_of(project: ProjectConfig) -> object:
    return [(fn.name, fn.routes, fn.url) for fn in project.functions]


async def run_dev(options: DevOptions, console: Console | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or cancellation). Raises ConfigError for a bad config."""
    from lambda_sse.local.environment import kill_all
    from lambda_sse.local.pool import Pool

    started = time.monotonic()
    console = console or Console()
    # In a thread: a Ctrl-C cancels this task at once, whatever the loader is doing.
    project = await asyncio.to_thread(
        load_with_warnings, options.directory, options.config, options.options, console
    )
    if notice := aws_table_notice(project, options.channels_url):
        console.line(notice)
    project = with_channels_url(project, options.channels_url)
    checks = HandlerChecks(console)
    reporter = Reporter(access=checks.access, warning=console.warning)
    checking = asyncio.ensure_future(checks.run(project))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    trust = await _trust_store(project, options, console)
    tap = LogTap(console.record)  # keeps each invocation's log tail for LogType: Tail
    pool = Pool(
        project,
        limits=options.limits,
        max_concurrency=options.concurrency,
        max_environments=options.max_environments,
        sink=tap,
    )
    server = DevServer(
        project,
        pool,
        host=options.host,
        port=options.port,
        limits=options.limits,
        reporter=reporter,
        idle_timeout=options.idle_timeout,
        auth=options.auth,
        trust=trust,
        log_tap=tap,
        async_queue=AsyncQueue(pool, sink=tap, delay_scale=options.async_delay_scale),
    )
    watcher: asyncio.Task[None] | None = None
    try:
        await server.start()
        # boto3 inside a function invokes the local functions (the Lambda API on this port).
        pool.platform_env[aws.ENDPOINT_URL_LAMBDA] = server.lambda_endpoint
        _print_table(console, project, server, options.limits)
        await checking
        _print_auth(console, project, trust, options.auth)
        console.line(
            console.paint(
                f"ready in {(time.monotonic() - started) * 1000:.0f} ms; Ctrl-C stops", "dim"
            )
        )
        if options.reload:
            watcher = asyncio.ensure_future(_watch(project, pool, console, options, checks))
        await stop.wait()
        console.line(console.paint("stopping: closing listeners and environments", "dim"))
        return 0
    finally:
        for task in (watcher, checking, checks.rerun):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await server.close()
        await pool.close()
        kill_all()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


async def _watch(
    project: ProjectConfig,
    pool: object,
    console: Console,
    options: DevOptions,
    checks: HandlerChecks,
    *,
    interval: float = 1.0,
) -> None:
    from lambda_sse.local.pool import Pool

    assert isinstance(pool, Pool)
    folders = sorted({fn.code_dir for fn in project.functions})
    routes = _routes_of(project)

    async def changed() -> None:
        nonlocal routes
        try:
            # Off the event loop: live streams keep flowing while the config is read.
            fresh = await asyncio.to_thread(
                load_project, options.directory, options.config, options=options.options
            )
            fresh = with_channels_url(fresh, options.channels_url)
        except ConfigError as exc:
            console.warning(f"config not reloaded: {exc}")
            pool.reload()
            return
        if _routes_of(fresh) != routes:
            console.warning("routes or Function URLs changed: restart lambda-sse dev to serve them")
        pool.reload(fresh)
        console.line(console.paint("code changed: new invocations get new environments", "cyan"))
        checks.again(fresh)

    await watch(folders, changed, extra=[project.source], interval=interval)


class HandlerChecks:
    """Every Python handler imported in a subprocess before "ready" and after each change; the
    problems stay known so that a failing request repeats them."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.problems: dict[str, HandlerProblem] = {}
        self.rerun: asyncio.Task[None] | None = None

    async def run(self, project: ProjectConfig) -> None:
        from lambda_sse.local.handlercheck import check_imports

        try:
            found = await check_imports(project)
        except (OSError, ValueError) as exc:  # no interpreter to start, a garbled report
            self.console.warning(f"could not check the handlers before serving: {exc}")
            return
        before, self.problems = self.problems, found
        for name in sorted(set(before) - set(found)):
            self.console.line(
                self.console.paint(f"function {name!r}: handler loads again", "green")
            )
        for name, problem in found.items():
            if name in before and str(before[name]) == str(problem):
                continue  # shown already, unchanged
            self.console.warning(
                f"{problem}\n  requests to it fail ({problem.error_type}) until this is fixed; "
                "lambda-sse dev checks again when the code changes"
            )

    def again(self, project: ProjectConfig) -> None:
        if self.rerun is not None and not self.rerun.done():
            self.rerun.cancel()
        self.rerun = asyncio.ensure_future(self.run(project))

    def access(self, record: Access) -> None:
        self.console.access(record)
        problem = self.problems.get(record.function or "")
        if problem is not None and record.status >= 500:
            self.console.warning(f"{problem}\n  (found at start: fix it and save)")


def _print_table(console: Console, project: ProjectConfig, server: DevServer, limits: bool) -> None:
    endpoints = server.endpoints()
    console.line(
        console.paint(f"lambda-sse dev: {project.service} ({project.source.name})", "green")
    )
    if not endpoints:
        console.line("  no HTTP routes or Function URLs declared; use `lambda-sse invoke`")
    width = max((len(e.method) for e in endpoints), default=3)
    url_width = max((len(e.url) for e in endpoints), default=10)
    for e in endpoints:
        console.line(
            f"  {e.kind:<8} {e.method:<{width}} {e.url:<{url_width}}  "
            f"{console.paint(e.mode, 'cyan')} -> {e.function}"
        )
    console.line(
        f"  {'LAMBDA':<8} {'POST':<{width}} {server.lambda_endpoint:<{url_width}}  "
        f"{console.paint('Invoke API', 'cyan')} -> "
        f"AWS_ENDPOINT_URL_LAMBDA={server.lambda_endpoint}"
    )
    endpoint = project.api.endpoint_type
    console.line(
        console.paint(
            f"  stage {project.api.stage}, {endpoint} endpoint; bandwidth limits "
            f"{'on' if limits else 'off'}",
            "dim",
        )
    )


async def _trust_store(
    project: ProjectConfig, options: DevOptions, console: Console
) -> TrustStore | None:
    """The credentials AWS_IAM Function URLs accept; botocore is loaded only when one needs it."""
    extra = [parse_key_option(text) for text in options.iam_keys]
    needed = any(fn.url is not None and fn.url.auth_type == "AWS_IAM" for fn in project.functions)
    if not needed or not options.auth:
        return None
    developer = await asyncio.to_thread(developer_credentials, options.profile)
    if developer is None:
        console.warning(
            "AWS_IAM Function URLs: no credentials found by botocore's chain (AWS_PROFILE, "
            "~/.aws, AWS_ACCESS_KEY_ID, ...); only the functions' own and --iam-key keys are "
            "trusted"
        )
    return TrustStore.build(developer=developer, extra=extra)


def _print_auth(
    console: Console, project: ProjectConfig, trust: TrustStore | None, auth: bool
) -> None:
    if not auth:
        console.line(
            console.paint(
                "  --no-auth: AWS_IAM signatures, API keys and Lambda authorizers are NOT "
                "checked; AWS will refuse calls that pass here (CORS still applies)",
                "red",
            )
        )
        return
    if trust is not None:
        sources = ", ".join(f"{source} ({key[:4]}...{key[-4:]})" for key, source in trust.sources())
        console.line(console.paint(f"  AWS_IAM URLs accept SigV4 signatures by: {sources}", "dim"))
    for key in project.api.api_keys:
        state = "" if key.enabled else " (disabled)"
        made = " (generated)" if key.generated else ""
        console.line(f"  API key {key.name}{made}{state}: x-api-key: {key.value}")
