"""The jobs page in a real browser (Debian's Chromium, headless, through Playwright) against
``lambda-sse dev`` with no options: five jobs at once, each feed cut by the API function's
deadline again and again, and every step shown exactly once.

The API function gets a 4 s timeout and ends each stream 2.5 s before it (so about 1.5 s in),
after a ``retry: 1000`` hint; a job of 20 steps 500 ms apart lasts 10 s, so every feed is cut at
least 3 times and the browser reconnects with ``Last-Event-ID`` each time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.examples.devserver import DevServer, copy_example, dev_server
from tests.examples.test_browser import browser_page

JOBS, STEPS, INTERVAL_MS = 5, 20, 500
TIMEOUT_MS = 90_000


def run_jobs(server: DevServer, url: str, profile: Path, screenshot: Path | None) -> Any:
    with browser_page(profile) as page:
        page.goto(url)
        page.fill("#steps", str(STEPS))
        page.fill("#interval", str(INTERVAL_MS))
        page.click("#start5")
        page.wait_for_function(f"Object.keys(window.jobs).length === {JOBS}", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "Object.values(window.jobs).every((j) => j.final)", timeout=TIMEOUT_MS
        )
        for bar in page.locator(".job .track").all():
            assert bar.get_attribute("aria-valuenow") == "100"
        assert page.locator(".job .state").all_inner_texts() == ["done"] * JOBS
        assert page.locator("#error").inner_text() == ""
        if screenshot is not None:
            page.wait_for_timeout(300)  # the bars animate their width
            page.screenshot(path=str(screenshot), full_page=True)
        jobs = page.evaluate("window.jobs")
        # A reload follows no finished job again (they are remembered as done).
        page.reload()
        page.wait_for_load_state("load")
        assert page.evaluate("Object.keys(window.jobs).length") == 0
        return jobs


@pytest.mark.slow
def test_five_jobs_survive_repeated_deadline_cuts(tmp_path: Path) -> None:
    project = copy_example(
        "jobs",
        tmp_path,
        environment={"JOBS_DEADLINE_MARGIN": "2.5"},
        timeouts={"api": 4},
    )
    screenshot = tmp_path / "jobs.png"
    with dev_server(project, tmp_path) as server:
        jobs = run_jobs(server, f"{server.rest}/dev/", tmp_path / "profile", screenshot)
        log = server.output()
    assert len(jobs) == JOBS
    for job in jobs.values():
        progress = [e for e in job["events"] if e["type"] == "progress"]
        # Every step exactly once, in order, each with its own increasing id.
        assert [e["step"] for e in progress] == list(range(1, STEPS + 1)), job
        assert job["steps"] == list(range(1, STEPS + 1))
        ids = [int(e["id"]) for e in job["events"]]
        assert ids == sorted(set(ids)), job
        assert [e["type"] for e in job["events"]] == ["queued"] + ["progress"] * STEPS + ["done"]
        assert job["final"] == "done"
        # At least 3 forced reconnects: 4 connections or more, each cut seen by the page.
        assert job["opens"] >= 4, job
        assert job["errors"] >= job["opens"] - 1, job
    assert log.count("Invoke/Event -> worker") == JOBS
    assert screenshot.stat().st_size > 10_000


@pytest.mark.slow
def test_a_reload_mid_job_picks_the_job_up_again(tmp_path: Path) -> None:
    """Close the laptop, come back: the page remembers the unfinished job, follows it again
    from the channel's start and ends with every step once."""
    steps = 12
    project = copy_example("jobs", tmp_path)
    with dev_server(project, tmp_path) as server, browser_page(tmp_path / "profile") as page:
        page.goto(f"{server.rest}/dev/")
        page.fill("#steps", str(steps))
        page.fill("#interval", "300")
        page.click("#start")
        page.wait_for_function(
            "Object.values(window.jobs).some((j) => j.steps.length >= 3)", timeout=TIMEOUT_MS
        )
        before = page.evaluate("window.jobs")
        page.reload()
        page.wait_for_function(
            "Object.values(window.jobs).every((j) => j.final === 'done')", timeout=TIMEOUT_MS
        )
        after = page.evaluate("window.jobs")
        # A remembered job the server no longer knows (expired): 404, shown closed, forgotten.
        gone = "f" * 32
        page.evaluate(
            f"localStorage.setItem('lambda-sse-jobs', JSON.stringify([{{id: '{gone}'}}]))"
        )
        page.reload()
        page.wait_for_function(f"window.jobs['{gone}'].errors > 0", timeout=TIMEOUT_MS)
        assert page.locator(".job .state").all_inner_texts() == ["closed"]
        stored = page.evaluate("JSON.parse(localStorage.getItem('lambda-sse-jobs'))")
        assert stored == [{"id": gone, "final": "closed"}]
    assert list(after) == list(before)  # the same job, found in localStorage
    (job,) = after.values()
    assert job["steps"] == list(range(1, steps + 1))
    assert job["opens"] == 1
