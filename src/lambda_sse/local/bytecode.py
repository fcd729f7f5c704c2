"""Bytecode that may not match its source, and how runtimes started by the emulator avoid it.

A reload must run the code as it is now: the environment sweeps suspect ``.pyc`` files before a
cold start, and runtimes write none into the code dir, as on AWS where /var/task is read-only.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["no_stale_bytecode", "sweep_ambiguous_bytecode"]


def sweep_ambiguous_bytecode(code_dir: Path) -> int:
    """Delete the code dir's cached ``.pyc`` files that may not match their source; returns
    how many went.

    CPython trusts a timestamp ``.pyc`` when the source's mtime, in whole seconds, and its size
    match the ones recorded in it (PEP 552), so an edit made within the same second that keeps
    the size runs the old code. A ``.pyc`` written no later than its source's last change (by
    the file system's nanosecond clock) is such a suspect; it is deleted and recompiled on the
    next import. (Installers compile just after extracting, so their ``.pyc`` files are kept.)
    Runtimes started here write no bytecode (see ``PYTHONDONTWRITEBYTECODE`` below), so this
    only meets ``.pyc`` files written by other processes (the developer's tests, a REPL).
    Hidden folders and ``node_modules`` are not visited.
    """
    removed = 0
    pending = [str(code_dir)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # gone or unreadable: nothing of it can be imported either
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                continue
            if entry.name == "__pycache__":
                removed += _sweep_cache(folder, entry.path)
            elif entry.name != "node_modules":
                pending.append(entry.path)
    return removed


def _sweep_cache(folder: str, cache: str) -> int:
    removed = 0
    try:
        entries = list(os.scandir(cache))
    except OSError:
        return 0
    for entry in entries:
        # "name.cpython-312.pyc" or "name.cpython-312.opt-1.pyc" caches "name.py" (PEP 3147).
        if not entry.name.endswith(".pyc"):
            continue
        source = os.path.join(folder, entry.name.split(".", 1)[0] + ".py")
        try:
            source_ns = os.stat(source).st_mtime_ns
            written_ns = entry.stat(follow_symlinks=False).st_mtime_ns
            if written_ns <= source_ns:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue  # no source (never loaded) or already gone
    return removed


def no_stale_bytecode(env: dict[str, str]) -> None:
    """After a reload, the runtime must run the code as it is now (see
    :func:`sweep_ambiguous_bytecode`, which the environment runs before it starts). It writes
    no ``.pyc`` into the code dir, as on AWS where /var/task is read-only: the function's own
    modules compile at each cold start (about a ms per small module) while installed packages
    keep their cached bytecode."""
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
