"""The rule that lets a config name its deployed DynamoDB table and still run under
``lambda-sse dev`` with nothing to install."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_sse.local.channels import aws_table_notice, names_an_aws_table, with_channels_url
from lambda_sse.local.config import load_project
from lambda_sse.local.model import FunctionConfig, ProjectConfig

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, url: str) -> ProjectConfig:
    fn = FunctionConfig(
        name="f",
        handler="h.h",
        runtime="python3.12",
        code_dir=tmp_path,
        environment={"LAMBDA_SSE_CHANNELS_URL": url},
    )
    return ProjectConfig(source=tmp_path / "serverless.yml", service="s", functions=(fn,))


@pytest.mark.parametrize(
    ("url", "aws"),
    [
        ("dynamodb://jobs", True),
        ("DynamoDB://jobs?region=eu-west-1&max_age=60", True),
        ("dynamodb://jobs?endpoint_url=http://127.0.0.1:8000", False),
        ("redis://cache:6379/0", False),
        ("sqlite:///x.db", False),
    ],
)
def test_which_urls_name_an_aws_table(url: str, aws: bool) -> None:
    assert names_an_aws_table(url) is aws


def test_an_aws_table_in_the_config_runs_on_the_local_default(tmp_path: Path) -> None:
    project = with_channels_url(_project(tmp_path, "dynamodb://jobs"))
    sqlite = f"sqlite:///{tmp_path.resolve()}/.lambda-sse/channels.db"
    assert project.functions[0].environment["LAMBDA_SSE_CHANNELS_URL"] == sqlite
    local = "dynamodb://jobs?endpoint_url=http://127.0.0.1:8000"
    kept = with_channels_url(_project(tmp_path, local))
    assert kept.functions[0].environment["LAMBDA_SSE_CHANNELS_URL"] == local
    flag = with_channels_url(_project(tmp_path, "dynamodb://jobs"), local)
    assert flag.functions[0].environment["LAMBDA_SSE_CHANNELS_URL"] == local


@pytest.mark.parametrize("config", ["serverless.yml", "template.yaml"])
def test_the_jobs_example_runs_on_sqlite_under_dev(config: str) -> None:
    project = with_channels_url(load_project(ROOT / "examples" / "jobs", config))
    urls = {fn.environment["LAMBDA_SSE_CHANNELS_URL"] for fn in project.functions}
    assert urls == {f"sqlite:///{(ROOT / 'examples' / 'jobs').resolve()}/.lambda-sse/channels.db"}


def test_dev_says_which_tables_it_replaces(tmp_path: Path) -> None:
    project = _project(tmp_path, "dynamodb://jobs")
    notice = aws_table_notice(project)
    assert notice is not None
    assert notice.startswith("channels: f name a DynamoDB table on AWS")
    assert "--channels-url" in notice
    assert aws_table_notice(project, "sqlite:///x.db") is None
    assert aws_table_notice(_project(tmp_path, "redis://h/0")) is None
