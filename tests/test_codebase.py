"""Rules of the codebase that a reviewer would otherwise check by hand: modules stay small (or
say why not), and nothing points a reader to files outside the repository or to issue numbers."""

from __future__ import annotations

import re
from pathlib import Path

import lambda_sse

ROOT = Path(lambda_sse.__file__).resolve().parents[2]
SRC = ROOT / "src" / "lambda_sse"
MAX_LINES = 400
REASON = "Why this module is longer than 400 lines:"
# A reference a reader of the project cannot follow: a path outside the repository, a design
# note or a reference file kept elsewhere, or a bare issue number of the project's tracker.
OUTSIDE = re.compile(
    r"/work/|\.\./shared|shared/reference|design\.md|reference §|reference (?:section|aws)"
    r"|\b[Ii]ssue (?:#)?\d+\b(?![^\n]*github\.com)"
)


def _texts() -> list[Path]:
    files = [*SRC.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").glob("*.py")]
    files += [*(ROOT / "docs").glob("*.md"), ROOT / "README.md", ROOT / "ARCHITECTURE.md"]
    files += [p for p in (ROOT / "examples").rglob("*") if p.suffix in {".py", ".md", ".yml"}]
    return [p for p in files if "node_modules" not in p.parts and p.is_file()]


def test_long_modules_say_why() -> None:
    long = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > MAX_LINES and REASON not in text.split('"""', 2)[1]:
            long.append(f"{path.relative_to(SRC)}: {text.count(chr(10))} lines")
    assert not long, "over 400 lines without the reason in the docstring:\n" + "\n".join(long)


def test_no_reference_outside_the_repository() -> None:
    hits = []
    for path in _texts():
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert len(_texts()) > 100  # the walk found the code and the docs
    assert not hits, "\n".join(hits)


def test_the_pattern_catches_what_it_should() -> None:
    for bad in ("see /work/shared/reference/sse.md", "(issue 3)", "reference §1.1", "design.md"):
        assert OUTSIDE.search(bad), bad
    for fine in ("https://github.com/Kludex/mangum/issues/342", "RFC 9112 §7.1", "an issue"):
        assert not OUTSIDE.search(fine), fine
