"""The REST API's gate, the async shell over ``authorizers`` and ``apikeys``.

As API Gateway orders it: the Lambda authorizer runs first (its identity, cache, invocation,
policy), then the API key is checked; only then is the integration invoked. The authorizer runs
in the emulator like any other function (same pool, same logs).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from lambda_sse.local.auth import apikeys, authorizers
from lambda_sse.local.frontdoor.replies import Reply
from lambda_sse.local.frontdoor.request import Request
from lambda_sse.local.model import (
    ApiKey,
    AuthorizerConfig,
    HttpRoute,
    Invoker,
    ProjectConfig,
    Throttled,
)

__all__ = ["Admitted", "RestGuard"]

_AUTHORIZER_TIMEOUT = 29.0  # the integration timeout bounds the authorizer too
_MAX_OUTPUT = 1024 * 1024


@dataclass(frozen=True)
class Admitted:
    """What the event gets from the gate."""

    api_key: ApiKey | None = None
    authorizer: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    reply: Reply
    note: str


@dataclass
class RestGuard:
    project: ProjectConfig
    invoker: Invoker
    clock: Callable[[], float] = time.monotonic
    api_id: str = "local"
    account: str = "000000000000"
    timeout: float = _AUTHORIZER_TIMEOUT
    keys: apikeys.ApiKeyTable = field(init=False)
    cache: authorizers.AuthorizerCache = field(init=False)
    calls: int = field(default=0, init=False)  # authorizer invocations (not cache hits)

    def __post_init__(self) -> None:
        self.keys = apikeys.ApiKeyTable(self.project.api.api_keys)
        self.cache = authorizers.AuthorizerCache(self.clock)

    @staticmethod
    def needed(route: HttpRoute) -> bool:
        return route.authorizer is not None or route.api_key_required

    async def admit(
        self, request: Request, route: HttpRoute, path: str, proxy_event: Mapping[str, Any]
    ) -> Admitted | Refused:
        context: dict[str, Any] | None = None
        notes: list[str] = []
        usage_key: str | None = None
        if route.authorizer is not None:
            arn = authorizers.method_arn(
                self.project.region,
                self.account,
                self.api_id,
                self.project.api.stage,
                request.method,
                path,
            )
            outcome = await self._authorize(route.authorizer, request, arn, proxy_event)
            if isinstance(outcome, Refused):
                return outcome
            context, usage_key, note = outcome
            notes.append(note)
        key = None
        if route.api_key_required:
            # apiKeySource HEADER (the default): the x-api-key header.
            key = self.keys.find(request.header("x-api-key"))
            if key is None:
                return Refused(apikeys.forbidden(), "API key missing, unknown or disabled")
        del usage_key  # apiKeySource AUTHORIZER is not emulated; the header is what counts
        return Admitted(api_key=key, authorizer=context, notes=tuple(notes))

    async def _authorize(
        self,
        config: AuthorizerConfig,
        request: Request,
        arn: str,
        proxy_event: Mapping[str, Any],
    ) -> tuple[dict[str, Any], str | None, str] | Refused:
        query = dict(parse_qsl(request.raw_query, keep_blank_values=True))
        identity = authorizers.identity_values(
            config,
            request,
            query=query,
            stage_variables=proxy_event.get("stageVariables") or {},
            context=proxy_event.get("requestContext") or {},
        )
        if identity is None and (config.type == "TOKEN" or config.identity_sources):
            return Refused(authorizers.unauthorized(), f"{config.name}: identity missing")
        cacheable = identity is not None and config.ttl > 0
        started = self.clock()
        result = self.cache.get(config.name, identity) if cacheable and identity else None
        how = "cached"
        if result is None:
            how = "called"
            if config.type == "TOKEN":
                assert identity is not None
                event = authorizers.token_event(identity[0], arn)
            else:
                event = authorizers.request_event(proxy_event, arn)
            called = await self._call(config, event)
            if isinstance(called, Refused):
                return called
            result = called
            if cacheable and identity is not None:
                self.cache.put(config.name, identity, result, config.ttl)
        decision = authorizers.decide(result, arn)
        if decision == "deny":
            return Refused(authorizers.explicit_deny(), f"{config.name} ({how}): explicit Deny")
        if decision == "none":
            return Refused(authorizers.not_authorized(), f"{config.name} ({how}): no Allow")
        latency = int((self.clock() - started) * 1000)
        context = authorizers.event_context(result, latency)
        return context, result.usage_identifier_key, f"{config.name} ({how}): Allow"

    async def _call(
        self, config: AuthorizerConfig, event: dict[str, Any]
    ) -> authorizers.AuthorizerResult | Refused:
        self.calls += 1
        payload = json.dumps(event, separators=(",", ":")).encode()
        try:
            inv = await self.invoker.invoke(config.function, payload)
        except Throttled:
            return Refused(authorizers.config_error(), f"{config.name}: authorizer throttled")
        try:
            async with asyncio.timeout(self.timeout):
                head = await inv.head()
                body = bytearray()
                if head is not None:
                    async for chunk in inv.body():
                        body += chunk
                        if len(body) > _MAX_OUTPUT:
                            break
                outcome = await inv.outcome()
        except TimeoutError:
            inv.detach()
            return Refused(authorizers.config_error(), f"{config.name}: authorizer timed out")
        if outcome.status != "success" or head is None:
            message = _error_message(outcome.error_body)
            if message == "Unauthorized":
                return Refused(authorizers.unauthorized(), f"{config.name}: Unauthorized")
            return Refused(
                authorizers.config_error(),
                f"{config.name}: authorizer failed ({outcome.error_type or outcome.status})",
            )
        try:
            return authorizers.parse_output(bytes(body))
        except authorizers.AuthorizerOutputError as exc:
            return Refused(authorizers.config_error(), f"{config.name}: {exc}")


def _error_message(body: bytes | None) -> str | None:
    try:
        document = json.loads(body or b"")
    except ValueError:
        return None
    if isinstance(document, Mapping):
        message = document.get("errorMessage")
        return message if isinstance(message, str) else None
    return None
