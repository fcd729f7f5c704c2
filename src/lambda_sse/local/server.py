"""``lambda-sse dev`` put together: config + invoker + front doors + request log + reload.

One listener serves the REST API at ``http://HOST:PORT/{stage}/{path}`` (and HTTP API routes at
``/{path}``); the k-th function with a Function URL (1-based, declaration order) listens on
``PORT+k``. Port 0 gives every listener its own free port (tests). The request log is coloured
when the stream is a terminal and ``NO_COLOR`` is unset (no-color.org).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

from lambda_sse.errors import ConfigError
from lambda_sse.local import logs
from lambda_sse.local.auth.iam import TrustStore
from lambda_sse.local.frontdoor.doors import (
    HEAD_LIMIT,
    INTEGRATION_TIMEOUT,
    INVOKE_PAYLOAD_LIMIT,
    REST_PAYLOAD_LIMIT,
    Access,
    FunctionUrlDoor,
    Reporter,
    RestApiDoor,
    head_limit_reply,
)
from lambda_sse.local.frontdoor.http import HEAD_TIMEOUT, Door, Limits, Listener, serve
from lambda_sse.local.frontdoor.replies import Reply, apigw_error
from lambda_sse.local.lambda_api.async_queue import AsyncQueue
from lambda_sse.local.lambda_api.door import LambdaApiDoor, too_large_reply
from lambda_sse.local.lambda_api.invoker import LambdaInvoker
from lambda_sse.local.lambda_api.tail import LogTap
from lambda_sse.local.model import Invoker, ProjectConfig

__all__ = ["Console", "DevServer", "Endpoint", "code_fingerprint", "route_table"]


@dataclass(frozen=True)
class Endpoint:
    """One line of the route table."""

    kind: str  # "REST", "HTTP API", "URL"
    method: str
    url: str
    function: str
    mode: str


_COLORS = {"dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}


class Console:
    """Readable request and invocation logs, coloured on a terminal unless NO_COLOR is set."""

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        if color is None:
            isatty = getattr(self.stream, "isatty", lambda: False)
            color = bool(isatty()) and "NO_COLOR" not in os.environ
        self.color = color

    def paint(self, text: str, color: str) -> str:
        if not self.color:
            return text
        return f"\x1b[{_COLORS[color]}m{text}\x1b[0m"

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def access(self, record: Access) -> None:
        status = record.status
        color = "green" if status < 400 else "yellow" if status < 500 else "red"
        parts = [
            self.paint(f"{status:3d}", color),
            f"{record.method:<6} {record.target}",
            self.paint(f"{record.mode} -> {record.function or '-'}", "cyan"),
            self.paint(f"{record.duration_ms:.1f} ms {record.bytes_sent} B", "dim"),
        ]
        if record.ended:
            calm = record.ended in ("complete", "planned close")
            ended = f"ended: {record.ended}" + (";" if record.note else "")
            parts.append(self.paint(ended, "dim" if calm else "yellow"))
        if record.note:
            parts.append(self.paint(record.note, "yellow"))
        self.line(" ".join(parts))

    def warning(self, text: str) -> None:
        self.line(self.paint(f"warning: {text}", "yellow"))

    def record(self, record: logs.LogRecord) -> None:
        """The pool's log sink: START/END/REPORT, the function's output, warnings."""
        name = self.paint(f"[{record.function}]", "blue")
        for text in logs.display_lines(record.text):
            if record.kind == "warning":
                self.line(f"{name} {self.paint('warning: ' + text, 'yellow')}")
            elif record.kind == "platform":
                self.line(f"{name} {self.paint(text, 'dim')}")
            else:
                self.line(f"{name} {text}")


def route_table(
    project: ProjectConfig, host: str, rest_port: int, url_ports: Iterable[int]
) -> list[Endpoint]:
    base = f"http://{_host_for_url(host)}:{rest_port}"
    endpoints: list[Endpoint] = []
    for fn in project.functions:
        for route in fn.routes:
            if route.kind == "rest":
                url = f"{base}/{project.api.stage}{route.path if route.path != '/' else '/'}"
                endpoints.append(Endpoint("REST", route.method, url, fn.name, route.transfer_mode))
            else:
                endpoints.append(
                    Endpoint("HTTP API", route.method, f"{base}{route.path}", fn.name, "BUFFERED")
                )
    for fn, port in zip(project.url_functions, url_ports, strict=True):
        assert fn.url is not None
        url = f"http://{_host_for_url(host)}:{port}/"
        endpoints.append(Endpoint("URL", "ANY", url, fn.name, fn.url.invoke_mode))
    return endpoints


def _host_for_url(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class DevServer:
    """The front doors of one project over one invoker."""

    def __init__(
        self,
        project: ProjectConfig,
        invoker: Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        limits: bool = True,
        reporter: Reporter | None = None,
        integration_timeout: float | None = None,
        idle_timeout: float | None = None,
        head_timeout: float = HEAD_TIMEOUT,
        auth: bool = True,
        trust: TrustStore | None = None,
        log_tap: LogTap | None = None,
        async_queue: AsyncQueue | None = None,
    ) -> None:
        self.project = project
        self.head_timeout = head_timeout
        self.auth = auth  # False: --no-auth
        self.trust = trust
        self.invoker = invoker
        self.host = host
        self.port = port
        self.limits = limits
        self.reporter = reporter or Reporter()
        self._integration_timeout = integration_timeout
        self._idle_timeout = idle_timeout
        self._servers: list[Listener] = []
        # The Lambda API (Invoke, InvokeWithResponseStream) shares the REST API's port.
        self.log_tap = log_tap
        self.async_queue = async_queue or AsyncQueue(
            cast(LambdaInvoker, invoker), sink=log_tap or logs.stderr_sink
        )
        self.rest_port = 0
        self.url_ports: dict[str, int] = {}

    async def start(self) -> None:
        last = self.port + len(self.project.url_functions)
        if self.port and last > _MAX_PORT:
            raise ConfigError(
                f"--port {self.port}: the Function URLs would need ports up to {last} (the k-th "
                f"listens on PORT+k) but ports end at {_MAX_PORT}; pass a lower --port",
                key="--port",
            )
        rest = RestApiDoor(
            self.project,
            self.invoker,
            self.reporter,
            limits=self.limits,
            idle_timeout=self._idle_timeout,
            integration_timeout=self._integration_timeout or INTEGRATION_TIMEOUT,
            auth=self.auth,
        )
        rest_limits = Limits(
            max_head=HEAD_LIMIT,
            max_body=REST_PAYLOAD_LIMIT,
            head_reply=head_limit_reply("rest"),
            body_reply=apigw_error(413, "Request Too Long"),
            head_timeout=self.head_timeout,
            body_reply_for=too_large_reply,  # the Lambda API's paths answer as Lambda does
        )
        lambda_api = LambdaApiDoor(
            self.project,
            cast(LambdaInvoker, self.invoker),
            rest,
            self.reporter,
            queue=self.async_queue,
            tap=self.log_tap,
        )
        try:
            server = await _listen(self.host, self.port, lambda_api, rest_limits, "the REST API")
            self._servers.append(server)
            self.rest_port = _bound_port(server)
            url_limits = Limits(
                max_head=HEAD_LIMIT,
                max_body=INVOKE_PAYLOAD_LIMIT,
                head_reply=head_limit_reply("url"),
                body_reply=Reply(
                    413,
                    [("Content-Type", "application/json")],
                    b'{"Message":"Request must be smaller than %d bytes for the '
                    b'InvokeFunction operation"}' % INVOKE_PAYLOAD_LIMIT,
                ),
                head_timeout=self.head_timeout,
            )
            for k, fn in enumerate(self.project.url_functions, start=1):
                door = FunctionUrlDoor(
                    self.project,
                    self.invoker,
                    fn,
                    self.reporter,
                    limits=self.limits,
                    auth=self.auth,
                    trust=self.trust,
                )
                port = self.port + k if self.port else 0
                server = await _listen(self.host, port, door, url_limits, f"{fn.name}'s URL")
                self._servers.append(server)
                self.url_ports[fn.name] = _bound_port(server)
        except BaseException:
            await self.close()
            raise

    @property
    def lambda_endpoint(self) -> str:
        """The value for ``AWS_ENDPOINT_URL_LAMBDA``: the REST API's origin."""
        return f"http://{_host_for_url(self.host)}:{self.rest_port}"

    def endpoints(self) -> list[Endpoint]:
        ports = [self.url_ports[fn.name] for fn in self.project.url_functions]
        return route_table(self.project, self.host, self.rest_port, ports)

    async def close(self) -> None:
        """Stop listening and cut every open connection."""
        servers, self._servers = self._servers, []
        for server in servers:
            await server.close()
        await self.async_queue.close()


_MAX_PORT = 65535


async def _listen(host: str, port: int, door: Door, limits: Limits, what: str) -> Listener:
    try:
        return await serve(host, port, door, limits)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(
            f"--host {host}: not an address or name this machine can listen on ({exc}); pass "
            "an address such as 127.0.0.1, ::1 or 0.0.0.0",
            key="--host",
        ) from None
    except OverflowError:
        raise ConfigError(
            f"cannot listen on port {port} for {what}: ports end at {_MAX_PORT}; pass a lower "
            "--port",
            key="--port",
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"--host {host}: this machine has no such address ({exc.strerror or exc}); pass "
                "one of its addresses, such as 127.0.0.1, ::1 or 0.0.0.0",
                key="--host",
            ) from None
        raise ConfigError(
            f"cannot listen on {host}:{port} for {what} ({exc.strerror or exc}); pass another "
            "--port (the REST API takes PORT, the k-th Function URL PORT+k), or stop what uses it",
            key="--port",
        ) from None


def _bound_port(server: Listener) -> int:
    return server.port


# -- reload ------------------------------------------------------------------------------------

_IGNORED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        "node_modules",
        ".venv",
        ".mypy_cache",
        ".pytest_cache",
        ".serverless",
        ".aws-sam",
        ".lambda-sse",  # channels' SQLite file: written at run time, not code
    }
)
_MAX_FILES = 20_000


def code_fingerprint(
    folders: Iterable[Path], extra: Iterable[Path] = ()
) -> tuple[tuple[str, int], ...]:
    """A cheap signature of the code: (path, mtime_ns) of every file under ``folders``, bounded
    in count, skipping caches and dependency folders."""
    seen: list[tuple[str, int]] = []
    for path in extra:
        with contextlib.suppress(OSError):
            seen.append((str(path), path.stat().st_mtime_ns))
    for folder in sorted(set(folders)):
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS]
            for name in files:
                if name.endswith((".pyc", ".pyo")):
                    continue
                file_path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    seen.append((file_path, os.stat(file_path).st_mtime_ns))
                if len(seen) >= _MAX_FILES:
                    return tuple(sorted(seen))
    return tuple(sorted(seen))


async def watch(
    folders: Iterable[Path],
    on_change: Callable[[], Awaitable[None] | None],
    *,
    extra: Iterable[Path] = (),
    interval: float = 1.0,
) -> None:
    """Poll the code's mtimes every ``interval`` seconds and call ``on_change`` on a change.
    Runs until cancelled."""
    folders = list(folders)
    extra = list(extra)
    last = await asyncio.to_thread(code_fingerprint, folders, extra)
    while True:
        await asyncio.sleep(interval)
        now = await asyncio.to_thread(code_fingerprint, folders, extra)
        if now != last:
            last = now
            result = on_change()
            if result is not None:
                await result
