"""docs/channels.md: its Python examples compile, and its streamify_response example is the
handler the soak runs behind a Function URL (same calls, same deadline rule)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "channels.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_every_python_example_compiles() -> None:
    blocks = _blocks()
    assert len(blocks) >= 4
    for block in blocks:
        compile(block, str(DOC), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_names_in_the_examples_exist() -> None:
    import lambda_sse
    from lambda_sse import channels

    text = DOC.read_text()
    for name in ("publish_sync", "end_sync", "subscribe_sync", "subscribe", "publish", "end"):
        assert f"{name}(" in text
        assert hasattr(channels.Channel, name)
    assert channels.GAP_EVENT in text
    assert callable(lambda_sse.streamify_response)
    assert "lambda-sse publish" in text
    assert "lambda-sse tail" in text
