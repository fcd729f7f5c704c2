"""Function URL CORS in a real browser: Debian's Chromium, headless, loads a page from another
loopback origin (another port) and reads the URL of `lambda-sse dev` with EventSource and a JSON
fetch() POST (which needs a preflight). The URL's config allows one page's origin: that page gets
the stream, the exposed header and the POST's answer; a page on another port is refused by the
browser, and its preflighted POST never reaches the function."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.examples.devserver import DevServer, dev_server
from tests.examples.test_browser import browser_page

PROJECT = Path(__file__).parent / "projects" / "auth"
PAGE = b"""<!doctype html><meta charset="utf-8"><title>cross-origin</title><script>
const target = new URLSearchParams(location.search).get("target");
window.result = {events: [], streamError: false, fetch: null, pending: 2};
const finish = () => { window.result.pending -= 1; };
const source = new EventSource(target + "/events?count=2");
source.addEventListener("caller", () => window.result.events.push("caller"));
source.onmessage = (e) => {
  window.result.events.push(e.data);
  if (e.data === "step 2") { source.close(); finish(); }
};
source.onerror = () => {
  if (window.result.events.length > 0) return;
  window.result.streamError = true;
  source.close();
  finish();
};
fetch(target + "/ask?count=1", {
  method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify({q: "hi"}),
}).then(async (r) => {
  window.result.fetch = {status: r.status, feed: r.headers.get("x-feed"), body: await r.text()};
}).catch((err) => { window.result.fetch = {error: String(err)}; }).finally(finish);
</script>"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def page_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def project_allowing(origin: str, destination: Path) -> Path:
    target = destination / "auth"
    target.mkdir()
    (target / "app.py").write_text((PROJECT / "app.py").read_text())
    config = yaml.safe_load((PROJECT / "serverless.yml").read_text())
    config["functions"]["feed"]["url"]["cors"]["allowedOrigins"] = [origin]
    (target / "serverless.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def run_page(profile: Path, page: str, server: DevServer) -> dict[str, Any]:
    with browser_page(profile) as browser:
        browser.goto(f"{page}/?target={server.url(1)}")
        browser.wait_for_function("window.result && window.result.pending === 0", timeout=30_000)
        result: dict[str, Any] = browser.evaluate("window.result")
        return result


@pytest.mark.slow
@pytest.mark.needs_chromium
def test_event_source_and_fetch_from_another_origin(tmp_path: Path) -> None:
    with page_server() as allowed_port, page_server() as other_port:
        allowed = f"http://127.0.0.1:{allowed_port}"
        project = project_allowing(allowed, tmp_path)
        with dev_server(project, tmp_path, url_functions=2) as server:
            ok = run_page(tmp_path / "profile-1", allowed, server)
            refused = run_page(tmp_path / "profile-2", f"http://127.0.0.1:{other_port}", server)
            log = server.output()
    assert ok["events"] == ["caller", "step 1", "step 2"], ok
    assert not ok["streamError"]
    assert ok["fetch"]["status"] == 200, ok
    assert ok["fetch"]["feed"] == "yes"  # readable only because the URL exposes it
    assert '"method": "POST"' in ok["fetch"]["body"]
    assert refused["streamError"], refused
    assert refused["events"] == []
    assert "error" in refused["fetch"], refused
    # Two preflights (one per page's POST), answered by the URL itself; only the allowed page's
    # POST reached the function.
    assert log.count("preflight, not invoked") == 2, log
    assert log.count("POST   /ask?count=1") == 1, log
