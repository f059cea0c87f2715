"""A status change keeps the file's own layout (issue #18, item 1): whatever indentation, quote
style, comments, blank lines, long lines, flow lists or line ends a record was written with, the
diff of N status changes is the status line and the new history entries, appended after the last
one -- the promise that a change reads as a one-line diff in review.

The layouts are the fixture complaint CP-20261202-7KQ2XM (moved back to `in_progress`) rewritten
the ways records are found in the wild."""
from __future__ import annotations

import difflib
import io
import re
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from conftest import make_repo, sb

RID = "CP-20261202-7KQ2XM"
ENTRY = re.compile(r"^\s*-\s+at:\s*(.*)$")  # the first line of a history entry
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
    assert_one_line_and_appended(original, path.read_bytes().decode("utf-8"), MOVES, "in_progress")
    assert repo.validate()[0] == 0


def assert_one_line_and_appended(original: str, after: str, moves, first: str) -> None:
    """The diff of ``moves`` on ``original`` is the status line and the entries appended after
    the last history entry, in its indentation; line ends kept."""
    assert ("\r\n" in after) == ("\r\n" in original) and after.count("\r\n") == after.count("\n") * ("\r\n" in original)
    before_lines, after_lines = original.splitlines(), after.splitlines()
    ops = [op for op in difflib.SequenceMatcher(None, before_lines, after_lines, autojunk=False).get_opcodes()
           if op[0] != "equal"]
    changed = [(tag, before_lines[i1:i2], after_lines[j1:j2]) for tag, i1, i2, j1, j2 in ops]
    if moves[-1][0] == first:  # back where it started: the status line is as it was
        assert [c[0] for c in changed] == ["insert"], changed
        changed, ops = [None, *changed], [None, *ops]
    else:
        assert [c[0] for c in changed] == ["replace", "insert"], changed
        (old_status,), (new_status,) = changed[0][1], changed[0][2]
        assert old_status.startswith(f"status: {first}") and new_status.startswith(f"status: {moves[-1][0]}")
    inserted = "\n".join(changed[1][2])
    assert [ENTRY.match(line).group(1) for line in changed[1][2] if ENTRY.match(line)] == \
        [f"'{at}'" for _, _, at in moves]
    assert all(f"status: {s}" in inserted for s, _, _ in moves)
    # appended right after the last entry that was there, in the same indentation as it
    last_entry = max(i for i, line in enumerate(before_lines) if ENTRY.match(line))
    history_end = next((i for i in range(last_entry + 1, len(before_lines))
                        if not before_lines[i].startswith(" ")), len(before_lines))
    assert ops[1][1] == history_end  # right after the last entry, before the next field
    dash = ENTRY.match(before_lines[last_entry]).group(0).split("at:")[0]
    assert all(line.startswith(dash + "at:") for line in changed[1][2] if ENTRY.match(line))


# -- the same promise as a property: any mix of the layouts above, any number of legal moves ------

def layout(text: str, mapping: int, indented: bool, crlf: bool, comments: bool, blank: bool,
           history_last: bool, double_quotes: bool) -> str:
    text = reindent(text, mapping, mapping + 2 if indented else mapping, mapping if indented else 0)
    if double_quotes:
        text = text.replace("'", '"')
    if history_last:  # the history block moved to the end of the file
        head, rest = text.split("history:\n", 1)
        lines = rest.split("\n")
        n = next(i for i, line in enumerate(lines) if line and not line.startswith((" ", "-")))
        text = head + "\n".join(lines[n:]).rstrip("\n") + "\nhistory:\n" + "\n".join(lines[:n]).rstrip("\n") + "\n"
    if comments:
        text = text.replace("history:\n", "# 流转记录(只追加)\nhistory:  # append only\n", 1).replace(
            "\nchannel:", "\n# 受理渠道\nchannel:", 1)
    if blank:
        text = text.replace("\nchannel:", "\n\nchannel:", 1).replace("history:", "\nhistory:", 1)
    return text.replace("\n", "\r\n") if crlf else text


NEXT = {"in_progress": ["waiting_customer", "resolved"], "waiting_customer": ["in_progress", "resolved"],
        "resolved": ["in_progress"]}


@st.composite
def moves(draw):
    out, status, minute = [], "in_progress", 0
    for _ in range(draw(st.integers(1, 5))):
        status = draw(st.sampled_from(NEXT[status]))
        minute += draw(st.integers(1, 600))
        at = datetime.fromisoformat("2026-12-02T10:00:00+08:00") + timedelta(minutes=minute)
        out.append((status, "P-wang-qiang", at.isoformat()))
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mapping=st.sampled_from([2, 4]), indented=st.booleans(), crlf=st.booleans(),
       comments=st.booleans(), blank=st.booleans(), history_last=st.booleans(),
       double_quotes=st.booleans(), steps=moves())
def test_any_layout_any_moves(tmp_path_factory, mapping, indented, crlf, comments, blank,
                              history_last, double_quotes, steps):
    repo = make_repo(tmp_path_factory.mktemp("layout") / "repo")
    path = repo.path(RID)
    original = layout(in_progress(path.read_text(encoding="utf-8")), mapping, indented, crlf,
                      comments, blank, history_last, double_quotes)
    path.write_bytes(original.encode("utf-8"))
    for status, by, at in steps:
        proc = sb("status", RID, status, "--by", by, "--at", at, "--root", str(repo.root), cwd=repo.root)
        assert proc.returncode == 0, proc.stderr
    assert_one_line_and_appended(original, path.read_bytes().decode("utf-8"), steps, "in_progress")
