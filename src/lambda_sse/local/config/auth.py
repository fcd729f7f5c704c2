"""Who-may-call settings of serverless.yml and template.yaml: Function URL CORS, API keys and
Lambda authorizers, read into the model's ``CorsConfig``, ``ApiKey`` and ``AuthorizerConfig``.

serverless.yml (https://www.serverless.com/framework/docs/providers/aws/guide/functions,
https://www.serverless.com/framework/docs/providers/aws/events/apigateway): ``url.cors: true``
(origin ``*``, methods ``*``, the Framework's five headers) or a mapping whose unset keys take
those defaults and whose ``null`` keys are left out; ``provider.apiGateway.apiKeys``;
``http.private``; ``http.authorizer`` (a function name, an ARN, or a mapping).
SAM (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-functionurlconfig.html,
sam-property-api-apiauth.html, sam-property-api-lambdatokenauthorizer.html,
sam-property-api-lambdarequestauthorizer.html): ``FunctionUrlConfig.Cors``; ``Auth`` on the API
(``Authorizers``, ``DefaultAuthorizer``, ``ApiKeyRequired``, ``UsagePlan``) and on the event
(``Authorizer``, ``ApiKeyRequired``); ``AWS::ApiGateway::ApiKey`` resources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from lambda_sse.aws import (
    AUTHORIZER_DEFAULT_IDENTITY,
    AUTHORIZER_DEFAULT_TTL,
    AUTHORIZER_MAX_TTL,
    CORS_MAX_AGE_LIMIT,
    CORS_METHODS,
    SERVERLESS_CORS_HEADERS,
)
from lambda_sse.local.auth.apikeys import generate_value
from lambda_sse.local.config.common import Context, join_key
from lambda_sse.local.model import ApiKey, AuthorizerConfig, CorsConfig

__all__ = [
    "function_from_arn",
    "sam_api_keys",
    "sam_authorizers",
    "sam_cors",
    "serverless_api_keys",
    "serverless_authorizer",
    "serverless_cors",
]

_ARN_FUNCTION = re.compile(r"arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:/]+)")


def _string_list(context: Context, value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if not isinstance(value, list):
        raise context.error(key, "expected a list of strings", "write `[a, b]`")
    return tuple(context.string(item, join_key(key, i)) for i, item in enumerate(value))


def _methods(context: Context, value: tuple[str, ...], key: str) -> tuple[str, ...]:
    methods = tuple(m.upper() for m in value)
    for method in methods:
        if method not in CORS_METHODS:
            raise context.error(
                key, f"unknown method {method!r}", f"use {', '.join(sorted(CORS_METHODS))}"
            )
    if len(methods) > 6:
        raise context.error(key, "more than 6 methods", "list at most 6, or use *")
    return methods


def _max_age(context: Context, value: Any, key: str) -> int | None:
    if value is None:
        return None
    return context.integer(value, key, low=0, high=CORS_MAX_AGE_LIMIT)


def serverless_cors(context: Context, value: Any, key: str) -> CorsConfig | None:
    if value is None or value is False:
        return None
    defaults: dict[str, Any] = {
        "allowedOrigins": ["*"],
        "allowedHeaders": list(SERVERLESS_CORS_HEADERS),
        "allowedMethods": ["*"],
    }
    if value is True:
        spec: Mapping[str, Any] = defaults
    else:
        given = context.mapping(value, key, optional=False)
        context.unknown_keys(
            given,
            key,
            frozenset(
                {
                    "allowedOrigins",
                    "allowedHeaders",
                    "allowedMethods",
                    "allowCredentials",
                    "exposedResponseHeaders",
                    "maxAge",
                }
            ),
        )
        spec = {**defaults, **given}

    def listed(name: str) -> tuple[str, ...]:
        item = spec.get(name)
        return () if item is None else _string_list(context, item, f"{key}.{name}")

    return CorsConfig(
        allow_origins=listed("allowedOrigins"),
        allow_methods=_methods(context, listed("allowedMethods"), f"{key}.allowedMethods"),
        allow_headers=listed("allowedHeaders"),
        expose_headers=listed("exposedResponseHeaders"),
        max_age=_max_age(context, spec.get("maxAge"), f"{key}.maxAge"),
        allow_credentials=bool(spec.get("allowCredentials", False)),
    )


def sam_cors(context: Context, value: Any, key: str) -> CorsConfig | None:
    if value is None:
        return None
    spec = context.mapping(value, key, optional=False)
    context.unknown_keys(
        spec,
        key,
        frozenset(
            {
                "AllowOrigins",
                "AllowMethods",
                "AllowHeaders",
                "ExposeHeaders",
                "MaxAge",
                "AllowCredentials",
            }
        ),
    )

    def listed(name: str) -> tuple[str, ...]:
        item = spec.get(name)
        return () if item is None else _string_list(context, item, f"{key}.{name}")

    return CorsConfig(
        allow_origins=listed("AllowOrigins"),
        allow_methods=_methods(context, listed("AllowMethods"), f"{key}.AllowMethods"),
        allow_headers=listed("AllowHeaders"),
        expose_headers=listed("ExposeHeaders"),
        max_age=_max_age(context, spec.get("MaxAge"), f"{key}.MaxAge"),
        allow_credentials=bool(spec.get("AllowCredentials", False)),
    )


def _key(name: str, value: Any, enabled: bool, context: Context, key: str) -> ApiKey:
    if value is None:
        return ApiKey(name=name, value=generate_value(), enabled=enabled, generated=True)
    text = context.string(value, key)
    if len(text) < 20:
        raise context.error(key, "an API key value needs at least 20 characters", "lengthen it")
    return ApiKey(name=name, value=text, enabled=enabled)


def serverless_api_keys(context: Context, value: Any, key: str) -> tuple[ApiKey, ...]:
    """``provider.apiGateway.apiKeys``: names, ``{name, value, enabled, ...}`` items, or usage
    plan groups ``{planName: [keys...]}``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise context.error(key, "expected a list", "write `apiKeys: [myKey]`")
    keys: list[ApiKey] = []

    def one(item: Any, item_key: str) -> None:
        if isinstance(item, str):
            keys.append(_key(item, None, True, context, item_key))
            return
        spec = context.mapping(item, item_key, optional=False)
        if "name" not in spec and len(spec) == 1:  # a usage plan's group of keys
            ((plan, group),) = spec.items()
            if not isinstance(group, list):
                raise context.error(
                    join_key(item_key, str(plan)), "expected a list of keys", "list the keys"
                )
            for index, member in enumerate(group):
                one(member, join_key(join_key(item_key, str(plan)), index))
            return
        if "name" not in spec:
            raise context.error(f"{item_key}.name", "missing", "give the key a name")
        name = context.string(spec["name"], f"{item_key}.name")
        enabled = spec.get("enabled", True) is not False
        keys.append(_key(name, spec.get("value"), enabled, context, f"{item_key}.value"))

    for index, item in enumerate(value):
        one(item, join_key(key, index))
    return tuple(keys)


def function_from_arn(value: str, functions: Iterable[str], prefix: str = "") -> str | None:
    """The project function an authorizer reference names: a function key, ``Key.Arn`` (SAM's
    unresolved ``!GetAtt``), or a Lambda ARN whose name is the key or ``{prefix}{key}``."""
    names = set(functions)
    if value in names:
        return value
    if value.endswith(".Arn") and value[: -len(".Arn")] in names:
        return value[: -len(".Arn")]
    match = _ARN_FUNCTION.search(value)
    if match is not None:
        name = match.group(1)
        if name in names:
            return name
        if prefix and name.startswith(prefix) and name[len(prefix) :] in names:
            return name[len(prefix) :]
    return None


def _ttl(context: Context, value: Any, key: str) -> int:
    if value is None:
        return AUTHORIZER_DEFAULT_TTL
    return context.integer(value, key, low=0, high=AUTHORIZER_MAX_TTL)


def _validation(context: Context, value: Any, key: str) -> str | None:
    if value is None:
        return None
    text = context.string(value, key)
    try:
        re.compile(text)
    except re.error as exc:
        raise context.error(key, f"not a regular expression ({exc})", "fix the pattern") from None
    return text


def serverless_authorizer(
    context: Context, value: Any, key: str, functions: Iterable[str], prefix: str
) -> AuthorizerConfig | None:
    """``http.authorizer``; None (with a warning) for kinds the emulator does not run."""
    if value is None or value is False:
        return None
    if isinstance(value, str):
        if value.lower() == "aws_iam":
            context.warn(key, "aws_iam authorizers are not enforced locally")
            return None
        spec: Mapping[str, Any] = {"name": value} if ":" not in value else {"arn": value}
    else:
        spec = context.mapping(value, key, optional=False)
    kind = str(spec.get("type", "token")).upper()
    if kind in ("AWS_IAM", "COGNITO_USER_POOLS") or "authorizerId" in spec:
        context.warn(key, f"{kind.lower()} authorizers are not enforced locally")
        return None
    if kind not in ("TOKEN", "REQUEST"):
        raise context.error(f"{key}.type", f"unknown type {kind!r}", "use token or request")
    reference = spec.get("arn") or spec.get("name")
    if reference is None:
        raise context.error(key, "no name or arn", "name the authorizer's function")
    reference = context.string(reference, key)
    function = function_from_arn(reference, functions, prefix)
    if function is None and "name" in spec and "arn" in spec:
        function = function_from_arn(context.string(spec["name"], key), functions, prefix)
    if function is None:
        context.warn(
            key,
            f"authorizer {reference!r} is not a function of this project, so it cannot run "
            "locally; the route is served without it",
        )
        return None
    ttl = _ttl(context, spec.get("resultTtlInSeconds"), f"{key}.resultTtlInSeconds")
    sources_raw = spec.get("identitySource")
    if sources_raw is None:
        sources: tuple[str, ...] = (
            () if kind == "REQUEST" and ttl == 0 else (AUTHORIZER_DEFAULT_IDENTITY,)
        )
    else:
        sources = _string_list(context, sources_raw, f"{key}.identitySource")
    if kind == "TOKEN" and len(sources) != 1:
        raise context.error(
            f"{key}.identitySource", "a token authorizer reads one header", "name one header"
        )
    if kind == "REQUEST" and ttl > 0 and not sources:
        raise context.error(
            f"{key}.identitySource",
            "caching a request authorizer needs identity sources",
            "list them, or set resultTtlInSeconds: 0",
        )
    return AuthorizerConfig(
        name=context.string(spec.get("name", function), key),
        function=function,
        type=_kind(kind),
        identity_sources=sources,
        ttl=ttl,
        validation=_validation(
            context, spec.get("identityValidationExpression"), f"{key}.identityValidationExpression"
        ),
    )


def _kind(kind: str) -> Literal["TOKEN", "REQUEST"]:
    return "REQUEST" if kind == "REQUEST" else "TOKEN"


def sam_authorizers(
    context: Context, auth: Mapping[str, Any], key: str, functions: Iterable[str]
) -> dict[str, AuthorizerConfig | None]:
    """An API's ``Auth.Authorizers`` by name; None for kinds not run locally (Cognito)."""
    result: dict[str, AuthorizerConfig | None] = {}
    names = list(functions)
    authorizers = context.mapping(auth.get("Authorizers"), f"{key}.Authorizers")
    for name, spec_raw in authorizers.items():
        item_key = f"{key}.Authorizers.{name}"
        spec = context.mapping(spec_raw, item_key, optional=False)
        if "UserPoolArn" in spec:
            context.warn(item_key, "Cognito authorizers are not enforced locally")
            result[str(name)] = None
            continue
        if "FunctionArn" not in spec:
            raise context.error(f"{item_key}.FunctionArn", "missing", "add `!GetAtt Fn.Arn`")
        reference = context.string(spec["FunctionArn"], f"{item_key}.FunctionArn")
        function = function_from_arn(reference, names)
        if function is None:
            context.warn(
                item_key,
                f"{reference!r} is not a function of this template, so it cannot run locally; "
                "its routes are served without it",
            )
            result[str(name)] = None
            continue
        kind = context.string(spec.get("FunctionPayloadType", "TOKEN"), item_key).upper()
        if kind not in ("TOKEN", "REQUEST"):
            raise context.error(
                f"{item_key}.FunctionPayloadType", f"unknown {kind!r}", "use TOKEN or REQUEST"
            )
        identity = context.mapping(spec.get("Identity"), f"{item_key}.Identity")
        ttl = _ttl(context, identity.get("ReauthorizeEvery"), f"{item_key}.Identity")
        if kind == "TOKEN":
            header = context.string(identity.get("Header", "Authorization"), item_key)
            sources: tuple[str, ...] = (f"method.request.header.{header}",)
        else:
            sources = ()
            for field, prefix in (
                ("Headers", "method.request.header."),
                ("QueryStrings", "method.request.querystring."),
                ("StageVariables", "stageVariables."),
                ("Context", "context."),
            ):
                if field in identity:
                    listed = _string_list(context, identity[field], f"{item_key}.Identity.{field}")
                    sources += tuple(prefix + item for item in listed)
            if ttl > 0 and not sources:
                raise context.error(
                    f"{item_key}.Identity",
                    "caching a REQUEST authorizer needs identity sources",
                    "list Headers or QueryStrings, or set ReauthorizeEvery: 0",
                )
        result[str(name)] = AuthorizerConfig(
            name=str(name),
            function=function,
            type=_kind(kind),
            identity_sources=sources,
            ttl=ttl,
            validation=_validation(
                context,
                identity.get("ValidationExpression"),
                f"{item_key}.Identity.ValidationExpression",
            ),
        )
    return result


def sam_api_keys(
    context: Context, resources: Mapping[str, Any], usage_plans: bool
) -> tuple[ApiKey, ...]:
    """``AWS::ApiGateway::ApiKey`` resources (CloudFormation's ``Enabled`` defaults to false),
    plus the key SAM creates with a usage plan (``CreateUsagePlan: PER_API|SHARED``)."""
    keys: list[ApiKey] = []
    for logical, resource in resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::ApiGateway::ApiKey":
            continue
        key = f"Resources.{logical}.Properties"
        props = context.mapping(resource.get("Properties"), key)
        name = context.string(props.get("Name", logical), f"{key}.Name")
        enabled = props.get("Enabled") is True or str(props.get("Enabled")).lower() == "true"
        if not enabled:
            context.warn(f"{key}.Enabled", "not true: the key is disabled, as on AWS")
        keys.append(_key(name, props.get("Value"), enabled, context, f"{key}.Value"))
    if usage_plans:
        keys.append(_key("ServerlessRestApiApiKey", None, True, context, "UsagePlan"))
    return tuple(keys)
