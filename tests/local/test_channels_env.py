"""``lambda-sse dev`` gives every function LAMBDA_SSE_CHANNELS_URL; the reload watcher ignores
the channels' folder."""

from __future__ import annotations

from pathlib import Path

from lambda_sse.cli import main
from lambda_sse.local.channels import with_channels_url
from lambda_sse.local.model import FunctionConfig, ProjectConfig
from lambda_sse.local.runtimes import reserved_environment
from lambda_sse.local.server import code_fingerprint


def _project(tmp_path: Path) -> ProjectConfig:
    return ProjectConfig(
        source=tmp_path / "serverless.yml",
        service="s",
        functions=(
            FunctionConfig(name="plain", handler="h.h", runtime="python3.12", code_dir=tmp_path),
            FunctionConfig(
                name="own",
                handler="h.h",
                runtime="python3.12",
                code_dir=tmp_path,
                environment={"LAMBDA_SSE_CHANNELS_URL": "redis://cfg/0", "OTHER": "1"},
            ),
        ),
    )


def _urls(project: ProjectConfig) -> list[str]:
    env = [
        reserved_environment(fn, runtime_api="127.0.0.1:1", region="r", log_stream="l", base_env={})
        for fn in project.functions
    ]
    return [e["LAMBDA_SSE_CHANNELS_URL"] for e in env]


def test_default_is_sqlite_in_the_project_and_config_wins(tmp_path: Path) -> None:
    project = with_channels_url(_project(tmp_path))
    default = f"sqlite:///{tmp_path.resolve()}/.lambda-sse/channels.db"
    assert default.startswith("sqlite:////")  # an absolute path
    assert _urls(project) == [default, "redis://cfg/0"]
    assert project.functions[1].environment["OTHER"] == "1"


def test_channels_url_flag_wins_over_the_config(tmp_path: Path) -> None:
    project = with_channels_url(_project(tmp_path), "redis://flag/1")
    assert _urls(project) == ["redis://flag/1", "redis://flag/1"]


def test_the_watcher_ignores_the_channels_folder(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text("x = 1\n")
    before = code_fingerprint([tmp_path])
    (tmp_path / ".lambda-sse").mkdir()
    (tmp_path / ".lambda-sse" / "channels.db").write_bytes(b"written at run time")
    assert code_fingerprint([tmp_path]) == before


def test_a_bad_channels_url_is_a_usage_error(tmp_path: Path, capsys: object) -> None:
    assert main(["dev", str(tmp_path), "--channels-url", "mysql://x"]) == 2
