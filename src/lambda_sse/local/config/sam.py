"""template.yaml (AWS SAM) to a :class:`ProjectConfig`.

Reads ``AWS::Serverless::Function`` (``Runtime``, ``Handler``, ``CodeUri``, ``Timeout``,
``MemorySize``, ``Environment``, ``ReservedConcurrentExecutions``, ``Architectures``,
``FunctionUrlConfig``, ``CapacityProviderConfig``, ``Events`` of type ``Api`` and ``HttpApi``),
``AWS::Serverless::Api`` (``StageName``, ``EndpointConfiguration``, ``Auth``),
``AWS::ApiGateway::ApiKey`` and ``Globals``. SAM defaults
(docs: serverless-application-model sam-resource-function.html, sam-resource-api.html): timeout
3 s, memory 128 MB, the implicit API's stage ``Prod``, endpoint ``EDGE``. An ``Api`` event's
``ResponseTransferMode: RESPONSE_STREAM`` is SAM's spelling of API Gateway's ``STREAM``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from lambda_sse.local.config.auth import sam_api_keys
from lambda_sse.local.config.common import (
    MAX_MEMORY,
    MAX_TIMEOUT,
    MIN_MEMORY,
    Context,
    async_config,
    endpoint_type,
    warn_default_timeout,
)
from lambda_sse.local.config.intrinsics import Intrinsics
from lambda_sse.local.config.runtimes import check_handler, check_runtime
from lambda_sse.local.config.sam_events import (
    IMPLICIT_API,
    ApiAuth,
    api_auth,
    api_route,
    function_url,
    http_api_route,
)
from lambda_sse.local.config.yamlload import load_yaml
from lambda_sse.local.model import (
    ApiConfig,
    EndpointType,
    FunctionConfig,
    HttpRoute,
    ProjectConfig,
)

__all__ = ["load_sam"]

DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
IMPLICIT_STAGE = "Prod"
# AWS::Serverless::Function properties (SAM's sam-resource-function.html): read here, or valid on
# AWS and irrelevant locally. Anything else gets a warning, with the closest known property.
_FUNCTION_PROPERTIES = frozenset(
    {
        "Runtime", "Handler", "CodeUri", "Timeout", "MemorySize", "Environment",
        "ReservedConcurrentExecutions", "Architectures", "FunctionUrlConfig", "Events",
        "CapacityProviderConfig", "FunctionName", "Description", "Role", "Policies", "Layers",
        "Tags", "VpcConfig", "Tracing", "AutoPublishAlias", "AutoPublishAliasAllProperties",
        "AutoPublishCodeSha256", "DeploymentPreference", "ProvisionedConcurrencyConfig",
        "DeadLetterQueue", "EventInvokeConfig", "EphemeralStorage", "KmsKeyArn",
        "LoggingConfig", "PackageType", "ImageUri", "ImageConfig", "InlineCode",
        "PermissionsBoundary", "SnapStart", "RuntimeManagementConfig",
        "AssumeRolePolicyDocument", "CodeSigningConfigArn", "FileSystemConfigs",
        "RecursiveLoop", "SourceKMSKeyArn", "PropagateTags", "FunctionScalingConfig",
        "PublishToLatestPublished", "TenancyConfig", "VersionDeletionPolicy", "VersionDescription",
    }
)  # fmt: skip


def load_sam(
    path: Path, *, region: str = "us-east-1", overrides: Mapping[str, str] | None = None
) -> ProjectConfig:
    context = Context(path)
    template = load_yaml(path)
    if not isinstance(template, Mapping):
        raise context.error("", "the file is not a mapping", "start it with `Resources:`")
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if "AWS::Serverless-2016-10-31" not in transforms:
        context.warn(
            "Transform", "not AWS::Serverless-2016-10-31; reading it as a SAM template anyway"
        )
    stack = path.parent.resolve().name or "local"
    intrinsics = Intrinsics(
        template, context, region=region, stack_name=stack, overrides=overrides or {}
    )
    resources = context.mapping(template.get("Resources"), "Resources")
    globals_ = context.mapping(template.get("Globals"), "Globals")
    global_function = context.mapping(
        intrinsics.resolve(globals_.get("Function"), "Globals.Function", soft=True),
        "Globals.Function",
    )
    global_api_raw = dict(context.mapping(globals_.get("Api"), "Globals.Api"))
    # Auth may hold !GetAtt Function.Arn (an authorizer's function): resolved softly.
    global_auth = context.mapping(
        intrinsics.resolve(global_api_raw.pop("Auth", None), "Globals.Api.Auth", soft=True),
        "Globals.Api.Auth",
    )
    global_api = context.mapping(intrinsics.resolve(global_api_raw, "Globals.Api"), "Globals.Api")
    function_names = [
        str(logical)
        for logical, resource in resources.items()
        if isinstance(resource, Mapping) and resource.get("Type") == "AWS::Serverless::Function"
    ]

    apis: dict[str, ApiConfig] = {}
    auths: dict[str, ApiAuth] = {
        IMPLICIT_API: api_auth(context, global_auth, "Globals.Api.Auth", function_names)
    }
    for logical, resource in resources.items():
        if isinstance(resource, Mapping) and resource.get("Type") == "AWS::Serverless::Api":
            key = f"Resources.{logical}.Properties"
            raw_props = dict(context.mapping(resource.get("Properties"), key))
            own_auth = context.mapping(
                intrinsics.resolve(raw_props.pop("Auth", None), f"{key}.Auth", soft=True),
                f"{key}.Auth",
            )
            auths[str(logical)] = api_auth(
                context, {**global_auth, **own_auth}, f"{key}.Auth", function_names
            )
            props = {
                **global_api,
                **context.mapping(intrinsics.resolve(raw_props, key), key),
            }
            if "StageName" not in props:
                raise context.error(
                    f"{key}.StageName", "missing", "add `StageName: Prod` (SAM requires it)"
                )
            apis[str(logical)] = ApiConfig(
                stage=context.string(props["StageName"], f"{key}.StageName"),
                endpoint_type=_endpoint_type(
                    context, props.get("EndpointConfiguration"), f"{key}.EndpointConfiguration"
                ),
            )

    functions: list[FunctionConfig] = []
    used_apis: set[str] = set()
    for logical, resource in resources.items():
        if not isinstance(resource, Mapping):
            raise context.error(
                f"Resources.{logical}", "expected a mapping", "give it a Type and Properties"
            )
        kind = resource.get("Type")
        if kind == "AWS::Lambda::Function":
            context.warn(
                f"Resources.{logical}",
                "plain AWS::Lambda::Function is not run; use AWS::Serverless::Function",
            )
        if kind != "AWS::Serverless::Function":
            continue
        key = f"Resources.{logical}.Properties"
        own = context.mapping(intrinsics.resolve(resource.get("Properties"), key, soft=True), key)
        functions.append(
            _function(
                context,
                str(logical),
                _merge(global_function, own),
                key,
                path.parent,
                apis,
                used_apis,
                auths,
            )
        )
    if len(used_apis) > 1:
        raise context.error(
            "Resources",
            f"functions use {len(used_apis)} REST APIs ({', '.join(sorted(used_apis))}); "
            "lambda-sse dev serves one",
            "point every Api event at the same RestApiId",
        )
    api_id = next(iter(used_apis), None)
    if api_id is None and len(apis) == 1:
        api_id = next(iter(apis))
    chosen_auth = auths.get(api_id or IMPLICIT_API)
    api_keys = sam_api_keys(context, resources, chosen_auth is not None and chosen_auth.usage_plan)
    if not api_keys and any(r.api_key_required for fn in functions for r in fn.routes):
        context.warn(
            "Resources",
            "methods need API keys but there is no AWS::ApiGateway::ApiKey nor "
            "Auth.UsagePlan: every call gets 403, as on AWS",
        )
    if api_id is None or api_id == IMPLICIT_API:
        api = ApiConfig(
            stage=IMPLICIT_STAGE,
            endpoint_type=_endpoint_type(
                context,
                global_api.get("EndpointConfiguration"),
                "Globals.Api.EndpointConfiguration",
            ),
            api_keys=api_keys,
        )
    else:
        api = replace(apis[api_id], api_keys=api_keys)
    return ProjectConfig(
        source=path,
        service=stack,
        region=region,
        api=api,
        functions=tuple(functions),
        warnings=tuple(context.warnings),
    )


def _merge(base: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """Globals merge as SAM documents: own values win; Environment.Variables merge by name."""
    merged = {**base, **own}
    base_env = base.get("Environment")
    own_env = own.get("Environment")
    if isinstance(base_env, Mapping) and isinstance(own_env, Mapping):
        variables = {**(base_env.get("Variables") or {}), **(own_env.get("Variables") or {})}
        merged["Environment"] = {**base_env, **own_env, "Variables": variables}
    return merged


def _endpoint_type(context: Context, value: Any, key: str) -> EndpointType:
    # SAM's EndpointConfiguration is a string or {"Type": ...}.
    if isinstance(value, Mapping):
        return endpoint_type(context, value.get("Type", "EDGE"), f"{key}.Type")
    return endpoint_type(context, value, key)


def _function(
    context: Context,
    name: str,
    props: Mapping[str, Any],
    key: str,
    root: Path,
    apis: Mapping[str, ApiConfig],
    used_apis: set[str],
    auths: Mapping[str, ApiAuth],
) -> FunctionConfig:
    context.unknown_keys(props, key, _FUNCTION_PROPERTIES)
    if props.get("PackageType") == "Image" or "ImageUri" in props:
        raise context.error(
            f"{key}.PackageType",
            "container image functions are not run by lambda-sse dev",
            "use a zip function with Runtime and Handler",
        )
    if "InlineCode" in props:
        raise context.error(
            f"{key}.InlineCode",
            "inline code is not run locally",
            "move the code into a folder and set CodeUri",
        )
    for required in ("Runtime", "Handler"):
        if required not in props:
            raise context.error(
                f"{key}.{required}",
                "missing",
                f"add `{required}:` to the function or to Globals.Function",
            )
    runtime = check_runtime(
        context, context.string(props["Runtime"], f"{key}.Runtime"), f"{key}.Runtime"
    )
    handler = check_handler(
        context, context.string(props["Handler"], f"{key}.Handler"), runtime, f"{key}.Handler"
    )
    code_uri = props.get("CodeUri", ".")
    if not isinstance(code_uri, str):
        raise context.error(
            f"{key}.CodeUri",
            "an S3 location cannot run locally",
            "point CodeUri at the code's folder",
        )
    code_dir = (root / code_uri).resolve()
    if code_uri.endswith(".zip"):
        # A deployment artifact (e.g. what `lambda-sse package` builds from this folder): run
        # the sources it is built from, so that reload works.
        context.warn(
            f"{key}.CodeUri",
            f"{code_uri} is a zip; lambda-sse dev runs the code in {root.resolve()} instead",
        )
        code_dir = root.resolve()
    if not code_dir.is_dir():
        raise context.error(
            f"{key}.CodeUri",
            f"folder {code_dir} does not exist",
            "point CodeUri at the code's folder",
        )
    timeout = context.integer(
        props.get("Timeout", DEFAULT_TIMEOUT), f"{key}.Timeout", low=1, high=MAX_TIMEOUT
    )
    memory = context.integer(
        props.get("MemorySize", DEFAULT_MEMORY),
        f"{key}.MemorySize",
        low=MIN_MEMORY,
        high=MAX_MEMORY,
    )
    environment_spec = context.mapping(props.get("Environment"), f"{key}.Environment")
    environment = context.environment(
        environment_spec.get("Variables"), f"{key}.Environment.Variables"
    )
    reserved = None
    if props.get("ReservedConcurrentExecutions") is not None:
        reserved = context.integer(
            props["ReservedConcurrentExecutions"],
            f"{key}.ReservedConcurrentExecutions",
            low=0,
            high=100000,
        )
    architectures = props.get("Architectures", ["x86_64"])
    if (
        not isinstance(architectures, list)
        or len(architectures) != 1
        or architectures[0] not in ("x86_64", "arm64")
    ):
        raise context.error(
            f"{key}.Architectures", f"invalid {architectures!r}", "use [x86_64] or [arm64]"
        )
    capacity = context.mapping(props.get("CapacityProviderConfig"), f"{key}.CapacityProviderConfig")
    managed_key = f"{key}.CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig"
    managed = context.mapping(
        capacity.get("LambdaManagedInstancesCapacityProviderConfig"), managed_key
    )
    max_concurrency = 1
    if managed.get("PerExecutionEnvironmentMaxConcurrency") is not None:
        # CloudFormation AWS::Lambda::Function LambdaManagedInstancesCapacityProviderConfig: 1-1600.
        max_concurrency = context.integer(
            managed["PerExecutionEnvironmentMaxConcurrency"],
            f"{managed_key}.PerExecutionEnvironmentMaxConcurrency",
            low=1,
            high=1600,
        )
    invoke_config = context.mapping(props.get("EventInvokeConfig"), f"{key}.EventInvokeConfig")
    routes: list[HttpRoute] = []
    events = context.mapping(props.get("Events"), f"{key}.Events")
    for event_name, event in events.items():
        event_key = f"{key}.Events.{event_name}"
        spec = context.mapping(event, event_key, optional=False)
        kind = spec.get("Type")
        event_props = context.mapping(spec.get("Properties"), f"{event_key}.Properties")
        if kind == "Api":
            route, api_id = api_route(context, event_props, f"{event_key}.Properties", apis, auths)
            routes.append(route)
            used_apis.add(api_id)
        elif kind == "HttpApi":
            routes.append(http_api_route(context, event_props, f"{event_key}.Properties"))
        else:
            context.warn(
                event_key, f"`{kind}` events are not emulated locally; only Api and HttpApi are"
            )
    fn = FunctionConfig(
        name=name,
        handler=handler,
        runtime=runtime,
        code_dir=code_dir,
        timeout=float(timeout),
        memory_size=memory,
        environment=environment,
        reserved_concurrency=reserved,
        max_concurrency=max_concurrency,
        url=function_url(context, props.get("FunctionUrlConfig"), f"{key}.FunctionUrlConfig"),
        routes=tuple(routes),
        architecture=str(architectures[0]),
        # Without FunctionName, CloudFormation generates a name: only the logical id works here.
        deployed_name=(
            props["FunctionName"] if isinstance(props.get("FunctionName"), str) else None
        ),
        async_config=async_config(
            context,
            invoke_config.get("MaximumRetryAttempts"),
            invoke_config.get("MaximumEventAgeInSeconds"),
            (
                f"{key}.EventInvokeConfig.MaximumRetryAttempts",
                f"{key}.EventInvokeConfig.MaximumEventAgeInSeconds",
            ),
        ),
    )
    if "Timeout" not in props:
        warn_default_timeout(
            context,
            f"{key}.Timeout",
            fn,
            "Lambda's default",
            "set `Timeout: 30` (up to 900) on the function or in Globals.Function",
        )
    return fn
