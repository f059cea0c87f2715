"""Benchmark: the site build, full and after one record changed (a figure, not a timed test).

    .venv/bin/python bench/bench_site.py [--records 10000] [--demo-only] [--keep DIR]

Builds, in this run: the demo site (this repository's records, both languages); a synthetic
repository of --records records (both languages), then again after changing one record, which
is what `mkdocs serve` does on a save; and the peer: MkDocs Material alone building the same
number of plain pages (same theme and features), which shows what our generation adds on top of
the engine. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def build(root: Path, site: Path) -> tuple[float, int]:
    shutil.rmtree(site, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "mkdocs"), "build", "-q", "-d", str(site)], cwd=root, env=ENV,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"mkdocs build failed in {root}:\n{proc.stderr[-3000:]}")
    return elapsed, sum(1 for _ in site.rglob("*.html"))


def site_repo(dest: Path, records: int | None) -> Path:
    if records:
        subprocess.run([str(BIN / "servicebook"), "synth", str(records), "--out", str(dest),
                        "--seed", "1", "--root", str(ROOT)], check=True, stdout=subprocess.DEVNULL)
    else:
        shutil.copytree(ROOT / "records", dest / "records")
        shutil.copytree(ROOT / "schemas", dest / "schemas")
    for name in ("mkdocs.yml", "mkdocs.en.yml"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "docs", dest / "docs", dirs_exist_ok=True)
    return dest


def peer(dest: Path, pages: int) -> float:
    """MkDocs Material alone: the same theme, `pages` plain pages, no plugin of ours."""
    docs = dest / "docs"
    for i in range(pages):
        folder = docs / f"s{i // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"p{i}.md").write_text(f"# Page {i}\n\n| a | b |\n| - | - |\n| {i} | x |\n", encoding="utf-8")
    (docs / "index.md").write_text("# Peer\n", encoding="utf-8")
    (dest / "mkdocs.yml").write_text(
        "site_name: peer\ntheme:\n  name: material\n  font: false\n  features: [navigation.prune]\n",
        encoding="utf-8")
    return build(dest, dest / "site")[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--demo-only", action="store_true")
    ap.add_argument("--keep", type=Path, help="build under this folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sb-site-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        demo = site_repo(work / "demo", None)
        seconds, pages = build(demo, demo / "site")
        rows.append(("demo site, both languages", seconds, pages))
        if not args.demo_only:
            syn = site_repo(work / "synthetic", args.records)
            seconds, pages = build(syn, syn / "site")
            rows.append((f"{args.records:,} synthetic records, both languages", seconds, pages))
            record = next((syn / "records" / "complaint").rglob("*.yaml"))
            record.write_text(record.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
            again, _ = build(syn, syn / "site")
            rows.append(("  the same after one record changed (what serve rebuilds)", again, pages))
            peer_seconds = peer(work / "peer", pages)
            rows.append((f"peer: MkDocs Material alone, {pages:,} plain pages", peer_seconds, pages))
        print("\n| build | seconds | pages | pages/min |")
        print("| --- | ---: | ---: | ---: |")
        for label, seconds, pages in rows:
            print(f"| {label} | {seconds:.1f} | {pages:,} | {pages / seconds * 60:,.0f} |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
