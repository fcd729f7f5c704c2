"""Which command starts each runtime, with Lambda's reserved environment variables."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lambda_sse.errors import ConfigError
from lambda_sse.local.model import FunctionConfig
from lambda_sse.local.runtimes import (
    LAMBDA_SSE_WRAPPER,
    NODE_RIC_ENV,
    RuntimeUnavailable,
    launch_spec,
    looks_streaming,
)

FUNCTIONS = Path(__file__).parent / "functions"
HOST_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/dev", "SECRET_OF_THE_SHELL": "x"}


def fn(code_dir: Path, **kw: object) -> FunctionConfig:
    values: dict[str, object] = {
        "name": "api",
        "handler": "app.handler",
        "runtime": f"python{sys.version_info[0]}.{sys.version_info[1]}",
        "code_dir": code_dir,
        "memory_size": 256,
    }
    values.update(kw)
    return FunctionConfig(**values)  # type: ignore[arg-type]


def test_python_runs_awslambdaric_by_default_with_the_reserved_variables(tmp_path: Path) -> None:
    spec = launch_spec(
        fn(tmp_path, environment={"STAGE": "dev"}),
        runtime_api="127.0.0.1:9001",
        region="eu-west-1",
        log_stream="2026/01/01/[$LATEST]abc",
        base_env=HOST_ENV,
    )
    assert spec.argv == (sys.executable, "-m", "awslambdaric", "app.handler")
    assert spec.runtime_client == "awslambdaric"
    assert spec.cwd == tmp_path
    env = spec.env
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    expected = {
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "AWS_LAMBDA_FUNCTION_NAME": "api",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/api",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]abc",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/dev",
        "STAGE": "dev",
    }
    assert {k: env.get(k) for k in expected} == expected
    assert "SECRET_OF_THE_SHELL" not in env  # Lambda starts from a clean slate
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in env
    assert env["PYTHONPATH"].split(":")[0] == str(tmp_path)
    assert str(tmp_path) in env["LD_LIBRARY_PATH"].split(":")
    assert Path(env["LAMBDA_RUNTIME_DIR"]).is_dir()


def test_pythonpath_lets_the_function_import_lambda_sse_and_awslambdaric(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "app.py").write_text("import lambda_sse.runtime.stream, awslambdaric\nOK = 1\n")
    spec = launch_spec(fn(tmp_path), runtime_api="127.0.0.1:1", base_env=HOST_ENV)
    done = subprocess.run(
        [sys.executable, "-c", "import app; print(app.OK)"],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(spec.env),
        cwd="/",
        check=False,
    )
    assert done.stdout.strip() == "1", done.stderr


@pytest.mark.parametrize(
    "wrapper",
    [LAMBDA_SSE_WRAPPER, "lambda_sse/runtime/exec-wrapper", "./lambda_sse/runtime/exec-wrapper"],
)
def test_lambda_sse_exec_wrapper_switches_to_lambda_sse_runtime(
    tmp_path: Path, wrapper: str
) -> None:
    spec = launch_spec(
        fn(tmp_path, environment={"AWS_LAMBDA_EXEC_WRAPPER": wrapper}),
        runtime_api="127.0.0.1:1",
        base_env=HOST_ENV,
    )
    assert spec.argv == (sys.executable, "-m", "lambda_sse.runtime", "app.handler")
    assert spec.runtime_client == "lambda-sse"
    assert spec.env["AWS_LAMBDA_EXEC_WRAPPER"] == wrapper


def test_another_exec_wrapper_gets_the_runtime_command_as_arguments(tmp_path: Path) -> None:
    wrapper = tmp_path / "wrap.sh"
    wrapper.write_text('#!/bin/sh\nexec "$@"\n')
    wrapper.chmod(0o755)
    spec = launch_spec(
        fn(tmp_path, environment={"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"}),
        runtime_api="127.0.0.1:1",
        base_env=HOST_ENV,
    )
    assert spec.argv == (str(wrapper), sys.executable, "-m", "awslambdaric", "app.handler")


def test_a_missing_exec_wrapper_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailable, match=r"AWS_LAMBDA_EXEC_WRAPPER=/opt/nope.*chmod"):
        launch_spec(
            fn(tmp_path, environment={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/nope"}),
            runtime_api="127.0.0.1:1",
            base_env=HOST_ENV,
        )


def test_streaming_handler_without_wrapper_warns_with_the_fix() -> None:
    f = fn(FUNCTIONS / "py_buffered", handler="streaming_app.handler")
    assert looks_streaming(f)
    spec = launch_spec(f, runtime_api="127.0.0.1:1", base_env=HOST_ENV)
    assert spec.runtime_client == "awslambdaric"
    assert any(f"AWS_LAMBDA_EXEC_WRAPPER={LAMBDA_SSE_WRAPPER}" in w for w in spec.warnings)
    plain = fn(FUNCTIONS / "py_buffered", handler="buffered_app.handler")
    assert not looks_streaming(plain)
    assert launch_spec(plain, runtime_api="127.0.0.1:1", base_env=HOST_ENV).warnings == ()


def test_a_different_python_version_warns_once_per_spec(tmp_path: Path) -> None:
    spec = launch_spec(
        fn(tmp_path, runtime="python3.99"), runtime_api="127.0.0.1:1", base_env=HOST_ENV
    )
    assert len(spec.warnings) == 1
    assert "python3.99" in spec.warnings[0]
    assert spec.env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.99"


def test_managed_instances_concurrency_is_announced(tmp_path: Path) -> None:
    spec = launch_spec(
        fn(tmp_path, max_concurrency=8), runtime_api="127.0.0.1:1", base_env=HOST_ENV
    )
    assert spec.env["AWS_LAMBDA_MAX_CONCURRENCY"] == "8"


def test_provided_runs_the_bootstrap_without_execution_env() -> None:
    code = FUNCTIONS / "bootstrap_py"
    spec = launch_spec(
        fn(code, runtime="provided.al2023", handler="anything"),
        runtime_api="127.0.0.1:1",
        base_env=HOST_ENV,
    )
    assert spec.argv == (str(code / "bootstrap"),)
    assert spec.runtime_client == "bootstrap"
    assert "AWS_EXECUTION_ENV" not in spec.env
    assert spec.env["_HANDLER"] == "anything"
    assert spec.env["LAMBDA_SSE_PYTHON"] == sys.executable  # for lambda-sse's own bootstrap


def test_provided_without_bootstrap_or_not_executable(tmp_path: Path) -> None:
    f = fn(tmp_path, runtime="provided.al2")
    with pytest.raises(RuntimeUnavailable, match="needs an executable named 'bootstrap'"):
        launch_spec(f, runtime_api="127.0.0.1:1", base_env=HOST_ENV)
    (tmp_path / "bootstrap").write_text("#!/bin/sh\n")
    (tmp_path / "bootstrap").chmod(0o644)
    with pytest.raises(RuntimeUnavailable, match="chmod \\+x"):
        launch_spec(f, runtime_api="127.0.0.1:1", base_env=HOST_ENV)


def test_node_without_aws_lambda_ric_says_how_to_install(tmp_path: Path) -> None:
    node_dir = tmp_path / "bin"
    node_dir.mkdir()
    (node_dir / "node").write_text("#!/bin/sh\n")
    (node_dir / "node").chmod(0o755)
    f = fn(tmp_path, runtime="nodejs20.x", handler="index.handler")
    with pytest.raises(RuntimeUnavailable, match="npm install aws-lambda-ric") as info:
        launch_spec(f, runtime_api="127.0.0.1:1", base_env={"PATH": str(node_dir)})
    assert isinstance(info.value, ConfigError)


def test_node_finds_aws_lambda_ric_in_node_modules_up_the_tree(tmp_path: Path) -> None:
    node_dir = tmp_path / "bin"
    node_dir.mkdir()
    (node_dir / "node").write_text("#!/bin/sh\n")
    (node_dir / "node").chmod(0o755)
    ric = tmp_path / "node_modules" / ".bin" / "aws-lambda-ric"
    ric.parent.mkdir(parents=True)
    ric.write_text("#!/bin/sh\n")
    ric.chmod(0o755)
    code = tmp_path / "src" / "fn"
    code.mkdir(parents=True)
    spec = launch_spec(
        fn(code, runtime="nodejs22.x", handler="index.handler"),
        runtime_api="127.0.0.1:1",
        base_env={"PATH": str(node_dir)},
    )
    assert spec.argv == (str(ric), "index.handler")
    assert spec.env["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs22.x"
    other = tmp_path / "elsewhere-ric"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    spec = launch_spec(
        fn(code, runtime="nodejs22.x", handler="index.handler"),
        runtime_api="127.0.0.1:1",
        base_env={"PATH": str(node_dir), NODE_RIC_ENV: str(other)},
    )
    assert spec.argv[0] == str(other)


def test_unsupported_runtime_and_missing_code_dir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailable, match="runtime 'java21' is not supported"):
        launch_spec(fn(tmp_path, runtime="java21"), runtime_api="127.0.0.1:1", base_env=HOST_ENV)
    with pytest.raises(RuntimeUnavailable, match=r"code directory .* not found"):
        launch_spec(fn(tmp_path / "missing"), runtime_api="127.0.0.1:1", base_env=HOST_ENV)


def test_only_the_named_handler_decides_whether_it_streams(tmp_path: Path) -> None:
    (tmp_path / "mixed.py").write_text(
        "from lambda_sse import streamify_response\n"
        "from lambda_sse.asgi import handler as asgi_handler\n"
        "\n"
        "@streamify_response\n"
        "async def stream(event, response_stream, context):\n"
        "    await response_stream.write(b'x')\n"
        "\n"
        "def buffered(event, context):\n"
        "    return {'statusCode': 200}\n"
        "\n"
        "app_handler = asgi_handler(object())\n"
        "wrapped = streamify_response(buffered)\n"
    )
    assert not looks_streaming(fn(tmp_path, handler="mixed.buffered"))
    assert looks_streaming(fn(tmp_path, handler="mixed.stream"))
    assert looks_streaming(fn(tmp_path, handler="mixed.app_handler"))
    assert looks_streaming(fn(tmp_path, handler="mixed.wrapped"))
