"""The parts of template.yaml (AWS SAM) that say who calls a function and how: an API's
``Auth``, ``Api`` and ``HttpApi`` events, ``FunctionUrlConfig``
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-api.html,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-functionurlconfig.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from lambda_sse.local.config.auth import sam_authorizers, sam_cors
from lambda_sse.local.config.common import Context, http_method, normalize_path
from lambda_sse.local.model import (
    ApiConfig,
    AuthorizerConfig,
    FunctionUrlConfig,
    HttpRoute,
    InvokeMode,
    TransferMode,
)

__all__ = ["IMPLICIT_API", "ApiAuth", "api_auth", "api_route", "function_url", "http_api_route"]

IMPLICIT_API = "ServerlessRestApi"  # the logical id SAM gives its implicit REST API


@dataclass(frozen=True)
class ApiAuth:
    """An API's ``Auth``: its Lambda authorizers, the default one, and the API key default."""

    authorizers: Mapping[str, AuthorizerConfig | None]
    default: str | None
    api_key_required: bool
    usage_plan: bool


def api_auth(context: Context, auth: Mapping[str, Any], key: str, functions: list[str]) -> ApiAuth:
    authorizers = sam_authorizers(context, auth, key, functions)
    default = auth.get("DefaultAuthorizer")
    if default is not None:
        default = context.string(default, f"{key}.DefaultAuthorizer")
        if default != "AWS_IAM" and default not in authorizers:
            raise context.error(
                f"{key}.DefaultAuthorizer",
                f"{default!r} is not in Auth.Authorizers",
                "name one of the Authorizers",
            )
    plan = context.mapping(auth.get("UsagePlan"), f"{key}.UsagePlan")
    create = str(plan.get("CreateUsagePlan", "NONE")).upper()
    return ApiAuth(
        authorizers=authorizers,
        default=default,
        api_key_required=auth.get("ApiKeyRequired") is True,
        usage_plan=create in ("PER_API", "SHARED"),
    )


def api_route(
    context: Context,
    props: Mapping[str, Any],
    key: str,
    apis: Mapping[str, ApiConfig],
    auths: Mapping[str, ApiAuth],
) -> tuple[HttpRoute, str]:
    for required in ("Path", "Method"):
        if required not in props:
            raise context.error(
                f"{key}.{required}", "missing", f"add `{required}:` to the Api event"
            )
    api_id = IMPLICIT_API
    if "RestApiId" in props:
        api_id = context.string(props["RestApiId"], f"{key}.RestApiId")
        if api_id not in apis:
            raise context.error(
                f"{key}.RestApiId",
                f"{api_id!r} is not an AWS::Serverless::Api here",
                "use `!Ref` to one declared in this template",
            )
    mode: TransferMode = "BUFFERED"
    if "ResponseTransferMode" in props:
        value = context.string(props["ResponseTransferMode"], f"{key}.ResponseTransferMode").upper()
        if value in ("RESPONSE_STREAM", "STREAM"):
            mode = "STREAM"
        elif value != "BUFFERED":
            raise context.error(
                f"{key}.ResponseTransferMode",
                f"unknown mode {value!r}",
                "use RESPONSE_STREAM or BUFFERED",
            )
    api_auth = auths.get(api_id) or ApiAuth({}, None, False, False)
    auth = context.mapping(props.get("Auth"), f"{key}.Auth")
    name = auth.get("Authorizer", api_auth.default)
    authorizer = None
    if name is not None and name not in ("NONE", "AWS_IAM"):
        name = context.string(name, f"{key}.Auth.Authorizer")
        if name not in api_auth.authorizers:
            raise context.error(
                f"{key}.Auth.Authorizer",
                f"{name!r} is not in the API's Auth.Authorizers",
                "name one of them, or NONE",
            )
        authorizer = api_auth.authorizers[name]
    elif name == "AWS_IAM":
        context.warn(f"{key}.Auth.Authorizer", "AWS_IAM is not enforced on REST APIs locally")
    route = HttpRoute(
        method=http_method(context, props["Method"], f"{key}.Method"),
        path=normalize_path(context.string(props["Path"], f"{key}.Path")),
        kind="rest",
        transfer_mode=mode,
        api_key_required=bool(auth.get("ApiKeyRequired", api_auth.api_key_required)),
        authorizer=authorizer,
    )
    return route, api_id


def http_api_route(context: Context, props: Mapping[str, Any], key: str) -> HttpRoute:
    # An HttpApi event without Path and Method is the catch-all $default route.
    path = context.string(props.get("Path", "/{proxy+}"), f"{key}.Path")
    if path in ("$default", "*"):
        path = "/{proxy+}"
    if props.get("Auth"):
        context.warn(f"{key}.Auth", "accepted but not enforced locally")
    return HttpRoute(
        method=http_method(context, props.get("Method", "ANY"), f"{key}.Method"),
        path=normalize_path(path),
        kind="http_api",
    )


def function_url(context: Context, value: Any, key: str) -> FunctionUrlConfig | None:
    if value is None:
        return None
    spec = context.mapping(value, key, optional=False)
    mode = context.string(spec.get("InvokeMode", "BUFFERED"), f"{key}.InvokeMode").upper()
    if mode not in ("BUFFERED", "RESPONSE_STREAM"):
        raise context.error(
            f"{key}.InvokeMode", f"unknown invoke mode {mode!r}", "use BUFFERED or RESPONSE_STREAM"
        )
    if "AuthType" not in spec:
        raise context.error(f"{key}.AuthType", "missing (SAM requires it)", "add `AuthType: NONE`")
    auth = context.string(spec["AuthType"], f"{key}.AuthType").upper()
    if auth not in ("NONE", "AWS_IAM"):
        raise context.error(f"{key}.AuthType", f"unknown auth type {auth!r}", "use NONE or AWS_IAM")
    return FunctionUrlConfig(
        invoke_mode=cast(InvokeMode, mode),
        auth_type=auth,
        cors=sam_cors(context, spec.get("Cors"), f"{key}.Cors"),
    )
