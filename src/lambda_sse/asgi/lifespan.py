"""ASGI lifespan, once per execution environment (ASGI spec, "Lifespan Protocol").

Startup runs at the first invocation, on the event loop that lives as long as the environment,
and the lifespan task stays parked there; shutdown runs through ``lambda_sse.runtime``'s
``on_shutdown`` when Lambda (or the emulator) sends SIGTERM. Mangum, by contrast, runs both on
every invocation (https://github.com/Kludex/mangum/issues/342).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Literal

from lambda_sse.asgi.types import ASGIApp, Message
from lambda_sse.errors import LifespanError, OptionError

__all__ = ["Lifespan", "LifespanError", "LifespanMode"]

log = logging.getLogger("lambda_sse.asgi")

# "auto": run it when the app supports it (an app that raises on a lifespan scope does not);
# "on": the app must support it; "off": never send lifespan events.
LifespanMode = Literal["auto", "on", "off"]


class Lifespan:
    def __init__(
        self,
        app: ASGIApp,
        mode: LifespanMode = "auto",
        *,
        shutdown_timeout: float = 1.5,
        register: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        if mode not in ("auto", "on", "off"):
            raise OptionError(f"lifespan must be 'auto', 'on' or 'off', not {mode!r}")
        self._app = app
        self._mode = mode
        self._shutdown_timeout = shutdown_timeout
        self._register = register
        self.state: dict[str, Any] = {}
        self._started: asyncio.Future[None] | None = None
        self._inbox: asyncio.Queue[Message] | None = None
        self._outbox: asyncio.Queue[Message] | None = None
        self._task: asyncio.Task[None] | None = None
        self.supported = mode != "off"

    async def startup(self) -> None:
        """Run startup once; every later call returns at once (or raises the same failure)."""
        if self._mode == "off":
            return
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                await self._startup()
            except BaseException as exc:
                self._started.set_exception(exc)
                raise
            self._started.set_result(None)
        await asyncio.shield(self._started)

    async def _startup(self) -> None:
        self._inbox = asyncio.Queue()
        self._outbox = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._main(), name="asgi-lifespan")
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._next_reply()
        if reply is None:  # the app does not do lifespan
            return
        if reply.get("type") == "lifespan.startup.failed":
            raise LifespanError(f"ASGI lifespan startup failed: {reply.get('message', '')}")
        if reply.get("type") != "lifespan.startup.complete":
            raise LifespanError(f"ASGI lifespan: unexpected {reply.get('type')!r} at startup")
        if self._register is not None:
            self._register(self.shutdown)

    async def _next_reply(self) -> Message | None:
        assert self._outbox is not None
        assert self._task is not None
        getter = asyncio.ensure_future(self._outbox.get())
        done, _ = await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        return None

    async def _main(self) -> None:
        assert self._inbox is not None
        assert self._outbox is not None
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "state": self.state,
        }
        try:
            await self._app(scope, self._inbox.get, self._outbox.put)
        except Exception as exc:
            if self._mode == "on" or (self._started is not None and self._started.done()):
                log.exception("ASGI lifespan failed")
                await self._outbox.put({"type": "lifespan.startup.failed", "message": str(exc)})
            else:
                log.info("ASGI app does not support lifespan (%s); going on without", exc)
                self.supported = False

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait (bounded) for the app's answer."""
        if self._task is None or self._task.done() or self._inbox is None:
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            reply = await asyncio.wait_for(self._next_reply(), self._shutdown_timeout)
        except TimeoutError:
            log.warning(
                "ASGI lifespan shutdown took over %.1f s; giving up", self._shutdown_timeout
            )
            self._task.cancel()
            return
        if reply is not None and reply.get("type") == "lifespan.shutdown.failed":
            log.error("ASGI lifespan shutdown failed: %s", reply.get("message", ""))
