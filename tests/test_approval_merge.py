""".github/scripts/approval_trailers.py, the evidence step of approval-merge.yml: run in a checkout
of the base branch, with the pull request's head present only as git objects."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from approvals_repo import FS_ID, FS_PATH, Repo, approved, feasibility

SCRIPT = Path(__file__).resolve().parents[1] / ".github" / "scripts" / "approval_trailers.py"
URL = "https://github.com/acme/servicebook/pull/42"


def load_script():
    spec = importlib.util.spec_from_file_location("approval_trailers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path / "repo")


def pull_request(repo: Repo, who: str, data: dict, message: str) -> tuple[str, str]:
    """Commit ``data`` on a branch, go back to main and keep the branch's commit only as an object
    under a remote-tracking name, as the workflow's fetch leaves it. Returns (base, head)."""
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "pr")
    head = repo.save(who, FS_PATH, data, message)
    repo.git("checkout", "-q", "main")
    repo.git("update-ref", "refs/remotes/pr/head", head)
    repo.git("branch", "-q", "-D", "pr")
    return base, head


def run(repo: Repo, tmp_path: Path, head: str, reviews: list) -> subprocess.CompletedProcess:
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps(reviews), encoding="utf-8")
    env = {"HEAD_SHA": head, "REVIEWS": str(path), "PR_URL": URL, "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT)], cwd=repo.path, env=env,
                          capture_output=True, text=True)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def review(login: str, commit: str, state: str = "APPROVED") -> dict:
    return {"user": {"login": login}, "state": state, "commit_id": commit}


def test_approval_by_the_general_manager_gives_the_trailers(repo, tmp_path):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    base, head = pull_request(repo, "P-li-na", approved(feasibility()), "Ask the GM")
    done = run(repo, tmp_path, head, [review("chenjing-bc", head)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("Approved-by: Chen Jing <chen.jing@example.com>\n"
                           "Approved-role: general_manager\n"
                           f"Reviewed-on: {URL}\n"
                           f"Approved-record: {FS_ID}\n"
                           f"Approved-blob: {repo.git('rev-parse', f'{head}:{FS_PATH}')}\n")
    # the head was read, never checked out: HEAD is the base, and the only file of the head in
    # the working tree is the record copied out as data (.cache/ is servicebook's own result cache,
    # outside git in every servicebook repository)
    assert repo.git("rev-parse", "HEAD") == base
    changed = [line for line in repo.git("status", "--porcelain").splitlines() if line != "?? .cache/"]
    assert changed == [f" M {FS_PATH}"] or changed == [f"M {FS_PATH}"]


def test_the_filler_cannot_approve_her_own_form(repo, tmp_path):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    _base, head = pull_request(repo, "P-li-na", approved(feasibility()), "Ask the GM")
    done = run(repo, tmp_path, head, [review("lina-bc", head)])
    assert done.returncode == 1 and done.stdout == ""
    assert f"::error file={FS_PATH}::{FS_ID} enters an approval status" in done.stderr


def test_a_pull_request_cannot_grant_the_role_it_needs(repo, tmp_path):
    """The change makes Zhao Lei a general manager and has him approve: roles are the base's."""
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "pr")
    person = repo.path / "records" / "person" / "P-zhao-lei.yaml"
    person.write_text(person.read_text(encoding="utf-8").replace("sales_manager", "general_manager"),
                      encoding="utf-8")
    repo.write(FS_PATH, approved(feasibility(), by="P-zhao-lei"))
    repo.commit("P-li-na", "promote and approve", "records")
    head = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    done = run(repo, tmp_path, head, [review("zhaolei-bc", head)])
    assert done.stdout == ""  # no approval step a base-branch role holder may give: no merge
    assert repo.git("rev-parse", "HEAD") == base


def test_no_trailers_for_an_approval_of_an_older_commit(repo, tmp_path):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    base, head = pull_request(repo, "P-li-na", approved(feasibility()), "Ask the GM")
    done = run(repo, tmp_path, head, [review("chenjing-bc", base)])
    assert done.returncode == 0 and done.stdout == ""


def test_refuses_a_head_that_is_not_a_commit_id(repo, tmp_path):
    done = run(repo, tmp_path, "HEAD; rm -rf /", [])
    assert done.returncode == 1 and "not a commit id" in done.stderr
    done = run(repo, tmp_path, "0" * 40, [])
    assert done.returncode == 1 and "not in this clone" in done.stderr


def test_approvers_are_the_latest_deciding_reviews_of_the_head():
    approvers = load_script().approvers
    head, old = "a" * 40, "b" * 40
    reviews = [
        review("gm", head),
        review("gm", head, "COMMENTED"),          # a comment does not withdraw an approval
        review("cs", head),
        review("cs", head, "CHANGES_REQUESTED"),  # a later request for changes does
        review("stale", old),                     # an approval of an older commit does not count
        review("back", head, "DISMISSED"),
        review("back", head),                     # approved again after a dismissal
        {"user": None, "state": "APPROVED", "commit_id": head},
        "not a review",
    ]
    assert approvers(reviews, head) == ["gm", "back"]
