from __future__ import annotations

import subprocess
import sys

import pytest

import lambda_sse
from lambda_sse import cli
from lambda_sse.errors import InvalidEventError, LambdaSSEError


def test_version_is_exposed() -> None:
    assert lambda_sse.__version__.count(".") == 2


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"lambda-sse {lambda_sse.__version__}"


def test_invalid_event_error_is_a_value_error() -> None:
    assert issubclass(InvalidEventError, ValueError)
    assert issubclass(InvalidEventError, LambdaSSEError)


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = lambda_sse.no_such_name


def test_import_is_light() -> None:
    """Importing lambda_sse must not pull asyncio or the other layers in (cold start)."""
    code = (
        "import sys, lambda_sse; "
        "bad = [m for m in ('asyncio', 'httpx', 'lambda_sse.sse', 'lambda_sse.asgi', "
        "'lambda_sse.local', 'lambda_sse.channels', 'json', 'typing') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
