"""``dynamodb://TABLE``: channels in a DynamoDB table, reachable from any Lambda with IAM alone.

URL options besides ``max_length``/``max_age``: ``region`` (else ``AWS_REGION``, which Lambda
sets), ``endpoint_url`` (else boto3's ``AWS_ENDPOINT_URL_DYNAMODB``), ``poll=FASTEST,SLOWEST``
(seconds, default ``0.1,1``). Needs boto3 (``lambda-sse[dynamodb]``; AWS's Lambda runtimes for
Python include it).

**Table**: partition key ``channel`` (string), sort key ``seq`` (number), TTL on ``expires``;
one item per record, so a channel is one item collection read in order by one ``Query``.
Ids are the decimal ``seq``.

**Ids: conditional writes, not an atomic counter.** A publisher writes ``seq = latest + 1`` with
``attribute_not_exists(seq)``; when another publisher took that number, the write fails and it
reads the latest again. So record ``n + 1`` is written only after record ``n`` exists, and a
reader asking for "after ``n``" can never see ``n + 2`` before ``n + 1`` and pass over it. With
an atomic counter (``UpdateItem ADD``) numbers are handed out in order but the writes that follow
land in any order: a reader could skip a number whose write is still in flight, and would need
gap tracking and a grace period to be safe. A conditional write is also one write per event
where the counter costs two; a publisher remembers its last number, so it reads the latest only
on its first publish to a channel and after losing a race.

**Reads** are strongly consistent: an eventually consistent read may miss a write that has
just completed
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html),
and the argument above needs every earlier write visible. DynamoDB cannot block a read, so a
waiting reader polls on :class:`~lambda_sse.channels.polling.PollSchedule`: a quarter of the
time since the channel's last news, between 0.1 s and 1 s. The last news is when the newest
record this process read or wrote was written (each item carries its write time ``at``), so a
subscriber that replays or resumes an idle channel polls slowly from its first read. Events a
second apart are delivered within about 0.25 s; an idle subscriber makes at most one read a
second (60 a minute, each one read unit: a Query that finds nothing is still charged the
minimum read, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html).

**Retention**: ``max_length`` is kept by deleting record ``n - max_length`` when record ``n`` is
written; ``max_age`` by the TTL attribute ``expires`` (whole seconds after the write) and, since
DynamoDB deletes expired items only within days
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html), by reads
skipping records older than ``max_age``, except the channel's newest and its end record.
**End**: a record with ``end = true`` at the next number, so nothing can be published after it.

Why this module is longer than 400 lines: a channel backend is one module by design (one file
and one table entry add a backend); the table layout, conditional writes, adaptive polling and
the mapping of botocore's errors are one design and read best together.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lambda_sse import aws
from lambda_sse.channels.backend import Entry, Record, Retention, ThreadedBackend
from lambda_sse.channels.polling import PollSchedule
from lambda_sse.channels.urls import ENV_VAR, ChannelURL
from lambda_sse.errors import (
    ChannelEndedError,
    ChannelUnavailableError,
    ConfigError,
    InvalidEventError,
)

__all__ = [
    "ITEM_LIMIT",
    "DynamoDBBackend",
    "decode_item",
    "encode_entry",
    "open_backend",
]

ITEM_LIMIT = aws.DYNAMODB_ITEM_LIMIT
MAX_RACES = 100  # conditional writes lost in a row before a publish gives up
_OVERHEAD = 128  # bytes of attribute names and numbers around an event's text, generously
_REMEMBERED = 4096  # channels whose last number / last news one process remembers
_SEQ_DIGITS = 19  # a decimal id longer than this is not one of ours


# -- the item codec (sans-IO: DynamoDB's JSON in and out) ----------------------------------------


def encode_entry(
    channel: str, seq: int, entry: Entry, now: float, max_age: float | None
) -> dict[str, Any]:
    """The item that stores ``entry`` as record ``seq``, written at ``now`` (epoch seconds)."""
    item: dict[str, Any] = {
        "channel": {"S": channel},
        "seq": {"N": str(seq)},
        "at": {"N": repr(round(now, 3))},
    }
    if max_age is not None:
        item["expires"] = {"N": str(math.ceil(now + max_age))}
    if entry.end:
        item["end"] = {"BOOL": True}
        return item
    size = len(channel.encode()) + _OVERHEAD
    for name, value in (("data", entry.data), ("type", entry.event), ("comment", entry.comment)):
        if value is not None:
            item[name] = {"S": value}
            size += len(value.encode("utf-8", "surrogatepass"))
    if entry.retry is not None:
        item["retry"] = {"N": str(entry.retry)}
    if size > ITEM_LIMIT:
        raise InvalidEventError(
            f"an event of about {size} bytes does not fit in one DynamoDB item ({ITEM_LIMIT} "
            "bytes): store large payloads elsewhere (S3) and publish a reference"
        )
    return item


def decode_item(item: Mapping[str, Any]) -> Record:
    seq = int(item["seq"]["N"])
    if item.get("end", {}).get("BOOL"):
        return Record(str(seq), seq, end=True)
    return Record(
        str(seq),
        seq,
        data=item["data"]["S"] if "data" in item else None,
        event=item["type"]["S"] if "type" in item else None,
        retry=int(item["retry"]["N"]) if "retry" in item else None,
        comment=item["comment"]["S"] if "comment" in item else None,
    )


def _stale(item: Mapping[str, Any], now: float, max_age: float | None) -> bool:
    return (
        max_age is not None
        and "at" in item
        and now - float(item["at"]["N"]) > max_age
        and not item.get("end", {}).get("BOOL")
    )


def _seq_of(id: str) -> int | None:
    """The number of an id this backend gave out (canonical decimal from 1), else None."""
    if not (id.isascii() and id.isdigit() and len(id) <= _SEQ_DIGITS) or id.startswith("0"):
        return None
    return int(id)


# -- request parameters (sans-IO) ----------------------------------------------------------------


def put_request(table: str, item: dict[str, Any]) -> dict[str, Any]:
    """PutItem that fails with ConditionalCheckFailedException when the number is taken."""
    return {
        "TableName": table,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(#seq)",
        "ExpressionAttributeNames": {"#seq": "seq"},
    }


def after_request(table: str, channel: str, after: int, limit: int) -> dict[str, Any]:
    return {
        "TableName": table,
        "KeyConditionExpression": "#ch = :ch AND #seq > :after",
        "ExpressionAttributeNames": {"#ch": "channel", "#seq": "seq"},
        "ExpressionAttributeValues": {":ch": {"S": channel}, ":after": {"N": str(after)}},
        "ConsistentRead": True,
        "Limit": limit,
    }


def latest_request(table: str, channel: str) -> dict[str, Any]:
    return {
        "TableName": table,
        "KeyConditionExpression": "#ch = :ch",
        "ExpressionAttributeNames": {"#ch": "channel"},
        "ExpressionAttributeValues": {":ch": {"S": channel}},
        "ConsistentRead": True,
        "ScanIndexForward": False,
        "Limit": 1,
    }


def key(table: str, channel: str, seq: int) -> dict[str, Any]:
    return {"TableName": table, "Key": {"channel": {"S": channel}, "seq": {"N": str(seq)}}}


# -- the backend ---------------------------------------------------------------------------------


class _Memo:
    """A bounded, thread-safe map of channel -> number (least recently used goes first)."""

    def __init__(self) -> None:
        self._values: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, channel: str) -> float | None:
        with self._lock:
            value = self._values.get(channel)
            if value is not None:
                self._values.move_to_end(channel)
            return value

    def put(self, channel: str, value: float) -> None:
        with self._lock:
            self._values[channel] = value
            self._values.move_to_end(channel)
            while len(self._values) > _REMEMBERED:
                self._values.popitem(last=False)


class DynamoDBBackend(ThreadedBackend):
    """Channels in one table, through one boto3 client (thread-safe; shared by the threads the
    async methods run their requests in). ``clock`` is wall time for retention, ``monotonic``
    and ``sleep`` pace the polling (injected by the tests)."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        display_url: str,
        retention: Retention,
        poll: PollSchedule | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table = table
        self.display_url = display_url
        self.retention = retention
        self.poll = poll or PollSchedule()
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._latest = _Memo()  # the last number this process wrote or saw per channel
        self._news = _Memo()  # monotonic time of each channel's last news
        # "channel\nid" -> monotonic time a read after ``id`` last found the channel's tail: a
        # subscriber that comes back for more right after waits its turn instead of re-reading.
        self._tail = _Memo()

    # -- errors ----------------------------------------------------------------------------------

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        """Turn botocore's exceptions into ChannelUnavailableError naming the fix."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            hint = {
                "ResourceNotFoundException": f"create the table (docs/jobs.md) or fix {ENV_VAR}",
                "AccessDeniedException": "allow dynamodb:PutItem, Query, GetItem and DeleteItem "
                "on the table in the function's role",
                "UnrecognizedClientException": "check the AWS credentials",
            }.get(code, "see the cause below")
            raise ChannelUnavailableError(
                f"DynamoDB {what} on table {self.table!r} failed ({code}): {hint}"
            ) from exc
        except BotoCoreError as exc:
            raise ChannelUnavailableError(
                f"DynamoDB {what} on table {self.table!r} failed: {exc}"
            ) from exc

    # -- writing ---------------------------------------------------------------------------------

    def _newest(self, channel: str) -> tuple[int, bool]:
        """The channel's last number (0 when empty) and whether that record is the end."""
        with self._calls("Query"):
            items = self.client.query(**latest_request(self.table, channel)).get("Items", [])
        if not items:
            return 0, False
        record = decode_item(items[0])
        return record.seq, record.end

    def _put(self, item: dict[str, Any]) -> bool:
        """Write ``item`` if its number is free; False when another publisher took it."""
        from botocore.exceptions import ClientError

        with self._calls("PutItem"):
            try:
                self.client.put_item(**put_request(self.table, item))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def append(self, channel: str, entry: Entry) -> str:
        now = self._clock()
        # The memo holds the last number known, negated once that record is the end.
        remembered = self._latest.get(channel)
        if remembered is not None and remembered < 0:
            raise ChannelEndedError(f"channel {channel!r} has ended: publish refused")
        last = None if remembered is None else int(remembered)
        for _ in range(MAX_RACES):
            if last is None:
                last, ended = self._newest(channel)
                if ended:
                    self._latest.put(channel, -last)
                    raise ChannelEndedError(f"channel {channel!r} has ended: publish refused")
            seq = last + 1
            if not self._put(encode_entry(channel, seq, entry, now, self.retention.max_age)):
                last = None  # lost the race for this number: read the latest again
                continue
            self._remember(channel, seq, entry.end)
            self._news.put(channel, self._monotonic())
            if not entry.end:  # the end record neither counts nor prunes
                self._prune(channel, seq)
            return str(seq)
        raise ChannelUnavailableError(
            f"publishing to {channel!r}: {MAX_RACES} conditional writes in a row lost to other "
            "publishers; retry later"
        )

    def _remember(self, channel: str, seq: int, end: bool) -> None:
        known = self._latest.get(channel)
        if known is None or seq > abs(known):
            self._latest.put(channel, -seq if end else seq)

    def _prune(self, channel: str, seq: int) -> None:
        limit = self.retention.max_length
        if limit is not None and seq - limit >= 1:
            with self._calls("DeleteItem"):
                self.client.delete_item(**key(self.table, channel, seq - limit))

    # -- reading ---------------------------------------------------------------------------------

    def _query(self, channel: str, after: str, limit: int) -> list[Record]:
        """One strongly consistent Query: up to ``limit`` retained records after ``after``."""
        start = _seq_of(after) or 0  # "" or an id not of ours: from the oldest retained
        with self._calls("Query"):
            page = self.client.query(**after_request(self.table, channel, start, limit))
        items = page.get("Items", [])
        now, max_age = self._clock(), self.retention.max_age
        last_page = not page.get("LastEvaluatedKey")
        records = [
            decode_item(item)
            for i, item in enumerate(items)
            # The channel's newest record is kept whatever its age, as pruning would.
            if not (_stale(item, now, max_age) and not (last_page and i == len(items) - 1))
        ]
        if records:
            self._heard(channel, items[-1])
            self._remember(channel, records[-1].seq, records[-1].end)
        if last_page and len(items) < limit:  # the tail: nothing more to read right now
            self._tail.put(f"{channel}\n{records[-1].id if records else after}", self._monotonic())
        return records

    def _heard(self, channel: str, item: Mapping[str, Any]) -> None:
        """Note the channel's news: a record written ``at`` (its writer's wall clock), so a
        subscriber replaying or resuming an idle channel polls slowly from the start and one
        joining a busy channel polls fast."""
        age = self._clock() - float(item["at"]["N"]) if "at" in item else 0.0
        when = self._monotonic() - min(max(0.0, age), 3600.0)
        known = self._news.get(channel)
        if known is None or when > known:
            self._news.put(channel, when)

    def _wait(self, channel: str, deadline: float, since: float | None = None) -> float | None:
        """Seconds to sleep before the next read (``since`` the last read of the tail), or None
        when the read should return empty (after sleeping what remains of ``block``: the next
        call then reads at once)."""
        now = self._monotonic()
        news = self._news.get(channel)
        if news is None:
            self._news.put(channel, now)  # nothing known yet: start fast
            news = now
        delay = self.poll.delay(now - news) - (0.0 if since is None else now - since)
        return max(0.0, delay) if now + delay < deadline else None

    def _first_wait(self, channel: str, after: str, deadline: float) -> float | None:
        """A read that comes straight back for more after finding the tail waits its turn:
        0 to read at once, None when its turn comes after ``deadline``."""
        since = self._tail.get(f"{channel}\n{after}")
        return 0.0 if since is None else self._wait(channel, deadline, since)

    def read(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        deadline = self._monotonic() + block
        delay = self._first_wait(channel, after, deadline) if block > 0 else 0.0
        while True:
            if delay is None:
                self._sleep(max(0.0, deadline - self._monotonic()))
                return []
            if delay:
                self._sleep(delay)
            records = self._query(channel, after, limit)
            if records or block <= 0:
                return records
            delay = self._wait(channel, deadline)

    async def read_async(self, channel: str, after: str, limit: int, block: float) -> list[Record]:
        # Each request runs in a worker thread; the waits between them do not hold one.
        deadline = self._monotonic() + block
        delay = self._first_wait(channel, after, deadline) if block > 0 else 0.0
        while True:
            if delay is None:
                await asyncio.sleep(max(0.0, deadline - self._monotonic()))
                return []
            if delay:
                await asyncio.sleep(delay)
            records = await asyncio.to_thread(self._query, channel, after, limit)
            if records or block <= 0:
                return records
            delay = self._wait(channel, deadline)

    def find(self, channel: str, id: str) -> int | None:
        seq = _seq_of(id)
        if seq is None or seq < 1:
            return None
        with self._calls("GetItem"):
            item = self.client.get_item(**key(self.table, channel, seq), ConsistentRead=True).get(
                "Item"
            )
        if item is None:
            return None
        if _stale(item, self._clock(), self.retention.max_age) and self._newest(channel)[0] != seq:
            return None
        self._heard(channel, item)  # a resuming subscriber: when was its last event written?
        return seq

    def close(self) -> None:
        self.client.close()


def _client(region: str | None, endpoint_url: str | None) -> Any:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError
    except ImportError:
        raise ConfigError(
            "dynamodb:// channels need boto3: pip install 'lambda-sse[dynamodb]'", key=ENV_VAR
        ) from None
    config = Config(
        connect_timeout=5,
        read_timeout=10,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=32,  # the async methods' worker threads share the client
    )
    try:
        return boto3.client(
            "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except BotoCoreError as exc:  # NoRegionError, a malformed endpoint
        raise ConfigError(
            f"cannot make a DynamoDB client ({exc}): add ?region=REGION to the channels URL "
            "or set AWS_REGION",
            key=ENV_VAR,
        ) from None


def open_backend(url: ChannelURL, *, client: Any = None) -> DynamoDBBackend:
    table = (url.netloc + url.path).strip("/")
    if not aws.DYNAMODB_TABLE_NAME_MIN <= len(table) <= aws.DYNAMODB_TABLE_NAME_MAX or not all(
        c.isascii() and (c.isalnum() or c in "_.-") for c in table
    ):
        raise ConfigError(
            f"channels URL {url.display}: the table name must be 3-255 letters, digits, "
            "'_', '.' or '-': write dynamodb://TABLE",
            key=ENV_VAR,
        )
    region = url.take("region") or None
    endpoint_url = url.take("endpoint_url") or None
    poll = PollSchedule()
    if (text := url.take("poll")) is not None:
        try:
            fastest, slowest = (float(x) for x in text.split(","))
            poll = PollSchedule(fastest=fastest, slowest=slowest)
        except ValueError as exc:
            raise ConfigError(
                f"channels URL {url.display}: poll={text!r}: write poll=FASTEST,SLOWEST in "
                f"seconds, e.g. poll=0.1,1 ({exc})",
                key=ENV_VAR,
            ) from None
    url.no_more_options()
    return DynamoDBBackend(
        client if client is not None else _client(region, endpoint_url),
        table,
        display_url=url.display,
        retention=url.retention,
        poll=poll,
    )
