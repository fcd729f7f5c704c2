"""Small helpers shared by the bench/bench_*.py scripts.

The contract (see bench/run.py): a benchmark prints exactly one Markdown section to stdout,
starting with ``## <Title>``, whose table puts every figure beside a baseline measured in the same
run, with the target and whether it is met. Progress goes to stderr (:func:`log`).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Sequence

__all__ = ["best_interleaved", "log", "markdown_table", "ratio", "verdict"]


def log(message: str) -> None:
    """Progress for the person watching; stdout is reserved for the Markdown section."""
    print(message, file=sys.stderr, flush=True)


def best_interleaved(*runs: Callable[[], object], rounds: int = 9) -> list[float]:
    """The fastest time of each of ``runs``, timed in turn within every round.

    On a shared machine the load drifts; timing the contenders alternately, one call each per
    round, exposes them all to the same drift, so their ratio stays fair where separate blocks
    of repeats would not.
    """
    for run in runs:  # warm up caches and lazy imports
        run()
    best = [float("inf")] * len(runs)
    enabled = gc.isenabled()
    try:
        for _ in range(rounds):
            for i, run in enumerate(runs):
                gc.collect()
                gc.disable()
                start = time.perf_counter()
                run()
                best[i] = min(best[i], time.perf_counter() - start)
                if enabled:
                    gc.enable()
    finally:
        if enabled:
            gc.enable()
    return best


def ratio(ours: float, baseline: float) -> float:
    """How many times faster ours is, from two durations of the same work."""
    return baseline / ours


def verdict(value: float, target: float) -> str:
    """``met`` or ``NOT met``, for a higher-is-better figure against its target."""
    return "met" if value >= target else "NOT met"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")

    numeric = [
        all(isinstance(row[i], int | float) or _looks_numeric(str(row[i])) for row in rows)
        for i in range(len(header))
    ]
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---:" if num else "---" for num in numeric) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("×", "").replace("x", "").strip()
    try:
        float(stripped)
    except ValueError:
        return False
    return True
