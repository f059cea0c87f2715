"""CODEOWNERS generated from the person records and .github/review-rules.yaml."""

from __future__ import annotations

import json

import pytest
import yaml

from approvals_repo import MAIN, STAFF, Repo
from servicebook.derive.audit import codeowners
from servicebook.cli import main
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.records import KINDS


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path / "repo")


def owners_of(text: str) -> dict[str, list[str]]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            pattern, *handles = line.split()
            out[pattern] = handles
    return out


def test_every_approval_step_goes_to_its_role(repo):
    table = owners_of(codeowners.generate(repo.path))
    assert table["/records/feasibility/"] == ["@chenjing-bc"]
    assert table["/records/contract/"] == ["@chenjing-bc"]
    assert table["/records/solution/"] == ["@lina-bc", "@zhaolei-bc"]
    assert "@zhoumin-bc" in table["/records/complaint/"]
    assert table["/records/person/"] == ["@hefang-bc"]
    assert table["*"] == ["@hefang-bc"]
    lifecycle = Lifecycle.load(MAIN / "schemas")
    handles = {pid: "@" + v[3] for pid, v in STAFF.items()}
    for kind in lifecycle.kinds():
        for status in lifecycle.statuses(kind).values():
            if status.approval:
                holders = {handles[p] for p, v in STAFF.items() if status.approval in v[4]}
                if holders:
                    assert holders <= set(table[f"/records/{kind}/"]), (kind, status.name)


def test_no_holder_leaves_a_comment_not_an_empty_rule(repo):
    text = codeowners.generate(repo.path)
    assert "# /records/repair/ (no active person" in text  # nobody holds technical_manager here


def test_inactive_people_are_left_out(repo):
    data = yaml.safe_load((repo.path / "records/person/P-chen-jing.yaml").read_text())
    data["active"] = False
    repo.write("records/person/P-chen-jing.yaml", data)
    assert "/records/feasibility/" not in owners_of(codeowners.generate(repo.path))


def test_command_writes_and_checks(repo, capsys):
    root = ["--root", str(repo.path)]
    assert main(["codeowners", "--check", *root]) == 1
    assert main(["codeowners", *root]) == 0
    assert (repo.path / ".github/CODEOWNERS").read_text() == codeowners.generate(repo.path)
    assert main(["codeowners", "--check", *root]) == 0
    # a new sales manager makes the committed file stale
    repo.write("records/person/P-new.yaml", {
        "id": "P-new", "schema_version": 1, "name": "新人", "roles": ["sales_manager"],
        "department": "sales", "git": {"name": "New", "email": "new@example.com", "handle": "new-bc"}})
    capsys.readouterr()
    assert main(["codeowners", "--check", *root]) == 1
    assert "+/records/solution/ @lina-bc @new-bc @zhaolei-bc" in capsys.readouterr().out


def test_bad_rules_file_is_a_usage_error(repo, capsys):
    (repo.path / ".github/review-rules.yaml").write_text("reviewrs: {}\n")
    assert main(["codeowners", "--root", str(repo.path)]) == 2
    assert "unknown keys" in capsys.readouterr().err


def test_rules_name_known_roles_kinds_and_statuses():
    rules = codeowners.Rules.load(MAIN)
    roles = set(json.loads((MAIN / "schemas/common.schema.json").read_text())
                ["definitions"]["role"]["enum"])
    lifecycle = Lifecycle.load(MAIN / "schemas")
    named = rules.default + [r for v in rules.paths.values() for r in v]
    named += [r for v in rules.reviewers.values() for r in v]
    named += [r for v in rules.edit.values() for r in v]
    named += [r for k in rules.parts.values() for v in k.values() for r in v]
    for kind, table in rules.transitions.items():
        assert lifecycle.has(kind), kind
        assert set(table) == set(lifecycle.statuses(kind)), kind  # every status listed
        named += [r for v in table.values() for r in v]
    assert set(named) - {"*"} <= roles
    assert set(rules.reviewers) <= set(KINDS)


def test_demo_people_of_the_project(tmp_path):
    """The committed CODEOWNERS matches the project's own person records."""
    ok, expected = codeowners.check(MAIN)
    assert ok, "run `servicebook codeowners` and commit .github/CODEOWNERS"
