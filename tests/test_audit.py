"""servicebook audit on real git repositories: each approval scenario gives its finding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from approvals_repo import (CP_ID, CP_PATH, FS_ID, FS_PATH, Repo, approved, feasibility, key_file,
                            trailer)
from servicebook.derive.audit import trail as audit
from servicebook.cli import main


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path / "repo")


def rules(trail):
    return sorted({f.rule for f in trail.findings})


def trail_of(repo, rid=FS_ID, **kw):
    (t,) = audit.audit(repo.path, [rid], **kw)
    return t


def test_valid_approval(repo):
    first = repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility for Hengda")
    sha = repo.save("P-chen-jing", FS_PATH, approved(feasibility()),
                    "Approve FS\n\n" + trailer("P-chen-jing", "general_manager"))
    t = trail_of(repo)
    assert rules(t) == []
    assert t.created_by == "Li Na" and t.created_email == "li.na@example.com"
    assert [c.commit for c in t.changes] == [first, sha]
    assert t.changes[1].status_from == "submitted" and t.changes[1].status_to == "approved"
    assert t.changes[1].fields == ["status", "history[2]"]
    (a,) = t.approvals
    assert (a.person, a.role, a.status, a.commit) == ("P-chen-jing", "general_manager", "approved", sha)
    assert a.reviewed_on == "https://git.example.com/sb/pulls/7"


def test_self_approval(repo):
    repo.save("P-chen-jing", FS_PATH, feasibility(filled_by="P-chen-jing"), "GM fills the form")
    repo.save("P-chen-jing", FS_PATH, approved(feasibility(filled_by="P-chen-jing")),
              "Approve\n\n" + trailer("P-chen-jing", "general_manager"))
    assert rules(trail_of(repo)) == ["approval.self"]


def test_self_approval_by_committer_of_the_form(repo):
    # filled_by names someone else, but the approver committed the form himself
    repo.save("P-chen-jing", FS_PATH, feasibility(), "GM types the form in")
    repo.save("P-chen-jing", FS_PATH, approved(feasibility()),
              "Approve\n\n" + trailer("P-chen-jing", "general_manager"))
    t = trail_of(repo)
    assert rules(t) == ["approval.self"]
    assert "committed the form" in t.findings[0].message


def test_approval_by_the_wrong_role(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-zhao-lei", FS_PATH, approved(feasibility(), by="P-zhao-lei"),
              "Approve\n\n" + trailer("P-zhao-lei", "sales_manager"))
    t = trail_of(repo)
    assert rules(t) == ["approval.role"]
    assert "needs a general_manager" in t.findings[0].message


def test_forged_approved_by_for_a_person_without_the_role(repo):
    # the trailer claims the GM role for an engineer
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-wang-qiang", FS_PATH, approved(feasibility()),
              "Approve\n\n" + trailer("P-wang-qiang", "general_manager"))
    t = trail_of(repo)
    assert rules(t) == ["approval.role"]
    assert "P-wang-qiang" in t.findings[0].message and "technical_engineer" in t.findings[0].message


def test_forged_approved_by_for_nobody(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-li-na", FS_PATH, approved(feasibility()),
              "Approve\n\nApproved-by: Big Boss <boss@example.org>\nApproved-role: general_manager")
    assert rules(trail_of(repo)) == ["approval.unknown-person"]


def test_approval_missing(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    sha = repo.save("P-li-na", FS_PATH, approved(feasibility()), "GM said yes on the phone")
    t = trail_of(repo)
    assert rules(t) == ["approval.missing"]
    assert t.findings[0].commit == sha and t.findings[0].path == "history[2]"


def test_edit_after_approval(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-chen-jing", FS_PATH, approved(feasibility()),
              "Approve\n\n" + trailer("P-chen-jing", "general_manager"))
    edit = repo.save("P-li-na", FS_PATH, approved(feasibility(payback_months=3)), "Better payback")
    t = trail_of(repo)
    assert rules(t) == ["approval.changed-after"]
    assert t.findings[0].commit == edit and "payback_months" in t.findings[0].message
    assert t.changes[-1].fields == ["payback_months"]


def test_edit_with_re_approval_is_fine(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-chen-jing", FS_PATH, approved(feasibility()),
              "Approve\n\n" + trailer("P-chen-jing", "general_manager"))
    repo.save("P-li-na", FS_PATH, approved(feasibility(payback_months=3)), "Corrected payback")
    repo.git("commit", "-q", "--allow-empty", "-m", "Approved again\n\n"
             + trailer("P-chen-jing", "general_manager", record=FS_ID, blob=repo.blob(FS_PATH)),
             who="P-chen-jing")
    assert rules(trail_of(repo)) == []


def test_history_entry_dated_after_its_commit(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-chen-jing", FS_PATH, approved(feasibility(), at="2027-01-01T09:00:00+08:00"),
              "Approve\n\n" + trailer("P-chen-jing", "general_manager"))
    t = trail_of(repo)
    assert rules(t) == ["history.future"]


def test_history_says_another_approver_than_git(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-chen-jing", FS_PATH, approved(feasibility(), by="P-zhao-lei"),
              "Approve\n\n" + trailer("P-chen-jing", "general_manager"))
    assert rules(trail_of(repo)) == ["history.mismatch"]


def test_history_rewritten(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-chen-jing", FS_PATH, approved(feasibility()),
              "Approve\n\n" + trailer("P-chen-jing", "general_manager"))
    data = approved(feasibility())
    data["history"][1] = dict(data["history"][1], at="2026-11-05T15:00:00+08:00")
    repo.save("P-li-na", FS_PATH, data, "Tidy dates")
    assert "history.rewritten" in rules(trail_of(repo))


def test_merge_commit_carries_the_evidence(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.git("checkout", "-q", "-b", "approve-fs")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "Ask the GM to approve")
    repo.git("checkout", "-q", "main")
    merge = repo.merge("approve-fs", "P-chen-jing",
                       "Merge pull request #7\n\n" + trailer("P-chen-jing", "general_manager"))
    t = trail_of(repo)
    assert rules(t) == []
    assert t.changes[-1].commit == merge and t.changes[-1].author == "Li Na"
    assert t.approvals[0].commit == merge


def test_merge_without_evidence(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.git("checkout", "-q", "-b", "approve-fs")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "Approve")
    repo.git("checkout", "-q", "main")
    repo.merge("approve-fs", "P-chen-jing", "Merge pull request #7")
    assert rules(trail_of(repo)) == ["approval.missing"]


def complaint(history, **extra):
    data = {"id": CP_ID, "schema_version": 1, "customer": "CU-hengda-logistics",
            "filled_by": "P-sun-li", "created_at": "2026-11-05T09:12:00+08:00",
            "status": history[-1][2],
            "history": [{"at": a, "by": b, "status": s} for a, b, s in history]}
    data.update(extra)
    return data


def test_reopened_complaint_may_change_without_flag(repo):
    h = [("2026-11-05T09:12:00+08:00", "P-sun-li", "open"),
         ("2026-11-05T15:30:00+08:00", "P-wang-qiang", "resolved")]
    repo.save("P-sun-li", CP_PATH, complaint(h), "Complaint")
    h.append(("2026-11-06T11:00:00+08:00", "P-zhou-min", "closed"))
    repo.save("P-zhou-min", CP_PATH, complaint(h),
              "Close\n\n" + trailer("P-zhou-min", "cs_manager"))
    h.append(("2026-11-06T12:00:00+08:00", "P-sun-li", "reopened"))
    repo.save("P-sun-li", CP_PATH, complaint(h), "Customer calls again")
    repo.save("P-sun-li", CP_PATH, complaint(h, remarks="second fault"), "Note")
    assert rules(trail_of(repo, CP_ID)) == []


def signs_as(repo, pid):
    """Configure the test repository's git to sign with ``pid``'s key, as the approver would."""
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", f"{key_file(pid)}.pub")


def named_records(repo) -> dict:
    """The customer and solution the feasibility names (the mini fixture's), committed, and its
    customer block: `approve --status` writes only a record validate accepts."""
    mini = Path(__file__).parent / "fixtures" / "mini" / "records"
    for rel in ("customer/CU-hengda-logistics.yaml", "solution/2026/SO-20261104-2HVN6P.yaml"):
        (repo.path / "records" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mini / rel, repo.path / "records" / rel)
    repo.commit("P-he-fang", "The customer and the solution", "records")
    return {"customer_block": {"name": "恒达物流股份有限公司", "address": "江苏省南京市江宁区秣陵街道物流园路 88 号"}}


def test_approve_command_moves_and_proves(repo):
    repo.save("P-li-na", FS_PATH, feasibility(**named_records(repo)), "Feasibility")
    signs_as(repo, "P-chen-jing")
    assert main(["approve", FS_ID, "--as", "general_manager", "--by", "P-chen-jing",
                 "--status", "approved", "--at", "2026-11-06T09:15:00+08:00",
                 "--root", str(repo.path)]) == 0
    msg = repo.git("log", "-1", "--format=%B")
    assert "Approved-by: Chen Jing <chen.jing@example.com>" in msg
    assert f"Approved-record: {FS_ID}" in msg
    assert f"Approved-blob: {repo.git('rev-parse', 'HEAD:' + FS_PATH)}" in msg
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in repo.git("cat-file", "commit", "HEAD")
    assert rules(trail_of(repo)) == []


def test_approve_command_adds_evidence_afterwards(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "Merged on the GitLab server")
    assert rules(trail_of(repo)) == ["approval.missing"]
    signs_as(repo, "P-chen-jing")
    assert main(["approve", FS_ID, "--as", "general_manager", "--by", "P-chen-jing",
                 "--root", str(repo.path)]) == 0
    assert rules(trail_of(repo)) == []


def test_approve_command_refuses_wrong_role_and_self(repo, capsys):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    args = ["approve", FS_ID, "--status", "approved", "--root", str(repo.path)]
    assert main(args + ["--as", "general_manager", "--by", "P-zhao-lei"]) == 1
    assert main(args + ["--as", "sales_manager", "--by", "P-li-na"]) in (1, 2)
    assert main(args + ["--as", "general_manager", "--by", "P-nobody"]) == 2
    assert "Approved-by" not in repo.git("log", "-1", "--format=%B")


def test_cli_audit_all_and_formats(repo, capsys):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "no evidence")
    assert main(["audit", "--root", str(repo.path)]) == 1
    out = capsys.readouterr().out
    assert "approval.missing" in out
    assert main(["audit", FS_ID, "--format", "json", "--root", str(repo.path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["id"] == FS_ID and data[0]["findings"][0]["rule"] == "approval.missing"
    assert main(["audit", "--format", "github", "--root", str(repo.path)]) == 1
    assert capsys.readouterr().out.startswith("::error file=records/feasibility/")
    assert main(["audit", "P-li-na", "--root", str(repo.path)]) == 0
    assert main(["audit", "NOPE-1", "--root", str(repo.path)]) == 2


def test_cli_audit_outside_git(tmp_path, capsys):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "records").mkdir()
    assert main(["audit", "--root", str(tmp_path)]) == 2
    assert "not a git repository" in capsys.readouterr().err


def test_pending_approvals(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    recs = audit.load_records(repo.path)
    pending = audit.pending_approvals(recs, audit.load_lifecycle(repo.path))
    assert [(r.id, s, role) for r, s, role in pending] == [(FS_ID, "approved", "general_manager")]


def test_parse_log_handles_trailers_and_files():
    out = ("\x1e" + "\x1f".join(["a" * 40, "b" * 40, "N", "n@x", "2026-01-01T00:00:00+08:00",
                                  "2026-01-01T00:00:00+08:00", "s",
                                  "Approved-by: X <x@y>\x1dApproved-role: cs_manager"])
           + "\x1f\n:100644 100644 " + "1" * 40 + " " + "2" * 40 + " M\0records/a/A-1.yaml\0")
    (c,) = audit.parse_log(out).values()
    assert c.trailers == (("approved-by", "X <x@y>"), ("approved-role", "cs_manager"))
    assert c.files == [("M", "1" * 40, "2" * 40, "records/a/A-1.yaml")]
