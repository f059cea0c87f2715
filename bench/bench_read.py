"""Benchmark: every read command end to end on a repository, warm cache (issue #19: ≤ 5 s each,
`show ID` and `audit ID` ≤ 1 s at 100k records).

    .venv/bin/python bench/bench_read.py REPO [--tools DIR] [--runs 2] [--out DIR] [--only NAME ...]

Each command runs as its own process from REPO (as a user would: ``python -m servicebook``),
under ``/usr/bin/time``, after one untimed warming run; the table gives the best wall and CPU
seconds (user + system) of ``--runs`` and the peak memory, and below it the read floor of the same
run (every record file's bytes read once, best of ``--runs``: ``bench_growth.read_floor``).
``--only NAME``: a command by its name or its family (``show``: show-text and show-json).
``--tools``: the package to run (default: this checkout's), so the same table can be taken of another revision. ``--out``: keep
each command's standard output (and the exported file) there, named after the command, to prove
two revisions print the same bytes (``cmp``). Fixed ``--at`` so outputs are comparable.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_growth import read_floor

ROOT = Path(__file__).resolve().parent.parent
AT = "2026-11-30T10:00:00+08:00"
TOPICS = ("inspections", "parts", "technicians", "value", "feedback", "cases", "delays", "workload",
          "satisfaction", "times")


def first_id(repo: Path, kind: str) -> str:
    files = sorted((repo / "records" / kind).rglob("*.yaml"))
    return files[len(files) // 2].stem


def commands(repo: Path, scratch: Path) -> list[tuple[str, list[str]]]:
    case, contract = first_id(repo, "complaint"), first_id(repo, "contract")
    out = [("sla-json", ["sla", "--format", "json", "--at", AT]),
           ("sla-text", ["sla", "--at", AT])]
    out += [(f"report-{t}", ["report", t, "--format", "json", "--at", AT]) for t in TOPICS]
    out += [("pipeline-json", ["pipeline", "--format", "json", "--at", AT]),
            ("delivery-json", ["delivery", contract, "--format", "json", "--at", AT]),
            ("export-sqlite", ["export", "--format", "sqlite", "--out", str(scratch / "export.sqlite")]),
            ("export-jsonl", ["export", "--format", "jsonl", "--out", str(scratch / "export.jsonl")]),
            ("show-text", ["show", case]),
            ("show-json", ["show", case, "--format", "json"])]
    if (repo / ".git").exists():
        out.append(("audit-id", ["audit", case]))
    return out


def timed(argv: list[str], repo: Path, env: dict, keep: Path | None) -> tuple[float, float, int, int]:
    with tempfile.TemporaryFile() as stats, open(keep or os.devnull, "wb") as stdout:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", f"/dev/fd/{stats.fileno()}",
                               sys.executable, "-m", "servicebook", *argv],
                              cwd=repo, env=env, stdout=stdout, stderr=subprocess.DEVNULL,
                              pass_fds=(stats.fileno(),))
        stats.seek(0)
        wall, user, system, peak_kb = stats.read().decode().split()[-4:]
    return float(wall), float(user) + float(system), int(peak_kb) // 1024, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo", type=Path)
    ap.add_argument("--tools", type=Path, default=ROOT / "tools")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--only", action="append", default=None)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.tools.resolve())}
    # as installed: compiled modules are kept (without them every run compiles ~70 modules first)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    scratch = args.out or Path(tempfile.mkdtemp(prefix="bench-read-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print("| command | wall s (best) | CPU s (best) | peak MB | exit |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, argv in commands(args.repo.resolve(), scratch):
        if args.only and name not in args.only and name.split("-")[0] not in args.only:
            continue
        timed(argv, args.repo, env, None)  # warm: the cache and the page cache
        runs = [timed(argv, args.repo, env, scratch / f"{name}.out" if args.out else None)
                for _ in range(args.runs)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        print(f"| `{' '.join(argv[:2])}` ({name}) | {wall:.2f} | {cpu:.2f} | {max(r[2] for r in runs)} "
              f"| {runs[-1][3]} |", flush=True)
    floor = min((read_floor(args.repo.resolve()) for _ in range(args.runs)), key=lambda r: r[0])
    print(f"\nread floor (every record file's bytes once): {floor[0]:.2f} s wall, {floor[1]:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
