"""``lambda-sse invoke``: one invocation of one function, its streamed bytes copied to stdout as
they come (or, with ``--type Event``, queued and followed through AWS's asynchronous retries).
No server is started: the function gets no ``AWS_ENDPOINT_URL_LAMBDA``.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lambda_sse import aws
from lambda_sse.errors import ConfigError
from lambda_sse.local.channels import with_channels_url
from lambda_sse.local.config import load_project
from lambda_sse.local.lambda_api.async_queue import AsyncQueue, AsyncResult
from lambda_sse.local.lambda_api.tail import LogTap
from lambda_sse.local.logs import LogRecord
from lambda_sse.local.model import ProjectConfig, ThrottledError
from lambda_sse.local.server import Console
from lambda_sse.runtime.prelude import PRELUDE_CONTENT_TYPE, PreludeDecoder

if TYPE_CHECKING:
    from lambda_sse.local.pool import Pool

__all__ = ["InvokeOptions", "load_with_warnings", "run_invoke"]


@dataclass(frozen=True)
class InvokeOptions:
    function: str
    directory: Path = Path(".")
    config: str | None = None
    event: str | None = None  # a file, "-" for stdin, None for {}
    limits: bool = True
    options: Mapping[str, str] = field(default_factory=dict)
    invocation_type: str = "RequestResponse"  # or "Event", "DryRun" (the Invoke API's)
    log_tail: bool = False  # print the last 4 KB of the log, as LogType Tail returns it
    async_delay_scale: float = 1.0


def load_with_warnings(
    directory: Path, config: str | None, options: Mapping[str, str], console: Console
) -> ProjectConfig:
    project = load_project(directory, config, options=options)
    for warning in project.warnings:
        console.warning(warning)
    return project


def _read_event(source: str | None, stdin: BinaryIO) -> bytes:
    if source is None:
        return b"{}"
    try:
        data = stdin.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"--event {source}: cannot read it ({exc.strerror or exc})", key="--event"
        ) from None
    try:
        json.loads(data)
    except ValueError as exc:
        raise ConfigError(
            f"--event {source}: not JSON ({exc}); give a JSON event file", key="--event"
        ) from None
    return data


def _metadata(decoder: PreludeDecoder) -> dict[str, Any] | None:
    return decoder.metadata


async def run_invoke(
    options: InvokeOptions,
    console: Console | None = None,
    *,
    stdout: BinaryIO | None = None,
    stdin: BinaryIO | None = None,
) -> int:
    """Invoke once; the response bytes go to stdout as they arrive. 0 on success, 1 otherwise."""
    from lambda_sse.local.environment import kill_all
    from lambda_sse.local.pool import Pool, UnknownFunctionError

    console = console or Console()
    out = stdout or sys.stdout.buffer
    project = with_channels_url(
        load_with_warnings(options.directory, options.config, options.options, console)
    )
    event = _read_event(options.event, stdin or sys.stdin.buffer)
    # With --log-tail the log is printed once at the end, as the Invoke API returns it.
    tap = LogTap(_warnings_only(console) if options.log_tail else console.record)
    pool = Pool(project, limits=options.limits, sink=tap)
    request_id = str(uuid.uuid4())
    try:
        if options.invocation_type != "RequestResponse":
            return await _invoke_async(options, pool, tap, console, event, request_id)
        try:
            inv = await pool.invoke(options.function, event, request_id=request_id)
        except UnknownFunctionError as exc:
            raise ConfigError(str(exc), key="FUNCTION") from None
        except ThrottledError as exc:
            console.warning(f"throttled: {exc}")
            return 1
        head = await inv.head()
        decoder = PreludeDecoder() if head and head.content_type == PRELUDE_CONTENT_TYPE else None
        async for chunk in inv.body():
            if decoder is not None and decoder.metadata is None:
                # The HTTP prelude goes to the log; stdout gets the body, byte for byte.
                chunk = decoder.feed(chunk)
                metadata = _metadata(decoder)
                if metadata is not None:
                    console.line(console.paint(f"prelude: {json.dumps(metadata)}", "dim"))
            if chunk:
                out.write(chunk)
                out.flush()
        outcome = await inv.outcome()
        _print_tail(console, tap, request_id, options.log_tail)
        if outcome.status != "success" or outcome.trailer_error:
            detail = (outcome.error_body or b"").decode("utf-8", "replace")
            console.warning(
                f"invocation ended with {outcome.error_type or outcome.status} {detail}".rstrip()
            )
            return 1
        return 0
    finally:
        await pool.close()
        kill_all()


def _warnings_only(console: Console) -> Callable[[LogRecord], None]:
    def sink(record: LogRecord) -> None:
        if record.kind == "warning":
            console.record(record)

    return sink


def _print_tail(console: Console, tap: LogTap, request_id: str, wanted: bool) -> None:
    if wanted:
        text = base64.b64decode(tap.take(request_id)).decode("utf-8", "replace")
        console.line(console.paint("log tail (the last 4 KB, as LogType Tail returns it):", "dim"))
        console.line(text.rstrip("\n"))


async def _invoke_async(
    options: InvokeOptions,
    pool: Pool,
    tap: LogTap,
    console: Console,
    event: bytes,
    request_id: str,
) -> int:
    """``--type Event``: accepted, then run with AWS's retries until it ends; ``--type
    DryRun``: only checks that the function exists."""
    from lambda_sse.local.pool import UnknownFunctionError

    if options.invocation_type not in ("Event", "DryRun"):
        raise ConfigError(
            f"--type {options.invocation_type}: use RequestResponse, Event or DryRun", key="--type"
        )
    try:
        fn = pool.function(options.function)
    except UnknownFunctionError as exc:
        raise ConfigError(str(exc), key="FUNCTION") from None
    if options.invocation_type == "DryRun":
        console.line(f"DryRun: 204, {fn.name} would be invoked (request {request_id})")
        return 0
    if len(event) > aws.ASYNC_PAYLOAD_LIMIT:
        raise ConfigError(
            f"--event: {len(event)} bytes is over the {aws.ASYNC_PAYLOAD_LIMIT}-byte limit of "
            "asynchronous invocation; send less",
            key="--event",
        )
    queue = AsyncQueue(pool, sink=tap, delay_scale=options.async_delay_scale)
    results: list[AsyncResult] = []
    queue.on_result(results.append)
    queue.submit(fn, event, request_id)
    console.line(f"Event: 202 accepted (request {request_id}); waiting for the run and retries")
    try:
        await queue.drain()
    finally:
        await queue.close()
    _print_tail(console, tap, request_id, options.log_tail)
    result = results[-1]
    line = f"Event {request_id}: {result.condition} after {result.attempts} attempt(s)"
    if result.error_type:
        line += f", last error {result.error_type}"
    console.line(line)
    return 0 if result.condition == "Success" else 1
