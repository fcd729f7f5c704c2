"""Run the benchmarks and rewrite docs/benchmarks.md.

    .venv/bin/python bench/run.py            # every bench/bench_*.py
    .venv/bin/python bench/run.py sse asgi   # only these topics; the others keep their sections

Each ``bench/bench_<topic>.py`` runs in its own process with this interpreter (so no benchmark
warms up or slows down another) and prints one Markdown section starting with ``## <Title>``.
The runner stamps each section with the date and machine it was measured on, and writes the file
with a header describing this machine, then the sections in topic order. A script that fails
(non-zero exit, no section, a timeout) is reported on stderr and makes the runner exit 1; the
file keeps that topic's previous section, and every other section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
OUTPUT = ROOT / "docs" / "benchmarks.md"
DEFAULT_TIMEOUT = 300.0

BEGIN = "<!-- bench:{topic} -->"
END = "<!-- /bench:{topic} -->"
SECTION_RE = re.compile(
    r"<!-- bench:(?P<topic>[\w-]+) -->\n(?P<body>.*?)<!-- /bench:(?P=topic) -->", re.S
)


@dataclass
class Outcome:
    topic: str
    section: str | None  # the Markdown section, stamped, when the script succeeded
    error: str | None  # what went wrong, when it did not
    seconds: float


def available_topics(bench_dir: Path = BENCH_DIR) -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in bench_dir.glob("bench_*.py"))


def machine() -> dict[str, str]:
    """The facts a reader needs to judge the figures."""
    cpu = platform.processor() or platform.machine()
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    system = platform.platform()
    try:
        release = platform.freedesktop_os_release()
        system = f"{release.get('PRETTY_NAME', release.get('NAME', ''))} ({platform.release()})"
    except OSError:
        pass
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = cores
    return {
        "cpu": cpu,
        "cores": f"{usable}" + (f" of {cores}" if usable != cores else ""),
        "memory": memory,
        "os": system,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_topic(topic: str, timeout: float, info: dict[str, str], bench_dir: Path) -> Outcome:
    script = bench_dir / f"bench_{topic}.py"
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome(topic, None, f"timed out after {timeout:g} s", time.monotonic() - started)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return Outcome(topic, None, f"exit status {done.returncode}:\n{tail}", seconds)
    try:
        section = stamp(done.stdout, info)
    except ValueError as exc:
        return Outcome(topic, None, str(exc), seconds)
    return Outcome(topic, section, None, seconds)


def stamp(stdout: str, info: dict[str, str]) -> str:
    """Check the script kept the contract, and put the date and machine under its title."""
    text = stdout.strip()
    if not text.startswith("## "):
        raise ValueError(f"output does not start with a '## Title' line: {text[:80]!r}")
    title, _, rest = text.partition("\n")
    if re.search(r"^## ", rest, re.M):
        raise ValueError("output holds more than one '## ' section")
    if "|" not in rest:
        raise ValueError("output holds no table")
    line = f"_Measured {now()} on {info['cpu']}, {info['cores']} cores, {info['python']}._"
    return f"{title}\n\n{line}\n{rest.rstrip()}\n"


def read_sections(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {m["topic"]: m["body"] for m in SECTION_RE.finditer(path.read_text(encoding="utf-8"))}


def render(sections: dict[str, str], info: dict[str, str]) -> str:
    head = [
        "# Benchmarks",
        "",
        "<!-- Written by bench/run.py; edits by hand are lost at the next run. -->",
        "",
        "Generated by `bench/run.py` from the scripts `bench/bench_<topic>.py`. Each figure",
        "stands beside its baseline measured in the same run, with the target and whether it is",
        "met. Regenerate everything with `.venv/bin/python bench/run.py`, or some topics with",
        "`.venv/bin/python bench/run.py <topic> ...` (the other sections stay as they were; each",
        "carries its own date).",
        "",
        f"Last run: {now()}, on this machine:",
        "",
        f"- CPU: {info['cpu']}",
        f"- Cores: {info['cores']}",
        f"- Memory: {info['memory']}",
        f"- OS: {info['os']}",
        f"- Python: {info['python']}",
        "",
    ]
    body: list[str] = []
    for topic in sorted(sections):
        body += [
            BEGIN.format(topic=topic),
            sections[topic].rstrip("\n"),
            END.format(topic=topic),
            "",
        ]
    return "\n".join(head + body)


def write_merged(
    output: Path, fresh: dict[str, str], known: list[str], info: dict[str, str]
) -> None:
    """Merge this run's sections into the file as it is *now*, under a lock, so that two runs of
    different topics at the same time both keep their sections. Sections of scripts that no
    longer exist are dropped."""
    output.parent.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"lambda-sse-bench-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sections = {**read_sections(output), **fresh}
        sections = {t: s for t, s in sections.items() if t in known}
        temporary = output.with_name(output.name + ".tmp")
        temporary.write_text(render(sections, info), encoding="utf-8")
        temporary.replace(output)  # readers never see half a file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topics", nargs="*", help="topics to run (default: all)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per script")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to rewrite")
    parser.add_argument("--bench-dir", type=Path, default=BENCH_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    known = available_topics(args.bench_dir)
    unknown = [t for t in args.topics if t not in known]
    if unknown:
        parser.error(f"unknown topic(s) {', '.join(unknown)}; available: {', '.join(known)}")
    topics = args.topics or known
    if not topics:
        parser.error("no bench/bench_*.py scripts found")

    info = machine()
    fresh: dict[str, str] = {}
    failed = []
    for topic in topics:
        print(f"bench {topic} ...", file=sys.stderr, flush=True)
        outcome = run_topic(topic, args.timeout, info, args.bench_dir)
        if outcome.section is None:
            failed.append(topic)
            kept = (
                "keeping its previous section"
                if topic in read_sections(args.output)
                else "no section written"
            )
            print(f"bench {topic} FAILED ({kept}): {outcome.error}", file=sys.stderr, flush=True)
            continue
        fresh[topic] = outcome.section
        print(f"bench {topic} done in {outcome.seconds:.1f} s", file=sys.stderr, flush=True)
    write_merged(args.output, fresh, known, info)
    print(f"wrote {args.output}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
