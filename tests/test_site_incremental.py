"""Incremental site builds: pages kept between builds (`write/pagestore.py`, `site/pagekeys.py`)
are exactly the pages generated from scratch, after edits of every kind of input; and a
`mkdocs build --dirty` after one record change renders only the pages that changed, with a whole
search index."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import pytest

from conftest import with_site
from servicebook.derive import checked
from servicebook.load.instants import parse_instant
from servicebook.site.plugin import PAGE_OPTIONS, generate
from servicebook.write.pagestore import PageStore, page_folder

# The venv's own mkdocs: CI runs `make test` without the venv on PATH.
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
AT = "2026-11-21T00:00:00+08:00"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Tester", "-c", "user.email=tester@example.com", *args],
                   cwd=root, check=True, capture_output=True)


def _texts(out: dict) -> dict[str, str]:
    return {p: (v.read_text(encoding="utf-8") if isinstance(v, Path) else v) for p, v in out.items()}


def _pages(root: Path, at: str, lang: str = "zh", store: PageStore | None = None) -> dict:
    return generate(checked.load(root), root, lang, parse_instant(at), dict(PAGE_OPTIONS), store=store)


def _agree(root: Path, at: str, lang: str = "zh") -> PageStore:
    """Generate with the page store (as the last build left it) and from scratch (no cache of any
    kind): the same pages."""
    store = PageStore(page_folder(root, lang))
    kept = _texts(_pages(root, at, lang, store))
    store.close()
    with patch.dict(os.environ, {"SERVICEBOOK_NO_CACHE": "1"}):  # from scratch: no kept records or clocks either
        fresh = _pages(root, at, lang)
    assert sorted(kept) == sorted(fresh)
    differ = [p for p in fresh if kept[p] != fresh[p]]
    assert not differ, f"kept pages differ from fresh ones: {differ[:5]}"
    return store


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _chain_page_record(root: Path) -> Path:
    """A complaint shown on a case page of its own (the demo's first open complaint)."""
    for path in sorted((root / "records" / "complaint").rglob("*.yaml")):
        if re.search(r"^status: (?!closed)", path.read_text(encoding="utf-8"), re.M):
            return path
    raise AssertionError("no open complaint in the demo")


def _customer_of(root: Path, record: Path) -> Path:
    cid = re.search(r"^customer: (\S+)$", record.read_text(encoding="utf-8"), re.M).group(1)
    return next((root / "records" / "customer").rglob(f"{cid}.yaml"))


def _another_customer(root: Path, record: Path) -> str:
    """A customer other than ``record``'s: an open complaint moved to it shows in the lists."""
    mine = _customer_of(root, record).stem
    return next(p.stem for p in sorted((root / "records" / "customer").rglob("*.yaml")) if p.stem != mine)


@pytest.fixture
def repo(demo):
    _git(demo, "init", "-q", "-b", "main")
    _git(demo, "add", "-A")
    _git(demo, "commit", "-q", "-m", "demo records")
    return demo


def test_kept_pages_equal_fresh_ones_after_every_kind_of_change(repo):
    store = _agree(repo, AT)
    assert store.kept == 0 and store.written > 100            # the first build keeps nothing
    store = _agree(repo, AT)
    cases = sum(1 for p in store.keys if p.startswith("cases/"))
    customers = sum(1 for p in store.keys if p.startswith("customers/"))
    assert cases > 20 and customers > 10 and store.kept == len(store.keys)
    assert store.groups_kept == set(store.groups) and len(store.groups) > 5
    assert store.written == 0  # nothing changed: every kept page kept, no file written

    complaint = _chain_page_record(repo)
    text = complaint.read_text(encoding="utf-8")
    line = next(m for m in re.finditer(r"^[ -]*(problem|cause|remarks): (\S.*)$", text, re.M))
    _edit(complaint, line.group(0), line.group(0) + " 改了")          # a case's own text
    store = _agree(repo, AT)
    assert 0 < store.written < 20 and store.kept >= cases + customers - 3  # its page and the lists that show it
    # pages that read no complaint, or nothing of a complaint but its chain's row
    assert {"presales", "aftersales parts", "aftersales kb", "cases.lists", "customers.index",
            "weekly"} <= store.groups_kept

    steps = [
        lambda: _edit(repo / "records/person/P-chen-gang.yaml", "name: 陈刚", "name: 陈刚强"),   # a person's name
        lambda: _edit(next((repo / "records/customer").glob("*.yaml")), "name: ", "name: 新"),  # a customer's name
        lambda: _edit(_customer_of(repo, complaint), "short_name: ", "short_name: 另"),  # one in queues, by its short name
        lambda: _edit(complaint, "\ncustomer: ", f"\ncustomer: {_another_customer(repo, complaint)}\nold_customer: "),
        lambda: next((repo / "records/callback").rglob("*.yaml")).unlink(),                 # a referrer deleted
            lambda: _edit(repo / "records/policy/SLA-complaint.yaml", "\nversion: 2", "\nversion: 3"),  # the SLA policy
    ]
    for step in steps:
        step()
        _agree(repo, AT)
    # a commit changes the audit trail of what it touches
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "edits")
    _agree(repo, AT)
    # the moment moves on: open clocks change state, closed pages stay
    _agree(repo, "2026-11-21T09:30:00+08:00")
    _agree(repo, "2027-01-15T09:30:00+08:00")
    _agree(repo, "2027-01-15T09:30:00+08:00", lang="en")


def test_kept_pages_agree_after_random_edits(demo):
    """Hostile, careless edits anywhere (a value of any field changed, so some records fail their
    checks): the kept pages still equal fresh ones."""
    rnd = random.Random(19)
    _agree(demo, AT)
    files = sorted((demo / "records").rglob("*.yaml"))
    for path in rnd.sample(files, 6):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        candidates = [i for i, line in enumerate(lines) if re.match(r"^\s*[a-z_]+: \S", line) and "schema" not in line]
        i = rnd.choice(candidates)
        lines[i] = lines[i].rstrip("\n") + rnd.choice([" 改", " <b>x</b>", " |x|", "0"]) + "\n"
        path.write_text("".join(lines), encoding="utf-8")
        _agree(demo, AT)


_ID = re.compile(r"[A-Z][A-Z0-9]*-[\w-]+")
_WHEN = re.compile(r"\d{4}-\d\d-\d\d")


def _edit_what_pages_show(path: Path, personal: set[str]) -> None:
    """Every value of a record that a page may show changed (its text, amounts, codes, enums),
    but not what places records on pages (IDs, references, statuses, instants) nor personal values
    (masking depends on every one of them): so the groups of list pages that do not read the
    record's kind stay kept, and those that do must show the change."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*-?\s*)([a-z_]+): ([^'\"\[{|>&*!#\s].*)$", line.rstrip("\n"))
        if (m and m.group(2) not in ("id", "schema_version", "status")
                and not _ID.fullmatch(m.group(3)) and not _WHEN.match(m.group(3)) and m.group(3) not in personal):
            lines[i] = f"{m.group(0)} 改\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_kept_list_pages_equal_fresh_ones_after_an_edit_of_each_kind(demo):
    """List and report pages are kept in groups, each keyed on the kinds of records it reads
    (`pagekeys.group_key`): after an edit of records of any one kind, the pages of every group kept
    equal fresh ones, so no group reads a kind its key leaves out."""
    from servicebook.derive.personal import values

    _agree(demo, AT)
    corpus = checked.load(demo)
    personal = set(values(corpus.schemas, corpus.records.values()))
    kept: dict[str, set[str]] = {}
    for kind in sorted(p.name for p in (demo / "records").iterdir()):
        for path in sorted((demo / "records" / kind).rglob("*.yaml"))[:3]:
            _edit_what_pages_show(path, personal)
        for group in _agree(demo, AT).groups_kept:
            kept.setdefault(group, set()).add(kind)
    # a status, which places no record: lists that show it must show the change
    for kind in ("complaint", "repair", "solution", "contract"):
        path = sorted((demo / "records" / kind).rglob("*.yaml"))[4]
        _edit(path, "\nstatus: ", "\nstatus: 改")
        _agree(demo, AT)
    # the test has teeth: each group was kept after edits of the kinds it does not read
    assert kept["presales"] >= {"callback", "complaint", "inspection", "installation", "repair", "part-request"}
    assert kept["aftersales parts"] >= {"complaint", "survey", "solution", "contract", "callback"}
    for group in ("aftersales kb", "aftersales inspections", "aftersales value", "aftersales feedback"):
        assert {"survey", "solution", "bid"} <= kept[group], group
    assert "complaint" in kept["aftersales kb"]  # its matches and fields shown unchanged
    for group in ("cases.lists", "customers.index"):  # a record's own data shows in no list of chains
        assert {"complaint", "repair", "survey", "contract"} <= kept[group], group


def test_kept_pages_agree_after_values_of_the_wrong_type(demo):
    """A list where an ID or a status belongs, a number where the history belongs, a history entry
    without an instant or with a status that is no text: the build goes on (the SLA engine once
    raised on each), the problems page names the files, and kept pages still equal fresh ones."""
    _agree(demo, AT)
    first, second, third, fourth, fifth = sorted((demo / "records" / "repair").rglob("*.yaml"))[1:6]
    _edit(first, "\ncustomer: ", "\ncustomer: [a, b]\nold_customer: ")
    _edit(second, "\nstatus: ", "\nstatus: [1, 2]\nold_status: ")
    _edit(third, "\nhistory:", "\nhistory: 5\nold_history:")
    _edit(fourth, "\n- at: ", "\n- at: null\n  old_at: ")                 # a history entry with no instant
    _edit(fifth, "\n  status: ", "\n  status: {a: 1}\n  old_status: ")   # a history status that is no text
    appraisal = next((demo / "records" / "appraisal").rglob("AP-20261118-5SRHX3.yaml"))  # an open deal's latest step
    text = appraisal.read_text(encoding="utf-8")
    last = text.rindex("\n  status: ")                                    # its status now: the deal's stage
    appraisal.write_text(text[:last] + "\n  status: {a: 1}\n  old" + text[last + 3:], encoding="utf-8")
    store = _agree(demo, AT)
    problems = store.file("problems.md").read_text(encoding="utf-8")
    for path in (first, second, third, fourth, fifth, appraisal):
        assert path.name in problems, path


def test_a_page_file_changed_behind_the_store_is_made_again(demo):
    """The manifest is sealed, but a page's file is a plain file: one replaced by anything else (a
    checkout of a branch that force-added it under .cache/) is generated again, not trusted."""
    _agree(demo, AT)
    folder = page_folder(demo, "zh")
    page = next(p for p in sorted(folder.rglob("*.md")) if "cases" in p.parts)
    forged = page.read_text(encoding="utf-8").replace("\n", "\n<script>alert('forged')</script>\n", 1)
    page.write_text(forged, encoding="utf-8")
    store = _agree(demo, AT)
    assert "forged" not in page.read_text(encoding="utf-8")
    assert store.kept > 0  # the others were kept


def test_a_damaged_store_is_rebuilt_not_trusted(demo):
    _agree(demo, AT)
    folder = page_folder(demo, "zh")
    (folder / "manifest.marshal").write_bytes(b"\x00 not a manifest")
    page = next(p for p in sorted(folder.rglob("*.md")) if "cases" in p.parts)
    page.write_text("tampered", encoding="utf-8")
    store = _agree(demo, AT)
    assert store.kept == 0 and page.read_text(encoding="utf-8") != "tampered"


def _site_pages(site: Path) -> dict[str, float]:
    return {p.relative_to(site).as_posix(): p.stat().st_mtime for p in site.rglob("index.html")}


def _search_docs(site: Path) -> list:
    docs = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    return sorted(json.dumps(d, sort_keys=True, ensure_ascii=False) for d in docs)


def test_a_dirty_build_renders_only_what_changed(demo, monkeypatch):
    with_site(demo)
    monkeypatch.setenv("SERVICEBOOK_AS_OF", AT)
    mkdocs = [MKDOCS, "build", "-q"]
    subprocess.run(mkdocs, cwd=demo, check=True, capture_output=True)
    site = demo / "site"
    before = _site_pages(site)
    complaint = _chain_page_record(demo)
    cid = complaint.stem
    text = complaint.read_text(encoding="utf-8")
    line = next(m for m in re.finditer(r"^[ -]*(problem|cause|remarks): (\S.*)$", text, re.M))
    _edit(complaint, line.group(0), line.group(0) + " 改了")
    subprocess.run(mkdocs + ["--dirty"], cwd=demo, check=True, capture_output=True)
    after = _site_pages(site)
    assert sorted(after) == sorted(before)
    changed = {p for p in after if after[p] != before[p]}
    case_pages = [p for p in before if p.startswith("cases/") and p != "cases/index.html"]
    assert any(cid in p for p in changed) or any("cases/" in p for p in changed)
    assert len(changed & set(case_pages)) <= 2 < len(case_pages), sorted(changed)
    dirty_index = {lang: _search_docs(site / lang if lang else site) for lang in ("", "en")}
    # the kept pages cleaned away (`.cache/`), the site kept: a dirty build renders every generated
    # page again but not the hand-written ones, whose entries come from the site's last index
    shutil.rmtree(demo / ".cache")
    subprocess.run(mkdocs + ["--dirty"], cwd=demo, check=True, capture_output=True)
    cleaned_index = {lang: _search_docs(site / lang if lang else site) for lang in ("", "en")}
    # the index a dirty build leaves is the whole one a full build writes
    subprocess.run(mkdocs, cwd=demo, check=True, capture_output=True)
    for lang, docs in dirty_index.items():
        assert docs == _search_docs(site / lang if lang else site)
        assert cleaned_index[lang] == docs


def test_a_dirty_build_removes_the_pages_of_deleted_records(demo, monkeypatch):
    """A dirty build renders over the last output: a deleted customer's page (their personal data)
    and a deleted KB entry's page go, in both languages, and the site has exactly the pages a full
    build makes."""
    with_site(demo)
    monkeypatch.setenv("SERVICEBOOK_AS_OF", AT)
    mkdocs = [MKDOCS, "build", "-q"]
    subprocess.run(mkdocs, cwd=demo, check=True, capture_output=True)
    site = demo / "site"
    gone = []
    for kind, folder in (("customer", "customers"), ("kb", "kb")):
        rec = next(p for p in sorted((demo / "records" / kind).rglob("*.yaml"))
                   if (site / folder / p.stem / "index.html").is_file())
        rec.unlink()
        gone += [f"{folder}/{rec.stem}/index.html", f"en/{folder}/{rec.stem}/index.html"]
    assert all((site / page).is_file() for page in gone)
    subprocess.run(mkdocs + ["--dirty"], cwd=demo, check=True, capture_output=True)
    assert not [page for page in gone if (site / page).exists()]
    dirty = sorted(_site_pages(site))
    subprocess.run(mkdocs, cwd=demo, check=True, capture_output=True)
    assert dirty == sorted(_site_pages(site))


def test_serve_dirty_rebuilds_one_changed_page(demo, monkeypatch):
    """`mkdocs serve --dirty` (what `make serve` runs): a saved record is on its page after one
    rebuild that renders only the pages that changed."""
    import socket
    import time
    import urllib.request

    with_site(demo)
    monkeypatch.setenv("SERVICEBOOK_AS_OF", AT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = demo / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([MKDOCS, "serve", "--dirty", "-a", f"127.0.0.1:{port}"],
                                cwd=demo, stdout=out, stderr=subprocess.STDOUT)
    try:
        def page(path: str) -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=5) as resp:
                    return resp.read().decode("utf-8")
            except OSError:
                return None

        def wait(what, seconds=240):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if (found := what()):
                    return found
                assert proc.poll() is None, log.read_text(encoding="utf-8")[-3000:]
                time.sleep(0.5)
            raise AssertionError(f"timed out; log:\n{log.read_text(encoding='utf-8')[-3000:]}")

        wait(lambda: page(""))
        complaint = _chain_page_record(demo)
        text = complaint.read_text(encoding="utf-8")
        line = next(m for m in re.finditer(r"^[ -]*(problem|cause|remarks): (\S.*)$", text, re.M))
        _edit(complaint, line.group(0), line.group(0) + " 服务中改了")
        shown = wait(lambda: (p := page(f"cases/{complaint.stem}/")) and "服务中改了" in p and p)
        assert "服务中改了" in shown
        rebuilt = wait(lambda: re.search(r"rendered (\d+) of (\d+) pages", log.read_text(encoding="utf-8")))
        logged = re.findall(r"rendered (\d+) of (\d+) pages", log.read_text(encoding="utf-8"))
        done, total = map(int, logged[-1])
        assert rebuilt and 1 <= done <= 3 < total, logged
    finally:
        proc.terminate()
        proc.wait(timeout=30)


LOCK_PROBE = """
import fcntl, sys
with open(sys.argv[1], "a+b") as fh:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("held")
    else:
        print("free")
"""


def test_one_build_of_a_language_uses_the_store_at_a_time(tmp_path):
    """`mkdocs serve` beside `make site`: a build holds its language's store from opening it to
    `finish` (or a failure), so one build's manifest is never written beside another's pages."""
    folder = page_folder(tmp_path, "zh")

    def probe() -> str:
        return subprocess.run([sys.executable, "-c", LOCK_PROBE, str(folder / ".lock")], check=True,
                              capture_output=True, text=True).stdout.strip()

    store = PageStore(folder)
    assert probe() == "held"
    assert PageStore(page_folder(tmp_path, "en")) is not None  # the other language is not held up
    store.put("cases/SV-1.md", "# SV-1\n", "key")
    store.finish()
    assert probe() == "held"  # until MkDocs has read the page files: the plugin closes it then
    store.close()
    assert probe() == "free"
    assert (folder / "cases" / "SV-1.md").is_file()
    again = PageStore(folder)
    assert list(again.keys) == ["cases/SV-1.md"] and again.kept_page("cases/SV-1.md", "key")  # the lock is no page
    again.close()
    assert probe() == "free"


def test_kept_masks_keep_the_masks_of_present_records_a_build_did_not_use(tmp_path):
    """With list pages kept, a rebuild masks few records: the masks of the others stay kept (the
    next build that makes their pages would mask them all again), those of deleted records go."""
    from servicebook.load.records import Record
    from servicebook.write.pagestore import KeptMasks

    def rec(rid, x):
        return Record("complaint", rid, f"records/complaint/{rid}.yaml", {"x": x})

    path = tmp_path / "masked.marshal"
    masks = KeptMasks(path, "key")
    masks.get(rec("A", 1), lambda: "a")
    masks.get(rec("B", 2), lambda: "b")
    masks.save({"A", "B"})
    again = KeptMasks(path, "key")
    assert again.get(rec("A", 1), lambda: "made again") == "a"
    assert again.get(rec("A", 9), lambda: "changed") == "changed"  # its data changed: masked again
    again.save({"A", "B"})  # B unused by this build, still a record
    third = KeptMasks(path, "key")
    assert third.get(rec("B", 2), lambda: "made again") == "b"
    third.save({"B"})  # A deleted
    assert set(KeptMasks(path, "key").masks) == {"B"}


def test_kept_masks_are_not_rewritten_for_a_few_new_ones_and_stay_right(tmp_path):
    """A one-change rebuild of a large repository masks one record again; writing every mask back
    for it cost more than masking it again next build. Below 1 new mask in 100 the file is left as
    it is, and each build still gets every record's mask for its present data."""
    from servicebook.load.records import Record
    from servicebook.write.pagestore import KeptMasks

    def rec(i, x=0):
        return Record("complaint", f"R{i}", f"records/complaint/R{i}.yaml", {"x": x})

    path = tmp_path / "masked.marshal"
    first = KeptMasks(path, "key")
    for i in range(300):
        first.get(rec(i), lambda i=i: f"mask {i}")
    first.save({f"R{i}" for i in range(300)})
    written = path.read_bytes()
    made: list[int] = []
    for build in range(3):  # the same record edited three times, one build each
        masks = KeptMasks(path, "key")
        for i in range(300):
            x = build + 1 if i == 7 else 0
            got = masks.get(rec(i, x), lambda i=i, x=x: made.append(i) or f"mask {i} of {x}")
            assert got == (f"mask {i} of {x}" if i == 7 else f"mask {i}")
        masks.save({f"R{i}" for i in range(300)})
        assert path.read_bytes() == written  # 1 new mask in 300: not written
    assert made == [7, 7, 7]
    many = KeptMasks(path, "key")
    for i in range(300):
        many.get(rec(i, 1 if i < 4 else 0), lambda i=i: f"new {i}")
    many.save({f"R{i}" for i in range(300)})  # 4 in 300: written
    assert KeptMasks(path, "key").get(rec(2, 1), lambda: "made again") == "new 2"
    gone = KeptMasks(path, "key")
    gone.save({f"R{i}" for i in range(1, 300)})  # R0 deleted: written whatever was made
    assert "R0" not in KeptMasks(path, "key").masks
