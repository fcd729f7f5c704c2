"""Project config for the emulator: serverless.yml or template.yaml to a ProjectConfig.

``load_project(dir)`` reads ``serverless.yml`` (also ``.yaml``) when the folder has one, else
``template.yaml`` (also ``.yml``); ``config_file`` names one explicitly. The file type is told by
its content: a ``service:`` key means the Serverless Framework, ``Resources:`` means SAM.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from lambda_sse.local.config.common import ConfigFileError
from lambda_sse.local.config.sam import load_sam
from lambda_sse.local.config.serverless import load_serverless
from lambda_sse.local.config.yamlload import load_yaml
from lambda_sse.local.model import ProjectConfig

__all__ = ["CONFIG_NAMES", "ConfigFileError", "find_config", "load_project"]

CONFIG_NAMES = ("serverless.yml", "serverless.yaml", "template.yaml", "template.yml")


def find_config(directory: Path, config_file: str | Path | None = None) -> Path:
    if config_file is not None:
        path = Path(config_file)
        if not path.is_absolute():
            path = directory / path
        if not path.is_file():
            raise ConfigFileError(
                f"{path}: no such config file; check --config", file=str(path), key=None
            )
        return path
    if not directory.is_dir():
        raise ConfigFileError(
            f"{directory}: not a folder; give the project folder", file=str(directory)
        )
    for name in CONFIG_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise ConfigFileError(
        f"{directory}: no serverless.yml or template.yaml here; run in the project folder or "
        "pass --config FILE",
        file=str(directory),
    )


def load_project(
    directory: str | Path,
    config_file: str | Path | None = None,
    *,
    options: Mapping[str, str] | None = None,
) -> ProjectConfig:
    """Read the project's config. ``options`` are the Framework's CLI options (``stage``,
    ``region``) for ``${opt:...}``; for SAM, ``region`` and ``Parameter.<Name>`` overrides."""
    path = find_config(Path(directory), config_file)
    options = options or {}
    document = load_yaml(path)
    is_sam = isinstance(document, Mapping) and "Resources" in document and "service" not in document
    if is_sam or (not isinstance(document, Mapping) and path.name.startswith("template")):
        overrides = {
            k.removeprefix("Parameter."): v
            for k, v in options.items()
            if k.startswith("Parameter.")
        }
        project = load_sam(path, region=options.get("region", "us-east-1"), overrides=overrides)
    else:
        project = load_serverless(path, options=options)
    _check_unique_routes(project)
    return project


def _check_unique_routes(project: ProjectConfig) -> None:
    """API Gateway has one integration per method of a resource (and an HTTP API one per route
    key): two functions on the same method and path cannot both be deployed."""
    owners: dict[tuple[str, str, str], str] = {}
    for fn in project.functions:
        for route in fn.routes:
            # Path parameters match whatever their names: /items/{id} is /items/{name}.
            shape = re.sub(r"\{[^}]*?(\+?)\}", r"{\1}", route.path)
            key = (route.kind, route.method, shape)
            other = owners.setdefault(key, fn.name)
            if other != fn.name:
                api = "REST API" if route.kind == "rest" else "HTTP API"
                raise ConfigFileError(
                    f"{project.source.name}: functions {other!r} and {fn.name!r} both declare "
                    f"{route.method} {route.path} on the {api}; AWS refuses the second "
                    "deployment: give one of them another path or method",
                    file=str(project.source),
                    key=f"functions.{fn.name}",
                )
