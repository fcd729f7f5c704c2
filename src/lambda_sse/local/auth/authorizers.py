"""REST API Lambda authorizers, sans-IO: identity, events, output, policy and the result cache.

AWS's rules (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html,
https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors):

- the identity (a TOKEN authorizer's header, a REQUEST authorizer's sources) missing, or a token
  failing ``identityValidationExpression``: 401 ``{"message":"Unauthorized"}``, the authorizer
  is not called;
- the authorizer failing with exactly ``Unauthorized``: 401; any other failure or an output
  that is not ``{principalId, policyDocument, context?}`` (context values string, number or
  boolean): 500 ``{"message": null}`` (``AuthorizerConfigurationException``);
- the policy is evaluated against the method ARN
  ``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/{path}``: an explicit Deny
  wins (403 "... with an explicit deny"), else an Allow must match (else 403 "User is not
  authorized to access this resource"); ``*`` and ``?`` are wildcards in actions and resources;
- results are cached per identity source value for ``resultTtlInSeconds`` (0: no caching), and a
  cached policy is evaluated again for each method it is used for;
- the function's event gets ``requestContext.authorizer`` = ``principalId``, the ``context``
  values as strings, and ``integrationLatency``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from lambda_sse.aws import EXPLICIT_DENY_MESSAGE, NOT_AUTHORIZED_MESSAGE, UNAUTHORIZED_MESSAGE
from lambda_sse.errors import AuthorizerOutputError
from lambda_sse.local.frontdoor.replies import Reply, apigw_error
from lambda_sse.local.frontdoor.request import Request
from lambda_sse.local.model import AuthorizerConfig

__all__ = [
    "AuthorizerCache",
    "AuthorizerOutputError",
    "AuthorizerResult",
    "Statement",
    "config_error",
    "decide",
    "event_context",
    "explicit_deny",
    "identity_values",
    "method_arn",
    "not_authorized",
    "parse_output",
    "request_event",
    "token_event",
    "unauthorized",
]

Decision = Literal["allow", "deny", "none"]


def unauthorized() -> Reply:
    return apigw_error(401, UNAUTHORIZED_MESSAGE, error_type="UnauthorizedException")


def not_authorized() -> Reply:
    return apigw_error(403, NOT_AUTHORIZED_MESSAGE, error_type="AccessDeniedException")


def explicit_deny() -> Reply:
    return apigw_error(403, EXPLICIT_DENY_MESSAGE, error_type="AccessDeniedException")


def config_error() -> Reply:
    return apigw_error(500, None, error_type="AuthorizerConfigurationException")


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def identity_values(
    config: AuthorizerConfig,
    request: Request,
    *,
    query: Mapping[str, str],
    stage_variables: Mapping[str, str],
    context: Mapping[str, Any],
) -> tuple[str, ...] | None:
    """The identity source values in order; None when one is missing or empty, or a token fails
    the validation expression (401 without calling the authorizer)."""
    values: list[str] = []
    for source in config.identity_sources:
        value: Any = None
        if source.startswith("method.request.header."):
            value = request.header(source.removeprefix("method.request.header."))
        elif source.startswith("method.request.querystring."):
            value = query.get(source.removeprefix("method.request.querystring."))
        elif source.startswith("stageVariables."):
            value = stage_variables.get(source.removeprefix("stageVariables."))
        elif source.startswith("context."):
            value = context.get(source.removeprefix("context."))
        if value is None or value == "":
            return None
        values.append(str(value))
    if (
        config.type == "TOKEN"
        and config.validation is not None
        and (not values or re.fullmatch(config.validation, values[0]) is None)
    ):
        return None
    return tuple(values)


def token_event(token: str, arn: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}


_REQUEST_KEYS = (
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
)


def request_event(proxy_event: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """A REQUEST authorizer's event: the proxy event's request fields, without the body."""
    event: dict[str, Any] = {"type": "REQUEST", "methodArn": arn}
    event.update({key: proxy_event.get(key) for key in _REQUEST_KEYS})
    return event


@dataclass(frozen=True)
class Statement:
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class AuthorizerResult:
    principal_id: str
    statements: tuple[Statement, ...]
    context: Mapping[str, str | int | float | bool]
    usage_identifier_key: str | None = None


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise AuthorizerOutputError(f"{what} must be a string or a list of strings")


def parse_output(payload: bytes) -> AuthorizerResult:
    try:
        output = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise AuthorizerOutputError("the authorizer's output is not JSON") from None
    if not isinstance(output, Mapping):
        raise AuthorizerOutputError("the authorizer's output must be a JSON object")
    principal = output.get("principalId")
    if not isinstance(principal, str | int | float) or isinstance(principal, bool):
        raise AuthorizerOutputError("principalId is missing or not a string")
    policy = output.get("policyDocument")
    if not isinstance(policy, Mapping):
        raise AuthorizerOutputError("policyDocument is missing or not an object")
    raw = policy.get("Statement")
    raw_statements = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(raw_statements, list):
        raise AuthorizerOutputError("policyDocument.Statement must be a list of statements")
    statements: list[Statement] = []
    for item in raw_statements:
        if not isinstance(item, Mapping) or item.get("Effect") not in ("Allow", "Deny"):
            raise AuthorizerOutputError("each Statement needs Effect Allow or Deny")
        statements.append(
            Statement(
                effect=item["Effect"],
                actions=_strings(item.get("Action"), "Statement.Action"),
                resources=_strings(item.get("Resource"), "Statement.Resource"),
            )
        )
    context = output.get("context") or {}
    if not isinstance(context, Mapping):
        raise AuthorizerOutputError("context must be an object")
    for key, value in context.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            # "You can't set a JSON object or array as a valid value of any key in the context
            # map" (api-gateway-lambda-authorizer-output.html).
            raise AuthorizerOutputError(f"context[{key!r}] must be a string, number or boolean")
    usage = output.get("usageIdentifierKey")
    return AuthorizerResult(
        principal_id=str(principal),
        statements=tuple(statements),
        context={k: v for k, v in context.items() if v is not None},
        usage_identifier_key=usage if isinstance(usage, str) else None,
    )


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(patterns: Sequence[str], value: str, *, ignore_case: bool = False) -> bool:
    return any(_wildcard(p, ignore_case=ignore_case).fullmatch(value) for p in patterns)


def decide(result: AuthorizerResult, arn: str) -> Decision:
    """Deny if a Deny statement matches, else allow if an Allow statement does, else none."""
    decision: Decision = "none"
    for statement in result.statements:
        if not _matches(statement.actions, "execute-api:Invoke", ignore_case=True):
            continue
        if not _matches(statement.resources, arn):
            continue
        if statement.effect == "Deny":
            return "deny"
        decision = "allow"
    return decision


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def event_context(result: AuthorizerResult, latency_ms: int) -> dict[str, Any]:
    """The proxy event's ``requestContext.authorizer``."""
    context: dict[str, Any] = {k: _text(v) for k, v in result.context.items()}
    context["principalId"] = result.principal_id
    context["integrationLatency"] = latency_ms
    return context


class AuthorizerCache:
    """Results per (authorizer, identity values) for the authorizer's TTL, on an injected clock."""

    def __init__(self, clock: Callable[[], float], max_entries: int = 10_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: dict[tuple[str, tuple[str, ...]], tuple[float, AuthorizerResult]] = {}

    def get(self, name: str, identity: tuple[str, ...]) -> AuthorizerResult | None:
        key = (name, identity)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def put(
        self, name: str, identity: tuple[str, ...], result: AuthorizerResult, ttl: float
    ) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= self._max:
            now = self._clock()
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
        self._entries[(name, identity)] = (self._clock() + ttl, result)
