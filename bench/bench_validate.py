"""Benchmark: `servicebook validate` against its peer and the floor (a figure, not a timed test).

    .venv/bin/python bench/bench_validate.py [--records 100000] [--peer-files 10000] [--repo DIR]
                                             [--compare OTHER/tools]

Writes a synthetic repository (`servicebook synth`, every kind, seeded) unless --repo names one,
then measures in this run, on these files:

* the floor: reading every file in one Python process;
* ours, cold (no cache) and warm (cache from the previous run: the stored verdict answers),
  whole repository, schemas and cross-record checks, through the real command;
* ours warm after one record was edited (that file is read again, every check runs again);
* ours on one changed file in the full repository (the pull-request path);
* check-jsonschema, the usual CLI peer (schemas only, no cross-record checks), on the first
  --peer-files files, extrapolated per file to the whole repository.

Each of our rows is the best of --repeat runs, wall and CPU (user + system, every process of
the run). Prints a Markdown table with ratios. ``--compare`` names the ``tools`` folder of another
version (e.g. ``git archive`` of a commit): both versions then run every row, alternating, each on
its own hard-linked copy of the repository, and the table shows them side by side.
"""

from __future__ import annotations

import argparse
import os
import resource
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
    return timed_cpu(cmd, cwd, env)[0]


def timed_cpu(cmd, cwd, env=None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its worker processes)"""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed: {proc.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def replace(path: Path, data: bytes) -> None:
    """Write ``path`` as a new file: a repository copied with hard links (cp -al) keeps its twin."""
    tmp = path.with_name(path.name + ".bench-tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


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


def measure(root: Path, names: list[str], env: dict) -> dict[str, tuple[float, float]]:
    """One round of our rows on ``root`` with ``env`` (which code runs): label -> (wall, CPU)."""
    sb = [str(BIN / "servicebook"), "validate", "--root", str(root)]
    edit = root / names[len(names) // 3]
    original = edit.read_bytes()
    out = {}
    shutil.rmtree(root / ".cache", ignore_errors=True)
    out["cold"] = timed_cpu(sb, root, {**env, "SERVICEBOOK_NO_CACHE": "1"})
    timed(sb, root, env)  # fills the cache
    out["warm"] = timed_cpu(sb, root, env)
    replace(edit, original + b"# edited by bench_validate\n")
    try:
        out["edited"] = timed_cpu(sb, root, env)
    finally:
        replace(edit, original)
    timed(sb, root, env)  # the cache again as the repository is
    out["changed"] = timed_cpu([*sb, names[len(names) // 2]], root, env)
    return out


ROWS = (
    ("cold", "servicebook validate, cold (no cache), 2 processes"),
    ("warm", "servicebook validate, warm cache"),
    ("edited", "servicebook validate, warm, one record edited"),
    ("changed", "servicebook validate one changed file"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--peer-files", type=int, default=10_000)
    ap.add_argument("--repo", type=Path, help="an existing repository to measure instead")
    ap.add_argument("--repeat", type=int, default=2, help="runs per row; the best is shown")
    ap.add_argument("--no-peer", action="store_true", help="skip check-jsonschema")
    ap.add_argument("--compare", type=Path, metavar="TOOLS",
                    help="the tools/ folder of another version, measured alternately beside this one")
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
    copies: list[Path] = []
    try:
        names = find_names(root)
        n = len(names)
        versions = {"this": (root, {"PYTHONPATH": str(ROOT / "tools")})}
        if args.compare:  # its own copy: the stat signatures and the cache stay its own
            other = Path(tempfile.mkdtemp(prefix="sb-bench-other-")) / "repo"
            subprocess.run(["cp", "-al", str(root), str(other)], check=True)
            shutil.rmtree(other / ".cache", ignore_errors=True)
            copies.append(other.parent)
            versions = {"before": (other, {"PYTHONPATH": str(args.compare.resolve())}), **versions}
        floor = min(read_floor(root, names) for _ in range(args.repeat))
        runs: dict[str, list[dict]] = {v: [] for v in versions}
        for _ in range(args.repeat):
            for version, (where, env) in versions.items():  # alternating: the load hits both alike
                runs[version].append(measure(where, names, env))
        best_of = {v: {key: best([r[key] for r in rs]) for key, _ in ROWS} for v, rs in runs.items()}
        if not args.no_peer:
            sample = names[: args.peer_files]
            peer_time = peer(root, sample)
            peer_all = peer_time / len(sample) * n
        print(f"\n{n:,} record files, {os.cpu_count()} cores, best of {args.repeat}, "
              f"load average {os.getloadavg()[0]:.1f} at the end\n")
        heads = " | ".join(f"{v}: wall s | CPU s | wall x floor" for v in versions)
        print(f"| step | {heads} |")
        print("| --- |" + " ---: | ---: | ---: |" * len(versions))
        print(f"| read every file, one process (the floor) | {floor:.2f} | - | 1.0 |"
              + " - | - | - |" * (len(versions) - 1))
        for key, label in ROWS:
            cells = " | ".join(f"{w:.2f} | {c:.2f} | {w / floor:.1f}" for w, c in (best_of[v][key] for v in versions))
            print(f"| {label} | {cells} |")
        if not args.no_peer:
            print(f"| check-jsonschema, schemas only ({len(sample):,} files measured, per file x {n:,}) | "
                  f"{peer_all:.2f} | - | {peer_all / floor:.1f} |" + " - | - | - |" * (len(versions) - 1))
            cold, warm = best_of["this"]["cold"][0], best_of["this"]["warm"][0]
            print(f"\ncheck-jsonschema / ours: {peer_all / cold:.1f}x our cold run's wall time, "
                  f"{peer_all / warm:.0f}x our warm run's; peer {len(sample) / peer_time:.0f} files/s")
    finally:
        for folder in copies + ([work] if work else []):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
