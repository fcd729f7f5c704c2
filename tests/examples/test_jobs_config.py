"""The jobs example's deployment files: template.yaml through cfn-lint (test_templates.py) and
AWS's SAM transform, evaluated for both values of its one parameter; serverless.yml through the
emulator's own loader and variable resolver, with its IAM statements checked one by one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lambda_sse.local.config import load_project
from lambda_sse.local.config.common import Context
from lambda_sse.local.config.variables import Resolver
from lambda_sse.local.config.yamlload import load_yaml
from tests.examples.test_templates import integrations, of_type, sam_transform

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "examples" / "jobs"
TABLE_ACTIONS = ["dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:DeleteItem"]
STREAMING_URI = "/2021-11-15/functions/${ApiFunction.Arn}/response-streaming-invocations"
BUFFERED_URI = "/2015-03-31/functions/${ApiFunction.Arn}/invocations"
REDIS = "rediss://:secret@cache.example.com:6379/0"


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def evaluate(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """What CloudFormation deploys for these parameter values: conditional resources dropped,
    ``Fn::If`` chosen, ``AWS::NoValue`` removed (only the functions these templates use)."""
    values = {
        name: parameters.get(name, spec.get("Default"))
        for name, spec in template.get("Parameters", {}).items()
    }

    def condition(name: str) -> bool:
        return bool(resolve(template["Conditions"][name]))

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            items = [resolve(item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"} and node["Ref"] in values:
            return values[node["Ref"]]
        if node == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        if set(node) == {"Fn::Equals"}:
            left, right = (resolve(x) for x in node["Fn::Equals"])
            return left == right
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if condition(name) else no)
        out = {k: resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    resources = {
        name: resolve(resource)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or condition(resource["Condition"])
    }
    return {**template, "Resources": resources}


_NO_VALUE = object()


def sam(parameters: dict[str, str]) -> dict[str, Any]:
    template = load_yaml(JOBS / "template.yaml")
    assert isinstance(template, dict)
    return evaluate(sam_transform(template), parameters)


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def test_sam_dynamodb_mode_creates_the_table_and_grants_only_its_actions() -> None:
    out = sam({})
    (table,) = of_type(out, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "channel", "KeyType": "HASH"},
        {"AttributeName": "seq", "KeyType": "RANGE"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}

    functions = of_type(out, "AWS::Lambda::Function")
    assert set(functions) == {"ApiFunction", "WorkerFunction"}
    for function in functions.values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["LAMBDA_SSE_CHANNELS_URL"] == {"Fn::Sub": "dynamodb://${JobsTable}"}
    api_env = functions["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api_env["WORKER_FUNCTION"] == {"Ref": "WorkerFunction"}

    roles = of_type(out, "AWS::IAM::Role")
    table_statement = {
        "Effect": "Allow",
        "Action": TABLE_ACTIONS,
        "Resource": {"Fn::GetAtt": ["JobsTable", "Arn"]},
    }
    api = statements(roles["ApiFunctionRole"])
    worker = statements(roles["WorkerFunctionRole"])
    assert table_statement in api
    assert table_statement in worker
    # The worker's own ARN: no wildcard (SAM's LambdaInvokePolicy grants `function:NAME*`).
    assert [s for s in api if s != table_statement] == [
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["WorkerFunction", "Arn"]},
        }
    ]
    assert worker == [table_statement]  # the worker invokes nothing
    for role in roles.values():  # and beyond these, only the basic execution role (logs)
        assert role["Properties"]["ManagedPolicyArns"] == [
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        ]


def test_sam_redis_mode_creates_no_table_and_grants_no_table_actions() -> None:
    out = sam({"ChannelsUrl": REDIS})
    assert of_type(out, "AWS::DynamoDB::Table") == {}
    for function in of_type(out, "AWS::Lambda::Function").values():
        assert (
            function["Properties"]["Environment"]["Variables"]["LAMBDA_SSE_CHANNELS_URL"] == REDIS
        )
    for role in of_type(out, "AWS::IAM::Role").values():
        assert "dynamodb" not in str(statements(role))


def test_sam_routes_stream_only_the_feed_and_the_url_streams() -> None:
    out = sam({})
    found = integrations(out)
    assert set(found) == {("/", "get"), ("/jobs", "post"), ("/jobs/{id}/events", "get")}
    feed = found[("/jobs/{id}/events", "get")]
    assert feed["responseTransferMode"] == "STREAM"
    assert feed["uri"]["Fn::Sub"].endswith(STREAMING_URI)
    for route in (("/", "get"), ("/jobs", "post")):
        assert "responseTransferMode" not in found[route]
        assert found[route]["uri"]["Fn::Sub"].endswith(BUFFERED_URI)
    (url,) = of_type(out, "AWS::Lambda::Url").values()
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": "ApiFunction"}
    (invoke_config,) = of_type(out, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2


def test_sam_template_loads_in_the_emulator() -> None:
    (JOBS / "serverless.yml").stat()  # serverless.yml wins in a folder; read the SAM file itself
    from lambda_sse.local.config.sam import load_sam

    project = load_sam(JOBS / "template.yaml")
    functions = {f.name: f for f in project.functions}
    assert set(functions) == {"ApiFunction", "WorkerFunction"}
    assert functions["ApiFunction"].environment["WORKER_FUNCTION"] == "WorkerFunction"
    assert functions["WorkerFunction"].timeout == 900
    assert functions["ApiFunction"].memory_size == 512
    assert functions["WorkerFunction"].memory_size == 256


# -- serverless.yml ------------------------------------------------------------------------------


def serverless(params: dict[str, str] | None = None) -> dict[str, Any]:
    """serverless.yml with every ``${...}`` resolved by the emulator's own resolver."""
    path = JOBS / "serverless.yml"
    raw = load_yaml(path)
    assert isinstance(raw, dict)
    if params:
        raw["params"]["default"].update(params)
    resolver = Resolver(raw, Context(path), options={}, environ={})
    resolved: dict[str, Any] = resolver.resolve(raw, "")
    return resolved


def test_serverless_loads_with_both_functions_and_their_routes() -> None:
    project = load_project(JOBS)
    functions = {f.name: f for f in project.functions}
    assert set(functions) == {"api", "worker"}
    api, worker = functions["api"], functions["worker"]
    assert project.api is not None
    assert project.api.stage == "dev"
    assert [(r.method, r.path, r.transfer_mode) for r in api.routes] == [
        ("GET", "/", "BUFFERED"),
        ("POST", "/jobs", "BUFFERED"),
        ("GET", "/jobs/{id}/events", "STREAM"),
    ]
    assert api.url is not None
    assert api.url.invoke_mode == "RESPONSE_STREAM"
    assert api.environment["WORKER_FUNCTION"] == "lambda-sse-jobs-dev-worker"
    table_url = "dynamodb://lambda-sse-jobs-dev-jobs"
    assert api.environment["LAMBDA_SSE_CHANNELS_URL"] == table_url
    assert worker.environment["LAMBDA_SSE_CHANNELS_URL"] == table_url
    assert (api.memory_size, worker.memory_size) == (512, 256)  # as template.yaml says
    assert worker.routes == ()
    assert worker.url is None


def test_serverless_iam_statements_are_least_privilege() -> None:
    config = serverless()
    found = config["provider"]["iam"]["role"]["statements"]
    assert found == [
        {
            "Effect": "Allow",
            "Action": TABLE_ACTIONS,
            "Resource": "arn:aws:dynamodb:us-east-1:000000000000:table/lambda-sse-jobs-dev-jobs",
        },
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": (
                "arn:aws:lambda:us-east-1:000000000000:function:lambda-sse-jobs-dev-worker"
            ),
        },
    ]
    # The statements name the very table the stack creates and the worker the API invokes.
    table = config["resources"]["Resources"]["JobsTable"]
    assert found[0]["Resource"].endswith("/" + table["Properties"]["TableName"])
    assert found[1]["Resource"].endswith(
        ":" + config["functions"]["api"]["environment"]["WORKER_FUNCTION"]
    )
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires",
        "Enabled": True,
    }


@pytest.mark.parametrize(("url", "creates"), [(None, True), (REDIS, False)])
def test_serverless_one_parameter_picks_the_backend(url: str | None, creates: bool) -> None:
    config = serverless({"channelsUrl": url} if url else None)
    env = config["provider"]["environment"]["LAMBDA_SSE_CHANNELS_URL"]
    assert env == (url or "dynamodb://lambda-sse-jobs-dev-jobs")
    table = config["resources"]["Resources"]["JobsTable"]
    equals = config["resources"]["Conditions"][table["Condition"]]["Fn::Equals"]
    assert (equals[0] == equals[1]) is creates


def test_serverless_yaml_is_plain_yaml() -> None:
    # The Framework reads it with its own YAML loader: no CloudFormation short tags here.
    yaml.safe_load((JOBS / "serverless.yml").read_text())
