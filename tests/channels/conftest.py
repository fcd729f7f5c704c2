"""Fixtures of the channel tests: ``target`` runs a test once per backend in backends.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from lambda_sse.channels import close_backends_async
from tests.channels.backends import BACKENDS, Target


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    with BACKENDS[request.param](tmp_path_factory.mktemp(request.param)) as found:
        yield found


@pytest.fixture(autouse=True)
async def _fresh_backends(anyio_backend: str) -> AsyncIterator[None]:
    """Backends are cached per URL in a process; each test starts and ends without any (closed
    on the test's own event loop, where their async connections live)."""
    yield
    await close_backends_async()
