"""Channels under ``lambda-sse dev``: every function gets ``LAMBDA_SSE_CHANNELS_URL``.

By default an SQLite file under the project's ``.lambda-sse/`` (so a publisher function and a
subscriber function share channels with nothing to install); a function whose config sets the
variable keeps it, and ``--channels-url`` points every function at one backend regardless. Pure:
a project in, a project out.

One exception to "the config wins": a ``dynamodb://`` URL without ``endpoint_url`` names a table
on AWS, which functions under ``dev`` cannot reach (they run with placeholder credentials), so
such a function gets the SQLite default too. A config can thus name its deployed table and
still run locally with nothing to install; ``--channels-url dynamodb://T?endpoint_url=...``
points every function at a local DynamoDB-compatible server instead.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lambda_sse.local.model import ProjectConfig

__all__ = [
    "CHANNELS_DIR",
    "ENV_VAR",
    "aws_table_notice",
    "default_channels_url",
    "names_an_aws_table",
    "with_channels_url",
]

ENV_VAR = "LAMBDA_SSE_CHANNELS_URL"
CHANNELS_DIR = ".lambda-sse"


def default_channels_url(project: ProjectConfig) -> str:
    """``sqlite:////ABS/PROJECT/.lambda-sse/channels.db`` (four slashes: an absolute path)."""
    folder = Path(project.source).resolve().parent / CHANNELS_DIR
    return f"sqlite:///{folder / 'channels.db'}"


def names_an_aws_table(url: str) -> bool:
    """A ``dynamodb://`` URL that would reach AWS itself (no ``endpoint_url`` option)."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() == "dynamodb" and not parse_qs(parts.query).get("endpoint_url")


def aws_table_notice(project: ProjectConfig, override: str | None = None) -> str | None:
    """The console line saying which functions' configured DynamoDB table is replaced by the
    local default, or None when none is."""
    if override is not None:
        return None
    replaced = [
        fn.name for fn in project.functions if names_an_aws_table(fn.environment.get(ENV_VAR, ""))
    ]
    if not replaced:
        return None
    return (
        f"channels: {', '.join(replaced)} name a DynamoDB table on AWS in {ENV_VAR}; "
        f"locally they use {default_channels_url(project)} "
        "(--channels-url URL to choose another backend)"
    )


def with_channels_url(project: ProjectConfig, override: str | None = None) -> ProjectConfig:
    """``project`` with ``LAMBDA_SSE_CHANNELS_URL`` in every function's environment:
    ``override`` (``--channels-url``) wins over the config, which wins over the default unless
    it names a DynamoDB table on AWS."""
    default = override or default_channels_url(project)
    functions = []
    for fn in project.functions:
        configured = fn.environment.get(ENV_VAR)
        if override is None and configured and not names_an_aws_table(configured):
            functions.append(fn)
            continue
        environment = {**fn.environment, ENV_VAR: default}
        functions.append(dataclasses.replace(fn, environment=environment))
    return dataclasses.replace(project, functions=tuple(functions))
