"""CloudWatch-shaped START / END / REPORT lines and the memory reading behind them."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from lambda_sse.local import logs
from tests.conftest import require

RID = "8f5e0a8e-5d2e-4b5f-9a4e-0d1c2b3a4f5e"


def test_start_and_end_lines() -> None:
    assert logs.start_line(RID) == f"START RequestId: {RID} Version: $LATEST"
    assert logs.end_line(RID) == f"END RequestId: {RID}"


def test_report_line_of_a_warm_invocation() -> None:
    line = logs.report_line(RID, duration_ms=2.049, memory_size_mb=128, max_memory_used_mb=39)
    assert line == (
        f"REPORT RequestId: {RID}\tDuration: 2.05 ms\tBilled Duration: 3 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 39 MB"
    )


def test_report_line_of_a_cold_start_bills_init_too() -> None:
    line = logs.report_line(
        RID, duration_ms=10.2, memory_size_mb=1024, max_memory_used_mb=80, init_duration_ms=135.1
    )
    fields = line.split("\t")
    assert fields[2] == "Billed Duration: 146 ms"  # ceil(10.2 + 135.1)
    assert fields[-1] == "Init Duration: 135.10 ms"


def test_report_line_with_status_and_error_type() -> None:
    line = logs.report_line(
        RID,
        duration_ms=3000.0,
        memory_size_mb=128,
        max_memory_used_mb=40,
        status="error",
        error_type="Runtime.ExitError",
    )
    assert line.endswith("\tStatus: error\tError Type: Runtime.ExitError")


def test_billed_duration_is_rounded_up_and_at_least_1_ms() -> None:
    assert logs.billed_ms(0.0) == 1
    assert logs.billed_ms(1.0) == 1
    assert logs.billed_ms(1.0001) == 2


def test_timeout_and_crash_wording() -> None:
    assert logs.timeout_line(RID, 3) == f"{RID} Task timed out after 3.00 seconds"
    assert logs.crash_message(RID, 1) == (
        f"RequestId: {RID} Error: Runtime exited with error: exit status 1"
    )
    assert logs.exit_reason(-signal.SIGKILL) == "Runtime exited with error: signal: killed"
    assert logs.exit_reason(-signal.SIGTERM) == "Runtime exited with error: signal: terminated"


def test_max_memory_of_this_process_matches_vmhwm() -> None:
    status = Path(f"/proc/{os.getpid()}/status")
    require("no /proc on this system", status.exists(), "run the emulator's tests on Linux")
    match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
    assert match is not None
    expected_mb = -(-int(match.group(1)) // 1024)
    assert abs(logs.max_memory_mb(os.getpid()) - expected_mb) <= 1


def test_max_memory_sums_a_process_tree(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    for pid, kib, children in ((10, 2048, "11 12"), (11, 1024, ""), (12, 1025, "")):
        (proc / str(pid) / "task" / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "status").write_text(f"Name:\tx\nVmHWM:\t   {kib} kB\nVmRSS:\t 1 kB\n")
        (proc / str(pid) / "task" / str(pid) / "children").write_text(children)
    assert logs.max_memory_mb(10, proc=proc) == 5  # ceil(4097 KiB / 1024)
    assert logs.max_memory_mb(99, proc=proc) == 0


def test_stderr_sink_prefixes_the_function(capsys: pytest.CaptureFixture[str]) -> None:
    logs.stderr_sink(logs.LogRecord("fn", "output", "hello"))
    logs.stderr_sink(logs.LogRecord("fn", "warning", "careful"))
    assert capsys.readouterr().err == "[fn] hello\n[fn] warning: careful\n"


def test_cr_joined_tracebacks_print_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from lambda_sse.local.server import Console

    # AWS's runtimes join a traceback with CR so that CloudWatch keeps it as one event; a
    # terminal would draw each line over the last.
    text = "[ERROR]\tValueError: bad\rTraceback (most recent call last):\r  File x\r\n"
    out = io.StringIO()
    Console(out, color=False).record(logs.LogRecord("fn", "output", text, "r1"))
    assert "\r" not in out.getvalue()
    assert out.getvalue().splitlines() == [
        "[fn] [ERROR]\tValueError: bad",
        "[fn] Traceback (most recent call last):",
        "[fn]   File x",
    ]
    logs.stderr_sink(logs.LogRecord("fn", "output", text, "r1"))
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.splitlines()[1] == "[fn] Traceback (most recent call last):"
