"""Small writes leave when they are made: lambda-sse's runtime sends each ``write`` as one HTTP
chunk to the Runtime API at once (no buffer to fill, no Nagle delay), and ``lambda-sse dev``
passes each on through both front doors. Beside it, AWS's Node.js runtime client (npm
aws-lambda-ric) with the same writes on the same emulator: users report its small writes held
back on AWS (aws-lambda-nodejs-runtime-interface-client issues #94 and #102); here it sends them
at once too. docs/troubleshooting.md gives the figures and what they mean."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.examples.devserver import DevServer, dev_server
from tests.local.test_e2e import node_ric

PROJECT = Path(__file__).parent / "small_writes"
N, INTERVAL, SIZE = 6, 0.2, 24
MAX_LAG_MS = 120.0  # a write held back until the next one would wait >= 200 ms


def read_lags(url: str) -> tuple[int, list[float]]:
    """(reads, lag in ms of each write from its making to its arrival here)."""
    reads = 0
    lags: list[float] = []
    with httpx.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            now = time.monotonic_ns()
            reads += 1
            for line in chunk.decode().splitlines():
                lags.append((now - int(line.split()[1])) / 1e6)
    return reads, lags


def urls(server: DevServer, runtime: str) -> list[str]:
    query = f"?n={N}&interval={INTERVAL}&size={SIZE}"
    k = 1 if runtime == "py" else 2  # Function URLs in declaration order
    return [f"{server.rest}/test/{runtime}{query}", f"{server.url(k)}/{query}"]


@pytest.mark.parametrize("runtime", ["py", "node"])
def test_each_small_write_arrives_on_its_own_at_once(
    runtime: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime == "node":
        monkeypatch.setenv("LAMBDA_SSE_NODE_RIC", node_ric())
    with dev_server(PROJECT, tmp_path, url_functions=2) as running:
        for url in urls(running, runtime):
            read_lags(url)  # warm: the first request pays the cold start
            reads, lags = read_lags(url)
            assert len(lags) == N, url
            assert reads == N, (url, reads)  # one read per write: none waited for the next
            assert max(lags) < MAX_LAG_MS, (url, lags)
