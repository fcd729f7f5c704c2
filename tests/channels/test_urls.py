"""Channel URLs, the default URL and names: pure rules."""

from __future__ import annotations

import pytest

from lambda_sse.channels import Retention, open_channel
from lambda_sse.channels.urls import BACKENDS, default_url, parse_url
from lambda_sse.errors import ConfigError, InvalidChannelNameError


def test_every_scheme_has_a_module_with_open_backend() -> None:
    import importlib

    for scheme, module in BACKENDS.items():
        assert callable(importlib.import_module(module).open_backend), scheme


def test_retention_options_and_defaults() -> None:
    assert parse_url("memory://").retention == Retention()
    url = parse_url("sqlite:///x.db?max_length=5&max_age=1.5&poll=0.1")
    assert url.retention == Retention(max_length=5, max_age=1.5)
    assert url.options == {"poll": "0.1"}
    assert url.base == "sqlite:///x.db?poll=0.1"
    off = parse_url("redis://h/0?max_length=none&max_age=0")
    assert off.retention == Retention(max_length=None, max_age=None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://x", "names no known backend"),
        ("sqlite:/x.db", "names no known backend"),
        ("redis://h/0?max_length=-1", "more than 0"),
        ("redis://h/0?max_age=soon", "not a number"),
    ],
)
def test_bad_urls_name_the_variable(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_url(url)
    assert message in str(info.value)
    assert info.value.key == "LAMBDA_SSE_CHANNELS_URL"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/x.db", "four before an absolute"),
        ("sqlite:///", "names no file"),
        ("sqlite:///x.db?poll=0", "poll"),
        ("sqlite:///x.db?pol=1", "unknown option(s) pol"),
        ("memory://?poll=1", "unknown option(s) poll"),
    ],
)
def test_backend_options_are_checked(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_channel("c", url)
    assert message in str(info.value)


def test_display_hides_the_password() -> None:
    assert parse_url("rediss://:s3cret@h:6379/0").display == "rediss://:***@h:6379/0"
    assert parse_url("redis://me:s3cret@h/0").display == "redis://me:***@h/0"
    assert parse_url("redis://me@h/0").display == "redis://me@h/0"
    channel = open_channel("c", "rediss://:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in repr(channel)


def test_default_url() -> None:
    assert default_url({}) == "sqlite:///.lambda-sse/channels.db"
    assert default_url({"LAMBDA_SSE_CHANNELS_URL": "memory://"}) == "memory://"
    assert default_url(
        {"LAMBDA_SSE_CHANNELS_URL": "redis://h", "AWS_LAMBDA_FUNCTION_NAME": "f"}
    ) == ("redis://h")
    with pytest.raises(ConfigError) as info:
        default_url({"AWS_LAMBDA_FUNCTION_NAME": "f"})
    assert "LAMBDA_SSE_CHANNELS_URL is not set" in str(info.value)


def test_open_channel_on_lambda_without_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_SSE_CHANNELS_URL", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    with pytest.raises(ConfigError, match="LAMBDA_SSE_CHANNELS_URL"):
        open_channel("c")
    monkeypatch.setenv("LAMBDA_SSE_CHANNELS_URL", "memory://lambda")
    assert open_channel("c").backend.display_url == "memory://lambda"


def test_names_are_checked_before_the_url() -> None:
    with pytest.raises(InvalidChannelNameError):
        open_channel("", "postgres://nope")
    with pytest.raises(InvalidChannelNameError, match="str"):
        open_channel(3, "memory://")  # type: ignore[arg-type]


def test_importing_channels_loads_no_backend() -> None:
    """A function that uses SQLite never imports redis-py, and none imports sqlite3 until its
    first SQLite channel."""
    import subprocess
    import sys

    code = (
        "import sys, lambda_sse.channels; "
        "print(','.join(m for m in ('redis', 'sqlite3', 'lambda_sse.channels.sqlite', "
        "'lambda_sse.channels.redis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
