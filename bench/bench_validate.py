"""Benchmark: `servicebook validate` against its peer and the floor (a figure, not a timed test).

    .venv/bin/python bench/bench_validate.py [--records 100000] [--peer-files 10000] [--repo DIR]

Writes a synthetic repository (`servicebook synth`, every kind, seeded) unless --repo names one,
then measures in this run, on these files:

* the floor: reading every file in one Python process;
* ours, cold (no cache) and warm (cache from the previous run), whole repository, schemas and
  cross-record checks, through the real command;
* ours on one changed file in the full repository (the pull-request path);
* check-jsonschema, the usual CLI peer (schemas only, no cross-record checks), on the first
  --peer-files files, extrapolated per file to the whole repository.

Prints a Markdown table with ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))

from servicebook.load.records import find_names, kind_of_path  # noqa: E402


def timed(cmd, cwd, env=None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed: {proc.stderr[-2000:]}")
    return elapsed


def read_floor(root: Path, names: list[str]) -> float:
    started = time.perf_counter()
    for name in names:
        with open(root / name, "rb") as f:
            f.read()
    return time.perf_counter() - started


def peer(root: Path, names: list[str]) -> float:
    """check-jsonschema, one call per kind (it takes one schema per call)."""
    by_kind = defaultdict(list)
    for name in names:
        by_kind[kind_of_path(name)].append(name)
    total = 0.0
    for kind, files in by_kind.items():
        schema = root / "schemas" / f"{kind}.schema.json"
        if schema.exists():
            total += timed([str(BIN / "check-jsonschema"), "--schemafile", str(schema), *files], root)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--peer-files", type=int, default=10_000)
    ap.add_argument("--repo", type=Path, help="an existing repository to measure instead")
    args = ap.parse_args()

    work = None
    if args.repo:
        root = args.repo.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="sb-bench-"))
        root = work / "repo"
        started = time.perf_counter()
        subprocess.run([str(BIN / "servicebook"), "synth", str(args.records), "--out", str(root),
                        "--seed", "1", "--root", str(ROOT)], check=True, stdout=subprocess.DEVNULL)
        print(f"synthetic repository: {args.records:,} records in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    try:
        names = find_names(root)
        n = len(names)
        sb = [str(BIN / "servicebook"), "validate", "--root", str(root)]
        shutil.rmtree(root / ".cache", ignore_errors=True)
        floor = read_floor(root, names)
        cold = timed(sb, root, {"SERVICEBOOK_NO_CACHE": "1"})
        timed(sb, root)  # fills the cache
        warm = timed(sb, root)
        changed = timed([*sb, names[len(names) // 2]], root)
        sample = names[: args.peer_files]
        peer_time = peer(root, sample)
        peer_all = peer_time / len(sample) * n
        rows = [
            ("read every file, one process (the floor)", floor, floor / floor),
            ("servicebook validate, cold (no cache), 2 processes", cold, cold / floor),
            ("servicebook validate, warm cache", warm, warm / floor),
            ("servicebook validate one changed file", changed, changed / floor),
            (f"check-jsonschema, schemas only ({len(sample):,} files measured, per file x {n:,})",
             peer_all, peer_all / floor),
        ]
        print(f"\n{n:,} record files, {os.cpu_count()} cores\n")
        print("| step | seconds | x floor |")
        print("| --- | ---: | ---: |")
        for label, seconds, ratio in rows:
            print(f"| {label} | {seconds:.2f} | {ratio:.1f} |")
        print(f"\ncheck-jsonschema / ours: {peer_all / cold:.0f}x slower than our cold run, "
              f"{peer_all / warm:.0f}x slower than our warm run; peer {len(sample) / peer_time:.0f} files/s")
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
