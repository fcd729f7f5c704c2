"""``lambda-sse dev``'s server stack on a loop in a background thread, for tests that drive it
with blocking clients (boto3, the AWS CLI): the real pool, real runtimes, real sockets.

The boto3 clients made here never retry (``total_max_attempts=1``): botocore's default retries
a 429 or a 5xx up to 4 more times, which would repeat invocations and hide the error a test
checks.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from lambda_sse import aws
from lambda_sse.local.config import load_project
from lambda_sse.local.frontdoor.doors import Access, Reporter
from lambda_sse.local.lambda_api.async_queue import AsyncQueue
from lambda_sse.local.lambda_api.tail import LogTap
from lambda_sse.local.model import ProjectConfig
from lambda_sse.local.pool import Pool
from lambda_sse.local.server import DevServer
from tests.support.execution import Recorder

T = TypeVar("T")
PROJECTS = Path(__file__).resolve().parent.parent / "local" / "projects"
START_TIMEOUT = 30.0


class DevThread:
    """``with DevThread(PROJECTS / "invoke") as dev: dev.client().invoke(...)``."""

    def __init__(
        self,
        project: Path | ProjectConfig,
        *,
        delay_scale: float = 1.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        limits: bool = False,
    ) -> None:
        self.project = project if isinstance(project, ProjectConfig) else load_project(project)
        self.records = Recorder()
        self.access: list[Access] = []
        self.warnings: list[str] = []
        self._delay_scale = delay_scale
        self._clock = clock
        self._sleep = sleep
        self._limits = limits
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.endpoint = ""
        self.url_ports: dict[str, int] = {}

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    async def _start(self) -> None:
        self.tap = LogTap(self.records)
        self.pool = Pool(
            self.project, limits=self._limits, sink=self.tap, base_env=dict(os.environ), grace=0.5
        )
        options: dict[str, Any] = {"sink": self.tap, "delay_scale": self._delay_scale}
        if self._clock is not None:
            options["clock"] = self._clock
        if self._sleep is not None:
            options["sleep"] = self._sleep
        self.queue = AsyncQueue(self.pool, **options)
        self.server = DevServer(
            self.project,
            self.pool,
            port=0,
            limits=self._limits,
            reporter=Reporter(access=self.access.append, warning=self.warnings.append),
            log_tap=self.tap,
            async_queue=self.queue,
        )
        await self.server.start()
        self.endpoint = self.server.lambda_endpoint
        self.url_ports = dict(self.server.url_ports)
        self.pool.platform_env[aws.ENDPOINT_URL_LAMBDA] = self.endpoint

    async def _stop(self) -> None:
        await self.server.close()
        await self.pool.close()

    def __enter__(self) -> DevThread:
        self._thread.start()
        try:
            self.run(self._start(), START_TIMEOUT)
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            if hasattr(self, "server"):
                self.run(self._stop(), 30.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10.0)
            self._loop.close()

    def client(self, **config: Any) -> Any:
        """A boto3 Lambda client pointed at the server, without retries."""
        import boto3
        from botocore.config import Config

        settings: dict[str, Any] = {
            "retries": {"total_max_attempts": 1},
            "read_timeout": 30,
            "connect_timeout": 5,
        }
        settings.update(config)
        return boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="anything",
            aws_secret_access_key="anything",
            config=Config(**settings),
        )

    def lines(self, request_id: str | None = None) -> list[str]:
        return [r.text for r in self.records.records if request_id in (None, r.request_id)]


__all__ = ["PROJECTS", "DevThread"]
