"""A sync buffered handler that reports which heavy modules the runtime process has loaded."""

from __future__ import annotations

import sys
from typing import Any

HEAVY = (
    "asyncio",
    "httpx",
    "logging",
    "threading",
    "concurrent.futures",
    "inspect",
    "http.client",
    "lambda_sse.sse",
    "lambda_sse.asgi",
    "lambda_sse.local",
    "lambda_sse.runtime.aio",
    "encodings.idna",  # getaddrinfo on a str host imports it: the runtime avoids that
    "dataclasses",
    "traceback",
    "socket",  # the sync path speaks through _socket
    "selectors",
)


def handler(event: Any, context: Any) -> list[str]:
    return sorted(name for name in HEAVY if name in sys.modules)
