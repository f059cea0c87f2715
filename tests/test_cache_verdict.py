"""The cache (per-file results, per-kind data, the stored whole-repository verdict) never changes
what `validate` says: on a real synthetic repository, after rounds of random edits, additions,
deletions, renames and touches, a run with the cache prints byte for byte what a run without it
prints; and a damaged or lost store is rebuilt, never trusted."""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from unittest.mock import patch

import pytest

from conftest import REPO, sb
from servicebook.derive import checked
from servicebook.load.cache import CACHE_DIR

SEED_REPO_RECORDS = 300


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "repo"
    sb("synth", str(SEED_REPO_RECORDS), "--out", str(out), "--seed", "5", "--root", str(REPO), cwd=REPO)
    return out


@pytest.fixture
def repo(synthetic, tmp_path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(synthetic, root, ignore=shutil.ignore_patterns(".cache"))
    return root


def validate(root: Path, *, cache: bool, fmt: str = "text") -> tuple[int, str, str]:
    with patch.dict(os.environ, {"SERVICEBOOK_NO_CACHE": "0" if cache else "1"}):
        proc = sb("validate", "--format", fmt, "--at", "2026-12-02T09:00:00+08:00", "--root", str(root), cwd=root)
    return proc.returncode, proc.stdout, proc.stderr


def assert_same_as_uncached(root: Path, fmt: str = "text") -> tuple[int, str, str]:
    truth = validate(root, cache=False, fmt=fmt)
    assert validate(root, cache=True, fmt=fmt) == truth  # reads what changed, stores the verdict
    assert validate(root, cache=True, fmt=fmt) == truth  # answered from the stored verdict
    return truth


def record_files(root: Path) -> list[Path]:
    return sorted((root / "records").rglob("*.yaml"))


# Each mutation changes the repository the way people and merges do; many make a problem that
# only a cross-record check finds (a reference to a deleted or renamed record, a person's roles).
def _edit_value(rng, root, path):
    text = path.read_text(encoding="utf-8")
    lines = [i for i, line in enumerate(text.splitlines()) if re.match(r"^\s*[a-z_]+: \S", line)]
    if lines:
        rows = text.splitlines()
        i = rng.choice(lines)
        key, _, value = rows[i].partition(": ")
        rows[i] = f"{key}: " + rng.choice([value + "x", "P-nobody", "2026-13-40", "'", value[::-1], "42"])
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _delete_line(rng, root, path):
    rows = path.read_text(encoding="utf-8").splitlines()
    del rows[rng.randrange(len(rows))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _delete(rng, root, path):
    path.unlink()


def _rename(rng, root, path):  # the file name is the ID: every reference to it now misses
    path.rename(path.with_name(path.stem[:-1] + rng.choice("ABCDEFGH") + path.suffix))


def _copy(rng, root, path):  # an addition: a new file, or a duplicate ID in another folder
    name = path.stem if rng.random() < 0.3 else path.stem[:-2] + "ZZ"
    target = path.parent / f"{name}.yaml"
    if rng.random() < 0.3 and path.parent.name.isdigit():
        target = path.parent.parent / f"{name}.yaml"
    if not target.exists():
        shutil.copyfile(path, target)


def _touch(rng, root, path):  # same content, new stat signature (a checkout)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))


def _break_yaml(rng, root, path):
    with path.open("a", encoding="utf-8") as f:
        f.write(rng.choice(["a: [\n", "\tbad: tab\n", "status: open\n"]))


MUTATIONS = (_edit_value, _edit_value, _delete_line, _delete, _rename, _copy, _copy, _touch, _break_yaml)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_never_change_the_verdict(repo, seed):
    rng = random.Random(seed)
    first = assert_same_as_uncached(repo)
    seen_problems = first[0] == 1
    for _round in range(6):
        files = record_files(repo)
        for path in rng.sample(files, rng.randint(1, 8)):
            if path.exists():
                rng.choice(MUTATIONS)(rng, repo, path)
        code, _out, _err = assert_same_as_uncached(repo)
        seen_problems = seen_problems or code == 1
    assert_same_as_uncached(repo, fmt="json")
    assert seen_problems  # the mutations did break something: the comparison was not of empty outputs


def test_a_person_losing_a_role_changes_other_files_verdict(repo):
    """The verdict depends on other files: an approval is judged by the approver's roles."""
    clean = assert_same_as_uncached(repo)
    people = sorted((repo / "records" / "person").glob("*.yaml"))
    for person in people:
        text = person.read_text(encoding="utf-8")
        person.write_text(re.sub(r"(?m)^roles:\n(- .*\n)+", "roles: []\n", text), encoding="utf-8")
    broken = assert_same_as_uncached(repo)
    assert broken != clean and "[approval.role]" in broken[1]


def stores(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).glob("*.marshal"))


@pytest.mark.parametrize("damage", ["garbage", "flipped", "truncated", "empty", "swapped", "deleted"])
def test_a_damaged_store_is_rebuilt_never_trusted(repo, damage):
    truth = assert_same_as_uncached(repo)
    # a change the damaged store must not hide: the stored verdict is now wrong
    complaint = sorted((repo / "records" / "complaint").rglob("*.yaml"))[0]
    complaint.write_text(complaint.read_text(encoding="utf-8") + "status: nope\n", encoding="utf-8")
    changed = validate(repo, cache=False)
    assert changed != truth
    for store in stores(repo):
        raw = store.read_bytes()
        if damage == "garbage":
            store.write_bytes(b"\x00garbage" * 10)
        elif damage == "flipped":  # one bit, in the middle of the data: marshal alone might load it
            middle = len(raw) // 2
            store.write_bytes(raw[:middle] + bytes([raw[middle] ^ 1]) + raw[middle + 1:])
        elif damage == "truncated":
            store.write_bytes(raw[: len(raw) // 2])
        elif damage == "empty":
            store.write_bytes(b"")
        elif damage == "deleted":
            store.unlink()
    if damage == "swapped":  # whole, valid stores, but each holding another kind's data
        data = [s for s in stores(repo) if s.name.startswith("data-")]
        contents = [s.read_bytes() for s in data]
        for store, content in zip(data, contents[1:] + contents[:1]):
            store.write_bytes(content)
    assert validate(repo, cache=True) == changed
    assert validate(repo, cache=True) == changed
    assert validate(repo, cache=False) == changed


def test_a_lost_data_store_is_read_again(repo):
    """The verdict holds while a kind's data is gone: validate needs the calendars' data and
    reads the files again instead of trusting the verdict without them."""
    truth = assert_same_as_uncached(repo)
    for store in stores(repo):
        if store.name.startswith("data-") and store.name.endswith("-calendar.marshal"):
            store.unlink()
    assert validate(repo, cache=True) == truth
    assert any(s.name.endswith("-calendar.marshal") for s in stores(repo))


def test_an_unchanged_repository_is_answered_without_the_records(repo):
    """The stored verdict answers validate with only the calendars loaded; every other command
    still gets every record (and the same problems)."""
    assert_same_as_uncached(repo)
    lean = checked.load(repo, need_kinds=("calendar",))
    full = checked.load(repo)
    uncached = checked.load(repo, use_cache=False)
    assert {r.kind for r in lean.records.values()} == {"calendar"}
    assert full.records.keys() == uncached.records.keys()
    assert lean.problems == full.problems == uncached.problems
    assert lean.files == full.files == uncached.files


def test_a_schema_or_lifecycle_change_is_a_new_verdict(repo):
    truth = assert_same_as_uncached(repo)
    lifecycle = repo / "schemas" / "lifecycle.yaml"
    text = lifecycle.read_text(encoding="utf-8")
    # lifecycle.yaml is no *.schema.json: only the verdict's own key sees it
    lifecycle.write_text(text.replace("approval: sales_manager", "approval: general_manager"), encoding="utf-8")
    changed = assert_same_as_uncached(repo)
    assert changed != truth and "[approval.role]" in changed[1]
    lifecycle.write_text(text, encoding="utf-8")
    assert assert_same_as_uncached(repo) == truth
