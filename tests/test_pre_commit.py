"""The pre-commit hooks work: `.pre-commit-hooks.yaml` (for other repositories) and this repository's
`.pre-commit-config.yaml` run `servicebook validate` over the whole corpus on every commit (a
broken record, `.yaml` or `.yml`, a schema change that breaks records and a deleted record others
name all fail it), and `servicebook forms --check` when schemas or forms change, in a real git
repository.

Each hook is run as pre-commit runs it: its `entry` split like a shell word list, the files it is
given (the staged files its `files` pattern selects, deletions never among them, or none with
`pass_filenames: false`) appended, from the repository's root, one process (`require_serial`);
skipped when no staged file matches, unless `always_run`. Then pre-commit itself (a locked test
dependency) is installed as the repository's git hook and `git commit` runs the local hooks
(`language: system`: no network, no environment to build).
"""

from __future__ import annotations

import json
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
RECORD_YML = RECORD.removesuffix(".yaml") + ".yml"  # the loader reads both
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


STAGED = "--diff-filter=ACMRTUXB"  # what pre-commit hands its hooks: never a deleted file


def run_hook(root: Path, hook: dict) -> subprocess.CompletedProcess | None:
    """The hook as pre-commit runs it on what is staged; None when pre-commit would skip it."""
    staged = git(root, "diff", "--cached", "--name-only", STAGED).split()
    files = [f for f in staged if re.search(hook["files"], f)]
    if not files and not hook.get("always_run"):
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
        assert validate["pass_filenames"] is False and validate["always_run"] is True
        for path in (RECORD, RECORD_YML, "schemas/complaint.schema.json"):
            assert re.search(validate["files"], path), path
        assert forms["entry"].endswith("servicebook forms --check") and forms["pass_filenames"] is False
    assert {h["language"] for h in published_hooks().values()} == {"python"}  # installs the package
    assert {h["language"] for h in local_hooks().values()} == {"system"}  # make's .venv, no network


ALL_VALID = re.compile(r"\d+ record file\(s\) checked: all valid")


@pytest.mark.parametrize("hooks", [published_hooks, local_hooks], ids=["published", "local"])
def test_validate_hook_passes_a_good_change_and_stops_a_bad_one(repo, hooks):
    hook = hooks()["servicebook-validate"]
    path = repo / RECORD
    path.write_text(path.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    git(repo, "add", RECORD)
    done = run_hook(repo, hook)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ALL_VALID.search(done.stderr), done.stderr
    break_record(repo)
    git(repo, "add", RECORD)
    done = run_hook(repo, hook)
    assert done.returncode == 1
    assert re.search(rf"{re.escape(RECORD)}:\d+:\d+: .*channel", done.stdout), done.stdout


def rename_to_yml_and_break(root: Path) -> str:
    git(root, "mv", RECORD, RECORD_YML)
    path = root / RECORD_YML
    path.write_text(path.read_text(encoding="utf-8").replace("channel: phone", "channel: pigeon"),
                    encoding="utf-8")
    git(root, "add", RECORD_YML)
    return rf"{re.escape(RECORD_YML)}:\d+:\d+: .*channel"


def delete_a_named_customer(root: Path) -> str:
    git(root, "rm", "-q", "records/customer/CU-beiguo-pharma.yaml")  # complaints and more name it
    return r"ref\.missing.*CU-beiguo-pharma|CU-beiguo-pharma.*ref\.missing"


def require_a_new_field(root: Path) -> str:
    path = root / "schemas" / "complaint.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["required"].append("root_cause")  # no complaint record has one
    schema["properties"]["root_cause"] = {"type": "string", "title": "Root cause", "x-title-zh": "根本原因"}
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    git(root, "add", "schemas")
    return r"records/complaint/\S+\.yaml:\d+:\d+: .*root_cause"


BREAKS = {"broken .yml record": rename_to_yml_and_break, "deleted named record": delete_a_named_customer,
          "schema change": require_a_new_field}


@pytest.mark.parametrize("hooks", [published_hooks, local_hooks], ids=["published", "local"])
@pytest.mark.parametrize("breaking", BREAKS.values(), ids=BREAKS.keys())
def test_validate_hook_stops_what_breaks_records_it_was_not_given(repo, hooks, breaking):
    expected = breaking(repo)
    done = run_hook(repo, hooks()["servicebook-validate"])
    assert done is not None and done.returncode == 1, done and done.stdout + done.stderr
    assert re.search(expected, done.stdout), done.stdout


def test_validate_hook_runs_and_passes_on_a_commit_of_no_record(repo):
    (repo / "README.md").write_text("notes\n", encoding="utf-8")
    git(repo, "add", "README.md")
    done = run_hook(repo, local_hooks()["servicebook-validate"])
    assert done.returncode == 0 and ALL_VALID.search(done.stderr), done.stdout + done.stderr


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


def pre_commit_exe() -> str:
    exe = BIN / "pre-commit"
    found = str(exe) if exe.exists() else shutil.which("pre-commit")
    assert found, "pre-commit is missing: it is a test extra (make test installs it from the lock)"
    return found


def test_pre_commit_itself_runs_the_local_hooks_at_commit(repo, tmp_path):
    """`pre-commit install`, then `git commit`: the hooks pass a good commit and refuse each
    breaking one (the commit is not made)."""
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="T",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run([pre_commit_exe(), "install"], cwd=repo, env=env, check=True, capture_output=True)

    def commit() -> subprocess.CompletedProcess:
        return subprocess.run(["git", "commit", "-q", "-m", "change"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=300)

    path = repo / RECORD
    path.write_text(path.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    git(repo, "add", RECORD)
    done = commit()
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"servicebook validate \(all records\)\.+Passed", done.stdout + done.stderr)
    head = git(repo, "rev-parse", "HEAD").strip()
    for name, breaking in BREAKS.items():
        expected = breaking(repo)
        done = commit()
        out = done.stdout + done.stderr
        assert done.returncode == 1 and re.search(r"servicebook validate \(all records\)\.+Failed", out), name
        assert re.search(expected, out), (name, out)
        git(repo, "reset", "-q", "--hard", head)  # the commit was refused: undo the break
    assert git(repo, "rev-list", "--count", "HEAD") == "2\n"
