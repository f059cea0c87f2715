"""The built site reads in one language per page, and its charts read at both widths (issue #17).

Two real `mkdocs build --strict` runs, both languages each: the demo repository as of a fixed
instant, and the small git repository of tests/site_fixtures.py, whose history carries audit
findings (an approval missing, a change after an approval), so their wording is checked too.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from servicebook.load import corpus as corpus_mod
from site_fixtures import AS_OF as FIXTURE_AS_OF, make_git_repo
from site_language import foreign_words, record_texts, site_pages
from site_svg import problems as svg_problems, svgs

REPO = Path(__file__).resolve().parents[1]
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
DEMO_AS_OF = "2026-12-01T10:00:00+08:00"


def build(root: Path, dest: Path, as_of: str) -> Path:
    env = {**os.environ, "SERVICEBOOK_AS_OF": as_of, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([MKDOCS, "build", "--strict", "-d", str(dest)], cwd=root, env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    return dest


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """(name, site, records' own texts) of the two built sites."""
    fixture = make_git_repo(tmp_path_factory.mktemp("audited") / "repo")
    out = []
    for name, root, as_of in (("demo", REPO, DEMO_AS_OF), ("audited", fixture, FIXTURE_AS_OF)):
        site = build(root, tmp_path_factory.mktemp(name) / "site", as_of)
        out.append((name, site, record_texts(corpus_mod.load(root))))
    return out


def _foreign(site: Path, data, lang: str) -> list[str]:
    found = []
    for path in site_pages(site, lang):
        rel = path.relative_to(site)
        # the form reference shows each field's Chinese and English label side by side on purpose
        # (a record is written in either); its role keys are code (values as written), so checked
        labels = "forms" not in rel.parts
        found += [f"{rel}: {w}" for w in foreign_words(path, lang, data, labels=labels)]
    return found


@pytest.mark.parametrize("lang", ("zh", "en"))
def test_each_page_speaks_the_language_of_its_site(sites, lang):
    """No catalogue label of the other language and no raw role key (`cs_manager`) on a page:
    labels from the catalogue, audit findings worded from their rule and parameters, roles by
    their labels. Record free text is data and is not judged."""
    found = []
    for _name, site, data in sites:
        found += _foreign(site, data, lang)
    assert not found, f"{len(found)} foreign words, e.g.:\n" + "\n".join(found[:25])


def test_the_audit_findings_are_on_the_pages_checked(sites):
    """Not vacuous: the audited fixture's findings are on its approvals page in both languages,
    worded in each (the role by its label, never its key)."""
    _, site, _ = next(s for s in sites if s[0] == "audited")
    zh = (site / "approvals/pending/index.html").read_text(encoding="utf-8")
    en = (site / "en/approvals/pending/index.html").read_text(encoding="utf-8")
    assert "审批后被修改" in zh and "没有总经理的重新审批" in zh, "the finding is not worded in Chinese"
    assert "without a new approval by the General manager" in en
    assert "general_manager" not in zh and "general_manager" not in en


def test_every_chart_keeps_its_text_inside_and_labels_its_time_axis(sites):
    """Every SVG either site emits (chart files and inline charts, both languages): no text runs
    outside the drawing (width estimated per character, CJK wide), every time axis has at least
    two labelled ticks."""
    found, charts = [], 0
    for name, site, _ in sites:
        for where, svg in svgs(site):
            charts += 1
            found += [f"{name}: {p}" for p in svg_problems(where, svg)]
    assert charts >= 10, "too few charts to judge"
    assert not found, "\n".join(found[:25])
