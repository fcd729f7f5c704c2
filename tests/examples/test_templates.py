"""The examples' deployment files: template.yaml passes cfn-lint and AWS's own SAM transform
(aws-sam-translator, the code CloudFormation runs for `Transform: AWS::Serverless-2016-10-31`),
and the result streams where it should; serverless.yml loads with the emulator's config loader
(the Serverless Framework v4 CLI cannot run here: it downloads its core from its vendor)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from lambda_sse.local.config import load_project
from lambda_sse.local.model import ProjectConfig
from lambda_sse.packaging import DEFAULT_OUTPUT

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "quickstart": ROOT / "examples" / "quickstart",
    "fastapi": ROOT / "examples" / "fastapi",
    "chat": ROOT / "examples" / "chat",
    "jobs": ROOT / "examples" / "jobs",
}
WRAPPER = "/var/task/lambda_sse/runtime/exec-wrapper"
STREAMING_URI = "/2021-11-15/functions/${%s.Arn}/response-streaming-invocations"
BUFFERED_URI = "/2015-03-31/functions/${%s.Arn}/invocations"


class NoManagedPolicies:
    """samtranslator asks IAM for managed policy ARNs only when a template names policies by
    short name; these templates name none, and AWS itself is not reachable from the tests."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    """What `sam deploy` hands to CloudFormation: CodeUri rewritten to the uploaded S3 object
    (as `sam package` does), then AWS's transform."""
    uploaded = copy.deepcopy(template)
    for resource in uploaded["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in resource.get(
            "Properties", {}
        ):
            resource["Properties"]["CodeUri"] = "s3://deploy-bucket/package.zip"
    function_globals = uploaded.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = "s3://deploy-bucket/package.zip"
    result: dict[str, Any] = transform(uploaded, {}, NoManagedPolicies())
    return result


def load_template(name: str) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse((EXAMPLES[name] / "template.yaml").read_text())
    return parsed


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def integrations(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    (api,) = of_type(template, "AWS::ApiGateway::RestApi").values()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            found[(path, method)] = operation["x-amazon-apigateway-integration"]
    return found


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    # samtranslator resolves AWS::Region from the environment, as the SAM CLI would.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_cfn_lint_accepts_the_template(name: str) -> None:
    matches = lint_file(EXAMPLES[name] / "template.yaml")
    assert [str(m) for m in matches] == []


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path) -> None:
    broken = (EXAMPLES["quickstart"] / "template.yaml").read_text()
    broken = broken.replace("InvokedViaFunctionUrl: true", "InvokedViaFunctionURL: true")
    path = tmp_path / "template.yaml"
    path.write_text(broken)
    rules = {m.rule.id for m in lint_file(path)}
    assert "E3002" in rules  # "Additional properties are not allowed"


def test_quickstart_transform_streams_stream_and_buffers_hello() -> None:
    out = sam_transform(load_template("quickstart"))
    functions = of_type(out, "AWS::Lambda::Function")
    assert set(functions) == {"StreamFunction", "HelloFunction"}
    for props in (f["Properties"] for f in functions.values()):
        assert props["Runtime"] == "python3.12"
        assert props["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == WRAPPER
        assert props["Code"] == {"S3Bucket": "deploy-bucket", "S3Key": "package.zip"}
    assert functions["StreamFunction"]["Properties"]["Handler"] == "handler.stream_handler"
    assert functions["StreamFunction"]["Properties"]["Timeout"] == 30
    assert functions["HelloFunction"]["Properties"]["Handler"] == "handler.hello"

    (url,) = of_type(out, "AWS::Lambda::Url").values()
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    assert url["Properties"]["AuthType"] == "NONE"
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": "StreamFunction"}

    found = integrations(out)
    stream, hello = found[("/stream", "get")], found[("/hello", "get")]
    assert stream["responseTransferMode"] == "STREAM"
    assert stream["uri"]["Fn::Sub"].endswith(STREAMING_URI % "StreamFunction")
    assert "responseTransferMode" not in hello  # BUFFERED, the default
    assert hello["uri"]["Fn::Sub"].endswith(BUFFERED_URI % "HelloFunction")

    (api,) = of_type(out, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_function_urls_get_both_public_permissions() -> None:
    for name, function in (
        ("quickstart", "StreamFunction"),
        ("fastapi", "AppFunction"),
        ("chat", "ChatFunction"),
    ):
        out = sam_transform(load_template(name))
        actions = {
            p["Properties"]["Action"]
            for p in of_type(out, "AWS::Lambda::Permission").values()
            if p["Properties"]["Principal"] == "*"
            and p["Properties"]["FunctionName"] == {"Ref": function}
        }
        assert actions == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}


def test_fastapi_transform_streams_every_route() -> None:
    out = sam_transform(load_template("fastapi"))
    (function,) = of_type(out, "AWS::Lambda::Function").values()
    assert function["Properties"]["Handler"] == "app.handler"
    (url,) = of_type(out, "AWS::Lambda::Url").values()
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    found = integrations(out)
    assert set(found) == {("/", "get"), ("/{proxy+}", "x-amazon-apigateway-any-method")}
    for integration in found.values():
        assert integration["responseTransferMode"] == "STREAM"
        assert integration["uri"]["Fn::Sub"].endswith(STREAMING_URI % "AppFunction")


def test_chat_transform_streams_every_route_and_may_call_bedrock() -> None:
    out = sam_transform(load_template("chat"))
    (function,) = of_type(out, "AWS::Lambda::Function").values()
    assert function["Properties"]["Handler"] == "app.handler"
    (url,) = of_type(out, "AWS::Lambda::Url").values()
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    found = integrations(out)
    assert set(found) == {("/", "get"), ("/{proxy+}", "x-amazon-apigateway-any-method")}
    for integration in found.values():
        assert integration["responseTransferMode"] == "STREAM"
        assert integration["uri"]["Fn::Sub"].endswith(STREAMING_URI % "ChatFunction")
    (role,) = of_type(out, "AWS::IAM::Role").values()
    actions = [
        statement["Action"]
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert "bedrock:InvokeModelWithResponseStream" in actions


def test_cloudformation_value_in_sam_would_not_stream() -> None:
    """SAM's value is RESPONSE_STREAM; CloudFormation's STREAM in a SAM template would deploy a
    buffered integration (no streaming URI). The check above would notice."""
    template = load_template("quickstart")
    events = template["Resources"]["StreamFunction"]["Properties"]["Events"]
    events["Stream"]["Properties"]["ResponseTransferMode"] = "STREAM"
    stream = integrations(sam_transform(template))[("/stream", "get")]
    assert not stream["uri"]["Fn::Sub"].endswith(STREAMING_URI % "StreamFunction")


# ---------------------------------------------------------------------------------------------
# serverless.yml, through the emulator's own loader; both files describe the same deployment.


def load_serverless(name: str) -> ProjectConfig:
    config = load_project(EXAMPLES[name])
    assert config.source.name == "serverless.yml"
    assert config.warnings == ()
    return config


def test_quickstart_serverless_yml() -> None:
    config = load_serverless("quickstart")
    assert config.api.stage == "dev"
    stream, hello = config.function("stream"), config.function("hello")
    assert stream.handler == "handler.stream_handler"
    assert stream.timeout == 30
    assert stream.url is not None
    assert stream.url.invoke_mode == "RESPONSE_STREAM"
    assert [(r.method, r.path, r.transfer_mode) for r in stream.routes] == [
        ("GET", "/stream", "STREAM")
    ]
    assert hello.url is None
    assert [(r.method, r.path, r.transfer_mode) for r in hello.routes] == [
        ("GET", "/hello", "BUFFERED")
    ]
    for fn in (stream, hello):
        assert fn.runtime == "python3.12"
        assert fn.exec_wrapper == WRAPPER
        assert fn.code_dir == EXAMPLES["quickstart"]


def test_chat_serverless_yml() -> None:
    config = load_serverless("chat")
    (fn,) = config.functions
    assert fn.handler == "app.handler"
    assert fn.url is not None
    assert fn.url.invoke_mode == "RESPONSE_STREAM"
    assert {(r.method, r.path, r.transfer_mode) for r in fn.routes} == {
        ("GET", "/", "STREAM"),
        ("ANY", "/{proxy+}", "STREAM"),
    }
    assert fn.environment["LOCAL_MODEL_TOKENS_PER_SECOND"] == "30"
    assert fn.exec_wrapper == WRAPPER


def test_fastapi_serverless_yml() -> None:
    config = load_serverless("fastapi")
    (fn,) = config.functions
    assert fn.handler == "app.handler"
    assert fn.url is not None
    assert fn.url.invoke_mode == "RESPONSE_STREAM"
    assert {(r.method, r.path, r.transfer_mode) for r in fn.routes} == {
        ("GET", "/", "STREAM"),
        ("ANY", "/{proxy+}", "STREAM"),
    }
    assert fn.exec_wrapper == WRAPPER


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_both_files_deploy_the_packaged_zip(name: str) -> None:
    import yaml

    serverless = yaml.safe_load((EXAMPLES[name] / "serverless.yml").read_text())
    assert serverless["package"]["artifact"] == DEFAULT_OUTPUT.as_posix()
    template = load_template(name)
    uris = {
        r["Properties"].get("CodeUri")
        for r in of_type(template, "AWS::Serverless::Function").values()
    } | {template.get("Globals", {}).get("Function", {}).get("CodeUri")}
    assert uris - {None} == {DEFAULT_OUTPUT.as_posix()}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_serverless_yml_and_template_agree(name: str) -> None:
    config = load_serverless(name)
    out = sam_transform(load_template(name))
    deployed = {
        (f["Properties"]["Handler"], f["Properties"]["Timeout"])
        for f in of_type(out, "AWS::Lambda::Function").values()
    }
    assert deployed == {(fn.handler, int(fn.timeout)) for fn in config.functions}
    url_modes = {u["Properties"]["InvokeMode"] for u in of_type(out, "AWS::Lambda::Url").values()}
    assert url_modes == {fn.url.invoke_mode for fn in config.functions if fn.url is not None}
