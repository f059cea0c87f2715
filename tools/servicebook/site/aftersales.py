"""After-sales pages of the site: knowledge base, inspections, spare parts, technician appraisal
and staffing, customer value index, feedback to sales and product.

``pages(corpus, lang, at) -> {docs path: markdown}``; ``at`` is the as-of moment every figure is
computed for. Record text goes through ``markup`` (escaped), links are relative to the page.
Where a repair, complaint or customer is shown is the site's business: pass ``where(record_id) ->
docs path (with #anchor) or None``; by default a case record links to its chain page
``cases/<root>.md#rec-<id>`` and a customer to ``customers/<id>.md``, as ``site.pages`` does.

``kb_links(corpus, record_id, lang, here)`` gives the Markdown list of matching KB entries for a
repair or complaint page.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date
from typing import Callable

from markupsafe import Markup

from servicebook.derive.aftersales import feedback as feedback_mod
from servicebook.derive.aftersales import inspections as insp_mod
from servicebook.derive.aftersales import kb as kb_mod
from servicebook.derive.aftersales import parts as parts_mod
from servicebook.derive.aftersales import technicians as tech_mod
from servicebook.derive.aftersales import value_index as value_mod
from servicebook.derive import cases as cases_mod
from servicebook.derive import names, workload
from servicebook.derive.sla.engine import Engine
from servicebook.derive.aftersales.common import as_date, as_datetime, get, get_list, text
from servicebook.load.instants import instant_or_none

from . import i18n
from .markup import href, is_safe_id, link, md_escape, table
from .mask import MaskedCorpus

# Labels of these pages are in catalogue.yaml (`aftersales.*`), through i18n; field, enum and
# status labels come from the schemas and the lifecycle.


class _Page:
    """Helpers bound to one language and the pages' link targets."""

    def __init__(self, corpus, lang: str, at, where: Callable[[str], str | None] | None, directory_urls: bool = True):
        if lang not in ("zh", "en"):
            raise ValueError(f"unsupported site language {lang!r}")
        self.c = corpus
        self.lang = lang
        self.at = as_datetime(at) if at is not None else None  # None: a block that needs no "as of"
        self.day = as_date(at) if at is not None else None
        self._where = where
        self.directory_urls = directory_urls

    def href(self, here: str, target: str) -> str:
        return href(here, target, self.directory_urls)

    def t(self, key: str, **values) -> str:
        return i18n.t(key, self.lang, **values)

    # ---- labels from schemas and lifecycle
    def status(self, kind: str, status) -> str:
        if not isinstance(status, str):
            return ""
        return self.c.lifecycle.label(kind, status, self.lang) or status  # unknown: as it is

    def enum(self, kind: str, path: tuple, value) -> str:
        if not isinstance(value, str):
            return ""
        return self.c.schemas.enum_label(kind, path, value, self.lang) or value  # unknown: as it is

    def category(self, value) -> str:
        return self.enum("kb", ("fault_category",), value)

    # ---- names and links
    def name(self, rid) -> str:
        """The name alone, in a list of names (`names.short_name`); the ID without a name."""
        return names.short_name(names.lookup(self.c.records, rid), self.lang) or (rid if isinstance(rid, str) else "")

    def labelled(self, rid) -> str:
        """``name (ID)`` in a table (`names.short_name`, as on every page and in the commands)."""
        return names.short_label(self.c.records, rid, self.lang)

    def where(self, rid: str) -> str | None:
        if not is_safe_id(rid) or rid not in self.c.records:
            return None
        if self._where is not None:
            return self._where(rid)
        rec = self.c.records[rid]
        if rec.kind == "customer":
            return f"customers/{rid}.md"
        if rec.kind == "kb":
            return f"kb/{rid}.md"
        root = self.c.index.root(rid)
        if not is_safe_id(root) or root not in self.c.records:
            return None
        return f"cases/{root}.md#rec-{rid}"

    def ref(self, here: str, rid, label: str | None = None) -> Markup:
        if not isinstance(rid, str) or not rid:
            return Markup("—")
        target = self.where(rid)
        shown = label if label is not None else rid
        if not target:
            return md_escape(shown)
        return link(shown, self.href(here, target))

    def person(self, pid, here: str | None = None):
        """A person's ``name (ID)``; on page ``here``, linked to their queue page (`site.people`)
        when the site gives one."""
        if not isinstance(pid, str) or not pid:
            return ""
        target = self._where(pid) if here and self._where is not None and is_safe_id(pid) else None
        return link(self.labelled(pid), self.href(here, target)) if target else self.labelled(pid)

    def customer(self, here: str, cid) -> Markup:
        return self.ref(here, cid, self.labelled(cid)) if isinstance(cid, str) else Markup("—")

    def kb_ref(self, here: str, rec) -> Markup:
        return link(text(get(rec.data, "title")) or rec.id, self.href(here, f"kb/{rec.id}.md")) if is_safe_id(rec.id) \
            else md_escape(text(get(rec.data, "title")) or rec.id)

    def reasons(self, m) -> str:
        keys = m.reasons or ["text"]
        return ", ".join(self.t(f"aftersales.reason.{k}") for k in keys)

    def fmt_day(self, d) -> str:
        return d.isoformat() if isinstance(d, date) else ""


# how alike a case's symptom text is to an entry's, in words: the Dice figure means nothing to an
# engineer; at or above MIN_SIMILARITY the text alone would have matched the entry
ALIKE_HIGH = 0.5


def alike(similarity: float) -> str:
    return "high" if similarity >= ALIKE_HIGH else "medium" if similarity >= kb_mod.MIN_SIMILARITY else "low"


def _lines(*blocks) -> str:
    out = []
    for b in blocks:
        if b is None or b == "":
            continue
        out.append(str(b).rstrip("\n"))
    return "\n\n".join(out) + "\n"


def _heading(level: int, value) -> str:
    return "#" * level + " " + str(md_escape(value))


def _numbered(items) -> str:
    return "\n".join(f"{i}. {md_escape(x)}" for i, x in enumerate(items, 1))


# =============================================================================================== KB

def _own_text(corpus):
    """The corpus KB matching reads: the records' own text. Masking is for what a page shows, and
    masking every repair and complaint only to match it cost a masked build of 10k records seconds
    (the case pages and the KB pages match the same text, so they agree)."""
    return corpus.raw if isinstance(corpus, MaskedCorpus) else corpus


def _shown_matches(p: "_Page", found: list) -> list:
    """Matches with their entries as the page shows them (masked on a masked build)."""
    return [replace(m, entry=p.c.records[m.entry.id]) for m in found]


def kb_links(corpus, record_id: str, lang: str, here: str, limit: int = 5,
             where: Callable[[str], str | None] | None = None, directory_urls: bool = True) -> str:
    """Markdown list of the KB entries matching a repair or complaint, for its page ('' when none)."""
    p = _Page(corpus, lang, None, where, directory_urls)
    if record_id not in corpus.records:  # (kb.match raises KeyError for an unknown record)
        return ""
    found = _shown_matches(p, kb_mod.match(_own_text(corpus), record_id, limit=limit))
    if not found:
        return ""
    items = [f"- {p.kb_ref(here, m.entry)} ({md_escape(p.reasons(m))})" for m in found]
    return _heading(3, p.t("aftersales.kb.related")) + "\n\n" + "\n".join(items) + "\n"


def _kb_inputs(p: _Page, matches_of_case: dict[str, list]) -> list:
    """What the knowledge-base pages show of case records, for their group's key
    (`site.pagekeys.group_key`): each case's kind, status, product and matches, and each entry's
    learned-from records' kind, customer and date (a match as shown: its entry, in order, its
    reasons and how alike the texts are, not the exact figure). The entries themselves, the products, parts and
    people are in every key already; masking depends on values the key has too."""
    records = _own_text(p.c).records
    cases = [(cid, records[cid].kind, get(records[cid].data, "status"), get(records[cid].data, "product"),
              [(m.entry.id, tuple(m.reasons), alike(m.similarity)) for m in found])
             for cid, found in matches_of_case.items()]
    behind = [(rec.id, rid, (lambda r: None if r is None else (r.kind, get(r.data, "customer"), get(r.data, "created_at")))(
               records.get(rid))) for rec in p.c.of_kind("kb") for rid in get_list(rec.data, "learned_from")
              if isinstance(rid, str)]
    return [cases, behind]


def _kb_pages(p: _Page, matches_of_case: dict[str, list]) -> dict[str, str]:
    """The knowledge-base pages; ``matches_of_case``: `kb.case_matches` of the records' own text."""
    out: dict[str, str] = {}
    here = "kb/index.md"
    all_entries = kb_mod.entries(p.c, include_drafts=True)
    drafts = [r for r in all_entries if get(r.data, "status") == "draft"]
    blocks = [_heading(1, p.t("aftersales.kb.title")), md_escape(p.t("aftersales.kb.intro"))]
    tree = kb_mod.tree(p.c)
    if not tree:
        blocks.append(md_escape(p.t("aftersales.kb.none")))
    blocks.append(_heading(2, p.t("aftersales.kb.by_product")))
    for product in sorted(tree, key=lambda x: p.name(x)):
        blocks.append(_heading(3, p.labelled(product)))
        rows = []
        for cat in kb_mod.FAULT_CATEGORIES:
            for rec in tree[product].get(cat, []):
                rows.append([p.category(cat), p.kb_ref(here, rec), ", ".join(c for c in get_list(rec.data, "fault_codes") if isinstance(c, str)),
                             text(get(rec.data, "symptom"))])
        blocks.append(table([p.t("aftersales.w.category"), p.t("aftersales.kb.entry"), p.t("aftersales.w.codes"), p.t("aftersales.w.symptom")], rows))
    codes = kb_mod.by_fault_code(p.c)
    if codes:
        blocks.append(_heading(2, p.t("aftersales.kb.by_code")))
        blocks.append(table([p.t("aftersales.w.codes"), p.t("aftersales.w.product"), p.t("aftersales.kb.entry")],
                            [[code, p.labelled(get(rec.data, "product")), p.kb_ref(here, rec)]
                             for code, recs in codes.items() for rec in recs]))
    if drafts:
        blocks.append(_heading(2, p.t("aftersales.kb.drafts")))
        blocks.append(table([p.t("aftersales.kb.entry"), p.t("aftersales.w.product"), p.t("aftersales.w.by"), p.t("aftersales.w.at")],
                            [[p.kb_ref(here, r), p.labelled(get(r.data, "product")), p.person(get(r.data, "filled_by"), here),
                              text(get(r.data, "created_at"))[:10]] for r in drafts]))
    blocks.append(link(p.t("aftersales.kb.cases"), p.href(here, "kb/cases.md")))
    out[here] = _lines(*blocks)

    # which cases match which entries (`kb.case_matches`, once; the entry pages use it too)
    matches_of_case = {cid: _shown_matches(p, found) for cid, found in matches_of_case.items()}
    cases_of_entry = {eid: [(p.c.records[cid], m) for cid, m in found]
                      for eid, found in kb_mod.cases_of_entries(matches_of_case).items()}

    here = "kb/cases.md"
    rows = []
    for rid, found in matches_of_case.items():
        rec = p.c.records[rid]
        rows.append([p.ref(here, rid), p.status(rec.kind, get(rec.data, "status")), p.labelled(get(rec.data, "product")),
                     Markup("<br>").join(Markup(f"{p.kb_ref(here, m.entry)} ({md_escape(p.reasons(m))})") for m in found)
                     if found else Markup("—")])
    out[here] = _lines(_heading(1, p.t("aftersales.kb.cases")), md_escape(p.t("aftersales.kb.cases_intro")),
                       table([p.t("aftersales.w.record"), p.t("aftersales.w.status"), p.t("aftersales.w.product"), p.t("aftersales.kb.related")], rows))

    # part number -> part, once for every entry page (each walked every part: 5 s at 100k records)
    numbers = {get(r.data, "part_number"): r for r in p.c.of_kind("part") if isinstance(get(r.data, "part_number"), str)}
    for rec in all_entries + [r for r in p.c.of_kind("kb") if get(r.data, "status") == "retired"]:
        if is_safe_id(rec.id):
            out[f"kb/{rec.id}.md"] = _kb_entry(p, rec, cases_of_entry.get(rec.id, []), numbers)
    return out


def _kb_entry(p: _Page, rec, cases, numbers: dict) -> str:
    here = f"kb/{rec.id}.md"
    d = rec.data if isinstance(rec.data, dict) else {}

    def part_cell(nums):
        shown = []
        for n in nums if isinstance(nums, list) else []:
            part = numbers.get(n) if isinstance(n, str) else None
            label = f"{n} {text(get(part.data, 'name'))}".strip() if part is not None else n
            shown.append(link(label, p.href(here, f"parts/index.md#part-{part.id}"))
                         if part is not None and is_safe_id(part.id) else md_escape(label))
        return Markup(", ").join(shown) if shown else Markup("—")

    summary = [
        [p.t("aftersales.w.product"), p.labelled(d.get("product"))],
        [p.t("aftersales.w.category"), p.category(d.get("fault_category"))],
        [p.t("aftersales.w.codes"), ", ".join(c for c in get_list(d, "fault_codes") if isinstance(c, str)) or "—"],
        [p.t("aftersales.w.status"), p.status("kb", d.get("status"))],
    ]
    if get_list(d, "also_applies_to"):
        summary.insert(1, [p.t("aftersales.w.also"), ", ".join(p.labelled(x) for x in d["also_applies_to"])])
    causes = [[c.get("cause"), p.enum("kb", ("possible_causes", 0, "type"), c.get("type")), part_cell(c.get("part_numbers"))]
              for c in get_list(d, "possible_causes") if isinstance(c, dict)]
    steps = [[i, s.get("diagnosis"), s.get("action"), s.get("result")]
             for i, s in enumerate((s for s in get_list(d, "procedure") if isinstance(s, dict)), 1)]
    behind = [[p.ref(here, r), p.labelled(get(p.c.records[r].data, "customer")) if r in p.c.records else "",
               text(get(p.c.records[r].data, "created_at"))[:10] if r in p.c.records else ""]
              for r in get_list(d, "learned_from") if isinstance(r, str)]
    matching = [[p.ref(here, case.id), p.status(case.kind, get(case.data, "status")), md_escape(p.reasons(m)),
                 p.t(f"aftersales.kb.alike.{alike(m.similarity)}")] for case, m in cases]
    history = [[i18n.fmt_time(instant_or_none(h.get("at"))) or text(h.get("at")), p.person(h.get("by"), here), p.status("kb", h.get("status")), h.get("note")]
               for h in get_list(d, "history") if isinstance(h, dict)]
    blocks = [
        _heading(1, text(d.get("title")) or rec.id),
        table([p.t("aftersales.kb.entry"), rec.id], summary),
        _heading(2, p.t("aftersales.w.symptom")), md_escape(d.get("symptom")),
        _heading(2, p.t("aftersales.w.causes")), table([p.t("aftersales.w.cause"), p.t("aftersales.w.type"), p.t("aftersales.w.part_number")], causes),
    ]
    if get_list(d, "diagnosis_order"):
        blocks += [_heading(2, p.t("aftersales.w.diagnosis_order")), _numbered(d["diagnosis_order"])]
    blocks += [_heading(2, p.t("aftersales.w.procedure")),
               table([p.t("aftersales.w.step"), p.t("aftersales.w.diagnosis"), p.t("aftersales.w.action"), p.t("aftersales.w.result")], steps)]
    if d.get("precautions"):
        blocks += [_heading(2, p.t("aftersales.w.precautions")), md_escape(d["precautions"])]
    if behind:
        blocks += [_heading(2, p.t("aftersales.kb.behind")), table([p.t("aftersales.w.repair"), p.t("aftersales.w.customer"), p.t("aftersales.w.at")], behind)]
    if matching:
        blocks += [_heading(2, p.t("aftersales.kb.matching")),
                   table([p.t("aftersales.w.record"), p.t("aftersales.w.status"), p.t("aftersales.kb.reasons"), p.t("aftersales.kb.similarity")], matching)]
    if get_list(d, "keywords"):
        blocks += [_heading(2, p.t("aftersales.w.keywords")), md_escape(", ".join(k for k in d["keywords"] if isinstance(k, str)))]
    if d.get("remarks"):
        blocks.append(md_escape(d["remarks"]))
    blocks += [_heading(2, p.t("aftersales.w.history")), table([p.t("aftersales.w.at"), p.t("aftersales.w.by"), p.t("aftersales.w.status"), p.t("aftersales.w.note")], history)]
    return _lines(*blocks)


# ======================================================================================== inspections

def _inspections_page(p: _Page) -> str:
    here = "inspections/index.md"
    states = list(insp_mod.STATES)
    head = [p.t(f"aftersales.state.{s}") for s in states] + [p.t("aftersales.state.late")]

    def counts(rows, label):
        return [[label(r["key"]), *[r[s] for s in states], r["late"]] for r in rows]

    # the SLA engine's schedule (dates, IDs, states), on the records as stored, as the SLA pages
    # compute it; what the page shows of them is looked up in the corpus the page was given
    raw = p.c.raw if isinstance(p.c, MaskedCorpus) else p.c
    computed = insp_mod.schedules(raw, p.at)
    items = insp_mod.schedule(raw, p.at, computed=computed)
    by_station = insp_mod.summary(raw, p.at, "station", items=items)
    by_engineer = insp_mod.summary(raw, p.at, "engineer", items=items)
    first, last = insp_mod.coming_month(p.at)
    plan = insp_mod.station_plan(raw, p.at, items)

    def item_row(i, with_station=False):
        row = [p.ref(here, i.installation), p.customer(here, i.customer), p.labelled(i.product), i.month,
               p.fmt_day(i.due_on), p.person(i.engineer, here), p.t(f"aftersales.state.{i.state}"),
               p.ref(here, i.inspection) if i.inspection else "—"]
        return ([i.station] + row) if with_station else row

    item_head = [p.t("aftersales.w.installation"), p.t("aftersales.w.customer"), p.t("aftersales.w.product"), p.t("aftersales.w.month"), p.t("aftersales.w.due"),
                 p.t("aftersales.w.engineer"), p.t("aftersales.w.state"), p.t("aftersales.w.inspection")]
    blocks = [_heading(1, p.t("aftersales.insp.title")), md_escape(p.t("aftersales.insp.intro", at=p.day.isoformat())),
              _heading(2, p.t("aftersales.insp.by_station")), table([p.t("aftersales.w.station"), *head], counts(by_station, str)),
              _heading(2, p.t("aftersales.insp.by_engineer")), table([p.t("aftersales.w.engineer"), *head], counts(by_engineer, lambda e: p.person(e, here))),
              _heading(2, p.t("aftersales.insp.plan", first=first.isoformat(), last=last.isoformat()))]
    if not plan:
        blocks.append(md_escape(p.t("aftersales.insp.plan_none")))
    for station, its in plan.items():
        blocks += [_heading(3, station or "—"), table(item_head, [item_row(i) for i in its])]
    feed = insp_mod.findings_feed(p.c, p.at)
    if feed["parts"]:
        blocks += [_heading(2, p.t("aftersales.insp.parts")),
                   table([p.t("aftersales.w.part_number"), p.t("aftersales.w.part"), p.t("aftersales.w.count"), p.t("aftersales.w.inspection")],
                         [[n.part_number, p.name(n.part) if n.part else "—", n.quantity,
                           Markup(", ").join(p.ref(here, x) for x in n.inspections)] for n in feed["parts"]])]
    if feed["leads"]:
        blocks += [_heading(2, p.t("aftersales.insp.leads")),
                   table([p.t("aftersales.w.customer"), p.t("aftersales.w.level"), p.t("aftersales.w.product"), p.t("aftersales.w.note"), p.t("aftersales.w.other_equipment"),
                          p.t("aftersales.w.inspection")],
                         [[p.customer(here, l.customer), p.enum("inspection", ("new_purchase_intent", "level"), l.level),
                           ", ".join(p.labelled(x) for x in l.products), l.note, l.other_equipment,
                           p.ref(here, l.inspection)] for l in feed["leads"]])]
    if feed["issues"]:
        blocks += [_heading(2, p.t("aftersales.insp.issues")),
                   table([p.t("aftersales.w.product"), p.t("aftersales.w.category"), p.t("aftersales.w.count")],
                         [[p.labelled(x["product"]), p.category(x["category"]), x["count"]] for x in feed["issues"]])]
    blocks += [_heading(2, p.t("aftersales.insp.schedule")),
               table([p.t("aftersales.w.station"), *item_head, p.t("aftersales.w.done")],
                     [item_row(i, True) + [p.fmt_day(i.done_on) + (" ⚠" if i.late else "")] for i in items])]
    also = insp_mod.also_visit(raw, p.at, items)
    if also:  # source 004: the round also takes in key, near-retirement and nearby customers
        blocks += [_heading(2, p.t("aftersales.insp.also_visit")), md_escape(p.t("aftersales.insp.also_visit_intro")),
                   table([p.t("aftersales.w.customer"), p.t("aftersales.insp.why"), p.t("aftersales.w.installation"), p.t("aftersales.insp.near")],
                         [[p.customer(here, sg.customer), ", ".join(p.t(f"aftersales.insp.reason.{r}") for r in sg.reasons),
                           Markup(", ").join(p.ref(here, x) for x in sg.installations), p.ref(here, sg.near) if sg.near else "—"]
                          for sg in also])]
    unscheduled = insp_mod.unscheduled(computed)
    if unscheduled:   # a date in their records is none: the problems page says where
        blocks += [_heading(2, p.t("aftersales.insp.unscheduled")),
                   "\n".join(f"- {p.ref(here, u['installation'])}" for u in unscheduled)]
    return _lines(*blocks)


# ============================================================================================ parts

def _parts_page(p: _Page) -> str:
    here = "parts/index.md"
    used = parts_mod.consumption_by_part(p.c, p.at)
    needed = {n.part_number: n.quantity for n in insp_mod.findings_feed(p.c, p.at)["parts"]}
    below = parts_mod.below_plan(p.c, p.at)
    blocks = [_heading(1, p.t("aftersales.parts.title")), md_escape(p.t("aftersales.parts.intro", at=p.day.isoformat())),
              _heading(2, p.t("aftersales.parts.below"))]
    if below:
        blocks.append(table(
            [p.t("aftersales.w.part"), p.t("aftersales.w.grade"), p.t("aftersales.w.product"), p.t("aftersales.w.planned"), p.t("aftersales.w.actual"), p.t("aftersales.parts.shortfall"),
             p.t("aftersales.parts.shortfall_value"), p.t("aftersales.w.lead"), p.t("aftersales.parts.needed"), p.t("aftersales.parts.priority")],
            [[link(f"{s.part_number} {s.name}", f"#part-{s.part}") if is_safe_id(s.part) else f"{s.part_number} {s.name}",
              p.enum("part", ("grade",), s.grade), ", ".join(p.name(x) for x in s.products), s.planned, s.actual,
              s.shortfall, f"{s.shortfall_value:,.2f}" if s.shortfall_value is not None else "—",
              s.lead_time_days if s.lead_time_days is not None else "—", needed.get(s.part_number, 0) or "—",
              p.t("aftersales.w.yes") if s.priority else ""] for s in below]))
    else:
        blocks.append(md_escape(p.t("aftersales.parts.below_none")))
    cons = parts_mod.consumption(p.c, p.at)
    totals = parts_mod.consumption_by_product(p.c, p.at)
    months = sorted({m for per in cons.values() for m in per})
    if cons:
        rows = [[p.labelled(prod) if prod else "—", *[per.get(m, 0) or "" for m in months], totals.get(prod, 0)]
                for prod, per in cons.items()]
        blocks += [_heading(2, p.t("aftersales.parts.consumption")), table([p.t("aftersales.w.product"), *months, p.t("aftersales.w.total")], rows)]
    s = parts_mod.wait_summary(p.c, p.at)
    blocks += [_heading(2, p.t("aftersales.parts.waits")),
               md_escape(p.t("aftersales.parts.waits_summary", waited=s.waited, repairs=s.repairs, share=s.share,
                             total=s.total_days, mean=s.mean_days, max=s.max_days, open=s.still_waiting))]
    waits = parts_mod.waits(p.c, p.at)
    if waits:
        blocks.append(table([p.t("aftersales.w.repair"), p.t("aftersales.w.customer"), p.t("aftersales.w.product"), p.t("aftersales.w.region"), p.t("aftersales.w.from"),
                             p.t("aftersales.w.to"), p.t("aftersales.w.days"), p.t("aftersales.w.open")],
                            [[p.ref(here, w.repair), p.customer(here, w.customer), p.labelled(w.product), w.region,
                              w.start.strftime("%Y-%m-%d %H:%M"), "" if w.open else w.end.strftime("%Y-%m-%d %H:%M"),
                              f"{w.days:.1f}", p.t("aftersales.w.yes") if w.open else ""] for w in waits]))
    if s.by_product:
        blocks.append(table([p.t("aftersales.w.product"), p.t("aftersales.tech.records"), p.t("aftersales.w.days")],
                            [[p.labelled(k) if k else "—", v["waited"], f"{v['days']:.1f}"] for k, v in s.by_product.items()]))
    ledger = sorted(parts_mod.stock(p.c, p.at), key=lambda x: (x.products[:1], x.part_number))
    blocks += [_heading(2, p.t("aftersales.parts.ledger")),
               table([p.t("aftersales.w.part_number"), p.t("aftersales.w.part"), p.t("aftersales.w.product"), p.t("aftersales.w.grade"), p.t("aftersales.w.planned"),
                      p.t("aftersales.parts.counted"), p.t("aftersales.w.actual"), p.t("aftersales.parts.reserved"),
                      p.t("aftersales.parts.on_loan"), p.t("aftersales.parts.used"), p.t("aftersales.w.location")],
                     [[Markup(f'<span id="part-{s.part}"></span>') + md_escape(s.part_number) if is_safe_id(s.part)
                       else s.part_number, s.name, ", ".join(p.name(x) for x in s.products),
                       p.enum("part", ("grade",), s.grade), s.planned,
                       f"{s.counted} ({s.counted_on})" if s.counted_on else s.counted, s.actual, s.reserved, s.on_loan,
                       used.get(s.part_number, 0), s.location]
                      for s in ledger])]
    ends, month_end = parts_mod.month_ends(p.at), parts_mod.month_end_stock(p.c, p.at)
    blocks += [_heading(2, p.t("aftersales.parts.month_end")),
               table([p.t("aftersales.w.part_number"), p.t("aftersales.w.planned"), *[e.isoformat() for e in ends]],
                     [[s.part_number, s.planned, *month_end.get(s.part, [])] for s in ledger])]
    return _lines(*blocks)


# ====================================================================================== technicians

def _technicians_page(p: _Page, clocks) -> str:
    # each period runs to the build's instant (a date end would count the rest of that day)
    year_start = date(p.day.year, 1, 1)
    month_start = p.day.replace(day=1)
    w = tech_mod.weights(p.c).get("appraisal", {})
    late = {w.owner: w.late for w in workload.workload(clocks)}  # the people pages' figure

    year, month = tech_mod.appraisals(p.c, [year_start, month_start], p.at)  # one pass for both periods

    def appraisal_table(found):
        rows = []
        for a in found:
            rows.append([p.person(a.engineer, "technicians/index.md"), a.region, a.grade if a.grade is not None else "—", late.get(a.engineer, 0), a.records,
                         a.by_grade["fixed"], a.by_grade["diagnosed_waiting_parts"], a.by_grade["not_fixed"],
                         a.complaints, a.inspections,
                         f"{a.mean_rating:.2f} ({a.rated})" if a.mean_rating is not None else "—",
                         f"{a.workload:.2f}", f"{a.quality:.2f}", f"{a.rating_points:+.2f}",
                         f"{a.base:.2f}", f"{a.bonus_pct:g}%", f"{a.score:.2f}"])
        return table([p.t("aftersales.w.engineer"), p.t("aftersales.w.region"), p.t("aftersales.tech.grade"), p.t("aftersales.tech.late_now"),
                      p.t("aftersales.tech.records"), p.t("aftersales.w.fixed"),
                      p.t("aftersales.w.waiting"), p.t("aftersales.w.not_fixed"), p.t("aftersales.tech.complaints"),
                      p.t("aftersales.tech.inspections"), p.t("aftersales.tech.rating"), p.t("aftersales.tech.workload_total"),
                      p.t("aftersales.tech.quality"), p.t("aftersales.tech.customer"), p.t("aftersales.tech.base"), p.t("aftersales.tech.bonus"),
                      p.t("aftersales.tech.score")], rows)

    quality = w.get("quality") or {}
    rules = [[p.t("aftersales.tech.workload"), w.get("workload_per_record")],
             [p.t("aftersales.tech.per_complaint"), w.get("workload_per_complaint")],
             [p.t("aftersales.tech.per_inspection"), w.get("workload_per_inspection")],
             [p.t("aftersales.w.fixed"), quality.get("fixed")], [p.t("aftersales.w.waiting"), quality.get("diagnosed_waiting_parts")],
             [p.t("aftersales.w.not_fixed"), quality.get("not_fixed")],
             [p.t("aftersales.tech.rating_rule", neutral=(w.get("rating") or {}).get("neutral")), (w.get("rating") or {}).get("per_point")]]
    rules += [[f"{p.t('aftersales.tech.grade')} {g}", f"+{v}%"] for g, v in sorted((w.get("bonus_pct_by_grade") or {}).items())]
    staffing = tech_mod.staffing(p.c, p.at)
    blocks = [_heading(1, p.t("aftersales.tech.title")),
              md_escape(p.t("aftersales.tech.intro", start=year_start.isoformat(), end=i18n.fmt_time(p.at))),
              appraisal_table(year),
              _heading(2, p.t("aftersales.tech.month", start=month_start.isoformat(), end=i18n.fmt_time(p.at))),
              appraisal_table(month),
              _heading(2, p.t("aftersales.tech.weights")), table([p.t("aftersales.value.factor"), p.t("aftersales.value.weight")], rules),
              _heading(2, p.t("aftersales.tech.staffing")),
              table([p.t("aftersales.w.region"), p.t("aftersales.tech.machines"), p.t("aftersales.tech.engineers"), p.t("aftersales.tech.per_engineer"),
                     p.t("aftersales.tech.target"), p.t("aftersales.tech.needed"), p.t("aftersales.tech.gap")],
                    [[s.region or "—", s.machines, ", ".join(p.name(x) for x in s.engineers) or "—",
                      f"{s.per_engineer:.1f}" if s.per_engineer is not None else "—", f"{s.target:g}", s.needed,
                      f"{s.gap:+d}"] for s in staffing])]
    return _lines(*blocks)


# ============================================================================================ value

def _value_page(p: _Page, vi: value_mod.ValueIndex) -> str:
    here = "customers/value.md"
    # ``vi``: computed on the unmasked corpus, as the customer pages and the at-risk ordering do:
    # one figure (the index is numbers; names on this page come from the masked corpus)
    dims = list(value_mod.DIMENSIONS)
    rows = []
    for rank, s in enumerate(vi.ranked(), 1):
        from_records = [p.t(f"aftersales.factor.{f.name}") for f in s.factors.values() if f.source == "records"]
        rows.append([rank, p.customer(here, s.customer), value_mod.shown(s.index), s.customer_class or "—",
                     *[f"{s.dimension(d, vi.weights):.1f}" for d in dims], f"{s.coverage:.0%}",
                     ", ".join(from_records) or "—"])
    weights = [[p.t(f"aftersales.dim.{d}"), p.t(f"aftersales.factor.{f}"), f"{vi.weights[f]:g}"] for d in dims for f in value_mod.DIMENSIONS[d]]
    return _lines(_heading(1, p.t("aftersales.value.title")), md_escape(p.t("aftersales.value.intro", at=p.day.isoformat())),
                  table([p.t("aftersales.value.rank"), p.t("aftersales.w.customer"), p.t("aftersales.value.index"), p.t("aftersales.value.class"),
                         *[p.t(f"aftersales.dim.{d}") for d in dims],
                         p.t("aftersales.value.coverage"), p.t("aftersales.value.from_records")], rows),
                  _heading(2, p.t("aftersales.value.classes")),
                  table([p.t("aftersales.value.class"), p.t("aftersales.value.lowest")],
                        [[name, f"{lowest:g}"] for lowest, name in vi.classes]),
                  _heading(2, p.t("aftersales.value.weights")),
                  table([p.t("aftersales.value.dimension"), p.t("aftersales.value.factor"), p.t("aftersales.value.weight")], weights))


# ========================================================================================= feedback

def _feedback_page(p: _Page) -> str:
    here = "feedback/index.md"
    since = date(p.day.year, 1, 1)
    prods = feedback_mod.products(p.c, p.at, since)
    matrix = feedback_mod.matrix(p.c, p.at, since)
    rows = [[p.labelled(f.product) if f.product else "—", f.failures, f.installed or "—",
             f.per_100_installed if f.per_100_installed is not None else "—",
             ", ".join(f"{p.category(c)} {n}" for c, n in f.by_category.items()) or "—",
             ", ".join(f"{r or '—'} {n}" for r, n in f.by_region.items()) or "—",
             ", ".join(f"{c} ×{n}" for c, n in f.top_codes) or "—",
             Markup(", ").join(p.ref(here, r) for r in f.unsupported) if f.unsupported else "—"] for f in prods]
    blocks = [_heading(1, p.t("aftersales.fb.title")), md_escape(p.t("aftersales.fb.intro", since=since.isoformat(), at=p.day.isoformat())),
              _heading(2, p.t("aftersales.fb.by_product")),
              table([p.t("aftersales.w.product"), p.t("aftersales.fb.failures"), p.t("aftersales.fb.installed"), p.t("aftersales.fb.per100"), p.t("aftersales.w.category"),
                     p.t("aftersales.w.region"), p.t("aftersales.fb.top_codes"), p.t("aftersales.fb.unsupported")], rows)]
    if matrix:
        blocks += [_heading(2, p.t("aftersales.fb.matrix")),
                   table([p.t("aftersales.w.product"), p.t("aftersales.w.category"), p.t("aftersales.w.region"), p.t("aftersales.fb.failures")],
                         [[p.labelled(k[0]) if k[0] else "—", p.category(k[1]), k[2] or "—", n]
                          for k, n in sorted(matrix.items(), key=lambda x: (-x[1], x[0]))])]
        blocks += [_heading(2, p.t("aftersales.fb.by_region")),
                   table([p.t("aftersales.w.region"), p.t("aftersales.fb.failures")],
                         [[k or "—", n] for k, n in feedback_mod.by(p.c, p.at, "region", since).items()])]
    sugg = [[p.labelled(f.product), s] for f in prods for s in f.suggestions]
    if sugg:
        blocks += [_heading(2, p.t("aftersales.fb.suggestions")), table([p.t("aftersales.w.product"), p.t("aftersales.fb.suggestions")], sugg)]
    return _lines(*blocks)


# ============================================================================================ entry

def groups(corpus, lang: str, at, where: Callable[[str], str | None] | None = None,
           options: dict | None = None) -> list[tuple[str, tuple[str, ...], Callable[[], dict[str, str]], Callable | None]]:
    """The after-sales pages for one language as of ``at``, in groups made together: (name, the
    kinds of case records (and customers) the group reads, a function making its pages, a function
    giving what else it reads of other records, or None). A site
    build keeps each group while those records are unchanged (`site.pagekeys.group_key`);
    ``tests/test_site_incremental.py`` edits a record of every kind to prove the kinds are all."""
    p = _Page(corpus, lang, at, where, (options or {}).get("use_directory_urls", True))
    # the SLA clocks and the value index the site computed once (`options`), else computed here
    clocks = (options or {}).get("sla_clocks")
    values = (options or {}).get("value_index")

    def technicians():
        return {"technicians/index.md": _technicians_page(p, clocks if clocks is not None else Engine(p.c).clocks(p.at))}

    def value():
        return {"customers/value.md": _value_page(p, values or value_mod.ValueIndex(
            p.c.raw if isinstance(p.c, MaskedCorpus) else p.c, p.at))}

    @functools.cache
    def matches():  # which cases match which entries: once, for the KB pages and their key
        return kb_mod.case_matches(_own_text(p.c), limit=3)

    return [
        # the KB pages show of repairs and complaints only their matches and a few fields (`_kb_inputs`)
        ("aftersales kb", ("customer",), lambda: _kb_pages(p, matches()), lambda: _kb_inputs(p, matches())),
        ("aftersales inspections", ("installation", "inspection", "repair", "callback", "customer"),
         lambda: {"inspections/index.md": _inspections_page(p)}, None),
        # (the repairs waiting for parts are listed with their customer's name and region)
        ("aftersales parts", ("part-request", "repair", "customer"), lambda: {"parts/index.md": _parts_page(p)}, None),
        # the SLA clocks of every case
        ("aftersales technicians", cases_mod.CASE_KINDS + ("customer",), technicians, None),
        ("aftersales value", ("callback", "contract", "customer", "inspection", "repair", "installation"), value, None),
        ("aftersales feedback", ("callback", "inspection", "installation", "repair", "customer"),
         lambda: {"feedback/index.md": _feedback_page(p)}, None),
    ]


def pages(corpus, lang: str, at, where: Callable[[str], str | None] | None = None,
          options: dict | None = None) -> dict[str, str]:
    """Every after-sales page for one language, as of ``at``."""
    out: dict[str, str] = {}
    for _, _, make, _ in groups(corpus, lang, at, where, options):
        out.update(make())
    return out


__all__ = ["groups", "pages", "kb_links"]
