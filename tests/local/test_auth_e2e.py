"""Who may call, end to end: serverless.yml -> front doors -> the real pool -> lambda-sse's runtime
in real processes. The TOKEN authorizer is one of the project's functions and runs like any
other; the AWS_IAM URL is read with lambda_sse.iam.IAMAuth and EventSource, re-signed on every
reconnect."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lambda_sse.iam import IAMAuth
from lambda_sse.local.auth.iam import TrustStore
from lambda_sse.local.config import load_project
from lambda_sse.local.credentials import Credentials
from lambda_sse.local.frontdoor.doors import Access, Reporter
from lambda_sse.local.model import ProjectConfig
from lambda_sse.local.pool import Pool
from lambda_sse.local.server import DevServer
from lambda_sse.sse import EventSource, ServerSentEvent, SSEDecoder
from tests.support.execution import Recorder

pytestmark = pytest.mark.anyio

PROJECT = Path(__file__).parent / "projects" / "auth"
DEV = Credentials("AKIADEVELOPERE2E0001", "e2e-developer-secret")


@dataclass
class Stack:
    project: ProjectConfig
    rest: str
    urls: dict[str, str]
    access: list[Access]


@asynccontextmanager
async def stack() -> AsyncIterator[Stack]:
    project = load_project(PROJECT)
    access: list[Access] = []
    pool = Pool(project, limits=False, sink=Recorder(), base_env=dict(os.environ), grace=0.5)
    server = DevServer(
        project,
        pool,
        port=0,
        limits=False,
        reporter=Reporter(access=access.append),
        trust=TrustStore.build(developer=DEV),
    )
    try:
        await server.start()
        yield Stack(
            project,
            f"http://127.0.0.1:{server.rest_port}",
            {name: f"http://127.0.0.1:{port}" for name, port in server.url_ports.items()},
            access,
        )
    finally:
        await server.close()
        await pool.close()


async def events_of(response: httpx.Response) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    async for chunk in response.aiter_raw():
        events.extend(decoder.feed(chunk))
    return events


def caller(events: list[ServerSentEvent]) -> dict[str, Any]:
    assert events[0].event == "caller", events
    data: dict[str, Any] = json.loads(events[0].data or "{}")
    return data


async def test_stream_behind_a_real_token_authorizer() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=30) as client:
        url = f"{s.rest}/dev/feed"
        async with client.stream("GET", url, headers={"Authorization": "allow-ann"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            events = await events_of(response)
        authorizer = caller(events)["authorizer"]
        assert authorizer["principalId"] == "ann"
        assert (authorizer["plan"], authorizer["quota"]) == ("pro", "5")
        assert [e.data for e in events[1:]] == ["step 1", "step 2", "step 3"]
        response = await client.get(url, headers={"Authorization": "allow-ann"})
        assert response.status_code == 200
        deny = await client.get(url, headers={"Authorization": "deny"})
        assert deny.status_code == 403
        assert deny.json()["message"].endswith("with an explicit deny")
        assert (await client.get(url, headers={"Authorization": "who?"})).status_code == 401
        assert (await client.get(url)).status_code == 401
        notes = [a.note for a in s.access]
        assert notes[0].startswith("gate (called): Allow")
        assert notes[1].startswith("gate (cached): Allow")  # the cache spared a call
        assert notes[2].startswith("gate (called): explicit Deny")
        assert notes[3] == "gate: Unauthorized"  # the function raised Exception("Unauthorized")
        assert notes[4] == "gate: identity missing"


async def test_stream_behind_an_api_key() -> None:
    async with stack() as s, httpx.AsyncClient(timeout=30) as client:
        generated = [k for k in s.project.api.api_keys if k.generated]
        assert len(generated) == 1
        assert len(generated[0].value) >= 20
        for key in ("fixed-api-key-0123456789", generated[0].value):
            async with client.stream(
                "GET", f"{s.rest}/dev/keyed", headers={"x-api-key": key}
            ) as response:
                assert response.status_code == 200
                events = await events_of(response)
            assert caller(events)["apiKey"] == key
        response = await client.get(f"{s.rest}/dev/keyed")
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


async def test_iam_url_read_with_iam_auth_and_event_source() -> None:
    async with stack() as s:
        url = s.urls["private"]
        auth = IAMAuth(region="eu-west-2", credentials=DEV)
        async with httpx.AsyncClient(auth=auth, timeout=30) as client:
            posted = await client.post(f"{url}/ask?count=1", json={"q": "hi"})
            assert posted.status_code == 200
            first = caller(SSEDecoder().feed(posted.content))
            assert first["method"] == "POST"
            assert json.loads(first["body"]) == {"q": "hi"}
            assert first["authorizer"]["iam"]["accessKey"] == DEV.access_key
            seen: list[ServerSentEvent] = []
            source = EventSource(f"{url}/events?count=2", client=client, retry=0, max_attempts=3)
            async for event in source:
                seen.append(event)
                if sum(e.event == "caller" for e in seen) == 2:
                    await source.aclose()
            # The second request was a reconnect with Last-Event-ID, signed again, accepted.
            assert [e.data for e in seen if e.event == "message"] == ["step 1", "step 2"]
            assert caller(seen[-1:])["authorizer"]["iam"]["accessKey"] == DEV.access_key
        async with httpx.AsyncClient(timeout=30) as plain:
            refused = await plain.get(f"{url}/events")
            assert refused.status_code == 403
            assert refused.headers["x-amzn-errortype"] == "AccessDeniedException"
        wrong_region = IAMAuth(region="us-east-1", credentials=DEV)
        async with httpx.AsyncClient(auth=wrong_region, timeout=30) as other:
            assert (await other.get(f"{url}/events")).status_code == 403
