"""The chat example's page in headless Chromium (Debian's, driven by Playwright): fetch() POSTs the
prompt and reads the Chat Completions stream token by token; the Stop button aborts it. The
emulator logs the client leaving and, as on AWS, the function runs on to its end."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.examples.devserver import DevServer, copy_example, dev_server
from tests.examples.test_browser import browser_page

RATE = 10  # tokens per second: one every 100 ms
PAGE_TIMEOUT_MS = 60_000


def project(tmp_path: Path) -> Path:
    return copy_example("chat", tmp_path, environment={"LOCAL_MODEL_TOKENS_PER_SECOND": str(RATE)})


def report_durations(server: DevServer) -> list[float]:
    return [
        float(m)
        for m in re.findall(r"REPORT RequestId: \S+\s+Duration: ([\d.]+) ms", server.output())
    ]


@pytest.mark.slow
def test_stop_aborts_the_stream_and_the_function_runs_on(tmp_path: Path) -> None:
    tokens = 30  # 3 s of generation at 10 tokens/s
    with dev_server(project(tmp_path), tmp_path) as server, browser_page(tmp_path / "p") as page:
        page.goto(f"{server.rest}/dev/?max_tokens={tokens}")
        page.click("#send")
        page.wait_for_function("window.chat.tokens >= 3", timeout=PAGE_TIMEOUT_MS)
        assert page.locator("#stop").is_enabled()
        page.click("#stop")
        page.wait_for_function("window.chat.state === 'stopped'", timeout=10_000)
        seen = page.evaluate("window.chat")
        assert 3 <= seen["tokens"] < tokens, seen
        assert page.locator("#reply").inner_text() == seen["text"]
        assert seen["text"].startswith("You said:")
        page.wait_for_timeout(500)
        assert page.evaluate("window.chat.tokens") == seen["tokens"]  # nothing after Stop
        assert page.locator("#status").inner_text() == f"stopped: {seen['tokens']} tokens"
        assert page.locator("#send").is_enabled()
        # The emulator saw the client leave; the function went on generating to its end.
        deadline = time.monotonic() + 15
        while len(report_durations(server)) < 2 or "client disconnected" not in server.output():
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        assert "the function keeps running to its end" in server.output()
        durations = report_durations(server)
    # The page itself was the first invocation; the completion ran its full ~2.9 s (29 gaps
    # of 100 ms), long after the client stopped reading at ~0.3 s.
    assert max(durations) >= 2500, durations


@pytest.mark.slow
def test_the_page_reads_a_whole_reply_through_the_function_url(tmp_path: Path) -> None:
    with dev_server(project(tmp_path), tmp_path) as server, browser_page(tmp_path / "p") as page:
        page.goto(f"{server.url(1)}/?max_tokens=12")
        page.fill("#prompt", "Is each token its own chunk?")
        page.click("#send")
        page.wait_for_function("window.chat.state === 'done'", timeout=PAGE_TIMEOUT_MS)
        seen = page.evaluate("window.chat")
        # The same conversation through the buffered API: the same words.
        buffered = httpx.post(
            f"{server.url(1)}/v1/chat/completions",
            json={
                "model": "lambda-sse-local",
                "max_tokens": 12,
                "messages": [{"role": "user", "content": "Is each token its own chunk?"}],
            },
            timeout=30,
        ).json()
    assert seen["tokens"] == 12
    assert seen["finish"] == "length"
    assert seen["error"] is None
    assert seen["text"] == buffered["choices"][0]["message"]["content"]
