"""``redis://`` and ``rediss://``: channels as Redis Streams (Valkey too), with redis-py.

The distributed backend: every Lambda instance, worker and laptop that reaches the server shares
the channels. The URL is redis-py's (https://redis.readthedocs.io/en/stable/connections.html):
``rediss://`` is TLS, ``redis://:PASSWORD@host:6379/0`` or ``redis://USER:PASSWORD@...`` AUTH,
plus ``prefix=`` (default ``lambda-sse:``) for the key names, and lambda-sse's retention options.

Layout: channel NAME is one stream, ``PREFIXNAME``. A record's stream id is ``<seq>-0``: the
channel's sequence number is the id, so ids increase with it and a gap shows in the ids alone.
A publish is one plain ``XADD`` with that explicit id (and ``MAXLEN ~``), one round trip like a
bare ``XADD``: each process remembers the next seq of the channels it publishes to, and Redis
refuses an id not above the stream's last one (https://redis.io/docs/latest/commands/xadd/),
so when another publisher took that seq, the publisher reads the last entry and tries the next.
The end record is added by a small Lua script that also sets the stream's last id to the
largest possible (``XSETID``), so every later publish is refused and finds the end mark.
Retention by age: each entry holds its publish time (``t``, ms); at most every AGE_EVERY
publishes, once the oldest entry it last saw can have expired, the publisher trims the expired
head (``XTRIM MINID``, at most 100 entries per check), and it keeps
the key's expiry at twice ``max_age`` ahead, so an idle channel disappears (a channel published to
again after that starts over; its subscribers get the gap event).
Nothing is retried automatically (a retry after a lost reply could store an event twice).
Readers ``XREAD COUNT BLOCK`` (https://redis.io/docs/latest/commands/xread/).

Why this module is longer than 400 lines: a channel backend is one module by design (one file
and one table entry add a backend); the stream layout, blocking reads shared by subscribers,
retention and the mapping of redis-py's errors are one design and read best together.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import weakref
from typing import Any

from lambda_sse.channels.backend import Entry, Record, Retention
from lambda_sse.channels.urls import ENV_VAR, ChannelURL
from lambda_sse.errors import ChannelEndedError, ChannelUnavailableError, ConfigError

try:
    import redis as _redis
    import redis.asyncio as _aredis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ConfigError(
        "redis:// channels need redis-py: pip install 'lambda-sse[redis]' (or add redis to the "
        "function's requirements.txt)",
        key=ENV_VAR,
    ) from exc

__all__ = ["RedisBackend", "open_backend"]

_ID = re.compile(r"\d{1,20}-\d{1,20}")
_LAST_ID = "18446744073709551615-18446744073709551615"  # the largest stream id
# Seconds a socket read may take beyond a read's BLOCK before the server counts as gone.
_SOCKET_SLACK = 5.0
# Publishes between two trims by age; entries looked at per trim.
AGE_EVERY = 16
_AGE_SCAN = 100
# Tries of one publish against other publishers that take the same seq.
_CONFLICTS = 100
# Connections per event loop: for reads (beyond, reads queue), for publishes (beyond, a
# publish fails with ChannelUnavailableError).
ASYNC_MAX_CONNECTIONS = 200
ASYNC_MAX_WRITERS = 1000

# Append the end record and close the stream for good, atomically (an XADD that fails aborts
# the script before XSETID). https://redis.io/docs/latest/commands/xsetid/
_END = """
local id = redis.call('XADD', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('XSETID', KEYS[1], 'LAST_ID')
return id
""".replace("LAST_ID", _LAST_ID)


def _seq(id: str) -> int:
    return int(id.partition("-")[0])


def _record(id: str, fields: dict[str, str]) -> Record:
    retry = fields.get("r")
    return Record(
        id,
        _seq(id),
        fields.get("d"),
        fields.get("e"),
        None if retry is None else int(retry),
        fields.get("c"),
        "x" in fields,
    )


def _records(reply: Any) -> list[Record]:
    # XREAD answers [[stream, [(id, {field: value}), ...]]] (RESP2) or {stream: [...]} (RESP3).
    if not reply:
        return []
    entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
    if entries and isinstance(entries[0], list) and len(entries) == 1:
        entries = entries[0]  # RESP3 wraps the list once more
    return [_record(id, fields) for id, fields in entries]


def _conflict(exc: BaseException) -> bool:
    """Redis refused the explicit id: another publisher took this seq (or the channel ended)."""
    text = str(exc)
    return isinstance(exc, _redis.ResponseError) and (
        "equal or smaller" in text or "exhausted the last possible ID" in text
    )


class _Plan:
    """The sans-IO half of a publish: which id to try, what to do after, per channel."""

    def __init__(self, retention: Retention) -> None:
        self.max_length = retention.max_length
        self.max_age_ms = None if retention.max_age is None else int(retention.max_age * 1000)
        self.next_seq: dict[str, int] = {}
        self.expiry_set: dict[str, float] = {}
        self.age_due: dict[str, int] = {}

    def fields(self, entry: Entry, now_ms: int) -> dict[str, str]:
        out: dict[str, str] = {"t": str(now_ms)}
        if entry.data is not None:
            out["d"] = entry.data
        if entry.event is not None:
            out["e"] = entry.event
        if entry.retry is not None:
            out["r"] = str(entry.retry)
        if entry.comment is not None:
            out["c"] = entry.comment
        if entry.end:
            out["x"] = "1"
        return out

    def top(self, channel: str, rows: list[Any]) -> int:
        """The next seq from the stream's last entry (XREVRANGE + - COUNT 1)."""
        if not rows:
            seq = 1
        else:
            id, fields = rows[0]
            if "x" in fields:
                raise ChannelEndedError(f"channel {channel!r} has ended: publish refused")
            seq = _seq(id) + 1 if _ID.fullmatch(id) else 1
        self.next_seq[channel] = seq
        return seq

    def needs_expiry(self, channel: str, now: float) -> bool:
        if self.max_age_ms is None:
            return False
        # The key expires 2 x max_age after the last refresh, refreshed at least every
        # max_age / 2: every record lives at least max_age.
        if now - self.expiry_set.get(channel, -1e18) < self.max_age_ms / 2000:
            return False
        self.expiry_set[channel] = now
        return True

    def age_check_due(self, channel: str, seq: int, now_ms: int) -> bool:
        """Whether to look at the channel's oldest entry now: every AGE_EVERY publishes, and
        not before that entry, last seen, can have expired."""
        return (
            self.max_age_ms is not None
            and seq % AGE_EVERY == 0
            and now_ms >= self.age_due.get(channel, 0)
        )

    def age_cut(self, channel: str, rows: list[Any], now_ms: int) -> str | None:
        """The MINID that drops the expired head of ``rows`` (the oldest entries), if any; when
        none has expired, remember when the oldest will."""
        assert self.max_age_ms is not None
        cutoff = now_ms - self.max_age_ms
        cut: str | None = None
        for id, fields in rows:
            t = int(fields.get("t", now_ms))
            if t >= cutoff or "x" in fields:
                if cut is None:
                    self.age_due[channel] = t + self.max_age_ms
                    return None
                return str(id)  # keep this one and everything after it
            cut = id
        return None if cut is None else f"{_seq(cut) + 1}-0"  # every scanned entry expired


def _now_ms() -> int:
    return int(time.time() * 1000)


class RedisBackend:
    def __init__(
        self,
        base: str,
        display_url: str,
        retention: Retention,
        prefix: str,
        options: dict[str, Any],
    ) -> None:
        self.display_url = display_url
        self.retention = retention
        self.prefix = prefix
        self._base = base
        self._options = options
        self._sync: _redis.Redis | None = None
        self._lock = threading.Lock()
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._plan = _Plan(retention)

    def _key(self, channel: str) -> str:
        return f"{self.prefix}{channel}"

    def _fail(self, what: str, exc: BaseException) -> ChannelUnavailableError:
        return ChannelUnavailableError(f"Redis channels at {self.display_url}: {what}: {exc}")

    def _too_busy(self, channel: str) -> ChannelUnavailableError:
        return ChannelUnavailableError(
            f"channel {channel!r}: {_CONFLICTS} publishers in a row took the next id first"
        )

    def _xadd_args(self, entry: Entry) -> dict[str, Any]:
        if entry.end or self._plan.max_length is None:
            return {}
        return {"maxlen": self._plan.max_length, "approximate": True}

    # -- clients -------------------------------------------------------------------------------

    def _client_options(self) -> dict[str, Any]:
        return {
            "decode_responses": True,
            "socket_connect_timeout": 5.0,
            "socket_timeout": 5.0 + _SOCKET_SLACK,
            "retry_on_timeout": False,
            "retry": Retry(NoBackoff(), 0),
            **self._options,
        }

    def _client(self) -> _redis.Redis:
        client = self._sync
        if client is not None:
            return client
        with self._lock:
            if self._sync is None:
                client = _redis.Redis.from_url(self._base, **self._client_options())
                self._sync_end = client.register_script(_END)
                self._sync = client
            return self._sync

    def _aclient(self) -> Any:
        """This event loop's (writer, end script, reader): publishes and finds use a plain pool,
        reads a blocking one, capped, so that 1,000 subscribers catching up at once queue for
        connections (a blocking pool's lock would cost publishes a sixth of their rate)."""
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            options = self._client_options()
            options["retry"] = _aredis.retry.Retry(NoBackoff(), 0)
            # An asyncio socket timeout arms a timer per command, a third of a publish's cost:
            # reads get their own bound (read_async), a dead peer is found by TCP keepalive.
            if "socket_timeout" not in self._options:
                options["socket_timeout"] = None
            options.setdefault("socket_keepalive", True)
            writer = _aredis.Redis.from_url(
                self._base, **{"max_connections": ASYNC_MAX_WRITERS, **options}
            )
            # No wait limit on the readers' pool: it would arm a timer per read too; reads are
            # bounded as a whole, and a connection comes free when a read's BLOCK ends.
            options.setdefault("max_connections", ASYNC_MAX_CONNECTIONS)
            options.setdefault("timeout", None)
            pool = _aredis.BlockingConnectionPool.from_url(self._base, **options)
            reader = _aredis.Redis(connection_pool=pool)
            entry = self._async[loop] = (writer, writer.register_script(_END), reader)
        return entry

    # -- blocking API --------------------------------------------------------------------------

    def append(self, channel: str, entry: Entry) -> str:
        client = self._client()
        key = self._key(channel)
        plan = self._plan
        now_ms = _now_ms()
        fields = plan.fields(entry, now_ms)
        try:
            for _ in range(_CONFLICTS):
                seq = plan.next_seq.get(channel)
                if seq is None:
                    seq = plan.top(channel, list(client.xrevrange(key, count=1) or []))
                try:
                    if entry.end:
                        flat = [v for pair in fields.items() for v in pair]
                        id: str = self._sync_end(keys=[key], args=[f"{seq}-0", *flat])
                    else:
                        added = client.xadd(key, fields, id=f"{seq}-0", **self._xadd_args(entry))  # type: ignore[arg-type]
                        id = str(added)
                except _redis.ResponseError as exc:
                    if not _conflict(exc):
                        raise
                    plan.next_seq.pop(channel, None)
                    continue
                plan.next_seq[channel] = seq + 1
                self._maintain(client, key, channel, seq, now_ms)
                return id
        except _redis.RedisError as exc:
            plan.next_seq.pop(channel, None)  # stored or not, the next publish looks again
            raise self._fail("publish", exc) from exc
        raise self._too_busy(channel)

    def _maintain(
        self, client: _redis.Redis, key: str, channel: str, seq: int, now_ms: int
    ) -> None:
        plan = self._plan
        if plan.max_age_ms is None:
            return
        if plan.needs_expiry(channel, time.monotonic()):
            client.pexpire(key, 2 * plan.max_age_ms)
        if plan.age_check_due(channel, seq, now_ms) and plan.age_cut(
            channel, list(client.xrange(key, count=1) or []), now_ms
        ):
            cut = plan.age_cut(channel, list(client.xrange(key, count=_AGE_SCAN) or []), now_ms)
            if cut is not None:
                client.xtrim(key, minid=cut, approximate=False)

    def _xread_args(self, limit: int, block: float) -> dict[str, Any]:
        return {"count": limit, "block": None if block <= 0 else max(1, int(block * 1000))}

    def read(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        start = after if _ID.fullmatch(after) else "0-0"
        try:
            reply = self._client().xread(
                {self._key(channel): start}, **self._xread_args(limit, block)
            )
        except _redis.RedisError as exc:
            raise self._fail("read", exc) from exc
        return _records(reply)

    def find(self, channel: str, id: str) -> int | None:
        if not _ID.fullmatch(id):
            return None
        try:
            rows = self._client().xrange(self._key(channel), id, id, count=1)
        except _redis.RedisError as exc:
            raise self._fail("find", exc) from exc
        return _seq(id) if rows else None

    def close(self) -> None:
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()
        for loop, (writer, _, reader) in list(self._async.items()):
            if loop.is_closed():
                continue
            with contextlib.suppress(RuntimeError):
                if loop.is_running():
                    for aclient in (writer, reader):
                        asyncio.run_coroutine_threadsafe(
                            aclient.aclose(close_connection_pool=True), loop
                        )
        self._async.clear()

    # -- async API -----------------------------------------------------------------------------

    async def append_async(self, channel: str, entry: Entry) -> str:
        client, end_script, _ = self._aclient()
        key = self._key(channel)
        plan = self._plan
        now_ms = _now_ms()
        fields = plan.fields(entry, now_ms)
        try:
            for _ in range(_CONFLICTS):
                seq = plan.next_seq.get(channel)
                if seq is None:
                    seq = plan.top(channel, await client.xrevrange(key, count=1))
                try:
                    if entry.end:
                        flat = [v for pair in fields.items() for v in pair]
                        id: str = await end_script(keys=[key], args=[f"{seq}-0", *flat])
                    else:
                        id = await client.xadd(key, fields, id=f"{seq}-0", **self._xadd_args(entry))
                except _redis.ResponseError as exc:
                    if not _conflict(exc):
                        raise
                    plan.next_seq.pop(channel, None)
                    continue
                plan.next_seq[channel] = seq + 1
                await self._maintain_async(client, key, channel, seq, now_ms)
                return id
        except _redis.RedisError as exc:
            plan.next_seq.pop(channel, None)
            raise self._fail("publish", exc) from exc
        raise self._too_busy(channel)

    async def _maintain_async(
        self, client: Any, key: str, channel: str, seq: int, now_ms: int
    ) -> None:
        plan = self._plan
        if plan.max_age_ms is None:
            return
        if plan.needs_expiry(channel, time.monotonic()):
            await client.pexpire(key, 2 * plan.max_age_ms)
        if plan.age_check_due(channel, seq, now_ms) and plan.age_cut(
            channel, await client.xrange(key, count=1), now_ms
        ):
            # The oldest entry has expired: look at more of the head.
            cut = plan.age_cut(channel, await client.xrange(key, count=_AGE_SCAN), now_ms)
            if cut is not None:
                await client.xtrim(key, minid=cut, approximate=False)

    async def read_async(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        _, _, client = self._aclient()
        start = after if _ID.fullmatch(after) else "0-0"
        try:
            async with asyncio.timeout(block + _SOCKET_SLACK):
                reply = await client.xread(
                    {self._key(channel): start}, **self._xread_args(limit, block)
                )
        except _redis.RedisError as exc:
            raise self._fail("read", exc) from exc
        except TimeoutError as exc:  # the server stopped answering: a dead connection
            raise self._fail("read", exc) from exc
        return _records(reply)

    async def find_async(self, channel: str, id: str) -> int | None:
        if not _ID.fullmatch(id):
            return None
        client, _, _ = self._aclient()
        try:
            rows = await client.xrange(self._key(channel), id, id, count=1)
        except _redis.RedisError as exc:
            raise self._fail("find", exc) from exc
        return _seq(id) if rows else None

    async def close_async(self) -> None:
        """Close this event loop's client (and the blocking one)."""
        loop = asyncio.get_running_loop()
        entry = self._async.pop(loop, None)
        if entry is not None:
            await entry[0].aclose(close_connection_pool=True)
            await entry[2].aclose(close_connection_pool=True)
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()


def open_backend(url: ChannelURL) -> RedisBackend:
    prefix = url.take("prefix")
    # The rest of the query is redis-py's own (socket_timeout=, ssl_cert_reqs=, ...); it
    # refuses what it does not know.
    return RedisBackend(url.base, url.display, url.retention, prefix or "lambda-sse:", {})
