"""What the DynamoDB backend does beyond the conformance suite: its read and write costs counted
from the requests boto3 really sends to moto's server, its polling schedule under an injected
clock, its items (TTL attribute) and its errors."""

from __future__ import annotations

import itertools
import math
import time as wall_time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_sse.channels import close_backends, open_channel
from lambda_sse.channels.backend import Entry, Retention
from lambda_sse.channels.dynamodb import ITEM_LIMIT, DynamoDBBackend
from lambda_sse.channels.polling import PollSchedule
from lambda_sse.errors import (
    ChannelEndedError,
    ChannelUnavailableError,
    ConfigError,
    InvalidEventError,
)
from tests.support.moto_server import MotoServer, create_table, dummy_credentials, moto_server

_tables = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as found, dummy_credentials():
        yield found
    close_backends()


class Requests:
    """Counts the DynamoDB operations a client sends (botocore's before-send hook fires once
    per HTTP request, retries included)."""

    def __init__(self, client: Any) -> None:
        self.seen: Counter[str] = Counter()
        client.meta.events.register("before-send.dynamodb", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.seen[request.headers["X-Amz-Target"].decode().rpartition(".")[2]] += 1


class FakeTime:
    """Monotonic time that only moves when the backend sleeps; ``at`` runs a callback once the
    time passes a point (a publisher acting "while" the reader sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pending: list[tuple[float, Any]] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        while self.pending and self.pending[0][0] <= target:
            when, action = self.pending.pop(0)
            self.now = max(self.now, when)
            action()
        self.now = target


def backend(
    server: MotoServer, *, retention: Retention | None = None, time: FakeTime | None = None
) -> tuple[DynamoDBBackend, Requests]:
    client = server.client()
    table = f"table-{next(_tables)}"
    create_table(client, table)
    extra: dict[str, Any] = {}
    if time is not None:
        extra = {"monotonic": time.monotonic, "sleep": time.sleep}
    found = DynamoDBBackend(
        client,
        table,
        display_url=f"dynamodb://{table}",
        retention=retention or Retention(),
        **extra,
    )
    return found, Requests(client)


# -- the polling schedule ------------------------------------------------------------------------


def test_poll_schedule_is_a_quarter_of_the_idle_time_within_bounds() -> None:
    poll = PollSchedule()
    assert [poll.delay(t) for t in (0, 0.2, 0.4, 1.0, 2.0, 4.0, 100.0)] == [
        0.1, 0.1, 0.1, 0.25, 0.5, 1.0, 1.0,
    ]  # fmt: skip
    assert poll.reads_per_idle_minute() == 60
    for bad in ((0, 1, 0.25), (2, 1, 0.25), (0.1, math.inf, 0.25), (0.1, 1, 0), (0.1, 1, 2)):
        with pytest.raises(ValueError, match="poll"):
            PollSchedule(*bad)


def test_an_idle_subscriber_reads_at_most_60_times_a_minute(server: MotoServer) -> None:
    time = FakeTime()
    store, requests = backend(server, time=time)
    store.append("quiet", Entry(data="long ago"))
    time.sleep(3600)  # the channel's last news is an hour old
    requests.seen.clear()
    for _ in range(12):  # a subscriber's reads for a minute (the Channel asks 5 s at a time)
        assert store.read("quiet", "1", 100, 5.0) == []
    assert time.now == pytest.approx(1000 + 3600 + 60)
    # One Query a second, none more: the bound of the issue (<= 60 per idle minute) with the
    # requests counted as sent. (Fewer would mean a longer delivery delay.)
    assert requests.seen == {"Query": 60}


def test_a_new_subscriber_of_a_channel_idle_for_an_hour_polls_slowly_from_the_start(
    server: MotoServer,
) -> None:
    """Its first minute costs no more reads than any other: the last event's write time
    (``at``, read on resume or replay) tells it the channel is idle."""
    writer, requests = backend(server, retention=Retention(max_age=None))
    last_id = writer.append("old", Entry(data="an hour ago"))
    written = wall_time.time()
    for resume in (True, False):
        fake = FakeTime()

        def an_hour_later(fake: FakeTime = fake, start: float = fake.now) -> float:
            return written + 3600 + fake.now - start

        reader = DynamoDBBackend(  # a fresh process, an hour later
            writer.client,
            writer.table,
            display_url="r",
            retention=Retention(max_age=None),
            clock=an_hour_later,
            monotonic=fake.monotonic,
            sleep=fake.sleep,
        )
        requests.seen.clear()
        if resume:
            assert reader.find("old", last_id) == 1
        else:
            assert len(reader.read("old", "", 100, 5.0)) == 1  # the replay
        for _ in range(12):
            assert reader.read("old", last_id, 100, 5.0) == []
        assert requests.seen["Query"] <= 60, (resume, requests.seen)


def test_delivery_delay_is_a_quarter_of_the_gap_while_events_flow(server: MotoServer) -> None:
    time = FakeTime()
    store, requests = backend(server, time=time)
    writer, _ = backend(server)
    writer = DynamoDBBackend(
        writer.client, store.table, display_url="w", retention=Retention()
    )  # another process: its own memory, the same table
    published: dict[str, float] = {}

    def publish() -> None:
        published[writer.append("flow", Entry(data="step"))] = time.now

    for k in range(1, 21):  # an event a second for 20 s
        time.pending.append((1000.0 + k, publish))
    seen: dict[str, float] = {}
    after = ""
    while len(seen) < 20:
        for record in store.read("flow", after, 100, 5.0):
            seen[record.id] = time.now
            after = record.id
    delays = sorted(seen[i] - published[i] for i in seen)
    # Events 1 s apart: the reader polls every 0.1 s for 0.4 s, then 0.25 x the idle time, so
    # each event waits at most about 0.25 s (and never beyond the 1 s ceiling).
    assert max(delays) <= 0.3
    queries_per_event = requests.seen["Query"] / 20
    assert queries_per_event <= 10


# -- writes --------------------------------------------------------------------------------------


def test_a_publish_costs_one_write_once_the_publisher_knows_the_channel(server: MotoServer) -> None:
    store, requests = backend(server)
    store.append("job", Entry(data="first"))
    assert requests.seen == {"Query": 1, "PutItem": 1}  # the latest number, read once
    requests.seen.clear()
    for i in range(10):
        store.append("job", Entry(data=str(i)))
    assert requests.seen == {"PutItem": 10}


def test_publishers_in_two_processes_interleave_without_loss(server: MotoServer) -> None:
    first, requests = backend(server)
    second = DynamoDBBackend(first.client, first.table, display_url="b", retention=Retention())
    ids = []
    for i in range(10):  # each one's remembered number is stale on every other publish
        ids.append(first.append("shared", Entry(data=f"a{i}")))
        ids.append(second.append("shared", Entry(data=f"b{i}")))
    assert ids == [str(n) for n in range(1, 21)]
    records = first.read("shared", "", 100, 0)
    assert [r.data for r in records] == [f"{p}{i}" for i in range(10) for p in "ab"]
    # After the first round each publish loses one race (the other took its number): a failed
    # write and a read of the latest, then the write.
    assert requests.seen == {"PutItem": 20 + 18, "Query": 2 + 18 + 1}
    second.append("shared", Entry(end=True))
    with pytest.raises(ChannelEndedError):
        first.append("shared", Entry(data="late"))


def test_items_carry_the_ttl_attribute(server: MotoServer) -> None:
    store, _ = backend(server, retention=Retention(max_length=None, max_age=3600))
    store.append("ttl", Entry(data="x"))
    item = store.client.get_item(
        TableName=store.table, Key={"channel": {"S": "ttl"}, "seq": {"N": "1"}}
    )["Item"]
    at = float(item["at"]["N"])
    assert int(item["expires"]["N"]) == math.ceil(at + 3600)
    forever, _ = backend(server, retention=Retention(max_length=None, max_age=None))
    forever.append("ttl", Entry(data="x"))
    item = forever.client.get_item(
        TableName=forever.table, Key={"channel": {"S": "ttl"}, "seq": {"N": "1"}}
    )["Item"]
    assert "expires" not in item


def test_an_event_too_large_for_an_item_is_refused_before_sending(server: MotoServer) -> None:
    store, requests = backend(server)
    store.append("big", Entry(data="ok"))
    requests.seen.clear()
    with pytest.raises(InvalidEventError, match="does not fit in one DynamoDB item"):
        store.append("big", Entry(data="x" * ITEM_LIMIT))
    assert requests.seen == {}


# -- errors --------------------------------------------------------------------------------------


def test_a_missing_table_is_a_clear_unavailable_error(server: MotoServer) -> None:
    url = f"dynamodb://no-such-table?region=us-east-1&endpoint_url={server.endpoint}"
    channel = open_channel("x", url)
    with pytest.raises(ChannelUnavailableError, match=r"no-such-table.*ResourceNotFound") as info:
        channel.publish_sync("x")
    assert "create the table" in str(info.value)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("dynamodb://ab", "table name must be 3-255"),
        ("dynamodb://a%20b", "table name"),
        ("dynamodb://table?regin=us-east-1", "unknown option.*regin.*region, endpoint_url, poll"),
        ("dynamodb://table?region=us-east-1&poll=fast", "poll=FASTEST,SLOWEST"),
        ("dynamodb://table?region=us-east-1&poll=2,1", "poll=FASTEST,SLOWEST"),
    ],
)
def test_bad_urls_say_what_to_fix(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        open_channel("x", url)
    assert info.value.key == "LAMBDA_SSE_CHANNELS_URL"


def test_no_region_anywhere_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="region"):
        open_channel("x", "dynamodb://table-without-region")
