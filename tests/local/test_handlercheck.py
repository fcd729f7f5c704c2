"""Handler mistakes found before the first request: statically (``package``) and by importing
each handler in a subprocess with the function's environment (``dev``); and through the real
``lambda-sse dev``, reported before "ready" and again when a request fails."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import httpx

from lambda_sse.local.config import load_project
from lambda_sse.local.handlercheck import check_imports, check_static
from tests.examples.devserver import dev_server

WRAPPER = "/var/task/lambda_sse/runtime/exec-wrapper"


def project(tmp_path: Path, functions: dict[str, str], files: dict[str, str]) -> Path:
    lines = [
        "service: checks",
        "provider:",
        "  name: aws",
        "  runtime: python3.12",
        "  timeout: 10",
        "  environment:",
        f"    AWS_LAMBDA_EXEC_WRAPPER: {WRAPPER}",
        "functions:",
    ]
    for name, handler in functions.items():
        lines += [
            f"  {name}:",
            f"    handler: {handler}",
            "    environment: {NEEDED: yes}" if name == "env" else "",
            "    events:",
            f"      - http: {{path: /{name}, method: get}}",
        ]
    (tmp_path / "serverless.yml").write_text("\n".join(line for line in lines if line) + "\n")
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


FILES = {
    "main.py": """\
        def handler(event, context):
            return {"statusCode": 200, "body": "ok"}
        """,
    "bad.py": "import json\n\ndef handler(event, context)\n    return 1\n",
    "dep.py": "import json\nimport nosuchpkg_xyz\n\ndef handler(event, context):\n    return 1\n",
    "needs_env.py": """\
        import os
        LEVEL = os.environ["NEEDED"]  # set only in the function's environment

        def handler(event, context):
            return {"statusCode": 200, "body": LEVEL}
        """,
    "star.py": "from main import *\n",
    "guarded.py": """\
        try:
            import ujson as json
        except ImportError:
            import json
        if True:
            handler = lambda event, context: json.dumps(event)
        """,
    "notcallable.py": "handler = {'not': 'callable'}\n",
}
FUNCTIONS = {
    "typo": "mian.handler",
    "syntax": "bad.handler",
    "attr": "main.handlr",
    "dep": "dep.handler",
    "env": "needs_env.handler",
    "star": "star.handler",
    "guarded": "guarded.handler",
    "notcallable": "notcallable.handler",
    "ok": "main.handler",
}


def test_static_check_finds_typos_syntax_errors_and_missing_names(tmp_path: Path) -> None:
    config = load_project(project(tmp_path, FUNCTIONS, FILES))
    found = {fn.name: check_static(config, fn) for fn in config.functions}
    assert {name for name, problem in found.items() if problem} == {"typo", "syntax", "attr"}
    typo = str(found["typo"])
    assert "no module 'mian'" in typo
    assert "did you mean 'main'?" in typo
    assert "serverless.yml: functions.typo.handler" in typo
    syntax = str(found["syntax"])
    assert f'File "{tmp_path / "bad.py"}", line 3' in syntax
    assert "SyntaxError: expected ':'" in syntax
    assert "    def handler(event, context)\n" in syntax
    attr = str(found["attr"])
    assert "main.py defines no 'handlr'; did you mean 'handler'?" in attr


def test_import_check_runs_in_the_functions_environment(tmp_path: Path) -> None:
    config = load_project(project(tmp_path, FUNCTIONS, FILES))
    problems = asyncio.run(check_imports(config))
    # "env" imports only because the function's own NEEDED is set; "star" and "guarded" bind
    # the name in ways a static look cannot be sure of.
    assert sorted(problems) == ["attr", "dep", "notcallable", "syntax", "typo"]
    assert problems["syntax"].error_type == "Runtime.UserCodeSyntaxError"
    assert problems["syntax"].line == 3
    dep = str(problems["dep"])
    assert f'File "{tmp_path / "dep.py"}", line 2' in dep
    assert "ModuleNotFoundError: No module named 'nosuchpkg_xyz'" in dep
    assert problems["dep"].error_type == "Runtime.ImportModuleError"
    assert problems["notcallable"].error_type == "Runtime.HandlerNotFound"
    assert "did you mean 'main'?" in str(problems["typo"])


def test_dev_reports_handler_mistakes_before_ready_and_again_on_request(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    folder = project(
        tmp_path / "app",
        {"typo": "mian.handler", "syntax": "bad.handler", "ok": "main.handler"},
        {"main.py": FILES["main.py"], "bad.py": FILES["bad.py"]},
    )
    with dev_server(folder, tmp_path, url_functions=0) as server:
        deadline = time.monotonic() + 30
        while "ready in" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        at_start = server.output()
        assert at_start.index("no module 'mian'") < at_start.index("ready in")
        assert at_start.index("SyntaxError: expected ':'") < at_start.index("ready in")
        assert "did you mean 'main'?" in at_start
        assert f'File "{folder / "bad.py"}", line 3' in at_start
        # Still serving: the good function works, the broken one fails and says why again.
        assert httpx.get(f"{server.rest}/dev/ok", timeout=30).text == "ok"
        assert httpx.get(f"{server.rest}/dev/syntax", timeout=30).status_code == 502
        deadline = time.monotonic() + 10
        while server.output().count("SyntaxError: expected ':'") < 2:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        # The runtime's own init error reads line by line, not run together.
        assert "\r" not in server.output()
        assert re.search(r"\n\S*\[syntax\] Traceback \(most recent call last\):", server.output())


def test_ctrl_c_during_a_stream_is_logged_as_a_shutdown(tmp_path: Path) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  runtime: python3.12\n  timeout: 30\n"
        f"  environment:\n    AWS_LAMBDA_EXEC_WRAPPER: {WRAPPER}\n"
        "functions:\n  slow:\n    handler: slow.handler\n    events:\n"
        "      - http: {path: /slow, method: get, response: {transferMode: STREAM}}\n"
    )
    (folder / "slow.py").write_text(
        textwrap.dedent(
            """\
            import time
            from lambda_sse import HttpResponseStream, streamify_response

            @streamify_response
            def handler(event, stream, context):
                stream = HttpResponseStream.from_(stream, {"statusCode": 200})
                for i in range(100):
                    stream.write(f"{i}\\n")
                    time.sleep(0.1)
            """
        )
    )
    with (
        dev_server(folder, tmp_path, url_functions=0) as server,
        httpx.stream("GET", f"{server.rest}/dev/slow", timeout=30) as response,
    ):
        assert next(response.iter_raw()).startswith(b"0")
        server.process.send_signal(signal.SIGINT)  # what Ctrl-C sends lambda-sse dev
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            raise AssertionError(server.output()) from None
    log = server.output()
    assert "ended by the shutdown of its environment" in log
    assert "Runtime.ExitError" not in log
    assert "Status: shutdown" in log
