"""``LogType: Tail``: the last 4 KB of an invocation's log, as Lambda returns it.

Lambda answers a synchronous invocation with ``LogType: Tail`` with the base64 of the last
4 KB of its execution log (``X-Amz-Log-Result``, or ``LogResult`` in ``InvokeComplete``): the
function's own lines between ``START`` and ``END``, then ``REPORT``
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).

:class:`LogTap` sits in front of the pool's log sink: it passes every record on and keeps, per
request id, the last 4 KB of text. Bounded twice: by bytes per invocation and by the number of
invocations remembered (the oldest are forgotten), so a long ``lambda-sse dev`` session holds
at most a few MB however it is used.
"""

from __future__ import annotations

import base64
from collections import OrderedDict

from lambda_sse import aws
from lambda_sse.local import logs

__all__ = ["LogTap", "tail_of"]

_REMEMBERED = 512  # invocations whose tail is kept (an async retry's reader may come late)


def tail_of(text: bytes, limit: int = aws.TAIL_LOG_BYTES) -> str:
    """Base64 of the last ``limit`` bytes of ``text``."""
    return base64.b64encode(text[-limit:]).decode("ascii")


class LogTap:
    """A :data:`~lambda_sse.local.logs.LogSink` that forwards to ``sink`` and keeps tails."""

    def __init__(self, sink: logs.LogSink = logs.stderr_sink, *, limit: int = aws.TAIL_LOG_BYTES):
        self.sink = sink
        self.limit = limit
        self._tails: OrderedDict[str, bytearray] = OrderedDict()
        self._open: dict[str, set[str]] = {}  # function -> request ids between START and REPORT

    def __call__(self, record: logs.LogRecord) -> None:
        self.sink(record)
        if record.kind == "warning":
            return
        rid = record.request_id
        text = record.text
        if rid is None:
            # A line printed after the response was sent comes untagged: it belongs to the
            # function's one open invocation, if there is exactly one.
            open_ids = self._open.get(record.function)
            if record.kind != "output" or not open_ids or len(open_ids) != 1:
                return
            rid = next(iter(open_ids))
        elif record.kind == "platform":
            if text.startswith("START RequestId: "):
                open_ids = self._open.setdefault(record.function, set())
                if len(open_ids) >= _REMEMBERED:  # REPORTs went missing (the emulator failed)
                    open_ids.clear()
                open_ids.add(rid)
            elif text.startswith("REPORT RequestId: "):
                open_ids = self._open.get(record.function)
                if open_ids is not None:
                    open_ids.discard(rid)
                    if not open_ids:
                        del self._open[record.function]
        buffer = self._tails.get(rid)
        if buffer is None:
            buffer = self._tails[rid] = bytearray()
            while len(self._tails) > _REMEMBERED:
                self._tails.popitem(last=False)
        buffer += text.encode("utf-8", "replace") + b"\n"
        if len(buffer) > 2 * self.limit:
            del buffer[: len(buffer) - self.limit]

    def take(self, request_id: str) -> str:
        """The base64 tail of the invocation's log (empty string when nothing was logged), and
        forget it."""
        buffer = self._tails.pop(request_id, None)
        return tail_of(bytes(buffer or b""), self.limit)
