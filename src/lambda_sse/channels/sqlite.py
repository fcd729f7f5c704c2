"""``sqlite:///PATH``: channels in one SQLite file shared by any number of processes on one
machine. Standard library only (it runs in a Lambda zip).

``sqlite:///relative/path.db`` is relative to the working directory, ``sqlite:////abs/path.db``
absolute (the SQLAlchemy convention). The file is in WAL mode, so readers never block the writer
(https://www.sqlite.org/wal.html); an append is one ``BEGIN IMMEDIATE`` transaction that takes
the channel's next seq, inserts the record and prunes by retention. SQLite cannot tell another
process that a row arrived, so waiting readers poll every ``poll`` seconds (``?poll=0.02`` is the
default): in async code one task per event loop watches ``PRAGMA data_version``, which changes
when another connection commits (https://www.sqlite.org/pragma.html#pragma_data_version), and
wakes every waiting subscriber; a blocking reader polls its own query. Ids are the decimal seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from lambda_sse.channels.backend import Entry, Record, Retention
from lambda_sse.channels.urls import ENV_VAR, ChannelURL
from lambda_sse.errors import ChannelEndedError, ChannelUnavailableError, ConfigError

__all__ = ["SQLiteBackend", "open_backend"]

_DECIMAL = re.compile(r"[1-9][0-9]{0,17}")

DEFAULT_POLL = 0.02
BUSY_TIMEOUT_MS = 5000
# Age pruning looks at this many of the oldest rows per append: bounded work per publish.
_AGE_PRUNE_BATCH = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lambda_sse_channels (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lambda_sse_events (
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    data TEXT,
    event TEXT,
    retry INTEGER,
    comment TEXT,
    is_end INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, seq)
) WITHOUT ROWID;
"""

_SELECT = (
    "SELECT seq, data, event, retry, comment, is_end FROM lambda_sse_events "
    "WHERE channel = ? AND seq > ? ORDER BY seq LIMIT ?"
)


def _seq_of(id: str) -> int | None:
    """The seq an id of this backend stands for (ids are the decimal seq), else None."""
    return int(id) if _DECIMAL.fullmatch(id) else None


def _records(
    rows: list[tuple[int, str | None, str | None, int | None, str | None, int]],
) -> list[Record]:
    return [Record(str(r[0]), r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


class SQLiteBackend:
    def __init__(self, path: Path, display_url: str, retention: Retention, poll: float) -> None:
        self.path = path
        self.display_url = display_url
        self.retention = retention
        self.poll = poll
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._setup_lock = threading.Lock()
        self._ready = False
        self._loop_conns: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, sqlite3.Connection
        ] = weakref.WeakKeyDictionary()
        # Per event loop: the data_version watcher and the event it sets on every change.
        self._watchers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Task[None], list[asyncio.Future[None]]]
        ] = weakref.WeakKeyDictionary()

    # -- connections ---------------------------------------------------------------------------

    def _fail(self, what: str, exc: BaseException) -> ChannelUnavailableError:
        return ChannelUnavailableError(f"SQLite channels at {self.path}: {what} failed: {exc}")

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")  # per connection; safe in WAL mode
            if not self._ready:
                with self._setup_lock:  # the threads of one process set the file up once
                    if not self._ready:
                        self._set_up(conn)
                        self._ready = True
        except (sqlite3.Error, OSError) as exc:
            raise self._fail("opening the database", exc) from exc
        with self._all_lock:
            self._all.append(conn)
        return conn

    @staticmethod
    def _set_up(conn: sqlite3.Connection) -> None:
        """WAL mode and the schema. Another connection switching a new file to WAL at the same
        moment can make SQLite answer "database is locked" at once: it skips the busy handler
        where waiting could deadlock (https://www.sqlite.org/c3ref/busy_handler.html), so this
        retries until the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(f"cannot use WAL mode (got {mode})")
                conn.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    # -- blocking API --------------------------------------------------------------------------

    def append(self, channel: str, entry: Entry) -> str:
        conn = self._conn()
        now = time.time()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT seq, ended FROM lambda_sse_channels WHERE name = ?", (channel,)
                ).fetchone()
                if row is not None and row[1]:
                    raise ChannelEndedError(f"channel {channel!r} has ended: publish refused")
                seq = 1 if row is None else row[0] + 1
                conn.execute(
                    "INSERT INTO lambda_sse_channels (name, seq, ended) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, ended = excluded.ended",
                    (channel, seq, int(entry.end)),
                )
                conn.execute(
                    "INSERT INTO lambda_sse_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (channel, seq, now, entry.data, entry.event, entry.retry, entry.comment,
                     int(entry.end)),
                )  # fmt: skip
                if not entry.end:  # the end record neither counts nor prunes
                    self._prune(conn, channel, seq, now)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._fail("publish", exc) from exc
        return str(seq)

    def _prune(self, conn: sqlite3.Connection, channel: str, seq: int, now: float) -> None:
        keep = self.retention
        if keep.max_length is not None and seq > keep.max_length:
            conn.execute(
                "DELETE FROM lambda_sse_events WHERE channel = ? AND seq <= ?",
                (channel, seq - keep.max_length),
            )
        if keep.max_age is not None:
            conn.execute(
                "DELETE FROM lambda_sse_events WHERE channel = ? AND seq < ? AND seq IN "
                "(SELECT seq FROM lambda_sse_events WHERE channel = ? ORDER BY seq LIMIT ?) "
                "AND at < ?",
                (channel, seq, channel, _AGE_PRUNE_BATCH, now - keep.max_age),
            )

    def _select(
        self, conn: sqlite3.Connection, channel: str, after: str, limit: int
    ) -> list[Record]:
        seq = _seq_of(after)
        try:
            rows = conn.execute(_SELECT, (channel, seq or 0, limit)).fetchall()
        except sqlite3.Error as exc:
            raise self._fail("read", exc) from exc
        return _records(rows)

    def read(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        conn = self._conn()
        deadline = time.monotonic() + block
        while True:
            found = self._select(conn, channel, after, limit)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return found
            time.sleep(min(self.poll, remaining))

    def find(self, channel: str, id: str) -> int | None:
        return self._find(self._conn(), channel, id)

    def _find(self, conn: sqlite3.Connection, channel: str, id: str) -> int | None:
        seq = _seq_of(id)
        if seq is None:
            return None
        try:
            row = conn.execute(
                "SELECT seq FROM lambda_sse_events WHERE channel = ? AND seq = ?",
                (channel, seq),
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._fail("find", exc) from exc
        return None if row is None else int(row[0])

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
        self._loop_conns.clear()
        for task, _ in list(self._watchers.values()):
            with contextlib.suppress(RuntimeError):
                task.get_loop().call_soon_threadsafe(task.cancel)

    # -- async API -----------------------------------------------------------------------------
    # Appends run in a worker thread (they may wait for another process's write lock). Reads of
    # a WAL database never wait for a lock, so they run on the event loop's own connection.

    async def append_async(self, channel: str, entry: Entry) -> str:
        return await asyncio.to_thread(self.append, channel, entry)

    def _loop_conn(self) -> sqlite3.Connection:
        loop = asyncio.get_running_loop()
        conn = self._loop_conns.get(loop)
        if conn is None:
            conn = self._connect()
            # Never wait for a lock on the event loop's thread: a rare SQLITE_BUSY (a WAL reset)
            # fails at once and the subscriber retries after a short backoff.
            conn.execute("PRAGMA busy_timeout = 0")
            self._loop_conns[loop] = conn
        return conn

    def _waiters(self) -> list[asyncio.Future[None]]:
        loop = asyncio.get_running_loop()
        entry = self._watchers.get(loop)
        if entry is None or entry[0].done():
            waiters: list[asyncio.Future[None]] = []
            task = loop.create_task(self._watch(waiters))
            entry = self._watchers[loop] = (task, waiters)
        return entry[1]

    async def _watch(self, waiters: list[asyncio.Future[None]]) -> None:
        """Wake every waiting subscriber of this loop when another connection commits; stop
        when nobody has waited for a while."""
        conn = self._connect()
        try:
            conn.execute("PRAGMA busy_timeout = 0")  # on the event loop's thread: never wait
            last = conn.execute("PRAGMA data_version").fetchone()[0]
            idle = 0.0
            while idle < 5.0:
                await asyncio.sleep(self.poll)
                try:
                    now = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:
                    now = None  # wake everyone: their own reads raise the error
                if now != last or now is None:
                    last = now
                    ready, waiters[:] = list(waiters), []
                    for waiter in ready:
                        if not waiter.done():
                            waiter.set_result(None)
                idle = 0.0 if waiters else idle + self.poll
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    async def read_async(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        loop = asyncio.get_running_loop()
        conn = self._loop_conn()
        deadline = loop.time() + block
        while True:
            found = self._select(conn, channel, after, limit)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return found
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters().append(waiter)
            # Our own appends happen on other connections too, so data_version sees them.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)

    async def find_async(self, channel: str, id: str) -> int | None:
        return self._find(self._loop_conn(), channel, id)

    async def close_async(self) -> None:
        self.close()


def open_backend(url: ChannelURL) -> SQLiteBackend:
    if url.netloc:
        raise ConfigError(
            f"channels URL {url.url!r}: write sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db (three slashes before a relative path, four before an "
            "absolute one)",
            key=ENV_VAR,
        )
    raw = url.path[1:] if url.path.startswith("/") else url.path
    if not raw:
        raise ConfigError(f"channels URL {url.url!r} names no file", key=ENV_VAR)
    poll_text = url.take("poll")
    poll = DEFAULT_POLL
    if poll_text is not None:
        try:
            poll = float(poll_text)
        except ValueError:
            poll = -1.0
        if not 0 < poll <= 10:
            raise ConfigError(
                f"channels URL {url.display}: poll={poll_text!r} must be seconds in (0, 10]",
                key=ENV_VAR,
            )
    url.no_more_options()
    path = Path(os.path.expanduser(raw))
    return SQLiteBackend(path.absolute(), url.display, url.retention, poll)
