"""``redis://`` and ``rediss://``: channels as Redis Streams (Valkey too), with redis-py.

The distributed backend: every Lambda instance, worker and laptop that reaches the server shares
the channels. The URL is redis-py's (https://redis.readthedocs.io/en/stable/connections.html):
``rediss://`` is TLS, ``redis://:PASSWORD@host:6379/0`` or ``redis://USER:PASSWORD@...`` AUTH,
plus ``prefix=`` (default ``lambda-sse:``) for the key names, and lambda-sse's retention options.

Layout: channel NAME is one stream, ``PREFIXNAME``; each entry holds its seq (``q``) and the
event's fields; the end record has ``x``. Ids are the stream's entry ids (``<ms>-<n>``). One Lua
script appends (https://redis.io/docs/latest/commands/eval/), atomically: it reads the last entry
(``XREVRANGE + - COUNT 1``) for the seq and the end mark, ``XADD``s with ``MAXLEN ~``, and with an
age limit trims by ``XTRIM MINID ~`` every AGE_EVERY publishes and ``PEXPIRE``s the stream, so an
idle channel disappears after ``max_age``; a channel published to again after that starts over
(its subscribers get the gap event)
(https://redis.io/docs/latest/commands/xadd/, https://redis.io/docs/latest/commands/xtrim/).
One round trip, never retried (a retry after a lost reply could store an event twice).
Readers ``XREAD COUNT BLOCK`` (https://redis.io/docs/latest/commands/xread/).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
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

_ENDED = "LAMBDA_SSE_ENDED"
_ID = re.compile(r"\d{1,20}-\d{1,20}")
# Publishes between two trims by age (XTRIM MINID): retention keeps at least max_age anyway,
# and trimming at every publish would cost a sixth of the publish rate.
AGE_EVERY = 16
# Connections per event loop, and seconds to wait for a free one.
ASYNC_MAX_CONNECTIONS = 200
ASYNC_POOL_WAIT = 20.0
# Seconds a socket read may take beyond a read's BLOCK before the server counts as gone.
_SOCKET_SLACK = 5.0

_APPEND = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local seq = 1
if last then
  local fields = last[2]  -- q first, x (the end mark) last
  if fields[#fields - 1] == 'x' then return redis.error_reply('ENDED_MARK') end
  seq = fields[2] + 1
end
local id
if ARGV[1] == '0' or ARGV[3] == '1' then
  id = redis.call('XADD', KEYS[1], '*', 'q', seq, unpack(ARGV, 4))
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'q', seq, unpack(ARGV, 4))
end
if ARGV[2] ~= '0' then
  if seq % AGE_EVERY == 0 and ARGV[3] ~= '1' then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[2])))
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return id
""".replace("ENDED_MARK", _ENDED).replace("AGE_EVERY", str(AGE_EVERY))


def _fields(entry: Entry) -> list[str]:
    out: list[str] = []
    if entry.data is not None:
        out += ("d", entry.data)
    if entry.event is not None:
        out += ("e", entry.event)
    if entry.retry is not None:
        out += ("r", str(entry.retry))
    if entry.comment is not None:
        out += ("c", entry.comment)
    return out


def _record(id: str, fields: dict[str, str]) -> Record:
    retry = fields.get("r")
    return Record(
        id,
        int(fields["q"]),
        fields.get("d"),
        fields.get("e"),
        None if retry is None else int(retry),
        fields.get("c"),
        "q" in fields and "x" in fields,
    )


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
        max_length = retention.max_length or 0
        max_age_ms = 0 if retention.max_age is None else max(1, int(retention.max_age * 1000))
        self._trim = [str(max_length), str(max_age_ms)]

    def _keys(self, channel: str) -> list[str]:
        return [f"{self.prefix}{channel}"]

    def _args(self, entry: Entry) -> list[str]:
        fields = _fields(entry)
        if entry.end:
            fields += ("x", "1")
        return [*self._trim, "1" if entry.end else "0", *fields]

    def _fail(self, what: str, exc: BaseException) -> ChannelUnavailableError:
        return ChannelUnavailableError(f"Redis channels at {self.display_url}: {what}: {exc}")

    def _translate(self, what: str, channel: str, exc: BaseException) -> Exception:
        if isinstance(exc, _redis.ResponseError) and _ENDED in str(exc):
            return ChannelEndedError(f"channel {channel!r} has ended: publish refused")
        return self._fail(what, exc)

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
        if self._sync is not None:
            return self._sync
        with self._lock:
            if self._sync is None:
                client = _redis.Redis.from_url(self._base, **self._client_options())
                self._sync = client
                self._sync_append = client.register_script(_APPEND)
            return self._sync

    def _aclient(self) -> Any:
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            options = self._client_options()
            options["retry"] = _aredis.retry.Retry(NoBackoff(), 0)
            # Subscribers at a channel's head share one read (see channel.py); catching up they
            # queue for a connection rather than open one each, or fail past a limit.
            options.setdefault("max_connections", ASYNC_MAX_CONNECTIONS)
            options.setdefault("timeout", ASYNC_POOL_WAIT)
            pool = _aredis.BlockingConnectionPool.from_url(self._base, **options)
            client = _aredis.Redis(connection_pool=pool)
            entry = self._async[loop] = (client, client.register_script(_APPEND))
        return entry

    # -- blocking API --------------------------------------------------------------------------

    def append(self, channel: str, entry: Entry) -> str:
        self._client()
        try:
            id: str = self._sync_append(keys=self._keys(channel), args=self._args(entry))
        except _redis.RedisError as exc:
            raise self._translate("publish", channel, exc) from exc
        return id

    def _xread_args(self, after: str, limit: int, block: float) -> dict[str, Any]:
        return {
            "count": limit,
            "block": None if block <= 0 else max(1, int(block * 1000)),
        }

    def read(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        client = self._client()
        stream = self._keys(channel)[0]
        start = after if _ID.fullmatch(after) else "0-0"
        try:
            reply = client.xread({stream: start}, **self._xread_args(after, limit, block))
        except _redis.RedisError as exc:
            raise self._fail("read", exc) from exc
        return _records(reply)

    def find(self, channel: str, id: str) -> int | None:
        if not _ID.fullmatch(id):
            return None
        try:
            rows = self._client().xrange(self._keys(channel)[0], id, id, count=1)
        except _redis.RedisError as exc:
            raise self._fail("find", exc) from exc
        return int(rows[0][1]["q"]) if rows else None  # type: ignore[index]

    def close(self) -> None:
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()
        for loop, (aclient, _) in list(self._async.items()):
            if loop.is_closed():
                continue
            with contextlib.suppress(RuntimeError):
                if loop.is_running():
                    asyncio.run_coroutine_threadsafe(
                        aclient.aclose(close_connection_pool=True), loop
                    )
        self._async.clear()

    # -- async API -----------------------------------------------------------------------------

    async def append_async(self, channel: str, entry: Entry) -> str:
        _, script = self._aclient()
        try:
            id: str = await script(keys=self._keys(channel), args=self._args(entry))
        except _redis.RedisError as exc:
            raise self._translate("publish", channel, exc) from exc
        return id

    async def read_async(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        client, _ = self._aclient()
        stream = self._keys(channel)[0]
        start = after if _ID.fullmatch(after) else "0-0"
        try:
            reply = await client.xread({stream: start}, **self._xread_args(after, limit, block))
        except _redis.RedisError as exc:
            raise self._fail("read", exc) from exc
        return _records(reply)

    async def find_async(self, channel: str, id: str) -> int | None:
        if not _ID.fullmatch(id):
            return None
        client, _ = self._aclient()
        try:
            rows = await client.xrange(self._keys(channel)[0], id, id, count=1)
        except _redis.RedisError as exc:
            raise self._fail("find", exc) from exc
        return int(rows[0][1]["q"]) if rows else None

    async def close_async(self) -> None:
        """Close this event loop's client (and the blocking one)."""
        loop = asyncio.get_running_loop()
        entry = self._async.pop(loop, None)
        if entry is not None:
            await entry[0].aclose(close_connection_pool=True)
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()


def _records(reply: Any) -> list[Record]:
    # XREAD answers [[stream, [(id, {field: value}), ...]]] (RESP2) or {stream: [...]} (RESP3).
    if not reply:
        return []
    entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
    if entries and isinstance(entries[0], list) and len(entries) == 1:
        entries = entries[0]  # RESP3 wraps the list once more
    return [_record(id, fields) for id, fields in entries]


def open_backend(url: ChannelURL) -> RedisBackend:
    prefix = url.take("prefix")
    # The rest of the query is redis-py's own (socket_timeout=, ssl_cert_reqs=, ...); it
    # refuses what it does not know.
    return RedisBackend(url.base, url.display, url.retention, prefix or "lambda-sse:", {})
