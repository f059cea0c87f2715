"""Commands that write: `new` and `status` create or edit exactly one file, atomically, and never
overwrite or lose anything."""

from __future__ import annotations

from datetime import date

import pytest

from servicebook.load.records import new_id
from servicebook.write.writer import WriteRefused, create, replace
from conftest import sb


def test_new_writes_a_record_with_required_fields_laid_out(mini):
    proc = sb("new", "complaint", "--by", "P-sun-li", "--at", "2026-11-20T09:00:00+08:00",
              "--set", "customer=CU-hengda-logistics", "--set", "caller.name=王先生",
              "--set", "caller.phone=13800138000", "--print", cwd=mini.root)
    assert proc.returncode == 0, proc.stderr
    rel = proc.stdout.strip()
    assert rel.startswith("records/complaint/2026/CP-20261120-")
    text = (mini.root / rel).read_text(encoding="utf-8")
    assert (mini.root / rel).stat().st_mode & 0o044  # readable like any file, not mkstemp's 0600
    assert text.startswith("# yaml-language-server: $schema=../../../schemas/complaint.schema.json\n")
    assert "phone: '13800138000'" in text  # typed by the schema: text stays text
    assert "filled_by: P-sun-li" in text and "status: open" in text
    assert "received_at:  # required: " in text
    # the new record is a form to fill: it names what is missing, at the right lines
    code, problems = mini.validate(rel)
    assert code == 1
    assert {p["path"] for p in problems} >= {"received_at", "channel", "kind", "issues"}


def test_new_never_overwrites(mini):
    before = mini.snapshot()
    proc = sb("new", "person", "--id", "P-zhang-wei", "--set", "name=张伟", cwd=mini.root)
    assert proc.returncode == 2 and "already used" in proc.stderr
    assert mini.snapshot() == before


def test_create_refuses_an_existing_file_atomically(tmp_path):
    target = tmp_path / "a.yaml"
    target.write_text("precious: true\n")
    with pytest.raises(WriteRefused):
        create(target, "other: 1\n")
    assert target.read_text() == "precious: true\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]  # no temp file left behind


def test_new_refuses_unknown_kind_and_bad_set(mini):
    assert sb("new", "ticket", cwd=mini.root).returncode == 2
    assert sb("new", "complaint", "--set", "nothing", cwd=mini.root).returncode == 2


def test_ten_thousand_generated_ids_are_unique_and_well_formed():
    # In one repository `new` passes the IDs already taken. Ten thousand independent draws of 30
    # bits would collide about one run in twenty (the birthday bound), which made this test flaky.
    ids: set[str] = set()
    for _ in range(10_000):
        ids.add(new_id("complaint", date(2026, 11, 23), ids))
    assert len(ids) == 10_000
    assert all(i.startswith("CP-20261123-") and len(i) == 18 for i in ids)


def test_ids_avoid_those_already_taken():
    taken = {new_id("repair", date(2026, 1, 1)) for _ in range(100)}
    assert all(new_id("repair", date(2026, 1, 1), taken) not in taken for _ in range(100))


COMMENTED = "# a note the engineer left\n"


def test_status_appends_history_and_keeps_comments_and_order(mini):
    rid = "CP-20261202-7KQ2XM"
    # put the complaint back to 'resolved' so it can be closed, with a comment to keep
    text = mini.text(rid)
    head, _, _ = text.partition("- at: '2026-12-03T11:00:00+08:00'")
    trimmed = head.rstrip() + "\n" + text[text.index("received_at:"):]
    trimmed = trimmed.replace("status: closed\n", "status: resolved\n", 1)
    mini.path(rid).write_text(COMMENTED + trimmed, encoding="utf-8")
    assert mini.validate() == (0, [])
    proc = sb("status", rid, "closed", "--by", "P-zhou-min", "--note", "回访确认",
              "--at", "2026-12-03T11:00:00+08:00", cwd=mini.root)
    assert proc.returncode == 0, proc.stderr
    after = mini.text(rid)
    assert after.startswith(COMMENTED)
    assert after.count("status: closed") == 2  # the field and the new history entry
    old_lines = [line for line in trimmed.splitlines() if "status: resolved" not in line]
    new_lines = after.splitlines()
    assert [line for line in old_lines if line in new_lines] == old_lines  # nothing else moved
    assert mini.validate() == (0, [])


def test_status_refuses_an_illegal_transition(mini):
    before = mini.snapshot()
    proc = sb("status", "SV-20261103-4M8QZA", "open", "--by", "P-zhang-wei", cwd=mini.root)
    assert proc.returncode == 2 and "cannot move" in proc.stderr
    assert mini.snapshot() == before


def test_replace_refuses_when_the_file_changed_meanwhile(tmp_path):
    target = tmp_path / "a.yaml"
    target.write_text("a: 1\n")
    with pytest.raises(WriteRefused):
        replace(target, "a: 2\n", expected_digest="0" * 64)
    assert target.read_text() == "a: 1\n"


@pytest.mark.parametrize("bad", ["../../../tmp/escape", "P-a/../../x", "CU-zhang-wei", "P-", "P-a--b", "P-a b"])
def test_new_refuses_an_id_that_is_not_its_kinds_and_writes_nothing(mini, bad):
    before = mini.snapshot()
    proc = sb("new", "person", "--id", bad, "--set", "name=张伟", cwd=mini.root)
    assert proc.returncode == 2 and "is not a person ID" in proc.stderr, proc.stderr
    assert mini.snapshot() == before
