"""Records written in parallel on two branches merge in either order without conflict or
duplicate IDs: one record is one file, and nothing central is edited (real git repositories)."""

from __future__ import annotations

import subprocess
import sys

import git
import pytest

from servicebook.load import corpus


def sb(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "servicebook", *args], capture_output=True,
                          text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def new_complaint(root, person, at):
    return sb("new", "complaint", "--by", person, "--at", at, "--print",
              "--set", "customer=CU-hengda-logistics", "--set", f"received_at={at}",
              "--set", "channel=phone", "--set", "kind=enquiry", "--set", "caller.name=王先生",
              "--set", "issues=[{problem: 话机无拨号音}]", cwd=root)


@pytest.fixture
def base(mini):
    repo = git.Repo.init(mini.root, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Test").set_value("user", "email", "test@example.com")
    repo.git.add(A=True)
    repo.git.commit(m="demo")
    return mini, repo


def work_on_branch(mini, repo, branch, person, count):
    repo.git.checkout("main")
    repo.git.checkout(b=branch)
    # the same day, the same kind, on both branches: the worst case for ID collisions
    made = [new_complaint(mini.root, person, f"2026-12-05T09:{i:02d}:00+08:00") for i in range(count)]
    sb("status", "SV-20261103-4M8QZA", "dropped", "--by", "P-zhang-wei",
       "--at", "2026-12-05T09:00:00+08:00", cwd=mini.root) if branch == "a" else None
    repo.git.add(A=True)
    repo.git.commit(m=f"records from {branch}")
    return made


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_parallel_branches_merge_in_either_order(base, order):
    mini, repo = base
    made = work_on_branch(mini, repo, "a", "P-sun-li", 8) + work_on_branch(mini, repo, "b", "P-zhou-min", 8)
    assert len(set(made)) == 16
    repo.git.checkout("main")
    for branch in order:
        repo.git.merge(branch, no_ff=True, m=f"merge {branch}")  # raises on any conflict
    assert not repo.index.unmerged_blobs()
    result = corpus.load(mini.root)
    assert not [p for p in result.problems if p.rule.startswith("id.")]
    assert len(result.of_kind("complaint")) == 17
    assert result.get("SV-20261103-4M8QZA").status == "dropped"
    assert result.ok, result.problems
