"""Every file of tests/corpus/broken/ is refused with exactly its rules, at its line; nothing crashes, nothing
is changed, and one run reports every broken file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import make_repo
from servicebook.derive import checked

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "broken-expected.yaml").read_text(encoding="utf-8"))
TARGET = "records/complaint/2026/CP-20261202-7KQ2XM.yaml"


def test_corpus_and_expectations_match():
    assert sorted(EXPECTED) == sorted(p.stem for p in (CORPUS / "broken").glob("*.yaml"))
    assert len(EXPECTED) >= 50


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_record_is_refused_with_rule_and_line(tmp_path, case):
    repo = make_repo(tmp_path / "repo")
    shutil.copyfile(CORPUS / "broken" / f"{case}.yaml", repo.root / TARGET)
    before = repo.snapshot()
    result = checked.load(repo.root)
    mine = [p for p in result.problems if p.file == TARGET]
    expected = EXPECTED[case]
    assert {p.rule for p in mine} == set(expected["rules"]), mine
    if "line" in expected:
        assert expected["line"] in {p.line for p in mine if p.rule == expected["rules"][0]}, mine
    assert [p for p in result.problems if p.file != TARGET] == []  # nothing else is blamed
    assert all(p.line >= 1 and p.column >= 1 for p in mine)
    assert repo.snapshot() == before


def test_one_run_reports_every_broken_file(tmp_path):
    repo = make_repo(tmp_path / "repo")
    folder = repo.root / "records" / "complaint" / "2026"
    for src in (CORPUS / "broken").glob("*.yaml"):
        shutil.copyfile(src, folder / f"CP-20261202-{src.stem.upper().replace('-', '')[:20]}.yaml")
    before = repo.snapshot()
    code, problems = repo.validate()  # the real command; asserts no traceback
    assert code == 1
    reported = {Path(p["file"]).stem for p in problems}
    assert len([s for s in reported if s.startswith("CP-20261202-") and s != "CP-20261202-7KQ2XM"]) \
        == len(EXPECTED)
    assert repo.snapshot() == before
