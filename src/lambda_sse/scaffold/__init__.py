"""``lambda-sse init [DIR] [--template quickstart|fastapi] [--sam]``: a project that works at once.

It writes the handler, the deployment config (``serverless.yml``, or ``template.yaml`` with
``--sam``) with timeouts fit for streaming and lambda-sse's exec-wrapper, ``requirements.txt``,
a test that runs the handler through :mod:`lambda_sse.testing`, and a ``.gitignore``. The
templates are package data (``templates/<name>/``, plus ``templates/common/``), each file
stored with a ``.tmpl`` suffix so that no tool takes them for this package's own code.

Nothing is overwritten: when DIR holds any file this would write, nothing is written, the files
are named, and the command exits 2. Planning (:func:`plan`) only reads; :func:`write` writes.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from lambda_sse.errors import ScaffoldError

__all__ = ["TEMPLATES", "ScaffoldFile", "add_arguments", "plan", "run", "write"]

TEMPLATES = ("quickstart", "fastapi")
_SUFFIX = ".tmpl"
_CONFIGS = {"serverless.yml", "template.yaml"}
_RENAMED = {"gitignore": ".gitignore"}
EXIT_USAGE = 2


@dataclass(frozen=True)
class ScaffoldFile:
    path: Path  # relative to the project folder
    text: str


def _walk(folder: Traversable, prefix: Path = Path()) -> list[tuple[Path, Traversable]]:
    found: list[tuple[Path, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found.extend(_walk(entry, prefix / entry.name))
        elif entry.name.endswith(_SUFFIX):
            name = entry.name.removesuffix(_SUFFIX)
            found.append((prefix / _RENAMED.get(name, name), entry))
    return found


def service_name(directory: Path) -> str:
    """A Serverless service / stack-friendly name from the folder's: letters, digits, hyphens,
    starting with a letter."""
    words = re.findall(r"[A-Za-z0-9]+", directory.resolve().name)
    name = "-".join(words).lower() or "app"
    return name if name[0].isalpha() else f"app-{name}"


def plan(directory: Path, template: str = "quickstart", *, sam: bool = False) -> list[ScaffoldFile]:
    """The files ``init`` writes into ``directory`` (nothing is written)."""
    if template not in TEMPLATES:
        raise ScaffoldError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    root = resources.files("lambda_sse.scaffold") / "templates"
    name = service_name(directory)
    files: list[ScaffoldFile] = []
    for path, entry in [*_walk(root / "common"), *_walk(root / template)]:
        if path.name in _CONFIGS and path.name != ("template.yaml" if sam else "serverless.yml"):
            continue
        files.append(
            ScaffoldFile(path, entry.read_text(encoding="utf-8").replace("{{name}}", name))
        )
    return files


def write(directory: Path, files: list[ScaffoldFile]) -> list[Path]:
    """Write ``files`` under ``directory``, or nothing at all when any of them exists."""
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} is a file, not a folder; give init a folder")
    existing = [f.path for f in files if (directory / f.path).exists()]
    if existing:
        names = ", ".join(str(directory / p) for p in existing)
        raise ScaffoldError(
            f"{names} already exist{'s' if len(existing) == 1 else ''}; nothing was written "
            "(move them away, or choose an empty folder)"
        )
    written: list[Path] = []
    for item in files:
        target = directory / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.text, encoding="utf-8")
        written.append(target)
    return written


# ---------------------------------------------------------------------------------------------
# CLI (wired into cli.py as `lambda-sse init`)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write a working project into DIR: a streaming handler, serverless.yml (or template.yaml "
        "with --sam), requirements.txt and a test. Refuses to overwrite any file."
    )
    parser.add_argument(
        "directory", nargs="?", default=".", type=Path, metavar="DIR", help="project folder (.)"
    )
    parser.add_argument(
        "--template",
        choices=TEMPLATES,
        default="quickstart",
        help="quickstart: a streaming and a buffered handler; fastapi: one FastAPI app with a "
        "streamed SSE route and a buffered one (default quickstart)",
    )
    parser.add_argument(
        "--sam", action="store_true", help="write an AWS SAM template.yaml, not serverless.yml"
    )


def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    try:
        written = write(directory, plan(directory, args.template, sam=args.sam))
    except ScaffoldError as exc:
        print(f"lambda-sse init: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"lambda-sse init: error: cannot write into {directory}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(f"wrote {path}")
    where = "" if directory.resolve() == Path.cwd() else f" {directory}"
    deps = " fastapi" if args.template == "fastapi" else ""
    steps = [
        (f"pip install pytest{deps}", "lambda-sse[local] is installed already"),
        (f"python -m pytest{where}", "the test, through lambda-sse's runtime"),
        (f"lambda-sse dev{where}", "serve it locally"),
        (f"lambda-sse package{where}", "build .lambda-sse/package.zip to deploy"),
    ]
    width = max(len(command) for command, _ in steps)
    print("\nnext:")
    for command, why in steps:
        print(f"  {command:<{width}}  # {why}")
    return 0
