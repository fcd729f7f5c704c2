"""moto's server mode as a local DynamoDB-compatible endpoint: a real HTTP server in its own
process that boto3 talks to as it would to AWS (AWS itself cannot run here).

:func:`moto_server` starts moto's server (through ``moto_serial.py``, which makes
conditional writes atomic as DynamoDB's are) on a free loopback port, waits until it
answers, and stops that process (by its id) on exit. :func:`create_table` makes a channel table
as template.yaml declares it (``channel`` + ``seq`` keys, TTL on ``expires``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT = 30.0
REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class MotoServer:
    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "dynamodb",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/moto-api/", timeout=0.5):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is serving
    except OSError:
        return False


@contextlib.contextmanager
def dummy_credentials() -> Iterator[None]:
    """Set the dummy credentials in this process's environment (boto3 clients made by the code
    under test read them there), restoring what was there on exit."""
    saved = {name: os.environ.get(name) for name in DUMMY_CREDENTIALS}
    os.environ.update(DUMMY_CREDENTIALS)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def moto_server(log_dir: Path, attempts: int = 3) -> Iterator[MotoServer]:
    for attempt in range(attempts):
        port = _free_port()  # freed for the server: another process may take it first, so retry
        endpoint = f"http://127.0.0.1:{port}"
        log = (log_dir / f"moto-{port}.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("moto_serial.py")),
                "127.0.0.1",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(endpoint):
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            else:
                yield MotoServer(endpoint, process)
                return
            if attempt == attempts - 1:
                raise AssertionError(
                    f"moto server did not start:\n{(log_dir / f'moto-{port}.log').read_text()}"
                )
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(5)


def create_table(client: Any, name: str) -> None:
    """The channel table as template.yaml declares it: on-demand, TTL on ``expires``."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "channel", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "channel", "KeyType": "HASH"},
            {"AttributeName": "seq", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
