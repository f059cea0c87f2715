"""Every command once as a real process (`python -m servicebook`, the console script's path), on a
real git repository: it starts, answers and exits with a documented code, never a traceback. The
other tests call the same commands in-process through `cli.main` (conftest.sb), which is faster."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO, make_repo, sb_process
from servicebook import cli

AT = "2026-12-10T10:00:00+08:00"
# command -> (arguments, exit codes it may give on the fixture: 0 done, 1 findings, 2 refused)
SMOKE = {
    "validate": ([], {0, 1}),
    "show": (["CP-20261202-7KQ2XM", "--format", "json"], {0}),
    "sla": (["--at", AT, "--format", "json"], {0, 1}),
    "audit": (["CP-20261202-7KQ2XM"], {0, 1}),
    "check-pr": (["--base", "HEAD", "--head", "HEAD"], {0}),
    "codeowners": (["--stdout"], {0}),
    "forms": (["--check"], {0}),
    "delivery": (["CT-20261116-8FJ4QE", "--at", AT, "--format", "json"], {0, 1}),
    "export": (["--format", "jsonl", "--out", "export.jsonl"], {0}),
    "kb": (["match", "RP-20261208-5NC8WT", "--format", "json"], {0, 1}),  # 1: no entry matches
    "migrate": (["--check"], {0}),
    "new": (["complaint", "--by", "P-sun-li", "--at", AT, "--print"], {0}),
    "pipeline": (["--at", AT, "--format", "json"], {0, 1}),
    "report": (["technicians", "--at", AT, "--format", "json"], {0, 1}),
    "status": (["CP-20261202-7KQ2XM", "reopened", "--by", "P-sun-li", "--at", AT], {0}),
    "synth": (["100", "--out", "synthetic"], {0}),
    "site": (["generate", "--out", "pages", "--at", AT], {0}),
    "approve": (["SO-20261104-2HVN6P", "--by", "P-li-na", "--print-trailers"], {0, 1, 2}),
}


def commands() -> set[str]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_every_command_has_a_smoke_run():
    assert set(SMOKE) == commands()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = make_repo(tmp_path_factory.mktemp("smoke") / "repo").root
    shutil.copytree(REPO / ".github", root / ".github")
    env = dict(os.environ, GIT_AUTHOR_NAME="Sun Li", GIT_AUTHOR_EMAIL="sun.li@example.com",
               GIT_COMMITTER_NAME="Sun Li", GIT_COMMITTER_EMAIL="sun.li@example.com",
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "records"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


@pytest.mark.parametrize("command", sorted(SMOKE))
def test_command_runs_as_a_process(repo, command):
    args, codes = SMOKE[command]
    proc = sb_process(command, *args, "--root", str(repo), cwd=repo)
    assert proc.returncode in codes, (proc.returncode, proc.stdout[-500:], proc.stderr[-500:])
    assert "internal error" not in proc.stderr
    if proc.returncode == 2:
        assert proc.stderr.startswith("servicebook: "), proc.stderr  # refused, with the reason
    else:
        assert proc.stdout.strip() or command in ("status", "migrate", "export", "synth", "check-pr")
    if "--format" in args and args[args.index("--format") + 1] == "json":
        json.loads(proc.stdout)


def test_a_command_group_without_its_action_is_a_usage_error(repo):
    proc = sb_process("kb", cwd=repo)
    assert proc.returncode == 2 and "required: ACTION" in proc.stderr, proc.stderr
