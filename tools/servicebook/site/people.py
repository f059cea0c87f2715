"""The people pages (issue #17): workload per owner, each person's queue, satisfaction from the
callbacks, response and resolution times, and the ID/name lookup the search box uses.

Every figure comes from `servicebook.derive` (`workload`, `satisfaction`, `sla.times`), the same
functions `servicebook report workload|satisfaction|times` prints; this module only lays them out,
through the generator of `pages` (its links, names, escaping and labels). ``render(g)`` writes
the pages into ``g.out``.
"""
from __future__ import annotations

import json
from datetime import datetime

from markupsafe import Markup

from servicebook.derive import names
from servicebook.derive import satisfaction
from servicebook.derive import workload
from servicebook.derive.sla import times as times_mod
from servicebook.load.instants import ZONE

from . import charts
from . import pagekeys
from .markup import is_safe_id, md_escape, relurl, served_path, table
from .i18n import fmt_time

INDEX = "people/index.md"
SATISFACTION = "people/satisfaction.md"
TIMES = "people/times.md"
LOOKUP = "assets/servicebook/lookup.json"
LOOKUP_JS = "assets/servicebook/lookup.js"


def page_of(pid: str) -> str:
    return f"people/{pid}.md"


def places(g) -> None:
    """Where each person is shown: their queue page (every person's name links there)."""
    for rec in g.m.by_kind.get("person", []):
        if is_safe_id(rec.id):
            g.where[rec.id] = page_of(rec.id)


def render(g) -> None:
    m = g.m
    loads = workload.workload(m.raw_clocks, g.values().priority)
    index(g, loads)
    by_owner = {w.owner: w for w in loads}
    for rec in m.by_kind.get("person", []):
        if is_safe_id(rec.id):
            person_page(g, rec, by_owner.get(rec.id))
    satisfaction_page(g)
    times_page(g)
    # where every record is shown and the names of customers, people and entries
    g.out.update(g.group("people.lookup", ("customer",), lambda: {LOOKUP: lookup(g)}))
    g.out[LOOKUP_JS] = g.env.loader.get_source(g.env, "lookup.js")[0]  # shipped as written: no template


def index(g, loads) -> None:
    here = INDEX
    rows = [[g.person(here, w.owner) if w.owner else g.t("people.nobody"), w.open, w.cases, w.late, w.at_risk]
            for w in loads]
    g.render(here, "people.md.j2",
             rows=table([g.t("word.person"), g.t("people.col.open"), g.t("people.col.cases"), g.t("people.col.late"),
                         g.t("people.col.at_risk")], rows),
             satisfaction_link=g.link_to(here, g.t("satisfaction.title"), SATISFACTION),
             times_link=g.link_to(here, g.t("times.title"), TIMES))


def when(ts: float | None) -> str:
    """An engine instant (epoch seconds) as the pages show instants (``i18n.fmt_time``)."""
    return fmt_time(datetime.fromtimestamp(ts, ZONE)) if ts is not None else ""


def queue_rows(g, here: str, items) -> list:
    fmt = g.m.sla.format_duration
    rows = []
    for item in items:
        c = item.clock
        if item.standing == workload.LATE:
            standing, figure = g.t("people.standing.late"), f"{g.t('word.late_by')} {fmt(item.late_seconds)}"
            if c.at_least:
                figure = f"{g.t('word.late_by')} ≥ {fmt(item.late_seconds)}"
        elif item.standing == workload.AT_RISK:
            standing, figure = g.t("state.at_risk"), f"{g.t('people.time_left')} {fmt(item.left_seconds)}"
        else:
            standing = g.t(f"state.{c.state}")
            figure = f"{g.t('people.time_left')} {fmt(item.left_seconds)}" if c.deadline is not None else "—"
        title = c.title_zh if g.lang == "zh" and c.title_zh else c.title
        rows.append([g.record_link(here, c.case), title, standing, when(c.deadline), figure,
                     g.customer_cell(here, c.customer)])
    return rows


def person_page(g, rec, load) -> None:
    here = page_of(rec.id)
    key = g.kept(here, pagekeys.person_key, (rec, load))
    if key is True:
        return
    items = load.queue if load else []
    said = g.satisfaction_by_person.get(rec.id)
    g.render(here, "person.md.j2", pid=rec.id, name=names.full_name(g.m.shown(rec.id), g.lang),
             n_open=len(items), n_late=load.late if load else 0, n_at_risk=load.at_risk if load else 0,
             queue=table([g.t("word.record"), g.t("word.clock"), g.t("word.state"), g.t("word.deadline"),
                          g.t("people.col.figure"), g.t("word.customer")], queue_rows(g, here, items)),
             said=satisfied_row(g, said) if said else None,
             index_link=g.link_to(here, g.t("people.title"), INDEX))
    g.keep(here, key)


def satisfied_row(g, s) -> list:
    share = satisfaction.share(s)
    mean = satisfaction.mean(s)
    return [s.answered, s.solved, "—" if share is None else f"{share:g}%", s.rated,
            "—" if mean is None else f"{mean:.2f}", s.visits, s.problems_reported]


def satisfied_head(g, first: str) -> list:
    return [first, g.t("satisfaction.col.answered"), g.t("satisfaction.col.solved"), g.t("satisfaction.col.share"),
            g.t("satisfaction.col.rated"), g.t("satisfaction.col.mean"), g.t("satisfaction.col.visits"),
            g.t("satisfaction.col.problems")]


def satisfaction_page(g) -> None:
    here = SATISFACTION
    found = g.satisfaction_figures
    chart_path = "people/satisfaction-by-month.svg"
    title = g.t("satisfaction.chart")
    chart = Markup("")
    if len(found.by_month) >= 2:  # one month is no time series (a single tick): the table says it
        g.out[chart_path] = charts.compliance_bars(
            [(month, s.solved, s.answered - s.solved, satisfaction.share(s)) for month, s in found.by_month],
            title, g.t("chart.no_data"))
        chart = Markup(f"![{md_escape(title)}]({relurl(here, chart_path)})")
    g.render(here, "satisfaction.md.j2",
             overall=table(satisfied_head(g, g.t("word.item")), [[g.t("word.total")] + satisfied_row(g, found.overall)]),
             by_person=table(satisfied_head(g, g.t("word.person")),
                             [[g.person(here, p) if p else g.t("satisfaction.no_case")] + satisfied_row(g, s)
                              for p, s in found.by_person]),
             by_month=table(satisfied_head(g, g.t("satisfaction.col.month")),
                            [[month] + satisfied_row(g, s) for month, s in found.by_month]),
             chart=chart,
             index_link=g.link_to(here, g.t("people.title"), INDEX))


def times_page(g) -> None:
    here = TIMES
    fmt = g.m.sla.format_duration
    sections = []
    for measure, rows in times_mod.times(g.m.raw_clocks).items():
        heading = g.t(f"times.{measure}")
        chart_path = f"people/times-{measure}.svg"
        g.out[chart_path] = charts.count_columns(
            [(r.month, round(r.median_seconds / 3600, 1)) for r in rows if r.month and r.median_seconds is not None],
            g.t("times.chart", what=heading), g.t("chart.no_data"))
        body = [[r.month or g.t("word.total"), r.count, "—" if r.median_seconds is None else fmt(r.median_seconds),
                 "—" if r.p90_seconds is None else fmt(r.p90_seconds), r.lower_bounds] for r in rows]
        sections.append((heading, ", ".join(times_mod.MEASURES[measure]),
                         Markup(f"![{md_escape(g.t('times.chart', what=heading))}]({relurl(here, chart_path)})"),
                         table([g.t("satisfaction.col.month"), g.t("times.col.count"), g.t("times.col.median"),
                                g.t("times.col.p90"), g.t("times.col.lower")], body)))
    g.render(here, "times.md.j2", sections=sections, index_link=g.link_to(here, g.t("people.title"), INDEX))


def lookup(g) -> str:
    """Every record shown somewhere (cases and the records of their chains, customers, people,
    knowledge-base entries), by ID and name, for the search box (`templates/lookup.js`):
    ``{"label": heading, "pages": [url, ...], "items": [[id, name, page, anchor], ...]}``; ``anchor`` 1: the record's
    own anchor ``#rec-<id>`` on that page. Case pages stay out of the full-text index (their size);
    this list is how they are found by ID. About 40 bytes a record (4 MB at 100,000 records, far
    less compressed), fetched only when the search box is first used."""
    directory_urls = bool(g.o.get("use_directory_urls", True))
    pages: dict[str, int] = {}
    items = []
    for rid, target in sorted(g.where.items()):
        page, _, anchor = target.partition("#")
        n = pages.setdefault(served_path(page, directory_urls), len(pages))
        rec = g.m.records.get(rid)
        name = names.short_name(g.m.shown(rid), g.lang) if rec is not None and rec.kind in ("customer", "person", "kb") else ""
        full = names.full_name(g.m.shown(rid), g.lang) if name else ""
        shown = name if not full or full == name else f"{name} {full}"
        items.append([rid, shown, n, 1 if anchor == f"rec-{rid}" else 0])
    return json.dumps({"label": g.t("lookup.hits"), "pages": list(pages), "items": items}, ensure_ascii=False, separators=(",", ":"))
