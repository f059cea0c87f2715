"""The pre-commit hooks work: `.pre-commit-hooks.yaml` (for other repositories) and this repository's
`.pre-commit-config.yaml` run `servicebook validate` on the record files a commit changes, and
`servicebook forms --check` when schemas or forms change, in a real git repository.

Each hook is run as pre-commit runs it: its `entry` split like a shell word list, the files it is
given (the staged files its `files` pattern selects, or none with `pass_filenames: false`)
appended, from the repository's root, one process (`require_serial`). When the `pre-commit`
program is on PATH, the local configuration is also run by pre-commit itself (`language: system`
needs no network); pre-commit is not a locked dependency, so that part is skipped without it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

RECORD = "records/complaint/2026/CP-20260706-8K3XPJ.yaml"  # a demo complaint taken by phone
BIN = Path(sys.executable).parent  # the environment `make` built: its servicebook


def load_yaml(path: Path):
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def published_hooks() -> dict[str, dict]:
    return {h["id"]: h for h in load_yaml(REPO / ".pre-commit-hooks.yaml")}


def local_hooks() -> dict[str, dict]:
    config = load_yaml(REPO / ".pre-commit-config.yaml")
    [local] = config["repos"]
    assert local["repo"] == "local"
    return {h["id"]: h for h in local["hooks"]}


def git(root: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.com",
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    for folder in ("schemas", "records", ".github"):
        shutil.copytree(REPO / folder, root / folder)
    for name in (".pre-commit-config.yaml", ".pre-commit-hooks.yaml"):
        shutil.copyfile(REPO / name, root / name)
    (root / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    (root / ".gitignore").write_text(".venv\n.cache/\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "records")
    return root


def run_hook(root: Path, hook: dict) -> subprocess.CompletedProcess | None:
    """The hook as pre-commit runs it on what is staged; None when pre-commit would skip it."""
    staged = git(root, "diff", "--cached", "--name-only", "--diff-filter=ACMR").split()
    files = [f for f in staged if re.search(hook["files"], f)]
    if not files:
        return None  # pre-commit skips a hook no staged file matches
    args = shlex.split(hook["entry"]) + (files if hook.get("pass_filenames", True) else [])
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def break_record(root: Path) -> None:
    path = root / RECORD
    path.write_text(path.read_text(encoding="utf-8").replace("channel: phone", "channel: pigeon"),
                    encoding="utf-8")


def test_the_hook_files_say_what_pre_commit_needs():
    for hooks in (published_hooks(), local_hooks()):
        validate, forms = hooks["servicebook-validate"], hooks["servicebook-forms"]
        assert validate["entry"].endswith("servicebook validate") and validate["require_serial"]
        assert re.search(validate["files"], RECORD) and not re.search(validate["files"], "schemas/x.json")
        assert forms["entry"].endswith("servicebook forms --check") and forms["pass_filenames"] is False
    assert {h["language"] for h in published_hooks().values()} == {"python"}  # installs the package
    assert {h["language"] for h in local_hooks().values()} == {"system"}  # make's .venv, no network


@pytest.mark.parametrize("hooks", [published_hooks, local_hooks], ids=["published", "local"])
def test_validate_hook_passes_a_good_change_and_stops_a_bad_one(repo, hooks):
    hook = hooks()["servicebook-validate"]
    path = repo / RECORD
    path.write_text(path.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    git(repo, "add", RECORD)
    done = run_hook(repo, hook)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 record file(s) checked: all valid" in done.stderr
    break_record(repo)
    git(repo, "add", RECORD)
    done = run_hook(repo, hook)
    assert done.returncode == 1
    assert re.search(rf"{re.escape(RECORD)}:\d+:\d+: .*channel", done.stdout), done.stdout


def test_validate_hook_is_skipped_without_record_changes(repo):
    (repo / "README.md").write_text("notes\n", encoding="utf-8")
    git(repo, "add", "README.md")
    assert run_hook(repo, local_hooks()["servicebook-validate"]) is None


def test_forms_hook_stops_a_schema_change_without_its_forms(repo):
    hook = local_hooks()["servicebook-forms"]
    schema = repo / "schemas" / "callback.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"回访记录"', '"客户回访记录"', 1),
                      encoding="utf-8")
    git(repo, "add", "schemas")
    done = run_hook(repo, hook)
    assert done.returncode == 1 and "callback.yml" in done.stdout
    subprocess.run([str(BIN / "servicebook"), "forms", "--root", str(repo)], check=True,
                   capture_output=True)
    git(repo, "add", ".github")
    assert run_hook(repo, hook).returncode == 0


def test_pre_commit_itself_runs_the_local_hooks(repo, tmp_path):
    exe = shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed (not a locked dependency); the hooks are run "
                    "above exactly as it would run them")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    run = [exe, "run", "--config", ".pre-commit-config.yaml", "--files", RECORD]
    done = subprocess.run(run, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout
    assert re.search(r"servicebook validate \(changed records\)\.+Passed", done.stdout)
    break_record(repo)
    done = subprocess.run(run, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and re.search(r"\.+Failed", done.stdout), done.stdout
    assert "channel" in done.stdout
