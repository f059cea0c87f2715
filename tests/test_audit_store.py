"""The audit's kept history (derive/audit/store.py) on real repositories: extended by the new
commits it equals the history read whole from git; a rewritten history, a damaged file or
caching turned off give the same audit as a first run."""
from __future__ import annotations

import json
import sqlite3

import pytest

from approvals_repo import FS_ID, FS_PATH, Repo, approved, feasibility, trailer
from conftest import sb
from servicebook.derive.audit import history as hist
from servicebook.derive.audit import store
from servicebook.derive.audit.trail import Auditor
from servicebook.load.cache import CACHE_DIR


def plain(h) -> dict:
    """Every fact of a history as plain values (kept mappings read in full)."""
    def full(m):
        return {k: m[k] for k in m}
    return {"mainline": list(h.mainline), "position": dict(h.position),
            "commits": {k: v for k, v in full(h.commits).items()},
            "touches": full(h.touches), "kinds": full(h.kinds), "landing": full(h.landing),
            "named": {k: sorted(v, key=h.pos_of) for k, v in full(h.named).items()},
            "config": {k: list(v) for k, v in h.config.items()}}


def grow_history(repo: Repo, n: int) -> None:
    """A branch with the filler's commits and a signed approval, merged without squashing; a
    direct change; an empty approval commit naming the record on a branch; a move."""
    data = feasibility()
    repo.git("switch", "-q", "-c", f"work-{n}")
    repo.save("P-li-na", FS_PATH, dict(data, remarks=f"round {n}"), f"Round {n}")
    repo.save("P-chen-jing", FS_PATH, approved(dict(data, remarks=f"round {n}")),
              f"Approve round {n}\n\n" + trailer("P-chen-jing", "general_manager", record=FS_ID,
                                                   blob=None))
    repo.git("commit", "-q", "--allow-empty", "-m", f"Approve again {n}\n\n"
             + trailer("P-chen-jing", "general_manager", record=FS_ID), who="P-chen-jing")
    repo.git("switch", "-q", "main")
    repo.merge(f"work-{n}", "P-he-fang", f"Merge round {n}")
    repo.save("P-li-na", f"records/complaint/2026/CP-2026120{n}-AAAAA{n}.yaml",
              {"id": f"CP-2026120{n}-AAAAA{n}"}, f"Complaint {n}")
    if n > 1:  # a move: one ID deleted and added in one commit
        repo.git("mv", f"records/complaint/2026/CP-2026120{n - 1}-AAAAA{n - 1}.yaml",
                 f"records/complaint/CP-2026120{n - 1}-AAAAA{n - 1}.yaml")
        repo.git("commit", "-q", "-m", f"Move complaint {n - 1}", who="P-li-na")


@pytest.fixture
def repo(tmp_path):
    r = Repo(tmp_path / "repo")
    r.save("P-li-na", FS_PATH, feasibility(), "Feasibility drafted")
    grow_history(r, 1)
    return r


def audit_json(root, *ids, cache=True, monkeypatch=None):
    if not cache:
        monkeypatch.setenv("SERVICEBOOK_NO_CACHE", "1")
    try:
        out = sb("audit", "--format", "json", *ids, cwd=root)
    finally:
        if not cache:
            monkeypatch.delenv("SERVICEBOOK_NO_CACHE")
    return out.returncode, json.loads(out.stdout)


def test_extended_history_equals_the_history_read_whole(repo, monkeypatch):
    first = Auditor(repo.path).history
    assert plain(first) == plain(hist.read_history(Auditor(repo.path).repo))
    grow_history(repo, 2)
    grow_history(repo, 3)
    whole = plain(hist.read_history(Auditor(repo.path).repo))

    def refuse(*_a, **_k):
        raise AssertionError("the whole history was read again")
    monkeypatch.setattr(hist, "read_history", refuse)  # only the new commits may be read
    assert plain(Auditor(repo.path).history) == whole
    assert plain(Auditor(repo.path).history) == whole  # and kept: the next run reads nothing


def test_the_audit_is_the_same_with_and_without_the_kept_history(repo, monkeypatch):
    grow_history(repo, 2)
    cold = audit_json(repo.path, cache=False, monkeypatch=monkeypatch)
    assert audit_json(repo.path) == cold  # builds the store
    grow_history(repo, 3)
    assert audit_json(repo.path) == audit_json(repo.path, cache=False, monkeypatch=monkeypatch)
    assert audit_json(repo.path, FS_ID) == audit_json(repo.path, FS_ID, cache=False, monkeypatch=monkeypatch)
    assert any(a["commit"] for t in audit_json(repo.path, FS_ID)[1] for a in t["approvals"])


def test_a_rewritten_history_is_read_again(repo, monkeypatch):
    grow_history(repo, 2)
    audit_json(repo.path)
    repo.git("reset", "-q", "--hard", "HEAD~2")
    repo.save("P-li-na", "records/complaint/2026/CP-20261209-BBBBB9.yaml",
              {"id": "CP-20261209-BBBBB9"}, "Another history")
    assert plain(Auditor(repo.path).history) == plain(hist.read_history(Auditor(repo.path).repo))
    assert audit_json(repo.path) == audit_json(repo.path, cache=False, monkeypatch=monkeypatch)


def test_a_damaged_store_is_ignored_and_replaced(repo, monkeypatch):
    audit_json(repo.path)
    kept = list((repo.path / CACHE_DIR).glob("*.sqlite"))
    assert {p.name.split("-")[0] for p in kept} >= {"history", "signatures", "blobs"}
    for p in kept:
        p.write_bytes(b"not a database" * 100)
    assert audit_json(repo.path) == audit_json(repo.path, cache=False, monkeypatch=monkeypatch)
    history_file = next((repo.path / CACHE_DIR).glob("history-*.sqlite"))
    sqlite3.connect(history_file).execute("SELECT count(*) FROM commits").fetchone()  # rebuilt


def test_a_damaged_row_is_a_miss(tmp_path):
    table = store.Table.file(tmp_path, "blobs", "v1")
    table["a"] = {"x": 1}
    table.save()
    table.db.execute("UPDATE entries SET value = x'00ff' WHERE key = 'a'")
    again = store.Table.file(tmp_path, "blobs", "v1")
    assert "a" not in again and again.get("a") is None
