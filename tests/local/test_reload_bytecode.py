"""A reload runs the code as it is now, even when an edit keeps the file's size and lands in the
same second as the previous version: CPython's timestamp .pyc check compares only the source's
mtime in whole seconds and its size (PEP 552), so a cached .pyc would pass for the new source."""

from __future__ import annotations

import asyncio
import os
import py_compile
from pathlib import Path

import pytest

from lambda_sse.local.model import FunctionConfig
from lambda_sse.local.pool import Pool
from lambda_sse.local.runtimes import launch_spec, sweep_ambiguous_bytecode
from tests.support.execution import PYTHON_RUNTIME, WRAPPER, run

LIMIT = 30  # seconds: no test waits longer on anything

OLD = 'def handler(event, context):\n    return {"version": "old"}\n'
NEW = 'def handler(event, context):\n    return {"version": "new"}\n'


def function(code_dir: Path, **environment: str) -> FunctionConfig:
    return FunctionConfig(
        name="fn",
        handler="app.handler",
        runtime=PYTHON_RUNTIME,
        code_dir=code_dir,
        timeout=10.0,
        memory_size=128,
        environment={**WRAPPER, **environment},
    )


def same_second_edit(source: Path, text: str) -> None:
    """Rewrite ``source`` keeping its size and its exact mtime: the worst case of an edit made
    in the same second (a fast editor, a code generator, a test script)."""
    before = source.stat()
    assert len(text.encode()) == before.st_size
    source.write_text(text)
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.anyio
async def test_a_reload_runs_an_edit_made_in_the_same_second_with_the_same_size(
    tmp_path: Path,
) -> None:
    source = tmp_path / "app.py"
    source.write_text(OLD)
    pool = Pool([function(tmp_path)])
    try:
        async with asyncio.timeout(LIMIT):
            first = await run(await pool.invoke("fn", b"{}"))
            same_second_edit(source, NEW)
            pool.reload()
            second = await run(await pool.invoke("fn", b"{}"))
    finally:
        await pool.close()
    assert first.json() == {"version": "old"}
    assert second.json() == {"version": "new"}


@pytest.mark.anyio
async def test_a_stale_pyc_written_by_another_process_is_swept_before_a_cold_start(
    tmp_path: Path,
) -> None:
    # The developer's own test run compiled the old source; an edit then kept its size and its
    # whole second. CPython would trust that .pyc, so the environment must sweep it first.
    second = 1_700_000_000 * 10**9
    source = tmp_path / "app.py"
    source.write_text(OLD)
    os.utime(source, ns=(second + 100_000_000, second + 100_000_000))
    written = py_compile.compile(
        str(source), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP, doraise=True
    )
    assert written is not None
    pyc = Path(written)
    os.utime(pyc, ns=(second + 200_000_000, second + 200_000_000))
    source.write_text(NEW)
    os.utime(source, ns=(second + 500_000_000, second + 500_000_000))
    pool = Pool([function(tmp_path)])
    try:
        async with asyncio.timeout(LIMIT):
            result = await run(await pool.invoke("fn", b"{}"))
    finally:
        await pool.close()
    assert result.json() == {"version": "new"}
    assert not await asyncio.to_thread(pyc.exists)


def test_the_runtime_writes_no_bytecode_into_the_code_dir(tmp_path: Path) -> None:
    # As on AWS, where /var/task is read-only; the function's own setting still wins.
    spec = launch_spec(function(tmp_path), runtime_api="127.0.0.1:9")
    assert spec.env["PYTHONDONTWRITEBYTECODE"] == "1"
    spec = launch_spec(function(tmp_path, PYTHONDONTWRITEBYTECODE=""), runtime_api="127.0.0.1:9")
    assert spec.env["PYTHONDONTWRITEBYTECODE"] == ""


def test_the_sweep_drops_only_bytecode_older_than_its_source(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    stale_src, fresh_src = package / "stale.py", tmp_path / "fresh.py"
    stale_src.write_text(OLD)
    fresh_src.write_text(OLD)
    stale_pyc = Path(str(py_compile.compile(str(stale_src), doraise=True)))
    fresh_pyc = Path(str(py_compile.compile(str(fresh_src), doraise=True)))
    mtime = fresh_src.stat().st_mtime_ns
    # The stale .pyc was written before its source's last edit; the fresh one 2 s after.
    os.utime(stale_pyc, ns=(mtime - 10**6, mtime - 10**6))
    os.utime(fresh_pyc, ns=(mtime + 2 * 10**9, mtime + 2 * 10**9))
    orphan = package / "__pycache__" / "gone.cpython-312.pyc"
    orphan.write_bytes(b"")  # no source: left alone (Python never loads it either)
    assert sweep_ambiguous_bytecode(tmp_path) == 1
    assert not stale_pyc.exists()
    assert fresh_pyc.exists()
    assert orphan.exists()


def test_the_sweep_of_a_missing_or_unreadable_dir_is_a_no_op(tmp_path: Path) -> None:
    assert sweep_ambiguous_bytecode(tmp_path / "missing") == 0
