"""Every case of tests/sse/data/format_cases.json through a real browser's EventSource (Debian's
Chromium, headless, driven by Playwright), served over loopback HTTP: Chromium must see exactly the
events the data file expects, which are the events SSEDecoder yields. This keeps the hand-typed
expectations honest against a shipping implementation of the spec."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.sse import SSEDecoder
from tests.conftest import require_tool

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "format_cases.json").read_text(encoding="utf-8")
)["cases"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

# For each case: open an EventSource, listen for every type that may occur, and stop at the first
# error, which is the end of the body (the browser would reconnect after it).
COLLECT = """
async (cases) => {
  const results = [];
  for (const c of cases) {
    results.push(await new Promise((resolve) => {
      const got = [];
      const source = new EventSource(`/case/${c.index}`);
      const timer = setTimeout(() => { source.close(); resolve({timeout: true, got}); }, 5000);
      const record = (e) => got.push({type: e.type, data: e.data, lastEventId: e.lastEventId});
      for (const type of c.types) source.addEventListener(type, record);
      source.onerror = () => { clearTimeout(timer); source.close(); resolve({got}); };
    }));
  }
  return results;
}
"""


def _body(case: dict[str, Any]) -> bytes:
    if "input_latin1" in case:
        return str(case["input_latin1"]).encode("latin-1")
    return str(case["input"]).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: the body ends when the connection closes, like a stream that ends.
    def do_GET(self) -> None:
        if self.path == "/":
            page = b"<!doctype html><title>parity</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        index = int(self.path.rsplit("/", 1)[-1])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(_body(CASES[index]))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _ours(case: dict[str, Any]) -> list[dict[str, str]]:
    decoder = SSEDecoder()
    return [
        {"type": e.event or "", "data": e.data or "", "lastEventId": e.id or ""}
        for e in decoder.feed(_body(case))
    ]


@pytest.mark.slow
def test_chromium_eventsource_sees_what_the_data_file_expects(server: str, tmp_path: Path) -> None:
    chromium = require_tool("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    jobs = [
        {
            "index": i,
            "types": sorted(
                {"message"} | {e["type"] for e in case["events"]} | {e["type"] for e in _ours(case)}
            ),
        }
        for i, case in enumerate(CASES)
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.goto(server + "/")
            results = page.evaluate(COLLECT, jobs)
        finally:
            browser.close()

    mismatches = []
    for case, result in zip(CASES, results, strict=True):
        assert not result.get("timeout"), f"{case['name']}: the stream never ended"
        if result["got"] != case["events"]:
            mismatches.append(f"{case['name']}: chromium {result['got']} != {case['events']}")
        if _ours(case) != case["events"]:
            mismatches.append(f"{case['name']}: SSEDecoder {_ours(case)} != {case['events']}")
    assert not mismatches, "\n".join(mismatches)
