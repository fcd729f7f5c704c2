"""The WSGI environ of one request, as PEP 3333 lays it out (https://peps.python.org/pep-3333/).

Built from the ASGI scope that :func:`lambda_sse.asgi.scope.build_scope` makes of the neutral
:class:`~lambda_sse.events.HttpRequest` (so every front door's event gives the same environ):
``SCRIPT_NAME`` is the REST stage or base path, ``PATH_INFO`` the rest, both "bytes as latin-1
str" as the PEP asks of every environ string (a UTF-8 path arrives as the latin-1 reading of its
bytes, which is what Werkzeug and every WSGI server hand to apps). Pure: no I/O.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["build_environ"]

# Headers the PEP gives their own keys, not HTTP_*.
_OWN_KEYS = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}


def _native(value: str) -> str:
    """PEP 3333 "native strings": code points 0-255 standing for the bytes of the URL, which
    carry the path in UTF-8 (RFC 3986 section 3.3); ASCII paths come out unchanged."""
    return value if value.isascii() else value.encode("utf-8").decode("latin-1")


def build_environ(
    scope: Mapping[str, Any], body: bytes, *, multithread: bool = False
) -> dict[str, Any]:
    """``multithread``: requests of one process may run at once (Lambda Managed Instances with
    ``AWS_LAMBDA_MAX_CONCURRENCY`` above 1); on-demand Lambda runs one at a time."""
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    server = scope.get("server")
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": _native(root_path),
        "PATH_INFO": _native(path),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(len(body)),  # the whole body is here: its length is known
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "https"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "aws.event": scope.get("aws.event"),
        "aws.context": scope.get("aws.context"),
    }
    host: str | None = None
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.lower()
        value = raw_value.decode("latin-1")
        if name in _OWN_KEYS:
            if name == b"content-type":
                environ["CONTENT_TYPE"] = value
            continue  # CONTENT_LENGTH is the body's real length
        if name == b"host" and host is None:
            host = value
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        if key in environ:
            # RFC 9110 5.3: repeated fields join with commas; Cookie (RFC 6265 5.4) with "; ".
            joiner = "; " if name == b"cookie" else ","
            environ[key] = environ[key] + joiner + value
        else:
            environ[key] = value
    if server:
        environ["SERVER_NAME"], environ["SERVER_PORT"] = str(server[0]), str(server[1])
    elif host:
        name, _, port = host.rpartition(":")
        if not port.isdigit() or not name:  # no port, or an IPv6 literal's last group
            name, port = host, ""
        environ["SERVER_NAME"] = name
        environ["SERVER_PORT"] = port or ("443" if environ["wsgi.url_scheme"] == "https" else "80")
    else:
        environ["SERVER_NAME"] = "localhost"
        environ["SERVER_PORT"] = "443" if environ["wsgi.url_scheme"] == "https" else "80"
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    return environ
