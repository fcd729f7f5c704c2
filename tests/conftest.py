"""Shared test rules.

Tests that need an outside tool (Node.js, curl, Chromium) call :func:`require_tool`: on a
developer's machine without it they skip and say what to install; under ``CI=true`` a missing
tool is a failure, because CI must run every test.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

INSTALL_HINTS = {
    "node": "install Node.js 20+ with npm (Debian: apt-get install nodejs npm)",
    "npm": "install Node.js 20+ with npm (Debian: apt-get install nodejs npm)",
    "curl": "install curl (Debian: apt-get install curl)",
    "chromium": "install Chromium (Debian: apt-get install chromium)",
    "unzip": "install unzip (Debian: apt-get install unzip)",
    "redis-server": "install Redis (Debian: apt-get install redis-server)",
}


def require_tool(name: str, path: str | None = None) -> str:
    """Return the tool's path, or skip (fail under CI) with the way to install it."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    if found:
        return found
    hint = INSTALL_HINTS.get(name, f"install {name}")
    message = f"{name} not found: {hint}, or run ./scripts/test which sets it up"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests use ``@pytest.mark.anyio`` and run on asyncio."""
    return "asyncio"
