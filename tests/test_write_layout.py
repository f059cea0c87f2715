"""A status change keeps the file's own layout (issue #18, item 1): whatever indentation, quote
style, comments, blank lines, long lines, flow lists or line ends a record was written with, the
diff of N status changes is the status line and the new history entries, appended after the last
one -- the promise that a change reads as a one-line diff in review.

The layouts are the fixture complaint CP-20261202-7KQ2XM (moved back to `in_progress`) rewritten
the ways records are found in the wild."""
from __future__ import annotations

import difflib
import io

import pytest
from ruamel.yaml import YAML

from conftest import make_repo, sb

RID = "CP-20261202-7KQ2XM"
MOVES = [("waiting_customer", "P-wang-qiang", "2026-12-02T10:00:00+08:00"),
         ("in_progress", "P-wang-qiang", "2026-12-02T11:00:00+08:00"),
         ("resolved", "P-wang-qiang", "2026-12-02T15:30:00+08:00")]


def reindent(text: str, mapping: int, sequence: int, offset: int) -> str:
    y = YAML()
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    y.preserve_quotes = True
    y.width = 4096
    buf = io.StringIO()
    y.dump(y.load(text), buf)
    return buf.getvalue()


def in_progress(text: str) -> str:
    """The fixture complaint as it stood at 09:40 on 2 December: in progress, two history entries."""
    head, rest = text.split("history:\n", 1)
    entries = rest.split("\n- at: ")
    tail = rest[rest.index("\nreceived_at:") + 1:]
    history = "history:\n" + "\n- at: ".join(entries[:2]).rstrip("\n").split("\n- at: '2026-12-02T15:30")[0] + "\n"
    return head.replace("status: closed", "status: in_progress") + history + tail


LAYOUTS = {
    "block sequences at the key's column, 2 spaces": lambda t: t,
    "indented sequences (what `new` writes)": lambda t: reindent(t, 2, 4, 2),
    "4-space mappings, indented sequences": lambda t: reindent(t, 4, 6, 4),
    "4-space mappings, sequences at the key's column": lambda t: reindent(t, 4, 2, 0),
    "CRLF line ends": lambda t: t.replace("\n", "\r\n"),
    "comments and blank lines everywhere": lambda t: t.replace("history:\n", "\n# 流转记录\nhistory:  # append only\n")
                                                        .replace("status: in_progress\n", "status: in_progress  # 当前状态\n", 1)
                                                        .replace("\nkind:", "\n\n# 类别\nkind:"),
    "a long line and a flow list": lambda t: t.replace("remarks: 已安排 12 月 3 日回访。", "remarks: " + "很长的备注" * 40)
                                              .replace("  resolution_steps:\n  - 电话指导客户升级浏览器\n",
                                                       "  resolution_steps: [电话指导客户升级浏览器, 回访确认]\n"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_status_changes_touch_only_the_status_line_and_append_entries(tmp_path, layout):
    repo = make_repo(tmp_path / "repo")
    path = repo.path(RID)
    original = LAYOUTS[layout](in_progress(path.read_text(encoding="utf-8").replace("\r\n", "\n")))
    path.write_bytes(original.encode("utf-8"))
    code, problems = repo.validate()
    assert code == 0, problems  # the layout is a valid record to begin with
    for status, by, at in MOVES:
        proc = sb("status", RID, status, "--by", by, "--at", at, "--root", str(repo.root), cwd=repo.root)
        assert proc.returncode == 0, proc.stderr
    after = path.read_bytes().decode("utf-8")
    assert ("\r\n" in after) == ("\r\n" in original) and after.count("\r\n") == after.count("\n") * ("\r\n" in original)
    before_lines, after_lines = original.splitlines(), after.splitlines()
    ops = [op for op in difflib.SequenceMatcher(None, before_lines, after_lines, autojunk=False).get_opcodes()
           if op[0] != "equal"]
    changed = [(tag, before_lines[i1:i2], after_lines[j1:j2]) for tag, i1, i2, j1, j2 in ops]
    assert [c[0] for c in changed] == ["replace", "insert"], changed
    (old_status,), (new_status,) = changed[0][1], changed[0][2]
    assert old_status.startswith("status: in_progress") and new_status.startswith("status: resolved")
    inserted = "\n".join(changed[1][2])
    assert [line.strip().lstrip("- ").strip() for line in changed[1][2] if "at:" in line] == \
        [f"at: '{at}'" for _, _, at in MOVES]
    assert all(f"status: {s}" in inserted for s, _, _ in MOVES)
    # appended right after the last entry that was there, in the same indentation as it
    history_end = next(i for i, line in enumerate(before_lines) if line.startswith("received_at:"))
    assert ops[1][1] == history_end  # right after the last entry, before the next field
    entry_indent = next(line for line in before_lines if line.lstrip().startswith("- at:"))
    assert all(line.startswith(entry_indent[:len(entry_indent) - len(entry_indent.lstrip())] + "- at:")
               for line in changed[1][2] if "at:" in line)
    assert repo.validate()[0] == 0
