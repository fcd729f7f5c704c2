"""Config files written to hurt: alias bombs, self-referencing aliases, exponential ``${self:}``
chains, deep nesting, duplicate keys and routes. Each is refused at once, with one line naming the
file, the key and the fix; the CLI prints it and exits 2. Reload loads off the event loop."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.cli import main
from lambda_sse.errors import ConfigError
from lambda_sse.local.config import load_project
from lambda_sse.local.server import Console

FUNCTION = """
service: s
provider:
  name: aws
  runtime: python3.12
functions:
  api:
    handler: h.handler
"""


def write(folder: Path, text: str, name: str = "serverless.yml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def alias_bomb(levels: int = 30) -> str:
    lines = ["a0: &a0 [x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]")
    return "\n".join(["custom:", *("  " + line for line in lines)])


def _fails_fast(tmp_path: Path, match: str) -> ConfigError:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=match) as info:
        load_project(tmp_path)
    assert time.monotonic() - started < 5.0
    assert "\n" not in str(info.value)
    return info.value


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    write(tmp_path, FUNCTION + alias_bomb())
    error = _fails_fast(tmp_path, "aliases")
    assert "serverless.yml" in str(error)


def test_a_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    write(tmp_path, FUNCTION + "custom:\n  loop: &loop\n    again: *loop\n")
    _fails_fast(tmp_path, "refers to itself")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    write(tmp_path, FUNCTION + "custom:\n  deep: " + "[" * 5000 + "]" * 5000 + "\n")
    _fails_fast(tmp_path, "nested")


def test_exponential_self_variables_are_refused(tmp_path: Path) -> None:
    lines = ["  v0: x"]
    for i in range(1, 20):
        lines.append(f"  v{i}: ${{self:custom.v{i - 1}}}${{self:custom.v{i - 1}}}")
    text = FUNCTION.replace("h.handler", "h.handler\n    description: ${self:custom.v19}")
    write(tmp_path, text + "custom:\n" + "\n".join(lines) + "\n")
    _fails_fast(tmp_path, "expand")


def test_exponential_self_mappings_are_refused(tmp_path: Path) -> None:
    lines = ["  m0: {a: 1, b: 2}"]
    for i in range(1, 20):
        lines.append(f"  m{i}: {{a: '${{self:custom.m{i - 1}}}', b: '${{self:custom.m{i - 1}}}'}}")
    text = FUNCTION.replace("h.handler", "h.handler\n    tags: ${self:custom.m19}")
    write(tmp_path, text + "custom:\n" + "\n".join(lines) + "\n")
    _fails_fast(tmp_path, "expand")


@pytest.mark.parametrize("name", ["serverless.yml", "template.yaml"])
def test_duplicate_keys_are_refused_with_their_line(tmp_path: Path, name: str) -> None:
    if name == "serverless.yml":
        text = FUNCTION + "  api:\n    handler: other.handler\n"
    else:
        text = """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Handler: h.handler, Runtime: python3.12}
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Handler: g.handler, Runtime: python3.12}
        """
    write(tmp_path, text, name)
    error = _fails_fast(tmp_path, "duplicate key")
    assert name in str(error)
    assert "line" in str(error)


def test_merge_keys_may_still_override(tmp_path: Path) -> None:
    text = FUNCTION + "custom:\n  base: &base {a: 1, b: 2}\n  derived:\n    <<: *base\n    b: 3\n"
    write(tmp_path, text)
    load_project(tmp_path)  # a merge then an override is no duplicate


def test_two_functions_on_one_method_and_path_are_refused(tmp_path: Path) -> None:
    text = """
    service: s
    provider: {name: aws, runtime: python3.12}
    functions:
      one:
        handler: h.one
        events: [{http: {path: /items, method: get}}]
      two:
        handler: h.two
        events: [{http: {path: items/, method: GET}}]
    """
    write(tmp_path, text)
    error = _fails_fast(tmp_path, "GET /items")
    assert "'one'" in str(error)
    assert "'two'" in str(error)


def test_the_cli_prints_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, FUNCTION + alias_bomb())
    assert main(["dev", str(tmp_path), "--port", "0", "--no-reload"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_reload_loads_the_config_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_sse.local import app

    write(tmp_path, FUNCTION)
    (tmp_path / "h.py").write_text("def handler(e, c):\n    return 1\n")
    project = load_project(tmp_path)
    threads: list[threading.Thread] = []
    real = load_project

    def slow_load(*args: Any, **kw: Any) -> Any:
        threads.append(threading.current_thread())
        time.sleep(0.5)
        return real(*args, **kw)

    monkeypatch.setattr("lambda_sse.local.app.load_project", slow_load)

    class Pool:
        reloaded = asyncio.Event()

        def reload(self, fresh: Any = None) -> None:
            self.reloaded.set()

    async def scenario() -> float:
        pool = Pool()
        monkeypatch.setattr("lambda_sse.local.pool.Pool", Pool)
        options = app.DevOptions(directory=tmp_path)
        watcher = asyncio.ensure_future(
            app._watch(
                project, pool, Console(), options, app.HandlerChecks(Console()), interval=0.05
            )
        )
        await asyncio.sleep(0.3)
        (tmp_path / "h.py").write_text("def handler(e, c):\n    return 2\n")
        # The loop keeps turning while the config loads: ticks 10 ms apart stay on time.
        worst = 0.0
        async with asyncio.timeout(10):
            while not pool.reloaded.is_set():
                before = time.monotonic()
                await asyncio.sleep(0.01)
                worst = max(worst, time.monotonic() - before)
        watcher.cancel()
        return worst

    worst = asyncio.run(scenario())
    assert threads
    assert threads[0] is not threading.main_thread()
    assert worst < 0.4
