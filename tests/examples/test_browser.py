"""The FastAPI example's progress page in a real browser: Debian's Chromium, headless, driven by
Playwright for Python, reading the feed with its own EventSource through `lambda-sse dev`.

The cut test gives the function a 6 s timeout: EventSourceResponse ends each stream about 1 s in
(5 s before the deadline) after a retry hint, Chromium reconnects with Last-Event-ID, and the
page must show every step exactly once and reach 100%.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool
from tests.examples.devserver import DevServer, copy_example, dev_server

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 60_000


@contextmanager
def browser_page(profile: Path) -> Iterator[Any]:
    """A page in a fresh Chromium profile; the browser is always closed."""
    chromium = require_tool("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 880, "height": 820},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


def run_page(server: DevServer, url: str, profile: Path, screenshot: Path | None) -> Any:
    with browser_page(profile) as page:
        page.goto(url)
        done = "window.progress && window.progress.complete"
        page.wait_for_function(done, timeout=PAGE_TIMEOUT_MS)
        assert page.locator("#pct").inner_text() == "100%"
        assert page.get_attribute("#bar", "aria-valuenow") == "100"
        assert page.locator("#state").inner_text() == "complete"
        assert page.locator("#message").inner_text() == "All steps done"
        # The bar animates its width: let it settle before the picture.
        filled = (
            "(() => { const f = document.getElementById('fill').getBoundingClientRect();"
            " const t = document.getElementById('bar').getBoundingClientRect();"
            " return f.width >= t.width - 0.5; })()"
        )
        page.wait_for_function(filled, timeout=5_000)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        return page.evaluate("window.progress")


@pytest.mark.slow
def test_page_resumes_across_deadline_cuts(tmp_path: Path) -> None:
    steps = 12
    project = copy_example(
        "fastapi",
        tmp_path,
        environment={"PROGRESS_STEPS": str(steps), "PROGRESS_STEP_SECONDS": "0.25"},
        timeouts={"app": 6},
    )
    screenshot = tmp_path / "quickstart-progress.png"
    with dev_server(project, tmp_path) as server:
        progress = run_page(server, f"{server.rest}/dev/", tmp_path / "profile", screenshot)
    assert progress["steps"] == list(range(1, steps + 1)), progress
    # The deadline cut the feed at least once, and the browser came back each time.
    assert progress["opens"] >= 2, progress
    assert progress["errors"] >= progress["opens"] - 1, progress  # each cut was seen
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


@pytest.mark.slow
def test_page_through_the_function_url_in_one_go(tmp_path: Path) -> None:
    steps = 10
    project = copy_example(
        "fastapi",
        tmp_path,
        environment={"PROGRESS_STEPS": str(steps), "PROGRESS_STEP_SECONDS": "0.1"},
    )
    with dev_server(project, tmp_path) as server:
        progress = run_page(server, f"{server.url(1)}/", tmp_path / "profile", None)
    expected = {"steps": list(range(1, steps + 1)), "opens": 1, "errors": 0, "complete": True}
    assert progress == expected
