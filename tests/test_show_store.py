"""`servicebook show ID` answered from the neighbours store (load/neighbours.py) prints byte for
byte what it prints from a fresh load of every record (``SERVICEBOOK_NO_CACHE=1``): on the demo
repository, after rounds of random edits, deletions, renames and copies of referring files, and
with a stale or damaged store, which is rebuilt, never trusted."""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import shutil
from pathlib import Path

import pytest

from conftest import sb
from servicebook.commands import show as show_cmd
from servicebook.derive import checked
from servicebook.load import neighbours
from servicebook.load.cache import CACHE_DIR, content_hash, write_store

FORMS = (("text", "zh"), ("json", "zh"), ("text", "en"))
ID_TOKEN = re.compile(r"\b(?:CP|RP|CB|PQ|IS|CT|IN|FS|SO|AP|SV|BD|CM|RQ|CH|PG|RK|PB|CU|PD|P|KB|PT)-[A-Za-z0-9-]+\b")


@contextlib.contextmanager
def no_cache(off: bool):
    before = os.environ.get("SERVICEBOOK_NO_CACHE")
    os.environ["SERVICEBOOK_NO_CACHE"] = "1" if off else "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ["SERVICEBOOK_NO_CACHE"]
        else:
            os.environ["SERVICEBOOK_NO_CACHE"] = before


def cli_show(root: Path, rid: str, fmt: str = "text", lang: str = "zh", *, cache: bool = True) -> tuple[int, str, str]:
    with no_cache(not cache):
        proc = sb("show", rid, "--format", fmt, "--lang", lang, "--root", str(root), cwd=root)
    return proc.returncode, proc.stdout, proc.stderr


def fresh_outputs(root: Path, ids, forms=FORMS, cycle: bool = False) -> dict:
    """What `show` prints for each ID and form from one fresh load of every record (no cache):
    the same printing function the command runs, so the whole repository is loaded once.
    ``cycle``: one form per ID, in turn (every record of the demo in every form takes minutes)."""
    with no_cache(True):
        corpus = checked.load(root)
        out = {}
        for i, rid in enumerate(ids):
            for fmt, lang in (forms[i % len(forms)],) if cycle else forms:
                stdout, stderr = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    code = show_cmd.show(corpus, root, rid, fmt, lang)
                out[rid, fmt, lang] = (code, stdout.getvalue(), stderr.getvalue())
    return out


def record_ids(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "records").rglob("*.yaml"))


def assert_store_agrees(root: Path, ids, forms=FORMS, cycle: bool = False) -> None:
    """Every ID and form printed with the store as from a fresh load; the store answered."""
    cli_show(root, ids[0])  # after an edit: every record loaded and checked, the store brought up to date
    assert neighbours.around(root, ids[0], checked.CHECKS) is not None, "the store did not answer"
    truth = fresh_outputs(root, ids, forms, cycle)
    for (rid, fmt, lang), expected in truth.items():
        assert cli_show(root, rid, fmt, lang) == expected, (rid, fmt, lang)


def store_files(root: Path) -> dict[str, Path]:
    found = {p.name.split("-")[1]: p for p in (root / CACHE_DIR).glob("neighbours-*.marshal")}
    assert set(found) == {"files", "view"}, found
    return found


def test_the_cli_without_cache_prints_what_the_printing_function_prints(demo):
    kinds = ("complaint", "repair", "customer", "contract", "survey", "person")
    ids = [sorted((demo / "records" / kind).rglob("*.yaml"))[0].stem for kind in kinds] + ["CP-NOSUCH-0000"]
    truth = fresh_outputs(demo, ids)
    for (rid, fmt, lang), expected in truth.items():
        assert cli_show(demo, rid, fmt, lang, cache=False) == expected, (rid, fmt, lang)


def test_every_record_of_the_demo_is_shown_from_the_store_as_from_a_fresh_load(demo):
    assert_store_agrees(demo, record_ids(demo) + ["CP-20990101-NOSUCH"], cycle=True)


def _mutate(root: Path, rng: random.Random, ids: list[str]) -> set[str]:
    """One random edit of a referring file; the IDs whose view it may change."""
    files = sorted((root / "records").rglob("*.yaml"))
    path = rng.choice(files)
    text = path.read_text(encoding="utf-8")
    action = rng.choice(("retarget", "retarget", "delete", "rename", "copy", "touch", "break"))
    touched = {path.stem}
    if action == "retarget":
        found = [m for m in ID_TOKEN.finditer(text) if m.group() != path.stem]
        if found:
            old = rng.choice(found).group()
            same = [i for i in ids if i.split("-")[0] == old.split("-")[0] and i != old] or ids
            new = rng.choice(same)
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
            touched |= {old, new}
    elif action == "delete":
        path.unlink()
    elif action == "rename":
        new = path.with_name(f"{path.stem}R{rng.randrange(10)}.yaml")
        path.rename(new)
        touched.add(new.stem)
    elif action == "copy":
        new = path.with_name(f"{path.stem}C{rng.randrange(10)}.yaml")
        shutil.copyfile(path, new)
        touched.add(new.stem)
    elif action == "touch":
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    else:  # a record that no longer parses, then its ID is no record
        path.write_text(text + "\n  - : [\n", encoding="utf-8")
    touched |= set(ID_TOKEN.findall(text))
    return touched


@pytest.mark.parametrize("seed", [1, 2])
def test_after_random_edits_of_referring_files_the_store_agrees(demo, seed):
    rng = random.Random(seed)
    cli_show(demo, "CU-haixia-port")
    for _round in range(4):
        ids = record_ids(demo)
        touched: set[str] = set()
        for _ in range(rng.randint(1, 4)):
            touched |= _mutate(demo, rng, ids)
        ids = record_ids(demo)
        sample = sorted((touched | set(rng.sample(ids, 12))) - {""})
        assert_store_agrees(demo, sample, forms=(("text", "zh"), ("json", "en")))


def test_a_new_referrer_and_a_changed_chain_are_shown(demo):
    """The store is rebuilt per changed file: a complaint copied under a new ID refers to the
    customer, and a repair moved to another complaint leaves one chain and joins another."""
    complaint = next((demo / "records" / "complaint").rglob("*.yaml"))
    customer = re.search(r"^customer: (\S+)", complaint.read_text(encoding="utf-8"), re.M).group(1)
    cli_show(demo, customer)
    cli_show(demo, customer)
    before = cli_show(demo, customer)[1]
    shutil.copyfile(complaint, complaint.with_name("CP-20261201-ZZZZZZ.yaml"))
    assert_store_agrees(demo, [customer, complaint.stem, "CP-20261201-ZZZZZZ"])
    assert "CP-20261201-ZZZZZZ" in cli_show(demo, customer)[1] and "CP-20261201-ZZZZZZ" not in before

    repairs = sorted((demo / "records" / "repair").rglob("*.yaml"))
    repair = repairs[0]
    text = repair.read_text(encoding="utf-8")
    old = re.search(r"^complaint: (\S+)", text, re.M).group(1)
    other = next(p.stem for p in sorted((demo / "records" / "complaint").rglob("*.yaml")) if p.stem != old)
    repair.write_text(text.replace(f"complaint: {old}", f"complaint: {other}", 1), encoding="utf-8")
    assert_store_agrees(demo, [old, other, repair.stem])
    assert repair.stem in cli_show(demo, other)[1] and repair.stem not in cli_show(demo, old)[1]


def test_problems_of_the_shown_record_are_reported_as_from_a_fresh_load(demo):
    complaint = next((demo / "records" / "complaint").rglob("*.yaml"))
    text = complaint.read_text(encoding="utf-8")
    customer = re.search(r"^customer: (\S+)", text, re.M).group(1)
    # a reference to no record (a cross-record check) and a status no lifecycle knows (the schema)
    complaint.write_text(text.replace(f"customer: {customer}", "customer: CU-nobody-here", 1)
                         .replace("\nstatus: ", "\nstatus: zz", 1), encoding="utf-8")
    assert_store_agrees(demo, [complaint.stem, customer])
    out = cli_show(demo, complaint.stem)[1]
    assert "CU-nobody-here" in out.split("问题:")[1], out


def _stale_and_damaged(demo) -> list:
    """Ways a store can be wrong: each (name, function of the two store files)."""
    def flip(path: Path) -> None:
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x10
        path.write_bytes(bytes(raw))

    def rewrite(path: Path, change) -> None:
        from servicebook.load.cache import read_store

        write_store(path, change(read_store(path)))  # a valid checksum over wrong content

    def view_records(change):
        return lambda files, view: rewrite(view, lambda v: {**v, "records": change(v["records"])})

    return [
        ("garbage view", lambda files, view: view.write_bytes(b"not a store")),
        ("flipped bit in the view", lambda files, view: flip(view)),
        ("flipped bit in the files", lambda files, view: flip(files)),
        ("view of the wrong shape", lambda files, view: rewrite(view, lambda v: {**v, "names": list(v["names"])})),
        ("view as a list", lambda files, view: write_store(view, [1, 2])),
        ("record entries of the wrong shape", view_records(lambda r: {k: b"junk" for k in r})),
        ("record entries of another type", view_records(lambda r: {k: (1, 2) for k in r})),
        ("file entries of the wrong shape", lambda files, view: (
            rewrite(files, lambda f: {k: (v[0], ("x",)) for k, v in f.items()}), view.unlink())),
        ("file entries of another content", lambda files, view: (
            rewrite(files, lambda f: {k: (content_hash(b"other"), v[1]) for k, v in f.items()}), view.unlink())),
    ]


def test_a_damaged_store_is_rebuilt_never_trusted(demo):
    ids = ["CU-haixia-port", *record_ids(demo)[::40]]
    truth = fresh_outputs(demo, ids)
    for name, damage in _stale_and_damaged(demo):
        cli_show(demo, ids[0])
        found = store_files(demo)
        damage(found["files"], found["view"])
        for (rid, fmt, lang), expected in truth.items():
            assert cli_show(demo, rid, fmt, lang) == expected, (name, rid, fmt, lang)
        assert neighbours.around(demo, ids[0], checked.CHECKS) is not None, name


def test_a_stale_view_is_detected_and_rebuilt(demo):
    """A view kept from before an edit (restored over the new one) is not used: every file's stat
    signature and every folder's are checked against it."""
    complaint = next((demo / "records" / "complaint").rglob("*.yaml"))
    customer = re.search(r"^customer: (\S+)", complaint.read_text(encoding="utf-8"), re.M).group(1)
    cli_show(demo, customer)
    cli_show(demo, customer)
    old_view = store_files(demo)["view"].read_bytes()
    for change in ("edit", "add", "delete"):
        if change == "edit":
            text = complaint.read_text(encoding="utf-8")
            complaint.write_text(text.replace(f"customer: {customer}", "customer: CU-nobody-here", 1), encoding="utf-8")
        elif change == "add":
            shutil.copyfile(complaint, complaint.with_name("CP-20261201-YYYYYY.yaml"))
        else:
            complaint.unlink()
        assert_store_agrees(demo, [customer, complaint.stem, "CP-20261201-YYYYYY"])
        store_files(demo)["view"].write_bytes(old_view)  # stale: built before the change
        truth = fresh_outputs(demo, [customer, complaint.stem, "CP-20261201-YYYYYY"])
        for (rid, fmt, lang), expected in truth.items():
            assert cli_show(demo, rid, fmt, lang) == expected, (change, rid, fmt, lang)


def test_no_cache_writes_no_store(demo):
    cli_show(demo, "CU-haixia-port", cache=False)
    cli_show(demo, "CU-haixia-port", cache=False)
    assert not list((demo / CACHE_DIR).glob("neighbours-*"))
    with no_cache(True):
        assert neighbours.around(demo, "CU-haixia-port", checked.CHECKS) is None


def test_the_text_shown_is_the_text_the_record_was_read_from(demo):
    """`show` prints the record's fields and its file as written: both come from one read, so a save
    in between cannot show one version's fields under another's text."""
    complaint = next((demo / "records" / "complaint").rglob("*.yaml"))
    cli_show(demo, complaint.stem)  # the store is built
    around = neighbours.around(demo, complaint.stem, checked.CHECKS)
    assert around is not None, "the store did not answer"
    before = complaint.read_text(encoding="utf-8")
    complaint.write_text(before + "# saved while it was being shown\n", encoding="utf-8")
    rel = around.get(complaint.stem).file
    assert around.source(rel) == before
