"""`lambda-sse package`: what goes into the zip, with which modes, reproducibly, and pip's
platform selection for Lambda (offline, against wheels built by the test)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
import yaml

import lambda_sse
from lambda_sse import packaging
from lambda_sse.errors import ConfigError
from lambda_sse.packaging import PackagingError, build_package
from lambda_sse.sse import SSEDecoder
from tests.conftest import require, require_tool
from tests.examples.devserver import copy_example, dev_server, read_sse
from tests.examples.wheels import make_wheel
from tests.support.runtime_api import ThreadedRuntimeAPI, runtime_api, runtime_process

__all__ = ["runtime_api"]  # a fixture, imported for its use below

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
PACKAGE_DIR = Path(lambda_sse.__file__).resolve().parent


def names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def mode(zip_path: Path, name: str) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return (archive.getinfo(name).external_attr >> 16) & 0o7777


def extract(zip_path: Path, target: Path) -> None:
    """Unpack as Lambda does: the files, with the Unix modes the archive records (zipfile's
    own extractall drops them). One test below checks the same with Info-ZIP's unzip."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, target))
            mode_bits = (info.external_attr >> 16) & 0o777
            if mode_bits:
                path.chmod(mode_bits)


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lambda-sse package")
    packaging.add_arguments(parser)
    return packaging.run(parser.parse_args(argv))


@pytest.fixture
def function_dir(tmp_path: Path) -> Path:
    """A function folder with code, data and every kind of clutter a real one collects."""
    root = tmp_path / "fn"
    (root / "lib" / "pkg").mkdir(parents=True)
    (root / "handler.py").write_text("def hello(event, context):\n    return {'ok': True}\n")
    (root / "lib" / "pkg" / "__init__.py").write_text("")
    (root / "data.json").write_text("{}")
    (root / "serverless.yml").write_text(
        "service: x\nprovider: {name: aws, runtime: python3.12}\n"
        "functions: {hello: {handler: handler.hello}}\n"
    )
    (root / "template.yaml").write_text("Resources: {}\n")
    for clutter in (
        "__pycache__/handler.cpython-311.pyc",
        ".venv/lib/x.py",
        ".git/HEAD",
        "node_modules/m/index.js",
        ".serverless/s.zip",
        ".aws-sam/build/x",
        ".lambda-sse/old.zip",
        "lib/pkg/__pycache__/m.pyc",
        "stray.pyc",
    ):
        path = root / clutter
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("clutter")
    return root


def expected_runtime_names() -> set[str]:
    """The installed lambda_sse files that belong on Lambda, computed independently."""
    wanted: set[str] = set()
    for path in PACKAGE_DIR.rglob("*"):
        relative = path.relative_to(PACKAGE_DIR)
        if not path.is_file() or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        top = relative.parts[0]
        if len(relative.parts) == 1:
            if top in {"__init__.py", "_version.py", "aws.py", "errors.py", "py.typed"}:
                wanted.add(f"lambda_sse/{relative.as_posix()}")
        elif top in {"sse", "runtime", "events", "asgi", "wsgi", "channels"}:
            wanted.add(f"lambda_sse/{relative.as_posix()}")
    return wanted


def test_zip_holds_code_and_runtime_layers_only(function_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.zip"
    result = build_package(function_dir, out)
    listed = names(out)
    assert listed == sorted(listed), "entries must be sorted for a reproducible zip"
    code = {n for n in listed if not n.startswith("lambda_sse/") and n != "bootstrap"}
    assert code == {"handler.py", "data.json", "lib/pkg/__init__.py"}
    runtime = {n for n in listed if n.startswith("lambda_sse/")}
    assert runtime == expected_runtime_names()
    assert not any(n.startswith(("lambda_sse/local/", "lambda_sse/cli")) for n in listed)
    assert "lambda_sse/packaging.py" not in listed
    assert result.files == len(listed)
    assert result.zipped_bytes == out.stat().st_size


def test_default_output_lives_in_the_function_folder(function_dir: Path) -> None:
    assert run_cli([str(function_dir)]) == 0
    out = function_dir / ".lambda-sse" / "package.zip"
    assert "handler.py" in names(out)
    # Packaging again must not swallow the previous zip.
    assert run_cli([str(function_dir)]) == 0
    assert not any(n.startswith(".lambda-sse") for n in names(out))


def test_entry_points_keep_their_execute_bits(function_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.zip"
    build_package(function_dir, out)
    assert mode(out, "lambda_sse/runtime/exec-wrapper") == 0o755
    assert mode(out, "lambda_sse/runtime/bootstrap") == 0o755
    assert mode(out, "bootstrap") == 0o755
    assert mode(out, "handler.py") == 0o644
    assert mode(out, "lambda_sse/runtime/__init__.py") == 0o644


def test_modes_come_from_the_files(function_dir: Path, tmp_path: Path) -> None:
    """Whatever the installed package holds, a file's execute bit is what the zip records."""
    fake = tmp_path / "fake_lambda_sse"
    (fake / "runtime").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "runtime" / "__init__.py").write_text("")
    for name in ("bootstrap", "tool"):
        (fake / "runtime" / name).write_text("#!/bin/sh\n")
        (fake / "runtime" / name).chmod(0o700)
    (fake / "runtime" / "data").write_text("x")
    (fake / "runtime" / "data").chmod(0o600)
    out = tmp_path / "out.zip"
    build_package(function_dir, out, runtime_dir=fake)
    assert mode(out, "lambda_sse/runtime/tool") == 0o755
    assert mode(out, "lambda_sse/runtime/data") == 0o644
    assert mode(out, "bootstrap") == 0o755
    with zipfile.ZipFile(out) as archive:
        info = archive.getinfo("bootstrap")
        assert info.create_system == 3  # Unix: unzip tools honour the mode only then


def test_a_runtime_without_its_runtime_layer_is_refused(function_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "empty"
    fake.mkdir()
    with pytest.raises(PackagingError, match="no runtime/ layer"):
        build_package(function_dir, tmp_path / "out.zip", runtime_dir=fake)


def test_a_function_bootstrap_wins(function_dir: Path, tmp_path: Path) -> None:
    own = function_dir / "bootstrap"
    own.write_text("#!/bin/sh\necho mine\n")
    own.chmod(0o755)
    out = tmp_path / "out.zip"
    build_package(function_dir, out)
    with zipfile.ZipFile(out) as archive:
        assert archive.read("bootstrap") == own.read_bytes()


def test_modes_survive_a_real_unzip(function_dir: Path, tmp_path: Path) -> None:
    unzip = require_tool("unzip")
    out = tmp_path / "out.zip"
    build_package(function_dir, out)
    target = tmp_path / "task"
    subprocess.run([unzip, "-q", str(out), "-d", str(target)], check=True, timeout=30)
    wrapper = target / "lambda_sse" / "runtime" / "exec-wrapper"
    assert os.access(wrapper, os.X_OK)
    assert not os.access(target / "handler.py", os.X_OK)


def test_builds_are_byte_identical(function_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build_package(function_dir, first)
    # A touched file (new mtime, same bytes) must not change the archive.
    os.utime(function_dir / "handler.py", (1_700_000_000, 1_700_000_000))
    build_package(function_dir, second)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)]
    assert digest[0] == digest[1]
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_source_date_epoch_sets_the_timestamps(
    function_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    out = tmp_path / "out.zip"
    build_package(function_dir, out)
    with zipfile.ZipFile(out) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(PackagingError, match="SOURCE_DATE_EPOCH"):
        build_package(function_dir, out)


def test_a_clash_with_the_runtime_is_refused(function_dir: Path, tmp_path: Path) -> None:
    (function_dir / "lambda_sse").mkdir()
    (function_dir / "lambda_sse" / "errors.py").write_text("# a stale vendored copy\n")
    with pytest.raises(PackagingError, match=r"lambda_sse/errors\.py"):
        build_package(function_dir, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_packaging_error_is_a_config_error() -> None:
    assert issubclass(PackagingError, ConfigError)


# ---------------------------------------------------------------------------------------------
# Requirements, installed by pip for Lambda's platform


def test_pip_command_targets_lambda(tmp_path: Path) -> None:
    command = packaging.pip_install_command(
        tmp_path / "requirements.txt", tmp_path / "t", architecture="arm64", python_version="3.12"
    )
    joined = " ".join(command)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--only-binary=:all:" in command
    assert "--implementation cp" in joined
    assert "--python-version 3.12" in joined
    assert "--platform manylinux2014_aarch64" in joined
    assert "--platform manylinux_2_34_aarch64" in joined
    assert "x86_64" not in joined
    assert "--no-compile" in command


def test_platform_tags_follow_the_runtime_os() -> None:
    al2023 = packaging.platform_tags("x86_64", "3.12")
    al2 = packaging.platform_tags("x86_64", "3.11")
    assert "manylinux_2_34_x86_64" in al2023
    assert "manylinux_2_26_x86_64" in al2
    assert "manylinux_2_27_x86_64" not in al2
    with pytest.raises(PackagingError, match="x86_64 or arm64"):
        packaging.platform_tags("ppc64le", "3.12")
    with pytest.raises(PackagingError, match=r"like 3\.12"):
        packaging.platform_tags("x86_64", "3")


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    """An app that needs a compiled library: wheels for two Linux machines, a macOS-only one,
    and one for a glibc newer than Amazon Linux 2 has."""
    house = tmp_path / "wheels"
    house.mkdir()
    make_wheel(
        house,
        "demo_app",
        "1.0",
        "py3-none-any",
        {"demo_app/__init__.py": "NAME = 'app'\n"},
        requires=["demo-native"],
    )
    for machine in ("x86_64", "aarch64"):
        make_wheel(
            house,
            "demo_native",
            "1.0",
            f"cp312-cp312-manylinux2014_{machine}",
            {"demo_native/__init__.py": f"MACHINE = '{machine}'\n"},
        )
    make_wheel(
        house, "demo_mac", "1.0", "cp312-cp312-macosx_11_0_arm64", {"demo_mac/__init__.py": ""}
    )
    make_wheel(
        house, "demo_new", "1.0", "cp312-cp312-manylinux_2_28_x86_64", {"demo_new/__init__.py": ""}
    )
    return house


def package_with(
    function_dir: Path, tmp_path: Path, wheelhouse: Path, requirement: str, *extra: str
) -> tuple[int, Path]:
    (function_dir / "requirements.txt").write_text(requirement + "\n")
    out = tmp_path / "out.zip"
    argv = [str(function_dir), "-o", str(out), "--find-links", str(wheelhouse), "--no-index"]
    return run_cli(argv + list(extra)), out


@pytest.mark.parametrize(("arch", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_requirements_are_installed_for_the_lambda_machine(
    function_dir: Path, tmp_path: Path, wheelhouse: Path, arch: str, machine: str
) -> None:
    code, out = package_with(function_dir, tmp_path, wheelhouse, "demo_app", "--arch", arch)
    assert code == 0
    listed = names(out)
    assert "demo_app/__init__.py" in listed
    assert "demo_app-1.0.dist-info/METADATA" in listed
    with zipfile.ZipFile(out) as archive:
        assert archive.read("demo_native/__init__.py") == f"MACHINE = '{machine}'\n".encode()
    assert not any(n.endswith(".pyc") or n.startswith("bin/") for n in listed)
    assert "requirements.txt" in listed  # the function's own file, harmless


def test_a_newer_glibc_wheel_fits_python312_only(
    function_dir: Path, tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = package_with(function_dir, tmp_path, wheelhouse, "demo_new")
    assert code == 0
    assert "demo_new/__init__.py" in names(out)
    # python3.11 runs on Amazon Linux 2 (glibc 2.26): a manylinux_2_28 wheel would not load.
    code, _ = package_with(
        function_dir, tmp_path, wheelhouse, "demo_new", "--python-version", "3.11"
    )
    assert code == 2
    assert "pip could not install" in capsys.readouterr().err


def test_a_package_without_a_linux_wheel_is_a_clear_error(
    function_dir: Path, tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = package_with(function_dir, tmp_path, wheelhouse, "demo_mac")
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("lambda-sse package: error: pip could not install")
    assert "demo_mac" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_lambda_sse_in_requirements_is_refused(
    function_dir: Path, tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = package_with(function_dir, tmp_path, wheelhouse, "Lambda_SSE>=0.1  # vendored")
    assert code == 2
    assert "requirements.txt:1 lists lambda-sse" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{missing}"], "is not a directory"),
        (["{fn}", "--python-version", "three"], "is not like 3.12"),
        (["{fn}", "-r", "{missing}"], "does not exist"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    function_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    filled = [a.format(fn=function_dir, missing=tmp_path / "nope") for a in argv]
    assert run_cli([*filled, "-o", str(tmp_path / "o.zip")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# The zip is complete: its code runs with nothing but the standard library.


def test_unzipped_quickstart_imports_without_site_packages(tmp_path: Path) -> None:
    out = tmp_path / "quickstart.zip"
    build_package(QUICKSTART, out)
    task = tmp_path / "task"
    extract(out, task)
    # -I -S: no site-packages, no user site, no PYTHONPATH: what is importable comes from the zip.
    probe = (
        "import sys; sys.path.insert(0, '.'); import handler, lambda_sse, lambda_sse.runtime; "
        "print(lambda_sse.__file__); print(handler.stream_handler.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe],
        cwd=task,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    origin, name = done.stdout.split()
    assert Path(origin).resolve().is_relative_to(task.resolve())
    assert name == "stream_handler"


CHANNELS_PROBE = """
import asyncio, sys
sys.path.insert(0, ".")
from lambda_sse.channels import open_channel
from lambda_sse.errors import ConfigError
for url in ("sqlite:///channels.db", "memory://"):
    channel = open_channel("zip", url)
    channel.publish_sync("one")
    async def main():
        await channel.publish("two")
        await channel.end()
        return [e.data async for e in channel.subscribe()]
    assert asyncio.run(main()) == ["one", "two"], url
    assert [e.data for e in channel.subscribe_sync()] == ["one", "two"], url
try:
    open_channel("zip", "redis://127.0.0.1:1/0")
except ConfigError as exc:
    print("redis:", exc)
print("ok", sorted(m for m in sys.modules if m.split(".")[0] not in sys.stdlib_module_names
                   and m != "__main__" and not m.startswith("lambda_sse")))
"""


def test_channels_run_from_the_zip_with_the_standard_library_only(tmp_path: Path) -> None:
    out = tmp_path / "quickstart.zip"
    build_package(QUICKSTART, out)
    assert "lambda_sse/channels/sqlite.py" in names(out)
    task = tmp_path / "task"
    extract(out, task)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHANNELS_PROBE],
        cwd=task,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "redis: redis:// channels need redis-py" in done.stdout
    assert done.stdout.strip().endswith("ok []")  # nothing imported from outside the stdlib


def test_quickstart_folder_packs_to_handler_plus_runtime(tmp_path: Path) -> None:
    copy = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, copy, ignore=shutil.ignore_patterns(".lambda-sse", "__pycache__"))
    build_package(copy, None)
    listed = names(copy / ".lambda-sse" / "package.zip")
    code = [n for n in listed if not n.startswith("lambda_sse/") and n != "bootstrap"]
    assert code == ["handler.py"]


def base_interpreter() -> str:
    """The Python this venv was made from: it has the standard library and not lambda_sse."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    path = Path(sys.base_prefix) / "bin" / f"python{version}"
    require(
        f"no base interpreter at {path}",
        path.exists(),
        "the tests need the Python the venv was made from (Debian: apt-get install python3)",
    )
    probe = subprocess.run(
        [str(path), "-c", "import lambda_sse"], capture_output=True, timeout=30, check=False
    )
    require(
        f"{path} has lambda_sse installed: it would not prove the zip complete",
        probe.returncode != 0,
        f"uninstall lambda-sse from {path} (install it only into the venv)",
    )
    return str(path)


@pytest.mark.parametrize("handler", ["handler.stream_handler", "handler.hello"])
def test_the_exec_wrapper_in_the_zip_runs_the_quickstart(
    tmp_path: Path, runtime_api: ThreadedRuntimeAPI, handler: str
) -> None:
    """As on AWS: Lambda runs the wrapper with the interpreter and its own runtime's arguments;
    the interpreter here has no lambda_sse, so everything comes from the unzipped package."""
    python = base_interpreter()
    out = tmp_path / "quickstart.zip"
    build_package(QUICKSTART, out)
    task = tmp_path / "task"
    extract(out, task)
    wrapper = task / "lambda_sse" / "runtime" / "exec-wrapper"
    env = {"_HANDLER": handler, "PYTHONPATH": "", "QUICKSTART_CHUNK_INTERVAL": "0.01"}
    command = [str(wrapper), python, "/var/runtime/bootstrap.py"]
    with runtime_process(None, runtime_api.address, cwd=task, env=env, command=command) as proc:
        result = runtime_api.invoke(REST_EVENT)
        assert result.outcome.status == "success", proc.output()
    if handler == "handler.hello":
        reply = result.json()
        assert reply["statusCode"] == 200
        assert json.loads(reply["body"])["message"] == "Hello from Python on Lambda!"
        return
    metadata, body = result.split_prelude()
    assert metadata is not None
    assert metadata["statusCode"] == 200
    assert metadata["headers"]["Content-Type"] == "text/event-stream"
    events = SSEDecoder().feed(body)
    assert [e.event for e in events] == ["message"] * 10 + ["end"]


WSGI_HANDLER = """\
import lambda_sse.wsgi


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(3):
        yield f"part {i} of {environ['PATH_INFO']}\\n".encode()


handler = lambda_sse.wsgi.handler(app, stream=True)
"""


def test_the_zip_carries_the_wsgi_bridge(tmp_path: Path, runtime_api: ThreadedRuntimeAPI) -> None:
    """A WSGI function packed, unzipped and run by the exec-wrapper with an interpreter that has
    no lambda_sse: lambda_sse.wsgi (and what it imports) comes from the zip and streams."""
    python = base_interpreter()
    folder = tmp_path / "fn"
    folder.mkdir()
    (folder / "app.py").write_text(WSGI_HANDLER)
    out = tmp_path / "wsgi.zip"
    build_package(folder, out)
    assert "lambda_sse/wsgi/__init__.py" in names(out)
    task = tmp_path / "task"
    extract(out, task)
    probe = (
        "import sys; sys.path.insert(0, '.'); import app, lambda_sse.wsgi as w; print(w.__file__)"
    )
    done = subprocess.run(
        [python, "-I", "-S", "-c", probe], cwd=task, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve().is_relative_to(task.resolve())
    wrapper = task / "lambda_sse" / "runtime" / "exec-wrapper"
    env = {"_HANDLER": "app.handler", "PYTHONPATH": ""}
    command = [str(wrapper), python, "/var/runtime/bootstrap.py"]
    with runtime_process(None, runtime_api.address, cwd=task, env=env, command=command) as proc:
        result = runtime_api.invoke(REST_EVENT)
        assert result.outcome.status == "success", proc.output()
    metadata, body = result.split_prelude()
    assert metadata is not None
    assert metadata["statusCode"] == 200
    assert body == b"part 0 of /stream\npart 1 of /stream\npart 2 of /stream\n"


REST_EVENT = {
    "resource": "/stream",
    "path": "/stream",
    "httpMethod": "GET",
    "headers": {"Accept": "text/event-stream"},
    "multiValueHeaders": {"Accept": ["text/event-stream"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {"stage": "dev", "path": "/dev/stream", "httpMethod": "GET"},
    "body": None,
    "isBase64Encoded": False,
}


def test_lambda_sse_dev_serves_the_unzipped_package(tmp_path: Path) -> None:
    """The emulator runs the zip's own contents: handler and lambda_sse from the archive."""
    source = copy_example("quickstart", tmp_path, environment={"QUICKSTART_CHUNK_INTERVAL": "0.01"})
    out = tmp_path / "package.zip"
    build_package(source, out)
    served = tmp_path / "served"
    extract(out, served)
    config = yaml.safe_load((source / "serverless.yml").read_text())
    del config["package"]
    # A probe beside the unzipped code reports where lambda_sse was imported from.
    (served / "probe.py").write_text(
        "import lambda_sse\n\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'body': lambda_sse.__file__}\n"
    )
    config["functions"]["probe"] = {
        "handler": "probe.handler",
        "events": [{"http": {"path": "/probe", "method": "get"}}],
    }
    (served / "serverless.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    with dev_server(served, tmp_path) as server:
        origin = httpx.get(f"{server.rest}/dev/probe", timeout=15)
        assert origin.status_code == 200, server.output()
        assert Path(origin.text).resolve().is_relative_to(served.resolve())
        hello = httpx.get(f"{server.rest}/dev/hello", timeout=15)
        assert hello.json()["message"] == "Hello from Python on Lambda!"
        stream = read_sse(f"{server.url(1)}/", timeout=20)
        assert [a.event.event for a in stream.arrivals] == ["message"] * 10 + ["end"]


def test_defaults_come_from_the_deployment_config(
    function_dir: Path, tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (function_dir / "serverless.yml").write_text(
        "service: x\nprovider: {name: aws, runtime: python3.12, architecture: arm64}\n"
        "functions: {hello: {handler: handler.hello}}\n"
    )
    assert packaging.config_defaults(function_dir) == ("arm64", "3.12", [])
    code, out = package_with(function_dir, tmp_path, wheelhouse, "demo_native")
    assert code == 0
    with zipfile.ZipFile(out) as archive:
        assert archive.read("demo_native/__init__.py") == b"MACHINE = 'aarch64'\n"
    # An explicit --arch that contradicts the config still builds, with a warning.
    code, _ = package_with(function_dir, tmp_path, wheelhouse, "demo_native", "--arch", "x86_64")
    assert code == 0
    assert "but the deployment config declares arm64" in capsys.readouterr().err


def test_mixed_architectures_are_pointed_out(function_dir: Path) -> None:
    (function_dir / "serverless.yml").write_text(
        "service: x\nprovider: {name: aws, runtime: python3.12}\n"
        "functions:\n  a: {handler: handler.hello}\n"
        "  b: {handler: handler.hello, architecture: arm64}\n"
    )
    arch, python, warnings = packaging.config_defaults(function_dir)
    assert (arch, python) == (None, "3.12")
    assert len(warnings) == 1
    assert "mixes architectures (arm64, x86_64)" in warnings[0]


def test_examples_declare_what_the_packager_assumes() -> None:
    for name in ("quickstart", "fastapi", "chat"):
        assert packaging.config_defaults(ROOT / "examples" / name) == ("x86_64", "3.12", [])


def test_the_console_command(tmp_path: Path) -> None:
    """`lambda-sse package` as a user types it (cli.py wires this module in)."""
    script = Path(sys.executable).parent / "lambda-sse"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "lambda_sse.cli"]
    source = copy_example("quickstart", tmp_path)
    done = subprocess.run(
        [*command, "package", str(source)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    out = source / ".lambda-sse" / "package.zip"
    assert done.stdout.startswith(f"wrote {out} (")
    # The quickstart's config sets the wrapper already: nothing to say about it.
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in done.stdout + done.stderr
    assert "handler.py" in names(out)
    config = source / "serverless.yml"
    config.write_text(config.read_text().replace("AWS_LAMBDA_EXEC_WRAPPER", "UNRELATED_NAME"))
    done = subprocess.run(
        [*command, "package", str(source)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "AWS_LAMBDA_EXEC_WRAPPER=/var/task/lambda_sse/runtime/exec-wrapper" in done.stdout
    bad = subprocess.run(
        [*command, "package", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("lambda-sse package: error: ")
    assert "Traceback" not in bad.stderr


def test_compile_adds_byte_code_that_python_uses(function_dir: Path, tmp_path: Path) -> None:
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    out = tmp_path / "out.zip"
    assert run_cli([str(function_dir), "-o", str(out), "--compile", "--python-version", here]) == 0
    tag = sys.implementation.cache_tag
    listed = names(out)
    assert f"__pycache__/handler.{tag}.pyc" in listed
    assert f"lambda_sse/__pycache__/errors.{tag}.pyc" in listed
    assert f"lambda_sse/runtime/__pycache__/stream.{tag}.pyc" in listed
    task = tmp_path / "task"
    extract(out, task)
    # An unchecked-hash pyc is loaded without looking at the source: break the source to prove
    # that the import below runs the packaged byte code.
    (task / "handler.py").write_text("raise SystemExit('the source was compiled, not the pyc')\n")
    probe = "import sys; sys.path.insert(0, '.'); import handler; print(handler.hello({}, None))"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", probe],
        cwd=task,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'ok': True}"


def test_compile_refuses_another_python_version(
    function_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "3.12" if sys.version_info[:2] != (3, 12) else "3.13"
    argv = [str(function_dir), "-o", str(tmp_path / "o.zip"), "--compile"]
    assert run_cli([*argv, "--python-version", other]) == 2
    assert f"the function runs {other}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("handler", "source", "expected"),
    [
        ("mian.stream_handler", "", "no module 'mian' in "),
        ("handler.stream_handlr", "", "defines no 'stream_handlr'; did you mean 'stream_handler'?"),
        ("handler.stream_handler", "def broken(:\n", "line 1): SyntaxError: "),
    ],
)
def test_a_handler_that_cannot_load_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], handler: str, source: str, expected: str
) -> None:
    project = copy_example("quickstart", tmp_path)
    config = project / "serverless.yml"
    text = config.read_text().replace("handler: handler.stream_handler", f"handler: {handler}")
    config.write_text(text)
    if source:
        (project / "handler.py").write_text(source)
    out = tmp_path / "out.zip"
    assert run_cli([str(project), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    # One line per broken function (the syntax error breaks both of handler.py's).
    assert all(line.startswith("lambda-sse package: error: ") for line in err.splitlines())
    line = next(line for line in err.splitlines() if "function 'stream'" in line)
    assert line.startswith("lambda-sse package: error: function 'stream': handler ")
    assert expected in line
    assert "serverless.yml: functions.stream.handler" in line or "SyntaxError" in line
    assert not out.exists()
