"""Approvals that cannot be forged (issue #15), tried as an insider would, on real repositories
with real SSH keys (``ssh-keygen``) and git's own signing: a genuine local approval, a genuine
platform-signed one, and every forgery and rewrite of the issue, each its own test. Audits run
through the command line in-process (``sb``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from approvals_repo import (FS_ID, FS_PATH, STAFF, Repo, approved, feasibility, key_file, person,
                            public_key, trailer)
from conftest import sb

GM = "P-chen-jing"


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path / "repo")


def findings(repo, *ids) -> list[dict]:
    """Every finding of ``servicebook audit`` (all records unless ``ids``), as JSON."""
    done = sb("audit", *ids, "--format", "json", cwd=repo.path)
    assert done.returncode in (0, 1), done.stderr
    return [f for t in json.loads(done.stdout) for f in t["findings"]]


def rules(repo, *ids) -> list[str]:
    return sorted({f["rule"] for f in findings(repo, *ids) if f["severity"] == "error"})


def approve_as(repo, committer: str, approver: str = GM, **how) -> str:
    """A commit by ``committer`` moving the feasibility to approved, with the trailers of
    ``approver`` and the approved blob (what `servicebook approve --status` writes when the
    committer is the approver)."""
    repo.write(FS_PATH, approved(feasibility()))
    blob = repo.blob(FS_PATH)
    return repo.commit(committer, "Approve FS\n\n"
                       + trailer(approver, "general_manager", record=FS_ID, blob=blob), FS_PATH, **how)


def gm_signs(repo, monkeypatch) -> None:
    """The approver's own git set-up: identity and SSH signing key (no global configuration)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo.git("config", "user.name", "Chen Jing")
    repo.git("config", "user.email", "chen.jing@example.com")
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", f"{key_file(GM)}.pub")


# -- genuine approvals ---------------------------------------------------------------------------


def test_genuine_local_approval_with_the_approve_command(repo, monkeypatch):
    # the local-merge flow: the change proposes the approval status on a branch, the GM approves
    # it there with `servicebook approve` (a signed commit naming the blob), a plain merge lands it
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.git("checkout", "-q", "-b", "approve-fs")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "Ask the GM")
    gm_signs(repo, monkeypatch)
    done = sb("approve", FS_ID, "--by", GM, "--reviewed-on", "https://git.example.com/mr/3",
              cwd=repo.path)
    assert done.returncode == 0, done.stderr
    raw = repo.git("cat-file", "commit", "HEAD")
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in raw
    assert f"Approved-blob: {repo.git('rev-parse', 'HEAD:' + FS_PATH)}" in raw
    repo.git("checkout", "-q", "main")
    repo.merge("approve-fs", "P-li-na", "Merge branch 'approve-fs'", key=None)
    assert findings(repo) == []
    done = sb("audit", FS_ID, cwd=repo.path)
    assert done.returncode == 0 and f"signed by the key of {GM}" in done.stdout


def test_approve_refuses_without_a_signing_key_naming_the_person(repo, monkeypatch):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    gm_signs(repo, monkeypatch)
    repo.git("config", "--unset", "user.signingkey")
    done = sb("approve", FS_ID, "--by", GM, "--status", "approved", cwd=repo.path)
    assert done.returncode == 2
    assert "no signing key" in done.stderr and GM in done.stderr
    assert "Approved-by" not in repo.git("log", "-1", "--format=%B")


def test_approve_refuses_a_key_that_is_not_the_approvers(repo, monkeypatch):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    gm_signs(repo, monkeypatch)
    repo.git("config", "user.signingkey", str(key_file("P-li-na")))  # the private key's path
    done = sb("approve", FS_ID, "--by", GM, "--status", "approved", cwd=repo.path)
    assert done.returncode == 2
    assert f"not one of {GM}'s signing_keys" in done.stderr and "SHA256:" in done.stderr


def platform_rules(repo, *, name: str = "forge") -> None:
    path = repo.path / ".github" / "review-rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["platforms"] = {name: {"keys": [public_key("platform")]}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    repo.commit("P-he-fang", "The forge signs approval merges", ".github/review-rules.yaml")


def platform_merge(repo, reviewed_on: str | None = "https://forge.example.com/sb/pulls/9") -> str:
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.git("checkout", "-q", "-b", "pr-9")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "Ask the GM")
    blob = repo.blob(FS_PATH)
    repo.git("checkout", "-q", "main")
    return repo.merge("pr-9", "P-chen-jing", "Merge pull request #9\n\n"
                      + trailer(GM, "general_manager", url=reviewed_on, record=FS_ID, blob=blob),
                      key="platform")


def test_genuine_platform_signed_approval(repo):
    platform_rules(repo)
    platform_merge(repo)
    assert findings(repo) == []
    done = sb("audit", FS_ID, "--format", "json", cwd=repo.path)
    (t,) = json.loads(done.stdout)
    assert t["approvals"][0]["signer"] == "platform forge"


def test_platform_signature_without_a_review_is_refused(repo):
    platform_rules(repo)
    platform_merge(repo, reviewed_on=None)
    (f,) = [f for f in findings(repo) if f["severity"] == "error"]
    assert f["rule"] == "approval.signer" and "Reviewed-on" in f["message"]


def test_platform_key_not_named_in_the_rules_is_unknown(repo):
    platform_merge(repo)
    assert rules(repo) == ["approval.signer"]


@pytest.fixture
def gnupg(tmp_path, monkeypatch):
    """A platform's OpenPGP signing key, as GitHub's web-flow key is: made by gpg in a
    temporary GNUPGHOME; returns (signing user id, armored public key)."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
                    "Forge (web-flow commit signing) <noreply@forge.example>", "rsa2048", "sign",
                    "never"], check=True, capture_output=True)
    armored = subprocess.run(["gpg", "--armor", "--export", "noreply@forge.example"], check=True,
                             capture_output=True, text=True).stdout
    yield "noreply@forge.example", armored
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],  # the agent gpg started
                   capture_output=True)


def openpgp_merge(repo, user_id: str) -> str:
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.git("checkout", "-q", "-b", "pr-9")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "Ask the GM")
    blob = repo.blob(FS_PATH)
    repo.git("checkout", "-q", "main")
    repo.git("-c", "gpg.format=openpgp", "-c", f"user.signingkey={user_id}", "merge", "-q",
             "--no-ff", "-S", "pr-9", "-m", "Merge pull request #9\n\n"
             + trailer(GM, "general_manager", url="https://github.com/acme/sb/pull/9",
                       record=FS_ID, blob=blob), who="P-chen-jing", key=None)
    return repo.git("rev-parse", "HEAD")


def test_genuine_openpgp_platform_signature_like_githubs_web_flow(repo, gnupg):
    user_id, armored = gnupg
    path = repo.path / ".github" / "review-rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["platforms"] = {"github": {"keys": [armored]}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    repo.commit("P-he-fang", "GitHub signs approval merges", ".github/review-rules.yaml")
    openpgp_merge(repo, user_id)
    assert "BEGIN PGP SIGNATURE" in repo.git("cat-file", "commit", "HEAD")
    assert findings(repo) == []
    (t,) = json.loads(sb("audit", FS_ID, "--format", "json", cwd=repo.path).stdout)
    assert t["approvals"][0]["signer"] == "platform github"


def test_openpgp_signature_by_a_key_no_platform_names(repo, gnupg):
    openpgp_merge(repo, gnupg[0])
    found = [f for f in findings(repo) if f["severity"] == "error"]
    assert [f["rule"] for f in found] == ["approval.signer"]
    assert "OpenPGP key" in found[0]["message"]


# -- forgeries -----------------------------------------------------------------------------------


def test_filler_changes_filled_by_in_the_approving_change_then_approves_her_own_form(repo):
    form = feasibility(filled_by=GM)
    repo.save(GM, FS_PATH, form, "GM fills the form")
    repo.write(FS_PATH, approved(feasibility(filled_by="P-li-na", history=form["history"])))
    blob = repo.blob(FS_PATH)
    repo.commit(GM, "Approve\n\n" + trailer(GM, "general_manager", record=FS_ID, blob=blob), FS_PATH)
    assert rules(repo) == ["approval.self"]


def test_later_commit_on_the_approving_branch_then_a_plain_merge(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.git("checkout", "-q", "-b", "approve-fs")
    approve_as(repo, GM)
    repo.save("P-li-na", FS_PATH, approved(feasibility(payback_months=2)), "Better payback")
    repo.git("checkout", "-q", "main")
    merge = repo.merge("approve-fs", "P-li-na", "Merge branch 'approve-fs'")
    found = [f for f in findings(repo) if f["severity"] == "error"]
    assert [f["rule"] for f in found] == ["approval.changed-after"]
    assert found[0]["commit"] == merge and "payback_months" in found[0]["message"]


def test_an_edit_on_another_branch_merged_after_the_approval(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.git("branch", "edit")
    repo.git("checkout", "-q", "-b", "approve-fs")
    approve_as(repo, GM)
    repo.git("checkout", "-q", "edit")
    repo.save("P-li-na", FS_PATH, feasibility(equipment_investment={"amount": 1, "currency": "CNY"}),
              "Cheaper")
    repo.git("checkout", "-q", "main")
    repo.merge("approve-fs", GM, "Merge approval")
    repo.merge("edit", "P-li-na", "Merge edit")
    assert rules(repo) == ["approval.changed-after"]


def test_delete_then_re_add_with_back_dated_history(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    approve_as(repo, GM)
    repo.remove("P-li-na", FS_PATH, "Remove the feasibility")
    data = approved(feasibility(payback_months=2), by=GM, at="2026-11-05T17:00:00+08:00")
    data["history"][1] = dict(data["history"][1], at="2026-11-05T15:00:00+08:00")
    repo.save("P-li-na", FS_PATH, data, "Feasibility (re-entered)")
    found = findings(repo)
    assert {"history.rewritten", "approval.changed-after"} <= {f["rule"] for f in found}
    assert any("deleted and added again" in f["message"] for f in found)


def test_a_move_to_another_folder_with_an_edit_is_still_the_same_record(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    approve_as(repo, GM)
    repo.git("rm", "-q", "--", FS_PATH)
    moved = FS_PATH.replace("/2026/", "/archive/")
    repo.save("P-li-na", moved, approved(feasibility(payback_months=2)), "Archive it")
    assert rules(repo) == ["approval.changed-after"]


@pytest.mark.parametrize("as_manager", [False, True], ids=["own identity", "author set to the GM"])
def test_hand_typed_trailers_by_staff_signed_with_her_own_key(repo, as_manager):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    approve_as(repo, "P-li-na", key="P-li-na", **({"as_who": GM} if as_manager else {}))
    found = [f for f in findings(repo) if f["severity"] == "error"]
    assert [f["rule"] for f in found] == ["approval.signer"]
    assert "P-li-na" in found[0]["message"]


@pytest.mark.parametrize("as_manager", [False, True], ids=["own identity", "author set to the GM"])
def test_hand_typed_trailers_by_staff_unsigned(repo, as_manager):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    approve_as(repo, "P-li-na", key=None, **({"as_who": GM} if as_manager else {}))
    assert rules(repo) == ["approval.unsigned"]


def test_empty_commit_on_main_with_trailers_after_the_fact(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "GM said yes on the phone")
    assert rules(repo) == ["approval.missing"]
    repo.git("commit", "-q", "--allow-empty", "-m", "Record the approval\n\n"
             + trailer(GM, "general_manager", record=FS_ID), who="P-li-na", as_who=GM, key=None)
    assert rules(repo) == ["approval.unsigned"]


def test_an_approved_blob_that_is_not_in_the_repository(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.write(FS_PATH, approved(feasibility()))
    repo.commit(GM, "Approve\n\n" + trailer(GM, "general_manager", record=FS_ID, blob="ab" * 20),
                FS_PATH)
    assert rules(repo) == ["approval.changed-after"]


def test_a_key_brought_by_the_change_itself_does_not_count(repo):
    # staff adds her key to the GM's person record in the very commit that approves
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    gm = person(GM, keys=[{"key": public_key(GM)}, {"key": public_key("P-li-na")}])
    repo.write(f"records/person/{GM}.yaml", gm)
    repo.write(FS_PATH, approved(feasibility()))
    repo.commit("P-li-na", "Approve\n\n" + trailer(GM, "general_manager", record=FS_ID),
                FS_PATH, f"records/person/{GM}.yaml", as_who=GM)
    assert rules(repo, FS_ID) == ["approval.signer"]


def test_a_role_granted_by_the_change_itself_does_not_count(repo):
    repo.save("P-wang-qiang", FS_PATH, feasibility(filled_by="P-wang-qiang"), "Feasibility")
    me = person("P-zhao-lei")
    me["roles"] = ["sales_manager", "general_manager"]
    repo.write("records/person/P-zhao-lei.yaml", me)
    repo.write(FS_PATH, approved(feasibility(filled_by="P-wang-qiang"), by="P-zhao-lei"))
    repo.commit("P-zhao-lei", "Approve\n\n" + trailer("P-zhao-lei", "general_manager"),
                FS_PATH, "records/person/P-zhao-lei.yaml")
    found = [f for f in findings(repo, FS_ID) if f["severity"] == "error"]
    assert [f["rule"] for f in found] == ["approval.role"]
    assert "on main before the commit" in found[0]["message"]


def test_person_record_edited_today_does_not_change_last_years_verdict(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    approve_as(repo, GM)
    assert findings(repo) == []
    # a year on: the GM's key is removed and her role handed on; the working tree says she could
    # not approve today, but the approval is judged by the records of its own time
    gm = person(GM, keys=[])
    gm["roles"] = ["sales_manager"]
    repo.save("P-he-fang", f"records/person/{GM}.yaml", gm, "Chen Jing moves to sales")
    assert findings(repo) == []
    # while evidence she signs now is judged by today's records: her key is gone
    repo.git("commit", "-q", "--allow-empty", "-m", "Approved once more\n\n"
             + trailer(GM, "general_manager", record=FS_ID), who=GM)
    assert rules(repo) == ["approval.signer"]


def test_a_key_outside_its_validity_is_refused(repo):
    gm = person(GM, keys=[{"key": public_key(GM), "valid_until": "2026-01-01T00:00:00+08:00"}])
    repo.save("P-he-fang", f"records/person/{GM}.yaml", gm, "Chen Jing's key retired")
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    approve_as(repo, GM)
    found = [f for f in findings(repo) if f["severity"] == "error"]
    assert [f["rule"] for f in found] == ["approval.signer"]
    assert "valid until 2026-01-01" in found[0]["message"]


def test_back_dated_history_is_caught_by_the_repository_wide_audit(repo):
    # a record with no approval step at all: the repository-wide audit reads its versions too
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    data = feasibility()
    data["history"][0] = dict(data["history"][0], at="2026-10-01T09:00:00+08:00")
    repo.save("P-li-na", FS_PATH, data, "It was started earlier, really")
    done = sb("audit", cwd=repo.path)
    assert done.returncode == 1
    assert "[history.rewritten]" in done.stdout and FS_PATH in done.stdout


# -- the legacy import --------------------------------------------------------------------------


def set_baseline(repo, sha: str, who: str = "P-he-fang") -> str:
    path = repo.path / ".github" / "review-rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["baseline"] = sha
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return repo.commit(who, "Baseline", ".github/review-rules.yaml")


def test_records_up_to_the_baseline_are_imported_and_after_it_need_evidence(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    imported = repo.save("P-li-na", FS_PATH, approved(feasibility()), "Imported from paper")
    assert rules(repo) == ["approval.missing"]
    set_baseline(repo, imported)
    assert findings(repo) == []
    done = sb("audit", FS_ID, cwd=repo.path)
    assert "imported" in done.stdout
    repo.save("P-li-na", FS_PATH, approved(feasibility(payback_months=1)), "After the import")
    assert rules(repo) == ["approval.changed-after"]


def test_moving_the_baseline_is_a_finding(repo):
    first = repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    set_baseline(repo, first)
    later = repo.save("P-li-na", FS_PATH, approved(feasibility()), "Forged")
    set_baseline(repo, later)
    assert "audit.baseline" in rules(repo)


def test_a_baseline_not_in_the_history_imports_nothing(repo):
    set_baseline(repo, "0123456789" * 4)
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "no evidence")
    found = findings(repo)
    assert {f["rule"] for f in found} == {"approval.missing", "audit.baseline"}
    assert [f["severity"] for f in found if f["rule"] == "audit.baseline"] == ["warning"]


def test_staff_keys_are_real_ssh_keys():
    assert public_key(GM).startswith("ssh-ed25519 ") and len(STAFF) == 7


# -- the verifier ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa", "rsa"])
def test_every_key_type_verifies_in_process_and_a_changed_byte_fails(repo, tmp_path, key_type):
    from servicebook.derive.audit import sshsig

    key = tmp_path / f"id_{key_type}"
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-f", str(key)], check=True)
    (repo.path / "note.txt").write_text(key_type)
    repo.git("add", "note.txt")
    repo.git("-c", f"user.signingkey={key}", "commit", "-q", "-S", "-m", "signed", key=None)
    raw = subprocess.run(["git", "cat-file", "commit", "HEAD"], cwd=repo.path, check=True,
                         capture_output=True).stdout
    v = sshsig.verify_commit(raw)
    assert v.status == sshsig.GOOD
    assert v.key == sshsig.key_blob(Path(f"{key}.pub").read_text())
    assert sshsig.verify_commit(raw.replace(b"signed", b"Signed")).status == sshsig.BAD
    assert sshsig.verify_commit(raw.split(b"gpgsig ")[0] + b"\nsigned\n").status == sshsig.UNSIGNED


def test_forked_workers_give_the_same_verdicts(repo, monkeypatch):
    from servicebook.derive.audit import signatures, trail

    monkeypatch.setattr(signatures.Verdicts, "FORK_FROM", 1)
    monkeypatch.setattr(trail, "PARSE_FORK_FROM", 1)  # half the versions parsed by a worker too
    monkeypatch.setenv("SERVICEBOOK_NO_CACHE", "1")
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    approve_as(repo, GM)
    assert findings(repo) == []
    repo.git("commit", "-q", "--allow-empty", "-m", "Also approved\n\n"
             + trailer(GM, "general_manager", record=FS_ID), who="P-li-na")
    assert rules(repo) == ["approval.signer"]
