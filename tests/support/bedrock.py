"""A loopback stand-in for Amazon Bedrock's ConverseStream (AWS itself cannot run here), for
boto3 to talk to through ``endpoint_url`` / ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.

It speaks the real wire format, so boto3's own parser reads it: ``POST
/model/{modelId}/converse-stream`` answered with ``application/vnd.amazon.eventstream`` messages
(4-byte total and header lengths, CRC32 of that prelude, typed headers, JSON payload, CRC32 of
the whole message: https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html
describes the framing AWS's event streams share), and errors as rest-json documents with
``x-amzn-ErrorType``. What it answers depends on the model id:

- ``fake.echo``: "Echo: <last user text>" in a few deltas, ``end_turn``, usage;
- ``fake.fail-mid``: two deltas, then a ``modelStreamErrorException`` event;
- ``fake.throttled``: HTTP 429 ``ThrottlingException`` before any event.

Every request body is recorded (``requests``) so a test can check what boto3 sent.
"""

from __future__ import annotations

import binascii
import json
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

__all__ = ["FakeBedrock", "event_message", "fake_bedrock"]


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    # type 7: string, with a 2-byte length
    return (
        bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    )


def event_message(headers: dict[str, str], payload: dict[str, Any]) -> bytes:
    """One event-stream message (prelude, prelude CRC, headers, payload, message CRC)."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    body = json.dumps(payload).encode()
    total = 12 + len(head) + len(body) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + head + body
    return message + struct.pack(">I", binascii.crc32(message))


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return event_message(
        {":message-type": "event", ":event-type": kind, ":content-type": "application/json"},
        payload,
    )


def _exception(kind: str, message: str) -> bytes:
    return event_message(
        {
            ":message-type": "exception",
            ":exception-type": kind,
            ":content-type": "application/json",
        },
        {"message": message},
    )


def _deltas(text: str) -> list[bytes]:
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return [
        _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}) for p in pieces
    ]


class FakeBedrock:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                parts = self.path.split("/")
                if len(parts) != 4 or parts[1] != "model" or parts[3] != "converse-stream":
                    self._error(404, "UnknownOperationException", f"no such path {self.path}")
                    return
                model = unquote(parts[2])
                request = json.loads(body)
                fake.requests.append((model, request))
                if model == "fake.throttled":
                    self._error(429, "ThrottlingException", "Too many requests, slow down.")
                    return
                if model not in ("fake.echo", "fake.fail-mid"):
                    self._error(404, "ResourceNotFoundException", f"model {model} not found")
                    return
                last = request["messages"][-1]["content"][-1]["text"]
                messages = [_event("messageStart", {"role": "assistant"})]
                if model == "fake.echo":
                    messages += _deltas(f"Echo: {last}")
                    messages += [
                        _event("contentBlockStop", {"contentBlockIndex": 0}),
                        _event("messageStop", {"stopReason": "end_turn"}),
                        _event(
                            "metadata",
                            {
                                "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
                                "metrics": {"latencyMs": 12},
                            },
                        ),
                    ]
                else:
                    messages += _deltas("Partial answer")
                    messages.append(_exception("modelStreamErrorException", "The model broke."))
                self.send_response(200)
                self.send_header("content-type", "application/vnd.amazon.eventstream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for message in messages:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(message), message))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def _error(self, status: int, kind: str, message: str) -> None:
                body = json.dumps({"message": message}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("x-amzn-ErrorType", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@contextmanager
def fake_bedrock() -> Iterator[FakeBedrock]:
    fake = FakeBedrock()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        thread.join(5)
