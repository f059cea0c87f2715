"""One customer value index (issue #14): every place that shows or uses it shows the same figure.

The index is computed in one module, ``servicebook.derive.aftersales.value_index``. Its consumers are
``servicebook report value``, the after-sales value page (``customers/value.md``), each customer
page, and the at-risk ordering of the home page, the SLA page and ``sla --at-risk`` (the higher
customer class first, then the earlier deadline, then the higher value). The site once computed a second figure with a stand-in formula
behind a swallowed ImportError (CU-dongfang-garment: 31.25 in the report, 47.7 on its page).

For every customer of the demo records and of a synthetic repository, the figure of
``servicebook report value --format json`` (the reference) equals the one on the value page and on
the customer page, in both languages (``pages.generate`` in-process); the at-risk queues of the
pages are the SLA engine's queue ordered by that class and figure; and on a real ``mkdocs build --strict`` of
the demo the built customer and value pages carry the same figures. ``servicebook export`` writes
records only, no value: the test holds it to that, so a value column added there must join this
agreement.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import sb
from site_tables import first_table
from servicebook.load import corpus as corpus_mod
from servicebook.write import export
from servicebook.derive.aftersales.value_index import ValueIndex
from servicebook.derive.sla.engine import Engine
from servicebook.derive.sla.reports import at_risk_queue
from servicebook.site import pages
from servicebook.site.pages import HOME_LATE_ROWS
from servicebook.site.i18n import Translator
from servicebook.load.instants import parse_instant

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
# moments with at-risk clocks in both repositories; in the synthetic one two at-risk clocks share
# a deadline and differ in customer value, so the ordering by value is put to the test
AT = {"demo": "2026-11-25T10:00:00+08:00", "synthetic": "2026-11-25T10:00:00+08:00"}
SYNTH_RECORDS, SYNTH_SEED = 300, 1  # a seed whose at-risk queue the value reorders (checked below)
LANGS = ("zh", "en")

ID = r"[A-Z]+-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The `servicebook` command line (in-process, conftest.sb); it must succeed."""
    result = sb(*args, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


class Repo:
    """One repository as every consumer sees it, as of one moment."""

    def __init__(self, name: str, root: Path):
        self.name, self.root, self.at_text = name, root, AT[name]
        self.at = parse_instant(self.at_text)
        self.corpus = corpus_mod.load(root)
        self.customers = sorted(r.id for r in self.corpus.of_kind("customer"))
        report = json.loads(run_cli("report", "value", "--format", "json", "--at", self.at_text,
                                    "--root", str(root)).stdout)
        self.ranked = [(row["customer"], row["index"]) for row in report["ranked"]]
        self.value = dict(self.ranked)          # the reference figure, customer -> index
        self.klass = {row["customer"]: row["class"] for row in report["ranked"]}
        self.classes = [name for _lowest, name in ValueIndex(self.corpus, self.at).classes]  # highest first
        self._pages: dict[str, dict[str, str]] = {}

    def pages(self, lang: str) -> dict[str, str]:
        if lang not in self._pages:
            self._pages[lang] = pages.generate(self.corpus, {"lang": lang, "root": str(self.root), "as_of": self.at})
        return self._pages[lang]

    def priority(self, customer) -> tuple[int, float]:
        """The order source 003 serves in, from the report's figures: class, then the index."""
        if customer not in self.value:
            return len(self.classes), 0.0
        return self.classes.index(self.klass[customer]), -self.value[customer]

    def at_risk_queue(self, priority) -> list:
        return at_risk_queue(Engine(self.corpus).clocks(self.at), priority)


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[str, Repo]:
    if not any((ROOT / "records" / "customer").glob("*.yaml")):
        pytest.skip("no demo records")
    out = tmp_path_factory.mktemp("agreement") / "synthetic"
    run_cli("synth", str(SYNTH_RECORDS), "--out", str(out), "--seed", str(SYNTH_SEED), "--root", str(ROOT))
    return {"demo": Repo("demo", ROOT), "synthetic": Repo("synthetic", out)}


@pytest.fixture(params=("demo", "synthetic"))
def repo(request, repos) -> Repo:
    return repos[request.param]


def number(text: str) -> float:
    """A figure as a page shows it (Markdown/HTML character references undone)."""
    return float(html.unescape(text).strip())


def section(markdown: str, heading: str) -> str:
    """The text under ``## heading`` (or ``## heading (count)``) up to the next heading of level 1 or 2."""
    start = re.search(rf"^## {re.escape(heading)}(?: \(\d+\))?\n", markdown, re.M).start()
    end = re.search(r"^#{1,2} ", markdown[start + 3:], re.M)
    return markdown[start: start + 3 + end.start()] if end else markdown[start:]


def column_ids(table_text: str, column: str) -> list[str]:
    """Record IDs of the column headed `column` of the first table in `table_text`, in row order."""
    ids = []
    for shown in first_table(table_text).column(column):
        m = re.match(rf"({ID})", shown)
        if m:
            ids.append(m.group(1))
    return ids


# ------------------------------------------------------------------------------------- the report

def test_report_scores_every_customer(repo):
    assert repo.customers and sorted(repo.value) == repo.customers
    assert all(isinstance(v, float) and 0 <= v <= 100 for v in repo.value.values())
    if repo.name == "demo":
        assert repo.value["CU-dongfang-garment"] == 31.25       # the example


# ----------------------------------------------------------------------------- the value page

@pytest.mark.parametrize("lang", LANGS)
def test_value_page_shows_the_report_figures_in_its_order(repo, lang):
    ranking = first_table(repo.pages(lang)["customers/value.md"])
    rows = []
    for row, links in zip(ranking.rows, ranking.links):
        if re.fullmatch(r"\d+", row[0]):  # a ranked customer, linked to its page (served at customers/<id>/)
            rows.append((re.fullmatch(rf"\.\./({ID})/", links[1][0]).group(1), float(row[2])))
    assert rows == repo.ranked


# -------------------------------------------------------------------------- the customer pages

@pytest.mark.parametrize("lang", LANGS)
def test_customer_page_shows_the_report_figure(repo, lang):
    out, heading = repo.pages(lang), Translator(lang)("customer.value_index")
    shown = {}
    for cid in repo.customers:
        text = section(out[f"customers/{cid}.md"], heading)
        m = re.search(r"\*\*([^*]+?) / 100\*\*", text)
        assert m, f"{cid}: no value index on its page:\n{text}"
        shown[cid] = number(m.group(1))
    assert shown == repo.value


# ------------------------------------------------------------------------------ at-risk ordering

@pytest.mark.parametrize("lang", LANGS)
def test_at_risk_queues_are_ordered_by_the_report_figure(repo, lang):
    expected = [c.case for c in repo.at_risk_queue(repo.priority)]
    assert expected, "no clock at risk at this moment: the ordering would go untested"
    t, out = Translator(lang), repo.pages(lang)
    assert column_ids(section(out["sla/index.md"], t("sla.at_risk")), t("word.record")) == expected[:500]
    assert column_ids(section(out["index.md"], t("sla.at_risk")), t("word.record")) == expected[:HOME_LATE_ROWS]
    cli = json.loads(run_cli("sla", "--at-risk", "--format", "json", "--at", repo.at_text, "--root", str(repo.root)).stdout)
    assert [c["case"] for c in cli["clocks"]] == expected  # servicebook sla --at-risk: the same order


def test_the_value_decides_the_order_of_the_at_risk_queue(repos):
    """Not vacuous: in the synthetic repository the queue by class and value is not the queue by
    deadline alone; the higher class comes first, then the earlier deadline, then the higher
    figure."""
    repo = repos["synthetic"]
    queue = repo.at_risk_queue(repo.priority)
    assert [c.case for c in queue] != [c.case for c in repo.at_risk_queue(None)]
    keys = [(repo.priority(c.customer)[0], c.deadline, repo.priority(c.customer)[1]) for c in queue]
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) > 1, "one class only: the class would go untested"


# ------------------------------------------------------------------------------------- export

def test_export_carries_records_only(repo, tmp_path):
    """Export writes the records as they are; it derives no value index (if it ever does, that
    column joins the agreement above)."""
    out = tmp_path / "records.jsonl"
    run_cli("export", "--format", "jsonl", "--out", str(out), "--root", str(repo.root))
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    customers = {r["id"]: r for r in rows if r["kind"] == "customer"}
    assert sorted(customers) == repo.customers
    for cid, row in customers.items():
        assert set(row) == set(export.COMMON) | {"data"}
        assert row["data"] == repo.corpus.records[cid].data


# ------------------------------------------------------------------------- a real built site

@pytest.fixture(scope="module")
def built_demo(tmp_path_factory, repos):
    site = tmp_path_factory.mktemp("agreement-site") / "site"
    result = subprocess.run([MKDOCS, "build", "--strict", "-d", str(site)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SERVICEBOOK_AS_OF": AT["demo"]},
                            timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    return site


@pytest.mark.parametrize("lang", LANGS)
def test_built_demo_pages_show_the_report_figures(built_demo, repos, lang):
    repo = repos["demo"]
    base = built_demo if lang == "zh" else built_demo / "en"
    shown = {}
    for cid in repo.customers:
        page = html.unescape((base / "customers" / cid / "index.html").read_text(encoding="utf-8"))
        found = re.findall(r"<strong>([0-9.]+) / 100</strong>", page)
        assert len(found) == 1, f"{cid}: {found}"
        shown[cid] = float(found[0])
    assert shown == repo.value
    page = html.unescape((base / "customers" / "value" / "index.html").read_text(encoding="utf-8"))
    rows = re.findall(rf'<td><a href="\.\./({ID})/">[^<]*</a></td>\s*<td>([0-9.]+)</td>', page)
    assert [(cid, float(v)) for cid, v in rows] == repo.ranked
