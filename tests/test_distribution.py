"""The wheel and sdist build with the standard tools and carry what users and Lambda need."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import lambda_sse

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend (hatchling) comes from the dev extra, no download.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def test_wheel_contents(dist: Path) -> None:
    (wheel,) = dist.glob(f"lambda_sse-{lambda_sse.__version__}-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        entry_points = zf.read(f"lambda_sse-{lambda_sse.__version__}.dist-info/entry_points.txt")
    assert "lambda_sse/py.typed" in infos
    # `lambda-sse init` and the public test client work from an installed wheel.
    assert "lambda_sse/testing.py" in infos
    for template in ("quickstart/handler.py", "fastapi/app.py", "common/gitignore"):
        assert f"lambda_sse/scaffold/templates/{template}.tmpl" in infos, template
    # Lambda runs the exec-wrapper and bootstrap directly: they must stay executable.
    for script in ("lambda_sse/runtime/exec-wrapper", "lambda_sse/runtime/bootstrap"):
        assert (infos[script].external_attr >> 16) & 0o111 == 0o111, script
    assert b"lambda-sse = lambda_sse.cli:main" in entry_points
    assert not [name for name in infos if name.startswith("tests/") or "node_modules" in name]


def test_sdist_contents(dist: Path) -> None:
    (sdist,) = dist.glob(f"lambda_sse-{lambda_sse.__version__}.tar.gz")
    with tarfile.open(sdist) as tf:
        names = set(tf.getnames())
    top = f"lambda_sse-{lambda_sse.__version__}"
    for needed in ("pyproject.toml", "README.md", "src/lambda_sse/__init__.py"):
        assert f"{top}/{needed}" in names, needed
    assert not [name for name in names if "node_modules" in name]


def test_wheel_installs_and_imports_without_dependencies(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import lambda_sse, lambda_sse.sse, "
            "lambda_sse.runtime.stream; print(lambda_sse.__version__, lambda_sse.__file__)",
            str(target),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    version, location = out.stdout.split()
    assert version == lambda_sse.__version__
    assert location.startswith(str(target))
    # `lambda-sse init` finds its templates in the installed wheel (no extra needed).
    project = tmp_path / "project"
    init = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from lambda_sse.cli import main; "
            "sys.exit(main(['init', sys.argv[2], '--template', 'fastapi', '--sam']))",
            str(target),
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert "handler: app.handler" not in (project / "template.yaml").read_text()
    assert "Handler: app.handler" in (project / "template.yaml").read_text()
    assert (project / "tests" / "test_app.py").is_file()
