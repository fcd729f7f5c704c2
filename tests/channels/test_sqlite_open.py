"""Many connections opening a new SQLite channels file at the same moment, the threads of one
backend (each has its own connection) or separate backends (as separate processes are): the
switch to WAL mode must not fail any of them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lambda_sse.channels.backend import Entry, Retention
from lambda_sse.channels.sqlite import SQLiteBackend

OPENERS = 8
FILES = 10


def _open_at_once(path: Path, shared: bool) -> tuple[list[str], list[BaseException]]:
    one = SQLiteBackend(path, f"sqlite:///{path}", Retention(), 0.02)
    backends = [
        one if shared else SQLiteBackend(path, f"sqlite:///{path}", Retention(), 0.02)
        for _ in range(OPENERS)
    ]
    start = threading.Barrier(OPENERS, timeout=30)
    ids: list[str] = []
    errors: list[BaseException] = []

    def publish(backend: SQLiteBackend) -> None:
        try:
            start.wait()
            ids.append(backend.append("c", Entry(data="x")))
        except BaseException as exc:  # any failure is the test's answer
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for b in {id(b): b for b in backends}.values():
        b.close()
    return ids, errors


@pytest.mark.parametrize("shared", [True, False], ids=["one backend", "separate backends"])
def test_a_new_file_opened_by_many_at_once(tmp_path: Path, shared: bool) -> None:
    for n in range(FILES):
        ids, errors = _open_at_once(tmp_path / f"fresh{n}.db", shared)
        assert errors == [], errors
        assert sorted(ids, key=int) == [str(i) for i in range(1, OPENERS + 1)]
