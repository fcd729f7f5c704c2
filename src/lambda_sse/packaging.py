"""``lambda-sse package``: build the deployable zip of a function folder.

The zip holds, at its root (Lambda's ``/var/task``):

- ``bootstrap``, a copy of ``lambda_sse/runtime/bootstrap``, for the custom runtimes
  (``provided.al2023``), unless the function folder has its own;
- the function's own files (``handler.py`` ...), minus caches, virtualenvs, build output and
  the deployment descriptors (serverless.yml, template.yaml, samconfig.toml);
- ``lambda_sse/`` with the standard-library layers only (``sse``, ``runtime``, ``events``,
  ``asgi``, ``channels`` and the top-level modules they need; the channels' Redis backend
  needs redis-py, which comes from the function's requirements.txt). ``local/``, ``cli.py``
  and this module stay out: they run on a developer's machine and need third-party packages;
- the dependencies of ``requirements.txt``, installed by pip for the Lambda platform
  (``--platform manylinux... --only-binary=:all: --python-version 3.12 --implementation cp``),
  never for the machine that builds the zip.

The archive is reproducible: entries sorted by name, one fixed timestamp (``SOURCE_DATE_EPOCH``
when set, else 1980-01-01, the earliest a zip can store), and Unix modes 0755 or 0644 written into
``external_attr`` so that ``lambda_sse/runtime/exec-wrapper`` and ``bootstrap`` stay executable
(Lambda unzips with the modes the archive records; a wrapper without its execute bit fails init
with ``Runtime.InvalidEntrypoint``/``permission denied``).

With ``--compile`` the zip also carries byte code for every module (Lambda's ``/var/task`` is
read-only, so Python would otherwise compile them again at every cold start).

The planning half (which files go where, with which mode) only reads the disk; :func:`run`,
:func:`install_requirements`, :func:`compile_entries` and :func:`write_zip` write files or start
processes.

Why this module is longer than 400 lines: one command; its planning half and its writing half
share the file rules and are read together.
"""

from __future__ import annotations

import argparse
import os
import py_compile
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambda_sse.aws import UNZIPPED_LIMIT, ZIP_LIMIT  # Lambda's package quotas
from lambda_sse.errors import LambdaSSEError, PackagingError

__all__ = [
    "DEFAULT_OUTPUT",
    "RUNTIME_LAYERS",
    "PackageResult",
    "PackagingError",
    "ZipEntry",
    "add_arguments",
    "build_package",
    "collect_tree",
    "compile_entries",
    "config_checks",
    "config_defaults",
    "pip_install_command",
    "platform_tags",
    "run",
    "runtime_entries",
    "write_zip",
]

# Relative to the function folder. Gitignored by the project; Serverless' `package.artifact` and
# SAM's `CodeUri` in the examples point here.
DEFAULT_OUTPUT = Path(".lambda-sse") / "package.zip"

# What of lambda_sse goes into the zip: the stdlib-only layers (ARCHITECTURE.md).
RUNTIME_LAYERS = ("sse", "runtime", "events", "asgi", "wsgi", "channels")
RUNTIME_TOP_LEVEL = ("__init__.py", "_version.py", "aws.py", "errors.py", "py.typed")
ROOT_BOOTSTRAP = "bootstrap"

# Never packaged, wherever they occur in the function folder.
EXCLUDED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".venv",
        "venv",
        "node_modules",
        ".serverless",
        ".aws-sam",
        ".lambda-sse",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        ".idea",
        ".vscode",
    }
)
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
EXCLUDED_NAMES = frozenset({".DS_Store", ".coverage"})
# Deployment descriptors at the top of the folder describe the zip; they are not code.
EXCLUDED_TOP_LEVEL = frozenset(
    {"serverless.yml", "serverless.yaml", "template.yaml", "template.yml", "samconfig.toml"}
)

# Lambda's architecture names to the wheel platforms' machine names.
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}

# The zip format cannot store times before 1980.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

MODE_EXECUTABLE = 0o755
MODE_REGULAR = 0o644


@dataclass(frozen=True)
class ZipEntry:
    """One file of the archive: where it goes, where it comes from, and its Unix mode."""

    name: str  # POSIX path inside the zip
    source: Path
    mode: int  # MODE_EXECUTABLE or MODE_REGULAR


# ---------------------------------------------------------------------------------------------
# Planning (pure apart from reading directory listings and modes)


def _mode_of(path: Path) -> int:
    return MODE_EXECUTABLE if path.stat().st_mode & 0o111 else MODE_REGULAR


def _excluded(relative: Path) -> bool:
    if any(part in EXCLUDED_DIRS for part in relative.parts[:-1]):
        return True
    name = relative.name
    return name in EXCLUDED_NAMES or name.endswith(EXCLUDED_SUFFIXES)


def collect_tree(
    root: Path, prefix: str = "", skip: Iterable[Path] = (), *, function_root: bool = False
) -> list[ZipEntry]:
    """Every file under ``root`` that belongs in a Lambda zip, named ``prefix + relative``.

    ``skip`` holds absolute paths left out as well (the output zip itself when it lives inside
    the folder). ``function_root`` also leaves out the deployment descriptors at the top
    (serverless.yml, template.yaml, samconfig.toml). Symbolic links are followed, as the
    Serverless Framework does.
    """
    skipped = {p.resolve() for p in skip}
    if function_root:
        skipped |= {(root / name).resolve() for name in EXCLUDED_TOP_LEVEL}
    entries: list[ZipEntry] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for filename in sorted(filenames):
            path = here / filename
            relative = path.relative_to(root)
            if _excluded(relative) or path.resolve() in skipped or not path.is_file():
                continue
            entries.append(ZipEntry(prefix + relative.as_posix(), path, _mode_of(path)))
    return entries


def runtime_entries(package_dir: Path | None = None) -> list[ZipEntry]:
    """The files of lambda_sse that run inside Lambda, taken from the installed package."""
    if package_dir is None:
        import lambda_sse

        package_dir = Path(lambda_sse.__file__).resolve().parent
    entries: list[ZipEntry] = []
    for name in RUNTIME_TOP_LEVEL:
        path = package_dir / name
        if path.is_file():
            entries.append(ZipEntry(f"lambda_sse/{name}", path, _mode_of(path)))
    for layer in RUNTIME_LAYERS:
        layer_dir = package_dir / layer
        if layer_dir.is_dir():
            entries.extend(collect_tree(layer_dir, prefix=f"lambda_sse/{layer}/"))
    if not any(e.name == "lambda_sse/runtime/__init__.py" for e in entries):
        raise PackagingError(
            f"{package_dir} has no runtime/ layer: reinstall lambda-sse (pip install -e .)"
        )
    # A custom runtime (provided.al2023) starts /var/task/bootstrap: put a copy at the root.
    bootstrap = package_dir / "runtime" / "bootstrap"
    if bootstrap.is_file():
        entries.append(ZipEntry(ROOT_BOOTSTRAP, bootstrap, _mode_of(bootstrap)))
    return entries


def merge_entries(
    code: Sequence[ZipEntry], runtime: Sequence[ZipEntry], deps: Sequence[ZipEntry]
) -> list[ZipEntry]:
    """One sorted list. A name that two sources both provide is an error, not a silent pick:
    which copy wins on Lambda would depend on the order we happened to write them in."""
    by_name: dict[str, tuple[str, ZipEntry]] = {}
    clashes: list[str] = []
    for origin, group in (("function", code), ("lambda_sse", runtime), ("requirements", deps)):
        for entry in group:
            previous = by_name.get(entry.name)
            if previous is not None:
                clashes.append(f"{entry.name} (from {previous[0]} and {origin})")
                continue
            by_name[entry.name] = (origin, entry)
    if clashes:
        shown = ", ".join(clashes[:5]) + (" ..." if len(clashes) > 5 else "")
        raise PackagingError(
            f"the same file would come from two places: {shown}. Remove the copy from the "
            "function folder, or drop lambda-sse from requirements.txt (the package adds it)"
        )
    return [by_name[name][1] for name in sorted(by_name)]


def platform_tags(architecture: str, python_version: str) -> list[str]:
    """The wheel platform tags that run on Lambda's OS for this runtime.

    python3.12 and later run on Amazon Linux 2023 (glibc 2.34), earlier ones on Amazon Linux 2
    (glibc 2.26) (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). pip does
    not widen a ``manylinux_2_X`` tag to older glibc versions, so every one is listed.
    """
    machine = ARCHITECTURES.get(architecture)
    if machine is None:
        raise PackagingError(
            f"--arch {architecture!r} is not a Lambda architecture; use x86_64 or arm64"
        )
    major, minor = _parse_python_version(python_version)
    newest_glibc = 34 if (major, minor) >= (3, 12) else 26
    tags = [f"manylinux2014_{machine}"]
    tags += [f"manylinux_2_{v}_{machine}" for v in range(17, newest_glibc + 1)]
    return tags


def _parse_python_version(text: str) -> tuple[int, int]:
    parts = text.removeprefix("python").split(".")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise PackagingError(f"--python-version {text!r} is not like 3.12")
    return int(parts[0]), int(parts[1])


def pip_install_command(
    requirements: Path,
    target: Path,
    *,
    architecture: str,
    python_version: str,
    find_links: Sequence[str] = (),
    no_index: bool = False,
) -> list[str]:
    """The pip command that installs ``requirements`` for Lambda into ``target``."""
    major, minor = _parse_python_version(python_version)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(target), "--requirement", str(requirements)]
    for tag in platform_tags(architecture, python_version):
        command += ["--platform", tag]
    command += ["--only-binary=:all:", "--implementation", "cp"]
    command += ["--python-version", f"{major}.{minor}"]
    # Byte code compiled by this machine's Python is for the wrong version (and /var/task is
    # read-only on Lambda, so it would never be rewritten).
    command += ["--no-compile", "--upgrade"]
    for link in find_links:
        command += ["--find-links", link]
    if no_index:
        command.append("--no-index")
    return command


def check_requirements(path: Path) -> None:
    """Refuse a requirements file that asks for lambda-sse itself: the zip carries the copy the
    developer runs locally, and lambda-sse is not on the package index."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        name = line.split("#", 1)[0].strip().lower().replace("_", "-")
        if name == "lambda-sse" or name.startswith(("lambda-sse[", "lambda-sse=", "lambda-sse>")):
            raise PackagingError(
                f"{path}:{number} lists lambda-sse: remove that line, "
                "`lambda-sse package` adds lambda-sse's runtime to the zip itself"
            )


def check_compile_version(python_version: str) -> None:
    """Byte code is specific to one Python version (its magic number): only an interpreter of
    the target version can write pyc files Lambda's Python will load."""
    target = _parse_python_version(python_version)
    here = sys.version_info[:2]
    if here != target:
        raise PackagingError(
            f"--compile writes byte code for the Python that runs lambda-sse package "
            f"({here[0]}.{here[1]}), and the function runs {target[0]}.{target[1]}: run it with "
            f"Python {target[0]}.{target[1]}, or leave --compile out"
        )


# ---------------------------------------------------------------------------------------------
# I/O shells


def compile_entries(entries: Sequence[ZipEntry], workdir: Path) -> tuple[list[ZipEntry], int]:
    """pyc files for every ``.py`` entry, next to it in ``__pycache__`` as the import system
    looks for them; and how many sources did not compile (they are left to Lambda's Python).

    Lambda's ``/var/task`` is read-only, so without them every cold start compiles every module
    again. They are UNCHECKED_HASH pycs (PEP 552): loaded without comparing timestamps, which in
    the zip are all the same fixed date anyway.
    """
    tag = sys.implementation.cache_tag
    compiled: list[ZipEntry] = []
    failed = 0
    for entry in entries:
        if not entry.name.endswith(".py"):
            continue
        folder, _, filename = entry.name.rpartition("/")
        name = f"{folder + '/' if folder else ''}__pycache__/{filename[:-3]}.{tag}.pyc"
        target = workdir / name
        try:
            py_compile.compile(
                str(entry.source),
                cfile=str(target),
                dfile=entry.name,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except (py_compile.PyCompileError, UnicodeDecodeError, ValueError):
            failed += 1
            continue
        compiled.append(ZipEntry(name, target, MODE_REGULAR))
    return compiled, failed


def install_requirements(command: Sequence[str]) -> None:
    """Run pip; a failure becomes a PackagingError with pip's own last words."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, check=False)
    except OSError as exc:
        raise PackagingError(f"cannot run pip: {exc}") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise PackagingError(
            "pip could not install the requirements for Lambda "
            "(only wheels for the Lambda platform are accepted; a package without one needs a "
            f"Linux build, e.g. in a container):\n{tail}"
        )


def _date_time() -> tuple[int, int, int, int, int, int]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return ZIP_EPOCH
    try:
        t = time.gmtime(int(epoch))
    except (ValueError, OverflowError, OSError):
        raise PackagingError(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time") from None
    stamp = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    return max(ZIP_EPOCH, stamp)


def write_zip(entries: Iterable[ZipEntry], output: Path) -> int:
    """Write the archive atomically (a temporary file renamed over ``output``); return the
    uncompressed size."""
    output.parent.mkdir(parents=True, exist_ok=True)
    date_time = _date_time()
    total = 0
    fd, temporary = tempfile.mkstemp(prefix=".package-", suffix=".zip", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            for entry in entries:
                info = zipfile.ZipInfo(entry.name, date_time=date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so that external_attr carries the mode
                info.external_attr = (stat.S_IFREG | entry.mode) << 16
                data = entry.source.read_bytes()
                total += len(data)
                archive.writestr(info, data, compresslevel=9)
        os.replace(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return total


@dataclass(frozen=True)
class PackageResult:
    output: Path
    files: int
    unzipped_bytes: int
    zipped_bytes: int
    warnings: tuple[str, ...]


def build_package(
    source: Path,
    output: Path | None = None,
    *,
    requirements: Path | None = None,
    architecture: str = "x86_64",
    python_version: str = "3.12",
    find_links: Sequence[str] = (),
    no_index: bool = False,
    runtime_dir: Path | None = None,
    compile_bytecode: bool = False,
) -> PackageResult:
    """Build the zip for the function folder ``source``; see the module docstring.
    ``compile_bytecode`` adds pyc files (see :func:`compile_entries`)."""
    source = source.resolve()
    if not source.is_dir():
        raise PackagingError(f"{source} is not a directory: pass the folder of the function")
    output = (source / DEFAULT_OUTPUT) if output is None else output.resolve()
    if requirements is None and (source / "requirements.txt").is_file():
        requirements = source / "requirements.txt"
    platform_tags(architecture, python_version)  # validate before any work
    if compile_bytecode:
        check_compile_version(python_version)

    code = collect_tree(source, skip=[output], function_root=True)
    runtime = runtime_entries(runtime_dir)
    if any(e.name == ROOT_BOOTSTRAP for e in code):
        # The function brings its own bootstrap: it wins over lambda-sse's.
        runtime = [e for e in runtime if e.name != ROOT_BOOTSTRAP]
    with tempfile.TemporaryDirectory(prefix="lambda-sse-deps-") as tmp:
        deps: list[ZipEntry] = []
        if requirements is not None:
            if not requirements.is_file():
                raise PackagingError(f"requirements file {requirements} does not exist")
            check_requirements(requirements)
            target = Path(tmp)
            install_requirements(
                pip_install_command(
                    requirements,
                    target,
                    architecture=architecture,
                    python_version=python_version,
                    find_links=find_links,
                    no_index=no_index,
                )
            )
            # Console scripts carry this machine's interpreter path in their shebang: useless.
            deps = [e for e in collect_tree(target) if not e.name.startswith("bin/")]
        entries = merge_entries(code, runtime, deps)
        warnings: list[str] = []
        if compile_bytecode:
            pycache = Path(tmp) / ".pyc"
            compiled, failed = compile_entries(entries, pycache)
            entries = merge_entries(entries, [], compiled)
            if failed:
                warnings.append(f"{failed} Python files did not compile; they stay source only")
        unzipped = write_zip(entries, output)
    zipped = output.stat().st_size
    if zipped > ZIP_LIMIT:
        warnings.append(
            f"the zip is {zipped / 2**20:.1f} MB: over Lambda's 50 MB direct-upload limit, "
            "deploy it through S3 (both the Serverless Framework and SAM do)"
        )
    if unzipped > UNZIPPED_LIMIT:
        warnings.append(
            f"unzipped it is {unzipped / 2**20:.1f} MB: over Lambda's 250 MB limit, Lambda will "
            "refuse it; trim the requirements or use a container image"
        )
    return PackageResult(output, len(entries), unzipped, zipped, tuple(warnings))


def config_defaults(directory: Path) -> tuple[str | None, str | None, list[str]]:
    """The architecture and Python version that the folder's serverless.yml / template.yaml
    give its Python functions, when they all agree; plus warnings. ``(None, None, [])`` when
    there is no such file or the emulator's config reader (extra ``local``) is not installed."""
    try:
        from lambda_sse.local.config import CONFIG_NAMES, load_project
    except ImportError:
        return None, None, []
    if not any((directory / name).is_file() for name in CONFIG_NAMES):
        return None, None, []
    try:
        project = load_project(directory)
    except LambdaSSEError as exc:
        return None, None, [f"cannot read the deployment config, so the defaults apply: {exc}"]
    functions = [fn for fn in project.functions if fn.runtime.startswith("python")]
    warnings: list[str] = []
    found: list[str | None] = []
    for what, values, option in (
        ("architectures", {fn.architecture for fn in functions}, "--arch"),
        ("Python runtimes", {fn.runtime.removeprefix("python") for fn in functions}, None),
    ):
        if len(values) == 1:
            found.append(values.pop())
            continue
        found.append(None)
        if len(values) > 1:
            flag = option or "--python-version"
            warnings.append(
                f"{project.source.name} mixes {what} ({', '.join(sorted(values))}): one zip "
                f"cannot serve them all; pass {flag} and package each group separately"
            )
    return found[0], found[1], warnings


def config_checks(directory: Path) -> tuple[list[str], bool]:
    """What the folder's deployment config says before anything is built: one line per Python
    function whose handler cannot exist in the zip (no module file, a syntax error, no such name),
    and whether every Python function already sets lambda-sse's exec-wrapper. ``([], False)``
    without a config (or without the ``local`` extra that reads it)."""
    try:
        from lambda_sse.local.config import CONFIG_NAMES, load_project
        from lambda_sse.local.handlercheck import check_static
        from lambda_sse.local.runtimes import is_lambda_sse_wrapper
    except ImportError:
        return [], False
    if not any((directory / name).is_file() for name in CONFIG_NAMES):
        return [], False
    try:
        project = load_project(directory)
    except LambdaSSEError:
        return [], False  # config_defaults has said so already
    functions = [fn for fn in project.functions if fn.runtime.startswith("python")]
    found = (check_static(project, fn) for fn in functions)
    problems = [problem.brief() for problem in found if problem is not None]
    wrapped = bool(functions) and all(
        fn.exec_wrapper is not None and is_lambda_sse_wrapper(fn.exec_wrapper) for fn in functions
    )
    return problems, wrapped


# ---------------------------------------------------------------------------------------------
# CLI (wired into cli.py as `lambda-sse package`)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Build the deployable zip of a function folder: its files, lambda-sse's runtime and the "
        "requirements installed for Lambda's platform."
    )
    parser.add_argument(
        "directory",
        nargs="?",
        default=".",
        type=Path,
        help="the function folder (default: the current directory)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=f"where to write the zip (default: DIRECTORY/{DEFAULT_OUTPUT.as_posix()})",
    )
    parser.add_argument(
        "-r",
        "--requirements",
        type=Path,
        default=None,
        help="requirements file (default: DIRECTORY/requirements.txt when it exists)",
    )
    parser.add_argument(
        "--arch",
        choices=sorted(ARCHITECTURES),
        default=None,
        help="the function's architecture (default: what serverless.yml or template.yaml "
        "declares, else x86_64)",
    )
    parser.add_argument(
        "--python-version",
        default=None,
        help="the Lambda Python runtime the wheels are for (default: the declared runtime, "
        "else 3.12)",
    )
    parser.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="URL_OR_DIR",
        help="passed to pip: also look for wheels there (repeatable)",
    )
    parser.add_argument(
        "--no-index", action="store_true", help="passed to pip: do not use the package index"
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="add byte code (pyc) so Lambda's Python need not compile every module at each cold "
        "start; needs lambda-sse package to run on the function's Python version",
    )


def _report(result: PackageResult, wrapper_set: bool) -> Iterator[str]:
    yield (
        f"wrote {result.output} ({result.files} files, "
        f"{result.zipped_bytes / 1024:.0f} KiB zipped, {result.unzipped_bytes / 1024:.0f} KiB "
        "unzipped)"
    )
    if not wrapper_set:
        yield (
            "deploy it on a python3.x runtime with the environment variable "
            "AWS_LAMBDA_EXEC_WRAPPER=/var/task/lambda_sse/runtime/exec-wrapper"
        )


def run(args: argparse.Namespace) -> int:
    declared_arch, declared_python, notes = config_defaults(Path(args.directory))
    architecture = args.arch or declared_arch or "x86_64"
    python_version = args.python_version or declared_python or "3.12"
    if args.arch and declared_arch and args.arch != declared_arch:
        notes.append(
            f"--arch {args.arch}, but the deployment config declares {declared_arch}: "
            "compiled wheels will not load on Lambda"
        )
    if args.python_version and declared_python and args.python_version != declared_python:
        notes.append(
            f"--python-version {args.python_version}, but the deployment config declares "
            f"python{declared_python}"
        )
    for note in notes:
        print(f"lambda-sse package: warning: {note}", file=sys.stderr)
    problems, wrapper_set = config_checks(Path(args.directory))
    for problem in problems:
        print(f"lambda-sse package: error: {problem}", file=sys.stderr)
    if problems:
        return 2  # a zip whose handler cannot load would fail every invocation
    try:
        result = build_package(
            args.directory,
            args.output,
            requirements=args.requirements,
            architecture=architecture,
            python_version=python_version,
            find_links=args.find_links,
            no_index=args.no_index,
            compile_bytecode=args.compile,
        )
    except (LambdaSSEError, OSError) as exc:
        print(f"lambda-sse package: error: {exc}", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"lambda-sse package: warning: {warning}", file=sys.stderr)
    for line in _report(result, wrapper_set):
        print(line)
    return 0
