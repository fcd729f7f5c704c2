"""`lambda-sse init`: for both templates and both config flavours, the scaffolded project's own
test passes, the real `lambda-sse dev` serves it at once (streaming through both front doors,
no warnings to fix), `lambda-sse package` packs it, and the SAM template passes AWS's transform.
An existing file is never overwritten."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from cfnlint.api import lint_file
from samtranslator.yaml_helper import yaml_parse

from lambda_sse import scaffold
from tests.examples.devserver import dev_server, lambda_sse_command, read_sse
from tests.examples.test_templates import sam_transform
from tests.examples.wheels import make_wheel

FLAVOURS = [
    pytest.param("quickstart", False, id="quickstart-serverless"),
    pytest.param("quickstart", True, id="quickstart-sam"),
    pytest.param("fastapi", False, id="fastapi-serverless"),
    pytest.param("fastapi", True, id="fastapi-sam"),
]


def cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*lambda_sse_command(), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def init(project: Path, template: str, sam: bool) -> None:
    done = cli("init", str(project), "--template", template, *(["--sam"] if sam else []))
    assert done.returncode == 0, done.stderr
    config = "template.yaml" if sam else "serverless.yml"
    other = "serverless.yml" if sam else "template.yaml"
    assert (project / config).is_file()
    assert not (project / other).exists()
    assert f"wrote {project / config}" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("template", "sam"), FLAVOURS)
def test_the_scaffold_tests_serves_and_packs(tmp_path: Path, template: str, sam: bool) -> None:
    project = tmp_path / "my-app"
    init(project, template, sam)

    # 1. Its own test, as the user runs it.
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " passed" in tested.stdout

    # 2. Served at once by the real `lambda-sse dev`, streaming through both front doors.
    stage = "Prod" if sam else "dev"
    route = "stream" if template == "quickstart" else "events"
    with dev_server(project, tmp_path, url_functions=1) as server:
        rest = read_sse(f"{server.rest}/{stage}/{route}", timeout=60)
        url = read_sse(f"{server.url(1)}/{route if template == 'fastapi' else ''}", timeout=60)
        hello = httpx.get(f"{server.rest}/{stage}/hello", timeout=30)
        url_hello = (
            httpx.get(f"{server.url(1)}/hello", timeout=30) if template == "fastapi" else None
        )
        log = server.output()
    for stream in (rest, url):
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert len(stream.arrivals) >= 5
        # Streamed: the events arrived spread out, not all at the end.
        assert stream.arrivals[4].at - stream.arrivals[0].at > 0.75
    assert hello.status_code == 200
    assert hello.json() == {"message": "hello"}
    if url_hello is not None:  # the buffered route through the RESPONSE_STREAM URL too
        assert url_hello.json() == {"message": "hello"}
    assert "not set:" not in log  # timeouts fit for streaming
    assert "handler" not in log.split("ready in")[0].split("stage ")[-1]  # no handler problems
    assert "Traceback" not in log

    # 3. Packed by `lambda-sse package` (offline: FastAPI from a local wheel for the platform).
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "fastapi", "0.115.0", "py3-none-any", {"fastapi/__init__.py": "X = 1\n"})
    packed = cli("package", str(project), "--no-index", "--find-links", str(wheels))
    assert packed.returncode == 0, packed.stderr
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in packed.stdout + packed.stderr  # set by the config
    with zipfile.ZipFile(project / ".lambda-sse" / "package.zip") as archive:
        names = set(archive.namelist())
    assert "lambda_sse/runtime/exec-wrapper" in names
    assert ("app.py" if template == "fastapi" else "handler.py") in names
    assert template != "fastapi" or "fastapi/__init__.py" in names


@pytest.mark.parametrize("template", ["quickstart", "fastapi"])
def test_the_sam_templates_pass_cfn_lint_and_aws_transform(
    tmp_path: Path, template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator builds ARNs with it
    init(tmp_path, template, sam=True)
    path = tmp_path / "template.yaml"
    matches = [m for m in lint_file(path) if m.rule.id[0] in "EW"]
    assert matches == []
    resources = sam_transform(yaml_parse(path.read_text()))["Resources"]
    urls = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Url"]
    assert [u["Properties"]["InvokeMode"] for u in urls] == ["RESPONSE_STREAM"]
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert all(f["Properties"]["Timeout"] >= 30 for f in functions)


def test_init_refuses_to_overwrite_and_names_the_files(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text("service: mine\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_handler.py").write_text("# mine\n")
    (tmp_path / "other.txt").write_text("kept\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    done = cli("init", str(tmp_path))
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("lambda-sse init: error: ")
    assert str(tmp_path / "serverless.yml") in line
    assert str(tmp_path / "tests" / "test_handler.py") in line
    assert "nothing was written" in line
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "serverless.yml").read_text() == "service: mine\n"
    # A folder holding none of its files is fine: other files stay.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "notes.md").write_text("mine\n")
    assert cli("init", str(fresh), "--template", "fastapi").returncode == 0
    assert (fresh / "notes.md").read_text() == "mine\n"


def test_plan_names_the_service_after_the_folder(tmp_path: Path) -> None:
    files = {f.path.as_posix(): f.text for f in scaffold.plan(tmp_path / "My Streams_2")}
    assert "service: my-streams-2" in files["serverless.yml"]
    assert sorted(files) == [
        ".gitignore",
        "handler.py",
        "pyproject.toml",
        "requirements.txt",
        "serverless.yml",
        "tests/test_handler.py",
    ]
