"""The approval trailers of a pull request, worked out by the default branch's code (run by the
evidence job of .github/workflows/approval-merge.yml; never from a pull request's checkout).

Trusted: the checkout this runs in (the default branch): this script, the installed servicebook,
the review rules, the lifecycle and the schemas; people and their roles as they are at the merge
base (``check-pr`` reads them there). Data, never checked out, installed or run: the pull request's
head commit, present only as git objects (``check-pr`` reads the changed records with
``git diff``; the records with an approval step are copied out of it with ``git show``), and the
reviews as the GitHub API returned them.

Environment:
  HEAD_SHA  the pull request's head commit (40 hex digits), fetched, not checked out
  REVIEWS   a JSON file: the pull request's reviews from the REST API, oldest first
            (``[{"user": {"login": ...}, "state": "APPROVED", "commit_id": ...}, ...]``)
  PR_URL    the pull request's address, for ``Reviewed-on``

Each block ends with ``Approved-blob``: the blob of the record at the head, the content approved
(``servicebook audit`` compares every later version with it). The squash commit GitHub makes is
signed with GitHub's OpenPGP web-flow key: the audit accepts it as a platform signature only when
that key is committed under ``platforms:`` in .github/review-rules.yaml (docs/approvals.md).
Prints the trailer blocks for the squash commit's message (one per approval step and approving
reviewer who may give it), nothing when the change has no approval step or nobody approved the
head commit. Exit 1 with ``::error::`` lines when an approval step has no approving reviewer who
may give it, or when the input is not what it should be.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

SHA = re.compile(r"[0-9a-f]{40}")
RECORD = re.compile(r"records/[a-z_]+/(?:[\w.-]+/)*[\w.-]+\.ya?ml")
DECIDING = {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}  # a COMMENTED review changes nothing


def approvers(reviews: list, head: str) -> list[str]:
    """Logins whose latest deciding review approves ``head``, in the order of those reviews."""
    latest: dict[str, dict] = {}
    for review in reviews:
        login = (review.get("user") or {}).get("login") if isinstance(review, dict) else None
        if isinstance(login, str) and login and review.get("state") in DECIDING:
            latest.pop(login, None)
            latest[login] = review
    return [login for login, r in latest.items()
            if r["state"] == "APPROVED" and r.get("commit_id") == head]


def servicebook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "servicebook", *args], capture_output=True,
                          text=True)


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], capture_output=True, check=True).stdout


def error(message: str, file: str | None = None) -> None:
    where = f" file={file}" if file else ""
    message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    print(f"::error{where}::{message}", file=sys.stderr)


def approval_steps(head: str, reviewers: list[str]) -> list[str] | None:
    """Record files of the change that enter an approval status (``check-pr``'s
    ``approval.required`` notices); None when check-pr could not run."""
    files: set[str] = set()
    for login in reviewers:  # an author unknown to the rules gets no notices: ask as each reviewer
        done = servicebook("check-pr", "--base", "HEAD", "--head", head, "--author", login,
                           "--format", "json")
        if done.returncode not in (0, 1) or not done.stdout.strip():
            error(f"servicebook check-pr failed: {done.stderr.strip()}")
            return None
        files |= {p["file"] for p in json.loads(done.stdout) if p.get("rule") == "approval.required"}
    return sorted(files)


def main() -> int:
    head = os.environ.get("HEAD_SHA", "")
    if not SHA.fullmatch(head):
        error(f"HEAD_SHA is not a commit id: {head!r}")
        return 1
    try:
        git("cat-file", "-e", f"{head}^{{commit}}")
    except subprocess.CalledProcessError:
        error(f"{head} is not in this clone: fetch it first")
        return 1
    reviews = json.loads(Path(os.environ["REVIEWS"]).read_text(encoding="utf-8"))
    reviewers = approvers(reviews if isinstance(reviews, list) else [], head)
    if not reviewers:
        print(f"nobody's latest review approves {head[:10]}", file=sys.stderr)
        return 0
    steps = approval_steps(head, reviewers)
    if steps is None:
        return 1
    root = Path.cwd()
    blocks: list[str] = []
    failed = False
    for file in steps:
        parts = PurePosixPath(file).parts
        if not RECORD.fullmatch(file) or ".." in parts or parts[1] == "person":
            error(f"unexpected record path {file!r}")
            return 1
        # The head's version of the record, as data, where `servicebook approve` reads records;
        # everything else it reads (people, roles, lifecycle) stays the default branch's.
        target = root / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git("show", f"{head}:{file}"))
        record_id = PurePosixPath(file).stem
        refused = []
        found = False
        for login in reviewers:
            done = servicebook("approve", record_id, "--by", login, "--print-trailers",
                               *(["--reviewed-on", os.environ["PR_URL"]]
                                 if os.environ.get("PR_URL") else []))
            if done.returncode == 0:
                blocks.append(done.stdout.strip())
                found = True
            else:
                refused.append(f"{login}: {done.stderr.strip()}")
        if not found:
            error(f"{record_id} enters an approval status, but no approving reviewer may approve "
                  f"it ({'; '.join(refused)})", file)
            failed = True
    if failed:
        return 1
    if blocks:
        print("\n".join(blocks))  # one trailer paragraph: no blank line between the blocks
    return 0


if __name__ == "__main__":
    sys.exit(main())
