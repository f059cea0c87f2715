"""Benchmark: the site build, full and after one record changed (a figure, not a timed test).

    .venv/bin/python bench/bench_site.py [--records 10000] [--demo-only] [--mask-only] [--keep DIR]

Builds, in this run: the demo site (this repository's records, both languages); a synthetic
repository of --records records (both languages), then again after changing one record's text,
with `--dirty` (what `mkdocs serve --dirty` does on a save: pages kept in .cache/ are not
generated again, and only changed pages are rendered) and in full; and the peer: MkDocs Material alone building the same
number of plain pages (same theme and features), which shows what our generation adds on top of
the engine. Prints a Markdown table.

`--engines` compares the engines on the same input instead: `servicebook site generate` writes
the generated pages of --records records (or of --repo), then MkDocs Material and Zensical (a
separate install: `--zensical PATH` to its `zensical` program, e.g. from a scratch venv; it is
no dependency of this project) each build exactly those pages with the same theme settings, in
full and again after one page changed; the table gives Zensical's time as a ratio of MkDocs's.

Then the masking pass of a masked build on the same synthetic corpus, without MkDocs: collecting
every x-personal value into the automaton, and masking every free-text value of every record
(what `Masker.record` does for each record a page shows), beside the naive peer (each value
searched for in each text with `in`) on a sample of the same texts; the ratio is per text, from
this run. `--mask-only` runs only this part (seconds, not minutes).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# one moment for every build of a run, so a rebuild differs from the build before only by the edit
ENV = {"SERVICEBOOK_AS_OF": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
       **os.environ, "NO_MKDOCS_2_WARNING": "1"}


def build(root: Path, site: Path, dirty: bool = False) -> tuple[float, int]:
    """A full build (the site folder emptied first) or a `--dirty` one over the last output."""
    if not dirty:
        shutil.rmtree(site, ignore_errors=True)
    started, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run([str(BIN / "mkdocs"), "build", "-q", "-d", str(site)] + (["--dirty"] if dirty else []),
                          cwd=root, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"mkdocs build failed in {root}:\n{proc.stderr[-3000:]}")
    print(f"  ({'dirty' if dirty else 'full'} build of {root.name}: {elapsed:.1f} s wall, "
          f"{_children_cpu() - cpu:.1f} s CPU over both processes)", flush=True)
    return elapsed, sum(1 for _ in site.rglob("*.html"))


def _children_cpu() -> float:
    """User + system seconds of the finished child processes (both languages' builds)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rendered_since(site: Path, since: float) -> int:
    """HTML pages a build wrote after ``since`` (epoch seconds)."""
    return sum(1 for p in site.rglob("*.html") if p.stat().st_mtime >= since)


def edit_one_record(root: Path) -> Path:
    """Change the text of one complaint, as a person fixing a typo would."""
    for record in sorted((root / "records" / "complaint").rglob("*.yaml")):
        text = record.read_text(encoding="utf-8")
        found = re.search(r"^[ -]*(problem|cause|remarks): \S.*$", text, re.M)
        if found:
            record.write_text(text.replace(found.group(0), found.group(0) + " (edited)", 1), encoding="utf-8")
            return record
    sys.exit(f"no complaint with text to edit under {root}")


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


ENGINE_CONFIG = """site_name: servicebook
docs_dir: docs
use_directory_urls: true
theme:
  name: material
  language: zh
  font: false
  features: [navigation.prune, navigation.indexes, navigation.top, search.highlight, content.tooltips]
extra_css: [assets/servicebook.css]
markdown_extensions:
  - tables
  - attr_list
  - admonition
  - toc:
      permalink: true
"""


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{cmd[0]} failed in {cwd}:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - started


def engines(work: Path, repo: Path, zensical: Path | None) -> list[tuple[str, float, int]]:
    """Generated pages of ``repo`` built by MkDocs Material and by Zensical, full and after one
    page changed: (label, seconds, pages)."""
    pages_dir = work / "pages"
    shutil.rmtree(pages_dir, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([str(BIN / "servicebook"), "site", "generate", "--out", str(pages_dir / "docs"),
                    "--at", "2026-11-21T00:00:00+08:00", "--root", str(repo)], check=True,
                   stdout=subprocess.DEVNULL)
    generate = time.perf_counter() - started
    count = sum(1 for _ in (pages_dir / "docs").rglob("*.md"))
    (pages_dir / "mkdocs.yml").write_text(ENGINE_CONFIG, encoding="utf-8")
    rows = [("`servicebook site generate` (load, derive, render Markdown)", generate, count)]
    changed = next((pages_dir / "docs" / "cases").rglob("*.md"))
    for name, cmd, out in (("MkDocs Material", [str(BIN / "mkdocs"), "build", "-q", "-d", "site-mkdocs"], "site-mkdocs"),
                           ("Zensical", [str(zensical), "build", "--clean"] if zensical else None, "site")):
        if cmd is None:
            continue
        shutil.rmtree(pages_dir / out, ignore_errors=True)
        full = timed(cmd, pages_dir)
        html = sum(1 for _ in (pages_dir / out).rglob("*.html"))
        changed.write_text(changed.read_text(encoding="utf-8") + "\n<!-- edited -->\n", encoding="utf-8")
        again = timed(cmd if name != "Zensical" else [str(zensical), "build"], pages_dir)
        rows += [(f"{name}: build the generated pages", full, html),
                 (f"{name}: again after one page changed", again, html)]
    return rows


def mask_bench(root: Path, sample: int = 2000) -> list[tuple[str, float, str]]:
    """(what, seconds, note) of the masking pass over ``root``'s records."""
    from servicebook.load import corpus as corpus_mod
    from servicebook.derive import personal
    from servicebook.site.mask import Masker
    from servicebook.site.schemaview import SchemaView

    c = corpus_mod.load(root)
    started = time.perf_counter()
    values = personal.values(c.schemas, c.records.values())
    known = personal.Known(values)
    collect = time.perf_counter() - started

    class Recorder:  # the Masker's free texts, as the site would mask them
        def __init__(self):
            self.texts: list[str] = []

        def mask(self, text):
            self.texts.append(text)
            return text

    view = SchemaView.from_dir(root / "schemas")
    recorder = Recorder()
    for rec in c.records.values():
        Masker(view, True, recorder).record(rec.kind, rec.data)
    texts = recorder.texts
    started = time.perf_counter()
    masked = [known.mask(t) for t in texts]
    automaton = time.perf_counter() - started
    started = time.perf_counter()
    masker = Masker(view, True, known)
    for rec in c.records.values():
        masker.record(rec.kind, rec.data)
    records = time.perf_counter() - started

    exact = sorted(values.items(), key=lambda kv: -len(kv[0]))

    def naive(text: str) -> str:
        for value, kind in exact:  # longest first, exact spelling only (no phone groupings)
            if value in text:
                text = text.replace(value, personal.mask_value(kind, value))
        return text

    step = max(1, len(texts) // sample)
    picked = texts[::step][:sample]
    started = time.perf_counter()
    for t in picked:
        naive(t)
    naive_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for t in picked:
        known.mask(t)
    ours_sample = time.perf_counter() - started
    changed = sum(1 for a, b in zip(texts, masked) if a != b)
    per_ours, per_naive = ours_sample / len(picked) * 1e6, naive_seconds / len(picked) * 1e6
    return [
        (f"collect {len(values):,} personal values into the automaton ({len(c.records):,} records)", collect, ""),
        (f"mask {len(texts):,} free texts ({changed:,} changed)", automaton,
         f"{automaton / max(1, len(texts)) * 1e6:.1f} µs a text"),
        (f"Masker.record over every record (fields and free text)", records, ""),
        (f"peer: `value in text` for each value, {len(picked):,} texts sampled", naive_seconds,
         f"{per_naive:,.0f} µs a text vs {per_ours:.1f} µs: {per_naive / max(per_ours, 1e-9):,.0f}x"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--demo-only", action="store_true")
    ap.add_argument("--mask-only", action="store_true", help="only the masking pass, no site build")
    ap.add_argument("--keep", type=Path, help="build under this folder and keep it")
    ap.add_argument("--engines", action="store_true",
                    help="MkDocs Material beside Zensical on the same generated pages")
    ap.add_argument("--zensical", type=Path, help="the zensical program (for --engines)")
    ap.add_argument("--repo", type=Path, help="for --engines: an existing repository instead of --records")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sb-site-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        if args.engines:
            repo = args.repo or site_repo(work / "synthetic", args.records)
            rows = engines(work, repo, args.zensical)
            mk = {label.split(":")[1].strip(): sec for label, sec, _ in rows if label.startswith("MkDocs")}
            print("\n| step | seconds | pages | vs MkDocs |")
            print("| --- | ---: | ---: | ---: |")
            for label, seconds, pages in rows:
                base = mk.get(label.split(":")[1].strip()) if label.startswith("Zensical") else None
                print(f"| {label} | {seconds:.1f} | {pages:,} | {f'{seconds / base:.2f}x' if base else ''} |")
            return
        if args.mask_only:
            syn = site_repo(work / "synthetic", args.records)
            print_mask(mask_bench(syn))
            return
        demo = site_repo(work / "demo", None)
        seconds, pages = build(demo, demo / "site")
        rows.append(("demo site, both languages", seconds, pages))
        print(rows[-1], flush=True)  # each figure as it comes: a full run takes a while
        if not args.demo_only:
            syn = site_repo(work / "synthetic", args.records)
            seconds, pages = build(syn, syn / "site")
            rows.append((f"{args.records:,} synthetic records, both languages", seconds, pages))
            print(rows[-1], flush=True)
            edit_one_record(syn)
            since = time.time()
            again, _ = build(syn, syn / "site", dirty=True)
            rows.append((f"  after one record changed, `--dirty` ({rendered_since(syn / 'site', since)} pages rendered)",
                         again, pages))
            print(rows[-1], flush=True)
            edit_one_record(syn)
            again, _ = build(syn, syn / "site")
            rows.append(("  after one record changed, full", again, pages))
            print(rows[-1], flush=True)
            peer_seconds = peer(work / "peer", pages)
            rows.append((f"peer: MkDocs Material alone, {pages:,} plain pages", peer_seconds, pages))
        print("\n| build | seconds | pages | pages/min |")
        print("| --- | ---: | ---: | ---: |")
        for label, seconds, pages in rows:
            print(f"| {label} | {seconds:.1f} | {pages:,} | {pages / seconds * 60:,.0f} |")
        if not args.demo_only:
            print_mask(mask_bench(syn))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def print_mask(rows) -> None:
    print("\n| masking pass | seconds | |")
    print("| --- | ---: | --- |")
    for label, seconds, note in rows:
        print(f"| {label} | {seconds:.2f} | {note} |")


if __name__ == "__main__":
    main()
