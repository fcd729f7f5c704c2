"""``lambda-sse package examples/jobs``: one zip holds both functions, lambda-sse's channels and
the requirements (offline: FastAPI is a tiny stand-in wheel built by the test); the worker runs
from the unzipped package with the standard library only, as on Lambda."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from lambda_sse import packaging
from lambda_sse.channels import close_backends, open_channel
from lambda_sse.packaging import build_package
from tests.examples.wheels import make_wheel

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "examples" / "jobs"

WORKER_PROBE = """
import json, sys
sys.path.insert(0, ".")  # Lambda puts /var/task on the path
import worker
event = {"id": "0123456789abcdef0123456789abcdef", "steps": 3, "interval_ms": 0}
print(json.dumps(worker.handler(event, None)))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))))
"""


def test_both_functions_and_the_channels_go_into_one_zip(tmp_path: Path) -> None:
    house = tmp_path / "wheels"
    house.mkdir()
    make_wheel(house, "fastapi", "0.115.0", "py3-none-any", {"fastapi/__init__.py": "x = 1\n"})
    source = tmp_path / "jobs"
    shutil.copytree(JOBS, source, ignore=shutil.ignore_patterns(".lambda-sse", "__pycache__"))
    out = tmp_path / "package.zip"
    build_package(source, out, find_links=[str(house)], no_index=True)
    with zipfile.ZipFile(out) as archive:
        listed = set(archive.namelist())
        archive.extractall(tmp_path / "task")
    for name in (
        "app.py",
        "worker.py",
        "jobstate.py",
        "index.html",
        "fastapi/__init__.py",
        "lambda_sse/runtime/exec-wrapper",
        "lambda_sse/asgi/sse.py",
        "lambda_sse/channels/dynamodb.py",
        "lambda_sse/channels/polling.py",
        "lambda_sse/channels/redis.py",
        "lambda_sse/channels/sqlite.py",
    ):
        assert name in listed, name
    assert not any(n.startswith(("lambda_sse/local/", "boto3/", "tests/")) for n in listed)

    # The worker from the zip, with an interpreter that sees nothing but the standard library.
    db = tmp_path / "channels.db"
    env = {**os.environ, "LAMBDA_SSE_CHANNELS_URL": f"sqlite:///{db}"}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", WORKER_PROBE],
        cwd=tmp_path / "task",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result, loaded = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    assert result == {"id": "0123456789abcdef0123456789abcdef", "status": "done"}
    assert loaded == []  # boto3 is loaded only by dynamodb:// channels and by the API's Invoke
    channel = open_channel("jobs/0123456789abcdef0123456789abcdef", f"sqlite:///{db}")
    events = list(channel.subscribe_sync())
    close_backends()
    assert [e.event for e in events] == ["progress"] * 3 + ["done"]


def test_the_example_declares_what_the_packager_assumes() -> None:
    assert packaging.config_defaults(JOBS) == ("x86_64", "3.12", [])
