"""Benchmark: how the read and check commands grow with the record count, and their peak memory
(a figure to watch, not a timed test).

    .venv/bin/python bench/bench_growth.py REPO [REPO ...] [--repeat 2]

For each repository (e.g. written by `servicebook synth 10000 / 30000 / 100000`), in one run:
the read floor (every record file's bytes read once, nothing parsed: what no validator can beat),
then `validate` cold (no cache) and warm, `sla --format json` warm and `site generate` warm, each
as its own process under `/usr/bin/time -v`: wall seconds, CPU seconds (user + system, children
included: what a shared, busy machine cannot inflate as much as the wall clock) and peak resident
memory. Each timed step runs --repeat times and keeps the fastest. Prints a Markdown table, then
the growth from the first repository to the last beside the growth in records.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
AT = "2026-11-21T00:00:00+08:00"


def read_floor(repo: Path) -> tuple[float, float]:
    """(wall, cpu) seconds to read every record file's bytes once."""
    files = [os.path.join(d, f) for d, _, names in os.walk(repo / "records") for f in names if f.endswith(".yaml")]
    wall, cpu = time.perf_counter(), time.process_time()
    for f in files:
        with open(f, "rb") as fh:
            fh.read()
    return time.perf_counter() - wall, time.process_time() - cpu


def measured(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall s, cpu s, peak KB) of one run of ``cmd``."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], cwd=cwd, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd} failed:\n{proc.stderr[-2000:]}")
    err = proc.stderr

    def field(name):
        return re.search(rf"{name}: ([\d.:]+)", err).group(1)

    h, _, rest = field("Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)").rpartition(":")
    wall = float(rest) + sum(int(x) * 60 ** (i + 1) for i, x in enumerate(reversed(h.split(":"))) if x)
    cpu = float(field("User time \\(seconds\\)")) + float(field("System time \\(seconds\\)"))
    return wall, cpu, int(field("Maximum resident set size \\(kbytes\\)"))


def best(cmd, cwd, repeat, before=None):
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(measured(cmd, cwd))
    return min(runs, key=lambda r: r[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repos", type=Path, nargs="+")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    sb = str(BIN / "servicebook")
    rows = []
    for repo in args.repos:
        records = sum(1 for _ in (repo / "records").rglob("*.yaml"))
        floor = min((read_floor(repo) for _ in range(args.repeat)), key=lambda r: r[0])
        cache = repo / ".cache"
        cold = best([sb, "validate", "--root", str(repo)], repo, args.repeat,
                    before=lambda: shutil.rmtree(cache, ignore_errors=True))
        warm = best([sb, "validate", "--root", str(repo)], repo, args.repeat)
        sla = best([sb, "sla", "--format", "json", "--at", AT, "--root", str(repo)], repo, args.repeat)
        out = Path(tempfile.mkdtemp(prefix="sb-growth-"))

        def fresh_out():
            shutil.rmtree(out, ignore_errors=True)

        site = best([sb, "site", "generate", "--out", str(out), "--at", AT, "--root", str(repo)], repo,
                    args.repeat, before=fresh_out)
        fresh_out()
        rows.append((records, floor, cold, warm, sla, site))
        print(f"{records:,} records done (load average {os.getloadavg()[0]:.1f})", file=sys.stderr)

    print("\n| records | read floor (wall) | validate cold | validate warm | sla --format json | "
          "site generate |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for records, floor, *steps in rows:
        cells = [f"{w:.1f} s wall, {c:.1f} s CPU, {kb / 1024 ** 2:.2f} GB" for w, c, kb in steps]
        print(f"| {records:,} | {floor[0]:.2f} s | " + " | ".join(cells) + " |")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(f"\nGrowth {first[0]:,} -> {last[0]:,} records ({last[0] / first[0]:.1f}x), in CPU seconds: "
              + ", ".join(f"{name} {b[1] / max(a[1], 1e-9):.1f}x" for name, a, b in
                          zip(("validate cold", "validate warm", "sla", "site generate"), first[2:], last[2:])))


if __name__ == "__main__":
    main()
