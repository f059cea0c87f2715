"""No hidden inputs: what a command says depends on the repository it is given and the instant it
is asked about, never on the folder it runs from or on the wall clock inside the library."""
from __future__ import annotations

import inspect
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, sb
from servicebook.derive.sla.engine import Engine, compute
from servicebook.derive.sla.reports import report


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The demo repository with one status renamed in its lifecycle: the complaint's `resolved` is
    `fixed` there, so the complaint SLA policy names a status this repository does not have."""
    root = tmp_path / "clone"
    for folder in ("records", "schemas"):
        shutil.copytree(REPO / folder, root / folder)
    lifecycle = root / "schemas" / "lifecycle.yaml"
    text = lifecycle.read_text(encoding="utf-8")
    start = text.index("\ncomplaint:")
    end = re.compile(r"\n[a-z_-]+:").search(text, start + 1)
    end = end.start() if end else len(text)
    body = text[start:end]
    assert "resolved" in body
    lifecycle.write_text(text[:start] + body.replace("resolved", "fixed") + text[end:], encoding="utf-8")
    return root


def problems(root: Path, cwd: Path) -> list[dict]:
    proc = sb("validate", "--format", "json", "--root", str(root), cwd=cwd)
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def test_validate_gives_the_same_problems_from_any_folder(clone, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    inside = problems(clone, clone)
    for cwd in (elsewhere, REPO):  # an unrelated folder, and another servicebook checkout
        assert problems(clone, cwd) == inside
    # the clone's own lifecycle decides: its policy names a status it no longer has
    policy_problems = [p for p in inside if p["rule"] == "sla.policy" and "SLA-complaint" in p["file"]]
    assert policy_problems and all("resolved" in p["message"] for p in policy_problems), policy_problems


@pytest.mark.parametrize("function", [Engine.clocks, report, compute])
def test_the_sla_library_never_reads_the_clock(function):
    """`at` is required: only the CLI resolves --at (or now), once."""
    at = inspect.signature(function).parameters["at"]
    assert at.default is inspect.Parameter.empty


def test_sla_command_without_at_uses_one_now_and_says_which(tmp_path):
    proc = sb("sla", "--format", "json", "--root", str(REPO), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["as_of"].endswith("+08:00")
