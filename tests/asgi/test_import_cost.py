"""Cold-start cost of the ASGI path: what ``handler = lambda_sse.asgi.handler(app)`` imports.

Each check runs in a fresh interpreter (the test process has everything loaded already). The
modules named here are the ones a FastAPI app would not load by itself: keeping them out of
the import is what keeps ``lambda_sse.asgi`` within 10 ms of the app's own import (the target
in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")

# Loaded on first use only: the SSE response and codec, the translators of other front doors,
# dataclasses (a slotted frozen dataclass costs ~0.8 ms to build at import).
LAZY = (
    "lambda_sse.asgi.sse",
    "lambda_sse.sse",
    "lambda_sse.sse.decoder",
    "lambda_sse.events.alb",
    "lambda_sse.events.rest",
    "lambda_sse.events.v2",
    "dataclasses",
)


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    env = {**os.environ, "PYTHONPATH": SRC}
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_building_an_asgi_handler_leaves_the_rarely_used_modules_out() -> None:
    modules = loaded_after(
        "import lambda_sse.asgi\n"
        "async def app(scope, receive, send): pass\n"
        "handler = lambda_sse.asgi.handler(app, stream=['/events/*'])\n"
        "import lambda_sse.runtime.loop"
    )
    assert "lambda_sse.asgi.handler" in modules  # the check itself ran
    assert modules.isdisjoint(LAZY), sorted(modules & set(LAZY))


def test_a_function_url_event_loads_only_its_own_translator() -> None:
    modules = loaded_after(
        "from lambda_sse.events import detect\n"
        "kind = detect({'version': '2.0', 'rawPath': '/', 'requestContext': "
        "{'domainName': 'abc.lambda-url.us-east-1.on.aws', 'http': {'method': 'GET'}}}).kind\n"
        "assert kind == 'function_url', kind"
    )
    assert "lambda_sse.events.v2" in modules
    assert modules.isdisjoint({"lambda_sse.events.alb", "lambda_sse.events.rest"})


def test_the_lazy_names_still_resolve() -> None:
    import lambda_sse
    import lambda_sse.asgi
    import lambda_sse.events
    from lambda_sse.asgi.sse import EventSourceResponse
    from lambda_sse.events.alb import AlbTranslator
    from lambda_sse.events.rest import RestTranslator
    from lambda_sse.events.v2 import V2Translator

    assert lambda_sse.asgi.EventSourceResponse is EventSourceResponse
    assert lambda_sse.EventSourceResponse is EventSourceResponse
    assert lambda_sse.events.AlbTranslator is AlbTranslator
    assert lambda_sse.events.RestTranslator is RestTranslator
    assert lambda_sse.events.V2Translator is V2Translator
    # Detection order: Function URL, HTTP API, ALB (before REST: ALB events carry httpMethod).
    table = lambda_sse.events.TRANSLATORS
    assert [t.kind for t in table] == ["function_url", "http_api", "alb", "rest"]
    assert [type(t) for t in table] == [V2Translator, V2Translator, AlbTranslator, RestTranslator]
    for module in (lambda_sse.asgi, lambda_sse.events):
        with pytest.raises(AttributeError, match="Nope"):
            _ = module.Nope
