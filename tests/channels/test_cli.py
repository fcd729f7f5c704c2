"""``lambda-sse publish`` and ``tail`` as real processes: several publisher processes and
several tail processes share one channel through SQLite and through Redis; usage mistakes get
one line and status 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_sse.channels import GAP_EVENT, open_channel
from lambda_sse.cli import main
from lambda_sse.sse import SSEDecoder
from tests.channels.backends import Target
from tests.examples.devserver import lambda_sse_command

pytestmark = pytest.mark.anyio

PUBLISHERS = 3
PER_PUBLISHER = 15


def _cli(*args: str, stdin: bytes = b"", timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*lambda_sse_command(), *args], input=stdin, capture_output=True, timeout=timeout
    )


def test_processes_share_a_channel(target: Target) -> None:
    """3 publisher processes, 2 tail processes (one live from the start, one resuming), all
    through the real CLI: every tail prints every event once, in the channel's order."""
    if not target.shared_across_processes:
        assert _cli("publish", "c", "--url", target.url({}), "--data", "x").returncode == 0
        return
    url = target.url({})
    first = _cli("publish", "jobs", "--url", url, "--data", "first")
    assert first.returncode == 0, first.stderr
    first_id = first.stdout.decode().strip()
    tails = [
        subprocess.Popen(
            [*lambda_sse_command(), "tail", "jobs", "--url", url, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for extra in ([], ["--last-event-id", first_id])
    ]
    try:
        script = (
            "import sys\n"
            "from lambda_sse.channels import open_channel\n"
            "c = open_channel('jobs', sys.argv[1])\n"
            f"for i in range({PER_PUBLISHER}):\n"
            "    print(c.publish_sync(f'{sys.argv[2]}-{i}'), flush=True)\n"
        )
        publishers = [
            subprocess.Popen(
                [sys.executable, "-c", script, url, f"p{k}"], stdout=subprocess.PIPE, text=True
            )
            for k in range(PUBLISHERS)
        ]
        published: list[str] = []
        for proc in publishers:
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode == 0
            published += out.split()
        end = _cli("publish", "jobs", "--url", url, "--end")
        assert end.returncode == 0, end.stderr
        outputs = [tail.communicate(timeout=60) for tail in tails]
    finally:
        for tail in tails:
            if tail.poll() is None:
                tail.kill()
                tail.wait(10)
    assert all(tail.returncode == 0 for tail in tails), [o[1] for o in outputs]
    streams = [SSEDecoder().feed(out) for out, _ in outputs]
    everything, resumed = streams
    assert everything[0].data == "first"
    assert [e.id for e in everything][1:] == [e.id for e in resumed]
    assert len(resumed) == PUBLISHERS * PER_PUBLISHER
    assert sorted(e.id or "" for e in resumed) == sorted(published)
    for k in range(PUBLISHERS):
        mine = [e.data for e in resumed if (e.data or "").startswith(f"p{k}-")]
        assert mine == [f"p{k}-{i}" for i in range(PER_PUBLISHER)]


def _main(*args: str, stdin: bytes = b"") -> tuple[int, bytes, str]:
    from lambda_sse.channels import cli as channels_cli
    from lambda_sse.cli import build_parser

    parsed = build_parser().parse_args(list(args))
    out, err = io.BytesIO(), io.StringIO()
    status = channels_cli.run(parsed, stdin=io.BytesIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_publish_sources_event_type_end_and_tail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    (tmp_path / "data.txt").write_text("from a file\n")
    assert _main("publish", "c", "--url", url, "--data", "a\nb", "--event", "t")[:2] == (0, b"1\n")
    assert _main("publish", "c", "--url", url, "--data-file", str(tmp_path / "data.txt"))[:2] == (
        0,
        b"2\n",
    )
    assert _main("publish", "c", "-", "--url", url, "--end", stdin=b"piped\r\n")[:2] == (0, b"3\n")
    status, out, _ = _main("tail", "c", "--url", url)
    assert status == 0
    assert out == (
        b"event: t\nid: 1\ndata: a\ndata: b\n\nid: 2\ndata: from a file\n\nid: 3\ndata: piped\n\n"
    )
    status, out, _ = _main("tail", "c", "--url", url, "--last-event-id", "2")
    assert out == b"id: 3\ndata: piped\n\n"
    status, out, _ = _main("tail", "c", "--url", url, "--last-event-id", "nope")
    events = SSEDecoder().feed(out)
    assert [e.event for e in events] == [GAP_EVENT, "t", "message", "message"]
    # Only --end: prints the end record's id.
    assert _main("publish", "d", "--url", url, "--end")[:2] == (0, b"1\n")


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["publish", "c", "--data", "x", "--url", "redis"], 2, "names no known backend"),
        (["publish", "c"], 2, "nothing to publish"),
        (["publish", "c", "-", "--data", "x"], 2, "give the data once"),
        (["publish", "c", "--data-file", "/nonexistent/file"], 2, "--data-file"),
        (["publish", "no spaces", "--data", "x"], 2, "channel name"),
        (["tail", "", "--url", "memory://"], 2, "cannot be empty"),
        (["publish", "c", "--data", "x", "--url", "sqlite:///x.db?max_lenght=3"], 2, "max_lenght"),
        (["publish", "c", "--data", "x", "--url", "sqlite:///x.db?max_length=lots"], 2, "number"),
        (["publish", "c", "--data", "x", "--url", "redis://127.0.0.1:1/0"], 1, "unreachable"),
    ],
)
def test_mistakes_get_one_line(
    args: list[str], status: int, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _main(*args)
    assert code == status
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lambda-sse {args[0]}: error: ")
    if message != "unreachable":
        assert message in lines[0]


def test_main_dispatches_and_bad_data_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    assert main(["publish", "m", "--url", url, "--data", "x"]) == 0
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    assert main(["publish", "m", "--url", url, "--data-file", str(tmp_path / "bin")]) == 2


def test_default_url_is_sqlite_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAMBDA_SSE_CHANNELS_URL", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    env = {k: v for k, v in os.environ.items() if k != "LAMBDA_SSE_CHANNELS_URL"}
    done = subprocess.run(
        [*lambda_sse_command(), "publish", "here", "--data", "x"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".lambda-sse" / "channels.db").is_file()
    channel = open_channel("here", f"sqlite:///{tmp_path}/.lambda-sse/channels.db")
    assert [e.data for e in channel.backend.read("here", "", 10, 0)] == ["x"]
