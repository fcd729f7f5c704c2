"""The backends the channel conformance suite runs against: one entry per backend.

A backend joins the suite with one context manager here and one line in :data:`BACKENDS`: it
starts whatever server the backend needs (stopped on exit) and yields a :class:`Target`. The
suite (``test_conformance.py``) then runs every test against it, in both the async and the
blocking API.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from tests.support.moto_server import create_table, dummy_credentials, moto_server
from tests.support.redis_server import free_port, redis_server

_fresh = itertools.count()


@dataclass
class Target:
    """How to reach one backend under test."""

    #: A URL to an isolated namespace (a fresh file, prefix, table...): ``query`` holds the
    #: URL's options (``max_length``, ``max_age``), to be added as its query string.
    url: Callable[[dict[str, str]], str]
    #: A URL of this backend's scheme that cannot be reached (nothing listens, no such dir).
    unreachable_url: str
    #: Whether separate processes share channels through it (all but memory://).
    shared_across_processes: bool = True


def _query(url: str, query: dict[str, str]) -> str:
    if not query:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(query)


@contextlib.contextmanager
def memory_backend(tmp: Path) -> Iterator[Target]:
    yield Target(
        url=lambda q: _query(f"memory://t{next(_fresh)}", q),
        unreachable_url="",  # memory:// is always reachable
        shared_across_processes=False,
    )


@contextlib.contextmanager
def sqlite_backend(tmp: Path) -> Iterator[Target]:
    blocker = tmp / "not-a-dir"
    blocker.write_text("a file where the database's folder should be\n")
    yield Target(
        url=lambda q: _query(f"sqlite:///{tmp}/c{next(_fresh)}.db", q),
        unreachable_url=f"sqlite:///{blocker}/channels.db",
    )


@contextlib.contextmanager
def redis_backend(tmp: Path) -> Iterator[Target]:
    with redis_server(tmp / "redis") as server:
        yield Target(
            url=lambda q: _query(f"{server.url}?prefix=t{next(_fresh)}:", q),
            unreachable_url=f"redis://127.0.0.1:{free_port()}/0",
        )


@contextlib.contextmanager
def dynamodb_backend(tmp: Path) -> Iterator[Target]:
    # moto's server mode, a real HTTP endpoint; a fresh table for each URL asked for.
    with moto_server(tmp) as server, dummy_credentials():
        client = server.client()

        def url(query: dict[str, str]) -> str:
            table = f"table{next(_fresh)}"
            create_table(client, table)
            return _query(
                f"dynamodb://{table}?region=us-east-1&endpoint_url={server.endpoint}", query
            )

        yield Target(
            url=url,
            unreachable_url=(
                f"dynamodb://t-nowhere?region=us-east-1&endpoint_url=http://127.0.0.1:{free_port()}"
            ),
        )
        client.close()


#: name -> context manager (given a temporary folder) yielding the Target.
BACKENDS: dict[str, Callable[[Path], contextlib.AbstractContextManager[Target]]] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "redis": redis_backend,
    "dynamodb": dynamodb_backend,
}
