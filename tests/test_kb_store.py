"""Kept knowledge-base matches (`servicebook.derive.aftersales.kbstore`): on a copy of the demo
repository, the matches `kb.case_matches` gives with the store equal the matches computed from
scratch (``SERVICEBOOK_NO_CACHE=1``) after every kind of change — a case's text, an entry's text,
a new, a deleted and a retired entry, a deleted case — and a damaged store is rebuilt, not trusted."""
from __future__ import annotations

import os
import random
import re
from pathlib import Path
from unittest.mock import patch

import pytest

from servicebook.derive.aftersales import kb
from servicebook.load import corpus as corpus_mod
from servicebook.load.cache import CACHE_DIR, read_store, write_store


def matches(root: Path, fresh: bool = False) -> dict:
    env = {"SERVICEBOOK_NO_CACHE": "1"} if fresh else {}
    with patch.dict(os.environ, env):
        found = kb.case_matches(corpus_mod.load(root))
    return {cid: [(m.entry.id, m.same_product, m.code, m.category, m.similarity, m.reasons) for m in ms]
            for cid, ms in found.items()}


def store_files(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).glob("kb-matches-*.marshal"))


def assert_kept_equal_fresh(root: Path) -> dict:
    kept = matches(root)
    assert kept == matches(root, fresh=True)
    assert matches(root) == kept  # and read back from the store the first call wrote
    return kept


def first_line(path: Path, pattern: str) -> re.Match:
    found = re.search(pattern, path.read_text(encoding="utf-8"), re.M)
    assert found, f"{path}: no line {pattern}"
    return found


def append_to(path: Path, pattern: str, extra: str) -> None:
    line = first_line(path, pattern).group(0)
    path.write_text(path.read_text(encoding="utf-8").replace(line, line + extra, 1), encoding="utf-8")


@pytest.fixture
def repo(demo):
    assert_kept_equal_fresh(demo)
    assert len(store_files(demo)) == 1
    return demo


def test_store_is_used_and_equals_a_fresh_match(repo):
    found = matches(repo)
    assert sum(1 for ms in found.values() if ms) > 10  # the demo's cases do match entries
    with patch.object(kb, "match", side_effect=AssertionError("matched again")):
        assert matches(repo) == found  # nothing changed: nothing matched again


def test_a_changed_case_is_matched_again(repo):
    rng = random.Random(7)
    cases = sorted((repo / "records" / "repair").rglob("*.yaml")) + sorted((repo / "records" / "complaint").rglob("*.yaml"))
    for path in rng.sample(cases, 6):
        # the text matching reads: a repair's symptom, a complaint's problems (a KB entry's words)
        append_to(path, r"^\s*-?\s*(symptom|problem|fault_description): \S.*$", " 液压油温过高 压力传感器")
    assert_kept_equal_fresh(repo)


@pytest.mark.parametrize("change", ["edit", "new", "delete", "retire"])
def test_a_changed_entry_matches_every_case_again(repo, change):
    entries = sorted((repo / "records" / "kb").rglob("*.yaml"))
    path = entries[0]
    before = matches(repo)
    if change == "edit":
        append_to(path, r"^symptom: \S.*$", " 泵送 压力 跳动 E217")
    elif change == "new":
        new_id = f"{path.stem[:-6]}ZZZZZZ"
        text = path.read_text(encoding="utf-8").replace(f"id: {path.stem}", f"id: {new_id}", 1)
        (path.parent / f"{new_id}.yaml").write_text(text, encoding="utf-8")
    elif change == "delete":
        path.unlink()
    else:
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"^status: \w+", "status: retired", text, count=1, flags=re.M), encoding="utf-8")
    after = assert_kept_equal_fresh(repo)
    assert after != before
    assert len(store_files(repo)) == 1  # the old entries' store is gone


def test_a_deleted_case_leaves_the_store(repo):
    found = matches(repo)
    case = next(cid for cid in found if cid.startswith("RP-"))
    next((repo / "records" / "repair").rglob(f"{case}.yaml")).unlink()
    assert case not in assert_kept_equal_fresh(repo)


@pytest.mark.parametrize("damage", ["garbage", "flipped", "shapes"])
def test_damaged_store_is_rebuilt_not_trusted(repo, damage):
    (path,) = store_files(repo)
    good = path.read_bytes()
    path.write_bytes({"garbage": b"not a store file",
                      "flipped": good[:-1] + bytes([good[-1] ^ 1])}.get(damage, good))
    if damage == "shapes":  # checksummed and well-formed, but its entries name no entry or are no list
        kept = read_store(path)
        write_store(path, {cid: (fp, [("KB-00000000-NOSUCH", True, True, True, 1.0, ["x"])] if rows else 5)
                           for cid, (fp, rows) in kept.items()})
    assert_kept_equal_fresh(repo)


def test_no_store_when_caching_is_off(demo, monkeypatch):
    monkeypatch.setenv("SERVICEBOOK_NO_CACHE", "1")
    matches(demo)
    assert store_files(demo) == []
