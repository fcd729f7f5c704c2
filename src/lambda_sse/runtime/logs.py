"""Log lines tagged with the request id, as AWS's runtimes write them.

The runtime's own messages go to stderr as ``[LEVEL]\\tTIMESTAMP\\tREQUEST_ID\\tmessage`` (AWS's
text log format). When the handler uses :mod:`logging`, the root logger gets the same format and
every record gets an ``aws_request_id`` attribute, as on AWS; :mod:`logging` itself is never
imported here, so a handler that does not use it does not pay for it at cold start.
"""

from __future__ import annotations

import os
import sys
import time

from lambda_sse.runtime.context import current_request_id

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any

__all__ = ["install_logging", "log_line"]

_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
_installed = False


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def log_line(level: str, message: str, request_id: str | None = None) -> None:
    rid = request_id if request_id is not None else (current_request_id() or "")
    text = message.rstrip("\n").replace("\n", "\r")  # one CloudWatch event per message
    try:
        sys.stderr.write(f"[{level}]\t{_timestamp()}\t{rid}\t{text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def install_logging() -> None:
    """Tag :mod:`logging` records with the request id, once the handler has imported it."""
    global _installed
    if _installed or "logging" not in sys.modules:
        return
    _installed = True
    import logging

    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.aws_request_id = current_request_id() or ""
        return record

    logging.setLogRecordFactory(factory)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        formatter = logging.Formatter(_FORMAT, "%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        root.addHandler(handler)
        level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
        if level in {"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"}:
            root.setLevel("WARNING" if level == "WARN" else level)
