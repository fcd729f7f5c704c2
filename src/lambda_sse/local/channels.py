"""Channels under ``lambda-sse dev``: every function gets ``LAMBDA_SSE_CHANNELS_URL``.

By default an SQLite file under the project's ``.lambda-sse/`` (so a publisher function and a
subscriber function share channels with nothing to install); a function whose config sets the
variable keeps it, and ``--channels-url`` points every function at one backend regardless. Pure:
a project in, a project out.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lambda_sse.local.model import ProjectConfig

__all__ = ["CHANNELS_DIR", "ENV_VAR", "default_channels_url", "with_channels_url"]

ENV_VAR = "LAMBDA_SSE_CHANNELS_URL"
CHANNELS_DIR = ".lambda-sse"


def default_channels_url(project: ProjectConfig) -> str:
    """``sqlite:////ABS/PROJECT/.lambda-sse/channels.db`` (four slashes: an absolute path)."""
    folder = Path(project.source).resolve().parent / CHANNELS_DIR
    return f"sqlite:///{folder / 'channels.db'}"


def with_channels_url(project: ProjectConfig, override: str | None = None) -> ProjectConfig:
    """``project`` with ``LAMBDA_SSE_CHANNELS_URL`` in every function's environment:
    ``override`` (``--channels-url``) wins over the config, which wins over the default."""
    default = override or default_channels_url(project)
    functions = []
    for fn in project.functions:
        if override is None and fn.environment.get(ENV_VAR):
            functions.append(fn)
            continue
        environment = {**fn.environment, ENV_VAR: default}
        functions.append(dataclasses.replace(fn, environment=environment))
    return dataclasses.replace(project, functions=tuple(functions))
