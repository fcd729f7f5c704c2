"""Config loading: serverless.yml and template.yaml to ProjectConfig; errors for bad ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lambda_sse.errors import ConfigError
from lambda_sse.local.config import find_config, load_project
from lambda_sse.local.config.yamlload import load_yaml
from lambda_sse.local.model import CorsConfig, HttpRoute

PROJECTS = Path(__file__).parent / "projects"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_serverless_project_reads_every_documented_key() -> None:
    project = load_project(PROJECTS / "sls_app")
    assert project.service == "sls-app"
    assert project.region == "eu-west-1"
    assert project.api.stage == "dev"
    assert project.api.endpoint_type == "EDGE"
    stream = project.function("stream")
    assert stream.runtime == "python3.11"
    assert stream.timeout == 5.0
    assert stream.memory_size == 1024
    assert stream.code_dir == (PROJECTS / "sls_app").resolve()
    assert stream.environment == {
        "GREETING": "hello",
        "STAGE_NAME": "dev",
        "AWS_LAMBDA_EXEC_WRAPPER": "/var/task/lambda_sse/runtime/exec-wrapper",
        "CHUNK_DELAY": "0.2",
    }
    assert stream.url is not None
    assert stream.url.invoke_mode == "RESPONSE_STREAM"
    assert stream.routes == (HttpRoute("GET", "/stream", "rest", "STREAM"),)
    buffered = project.function("buffered")
    assert buffered.timeout == 10.0
    assert buffered.url is not None
    assert buffered.url.invoke_mode == "BUFFERED"
    assert buffered.routes == (
        HttpRoute("GET", "/items/{id}", "rest", "BUFFERED"),
        HttpRoute("ANY", "/files/{proxy+}", "rest", "BUFFERED"),
        HttpRoute("POST", "/v2/echo", "http_api", "BUFFERED"),
    )
    assert [fn.name for fn in project.url_functions] == ["stream", "buffered"]
    assert project.warnings == ()


def test_serverless_stage_option_overrides_the_default() -> None:
    project = load_project(PROJECTS / "sls_app", options={"stage": "prod"})
    assert project.api.stage == "prod"
    assert project.function("stream").environment["STAGE_NAME"] == "prod"


def test_sam_project_applies_globals_and_the_implicit_stage() -> None:
    project = load_project(PROJECTS / "sam_app")
    assert project.source.name == "template.yaml"
    assert project.api.stage == "Prod"
    assert project.api.endpoint_type == "REGIONAL"
    stream = project.function("StreamFunction")
    assert stream.code_dir == (PROJECTS / "sam_app" / "src").resolve()
    assert stream.timeout == 8.0
    assert stream.memory_size == 256
    assert stream.environment == {
        "GREETING": "hi",
        "AWS_LAMBDA_EXEC_WRAPPER": "/var/task/lambda_sse/runtime/exec-wrapper",
        "TABLE": "Table",
        "REGION_TEXT": "in us-east-1",
    }
    assert stream.routes == (HttpRoute("GET", "/stream", "rest", "STREAM"),)
    assert stream.url is not None
    assert stream.url.invoke_mode == "RESPONSE_STREAM"
    buffered = project.function("BufferedFunction")
    assert buffered.reserved_concurrency == 2
    assert buffered.url is None
    assert buffered.routes == (HttpRoute("ANY", "/items/{id}", "rest", "BUFFERED"),)
    # Cors is read and enforced (no warning); the Ref to a table becomes a placeholder.
    assert stream.url.cors == CorsConfig(allow_origins=("*",))
    assert not any("Cors" in w for w in project.warnings)
    assert any("TABLE" in w and "placeholder" in w for w in project.warnings)


def test_folder_with_both_files_prefers_serverless_and_config_names_the_other(
    tmp_path: Path,
) -> None:
    write(tmp_path, "serverless.yml", "service: a\nprovider: {name: aws, runtime: python3.12}\n")
    write(tmp_path, "template.yaml", "Transform: AWS::Serverless-2016-10-31\nResources: {}\n")
    assert find_config(tmp_path).name == "serverless.yml"
    assert load_project(tmp_path).service == "a"
    sam = load_project(tmp_path, "template.yaml")
    assert sam.source.name == "template.yaml"
    assert sam.api.stage == "Prod"


def test_sam_explicit_api_stage_and_endpoint_configuration(tmp_path: Path) -> None:
    write(
        tmp_path,
        "template.yaml",
        """\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: v1
              EndpointConfiguration:
                Type: PRIVATE
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.12
              Handler: app.main
              CapacityProviderConfig:
                LambdaManagedInstancesCapacityProviderConfig:
                  PerExecutionEnvironmentMaxConcurrency: 64
              Events:
                E:
                  Type: Api
                  Properties: {Path: /x, Method: post, RestApiId: !Ref Api}
                H:
                  Type: HttpApi
        """,
    )
    project = load_project(tmp_path)
    assert project.api.stage == "v1"
    assert project.api.endpoint_type == "PRIVATE"
    fn = project.function("Fn")
    assert fn.max_concurrency == 64
    assert fn.timeout == 3.0
    assert fn.memory_size == 128
    assert fn.routes == (
        HttpRoute("POST", "/x", "rest", "BUFFERED"),
        HttpRoute("ANY", "/{proxy+}", "http_api", "BUFFERED"),
    )
    assert project.warnings == ()


def test_cloudformation_short_tags_load_as_long_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.yaml",
        """\
        a: !Ref X
        b: !GetAtt Res.Arn
        c: !Sub "${AWS::Region}-x"
        d: !If [Cond, 1, 2]
        e: !Join [",", [a, b]]
        f: !Select [0, !Split [",", "a,b"]]
        g: !Equals [a, b]
        """,
    )
    assert load_yaml(path) == {
        "a": {"Ref": "X"},
        "b": {"Fn::GetAtt": ["Res", "Arn"]},
        "c": {"Fn::Sub": "${AWS::Region}-x"},
        "d": {"Fn::If": ["Cond", 1, 2]},
        "e": {"Fn::Join": [",", ["a", "b"]]},
        "f": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
        "g": {"Fn::Equals": ["a", "b"]},
    }


def test_sam_intrinsics_resolve_conditions_joins_and_mappings(tmp_path: Path) -> None:
    write(
        tmp_path,
        "template.yaml",
        """\
        Transform: AWS::Serverless-2016-10-31
        Parameters:
          Env: {Type: String, Default: prod}
        Conditions:
          IsProd: !Equals [!Ref Env, prod]
        Mappings:
          Sizes: {prod: {memory: 512}, dev: {memory: 256}}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.12
              Handler: app.main
              Timeout: !If [IsProd, 20, 5]
              MemorySize: !FindInMap [Sizes, !Ref Env, memory]
              Environment:
                Variables:
                  JOINED: !Join ["-", [a, !Ref Env]]
                  PICKED: !Select [1, !Split [",", "x,y,z"]]
                  LITERAL: !Sub "${!Keep}/${Env}"
        """,
    )
    fn = load_project(tmp_path).function("Fn")
    assert fn.timeout == 20.0
    assert fn.memory_size == 512
    assert fn.environment == {"JOINED": "a-prod", "PICKED": "y", "LITERAL": "${Keep}/prod"}
    overridden = load_project(tmp_path, options={"Parameter.Env": "dev"}).function("Fn")
    assert overridden.timeout == 5.0


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [
        (
            """\
            service: s
            provider: {name: aws, runtime: python3.12}
            functions:
              f:
                handler: h.main
                events:
                  - http: {path: /x, method: get, response: {transferMode: FAST}}
            """,
            "functions.f.events[0].http.response.transferMode",
            "use BUFFERED or STREAM",
        ),
        (
            "service: s\nprovider: {name: aws, runtime: java21}\nfunctions: {f: {handler: h.m}}\n",
            "functions.f.runtime",
            "use python3.x",
        ),
        (
            "service: s\nprovider: {name: aws, runtime: python3.12}\nfunctions: {f: {}}\n",
            "functions.f.handler",
            "add `handler: module.function`",
        ),
        (
            "service: s\nprovider: {name: aws, timeout: 901}\nfunctions: {f: {handler: h.m}}\n",
            "functions.f.timeout",
            "from 1 to 900",
        ),
        (
            "service: s\nprovider: {name: aws, runtime: python3.12}\n"
            "functions: {f: {handler: h.m, url: {invokeMode: STREAM}}}\n",
            "functions.f.url.invokeMode",
            "use BUFFERED or RESPONSE_STREAM",
        ),
        (
            "service: s\nprovider: {name: aws, endpointType: global}\n",
            "provider.endpointType",
            "use EDGE, REGIONAL or PRIVATE",
        ),
        (
            "service: s\nprovider: {name: aws, stage: '${ssm:/my/stage}'}\n",
            "provider.stage",
            "add a literal fallback",
        ),
        (
            "service: s\nprovider: {name: aws, runtime: python3.12}\n"
            "functions: {f: {handler: h.m, events: [{http: 'FETCH /x'}]}}\n",
            "functions.f.events[0].http",
            "use one of",
        ),
        (
            "service: s\nprovider: {name: aws, runtime: python3.12}\n"
            "functions: {f: {handler: h.m, events: [{http: {path: /x, async: true, "
            "response: {transferMode: STREAM}}}]}}\n",
            "functions.f.events[0].http.async",
            "remove `async: true`",
        ),
    ],
)
def test_serverless_errors_name_file_key_and_fix(
    tmp_path: Path, text: str, key: str, fix: str
) -> None:
    write(tmp_path, "serverless.yml", text)
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path)
    assert info.value.key == key
    assert info.value.file is not None
    assert info.value.file.endswith("serverless.yml")
    message = str(info.value)
    assert message.startswith(f"serverless.yml: {key}: ")
    assert fix in message


@pytest.mark.parametrize(
    ("properties", "key", "fix"),
    [
        ("Handler: h.m", "Resources.Fn.Properties.Runtime", "add `Runtime:`"),
        (
            "Runtime: python3.12\n  Handler: h.m\n"
            "  FunctionUrlConfig: {InvokeMode: RESPONSE_STREAM}",
            "Resources.Fn.Properties.FunctionUrlConfig.AuthType",
            "add `AuthType: NONE`",
        ),
        (
            "Runtime: python3.12\n  Handler: h.m\n  CodeUri: missing/",
            "Resources.Fn.Properties.CodeUri",
            "point CodeUri at the code's folder",
        ),
        (
            "Runtime: python3.12\n  Handler: h.m\n  MemorySize: !GetAtt Other.Size",
            "Resources.Fn.Properties.MemorySize",
            "whole number",
        ),
        (
            "Runtime: python3.12\n  Handler: h.m\n  Events:\n    E: {Type: Api, Properties: "
            "{Path: /x, Method: get, ResponseTransferMode: CHUNKED}}",
            "Resources.Fn.Properties.Events.E.Properties.ResponseTransferMode",
            "use RESPONSE_STREAM or BUFFERED",
        ),
        (
            "Runtime: python3.12\n  Handler: h.m\n  Events:\n    E: {Type: Api, Properties: "
            "{Path: /x, Method: fetch}}",
            "Resources.Fn.Properties.Events.E.Properties.Method",
            "use one of ANY, DELETE, GET",
        ),
        ("PackageType: Image", "Resources.Fn.Properties.PackageType", "use a zip function"),
    ],
)
def test_sam_errors_name_file_key_and_fix(
    tmp_path: Path, properties: str, key: str, fix: str
) -> None:
    body = "\n".join("      " + line for line in properties.replace("\n  ", "\n").splitlines())
    text = (
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Other: {Type: AWS::S3::Bucket}\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n" + body + "\n"
    )
    (tmp_path / "template.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path)
    assert info.value.key == key
    assert fix in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "serverless.yml", "service: s\nprovider:\n  name: [aws\n")
    with pytest.raises(ConfigError, match=r"serverless\.yml: line \d+, column \d+: invalid YAML"):
        load_project(tmp_path)


def test_unknown_tag_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "template.yaml", "Resources:\n  X: !Bogus 1\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_project(tmp_path)


def test_tags_registered_on_safeloader_by_other_libraries_do_not_leak_in(tmp_path: Path) -> None:
    # aws-sam-translator registers a catch-all "!" constructor on yaml.SafeLoader itself, the
    # first time its yaml_parse runs (the template tests call it).
    from samtranslator import yaml_helper  # aws-sam-translator is in the dev extra

    yaml_helper.yaml_parse("{}")
    write(tmp_path, "template.yaml", "Resources:\n  X: !Bogus 1\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_project(tmp_path)


def test_missing_config_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no serverless\.yml or template\.yaml here"):
        load_project(tmp_path)
    with pytest.raises(ConfigError, match="check --config"):
        load_project(tmp_path, "nope.yml")


def test_unemulated_settings_are_accepted_with_warnings(tmp_path: Path) -> None:
    write(
        tmp_path,
        "serverless.yml",
        """\
        service: s
        provider: {name: aws, runtime: python3.12, endpointType: regional}
        custom:
          lambdaSse: {maxConcurrency: 8}
        functions:
          f:
            handler: h.main
            url: {authorizer: aws_iam, cors: true}
            events:
              - http: {path: /x, method: get, authorizer: aws_iam, cors: true}
              - sqs: arn:aws:sqs:us-east-1:1:q
        """,
    )
    project = load_project(tmp_path)
    assert project.api.endpoint_type == "REGIONAL"
    fn = project.function("f")
    assert fn.max_concurrency == 8
    assert fn.url is not None
    assert fn.url.auth_type == "AWS_IAM"
    assert fn.url.cors is not None
    assert fn.url.cors.allow_origins == ("*",)
    text = "\n".join(project.warnings)
    # Enforced now: no warning for the URL's auth and CORS.
    assert "url.authorizer" not in text
    assert "url.cors" not in text
    for fragment in ("http.authorizer", "http.cors", "`sqs` events"):
        assert fragment in text


def test_variables_fall_back_and_nest(tmp_path: Path) -> None:
    write(
        tmp_path,
        "serverless.yml",
        """\
        service: ${self:custom.name}
        params:
          default: {level: info}
          prod: {level: warn}
        custom:
          name: svc
          sizes: {dev: 512, prod: 2048}
        provider:
          name: aws
          runtime: python3.12
          memorySize: ${self:custom.sizes.${sls:stage}}
          environment:
            FROM_ENV: ${env:LSSE_TEST_VAR, 'fallback'}
            FROM_SSM: ${ssm:/param, 'local'}
            LEVEL: ${param:level}
            MIXED: a-${sls:stage}-b
        functions:
          f: {handler: h.main}
        """,
    )
    project = load_project(tmp_path)
    fn = project.function("f")
    assert project.service == "svc"
    assert fn.memory_size == 512
    assert fn.environment == {
        "FROM_ENV": "fallback",
        "FROM_SSM": "local",
        "LEVEL": "info",
        "MIXED": "a-dev-b",
    }
    prod = load_project(tmp_path, options={"stage": "prod"}).function("f")
    assert prod.memory_size == 2048
    assert prod.environment["LEVEL"] == "warn"


def test_unknown_function_keys_warn_with_the_closest_known_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        "serverless.yml",
        "service: s\nprovider: {name: aws, runtime: python3.12}\n"
        "functions:\n  f:\n    handler: h.main\n    timout: 30\n    description: fine\n",
    )
    project = load_project(tmp_path)
    assert project.function("f").timeout == 6.0
    assert project.warnings == (
        "serverless.yml: functions.f.timout: unknown key, ignored; did you mean `timeout`?",
    )
    write(
        tmp_path,
        "template.yaml",
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.12\n      Handler: h.m\n      MemmorySize: 512\n",
    )
    sam = load_project(tmp_path, "template.yaml")
    assert any(
        "Properties.MemmorySize: unknown key, ignored; did you mean `MemorySize`?" in w
        for w in sam.warnings
    )


def test_sam_zip_code_uri_runs_the_template_folder(tmp_path: Path) -> None:
    write(
        tmp_path,
        "template.yaml",
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: python3.12\n      Handler: h.m\n      CodeUri: .lambda-sse/package.zip\n",
    )
    project = load_project(tmp_path)
    assert project.function("Fn").code_dir == tmp_path.resolve()
    assert any("is a zip; lambda-sse dev runs the code in" in w for w in project.warnings)


def test_streaming_functions_on_the_default_timeout_are_named_at_start(tmp_path: Path) -> None:
    write(
        tmp_path,
        "serverless.yml",
        """\
        service: s
        provider: {name: aws, runtime: python3.12}
        functions:
          api:
            handler: app.handler
            url: {invokeMode: RESPONSE_STREAM}
          sse:
            handler: app.handler
            events:
              - http: {path: /events, method: get, response: {transferMode: STREAM}}
          plain:
            handler: app.handler
            events:
              - http: {path: /hello, method: get}
          long:
            handler: app.handler
            timeout: 30
            url: {invokeMode: RESPONSE_STREAM}
        """,
    )
    warnings = load_project(tmp_path).warnings
    assert [w.split(": ")[1] for w in warnings] == [
        "functions.api.timeout",
        "functions.sse.timeout",
    ]
    assert "the Serverless Framework's default of 6 s" in warnings[0]
    assert "set `timeout: 30`" in warnings[0]
    provider_wide = (
        (tmp_path / "serverless.yml")
        .read_text()
        .replace("runtime: python3.12}", "runtime: python3.12, timeout: 20}")
    )
    (tmp_path / "serverless.yml").write_text(provider_wide)
    assert load_project(tmp_path).warnings == ()

    write(
        tmp_path,
        "template.yaml",
        """\
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Function: {Runtime: python3.12, Handler: app.handler}
        Resources:
          Sse:
            Type: AWS::Serverless::Function
            Properties:
              FunctionUrlConfig: {AuthType: NONE, InvokeMode: RESPONSE_STREAM}
          Buffered:
            Type: AWS::Serverless::Function
            Properties:
              FunctionUrlConfig: {AuthType: NONE}
        """,
    )
    sam = load_project(tmp_path, "template.yaml").warnings
    assert len(sam) == 1
    assert "Resources.Sse.Properties.Timeout: not set: Lambda's default of 3 s" in sam[0]
    assert "Globals.Function" in sam[0]
    with_globals = (
        (tmp_path / "template.yaml")
        .read_text()
        .replace("Handler: app.handler}", "Handler: app.handler, Timeout: 60}")
    )
    (tmp_path / "template.yaml").write_text(with_globals)
    assert load_project(tmp_path, "template.yaml").warnings == ()
