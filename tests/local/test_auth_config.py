"""Reading who-may-call settings: serverless.yml's url.cors, apiKeys, private and authorizer;
SAM's FunctionUrlConfig.Cors, Auth (Authorizers, DefaultAuthorizer, ApiKeyRequired, UsagePlan)
and AWS::ApiGateway::ApiKey. Each mistake names the file, the key and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lambda_sse.aws import SERVERLESS_CORS_HEADERS
from lambda_sse.local.config import ConfigFileError, load_project
from lambda_sse.local.model import AuthorizerConfig, CorsConfig


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


SLS = """\
service: svc
provider:
  name: aws
  runtime: python3.12
  region: ap-south-1
  apiGateway:
    apiKeys:
      - plain
      - {name: given, value: given-value-0123456789abc}
      - {name: old, value: off-value-0123456789abcde, enabled: false}
      - freePlan:
          - planned
functions:
  auth:
    handler: h.auth
  app:
    handler: h.app
    url:
      cors:
        allowedOrigins: [https://a.example, "http://localhost:*"]
        allowCredentials: true
        exposedResponseHeaders: [x-id]
        allowedHeaders: null
        maxAge: 60
    events:
      - http: {path: /a, method: get, authorizer: auth}
      - http:
          path: /b
          method: post
          private: true
          authorizer:
            arn: arn:aws:lambda:ap-south-1:123456789012:function:svc-dev-auth
            type: request
            resultTtlInSeconds: 0
      - http:
          path: /c
          method: get
          authorizer:
            name: auth
            identitySource: method.request.header.X-Token
            identityValidationExpression: "^Bearer .+$"
            resultTtlInSeconds: 60
      - http:
          path: /d
          method: get
          authorizer: {arn: "arn:aws:lambda:us-east-1:1:function:elsewhere"}
  open:
    handler: h.open
    url: {cors: true}
"""


def test_serverless_who_may_call(tmp_path: Path) -> None:
    write(tmp_path, "serverless.yml", SLS)
    project = load_project(tmp_path)
    keys = {k.name: k for k in project.api.api_keys}
    assert set(keys) == {"plain", "given", "old", "planned"}
    assert keys["plain"].generated
    assert len(keys["plain"].value) >= 20
    assert keys["given"].value == "given-value-0123456789abc"
    assert not keys["given"].generated
    assert not keys["old"].enabled
    app = project.function("app")
    assert app.url is not None
    assert app.url.cors == CorsConfig(
        allow_origins=("https://a.example", "http://localhost:*"),
        allow_methods=("*",),
        allow_headers=(),  # null leaves the default out
        expose_headers=("x-id",),
        max_age=60,
        allow_credentials=True,
    )
    a, b, c, d = app.routes
    assert a.authorizer == AuthorizerConfig("auth", "auth")
    assert b.api_key_required
    assert b.authorizer == AuthorizerConfig("auth", "auth", "REQUEST", identity_sources=(), ttl=0)
    assert c.authorizer is not None
    assert c.authorizer.identity_sources == ("method.request.header.X-Token",)
    assert (c.authorizer.ttl, c.authorizer.validation) == (60, "^Bearer .+$")
    assert d.authorizer is None  # not a function of this project: warned, not run
    assert any("elsewhere" in w and "cannot run locally" in w for w in project.warnings)
    opened = project.function("open").url
    assert opened is not None
    assert opened.cors == CorsConfig(("*",), ("*",), SERVERLESS_CORS_HEADERS)
    assert not any("not enforced" in w for w in project.warnings)


@pytest.mark.parametrize(
    ("fragment", "replacement", "key"),
    [
        ("maxAge: 60", "maxAge: 90000", "functions.app.url.cors.maxAge"),
        (
            "allowCredentials: true",
            "allowedMethods: [GET, FETCH]",
            "functions.app.url.cors.allowedMethods",
        ),
        ("resultTtlInSeconds: 60", "resultTtlInSeconds: 4000", "resultTtlInSeconds"),
        ('"^Bearer .+$"', '"(["', "identityValidationExpression"),
        ("type: request", "type: cookie", "authorizer.type"),
        ("value: given-value-0123456789abc", "value: short", "apiKeys[1].value"),
    ],
)
def test_serverless_mistakes_name_the_key(
    tmp_path: Path, fragment: str, replacement: str, key: str
) -> None:
    assert fragment in SLS
    write(tmp_path, "serverless.yml", SLS.replace(fragment, replacement))
    with pytest.raises(ConfigFileError) as caught:
        load_project(tmp_path)
    assert key in str(caught.value)
    assert "serverless.yml" in str(caught.value)


SAM = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    Auth:
      DefaultAuthorizer: Tokens
      ApiKeyRequired: true
      UsagePlan: {CreateUsagePlan: PER_API}
      Authorizers:
        Tokens:
          FunctionArn: !GetAtt AuthFn.Arn
          Identity: {Header: X-Auth, ValidationExpression: "^t-.*", ReauthorizeEvery: 30}
        Requests:
          FunctionPayloadType: REQUEST
          FunctionArn: !GetAtt AuthFn.Arn
          Identity: {Headers: [X-User], QueryStrings: [team], ReauthorizeEvery: 0}
Resources:
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Name: k1, Value: sam-key-value-0123456789, Enabled: true}
  AuthFn:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: h.auth}
  App:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: h.app
      FunctionUrlConfig:
        AuthType: AWS_IAM
        InvokeMode: RESPONSE_STREAM
        Cors: {AllowOrigins: ["*"], AllowMethods: [GET], MaxAge: 5}
      Events:
        Default: {Type: Api, Properties: {Path: /a, Method: get}}
        Open:
          Type: Api
          Properties: {Path: /b, Method: get, Auth: {Authorizer: NONE, ApiKeyRequired: false}}
        Other:
          Type: Api
          Properties: {Path: /c, Method: get, Auth: {Authorizer: Requests}}
"""


def test_sam_who_may_call(tmp_path: Path) -> None:
    write(tmp_path, "template.yaml", SAM)
    project = load_project(tmp_path, options={"region": "eu-north-1"})
    assert project.region == "eu-north-1"
    names = sorted(k.name for k in project.api.api_keys)
    assert names == ["ServerlessRestApiApiKey", "k1"]
    app = project.function("App")
    assert app.url is not None
    assert app.url.auth_type == "AWS_IAM"
    assert app.url.cors == CorsConfig(allow_origins=("*",), allow_methods=("GET",), max_age=5)
    routes = {r.path: r for r in app.routes}
    assert routes["/a"].api_key_required
    assert routes["/a"].authorizer == AuthorizerConfig(
        "Tokens", "AuthFn", "TOKEN", ("method.request.header.X-Auth",), 30, "^t-.*"
    )
    assert routes["/b"].authorizer is None
    assert not routes["/b"].api_key_required
    assert routes["/c"].authorizer == AuthorizerConfig(
        "Requests",
        "AuthFn",
        "REQUEST",
        ("method.request.header.X-User", "method.request.querystring.team"),
        0,
    )
    assert not any("not enforced" in w for w in project.warnings)


def test_sam_unknown_authorizer_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "template.yaml", SAM.replace("Authorizer: Requests", "Authorizer: Nope"))
    with pytest.raises(ConfigFileError) as caught:
        load_project(tmp_path)
    assert "Events.Other.Properties.Auth.Authorizer" in str(caught.value)
