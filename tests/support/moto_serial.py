"""moto's server, answering one request at a time: ``python moto_serial.py HOST PORT``.

DynamoDB applies a conditional write atomically (the condition and the write are one step,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate);
moto's own server runs requests in threads with no lock between the check and the write, so two
concurrent ``PutItem`` with ``attribute_not_exists`` can both succeed. Serialising requests
restores the guarantee the channel backend relies on; connections are still served in threads.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serial(app: Any) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return application


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serial(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
