"""A broken record never crashes a command (issue #18, item 3).

Every command (the list of tests/test_cli_smoke.py, which holds it to the parser's) runs on a real
git repository whose records are broken in one way each time: the complaint, contract and repair
the commands target and the person, customer and product they name, committed broken so history, audit and the pull-request check see them too.
Each run must end with a documented exit code, never a traceback or an "internal error"; a command
that needs a record it cannot read says so with validate's own located problem
(``file:line:column: error [rule]``, exit 1); and no record file changes, byte for byte (a status
move on a record that reads but is wrong elsewhere may go ahead, as the write guard allows, when
validate then finds nothing new in it).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, make_repo, sb
from test_cli_smoke import SMOKE

AT = "2026-12-10T10:00:00+08:00"
COMPLAINT, CONTRACT, REPAIR = "CP-20261202-7KQ2XM", "CT-20261116-8FJ4QE", "RP-20261208-5NC8WT"
BROKEN = {COMPLAINT: "records/complaint/2026/CP-20261202-7KQ2XM.yaml",
          CONTRACT: "records/contract/2026/CT-20261116-8FJ4QE.yaml",
          REPAIR: "records/repair/2026/RP-20261208-5NC8WT.yaml"}


def _customer(text: bytes, value: bytes) -> bytes:
    out, n = re.subn(rb"(?m)^customer: .*$", b"customer: " + value, text, count=1)
    assert n == 1
    return out


# sort -> how a good record file is broken, and whether the records' reader can still read it
SORTS = {
    "duplicate-key": (lambda t: t + b"customer: CU-hengda-logistics\n", False),
    "syntax-error": (lambda t: t + b"remarks: [never closed\n", False),
    "tab-indent": (lambda t: t.replace(b"\n  ", b"\n\t", 1), False),
    "not-utf8": (lambda t: t.decode("utf-8").encode("gbk"), False),
    "empty-file": (lambda t: b"", False),
    "top-level-list": (lambda t: b"- " + t.replace(b"\n", b"\n  ").rstrip() + b"\n", False),
    "wrong-type": (lambda t: _customer(t, b"[CU-hengda-logistics]"), True),
    "missing-required": (lambda t: re.sub(rb"(?m)^created_at: .*\n", b"", t, count=1), True),
    "unknown-reference": (lambda t: _customer(t, b"CU-nobody-here"), True),
}

# Reference data the targets name (a person, their customer, their product), broken the same way
# where it can be (it has no customer to mistype or point elsewhere: its name is mistyped or gone).
REFERENCE = ("records/person/P-zhou-min.yaml", "records/customer/CU-jianghai-construction.yaml",
             "records/product/PD-dx-gw32.yaml")
REFERENCE_SORTS = {"wrong-type": lambda t: re.sub(rb"(?m)^name: (.*)$", rb"name: [\1]", t, count=1),
                   "missing-required": lambda t: re.sub(rb"(?m)^name: .*\n", b"", t, count=1),
                   "unknown-reference": lambda t: t}

# command -> its arguments here, and the record it needs (None: it reads them all)
RUNS = {
    "validate": ([], None),
    "show": ([COMPLAINT], COMPLAINT),
    "sla": (["--at", AT], None),
    "audit": ([COMPLAINT], None),
    "check-pr": (["--base", "HEAD~1", "--head", "HEAD"], None),
    "codeowners": (["--stdout"], None),
    "forms": (["--check"], None),
    "delivery": ([CONTRACT, "--at", AT], CONTRACT),
    "export": (["--format", "jsonl", "--out", "{tmp}/export.jsonl"], None),
    "kb": (["match", REPAIR], REPAIR),
    "migrate": (["--check"], None),
    "new": (["complaint", "--by", "P-sun-li", "--at", AT, "--print"], None),
    "pipeline": (["--at", AT], None),
    "report": (["technicians", "--at", AT], None),
    "status": ([COMPLAINT, "reopened", "--by", "P-sun-li", "--at", AT], COMPLAINT),
    "synth": (["300", "--out", "{tmp}/synthetic"], None),
    "site": (["generate", "--out", "{tmp}/pages", "--at", AT], None),
    "approve": ([COMPLAINT, "--by", "P-li-na", "--print-trailers"], COMPLAINT),
}
EXTRA = {"kb promote": (["kb", "promote", REPAIR, "--at", AT, "--print"], REPAIR),
         "audit --deep": (["audit", "--deep", "--format", "json"], None),
         "report delays": (["report", "delays", "--at", AT], None)}

GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="Sun Li", GIT_AUTHOR_EMAIL="sun.li@example.com",
               GIT_COMMITTER_NAME="Sun Li", GIT_COMMITTER_EMAIL="sun.li@example.com",
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")


def test_every_command_is_run_here():
    assert set(RUNS) == set(SMOKE)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=GIT_ENV, check=True, capture_output=True)


@pytest.fixture(scope="module")
def broken_repos(tmp_path_factory):
    """sort -> (a git repository: the fixture records committed good, then the targets and the
    reference data they name committed broken; validate's located problems in it)."""
    made = {}
    for sort, (breaks, _reads) in SORTS.items():
        root = make_repo(tmp_path_factory.mktemp(sort) / "repo").root
        shutil.copytree(REPO / ".github", root / ".github")
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "records")
        for rel in BROKEN.values():
            (root / rel).write_bytes(breaks((root / rel).read_bytes()))
        for rel in REFERENCE:
            (root / rel).write_bytes(REFERENCE_SORTS.get(sort, breaks)((root / rel).read_bytes()))
        _git(root, "commit", "-q", "-am", f"break them: {sort}")
        made[sort] = root, _validate_lines(root)
    return made


def _validate_lines(root: Path) -> dict[str, list[str]]:
    """validate's text output, by file: the located problems as validate prints them."""
    out: dict[str, list[str]] = {}
    for line in sb("validate", "--root", root, cwd=root).stdout.splitlines():
        if re.match(r"^records/\S+:\d+:\d+: error \[", line):
            out.setdefault(line.split(":", 1)[0], []).append(line)
    return out


def _records(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "records").rglob("*.yaml"))}


CASES = [(sort, name) for sort in SORTS for name in [*RUNS, *EXTRA]]


@pytest.mark.parametrize("sort,name", CASES, ids=[f"{s}-{n.replace(' ', '_')}" for s, n in CASES])
def test_a_broken_record_is_explained_never_crashes_and_is_left_as_it_is(broken_repos, tmp_path, sort, name):
    root = tmp_path / "repo"
    shutil.copytree(broken_repos[sort][0], root)
    args, needs = RUNS[name] if name in RUNS else EXTRA[name]
    argv = [name.split()[0], *args] if name in RUNS else list(args)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    reads = SORTS[sort][1]
    expected = broken_repos[sort][1]
    before = _records(root)

    proc = sb(*argv, "--root", root, cwd=root)  # asserts: no traceback, no "internal error"

    said = proc.stdout + proc.stderr
    assert "Traceback" not in said and "internal error" not in said
    after = _records(root)
    created = set(after) - set(before)
    assert not set(before) - set(after)  # nothing removed
    writes_to = {"new": "records/complaint/", "kb promote": "records/kb/"}.get(name)  # their new file
    assert all(writes_to and rel.startswith(writes_to) for rel in created), created
    if needs and not reads:  # the record it needs cannot be read: validate's problem, exit 1
        assert proc.returncode == 1, said
        mine = expected[BROKEN[needs]]
        assert mine and all(line in proc.stderr for line in mine), (mine, proc.stderr)
    else:
        assert proc.returncode in ({0, 1, 2} if name == "approve" else {0, 1}), said
        if proc.returncode == 2:  # approve: the complaint is in no approval status
            assert proc.stderr.startswith("servicebook: ") and "approval status" in proc.stderr
    changed = {rel for rel in before if before[rel] != after[rel]}
    if name == "status" and reads:  # a writer leaves only what validate accepts: put it right first
        assert proc.returncode == 1, said
        mine = expected[BROKEN[COMPLAINT]]
        assert mine and all(line in proc.stderr for line in mine), (mine, proc.stderr)
    assert changed == set(), changed


@pytest.mark.parametrize("sort", [s for s, (_b, reads) in SORTS.items() if not reads])
def test_validate_locates_each_unreadable_sort(broken_repos, sort):
    """The repositories above are broken as meant: validate names each broken file."""
    lines = broken_repos[sort][1]
    assert all(lines.get(rel) for rel in (*BROKEN.values(), *REFERENCE)), lines
