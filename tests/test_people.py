"""Workload per person, each person's queue, satisfaction and response/resolution times (issue #17):
the site's people pages and `servicebook report workload|satisfaction|times` show the same numbers
for the same moment, on the demo records and on a synthetic repository.

The pages are the generator's own Markdown (`site.pages.generate`, what `mkdocs build` renders);
the numbers are read back from their tables and set against the command's JSON, run through the
real command line (`conftest.sb`). Both come from `servicebook.derive` (`workload`, `satisfaction`,
`sla.times`); this test proves nothing is computed twice differently.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from conftest import sb, sb_process
from site_tables import docs_path, hrefs, page_tables, tables_by_heading
from servicebook.derive.sla import times
from servicebook.derive.sla.reports import format_duration
from servicebook.load import corpus as corpus_mod
from servicebook.site import pages
from servicebook.site.i18n import t

ROOT = Path(__file__).resolve().parents[1]
AT = "2026-11-20T10:00:00+08:00"   # before the last records: later records do not exist yet
SYNTH_RECORDS, SYNTH_SEED = 300, 11


def tables(md: str) -> dict[str, list[list[str]]]:
    """The body rows of every table, under the `##` heading above it ('' before the first)."""
    return tables_by_heading(md)


def by_id(rows, rid) -> list[str]:
    found = [r for r in rows if r[0] == rid or r[0].endswith(f"({rid})")]
    assert len(found) == 1, (rid, rows)
    return found[0]


def report(root: Path, topic: str, lang: str) -> dict:
    done = sb("report", topic, "--at", AT, "--format", "json", "--lang", lang, "--root", str(root), cwd=root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Repo:
    def __init__(self, root: Path, lang: str):
        self.root, self.lang = root, lang
        self.site = pages.generate(corpus_mod.load(root), {"as_of": AT, "lang": lang, "root": str(root)})


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    synthetic = tmp_path_factory.mktemp("people") / "synthetic"
    done = sb("synth", str(SYNTH_RECORDS), "--out", str(synthetic), "--seed", str(SYNTH_SEED), "--root", str(ROOT), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return {"demo": Repo(ROOT, "zh"), "synthetic": Repo(synthetic, "en")}


@pytest.fixture(params=("demo", "synthetic"))
def repo(request, repos) -> Repo:
    return repos[request.param]


def figure(item: dict, lang: str) -> str:
    """How a queue row says how late, or the time left (the page's words)."""
    if item["standing"] == "late":
        return f"{t('word.late_by', lang)} {format_duration(item['late_seconds'])}"
    if item["deadline"] is None:
        return "—"
    return f"{t('people.time_left', lang)} {format_duration(item['left_seconds'])}"


def test_workload_and_queues_agree(repo):
    data = report(repo.root, "workload", repo.lang)
    owners = [w for w in data["owners"] if w["owner"]]
    assert sum(w["late"] for w in owners) > 0 and sum(w["open"] for w in owners) > sum(w["late"] for w in owners)
    index = tables(repo.site["people/index.md"])[""]
    assert len(index) == len(data["owners"])
    for w in owners:
        assert by_id(index, w["owner"])[1:] == [str(w["open"]), str(w["cases"]), str(w["late"]), str(w["at_risk"])]
        page = repo.site[f"people/{w['owner']}.md"]
        rows = next(iter(tables(page).values()))
        assert [(r[0], r[4]) for r in rows] == [(i["case"], figure(i, repo.lang)) for i in w["queue"]]
        # the order to work them: late, then at risk, then the rest
        standings = [i["standing"] for i in w["queue"]]
        assert standings == sorted(standings, key=["late", "at_risk", "open"].index)
        late = [i["late_seconds"] for i in w["queue"] if i["standing"] == "late"]
        assert late == sorted(late, reverse=True)
    assert t("word.as_of", repo.lang, at="2026-11-20 10:00") in repo.site["people/index.md"]


def satisfied(s: dict) -> list[str]:
    return [str(s["answered"]), str(s["solved"]), "—" if s["solved_share"] is None else f"{s['solved_share']:g}%",
            str(s["rated"]), "—" if s["mean"] is None else f"{s['mean']:.2f}", str(s["visits"]),
            str(s["problems_reported"])]


def test_satisfaction_agrees(repo):
    data = report(repo.root, "satisfaction", repo.lang)
    assert data["overall"]["answered"] > 0 and data["by_person"] and data["by_month"]
    page = tables(repo.site["people/satisfaction.md"])
    overall, by_month, by_person = (page[""], page[t("satisfaction.by_month", repo.lang)],
                                    page[t("satisfaction.by_person", repo.lang)])
    assert overall[0][1:] == satisfied(data["overall"])
    assert [[m["month"], *satisfied(m)] for m in data["by_month"]] == by_month
    for p in data["by_person"]:
        row = by_id(by_person, p["person"]) if p["person"] else by_person[-1]
        assert row[1:] == satisfied(p)
    # the person's own page says the same
    for p in data["by_person"]:
        if p["person"] and p["answered"]:
            s = satisfied(p)
            assert t("person.satisfaction", repo.lang, answered=s[0], solved=s[1], share=s[2], rated=s[3], mean=s[4]) \
                in html.unescape(repo.site[f"people/{p['person']}.md"])
    # the sum over months is the whole
    assert sum(m["answered"] for m in data["by_month"]) == data["overall"]["answered"]


def test_times_agree(repo):
    data = report(repo.root, "times", repo.lang)
    page = tables(repo.site["people/times.md"])
    for measure, rows in data["months"].items():
        assert rows[-1]["month"] is None and rows[-1]["count"] == sum(r["count"] for r in rows[:-1])
        assert rows[-1]["count"] > 0, measure
        shown = page[t(f"times.{measure}", repo.lang)]
        assert shown == [[r["month"] or t("word.total", repo.lang), str(r["count"]),
                          "—" if r["median_seconds"] is None else format_duration(r["median_seconds"]),
                          "—" if r["p90_seconds"] is None else format_duration(r["p90_seconds"]),
                          str(r["lower_bounds"])] for r in rows]
    assert "svg" in repo.site["people/times-response.svg"][:200]


def test_the_customer_list_shows_satisfaction(repos):
    """The list promised satisfaction and showed none: each customer's callbacks now, as on its page."""
    repo = repos["demo"]
    rows = tables(repo.site["customers/index.md"])[""]
    row = by_id(rows, "CU-shuncheng-concrete")
    assert row[-2:] == ["100% (5/5)", "4.60"]
    assert "**" in repo.site["customers/CU-shuncheng-concrete.md"]


def test_every_person_name_links_to_their_queue(repos):
    """Names in tables of every section (SLA, cases, inspections, technicians, pipeline, delivery,
    knowledge base) link to the person's queue page, and every such link reaches a generated page."""
    site = repos["demo"].site

    def person_links(path: str) -> list[str]:
        return [h for h in hrefs(site[path]) if "people/P-" in h]

    sla = page_tables(site["sla/index.md"])
    assert any(re.fullmatch(r".+ \(P-[a-z-]+\)", row[0]) and any("people/P-" in h for h in links[0])
               for _, tbl in sla for row, links in zip(tbl.rows, tbl.links))
    # the SLA compliance per person too (its chart keeps the plain name): a linked name, then figures
    per_person = next(tbl for _, tbl in sla if tbl.head[0] == t("sla.by_person", "zh"))
    assert any(re.fullmatch(r"\d+", row[1]) and re.fullmatch(r"\d+", row[2]) and row[3].endswith("%")
               and len(links[0]) == 1 and re.fullmatch(r"\.\./people/P-[a-z-]+/", links[0][0])
               for row, links in zip(per_person.rows, per_person.links))
    case = next(path for path in site if path.startswith("cases/RP-") and person_links(path))
    assert case
    for page in ("inspections/index.md", "technicians/index.md", "pipeline/index.md", "kb/index.md"):
        assert person_links(page), page
    assert any(person_links(path) for path in site if path.startswith("delivery/CT-"))
    for path in site:
        if path.endswith(".md"):
            for target in person_links(path):
                assert docs_path(path, target, site) is not None, (path, target)
    assert set(p for p in site if p.startswith("people/P-")) == \
        {f"people/{r.id}.md" for r in corpus_mod.load(ROOT).of_kind("person")}


def test_lookup_finds_every_case_and_customer(repos):
    repo = repos["demo"]
    data = json.loads(repo.site["assets/servicebook/lookup.json"])
    found = {item[0]: (item[1], data["pages"][item[2]] + (f"#rec-{item[0]}" if item[3] else "")) for item in data["items"]}
    case_pages = [p for p in repo.site if re.fullmatch(r"cases/[A-Z]{2}-\d{8}-[A-Z0-9]+\.md", p)]
    assert case_pages
    for path in case_pages:
        rid = path[len("cases/"):-3]
        assert found[rid][1] == f"cases/{rid}/#rec-{rid}"
    name, url = found["CU-shuncheng-concrete"]
    assert "顺成商砼" in name and url == "customers/CU-shuncheng-concrete/"
    assert found["P-chu-tianyu"] == ("褚天宇", "people/P-chu-tianyu/")


@pytest.mark.parametrize("values, median, p90", [
    ([], None, None), ([7.0], 7.0, 7.0), ([float(v) for v in range(10, 0, -1)], 5.0, 9.0),
    ([1.0, 2.0, 3.0, 100.0], 2.0, 100.0)])
def test_percentiles_are_nearest_rank(values, median, p90):
    assert times.percentile(values, 50) == median and times.percentile(values, 90) == p90


@pytest.mark.parametrize("topic", ["workload", "satisfaction", "times"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_commands_run_as_installed(mini, topic, lang):
    """A smoke run of each new topic through the console command, in a process of its own, on the
    small fixture repository: text in both languages and JSON."""
    text = sb_process("report", topic, "--at", AT, "--lang", lang, cwd=mini.root)
    assert text.returncode == 0, text.stderr
    first = {"workload": "report.workload.summary", "satisfaction": "report.satisfaction.summary",
             "times": "report.times.summary"}[topic]
    assert text.stdout.splitlines()[0] == t(first, lang, at=AT)
    data = json.loads(sb_process("report", topic, "--at", AT, "--format", "json", cwd=mini.root).stdout)
    assert data["at"] == AT
