"""The rule every test needing an outside tool relies on: skip locally, fail under CI=true, and
say what really installs the missing piece."""

from __future__ import annotations

import shutil

import pytest

from tests import conftest


def test_missing_tool_skips_locally_with_the_script_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conftest, "IN_CI", False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception) as info:
        conftest.require_tool("no-such-tool-lambda-sse", "/nonexistent/tool")
    assert "no-such-tool-lambda-sse not found" in str(info.value)
    with pytest.raises(pytest.skip.Exception) as info:
        conftest.require_tool("chromium", "/nonexistent/chromium-for-this-test")
    message = str(info.value)
    assert "scripts/install-system-deps" in message
    assert "./scripts/test" not in message  # it installs no browser


def test_missing_requirement_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true and aws-lambda-ric"):
        conftest.require("aws-lambda-ric is not installed", False, conftest.NODE_RIC_HINT)
    conftest.require("present", True, "never shown")  # no outcome when it is there


def test_hints_name_who_installs_each_tool() -> None:
    for tool in ("node", "npm", "curl", "chromium", "unzip"):
        assert "scripts/install-system-deps" in conftest.INSTALL_HINTS[tool]
    assert "./scripts/test installs it with npm" in conftest.NODE_RIC_HINT
