"""serverless.yml (Serverless Framework v4) to a :class:`ProjectConfig`.

Keys read (serverless.com/framework/docs/providers/aws/guide/serverless.yml): ``service``;
``provider.{runtime, stage, region, environment, timeout, memorySize, endpointType,
architecture}``; per function ``handler``, ``runtime``, ``timeout``, ``memorySize``,
``environment``, ``reservedConcurrency``, ``architecture``, ``url`` (``invokeMode``, ``cors``,
``authorizer``) and ``events[].http`` / ``events[].httpApi``. Framework defaults: stage ``dev``,
region ``us-east-1``, timeout 6 s, memory 1024 MB, runtime ``nodejs20.x``, endpoint ``EDGE``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from lambda_sse.local.config.common import (
    MAX_MEMORY,
    MAX_TIMEOUT,
    MIN_MEMORY,
    Context,
    async_config,
    endpoint_type,
    http_method,
    join_key,
    normalize_path,
)
from lambda_sse.local.config.runtimes import check_handler, check_runtime
from lambda_sse.local.config.variables import Resolver
from lambda_sse.local.config.yamlload import load_yaml
from lambda_sse.local.model import (
    ApiConfig,
    FunctionConfig,
    FunctionUrlConfig,
    HttpRoute,
    InvokeMode,
    ProjectConfig,
    TransferMode,
)

__all__ = ["load_serverless"]

DEFAULT_RUNTIME = "nodejs20.x"  # the Framework v4 default when provider.runtime is unset
DEFAULT_TIMEOUT = 6
DEFAULT_MEMORY = 1024

# Function keys the Framework documents (serverless.yml reference): read here, or valid on AWS and
# irrelevant locally. Anything else gets a warning, with the closest known key.
_FUNCTION_KEYS = frozenset(
    {
        "handler", "runtime", "timeout", "memorySize", "environment", "reservedConcurrency",
        "url", "events", "architecture", "image", "name", "description", "role", "layers",
        "tags", "package", "vpc", "provisionedConcurrency", "maxRetries", "onError",
        "destinations", "ephemeralStorageSize", "logRetentionInDays", "logDataProtectionPolicy",
        "tracing", "kmsKeyArn", "snapStart", "disableLogs", "condition", "dependsOn", "logs",
        "runtimeManagement", "fileSystemConfig", "iamRoleStatements", "iamRoleStatementsName",
        "iamRoleStatementsInherit", "stackTags", "versionFunction", "awsKmsKeyArn",
        "skipBuild", "build", "maximumEventAge", "maximumRetryAttempts",
    }
)  # fmt: skip


def load_serverless(
    path: Path,
    *,
    options: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ProjectConfig:
    context = Context(path)
    raw = load_yaml(path)
    if not isinstance(raw, Mapping):
        raise context.error("", "the file is not a mapping", "start it with `service: my-service`")
    resolver = Resolver(
        raw, context, options=options or {}, environ=os.environ if environ is None else environ
    )
    provider_raw = context.mapping(raw.get("provider"), "provider")
    stage = (options or {}).get("stage") or resolver.resolve(
        provider_raw.get("stage"), "provider.stage"
    )
    resolver.stage = context.string(stage or "dev", "provider.stage")
    region = (options or {}).get("region") or resolver.resolve(
        provider_raw.get("region"), "provider.region"
    )
    resolver.region = context.string(region or "us-east-1", "provider.region")

    service = resolver.resolve(raw.get("service"), "service")
    if isinstance(service, Mapping):  # the older `service: {name: ...}` form
        service = service.get("name")
    if not service:
        raise context.error("service", "missing", "add `service: my-service` at the top")
    provider = context.mapping(resolver.resolve(provider_raw, "provider"), "provider")
    name = provider.get("name", "aws")
    if name != "aws":
        raise context.error("provider.name", f"{name!r} is not AWS", "set provider.name: aws")

    custom = context.mapping(raw.get("custom"), "custom")
    local = context.mapping(
        resolver.resolve(custom.get("lambdaSse"), "custom.lambdaSse"), "custom.lambdaSse"
    )
    max_concurrency = 1
    if "maxConcurrency" in local:
        max_concurrency = context.integer(
            local["maxConcurrency"], "custom.lambdaSse.maxConcurrency", low=1, high=1600
        )

    functions_raw = raw.get("functions")
    if functions_raw is None:
        functions_raw = {}
    if not isinstance(functions_raw, Mapping):
        raise context.error(
            "functions",
            "expected a mapping of function names",
            "write `functions:\\n  name:\\n    handler: ...`",
        )
    functions = tuple(
        _function(
            context,
            str(fn_name),
            context.mapping(resolver.resolve(spec, f"functions.{fn_name}"), f"functions.{fn_name}"),
            provider,
            path.parent,
            max_concurrency,
            f"{context.string(service, 'service')}-{resolver.stage}",
        )
        for fn_name, spec in functions_raw.items()
    )
    api = ApiConfig(
        stage=resolver.stage,
        endpoint_type=endpoint_type(context, provider.get("endpointType"), "provider.endpointType"),
    )
    return ProjectConfig(
        source=path,
        service=context.string(service, "service"),
        region=resolver.region,
        api=api,
        functions=functions,
        warnings=tuple(context.warnings),
    )


def _function(
    context: Context,
    name: str,
    spec: Mapping[str, Any],
    provider: Mapping[str, Any],
    root: Path,
    max_concurrency: int,
    prefix: str,
) -> FunctionConfig:
    key = f"functions.{name}"
    context.unknown_keys(spec, key, _FUNCTION_KEYS)
    if "image" in spec:
        raise context.error(
            f"{key}.image",
            "container image functions are not run by lambda-sse dev",
            "use a zip function with `handler` and `runtime`",
        )
    if "handler" not in spec:
        raise context.error(f"{key}.handler", "missing", "add `handler: module.function`")
    runtime = check_runtime(
        context,
        context.string(
            spec.get("runtime", provider.get("runtime", DEFAULT_RUNTIME)), f"{key}.runtime"
        ),
        f"{key}.runtime",
    )
    handler = check_handler(
        context, context.string(spec["handler"], f"{key}.handler"), runtime, f"{key}.handler"
    )
    timeout = context.integer(
        spec.get("timeout", provider.get("timeout", DEFAULT_TIMEOUT)),
        f"{key}.timeout",
        low=1,
        high=MAX_TIMEOUT,
    )
    memory = context.integer(
        spec.get("memorySize", provider.get("memorySize", DEFAULT_MEMORY)),
        f"{key}.memorySize",
        low=MIN_MEMORY,
        high=MAX_MEMORY,
    )
    environment = context.environment(provider.get("environment"), "provider.environment")
    environment.update(context.environment(spec.get("environment"), f"{key}.environment"))
    reserved = None
    if spec.get("reservedConcurrency") is not None:
        reserved = context.integer(
            spec["reservedConcurrency"], f"{key}.reservedConcurrency", low=0, high=100000
        )
    architecture = context.string(
        spec.get("architecture", provider.get("architecture", "x86_64")), f"{key}.architecture"
    )
    if architecture not in ("x86_64", "arm64"):
        raise context.error(
            f"{key}.architecture", f"unknown architecture {architecture!r}", "use x86_64 or arm64"
        )
    routes: list[HttpRoute] = []
    events = spec.get("events") or []
    if not isinstance(events, list):
        raise context.error(f"{key}.events", "expected a list", "write each event as `- http: ...`")
    for index, event in enumerate(events):
        event_key = join_key(f"{key}.events", index)
        if not isinstance(event, Mapping) or len(event) != 1:
            raise context.error(
                event_key, "expected one event type per item", "write `- http: GET /path`"
            )
        ((kind, body),) = event.items()
        if kind == "http":
            routes.append(_http_route(context, body, f"{event_key}.http"))
        elif kind == "httpApi":
            routes.append(_http_api_route(context, body, f"{event_key}.httpApi"))
        else:
            context.warn(
                event_key, f"`{kind}` events are not emulated locally; only http and httpApi are"
            )
    return FunctionConfig(
        name=name,
        handler=handler,
        runtime=runtime,
        code_dir=root.resolve(),
        timeout=float(timeout),
        memory_size=memory,
        environment=environment,
        reserved_concurrency=reserved,
        max_concurrency=max_concurrency,
        url=_url(context, spec.get("url"), f"{key}.url"),
        routes=tuple(routes),
        architecture=architecture,
        # The Framework names a function `{service}-{stage}-{key}` unless `name:` is set.
        deployed_name=context.string(spec.get("name") or f"{prefix}-{name}", f"{key}.name"),
        async_config=async_config(
            context,
            spec.get("maximumRetryAttempts"),
            spec.get("maximumEventAge"),
            (f"{key}.maximumRetryAttempts", f"{key}.maximumEventAge"),
        ),
    )


def _shorthand(context: Context, text: str, key: str) -> tuple[str, str]:
    parts = text.split()
    if len(parts) != 2:
        raise context.error(
            key, f"cannot read {text!r}", "write `METHOD /path`, e.g. `GET /items/{id}`"
        )
    return http_method(context, parts[0], key), parts[1]


def _http_route(context: Context, body: Any, key: str) -> HttpRoute:
    if isinstance(body, str):
        method, path = _shorthand(context, body, key)
        return HttpRoute(method=method, path=normalize_path(path), kind="rest")
    spec = context.mapping(body, key, optional=False)
    if "path" not in spec:
        raise context.error(f"{key}.path", "missing", "add `path: /route`")
    method = http_method(context, spec.get("method", "ANY"), f"{key}.method")
    integration = str(spec.get("integration", "lambda-proxy")).lower()
    if integration not in ("lambda-proxy", "aws_proxy", "aws-proxy"):
        raise context.error(
            f"{key}.integration",
            f"the {integration!r} integration is not emulated",
            "use the default lambda-proxy integration (remove the key)",
        )
    response = context.mapping(spec.get("response"), f"{key}.response")
    mode: TransferMode = "BUFFERED"
    if "transferMode" in response:
        value = context.string(response["transferMode"], f"{key}.response.transferMode").upper()
        if value not in ("BUFFERED", "STREAM"):
            raise context.error(
                f"{key}.response.transferMode",
                f"unknown transfer mode {response['transferMode']!r}",
                "use BUFFERED or STREAM",
            )
        mode = cast(TransferMode, value)
    if spec.get("async") and mode == "STREAM":
        # API Gateway docs: transferMode STREAM works only with (non-async) proxy integrations.
        raise context.error(
            f"{key}.async",
            "an async integration cannot stream",
            "remove `async: true` or use BUFFERED",
        )
    for unenforced in ("authorizer", "cors", "private"):
        if spec.get(unenforced):
            context.warn(f"{key}.{unenforced}", "accepted but not enforced locally")
    return HttpRoute(
        method=method,
        path=normalize_path(context.string(spec["path"], f"{key}.path")),
        kind="rest",
        transfer_mode=mode,
    )


def _http_api_route(context: Context, body: Any, key: str) -> HttpRoute:
    if body == "*":
        return HttpRoute(method="ANY", path="/{proxy+}", kind="http_api")
    if isinstance(body, str):
        method, path = _shorthand(context, body, key)
    else:
        spec = context.mapping(body, key, optional=False)
        method = http_method(context, spec.get("method", "ANY"), f"{key}.method")
        path = context.string(spec.get("path", "/{proxy+}"), f"{key}.path")
        if spec.get("authorizer"):
            context.warn(f"{key}.authorizer", "accepted but not enforced locally")
    if path == "*":
        path = "/{proxy+}"
    return HttpRoute(method=method, path=normalize_path(path), kind="http_api")


def _url(context: Context, value: Any, key: str) -> FunctionUrlConfig | None:
    if value is None or value is False:
        return None
    if value is True:
        return FunctionUrlConfig()
    spec = context.mapping(value, key, optional=False)
    mode = context.string(spec.get("invokeMode", "BUFFERED"), f"{key}.invokeMode").upper()
    if mode not in ("BUFFERED", "RESPONSE_STREAM"):
        raise context.error(
            f"{key}.invokeMode",
            f"unknown invoke mode {spec['invokeMode']!r}",
            "use BUFFERED or RESPONSE_STREAM",
        )
    auth = "NONE"
    if spec.get("authorizer"):
        auth = context.string(spec["authorizer"], f"{key}.authorizer").upper()
        if auth != "AWS_IAM":
            raise context.error(
                f"{key}.authorizer",
                f"unknown authorizer {spec['authorizer']!r}",
                "use aws_iam or remove it",
            )
        context.warn(f"{key}.authorizer", "AWS_IAM is accepted but not enforced locally")
    cors = spec.get("cors")
    if cors:
        context.warn(f"{key}.cors", "Function URL CORS is accepted but not enforced locally")
    return FunctionUrlConfig(
        invoke_mode=cast(InvokeMode, mode),
        auth_type=auth,
        cors=cors if isinstance(cors, Mapping) else ({} if cors else None),
    )
