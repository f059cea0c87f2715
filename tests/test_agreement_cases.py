"""One count of open cases (issue #14): the built home page, ``servicebook report cases`` and a count
made from ``servicebook export`` agree, on the demo records and on a synthetic repository, at a fixed
moment before their last records (so that "as of" is put to the test: later records do not exist
yet, later history entries have not happened).

The rule is ``servicebook.derive.cases``: a case is a chain of case records (a deal from its survey,
a service case from its complaint or a repair reported without one, any other chain); it is open
while one of its deciding records is in a status the lifecycle does not mark final, and in a deal
only the furthest stage decides. Knowledge-base entries, parts and reference data are no cases: the
home page once counted 25 knowledge-base entries among the demo's "open case chains" (53).

The three sources:

* the home page of a real ``mkdocs build --strict`` (both languages): the key figures (open case
  chains, of which deals / service / other, open records) and the table of open records by form and
  status, read from the HTML;
* ``servicebook report cases --format json`` (in-process, ``conftest.sb``);
* the JSON Lines and the SQLite file of ``servicebook export``, counted here from the exported rows
  with the lifecycle's final statuses (``schemas/lifecycle.yaml`` read as YAML), the case kinds of
  ``load.records.KINDS`` and the chain references of ``load.index.CHAIN_PARENT``: an independent
  reading of the same records.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from conftest import sb, with_site
from site_tables import page_tables, tables_by_heading
from servicebook.check.approvals import judge
from servicebook.derive import cases
from servicebook.load import corpus as corpus_mod
from servicebook.load.index import CHAIN_PARENT
from servicebook.load.instants import instant_or_none, parse_instant
from servicebook.load.records import KINDS
from servicebook.site.i18n import Translator

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))
# before the last records of both repositories: some records and history entries lie after it
AT = "2026-11-20T10:00:00+08:00"
SYNTH_RECORDS, SYNTH_SEED = 300, 7
LANGS = ("zh", "en")
DEAL_STAGES = ("survey", "appraisal", "solution", "feasibility", "contract", "installation")
# what the demo shows at AT (read off the pages once; the agreement below is what matters)
DEMO = {"open": 18, "by_kind": {"deal": 11, "service": 7, "other": 0}, "open_records": 28}


@dataclass(frozen=True)
class Figures:
    """The open-case figures one source gives."""
    open: int
    by_kind: dict                      # deal | service | other -> open chains
    by_status: dict                    # (record kind, status) -> open records

    @property
    def open_records(self) -> int:
        return sum(self.by_status.values())

    def per_kind(self) -> dict:
        """Open records per record kind."""
        out: Counter = Counter()
        for (kind, _), n in self.by_status.items():
            out[kind] += n
        return dict(out)


def run_cli(*args: str) -> str:
    result = sb(*args, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


# ------------------------------------------------------------------------------- the report

def from_report(root: Path) -> tuple[Figures, dict]:
    data = json.loads(run_cli("report", "cases", "--format", "json", "--at", AT, "--root", str(root)))
    figures = Figures(data["open"], {k["kind"]: k["open"] for k in data["by_kind"]},
                      {(r["kind"], r["status"]): r["count"] for r in data["by_status"]})
    return figures, data


# ------------------------------------------------------------------------------- the export

@dataclass
class Row:
    id: str
    kind: str
    data: dict
    created_at: str | None
    history: list                      # [(at text, status)] in record order


def from_export(rows: list[Row], root: Path) -> Figures:
    """Open cases counted from exported rows, without servicebook's derivations."""
    at = parse_instant(AT)
    spec = yaml.safe_load((root / "schemas" / "lifecycle.yaml").read_text(encoding="utf-8"))
    final = {kind: {s for s, attrs in body["statuses"].items() if attrs.get("final")} for kind, body in spec.items()}
    case_kinds = {k for k, spec in KINDS.items() if spec.case}
    by_id = {r.id: r for r in rows}

    def dated(row):
        return [(instant_or_none(t), s) for t, s in row.history if instant_or_none(t) is not None]

    def created(row):
        made = instant_or_none(row.created_at)
        return made if made is not None else (dated(row)[0][0] if dated(row) else None)

    def status(row):
        past = [s for t, s in dated(row) if t <= at]
        return past[-1] if past else (dated(row)[0][1] if dated(row) else row.data.get("status"))

    def parent(row):
        for name in CHAIN_PARENT.get(row.kind, ()):
            target = row.data.get(name)
            if isinstance(target, str) and target in by_id and target != row.id:
                return target
        return None

    def root_of(rid):
        seen = {rid}
        while (up := parent(by_id[rid])) is not None and up not in seen:
            rid = up
            seen.add(rid)
        return rid

    chains: dict[str, list[Row]] = {}
    for row in rows:
        made = created(row)
        if row.kind in case_kinds and (made is None or made <= at):
            chains.setdefault(root_of(row.id), []).append(row)
    n_open, by_kind, by_status = 0, Counter(), Counter()
    for root_id, members in chains.items():
        assert root_id in {m.id for m in members}, f"{root_id}: a chain whose root did not exist yet"
        root_kind = by_id[root_id].kind
        kind = "deal" if root_kind == "survey" else "service" if root_kind in ("complaint", "repair") else "other"
        if kind == "deal":
            furthest = max((DEAL_STAGES.index(m.kind) for m in members if m.kind in DEAL_STAGES), default=-1)
            members = [m for m in members if m.kind not in DEAL_STAGES or DEAL_STAGES.index(m.kind) >= furthest]
        still = [(m.kind, status(m)) for m in members if m.kind in spec and status(m) not in final[m.kind]]
        if still:
            n_open += 1
            by_kind[kind] += 1
            by_status.update(still)
    return Figures(n_open, {k: by_kind[k] for k in ("deal", "service", "other")}, dict(by_status))


def export_rows(root: Path, tmp: Path, fmt: str) -> list[Row]:
    out = tmp / f"records.{fmt}"
    run_cli("export", "--format", fmt, "--out", str(out), "--root", str(root))
    if fmt == "jsonl":
        rows = []
        for line in out.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            hist = r["data"].get("history") or []
            rows.append(Row(r["id"], r["kind"], r["data"], r["created_at"],
                            [(h.get("at"), h.get("status")) for h in hist if isinstance(h, dict)]))
        return rows
    con = sqlite3.connect(out)
    try:
        hist: dict[str, list] = {}
        for rid, at, status in con.execute("SELECT record_id, at, status FROM history ORDER BY record_id, seq"):
            hist.setdefault(rid, []).append((at, status))
        return [Row(rid, kind, json.loads(data), created_at, hist.get(rid, []))
                for rid, kind, data, created_at in con.execute("SELECT id, kind, data, created_at FROM records")]
    finally:
        con.close()


# ------------------------------------------------------------------------------- the built site

class Tables(HTMLParser):
    """Every table of a page's article as rows of cell texts, under the heading before it."""

    def __init__(self):
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.heading, self._in_h, self._cell, self._row = "", False, None, None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2"):
            self._in_h, self.heading = True, ""
        elif tag == "table":
            self.tables.append((self.heading.strip(), []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("h1", "h2"):
            self._in_h = False
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_h:
            self.heading += data
        if self._cell is not None:
            self._cell += data


def from_home(page: Path, lang: str, c) -> tuple[Figures, int]:
    """The figures of a built home page: the key figures and the open records by form and status
    (labels back to kinds and statuses through the schemas' and the lifecycle's labels)."""
    parser = Tables()
    parser.feed(page.read_text(encoding="utf-8"))   # (character references undone by the parser)
    t = Translator(lang)
    (stats_rows,) = [rows for _, rows in parser.tables if rows and rows[0][0] == t("home.stats")]
    stats = {row[0]: int(row[1]) for row in stats_rows[1:]}
    by_form = [rows for heading, rows in parser.tables if heading.startswith(t("home.open_by_kind"))]
    assert len(by_form) <= 1, by_form
    kinds = {c.schemas.title(k, (), lang): k for k in c.lifecycle.kinds()}
    assert len(kinds) == len(c.lifecycle.kinds()), "two forms share a label: the page is ambiguous"
    by_status = {}
    for kind_label, status_label, count in (by_form[0][1:] if by_form else []):
        kind = kinds[kind_label]
        statuses = {c.lifecycle.label(kind, s, lang): s for s in c.lifecycle.statuses(kind)}
        by_status[(kind, statuses[status_label])] = int(count)
    return Figures(stats[t("home.open_chains")], {k: stats[t(f"home.open.{k}")] for k in ("deal", "service", "other")},
                   by_status), stats[t("home.open_records")]


def build(root: Path, site: Path) -> Path:
    result = subprocess.run([MKDOCS, "build", "--strict", "-d", str(site)], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SERVICEBOOK_AS_OF": AT}, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    return site


# ------------------------------------------------------------------------------- repositories

class Repo:
    def __init__(self, name: str, root: Path, tmp: Path):
        self.name, self.root, self.tmp = name, root, tmp
        self.corpus = corpus_mod.load(root)
        self.report, self.report_data = from_report(root)
        self._site: Path | None = None

    def site(self) -> Path:
        if self._site is None:
            self._site = build(self.root, self.tmp / "site")
        return self._site


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[str, Repo]:
    if not any((ROOT / "records" / "customer").glob("*.yaml")):
        pytest.skip("no demo records")
    base = tmp_path_factory.mktemp("agreement-cases")
    synthetic = base / "synthetic"
    run_cli("synth", str(SYNTH_RECORDS), "--out", str(synthetic), "--seed", str(SYNTH_SEED), "--root", str(ROOT))
    with_site(synthetic)  # the site of the synthetic repository: the demo's configuration
    (base / "demo").mkdir()
    (base / "synth").mkdir()
    return {"demo": Repo("demo", ROOT, base / "demo"), "synthetic": Repo("synthetic", synthetic, base / "synth")}


@pytest.fixture(params=("demo", "synthetic"))
def repo(request, repos) -> Repo:
    return repos[request.param]


# ------------------------------------------------------------------------------- the tests

def test_the_moment_is_before_the_last_records(repo):
    """Not vacuous: at AT some records do not exist yet and some statuses are not yet the last."""
    at = parse_instant(AT)
    later = [r for r in repo.corpus.records.values() if r.kind in cases.CASE_KINDS and not cases.exists(r, at)]
    moved = [r for r in repo.corpus.records.values() if r.kind in cases.CASE_KINDS and cases.exists(r, at)
             and cases.status_at(r, at) != r.data.get("status")]
    assert later and moved
    assert repo.report.open > 0 and repo.report.by_kind["deal"] > 0 and repo.report.by_kind["service"] > 0


def test_demo_figures():
    """The demo's count at AT, as the report gives it (the other sources must agree with it)."""
    figures, _ = from_report(ROOT)
    assert {"open": figures.open, "by_kind": figures.by_kind, "open_records": figures.open_records} == DEMO


@pytest.mark.parametrize("fmt", ("jsonl", "sqlite"))
def test_export_count_agrees_with_the_report(repo, fmt, tmp_path):
    counted = from_export(export_rows(repo.root, tmp_path, fmt), repo.root)
    assert counted == repo.report
    assert counted.per_kind() == repo.report.per_kind()


def test_report_list_is_the_count(repo):
    """The list of open cases of ``--format json`` is the count: one entry per open case, of its
    kind, holding exactly the open records counted by status."""
    data = repo.report_data
    assert len(data["cases"]) == data["open"]
    assert Counter(case["kind"] for case in data["cases"]) == Counter({k: n for k, n in repo.report.by_kind.items() if n})
    listed = Counter((r["kind"], r["status"]) for case in data["cases"] for r in case["open_records"])
    assert listed == Counter(repo.report.by_status)
    assert data["open_records"] == repo.report.open_records


@pytest.mark.parametrize("lang", LANGS)
def test_built_home_page_agrees_with_the_report(repo, lang):
    base = repo.site() if lang == "zh" else repo.site() / "en"
    shown, open_records = from_home(base / "index.html", lang, repo.corpus)
    assert shown == repo.report
    assert shown.per_kind() == repo.report.per_kind()
    assert open_records == repo.report.open_records


def test_only_case_kinds_are_cases(repos):
    """Knowledge-base entries, parts and reference data are never counted, whatever their status: the
    demo has knowledge-base entries in statuses its lifecycle does not mark final, and none is in a
    chain, in the count or in the report's list."""
    at = parse_instant(AT)
    for repo in repos.values():
        c = repo.corpus
        chains = cases.chains(c, at)
        members = {r.kind for ch in chains for r in ch.records}
        assert members <= set(cases.CASE_KINDS)
        assert not members & {"kb", "part", "person", "customer", "product", "policy", "calendar"}
        assert {row[0] for row in repo.report.by_status} <= set(cases.CASE_KINDS)
        listed = {r["id"] for case in repo.report_data["cases"] for r in case["open_records"]}
        assert all(c.records[rid].kind in cases.CASE_KINDS for rid in listed)
    demo = repos["demo"].corpus
    open_kb = [r for r in demo.of_kind("kb") if cases.exists(r, at) and cases.is_open_status(demo.lifecycle, "kb", cases.status_at(r, at))]
    assert len(open_kb) >= 20, "the demo's knowledge base should show what is not counted"


@pytest.mark.parametrize("lang", LANGS)
def test_customer_pages_count_the_same_open_cases(repo, lang):
    """The customers index and each customer page show, per customer, the open cases of the report's
    list (pages generated in-process, as of the same moment)."""
    import re

    from servicebook.site import pages

    out = pages.generate(repo.corpus, {"lang": lang, "root": str(repo.root), "as_of": parse_instant(AT)})
    expected = Counter(case["customer"] for case in repo.report_data["cases"] if case["customer"])
    # customer | tier | open | all | ... (satisfaction columns follow)
    rows = [(m.group(1), row[2], row[3]) for _, tbl in page_tables(out["customers/index.md"])
            for row, links in zip(tbl.rows, tbl.links)
            if links[0] and (m := re.fullmatch(r".*\((CU-[^)]+)\)", row[0]))]  # a linked customer
    assert rows and {cid: int(n) for cid, n, _ in rows if int(n)} == dict(expected)
    heading = Translator(lang)("customer.open_cases")
    for cid, n, _ in rows:
        page = out[f"customers/{cid}.md"]
        assert f"## {heading}\n" in page
        shown = [m.group(1) for row in tables_by_heading(page).get(heading, [])
                 if (m := re.match(r"((?:SV|CP|RP|[A-Z]+)-[A-Za-z0-9-]+)", row[0]))]
        listed = sorted(case["root"] for case in repo.report_data["cases"] if case["customer"] == cid)
        assert sorted(shown) == listed, cid



def _approvers_as_judged(corpus, at) -> None:
    lifecycle = corpus.lifecycle
    people = sorted((p for p in corpus.of_kind("person") if p.data.get("active") is not False), key=lambda p: p.id)
    for w in cases.waiting_approval(corpus, at):
        filler = w.record.data.get("filled_by")
        expected = tuple(p.id for p in people if any(
            not judge(lifecycle, w.record.kind, nxt, p.id, cases.person_roles(p), (filler,)) for nxt, _ in w.steps))
        assert w.approvers == expected, w.record.id


def test_who_may_approve_is_judged_for_every_waiting_record(repo):
    """The approvals page's "who may approve" (asked once per kind, steps and filler) names exactly
    the active people `check.approvals.judge` lets take a step of each waiting record."""
    _approvers_as_judged(repo.corpus, parse_instant(AT))


def test_a_filler_who_holds_the_role_may_not_approve_their_own_record(demo):
    """Two records of a kind wait for the same step; one was filled by a holder of the approving
    role: that person may approve the other record, not their own (four eyes)."""
    at = parse_instant(AT)
    corpus = corpus_mod.load(demo)
    w = cases.waiting_approval(corpus, at)[0]
    holder = next(p.id for p in sorted(corpus.of_kind("person"), key=lambda p: p.id)
                  if w.steps[0][1] in cases.person_roles(p) and p.data.get("active") is not False)
    original = demo / w.record.file
    text = original.read_text(encoding="utf-8")
    twin_id = w.record.id.rsplit("-", 1)[0] + "-TW1N00"
    for old, new in ((f"id: {w.record.id}\n", f"id: {twin_id}\n"),
                     (f"filled_by: {w.record.data['filled_by']}\n", f"filled_by: {holder}\n")):
        assert old in text
        text = text.replace(old, new, 1)
    original.with_name(f"{twin_id}.yaml").write_text(text, encoding="utf-8")
    corpus = corpus_mod.load(demo)
    _approvers_as_judged(corpus, at)
    waiting = {x.record.id: x for x in cases.waiting_approval(corpus, at)}
    assert holder in waiting[w.record.id].approvers and holder not in waiting[twin_id].approvers
