"""Writing commands refuse what validate would reject (issues #14/#16): the same located problem
validate prints, exit 1, and the file byte-for-byte untouched. On a copy of the demo, with the
demo's people: FS-20261116-Y6Q2H9 is a submitted feasibility appraisal filled by P-qian-hui (a
sales manager); its approval is the general manager's (P-zhao-guoqiang)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, sb

FS = "FS-20261116-Y6Q2H9"
AT = "2026-11-20T10:00:00+08:00"


def fs_path(root):
    return root / "records" / "feasibility" / "2026" / f"{FS}.yaml"


def refused(root, *args):
    before = fs_path(root).read_bytes()
    proc = sb("status", FS, *args, "--at", AT, "--root", str(root), cwd=root)
    assert fs_path(root).read_bytes() == before, "a refused move changed the file"
    return proc


def test_an_approval_by_the_wrong_role_is_refused_with_validates_problem(demo):
    proc = refused(demo, "approved", "--by", "P-li-na")  # a salesperson
    assert proc.returncode == 1
    assert f"records/feasibility/2026/{FS}.yaml:" in proc.stderr
    assert "[approval.role] history[" in proc.stderr and "general_manager" in proc.stderr


def test_the_filler_cannot_approve_her_own_form(demo):
    proc = refused(demo, "approved", "--by", "P-qian-hui")
    assert proc.returncode == 1
    assert "[approval.self]" in proc.stderr or "[approval.role]" in proc.stderr


def test_an_unknown_person_is_refused(demo):
    proc = refused(demo, "approved", "--by", "P-nobody")
    assert proc.returncode == 1
    assert "P-nobody" in proc.stderr


def test_the_same_move_by_the_general_manager_is_written_and_validates(demo):
    proc = sb("status", FS, "approved", "--by", "P-zhao-guoqiang", "--at", AT, "--root", str(demo), cwd=demo)
    assert proc.returncode == 0, proc.stderr
    assert "status: approved" in fs_path(demo).read_text(encoding="utf-8")
    assert sb("validate", "--root", str(demo), cwd=demo).returncode == 0


def test_a_note_that_is_not_utf8_is_refused_not_a_crash(demo):
    """A shell passing Latin-1 bytes gives Python surrogates: refused, located, nothing written."""
    before = fs_path(demo).read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    proc = subprocess.run([sys.executable, "-m", "servicebook", "status", FS, "approved", "--by", "P-zhao-guoqiang",
                           "--note", b"caf\xe9".decode("utf-8", "surrogateescape"), "--at", AT, "--root", str(demo)],
                          capture_output=True, text=True, env=env, errors="surrogateescape")
    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr and "[yaml.encoding]" in proc.stderr
    assert fs_path(demo).read_bytes() == before


def test_a_record_the_round_trip_editor_cannot_keep_is_refused_not_rewritten(demo):
    """A tab before a comment is valid YAML the records' reader accepts, but the round-trip
    editor cannot read it: refused with the place, never rewritten."""
    path = fs_path(demo)
    text = path.read_text(encoding="utf-8").replace("\nstatus: submitted\n", "\nstatus: submitted\t# tab\n")
    path.write_text(text, encoding="utf-8")
    assert sb("validate", "--root", str(demo), cwd=demo).returncode == 0
    proc = refused(demo, "approved", "--by", "P-zhao-guoqiang")
    assert proc.returncode == 2, proc.stderr
    assert "(line 7, column 18)" in proc.stderr and "edit it by hand" in proc.stderr


def test_a_record_already_wrong_is_put_right_before_it_moves(demo):
    """A writer leaves only what validate accepts: a record validate rejects does not move, even
    by the right person, until it is put right; the problem is validate's, located."""
    path = fs_path(demo)
    path.write_text(path.read_text(encoding="utf-8").replace("customer: CU-tianfu-software", "customer: CU-gone"),
                    encoding="utf-8")
    assert "[ref.missing] customer:" in sb("validate", "--root", str(demo), cwd=demo).stdout
    before = path.read_bytes()
    proc = refused(demo, "approved", "--by", "P-zhao-guoqiang")
    assert proc.returncode == 1
    assert f"{path.relative_to(demo).as_posix()}:4:11: error [ref.missing] customer: refers to CU-gone" in proc.stderr
    assert path.read_bytes() == before
    path.write_text(path.read_text(encoding="utf-8").replace("customer: CU-gone", "customer: CU-tianfu-software"),
                    encoding="utf-8")
    proc = sb("status", FS, "approved", "--by", "P-zhao-guoqiang", "--at", AT, "--root", str(demo), cwd=demo)
    assert proc.returncode == 0, proc.stderr
    assert "status: approved" in path.read_text(encoding="utf-8")


def test_new_leaves_blanks_to_fill_but_refuses_what_was_given_wrong(demo):
    """`new` writes a form with its required fields blank (validate's prompts to fill them in);
    what the command was given must be right: an unknown person, a value the schema refuses."""
    folder = demo / "records" / "complaint" / "2026"
    before = sorted(p.name for p in folder.iterdir())
    proc = sb("new", "complaint", "--by", "P-nobody", "--at", AT, "--root", str(demo), cwd=demo)
    assert proc.returncode == 1 and "[ref.missing] filled_by:" in proc.stderr
    proc = sb("new", "complaint", "--by", "P-shen-yue", "--set", "channel=carrier-pigeon", "--at", AT,
              "--root", str(demo), cwd=demo)
    assert proc.returncode == 2 and "--set channel: channel (受理渠道 / Channel): expected one of" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written
    proc = sb("new", "complaint", "--by", "P-shen-yue", "--set", "channel=phone", "--at", AT, "--root", str(demo), cwd=demo)
    assert proc.returncode == 0, proc.stderr
    (created,) = set(p.name for p in folder.iterdir()) - set(before)
    errors = sb("validate", "--root", str(demo), cwd=demo).stdout
    assert f"{created}:" in errors and "is empty; fill in" in errors  # the prompts, nothing else given wrong
