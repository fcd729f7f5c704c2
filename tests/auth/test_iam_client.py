"""IAMAuth and the emulator's developer credentials read botocore's chain (here: environment
variables, with the machine's own ~/.aws files hidden), and say what is missing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lambda_sse.errors import ConfigError
from lambda_sse.iam import IAMAuth
from lambda_sse.local.auth.iam import developer_credentials, parse_key_option
from lambda_sse.local.credentials import Credentials


@pytest.fixture
def clean_aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def test_iam_auth_uses_botocore_chain_and_region(clean_aws_env: pytest.MonkeyPatch) -> None:
    clean_aws_env.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    clean_aws_env.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    clean_aws_env.setenv("AWS_SESSION_TOKEN", "env-token")
    clean_aws_env.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    auth = IAMAuth()
    assert auth.region == "sa-east-1"
    request = httpx.Request("POST", "https://abc.lambda-url.sa-east-1.on.aws/x?a=1", content=b"{}")
    signed = next(auth.auth_flow(request))
    assert signed.headers["x-amz-security-token"] == "env-token"
    assert signed.headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAFROMENVIRONMENT1/"
    )
    assert "/sa-east-1/lambda/aws4_request" in signed.headers["authorization"]
    assert developer_credentials() == Credentials("AKIAFROMENVIRONMENT1", "env-secret", "env-token")


def test_missing_credentials_or_region_say_what_to_set(clean_aws_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no AWS credentials"):
        IAMAuth(region="eu-west-1")
    assert developer_credentials() is None
    clean_aws_env.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    clean_aws_env.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    with pytest.raises(ConfigError, match="region"):
        IAMAuth()


def test_iam_key_option() -> None:
    assert parse_key_option("AK:SK") == Credentials("AK", "SK", None)
    assert parse_key_option("AK:SK:tok:en") == Credentials("AK", "SK", "tok:en")
    for bad in ("AK", ":SK", "AK:"):
        with pytest.raises(ConfigError, match="--iam-key"):
            parse_key_option(bad)
    assert "SK" not in repr(Credentials("AK", "SK"))
