"""Fixtures for the runtime tests: the shared strict Runtime API server."""

from __future__ import annotations

from tests.support.runtime_api import runtime_api

__all__ = ["runtime_api"]
