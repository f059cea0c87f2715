"""Lint of .github/: the workflows and issue forms against GitHub's schemas (SchemaStore's copies
vendored by the check-jsonschema package), shell syntax of every `run:` script, and the script
injection rule of actionlint (no untrusted `${{ github.event.* }}` pasted into a script).

actionlint itself is run when an `actionlint` executable is on PATH; its Python wrapper cannot be
installed here (its build downloads the binary).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from servicebook import yamlload
from servicebook.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
FORMS = sorted((ROOT / ".github" / "ISSUE_TEMPLATE").glob("*.yml"))
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# contexts an outsider controls: actionlint's "untrusted inputs"
UNTRUSTED = re.compile(r"github\.(event\.(issue|pull_request|comment|review|review_comment|"
                       r"head_commit|commits|pages|discussion)|head_ref)")


def load(path: Path):
    return yamlload.parse(path.read_bytes())  # keeps `on:` a key, not True


def vendored_schema(name: str) -> dict:
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (test extra)")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / f"{name}.json").read_text(encoding="utf-8"))


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"pull-request.yml", "main.yml", "daily.yml", "complaint-intake.yml",
            "approval-merge.yml"} <= names


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
        assert 'python-version: "3.11"' in text and "pip install -e ." in text
    for where, step in steps(wf):
        if "uses" in step:
            assert re.match(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+$", step["uses"]), where


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
    from servicebook.records import KINDS

    from servicebook.codeowners import Rules

    folder = ROOT / ".github" / "PULL_REQUEST_TEMPLATE"
    names = {p.stem for p in folder.glob("*.md")}
    assert names <= set(KINDS)
    assert set(Rules.load(ROOT).reviewers) <= names  # every kind with reviewers has a checklist
    for p in folder.glob("*.md"):
        assert "- [ ]" in p.read_text(encoding="utf-8"), p.name
