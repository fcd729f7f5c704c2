"""The strict Runtime API server, driven over real loopback sockets by an h11 client."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Sequence

import h11
import pytest

from lambda_sse.local.model import InvocationOutcome
from lambda_sse.local.runtime_api import RuntimeAPIServer, RuntimeInvocation

pytestmark = pytest.mark.anyio

API = "/2018-06-01/runtime"
WAIT = 5.0  # every wait in this file is bounded by this


class Client:
    """One HTTP/1.1 connection to the server, spoken through h11."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, server: RuntimeAPIServer) -> Client:
        host, port = server.address.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def start(self, method: str, path: str, headers: Sequence[tuple[str, str]]) -> None:
        await self.send(h11.Request(method=method, target=path, headers=[("Host", "x"), *headers]))

    async def reply(self) -> tuple[int, dict[str, str], bytes]:
        status = 0
        headers: dict[str, str] = {}
        body = b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(self.reader.read(65536), WAIT)
                self.conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
                    self.conn.start_next_cycle()
                return status, headers, body
            else:
                raise AssertionError(f"unexpected {event!r}")

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> tuple[int, dict[str, str], bytes]:
        await self.start(method, path, [*headers, ("Content-Length", str(len(body)))])
        if body:
            await self.send(h11.Data(data=body))
        await self.send(h11.EndOfMessage())
        return await self.reply()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[RuntimeAPIServer]:
    srv = RuntimeAPIServer(buffered_limit=1000, queue_limit=2)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.close()


def deadline() -> int:
    return int(time.time() * 1000) + 30_000


async def handed_out(server: RuntimeAPIServer, event: bytes = b'{"a":1}') -> RuntimeInvocation:
    """Enqueue one event and take it with GET /next, as a runtime would."""
    inv = server.enqueue(event, deadline_ms=deadline())
    client = await Client.open(server)
    status, _, body = await client.request("GET", f"{API}/invocation/next")
    await client.close()
    assert (status, body) == (200, event)
    return inv


async def collect(inv: RuntimeInvocation) -> bytes:
    async def run() -> bytes:
        return b"".join([chunk async for chunk in inv.body()])

    return await asyncio.wait_for(run(), WAIT)


async def test_next_sends_event_and_headers(server: RuntimeAPIServer) -> None:
    server.enqueue(
        b'{"k":"v"}',
        deadline_ms=1_700_000_000_123,
        request_id="rid-1",
        trace_id="Root=1-abc",
        client_context='{"custom":{}}',
    )
    client = await Client.open(server)
    status, headers, body = await client.request("GET", f"{API}/invocation/next")
    assert status == 200
    assert body == b'{"k":"v"}'
    assert headers["lambda-runtime-aws-request-id"] == "rid-1"
    assert headers["lambda-runtime-deadline-ms"] == "1700000000123"
    assert headers["lambda-runtime-invoked-function-arn"].startswith("arn:aws:lambda:")
    assert headers["lambda-runtime-trace-id"] == "Root=1-abc"
    assert headers["lambda-runtime-client-context"] == '{"custom":{}}'
    # Empty values are not sent at all (reference §1).
    assert "lambda-runtime-cognito-identity" not in headers
    assert "lambda-runtime-aws-tenant-id" not in headers
    await client.close()


async def test_buffered_response_is_accepted_after_the_whole_body(
    server: RuntimeAPIServer,
) -> None:
    inv = await handed_out(server)
    client = await Client.open(server)
    status, _, body = await client.request(
        "POST",
        f"{API}/invocation/{inv.request_id}/response",
        b'{"ok":true}',
        [("Content-Type", "application/json")],
    )
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    head = await inv.head()
    assert head is not None
    assert (head.streaming, head.content_type) == (False, "application/json")
    assert await collect(inv) == b'{"ok":true}'
    assert (await inv.outcome()).status == "success"
    record = server.requests[-1]
    assert (record.status, record.body, record.complete) == (202, b'{"ok":true}', True)
    await client.close()


@pytest.mark.parametrize("handed", [False, True])
async def test_unknown_request_id_is_400(server: RuntimeAPIServer, handed: bool) -> None:
    waiting = server.enqueue(b"{}", deadline_ms=deadline())  # queued, never handed out
    rid = "no-such-id" if handed else waiting.request_id
    client = await Client.open(server)
    status, _, body = await client.request("POST", f"{API}/invocation/{rid}/response", b"{}")
    assert status == 400
    assert json.loads(body)["errorType"] == "InvalidRequestID"
    # The connection stays usable after a refusal.
    status, _, _ = await client.request("POST", f"{API}/invocation/{rid}/error", b"{}")
    assert status == 400
    await client.close()


async def test_bad_response_mode_is_400(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await Client.open(server)
    status, _, body = await client.request(
        "POST",
        f"{API}/invocation/{inv.request_id}/response",
        b"x",
        [("Lambda-Runtime-Function-Response-Mode", "buffered")],
    )
    assert status == 400
    assert json.loads(body)["errorType"] == "InvalidFunctionResponseMode"
    assert not inv.done
    await client.close()


async def test_second_answer_is_403(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await Client.open(server)
    path = f"{API}/invocation/{inv.request_id}"
    assert (await client.request("POST", f"{path}/response", b"1"))[0] == 202
    for action in ("response", "error"):
        status, _, body = await client.request("POST", f"{path}/{action}", b"2")
        assert status == 403
        assert json.loads(body)["errorType"] == "InvalidStateTransition"
    assert await collect(inv) == b"1"
    await client.close()


async def test_buffered_body_over_the_limit_is_413_and_error_still_allowed(
    server: RuntimeAPIServer,
) -> None:
    inv = await handed_out(server)
    client = await Client.open(server)
    path = f"{API}/invocation/{inv.request_id}"
    status, _, body = await client.request("POST", f"{path}/response", b"x" * 1001)
    assert status == 413
    assert json.loads(body)["errorType"] == "RequestEntityTooLarge"
    assert not inv.done
    status, _, _ = await client.request(
        "POST",
        f"{path}/error",
        b'{"errorType":"Function.ResponseSizeTooLarge"}',
        [("Lambda-Runtime-Function-Error-Type", "Function.ResponseSizeTooLarge")],
    )
    assert status == 202
    outcome = await inv.outcome()
    assert (outcome.status, outcome.error_type) == (
        "function_error",
        "Function.ResponseSizeTooLarge",
    )
    await client.close()


async def test_body_exactly_at_the_limit_is_accepted(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await Client.open(server)
    status, _, _ = await client.request(
        "POST", f"{API}/invocation/{inv.request_id}/response", b"x" * 1000
    )
    assert status == 202
    await client.close()


async def start_stream(
    server: RuntimeAPIServer, inv: RuntimeInvocation, content_type: str = "text/plain"
) -> Client:
    client = await Client.open(server)
    await client.start(
        "POST",
        f"{API}/invocation/{inv.request_id}/response",
        [
            ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            ("Transfer-Encoding", "chunked"),
            ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"),
            ("Content-Type", content_type),
        ],
    )
    return client


async def test_stream_chunks_arrive_one_by_one(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await start_stream(server, inv)
    head = await asyncio.wait_for(inv.head(), WAIT)
    assert head is not None
    assert (head.streaming, head.content_type) == (True, "text/plain")
    body = inv.body()
    for word in (b"one", b"two", b"three"):
        await client.send(h11.Data(data=word))
        # Each chunk is handed out before the next one is even sent.
        assert await asyncio.wait_for(anext(body), WAIT) == word
    await client.send(h11.EndOfMessage())
    status, _, _ = await client.reply()
    assert status == 202
    assert [chunk for _, chunk in inv.chunks] == [b"one", b"two", b"three"]
    times = [t for t, _ in inv.chunks]
    assert times == sorted(times)
    outcome = await inv.outcome()
    assert (outcome.status, outcome.trailer_error) == ("success", False)
    await client.close()


async def test_stream_error_trailers(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await start_stream(server, inv)
    doc = {"errorMessage": "boom", "errorType": "ValueError"}
    await client.send(h11.Data(data=b"partial"))
    await client.send(
        h11.EndOfMessage(
            headers=[
                ("Lambda-Runtime-Function-Error-Type", "Function.ValueError"),
                (
                    "Lambda-Runtime-Function-Error-Body",
                    base64.b64encode(json.dumps(doc).encode()).decode(),
                ),
            ]
        )
    )
    assert (await client.reply())[0] == 202
    assert await collect(inv) == b"partial"
    outcome = await inv.outcome()
    assert outcome.status == "success"  # Lambda counts it as a response (reference §1.1)
    assert outcome.trailer_error
    assert outcome.error_type == "Function.ValueError"
    assert outcome.error_body is not None
    assert json.loads(outcome.error_body) == doc
    assert inv.trailers["lambda-runtime-function-error-type"] == "Function.ValueError"
    await client.close()


async def test_backpressure_stops_reading_while_the_consumer_lags(
    server: RuntimeAPIServer,
) -> None:
    inv = await handed_out(server)
    client = await start_stream(server, inv)
    piece = b"x" * 65536
    total = 1024  # 64 MiB: far more than loopback socket buffers hold (a few MiB)
    sender = asyncio.ensure_future(_send_chunks(client, piece, total))
    # The server reads until its queue (limit 2) is full, plus the chunk it is holding.
    for _ in range(500):
        if len(inv.chunks) >= 3:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert len(inv.chunks) == 3
    assert not sender.done()
    received = len(await collect(inv))
    await asyncio.wait_for(sender, WAIT)
    assert (await client.reply())[0] == 202
    assert received == len(piece) * total
    await client.close()


async def _send_chunks(client: Client, piece: bytes, count: int) -> None:
    for _ in range(count):
        await client.send(h11.Data(data=piece))
    await client.send(h11.EndOfMessage())


async def test_detach_discards_the_rest_but_reads_to_the_end(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await start_stream(server, inv)
    body = inv.body()
    await client.send(h11.Data(data=b"first"))
    assert await asyncio.wait_for(anext(body), WAIT) == b"first"
    inv.detach()
    await _send_chunks(client, b"y" * 65536, 1024)  # would block forever without discarding
    assert (await client.reply())[0] == 202
    assert [chunk async for chunk in body] == []
    assert (await inv.outcome()).status == "success"
    await client.close()


async def test_function_error(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await Client.open(server)
    doc = b'{"errorMessage":"bad","errorType":"KeyError","stackTrace":[]}'
    status, _, _ = await client.request(
        "POST",
        f"{API}/invocation/{inv.request_id}/error",
        doc,
        [("Lambda-Runtime-Function-Error-Type", "Function.KeyError")],
    )
    assert status == 202
    assert await inv.head() is None
    outcome = await inv.outcome()
    assert (outcome.status, outcome.error_type, outcome.error_body) == (
        "function_error",
        "Function.KeyError",
        doc,
    )
    await client.close()


async def test_init_error(server: RuntimeAPIServer) -> None:
    client = await Client.open(server)
    status, _, _ = await client.request(
        "POST",
        f"{API}/init/error",
        b'{"errorMessage":"x","errorType":"Runtime.ImportModuleError"}',
        [("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")],
    )
    assert status == 202
    outcome = await asyncio.wait_for(server.init_error(), WAIT)
    assert (outcome.status, outcome.error_type) == ("init_error", "Runtime.ImportModuleError")
    await client.close()


async def test_wait_for_poll_and_hangup_does_not_steal_an_event(
    server: RuntimeAPIServer,
) -> None:
    quitter = await Client.open(server)
    await quitter.start("GET", f"{API}/invocation/next", [])
    await quitter.send(h11.EndOfMessage())
    await asyncio.wait_for(server.wait_for_poll(), WAIT)
    assert server.parked == 1
    await quitter.close()  # the runtime died while parked
    for _ in range(500):
        if server.parked == 0:
            break
        await asyncio.sleep(0.01)
    assert server.parked == 0
    inv = await handed_out(server, b'{"for":"the next runtime"}')
    assert inv.handed_out_at is not None


async def test_managed_instances_several_polls_at_once(server: RuntimeAPIServer) -> None:
    clients = [await Client.open(server) for _ in range(3)]
    for client in clients:
        await client.start("GET", f"{API}/invocation/next", [])
        await client.send(h11.EndOfMessage())
    for _ in range(500):
        if server.parked == 3:
            break
        await asyncio.sleep(0.01)
    assert server.parked == 3
    invs = [server.enqueue(b'{"n":%d}' % i, deadline_ms=deadline()) for i in range(3)]
    replies = [await client.reply() for client in clients]
    assert sorted(body for _, _, body in replies) == sorted(inv.event for inv in invs)
    for client in clients:
        await client.close()


async def test_injected_500(server: RuntimeAPIServer) -> None:
    server.fail_next("next")
    client = await Client.open(server)
    status, _, _ = await client.request("GET", f"{API}/invocation/next")
    assert status == 500
    await client.close()


async def test_unknown_path_is_404(server: RuntimeAPIServer) -> None:
    client = await Client.open(server)
    status, _, _ = await client.request("GET", "/2018-06-01/nope")
    assert status == 404
    await client.close()


async def test_abort_ends_body_and_sets_outcome(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await start_stream(server, inv)
    await client.send(h11.Data(data=b"before the timeout"))
    body = inv.body()
    assert await asyncio.wait_for(anext(body), WAIT) == b"before the timeout"
    inv.abort(InvocationOutcome(status="timeout", error_type="Sandbox.Timeout"))
    assert [chunk async for chunk in body] == []
    outcome = await inv.outcome()
    assert (outcome.status, outcome.error_type) == ("timeout", "Sandbox.Timeout")
    await client.close()


async def test_truncated_stream_is_a_crash(server: RuntimeAPIServer) -> None:
    inv = await handed_out(server)
    client = await start_stream(server, inv)
    await client.send(h11.Data(data=b"half"))
    await client.close()  # no final chunk
    outcome = await asyncio.wait_for(inv.outcome(), WAIT)
    assert (outcome.status, outcome.error_type) == ("crash", "Runtime.TruncatedResponse")
    assert await collect(inv) == b"half"


async def test_head_is_none_when_never_answered(server: RuntimeAPIServer) -> None:
    inv = server.enqueue(b"{}", deadline_ms=deadline())
    inv.abort(InvocationOutcome(status="crash", error_type="Runtime.ExitError"))
    assert await inv.head() is None
    assert await collect(inv) == b""


async def test_reusing_a_request_id_in_flight_is_refused(server: RuntimeAPIServer) -> None:
    first = server.enqueue(b"{}", deadline_ms=deadline(), request_id="same")
    with pytest.raises(ValueError, match="in flight"):
        server.enqueue(b"{}", deadline_ms=deadline(), request_id="same")
    # Once it ended the id may come again, as an asynchronous retry does on Lambda.
    first.abort(InvocationOutcome(status="crash", error_type="Runtime.ExitError"))
    again = server.enqueue(b"{}", deadline_ms=deadline(), request_id="same")
    assert again.request_id == "same"
    assert again is not first


async def test_without_recording_bodies_and_with_a_short_history() -> None:
    srv = RuntimeAPIServer(record_bodies=False, history=3)
    await srv.start()
    try:
        inv = await handed_out(srv)
        client = await start_stream(srv, inv)
        await client.send(h11.Data(data=b"kept out of memory"))
        await client.send(h11.EndOfMessage())
        assert (await client.reply())[0] == 202
        assert await collect(inv) == b"kept out of memory"  # still handed to the consumer
        assert inv.chunks == []  # no per-chunk record either: long streams cost no memory
        assert srv.requests[-1].chunks == []
        for _ in range(5):
            await handed_out(srv)
        assert len(srv.requests) == 3
        with pytest.raises(KeyError):
            srv.invocation(inv.request_id)  # finished long ago: forgotten
        await client.close()
    finally:
        await srv.close()


# -- the streamed body's own decoder (local/chunked.py) over raw bytes ------------------------


async def _raw(server: RuntimeAPIServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = server.address.split(":")
    return await asyncio.open_connection(host, int(port))


def _stream_head(inv: RuntimeInvocation, framing: str = "Transfer-Encoding: chunked") -> bytes:
    return (
        f"POST {API}/invocation/{inv.request_id}/response HTTP/1.1\r\nHost: x\r\n"
        f"Lambda-Runtime-Function-Response-Mode: streaming\r\n{framing}\r\n\r\n"
    ).encode()


async def _reply_status(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), WAIT)
    return int(line.split()[1])


@pytest.mark.parametrize("step", [0, 1, 3])
async def test_stream_whole_or_byte_by_byte_with_trailers_and_keep_alive(
    server: RuntimeAPIServer, step: int
) -> None:
    """Head, chunks, trailers and the next request in one write (step 0) or in small pieces:
    the chunks arrive whole, the trailers are parsed, the same connection serves GET /next."""
    inv = await handed_out(server)
    wire = (
        _stream_head(inv)
        + b"5\r\nhello\r\n6;x=y\r\n world\r\n"
        + b"0\r\nLambda-Runtime-Function-Error-Type: Oops\r\n\r\n"
        + f"GET {API}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    second = server.enqueue(b'{"b":2}', deadline_ms=deadline())
    reader, writer = await _raw(server)
    pieces = [wire] if step == 0 else [wire[i : i + step] for i in range(0, len(wire), step)]
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
    assert await _reply_status(reader) == 202
    outcome = await asyncio.wait_for(inv.outcome(), WAIT)
    assert (outcome.error_type, outcome.trailer_error) == ("Oops", True)
    assert [c for _, c in inv.chunks] == [b"hello", b" world"]
    assert await collect(inv) == b"hello world"
    # The pipelined GET /next was not lost: the second event comes on the same connection.
    rest = await asyncio.wait_for(reader.readuntil(b'{"b":2}'), WAIT)
    assert b"HTTP/1.1 200" in rest
    assert second.handed_out_at is not None
    writer.close()


@pytest.mark.parametrize(
    "bad", [b"zz\r\nhello\r\n", b"5\r\nhelloXX0\r\n\r\n", b"5\nhello\r\n0\r\n\r\n"]
)
async def test_malformed_chunk_framing_is_a_truncated_response(
    server: RuntimeAPIServer, bad: bytes
) -> None:
    inv = await handed_out(server)
    reader, writer = await _raw(server)
    writer.write(_stream_head(inv) + b"3\r\nok!\r\n" + bad)
    await writer.drain()
    outcome = await asyncio.wait_for(inv.outcome(), WAIT)
    assert (outcome.status, outcome.error_type) == ("crash", "Runtime.TruncatedResponse")
    assert await collect(inv) == b"ok!"
    assert await asyncio.wait_for(reader.read(), WAIT) == b""  # the server hung up
    writer.close()


async def test_streamed_response_with_content_length_goes_through_h11(
    server: RuntimeAPIServer,
) -> None:
    inv = await handed_out(server)
    reader, writer = await _raw(server)
    writer.write(_stream_head(inv, "Content-Length: 11") + b"hello world")
    await writer.drain()
    assert await _reply_status(reader) == 202
    assert await collect(inv) == b"hello world"
    assert (await asyncio.wait_for(inv.outcome(), WAIT)).status == "success"
    writer.close()


async def test_request_heads_read_line_by_line(server: RuntimeAPIServer) -> None:
    """Bare-LF heads are accepted as h11 accepts them; an oversized head or a leading blank
    line closes the connection without an answer, and the server keeps serving."""
    inv = server.enqueue(b"{}", deadline_ms=deadline())
    reader, writer = await _raw(server)
    writer.write(f"GET {API}/invocation/next HTTP/1.1\nHost: x\n\n".encode())
    assert await _reply_status(reader) == 200
    assert inv.handed_out_at is not None
    writer.close()
    for bad in [b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", b"\r\nGET / HTTP/1.1\r\n"]:
        reader, writer = await _raw(server)
        writer.write(bad)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()
    client = await Client.open(server)
    status, _, _ = await client.request("GET", "/2018-06-01/nope")
    assert status == 404
    await client.close()
