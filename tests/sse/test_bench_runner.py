"""bench/run.py, run for real on throwaway benchmark scripts: sections collected, stamped, kept
across partial runs, failures reported without losing the other sections."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "bench" / "run.py"

GOOD = """
import sys
print("progress", file=sys.stderr)
print("## {title}")
print()
print("| figure | baseline | ratio | target | verdict |")
print("|---:|---:|---:|---|---|")
print("| 2 | 1 | 2.00x | >= 1.5x | met |")
"""


def _script(bench_dir: Path, topic: str, body: str) -> None:
    (bench_dir / f"bench_{topic}.py").write_text(textwrap.dedent(body), encoding="utf-8")


def _run(bench_dir: Path, output: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(RUNNER),
            "--bench-dir",
            str(bench_dir),
            "--output",
            str(output),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bench"
    path.mkdir()
    _script(path, "beta", GOOD.format(title="Beta figures"))
    _script(path, "alpha", GOOD.format(title="Alpha figures"))
    return path


def test_runs_every_script_and_writes_sections_in_topic_order(
    bench_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "benchmarks.md"
    done = _run(bench_dir, output)
    assert done.returncode == 0, done.stderr
    text = output.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n")
    assert "bench/run.py" in text
    for fact in ("- CPU: ", "- Cores: ", "- Memory: ", "- OS: ", "- Python: CPython"):
        assert fact in text
    assert text.index("## Alpha figures") < text.index("## Beta figures")
    assert text.count("_Measured ") == 2
    assert "| 2 | 1 | 2.00x | >= 1.5x | met |" in text
    # Script progress goes to the runner's stderr, never into the file.
    assert "progress" not in text


def test_a_partial_run_keeps_the_other_sections(bench_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    assert _run(bench_dir, output).returncode == 0
    before = output.read_text(encoding="utf-8")
    alpha_before = before[before.index("## Alpha") : before.index("<!-- /bench:alpha -->")]
    _script(bench_dir, "beta", GOOD.format(title="Beta figures, second run"))
    assert _run(bench_dir, output, "beta").returncode == 0
    after = output.read_text(encoding="utf-8")
    assert alpha_before in after
    assert "## Beta figures, second run" in after
    assert after.count("## Beta") == 1


@pytest.mark.parametrize(
    "body",
    [
        "raise SystemExit('benchmark blew up')",
        "print('no heading here')",
        "print('## One')\nprint('| a |')\nprint('## Two')",
        "print('## No table at all')",
    ],
)
def test_a_failing_script_fails_the_run_but_keeps_everything_else(
    bench_dir: Path, tmp_path: Path, body: str
) -> None:
    output = tmp_path / "benchmarks.md"
    assert _run(bench_dir, output).returncode == 0
    _script(bench_dir, "alpha", body)
    done = _run(bench_dir, output)
    assert done.returncode == 1
    assert "bench alpha FAILED (keeping its previous section)" in done.stderr
    text = output.read_text(encoding="utf-8")
    assert "## Alpha figures" in text  # the previous section survives
    assert "## Beta figures" in text


def test_the_error_of_a_failing_script_is_shown(bench_dir: Path, tmp_path: Path) -> None:
    _script(bench_dir, "gamma", "raise SystemExit('benchmark blew up')")
    done = _run(bench_dir, tmp_path / "benchmarks.md", "gamma")
    assert done.returncode == 1
    assert "benchmark blew up" in done.stderr
    assert "no section written" in done.stderr


def test_unknown_topic_is_a_usage_error(bench_dir: Path, tmp_path: Path) -> None:
    done = _run(bench_dir, tmp_path / "benchmarks.md", "nope")
    assert done.returncode == 2
    assert "unknown topic(s) nope; available: alpha, beta" in done.stderr
    assert not (tmp_path / "benchmarks.md").exists()


def test_a_script_over_its_time_is_stopped(bench_dir: Path, tmp_path: Path) -> None:
    _script(bench_dir, "slow", "import time\ntime.sleep(60)")
    done = _run(bench_dir, tmp_path / "benchmarks.md", "--timeout", "0.5", "slow")
    assert done.returncode == 1
    assert "timed out after 0.5 s" in done.stderr


def test_the_sse_benchmark_keeps_the_contract(tmp_path: Path) -> None:
    """bench_sse.py itself, shrunk by BENCH_QUICK: one section, a table, baselines, verdicts."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_sse.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "BENCH_QUICK": "1"},
        cwd=ROOT,
    )
    out = done.stdout
    assert out.startswith("## SSE codec\n")
    assert out.count("\n## ") == 0
    rows = [line for line in out.splitlines() if line.startswith(("| encode", "| decode"))]
    assert len(rows) == 7
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        ours, baseline = float(cells[1].replace(",", "")), float(cells[3].replace(",", ""))
        assert ours > 0
        assert baseline > 0
        assert cells[5].endswith("x")
        assert float(cells[5][:-1]) > 0
        assert cells[7] in {"met", "NOT met"}


def test_two_runs_at_once_keep_both_sections(bench_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    slow_good = "import time\ntime.sleep(0.5)\n" + textwrap.dedent(GOOD)
    _script(bench_dir, "alpha", slow_good.format(title="Alpha figures"))
    _script(bench_dir, "beta", slow_good.format(title="Beta figures"))
    command = [sys.executable, str(RUNNER), "--bench-dir", str(bench_dir), "--output", str(output)]
    runs = [
        subprocess.Popen([*command, topic], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for topic in ("alpha", "beta")
    ]
    try:
        assert [run.wait(timeout=60) for run in runs] == [0, 0]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    text = output.read_text(encoding="utf-8")
    assert "## Alpha figures" in text
    assert "## Beta figures" in text
