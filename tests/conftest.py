"""Shared test rules.

Tests that need something outside the Python environment (Node.js, curl, Chromium, AWS's Node.js
runtime client, a base interpreter without lambda_sse) call :func:`require_tool` or
:func:`require`: on a developer's machine without it they skip and say what installs it; under
``CI=true`` a missing requirement is a failure, because CI must run every test.

Who installs what: ``scripts/install-system-deps`` (run as root; ``.ci/run`` runs it first)
installs Debian's ``curl``, ``unzip``, ``chromium``, ``nodejs``/``npm`` and the autotools, cmake,
make and g++ that the native build of AWS's Node.js client needs; ``./scripts/test`` then installs
only the npm package ``aws-lambda-ric`` into tests/node and the Python packages of the ``dev``
extra (playwright drives Debian's Chromium; it downloads no browser).
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

_SYSTEM_DEPS = "run `sudo scripts/install-system-deps` (as .ci/run does)"
INSTALL_HINTS = {
    "node": f"{_SYSTEM_DEPS}, or apt-get install nodejs npm",
    "npm": f"{_SYSTEM_DEPS}, or apt-get install nodejs npm",
    "curl": f"{_SYSTEM_DEPS}, or apt-get install curl",
    "chromium": f"{_SYSTEM_DEPS}, or apt-get install chromium",
    "unzip": f"{_SYSTEM_DEPS}, or apt-get install unzip",
    "redis-server": f"{_SYSTEM_DEPS}, or apt-get install redis-server",
}
NODE_RIC_HINT = (
    "./scripts/test installs it with npm (or run `cd tests/node && npm install`); its native "
    f"build needs node, npm, autotools, cmake and g++: {_SYSTEM_DEPS}"
)


def require(what: str, available: bool, hint: str) -> None:
    """Skip (fail under CI) unless ``available``; the message says ``what`` is missing and
    ``hint`` how to get it."""
    if available:
        return
    message = f"{what}: {hint}"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def require_tool(name: str, path: str | None = None) -> str:
    """Return the tool's path, or skip (fail under CI) with the way to install it."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    require(f"{name} not found", found is not None, INSTALL_HINTS.get(name, f"install {name}"))
    assert found is not None
    return found


@pytest.fixture
def anyio_backend() -> str:
    """Async tests use ``@pytest.mark.anyio`` and run on asyncio."""
    return "asyncio"
