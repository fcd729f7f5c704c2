"""`lambda-sse dev` as a user runs it: generated API keys printed at start, --iam-key trusted,
--no-auth turning enforcement off with a visible notice, a bad --iam-key refused in one line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from lambda_sse.iam import IAMAuth
from lambda_sse.local.credentials import Credentials
from tests.examples.devserver import dev_server, lambda_sse_command

PROJECT = Path(__file__).parent / "projects" / "auth"
KEY = Credentials("AKIACOMMANDLINE00001", "command-line-secret")


def copy_project(tmp_path: Path) -> Path:
    target = tmp_path / "auth"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__", ".lambda-sse"))
    return target


@pytest.mark.slow
def test_keys_printed_and_iam_key_trusted(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    args = ["--iam-key", f"{KEY.access_key}:{KEY.secret_key}"]
    with dev_server(project, tmp_path, url_functions=2, args=args) as server:
        auth = IAMAuth(region="eu-west-2", credentials=KEY)
        with httpx.Client(auth=auth, timeout=30) as client:
            assert client.get(f"{server.url(2)}/?count=1").status_code == 200
        assert httpx.get(f"{server.url(2)}/", timeout=30).status_code == 403
        generated = re.search(
            r"API key generatedKey \(generated\): x-api-key: (\w+)", server.output()
        )
        assert generated is not None, server.output()
        keyed = f"{server.rest}/dev/keyed?count=1"
        assert (
            httpx.get(keyed, headers={"x-api-key": generated.group(1)}, timeout=30).status_code
            == 200
        )
        output = server.output()
    assert "API key fixed: x-api-key: fixed-api-key-0123456789" in output
    assert "AWS_IAM URLs accept SigV4 signatures by:" in output
    assert "--iam-key (AKIA...0001)" in output
    assert KEY.secret_key not in output


@pytest.mark.slow
def test_no_auth_turns_enforcement_off_with_a_notice(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    with dev_server(project, tmp_path, url_functions=2, args=["--no-auth"]) as server:
        assert httpx.get(f"{server.url(2)}/?count=1", timeout=30).status_code == 200
        assert httpx.get(f"{server.rest}/dev/keyed?count=1", timeout=30).status_code == 200
        assert httpx.get(f"{server.rest}/dev/feed?count=1", timeout=30).status_code == 200
        output = server.output()
    assert (
        "--no-auth: AWS_IAM signatures, API keys and Lambda authorizers are NOT checked" in output
    )


def test_bad_iam_key_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [*lambda_sse_command(), "dev", str(PROJECT), "--port", "0", "--iam-key", "nosecret"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 2
    assert "--iam-key: write ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]" in result.stderr
    assert "Traceback" not in result.stderr
