"""A broken ``schemas/lifecycle.yaml`` stops every command and the site with one clear line that
names the file (and the line and column YAML gives), never an "internal error", and changes no
record: every command needs the statuses, so none can go on without them."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_repo, sb, with_site

MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
CASE = "CP-20261202-7KQ2XM"

# how the file is broken -> the pattern of what follows "servicebook: schemas/lifecycle.yaml"
BREAKS = {
    "syntax": (lambda t: t + b"bad: [never closed\n", r":\d+:\d+: not readable YAML: "),
    "unknown status": (lambda t: t.replace(b"initial: [open]", b"initial: [opn]", 1),
                       r": lifecycle of \w+ names unknown statuses \['opn'\]"),
    "not a mapping": (lambda t: b"- open\n- closed\n", r": each kind must be a mapping"),
    "a status not a mapping": (lambda t: b"complaint:\n  initial: [open]\n  statuses:\n    open: 3\n", r": \S"),
    "not UTF-8": (lambda t: b"# \xff\xfe\n" + t, r": not UTF-8 text"),
    "missing": (lambda t: None, r": cannot read: "),
}
COMMANDS = [["validate"], ["show", CASE], ["report", "cases"], ["sla"],
            ["status", CASE, "closed", "--by", "P-sun-li"]]


def _break(root: Path, how: str) -> None:
    path = root / "schemas" / "lifecycle.yaml"
    text = BREAKS[how][0](path.read_bytes())
    if text is None:
        path.unlink()
    else:
        path.write_bytes(text)


@pytest.mark.parametrize("how", BREAKS)
def test_every_command_names_the_file(tmp_path, how):
    repo = make_repo(tmp_path / "repo")
    _break(repo.root, how)
    before = repo.snapshot()
    for args in COMMANDS:
        proc = sb(*args, "--root", str(repo.root), cwd=repo.root)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        first = proc.stderr.strip().splitlines()[0]
        assert re.match("servicebook: schemas/lifecycle.yaml" + BREAKS[how][1], first), (args, proc.stderr)
        assert "internal error" not in proc.stderr
    assert repo.snapshot() == before


def test_the_site_build_stops_with_the_same_line(tmp_path):
    root = with_site(make_repo(tmp_path / "repo").root)
    _break(root, "syntax")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SERVICEBOOK_AS_OF": "2026-12-10T10:00:00+08:00"}
    proc = subprocess.run([MKDOCS, "build", "--strict"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    lines = [n for n in output.splitlines() if "schemas/lifecycle.yaml:" in n]
    assert lines and re.match(r"servicebook: schemas/lifecycle.yaml:\d+:\d+: not readable YAML", lines[0]), output[-2000:]
    assert "Traceback" not in output
