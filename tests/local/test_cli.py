"""The ``lambda-sse`` command as a user runs it: a real process, real ports, curl -N.

Every process started here is stopped by the test (SIGINT first, as Ctrl-C, then SIGKILL of its
process group if it lingers).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lambda_sse.cli import build_parser, main
from tests.conftest import require_tool
from tests.support.execution import NODE_RIC, alive

PROJECTS = Path(__file__).parent / "projects"
E2E = PROJECTS / "e2e"
START_TIMEOUT = 20.0


def command() -> list[str]:
    script = Path(sys.executable).parent / "lambda-sse"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lambda_sse.cli"]


def free_block(size: int) -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + size >= 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free port block")


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    port: int
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def output(self) -> str:
        return "".join(self.lines)


def _pump(running: Running) -> None:
    assert running.process.stdout is not None
    for raw in running.process.stdout:
        line = raw.decode("utf-8", "replace")
        running.lines.append(line)
        if "ready in" in line:
            running.ready.set()


@contextlib.contextmanager
def dev(project: Path, *extra: str, urls: int = 4) -> Iterator[Running]:
    port = free_block(1 + urls)
    env = {**os.environ, "NO_COLOR": "1"}
    if NODE_RIC.exists():
        env["LAMBDA_SSE_NODE_RIC"] = str(NODE_RIC)
    process = subprocess.Popen(
        [*command(), "dev", str(project), "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    running = Running(process, port)
    reader = threading.Thread(target=_pump, args=(running,), daemon=True)
    reader.start()
    try:
        if not running.ready.wait(START_TIMEOUT):
            raise AssertionError(f"lambda-sse dev not ready:\n{running.output()}")
        yield running
    finally:
        stop(process)
        reader.join(5)
        if process.stdout is not None:
            process.stdout.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)


def curl_arrivals(curl: str, url: str) -> tuple[list[tuple[float, str]], str]:
    """``curl -N -sS -i URL``: each output line with its arrival time."""
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        [curl, "-N", "-sS", "-i", "--max-time", "20", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        for raw in process.stdout:
            lines.append((time.monotonic(), raw.decode("utf-8", "replace")))
        errors = process.stderr.read().decode()
    return lines, errors


@pytest.mark.slow
def test_dev_streams_to_curl_through_both_doors_and_ctrl_c_stops_everything() -> None:
    curl = require_tool("curl")
    with dev(E2E) as server:
        table = server.output()
        rest = f"http://127.0.0.1:{server.port}"
        assert f"REST     GET {rest}/test/stream" in table
        assert "STREAM -> stream" in table
        assert f"URL      ANY http://127.0.0.1:{server.port + 1}/" in table
        assert "RESPONSE_STREAM -> stream" in table
        pids: set[int] = set()
        for url in (
            f"{rest}/test/stream?chunks=4&interval=0.3",
            f"http://127.0.0.1:{server.port + 1}/?chunks=4&interval=0.3",
        ):
            lines, errors = curl_arrivals(curl, url)
            assert errors == ""
            text = "".join(line for _, line in lines)
            assert text.startswith("HTTP/1.1 200 OK")
            assert "transfer-encoding: chunked" in text.lower()
            data = [(t, line) for t, line in lines if line.startswith("data:")]
            assert len(data) == 4
            # Streamed: the first event reached curl long before the last one.
            assert data[-1][0] - data[0][0] >= 0.6
            match = re.search(r"x-pid: (\d+)", text, re.IGNORECASE)
            assert match is not None
            pids.add(int(match.group(1)))
        assert all(alive(pid) for pid in pids)
    # Ctrl-C stopped the server and every execution environment: no orphans.
    assert server.process.returncode == 0, server.output()
    assert "stopping" in server.output()
    assert not any(alive(pid) for pid in pids)


def test_dev_mid_stream_timeout_is_a_curl_transfer_error() -> None:
    curl = require_tool("curl")
    with dev(E2E) as server:
        lines, errors = curl_arrivals(
            curl, f"http://127.0.0.1:{server.port}/test/stream?mode=hang&chunks=1&interval=0"
        )
        # curl: (18) transfer closed with outstanding read data remaining
        assert "(18)" in errors, errors
        assert any(line.startswith("data:") for _, line in lines)


def test_dev_is_ready_within_a_second_and_reloads_changed_code(tmp_path: Path) -> None:
    project = tmp_path / "reload"
    project.mkdir()
    (project / "serverless.yml").write_text(
        "service: reload\nprovider: {name: aws, runtime: python3.11}\n"
        "functions:\n  hello:\n    handler: hello.handler\n    events:\n      - http: GET /hello\n"
    )
    handler = project / "hello.py"
    handler.write_text(
        "def handler(event, context):\n    return {'statusCode': 200, 'body': 'one'}\n"
    )
    import httpx

    started = time.monotonic()
    with dev(project, urls=0) as server:
        ready = re.search(r"ready in (\d+) ms", server.output())
        assert ready is not None
        assert int(ready.group(1)) < 1000
        url = f"http://127.0.0.1:{server.port}/dev/hello"
        assert httpx.get(url, timeout=10).text == "one"
        assert time.monotonic() - started < 10
        handler.write_text(
            "def handler(event, context):\n"
            "    return {'statusCode': 200, 'body': 'second version'}\n"
        )
        body = "one"
        for _ in range(60):
            time.sleep(0.1)
            body = httpx.get(url, timeout=10).text
            if body == "second version":
                break
        assert body == "second version"
        assert "code changed" in server.output()


def test_invoke_prints_streamed_bytes_as_they_come(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"queryStringParameters": {"chunks": "3", "interval": "0.4"}}))
    arrivals: list[tuple[float, bytes]] = []
    with subprocess.Popen(
        [*command(), "invoke", "stream", str(E2E), "--event", str(event)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        for line in process.stdout:
            arrivals.append((time.monotonic(), line))
        errors = process.stderr.read().decode()
    assert process.returncode == 0, errors
    data = [(t, line) for t, line in arrivals if line.startswith(b"data:")]
    assert len(data) == 3
    assert data[-1][0] - data[0][0] >= 0.5
    assert b"\x00" not in b"".join(line for _, line in arrivals)  # the prelude went to the log
    assert '"statusCode": 200' in errors


def test_config_errors_exit_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider: {name: aws, runtime: python3.12}\n"
        "functions:\n  f:\n    handler: h.main\n    url: {invokeMode: STREAMING}\n"
    )
    assert main(["dev", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "serverless.yml: functions.f.url.invokeMode" in err
    assert "use BUFFERED or RESPONSE_STREAM" in err
    assert "Traceback" not in err
    assert main(["invoke", "nope", str(E2E)]) == 2
    assert "no function named 'nope'" in capsys.readouterr().err
    assert main(["dev", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_busy_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dev", str(E2E), "--port", str(port), "--no-reload"]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "--port" in err


def test_parser_has_dev_invoke_and_package() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "dev",
            "proj",
            "--port",
            "4000",
            "--no-limits",
            "--concurrency",
            "8",
            "--config",
            "template.yaml",
        ]
    )
    assert (args.port, args.no_limits, args.concurrency, args.config) == (
        4000,
        True,
        8,
        "template.yaml",
    )
    assert parser.parse_args(["dev"]).port == 3000
    assert parser.parse_args(["dev"]).host == "127.0.0.1"
    assert parser.parse_args(["dev"]).max_environments is None
    assert parser.parse_args(["dev", "--max-environments", "3"]).max_environments == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["dev", "--port", "70000"])
    if shutil.which("true") is not None:  # package is wired when lambda_sse.packaging exists
        assert parser.parse_args(["package", "."]).command == "package"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_colours_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lambda_sse.local.frontdoor.doors import Access
    from lambda_sse.local.server import Console

    record = Access("rest", "GET", "/dev/x", 502, "BUFFERED", "fn", 1.5, 10, "function error")
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain = io.StringIO()
    Console(plain).access(record)
    assert "\x1b[" not in plain.getvalue()
    assert "502 GET    /dev/x BUFFERED -> fn 1.5 ms 10 B function error" in plain.getvalue()
    tty = _Tty()
    Console(tty).access(record)
    assert "\x1b[31m502\x1b[0m" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    quiet = _Tty()
    Console(quiet).access(record)
    assert "\x1b[" not in quiet.getvalue()


def test_the_request_log_line_says_how_a_stream_ended() -> None:
    from lambda_sse.local.frontdoor.doors import DETACHED_NOTE, Access
    from lambda_sse.local.server import Console

    left = Access("url", "GET", "/", 200, "STREAM", "fn", 9.0, 5, DETACHED_NOTE, "client left")
    done = Access("rest", "GET", "/dev/s", 200, "STREAM", "fn", 9.0, 5, "", "planned close")
    out = io.StringIO()
    Console(out).access(left)
    Console(out).access(done)
    first, second = out.getvalue().splitlines()
    assert first.endswith(f"5 B ended: client left; {DETACHED_NOTE}")
    assert second.endswith("5 B ended: planned close")


def test_code_fingerprint_sees_changes_and_skips_caches(tmp_path: Path) -> None:
    from lambda_sse.local.server import code_fingerprint

    (tmp_path / "app.py").write_text("a = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "dep.js").write_text("1")
    first = code_fingerprint([tmp_path])
    assert [Path(p).name for p, _ in first] == ["app.py"]
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"yy")
    assert code_fingerprint([tmp_path]) == first
    os.utime(tmp_path / "app.py", ns=(1, 1))
    assert code_fingerprint([tmp_path]) != first


def test_sam_parameter_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["dev", "--parameter", "Env=prod", "--parameter", "X=a=b"])
    from lambda_sse.cli import _options

    assert _options(args) == {"Parameter.Env": "prod", "Parameter.X": "a=b"}
    assert main(["dev", str(tmp_path), "--parameter", "novalue"]) == 2
    assert "write NAME=VALUE" in capsys.readouterr().err


def test_a_port_whose_function_urls_overflow_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The REST API on 65535 leaves no port for the Function URLs (PORT+k).
    assert main(["dev", str(E2E), "--port", "65535", "--no-reload"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "--port" in err
    assert "65535" in err


def test_a_host_that_is_not_here_blames_the_host(capsys: pytest.CaptureFixture[str]) -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    assert main(["dev", str(E2E), "--host", "192.0.2.1", "--port", "0", "--no-reload"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--host 192.0.2.1" in err
    assert "another --port" not in err
