"""Run ``lambda-sse dev`` as a user would (the console script, a real process), for the
examples' end-to-end tests; copy an example with test-only settings; time SSE arrivals.

Every server started here is stopped by the context manager: Ctrl-C first (the CLI promises to
stop every execution environment), then the whole process group if it lingers.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from lambda_sse.sse import ServerSentEvent, SSEDecoder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def lambda_sse_command() -> list[str]:
    script = Path(sys.executable).parent / "lambda-sse"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lambda_sse.cli"]


def free_port_block(size: int, attempts: int = 50) -> int:
    """A port N such that N .. N+size-1 are all free on loopback right now."""
    for _ in range(attempts):
        base = random.randint(20_000, 40_000)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no block of {size} free ports found")


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, k: int = 1) -> str:
        """The k-th Function URL (1-based, in declaration order)."""
        return f"http://127.0.0.1:{self.port + k}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def dev_server(
    project: Path, log_dir: Path, url_functions: int = 1, args: Sequence[str] = ()
) -> Iterator[DevServer]:
    """``lambda-sse dev PROJECT --port N [ARGS]``; ready once the REST port and every Function
    URL port accept connections."""
    port = free_port_block(1 + url_functions)
    log = log_dir / f"lambda-sse-dev-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*lambda_sse_command(), "dev", str(project), "--port", str(port), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stoppable as a whole
            env={**os.environ, "NO_COLOR": "1"},
        )
    server = DevServer(process, port, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        ports = [port + k for k in range(1 + url_functions)]
        while not all(_accepts(p) for p in ports):
            if process.poll() is not None:
                raise AssertionError(f"lambda-sse dev exited early:\n{server.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"lambda-sse dev not ready in time:\n{server.output()}")
            time.sleep(0.05)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT)
    # Whatever is left of the group we started (function processes included).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(STOP_TIMEOUT)


def copy_example(
    name: str,
    destination: Path,
    *,
    environment: Mapping[str, str] | None = None,
    timeouts: Mapping[str, int] | None = None,
) -> Path:
    """A copy of ``examples/NAME`` whose serverless.yml adds ``environment`` to every function
    and sets the given functions' timeouts: test-only settings never touch the example."""
    target = destination / name
    shutil.copytree(
        EXAMPLES / name,
        target,
        ignore=shutil.ignore_patterns(".lambda-sse", "__pycache__"),
    )
    config_path = target / "serverless.yml"
    config: dict[str, Any] = yaml.safe_load(config_path.read_text())
    provider_env = config["provider"].setdefault("environment", {})
    provider_env.update(environment or {})
    for function, seconds in (timeouts or {}).items():
        config["functions"][function]["timeout"] = seconds
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic() when the event was complete
    event: ServerSentEvent


@dataclass(frozen=True)
class StreamRead:
    status: int
    headers: httpx.Headers
    arrivals: list[Arrival]
    raw: bytes


def read_sse(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    stop_on: str | None = None,
    timeout: float = 30.0,
) -> StreamRead:
    """GET an event stream with httpx and time every event as it completes, until the body
    ends (or an event of type ``stop_on`` arrives); the whole read is bounded by ``timeout``."""
    decoder = SSEDecoder()
    arrivals: list[Arrival] = []
    raw = bytearray()
    deadline = time.monotonic() + timeout
    with (
        httpx.Client(timeout=httpx.Timeout(timeout)) as client,
        client.stream("GET", url, headers=dict(headers or {})) as response,
    ):
        for chunk in response.iter_raw():
            now = time.monotonic()
            raw += chunk
            arrivals.extend(Arrival(now, event) for event in decoder.feed(chunk))
            if stop_on is not None and any(a.event.event == stop_on for a in arrivals):
                break
            if now > deadline:
                raise AssertionError(f"stream from {url} still open after {timeout} s")
        return StreamRead(response.status_code, response.headers, arrivals, bytes(raw))
