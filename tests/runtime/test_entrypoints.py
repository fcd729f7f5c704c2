"""Deployment entry points, run as Lambda runs them, from a copy laid out like a deployment zip
(/var/task with lambda_sse/ inside) and with an interpreter that has no lambda-sse installed."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import lambda_sse
from tests.conftest import require
from tests.support.runtime_api import ThreadedRuntimeAPI, runtime_process, write_module

PACKAGE = Path(lambda_sse.__file__).parent
RUNTIME = PACKAGE / "runtime"
# The interpreter the venv was made from: it cannot import lambda_sse unless told where.
BARE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"

HANDLER = """
from lambda_sse import HttpResponseStream, streamify_response


@streamify_response
async def handler(event, response_stream, context):
    response_stream = HttpResponseStream.from_(response_stream, {"statusCode": 200})
    await response_stream.write("streamed by lambda-sse")
"""


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    """A /var/task look-alike: the function code next to a copy of the lambda_sse package."""
    root = tmp_path / "task"
    shutil.copytree(PACKAGE, root / "lambda_sse", ignore=shutil.ignore_patterns("__pycache__"))
    write_module(root, "app", HANDLER)
    return root


def test_scripts_are_executable() -> None:
    for name in ("exec-wrapper", "bootstrap"):
        path = RUNTIME / name
        assert os.access(path, os.X_OK), f"{path} lost its execute bit"
        assert path.read_text().startswith("#!/bin/sh\n")


def bare_python() -> str:
    require(
        f"no base interpreter at {BARE_PYTHON}",
        os.access(BARE_PYTHON, os.X_OK),
        "the tests need the Python the venv was made from (Debian: apt-get install python3)",
    )
    return str(BARE_PYTHON)


def test_exec_wrapper_replaces_awslambdaric(
    runtime_api: ThreadedRuntimeAPI, task_root: Path
) -> None:
    """Lambda calls the wrapper with the interpreter and the runtime's own arguments
    (docs: runtimes-modify.html#runtime-wrapper); the wrapper runs lambda-sse instead."""
    wrapper = task_root / "lambda_sse" / "runtime" / "exec-wrapper"
    command = [str(wrapper), bare_python(), "-m", "awslambdaric", "app.handler"]
    env = {"_HANDLER": "app.handler", "PYTHONPATH": ""}
    with runtime_process(None, runtime_api.address, cwd=task_root, env=env, command=command):
        result = runtime_api.invoke({})
    # awslambdaric cannot stream: a streamed prelude proves lambda-sse answered.
    assert result.head is not None
    assert result.head.streaming
    metadata, body = result.split_prelude()
    assert (metadata, body) == ({"statusCode": 200}, b"streamed by lambda-sse")


def test_exec_wrapper_keeps_pythonpath(runtime_api: ThreadedRuntimeAPI, task_root: Path) -> None:
    layer = task_root.parent / "layer"
    write_module(layer, "from_layer", "def handler(event, context):\n    return 'layer'\n")
    wrapper = task_root / "lambda_sse" / "runtime" / "exec-wrapper"
    env = {"_HANDLER": "from_layer.handler", "PYTHONPATH": str(layer)}
    command = [str(wrapper), bare_python(), "/var/runtime/bootstrap.py"]
    with runtime_process(None, runtime_api.address, cwd=task_root, env=env, command=command):
        assert runtime_api.invoke({}).json() == "layer"


def test_bootstrap_at_the_zip_root(runtime_api: ThreadedRuntimeAPI, task_root: Path) -> None:
    bootstrap = task_root / "bootstrap"
    shutil.copy2(RUNTIME / "bootstrap", bootstrap)
    env = {"_HANDLER": "app.handler", "PYTHONPATH": "", "LAMBDA_SSE_PYTHON": bare_python()}
    with runtime_process(
        None, runtime_api.address, cwd=task_root, env=env, command=[str(bootstrap)]
    ):
        result = runtime_api.invoke({})
    assert result.split_prelude() == ({"statusCode": 200}, b"streamed by lambda-sse")


def test_bootstrap_without_python_says_what_to_do(tmp_path: Path) -> None:
    import subprocess

    bootstrap = tmp_path / "bootstrap"
    shutil.copy2(RUNTIME / "bootstrap", bootstrap)
    run = subprocess.run(
        [str(bootstrap)],
        env={"PATH": str(tmp_path), "LAMBDA_SSE_PYTHON": ""},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    require(
        "this machine has a Python layer at /opt/python, which the wrapper would use",
        not os.access("/opt/python/bin/python3", os.X_OK),
        "run this test where /opt/python/bin/python3 does not exist",
    )
    assert run.returncode == 127
    assert "LAMBDA_SSE_PYTHON" in run.stderr
