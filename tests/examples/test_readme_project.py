"""The README's FastAPI example as a user deploys it: its app and its serverless.yml (the
provider section of the streaming handler's example, the functions of the FastAPI one), served
by the real `lambda-sse dev` through both front doors: /hello buffered and /events streamed work
through the REST API and through the RESPONSE_STREAM Function URL alike, with no warning to fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.asgi.test_readme_app import readme_app
from tests.examples.devserver import dev_server, read_sse

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_yaml(marker: str) -> dict[str, Any]:
    match = re.search(
        rf"<!-- readme: {marker} -->\n```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL
    )
    assert match, f"README.md lost its {marker} block"
    loaded: dict[str, Any] = yaml.safe_load(match.group(1))
    return loaded


def test_the_readme_fastapi_example_works_through_both_front_doors(tmp_path: Path) -> None:
    project = tmp_path / "readme-app"
    project.mkdir()
    (project / "app.py").write_text(readme_app())
    base = readme_yaml("serverless_provider")
    config = {
        "service": "readme-app",
        "provider": base["provider"],
        "package": base["package"],
        "functions": readme_yaml("fastapi_functions")["functions"],
    }
    (project / "serverless.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    with dev_server(project, tmp_path, url_functions=1) as server:
        doors = {"rest": f"{server.rest}/dev", "url": server.url(1)}
        for door, base_url in doors.items():
            hello = httpx.get(f"{base_url}/hello", timeout=30)
            assert hello.status_code == 200, door
            assert hello.json() == {"message": "hello"}, door
            events = read_sse(f"{base_url}/events", headers={"Last-Event-ID": "89"}, timeout=30)
            assert events.status == 200, door
            assert [a.event.data for a in events.arrivals] == [f"tick {i}" for i in range(90, 100)]
        log = server.output()
    assert "not set:" not in log, log  # the timeout fits streaming
    assert "passes through verbatim" not in log, log  # the URL got the streaming format
    assert "handler" not in log.split("stage dev")[-1].split("ready in")[0], log
