"""Page generation, independent of MkDocs: `generate(corpus, options) -> {docs path: content}`.

The result maps docs-relative paths (`index.md`, `cases/SV-....md`, `sla/by-month.svg`, ...) to
Markdown or SVG text. The MkDocs plugin hands them to MkDocs as in-memory files; any other engine
(Zensical, ProperDocs) could take the same mapping. Labels come from `catalogue.yaml` and the
schemas; record text is escaped by `markup` on its way into every page.

Options (all optional except `as_of`, which the plugin fills):
  lang                 zh | en
  as_of                aware datetime: every derived figure is computed as of this moment
  root                 repository root (records/ and schemas/)
  detail_window_days   closed case chains older than this go into the paged archive (180)
  closed_case_pages_max  at most this many closed chains (the newest) have their own page (1000)
  archive_page_size    rows per archive page (200)
  show_personal_data   false: personal data masked by the schemas' x-personal markers
  progress             callable(done, total) for build progress
  store                a `servicebook.write.pagestore.PageStore`: case pages whose inputs did not
                       change since the build that stored them are not generated again; every page
                       is kept in the store, and the mapping gives a kept page's file (a `Path`)
                       instead of its text
"""
from __future__ import annotations

import functools
import logging
import re
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import yaml
from markupsafe import Markup

from servicebook.derive import attention as attention_mod
from servicebook.derive import cases
from servicebook.derive import delays as delays_mod
from servicebook.derive import names
from servicebook.derive import pipeline
from servicebook.derive import satisfaction
from servicebook.derive.aftersales import feedback
from servicebook.derive.aftersales import value_index
from servicebook.derive.audit import trail as audit_trail
from servicebook.load.instants import ZONE, instant_or_none, parse_instant

from . import charts
from . import pagekeys
from . import people
from . import presales
from .i18n import Translator, catalogue, check_lang, fmt_time, target_text
from .markup import code, code_block, environment, external_link, href, is_safe_id, link, md_escape, relurl, table
from .mask import mask_value
from .model import Chain, SiteModel, get
from .schemaview import description, enum_label, title as schema_title, value_type

log = logging.getLogger("mkdocs.plugins.servicebook")

_STATE_KEYS = {f"state.{s}" for s in ("running", "at_risk", "paused", "met", "breached", "cancelled", "error")}
COMMON_FIELDS = ("id", "schema_version", "customer", "filled_by", "created_at", "status", "history")
SKIP_FORM_FIELDS = {"id", "schema_version", "history"}

APPROVALS_PAGE = "approvals/pending.md"   # docs/approvals.md (the guide) is /approvals/ already
HOME_LATE_ROWS = 5  # the home page lists this many late and at-risk clocks (its first screen); the SLA page has them all
KB_KINDS = ("repair", "complaint")
KB_PAGE_STATUSES = ("draft", "published", "retired")  # the entries `aftersales` gives a page of their own
AUDIT_ACTIONS = ("created", "changed", "deleted", "imported")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

DEFAULTS = {
    "lang": "zh",
    "detail_window_days": 180,
    "closed_case_pages_max": 1000,
    "archive_page_size": 200,
    "show_personal_data": False,
    "recent_days": 14,
    "problems_limit": 500,
}


def generate(corpus, options: dict) -> dict[str, str]:
    """Every generated page and chart of the site, for one language."""
    opts = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    opts["as_of"] = parse_instant(opts.get("as_of"))  # required: the pages never read the wall clock
    check_lang(opts["lang"])
    started = time.monotonic()
    store = opts.get("store")
    made = False
    try:
        model = SiteModel(corpus, opts)
        gen = _Generator(model, opts)
        out = gen.run()
        _add_section_pages(gen, out, model.corpus, {**opts, "sla_clocks": model.raw_clocks, "value_index": gen.values()})
        if model.kept_masks is not None:
            model.kept_masks.save(model.records)
        if store is not None:
            out = {path: text if isinstance(text, Path) else store.put(path, text) for path, text in out.items()}
            store.finish()
            log.info("servicebook: %d pages kept, %d files changed", store.kept, store.written)
        made = True
    finally:
        if store is not None and not made:
            store.close()  # a failed build lets the next one use the store (else its caller closes it)
    log.info("servicebook: generated %d pages and charts (%s) in %.1f s",
             len(out), opts["lang"], time.monotonic() - started)
    return out


def fmt_date(dt: datetime | None) -> str:
    return dt.astimezone(ZONE).strftime("%Y-%m-%d") if dt else ""


class _Generator:
    def __init__(self, model: SiteModel, opts: dict):
        self.m = model
        self.o = opts
        self.lang = opts["lang"]
        self.t = Translator(self.lang)
        self.env = environment()
        self.out: dict[str, str] = {}
        self.progress: Callable[[int, int], None] | None = opts.get("progress")
        self.store = opts.get("store")
        self._build_key: str | None = None
        self.group_inputs: dict[str, str] = {}  # digests of the inputs groups share: `pagekeys.group_key`
        # where each record is shown: case page anchor, customer page, or archive page
        self.where: dict[str, str] = {}

    # --- plumbing ---------------------------------------------------------------------------
    def render(self, path: str, template: str, **ctx) -> None:
        tpl = self.env.get_template(template)
        base = dict(t=self.t, lang=self.lang, here=path, as_of=fmt_time(self.m.as_of),
                    link=lambda text, target: self.link_to(path, text, target),
                    rlink=lambda rid, text=None: self.record_link(path, rid, text))
        self.out[path] = tpl.render(**base, **ctx)

    def href(self, here: str, target: str) -> str:
        """`markup.href` with this build's `use_directory_urls` (MkDocs's default: true)."""
        return href(here, target, self.o.get("use_directory_urls", True))

    def link_to(self, here: str, text, target: str | None) -> Markup:
        return link(text, self.href(here, target)) if target else md_escape(text)

    def record_link(self, here: str, rid, text=None) -> Markup:
        """Link to wherever a record is shown (a page, or an anchor on one); plain escaped text
        when it has no page."""
        if not isinstance(rid, str):
            return md_escape(rid)
        label = text if text is not None else rid
        target = self.where.get(rid)
        return self.link_to(here, label, target)

    def short(self, rid) -> str:
        """``name (ID)`` of a record in a table or list: `servicebook.derive.names.short_name` of the
        record as the page shows it (masked on a masked build); the ID alone without a name."""
        return names.label(names.short_name(self.m.shown(rid), self.lang), rid)

    def person(self, here: str, pid) -> Markup:
        """A person's name, linked to their queue page (`people`) when they have one."""
        if not isinstance(pid, str) or not pid:
            return Markup("—")
        return self.record_link(here, pid, self.short(pid))

    def status(self, rec) -> str:
        s = self.m.status(rec)
        return self.m.status_label(rec.kind, s, self.lang) if s else ""

    def chain_state(self, ch: Chain) -> str:
        """Label of the chain's state (`cases.Chain.state_record`: its latest open record, or its
        latest record), with that record's status as of the build."""
        rec = ch.state_record
        status = ch.status.get(rec.id)
        return f"{self.m.kind_label(rec.kind, self.lang)}: {self.m.status_label(rec.kind, status, self.lang) if status else ''}"

    def chain_kind_label(self, ch: Chain) -> str:
        return self.t(f"case.kind.{ch.kind}")

    def customer_cell(self, here: str, cid) -> Markup:
        if not isinstance(cid, str):
            return Markup("—")
        return self.record_link(here, cid, self.short(cid))

    # --- run ---------------------------------------------------------------------------------------
    def run(self) -> dict[str, str]:
        m = self.m
        window = int(self.o["detail_window_days"])
        size = max(1, int(self.o["archive_page_size"]))
        archived = [ch for ch in m.chains if m.page(ch) is None]
        pages_archive = max(1, -(-len(archived) // size)) if archived else 0
        for i, ch in enumerate(archived):
            m.archive_of[ch.root.id] = f"cases/archive/page-{i // size + 1}.md"
        # where records are shown
        for ch in m.chains:
            page, archive = m.page(ch), m.archive_page(ch)
            for r in ch.records:
                if page:
                    self.where[r.id] = f"{page}#rec-{r.id}" if is_safe_id(r.id) else page
                elif archive:
                    self.where[r.id] = archive
        for rec in m.by_kind.get("customer", []):
            if is_safe_id(rec.id):
                self.where[rec.id] = f"customers/{rec.id}.md"
        for rec in m.by_kind.get("kb", []):  # not cases: each entry has its knowledge-base page
            if is_safe_id(rec.id) and m.status(rec) in KB_PAGE_STATUSES:
                self.where[rec.id] = f"kb/{rec.id}.md"
        people.places(self)

        total = sum(1 for ch in m.chains if m.page(ch)) + len(m.by_kind.get("customer", [])) + pages_archive + 13
        done = 0

        def tick(n=1):
            nonlocal done
            done += n
            if self.progress:
                self.progress(done, total)

        self.home(); tick()

        def chain_lists():
            self.cases_index(window, archived, pages_archive)
            for n in range(pages_archive):
                self.archive_page(archived[n * size:(n + 1) * size], n + 1, pages_archive, window)
        # the lists of chains show no record's own data but the customer's (`pagekeys.chain_rows`)
        self.out.update(self.group("cases.lists", (), self.made(chain_lists), lambda: pagekeys.chain_rows(self)))
        tick(1 + pages_archive)
        for ch in m.chains:
            if m.page(ch):
                self.case_page(ch); tick()
        # and the customers' satisfaction (their callbacks)
        self.out.update(self.group("customers.index", ("customer", "callback"), self.made(self.customers_index),
                                   lambda: pagekeys.chain_rows(self)))
        tick()
        for rec in m.by_kind.get("customer", []):
            if is_safe_id(rec.id):
                self.customer_page(rec); tick()
        self.sla_pages(); tick()
        people.render(self); tick()
        self.approvals_page(); tick()
        self.weekly(); tick()
        self.kb(); tick()
        self.forms(); tick()
        self.problems(); tick()
        return self.out

    # --- home --------------------------------------------------------------------------------------
    def open_by_kind(self):
        """(kind, status, count) rows of the open records (`cases.open_cases`)."""
        m = self.m
        return [[m.kind_label(row.kind, self.lang), m.status_label(row.kind, row.status, self.lang) if row.status else "—",
                 row.count] for row in m.open.by_status]

    def waiting_approval(self, here: str, limit: int | None = None):
        """Records whose next step is an approval (`cases.waiting_approval`), the longest waiting
        first."""
        m = self.m
        shown = m.pending[:limit] if limit else m.pending
        return [[self.record_link(here, w.record.id), m.kind_label(w.record.kind, self.lang),
                 m.status_label(w.record.kind, w.status, self.lang), ", ".join(m.role_label(r, self.lang) for r in w.roles),
                 self.customer_cell(here, m.customer_id(w.record)), fmt_time(w.since)] for w in shown]

    def recent(self, here: str, limit: int = 25):
        m = self.m
        since = m.as_of - timedelta(days=int(self.o["recent_days"]))
        entries = cases.activity(m.c, since, m.as_of)
        return [[fmt_time(e.at), self.record_link(here, e.record.id), m.kind_label(e.record.kind, self.lang),
                 m.status_label(e.record.kind, e.status, self.lang), self.person(here, e.by), m.text(e.note)]
                for e in entries[:limit]]

    # Clock tables put what a reader on a phone must not lose first (tables scroll sideways there):
    # the state or how late, the deadline and who owns it; then the record, clock, target, customer.
    def clock_head(self):
        return [self.t("word.state"), self.t("word.deadline"), self.t("word.person"), self.t("word.record"),
                self.t("word.clock"), self.t("word.target"), self.t("word.customer")]

    def clock_rows(self, here: str, clocks):
        rows = []
        for c in clocks:
            rec = self.m.records.get(c.record_id)
            target = target_text(getattr(c.src, "target", "") if c.src is not None else "", self.lang)
            state = self.t(f"state.{c.state}") if f"state.{c.state}" in _STATE_KEYS else c.state
            if getattr(c.src, "at_least", False):  # ran past the calendar's holiday data: a lower bound
                state = f"{state} ({self.t('sla.at_least')})"
            label = c.label(self.lang)
            if getattr(c.src, "missing", None):  # started here for a record not filed yet
                label = f"{label} ({self.t('sla.missing', kind=self.m.kind_label(c.src.missing, self.lang))})"
            rows.append([state, fmt_time(c.deadline), self.person(here, c.person), self.record_link(here, c.record_id),
                         label, target, self.customer_cell(here, self.m.customer_id(rec)) if rec else ""])
        return rows

    def late_head(self):
        return [self.t("word.late_by")] + self.clock_head()[1:]

    def late_rows(self, here: str, clocks):
        """Breached clocks: every one is late, so instead of a state, how late (a lower bound,
        marked, past the calendar's holiday data)."""
        rows = []
        for c, row in zip(clocks, self.clock_rows(here, clocks)):
            late = self.m.sla.format_duration(c.src.overdue_seconds)
            if getattr(c.src, "at_least", False):
                late = f"≥ {late}"
            rows.append([late] + row[1:])
        return rows

    # the home page's links to every section: (catalogue label, page)
    SECTIONS = (("nav.sla", "sla/index.md"), ("nav.cases", "cases/index.md"), ("nav.customers", "customers/index.md"),
                ("nav.approvals_pending", APPROVALS_PAGE), ("nav.weekly", "weekly.md"),
                ("presales.pipeline.title", "pipeline/index.md"), ("presales.delivery.title", "delivery/index.md"),
                ("aftersales.insp.title", "inspections/index.md"), ("aftersales.parts.title", "parts/index.md"),
                ("aftersales.tech.title", "technicians/index.md"), ("aftersales.value.title", "customers/value.md"),
                ("aftersales.fb.title", "feedback/index.md"), ("people.title", people.INDEX), ("satisfaction.title", people.SATISFACTION),
                ("times.title", people.TIMES), ("nav.kb", "kb/index.md"), ("nav.forms", "forms/index.md"),
                ("nav.problems", "problems.md"))

    def attention(self):
        """The late-now list and the at-risk queue with each customer's class and value
        (`servicebook.derive.attention`), computed once per generation."""
        found = self.__dict__.get("_attention")
        if found is None:
            found = self.__dict__["_attention"] = attention_mod.attention(self.m.raw_clocks, self.values())
        return found

    def class_counts(self, counts: dict) -> str:
        return " · ".join(self.t("first.class", cls=cls, n=n) if cls is not None else self.t("first.no_class", n=n)
                          for cls, n in counts.items()) or "—"

    def name_only(self, rid) -> str:
        """A person or customer by name alone (`names.short_name`, as the page shows the record),
        for the narrow first-screen tables; the ID when the record has no name."""
        return names.short_name(self.m.shown(rid), self.lang) or (rid if isinstance(rid, str) else "—")

    def first_head(self, late: bool):
        return [self.t("word.late_by" if late else "first.time_left"), self.t("first.owner"), self.t("word.customer"),
                self.t("first.value"), self.t("word.record"), self.t("word.clock"), self.t("word.deadline")]

    def first_rows(self, here: str, items):
        """What comes first, narrowest facts first so a phone shows them without scrolling: how
        late (or how long is left), who owns it, for which customer and what that customer is worth,
        then the record, the clock and the deadline."""
        rows = []
        for it in items:
            c = it.clock
            left = self.m.sla.format_duration(it.seconds)
            if c.at_least:
                left = f"≥ {left}"
            value = "—" if it.value is None else value_index.shown(it.value)
            if it.value is not None and it.customer_class:
                value = self.t("first.value_class", value=value, cls=it.customer_class)
            customer = self.record_link(here, c.customer, self.name_only(c.customer)) if c.customer else Markup("—")
            owner = self.record_link(here, c.owner, self.name_only(c.owner)) if c.owner else Markup("—")
            rows.append([left, owner, customer, value,
                         self.record_link(here, c.case), c.title_zh if self.lang == "zh" and c.title_zh else c.title,
                         fmt_time(datetime.fromtimestamp(c.deadline, ZONE)) if c.deadline is not None else "—"])
        return rows

    def home(self) -> None:
        m, here = self.m, "index.md"
        first = self.attention()
        breaches = [m.clock(c) for c in m.sla.missed_on(m.raw_clocks, m.as_of)]
        clock_head = self.clock_head()
        stats = [[self.t("home.late_now"), len(first.late)], [self.t("home.open_chains"), m.open.total]]
        stats += [[self.t(f"home.open.{kind}"), m.open.by_kind[kind]] for kind in cases.CHAIN_KINDS]
        stats += [
            [self.t("home.open_records"), m.open.records],
            [self.t("home.customers"), len(m.by_kind.get("customer", []))],
            [self.t("home.records"), len(m.records)],
        ]
        sections = Markup(" · ").join(self.link_to(here, self.t(key), page) for key, page in self.SECTIONS)
        self.render(here, "home.md.j2",
                    stats=table([self.t("home.stats"), self.t("word.count")], stats),
                    n_late=len(first.late), late_classes=self.class_counts(first.late_by_class()),
                    n_at_risk=len(first.at_risk), risk_classes=self.class_counts(first.at_risk_by_class()),
                    sections=sections,
                    late=table(self.first_head(True), self.first_rows(here, first.late[:HOME_LATE_ROWS])),
                    risk=table(self.first_head(False), self.first_rows(here, first.at_risk[:HOME_LATE_ROWS])),
                    late_more=self.link_to(here, self.t("first.all_late", n=len(first.late)), "sla/index.md")
                    if len(first.late) > HOME_LATE_ROWS else None,
                    risk_more=self.link_to(here, self.t("first.all_at_risk", n=len(first.at_risk)), "sla/index.md")
                    if len(first.at_risk) > HOME_LATE_ROWS else None,
                    open_table=table([self.t("word.kind"), self.t("word.status"), self.t("word.count")], self.open_by_kind()),
                    breaches=table(clock_head, self.clock_rows(here, breaches)),
                    waiting=table([self.t("word.record"), self.t("word.kind"), self.t("word.status"), self.t("word.waiting_for"),
                                   self.t("word.customer"), self.t("word.updated")], self.waiting_approval(here, 100)),
                    recent=table([self.t("word.at"), self.t("word.record"), self.t("word.kind"), self.t("word.status"),
                                  self.t("word.by"), self.t("word.note")], self.recent(here)),
                    n_problems=len(getattr(m.c, "problems", []) or []),
                    approvals_link=self.link_to(here, self.t("approvals.title"), APPROVALS_PAGE),
                    n_pending=len(m.pending), audit_available=m.audit_available,
                    n_findings=len(audit_trail.violations(m.trails.values())))

    # --- cases ---------------------------------------------------------------------------------------
    def chain_row(self, here: str, ch: Chain):
        root = ch.root
        page = self.m.page(ch)
        label = self.link_to(here, root.id, page) if page else md_escape(root.id)
        return [label, self.chain_kind_label(ch), self.customer_cell(here, ch.customer), self.chain_state(ch),
                fmt_date(ch.started), fmt_date(ch.last), len(ch.records)]

    def chain_head(self):
        return [self.t("word.id"), self.t("word.kind"), self.t("word.customer"), self.t("case.state"),
                self.t("case.started"), self.t("case.last_activity"), self.t("word.records")]

    def cases_index(self, window: int, archived: list[Chain], pages_archive: int) -> None:
        here = "cases/index.md"
        m = self.m
        open_chains = [ch for ch in m.chains if ch.open]
        recent_closed = [ch for ch in m.chains if not ch.open and m.page(ch)]
        groups = []
        for kind in ("deal", "service", "other"):
            rows = [self.chain_row(here, ch) for ch in open_chains if ch.kind == kind]
            if rows:
                groups.append((self.t(f"cases.{'deals' if kind == 'deal' else kind}"), table(self.chain_head(), rows)))
        self.render(here, "cases.md.j2", groups=groups, window=window, closed_max=self.o["closed_case_pages_max"],
                    recent=table(self.chain_head(), [self.chain_row(here, ch) for ch in recent_closed]),
                    n_archived=len(archived), pages_archive=pages_archive,
                    archive_link=self.link_to(here, self.t("cases.archive_title"), "cases/archive/page-1.md") if pages_archive else None)

    def archive_page(self, chains: list[Chain], n: int, total: int, window: int) -> None:
        here = f"cases/archive/page-{n}.md"
        rows = [self.chain_row(here, ch) for ch in chains]
        prev_link = self.link_to(here, self.t("word.previous"), f"cases/archive/page-{n - 1}.md") if n > 1 else None
        next_link = self.link_to(here, self.t("word.next"), f"cases/archive/page-{n + 1}.md") if n < total else None
        self.render(here, "archive.md.j2", n=n, total=total, window=window, closed_max=self.o["closed_case_pages_max"], rows=table(self.chain_head(), rows),
                    prev_link=prev_link, next_link=next_link)

    # --- pages kept between builds (`write.pagestore`, `pagekeys`): case and customer pages ----------
    def kept(self, here: str, key_of, item) -> str | bool | None:
        """True when the page is kept unchanged in the store (nothing to generate), else the key to
        keep it under once generated (None without a store)."""
        if self.store is None:
            return None
        key = key_of(self, item, self.build_key())
        if self.store.kept_page(here, key):
            self.out[here] = self.store.file(here)
            return True
        return key

    def build_key(self) -> str:
        if self._build_key is None:
            self._build_key = pagekeys.build_key(self)
        return self._build_key

    def group(self, name: str, kinds, make: Callable[[], dict[str, str]],
              inputs: Callable[[], object] | None = None) -> dict[str, str | Path]:
        """The pages ``make()`` gives (path -> text), kept as one group in the store under a key of
        the corpus slice ``make`` reads (`pagekeys.group_key`: ``kinds`` of records, and what
        ``inputs()`` gives of what else it reads): while the key is unchanged they are not made
        again (a kept page is given by its file)."""
        if self.store is None:
            return make()
        key = pagekeys.group_key(self, kinds, inputs() if inputs is not None else None)
        kept = self.store.kept_group(name, key)
        if kept is not None:
            return {page: self.store.file(page) for page in kept}
        return self.store.put_group(name, key, make())

    def made(self, render: Callable[[], None]) -> Callable[[], dict[str, str]]:
        """``render`` (which renders pages into this build's output) as a function giving the
        pages it rendered, for `group`."""
        def pages() -> dict[str, str]:
            out, self.out = self.out, {}
            try:
                render()
                return self.out
            finally:
                self.out = out
        return pages

    def keep(self, here: str, key: str | None) -> None:
        if key is not None:
            self.out[here] = self.store.put(here, self.out[here], key)

    def case_page(self, ch: Chain) -> None:
        m, here = self.m, self.m.page(ch)
        key = self.kept(here, pagekeys.case_key, ch)
        if key is True:
            return
        timeline = [[fmt_time(e.at), self.record_link(here, e.record.id), m.kind_label(e.record.kind, self.lang),
                     m.status_label(e.record.kind, e.status, self.lang), self.person(here, e.by), m.text(e.note)]
                    for e in ch.entries]
        approvals = [[fmt_time(e.at), self.record_link(here, e.record.id), m.status_label(e.record.kind, e.status, self.lang),
                      m.role_label(role, self.lang), self.person(here, e.by)] for e, role in cases.approvals_given(m.c, ch)]
        ids = {r.id for r in ch.records}
        # in the chain's record order, each record's clocks in the engine's order (the engine's
        # order across records follows the load order, which a changed file can move)
        clocks = [c for r in ch.records for c in m.clocks_of(r.id)]
        linked = []
        seen = set()
        for r in ch.records:
            for ref in self.refs_of(r):
                if ref in ids or ref in seen or ref not in m.records:
                    continue
                seen.add(ref)
                target = m.records[ref]
                if target.kind == "person":
                    continue
                linked.append([self.record_link(here, ref, self.short(ref)), m.kind_label(target.kind, self.lang)])
            for other in m.c.referrers(r.id):
                if other.id in ids or other.id in seen:
                    continue
                seen.add(other.id)
                linked.append([self.record_link(here, other.id), m.kind_label(other.kind, self.lang)])
        forms = [(r, self.m.kind_label(r.kind, self.lang), self.status(r), self.form(here, r),
                  Markup(f"{{#rec-{r.id}}}") if is_safe_id(r.id) else Markup(""), self.kb_links(here, r))
                 for r in ch.records]
        summary = [
            [self.t("word.kind"), self.chain_kind_label(ch)],
            [self.t("word.customer"), self.customer_cell(here, ch.customer)],
            [self.t("case.state"), self.chain_state(ch)],
            [self.t("case.started"), fmt_time(ch.started)],
            [self.t("case.last_activity"), fmt_time(ch.last)],
        ]
        self.render(here, "case.md.j2", ch=ch, root_id=ch.root.id, flag=self.flag(c.src for c in clocks),
                    summary=table([self.t("word.item"), self.t("word.value")], summary),
                    records=table([self.t("word.id"), self.t("word.kind"), self.t("word.status"), self.t("word.created")],
                                  [[self.record_link(here, r.id), m.kind_label(r.kind, self.lang), self.status(r),
                                    fmt_time(m.created(r))] for r in ch.records]),
                    timeline=table([self.t("word.at"), self.t("word.record"), self.t("word.kind"), self.t("word.status"),
                                    self.t("word.by"), self.t("word.note")], timeline),
                    approvals=table([self.t("word.at"), self.t("word.record"), self.t("case.approval_step"),
                                     self.t("word.role"), self.t("case.approval_by")], approvals),
                    clocks=table(self.clock_head(), self.clock_rows(here, clocks)),
                    linked=table([self.t("word.record"), self.t("word.kind")], linked),
                    audit_available=m.audit_available,
                    audit=[self.audit_block(here, r) for r in ch.records],
                    forms=forms)
        self.keep(here, key)

    # --- knowledge-base links and the audit trail on case pages ----------------------------------------
    def kb_links(self, here: str, rec) -> Markup:
        """The knowledge-base entries matching a repair or complaint: `aftersales.kb_links` (a
        heading and a list of the matching entries, Markdown we trust: it escapes record text
        itself); nothing for other forms."""
        if rec.kind not in KB_KINDS:
            return Markup("")
        from . import aftersales  # (bad record data is the section's to show; a raise is a bug)

        return Markup(aftersales.kb_links(self.m.corpus, rec.id, self.lang, here, where=self.where.get,
                                          directory_urls=self.o.get("use_directory_urls", True)))

    def who(self, here: str, name, email) -> Markup:
        """A committer or approver: the person record matched by git e-mail, else the git name
        (e-mail addresses are never shown)."""
        emails = [e.strip() for e in str(email or "").split(",") if e.strip()]
        pids = [p for p in (self.m.person_of_email(e) for e in emails) if p]
        if pids:
            return Markup(", ").join(self.person(here, p) for p in dict.fromkeys(pids))
        return md_escape(self.m.text(name) or "—")

    def audit_message(self, text) -> str:
        """A finding's message, with the corpus's personal values and any e-mail address masked
        unless personal data is shown."""
        text = str(text or "")
        if self.o.get("show_personal_data"):
            return text
        return _EMAIL.sub(lambda m: mask_value("email", m.group(0)), self.m.text(text))

    _COMMIT_PARAMS = ("commit", "approval_commit", "from_commit", "to_commit", "authored", "baseline")

    def problem_text(self, p) -> str:
        """A data problem's message: worded in the page's language from its rule and parameters
        where the check gives them (`Problem.params`: approvals and the roles a step needs), else
        the check's own message (masked)."""
        params = getattr(p, "params", None) or {}
        key = f"problem.msg.{p.rule}"
        if not params or key not in catalogue():
            return self.m.text(p.message)
        kind = params.get("kind")
        m = self.m
        shown = {"status": m.status_label(kind, params.get("status"), self.lang) if kind else str(params.get("status")),
                 "role": m.role_label(params["role"], self.lang) if isinstance(params.get("role"), str) else "",
                 "person": self.short(params.get("person")) if isinstance(params.get("person"), str) else "—",
                 "held": ", ".join(m.role_label(r, self.lang) for r in params.get("held") or ()) or self.t("audit.msg.no_role"),
                 "roles": self.t("word.or").join(m.role_label(r, self.lang) for r in params.get("roles") or ()),
                 "field": schema_title(m.view.node(kind, params["field"]) or {}, self.lang, params["field"])
                 if kind and isinstance(params.get("field"), str) else ""}
        return self.m.text(self.t(key, **shown))

    def finding_text(self, f, kind: str | None) -> str:
        """An audit finding worded in the page's language from its rule and parameters
        (`trail.Finding.params`, `audit.msg.<rule>[.<variant>]`): statuses and roles by their labels,
        people by name, changed fields by their form labels. A finding the catalogue has no words
        for shows its message (masked)."""
        params = dict(getattr(f, "params", None) or {})
        key = f"audit.msg.{f.rule}" + (f".{params.pop('variant')}" if params.get("variant") else "")
        if key not in catalogue():
            return self.audit_message(f.message)
        m = self.m
        shown = {}
        for name, value in params.items():
            if name == "status":
                shown[name] = m.status_label(kind, value, self.lang) if kind and value else str(value or "—")
            elif name in ("role", "as_role"):
                shown[name] = m.role_label(value, self.lang) if isinstance(value, str) else "—"
            elif name == "held":
                shown[name] = ", ".join(m.role_label(r, self.lang) for r in value) or self.t("audit.msg.no_role")
            elif name in ("person", "by"):
                shown[name] = self.short(value) if isinstance(value, str) else "—"
            elif name == "persons":
                shown[name] = ", ".join(self.short(p) for p in value)
            elif name in self._COMMIT_PARAMS:
                shown[name] = str(value or "")[:10]
            elif name in ("at", "committed"):
                shown[name] = fmt_time(instant_or_none(value)) or str(value)
            elif name == "fields":
                shown[name] = self.changed_fields(kind, value)
            else:
                shown[name] = self.m.text(value)
        if key == "audit.msg.approval.signer.wrong_key":
            persons = params.get("persons") or []
            shown["whose"] = (self.t("audit.msg.whose.persons", persons=shown["persons"]) if persons
                              else self.t("audit.msg.whose.nobody"))
        return self.audit_message(self.t(key, **shown))

    def changed_fields(self, kind: str, paths) -> str:
        """Changed fields by their form labels (top-level field, in the page language)."""
        if paths is None:
            return ""
        labels = []
        for path in paths:
            top = re.split(r"[.\[]", str(path), maxsplit=1)[0]
            node = self.m.view.node(kind, top) if kind and top else None
            label = schema_title(node, self.lang, top) if node else top
            if label not in labels:
                labels.append(label)
        shown = ", ".join(labels[:12])
        return shown + (" …" if len(labels) > 12 else "") if labels else "—"

    def rule_label(self, rule: str) -> str:
        key = f"audit.rule.{rule}"
        return self.t(key) if key in catalogue() else rule

    def audit_block(self, here: str, rec) -> dict:
        """The audit trail of one record for its case page."""
        m = self.m
        tr = m.trails.get(rec.id)
        block = {"kind_label": m.kind_label(rec.kind, self.lang), "id": rec.id, "created": None, "changes": "",
                 "approvals": "", "findings": []}
        if tr is None:
            return block
        if tr.created_at:
            block["created"] = (self.who(here, tr.created_by, tr.created_email), fmt_time(instant_or_none(tr.created_at)))
        changes = []
        for ch in tr.changes:
            move = ""
            if ch.action == "created" and ch.status_to:
                move = m.status_label(rec.kind, ch.status_to, self.lang)
            elif ch.status_from != ch.status_to and (ch.status_from or ch.status_to):
                move = " → ".join(m.status_label(rec.kind, s, self.lang) if s else "—"
                                  for s in (ch.status_from, ch.status_to))
            changes.append([fmt_time(instant_or_none(ch.at)), self.who(here, ch.author, ch.email),
                            self.t(f"audit.action.{'imported' if ch.imported else ch.action}")
                            if ch.action in AUDIT_ACTIONS else ch.action,
                            move, self.changed_fields(tr.kind or rec.kind, ch.fields) if ch.action == "changed" else "",
                            code(ch.commit[:10]), _short(self.m.text(ch.subject), 60)])
        block["changes"] = table([self.t("word.at"), self.t("audit.committer"), self.t("audit.action"),
                                  self.t("audit.status_move"), self.t("audit.fields"), self.t("audit.commit"),
                                  self.t("audit.subject")], changes)
        approvals = []
        for a in tr.approvals:
            approvals.append([fmt_time(instant_or_none(a.at)),
                              self.person(here, a.person) if a.person else md_escape(self.m.text(a.name) or "—"),
                              m.role_label(a.role, self.lang) if a.role else "—",
                              m.status_label(rec.kind, a.status, self.lang) if a.status else "—",
                              external_link(self.t("audit.review"), a.reviewed_on) if a.reviewed_on else "—",
                              code(a.commit[:10])])
        block["approvals"] = table([self.t("word.at"), self.t("case.approval_by"), self.t("word.role"),
                                    self.t("case.approval_step"), self.t("audit.review"), self.t("audit.commit")],
                                   approvals)
        block["findings"] = [(self.rule_label(f.rule), _rule_code(f.rule), self.t(f"audit.severity.{f.severity}")
                              if f.severity in ("error", "warning") else f.severity,
                              self.finding_text(f, tr.kind or rec.kind)) for f in tr.findings]
        return block

    def audit_findings(self) -> list[tuple]:
        """(trail, finding) of every record, errors first, then by record id."""
        if "_findings" not in self.__dict__:
            found = [(t, f) for t in self.m.trails.values() for f in t.findings]
            found.sort(key=lambda x: (x[1].severity != "error", x[0].id, x[1].rule))
            self.__dict__["_findings"] = found
        return self.__dict__["_findings"]

    # --- approvals pending and violations ---------------------------------------------------------------
    def approvals_page(self) -> None:
        m, here = self.m, APPROVALS_PAGE
        pending = []
        for w in m.pending:  # `cases.waiting_approval`: the longest waiting first
            rec = w.record
            pending.append([
                self.record_link(here, rec.id), m.kind_label(rec.kind, self.lang),
                m.status_label(rec.kind, w.status, self.lang),
                " / ".join(m.status_label(rec.kind, step, self.lang) for step, _ in w.steps),
                ", ".join(m.role_label(role, self.lang) for role in w.roles),
                Markup(", ").join(self.person(here, p) for p in w.approvers) if w.approvers else self.t("approvals.no_holder"),
                self.person(here, get(rec.data, "filled_by")), fmt_time(w.since)])
        found = self.audit_findings()
        limit = int(self.o["problems_limit"])
        rows = []
        for tr, f in found[:limit]:
            rows.append([self.record_link(here, tr.id),
                         m.kind_label(tr.kind, self.lang) if tr.kind else "",
                         self.rule_label(f.rule), _rule_code(f.rule),
                         self.t(f"audit.severity.{f.severity}") if f.severity in ("error", "warning") else f.severity,
                         self.finding_text(f, tr.kind), code(f.commit[:10]) if f.commit else "—"])
        self.render(here, "approvals.md.j2",
                    pending=table([self.t("word.record"), self.t("word.kind"), self.t("word.status"),
                                   self.t("approvals.step"), self.t("word.role"), self.t("approvals.who"),
                                   self.t("approvals.filled_by"), self.t("word.updated")], pending),
                    n_pending=len(pending), audit_available=m.audit_available,
                    summary=table([self.t("audit.rule"), self.t("word.count")],
                                  [[self.rule_label(r), n] for r, n in audit_trail.by_rule(f for _, f in found)]),
                    findings=table([self.t("word.record"), self.t("word.kind"), self.t("audit.rule"), self.t("audit.rule_id"),
                                    self.t("word.severity"), self.t("word.message"), self.t("audit.commit")], rows),
                    n_findings=len(found), limit=limit,
                    guide=self.link_to(here, self.t("approvals.guide"), "approvals.md")
                    if (m.root / "docs" / "approvals.md").is_file() else None)

    def refs_of(self, rec) -> list[str]:
        """IDs referenced by a record, found through the schema's x-ref-kind markers."""
        out: list[str] = []

        def walk(value, node, base, depth):
            if depth > 30:
                return
            node, base = self.m.view.resolve(node, base)
            if node.get("x-ref-kind") and isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict):
                props = {n: (s, b) for n, s, b in self.m.view.properties(node, base)}
                for k, v in value.items():
                    if k in props:
                        walk(v, props[k][0], props[k][1], depth + 1)
            elif isinstance(value, list):
                item, ib = self.m.view.items(node, base)
                for v in value:
                    walk(v, item, ib, depth + 1)

        node, base = self.m.view.root(rec.kind)
        if isinstance(rec.data, dict):
            walk(rec.data, node, base, 0)
        return out

    # --- record forms -------------------------------------------------------------------------------
    def value(self, here: str, node: dict, value, base: str = "") -> Markup:
        """One value formatted by its schema node (record text always escaped)."""
        if value is None or value == "":
            return Markup("—")
        vt = value_type(node)
        if isinstance(value, bool):
            return md_escape(self.t("word.yes" if value else "word.no"))
        if node.get("enum") is not None or node.get("x-enum-labels"):
            return md_escape(enum_label(node, value, self.lang))
        if vt == "ref" and isinstance(value, str):
            return self.record_link(here, value, self.short(value))
        if vt == "money" and isinstance(value, dict):
            amount = value.get("amount")
            # not a number: a broken record (the schema check reports it, located), shown as written
            number = isinstance(amount, (int, float)) and not isinstance(amount, bool)
            amt = f"{amount:,.2f}" if number else "" if amount is None else str(amount)
            return md_escape(f"{amt} {value.get('currency') or ''}".strip())
        if vt == "instant" and isinstance(value, str):
            return md_escape(value.replace("T", " "))
        if isinstance(value, dict):
            parts = []
            for name, sub, sb in self.m.view.properties(node, base):
                if name in value and value[name] not in (None, ""):
                    shown = self.value(here, sub, value[name], sb)
                    if value_type(sub) in ("ref", "instant", "date"):
                        parts.append(shown)  # a signature: who and when speak for themselves
                    else:
                        parts.append(Markup(f"{md_escape(schema_title(sub, self.lang, name))}: {shown}"))
            return Markup("; ").join(parts) if parts else md_escape("")
        if isinstance(value, list):
            item, ib = self.m.view.items(node, base)
            return Markup("; ").join(self.value(here, item, v, ib) for v in value)
        return md_escape(value)

    def form(self, here: str, rec) -> Markup:
        """A record laid out like its paper form: sections, label/value rows, item tables."""
        m = self.m
        data = m.masked(rec)
        if not isinstance(data, dict):
            return Markup("")
        root, base = m.view.root(rec.kind)
        sections: dict[str, list] = {}
        order: list[str] = []
        for name, node, nb in m.view.properties(root, base):
            if name in SKIP_FORM_FIELDS or name not in data:
                continue
            sec = str(node.get("x-section") or "")
            if sec not in sections:
                sections[sec] = []
                order.append(sec)
            sections[sec].append((name, node, nb))
        out: list[str] = []
        for sec in order:
            if sec:
                out.append(f"**{md_escape(self.section_label(rec.kind, sec))}**\n")
            rows = []
            blocks = []
            for name, node, nb in sections[sec]:
                label = schema_title(node, self.lang, name)
                value = data[name]
                vt = value_type(node)
                item, ib = m.view.items(node, nb) if vt == "array" else ({}, nb)
                if vt == "array" and isinstance(value, list) and value and value_type(item) == "object" \
                        and not item.get("x-sb-def") in ("attachment",):
                    blocks.append((label, self.item_table(here, item, ib, value)))
                elif vt == "object" and isinstance(value, dict) and value_type(node) != "money":
                    for sname, snode, sb in m.view.properties(node, nb):
                        if sname in value:
                            rows.append([Markup(f"{md_escape(label)} › {md_escape(schema_title(snode, self.lang, sname))}"),
                                         self.value(here, snode, value[sname], sb)])
                else:
                    rows.append([label, self.value(here, node, value, nb)])
            if rows:
                out.append(str(table([self.t("word.field"), self.t("word.value")], rows)))
            for label, tbl in blocks:
                out.append(f"*{md_escape(label)}*\n")
                out.append(str(tbl))
        return Markup("\n".join(out))

    def item_table(self, here: str, item: dict, base: str, values: list) -> Markup:
        props = self.m.view.properties(item, base)
        present = [(n, s, b) for n, s, b in props if any(isinstance(v, dict) and n in v for v in values)]
        head = ["#"] + [schema_title(s, self.lang, n) for n, s, b in present]
        rows = []
        for i, v in enumerate(values, 1):
            v = v if isinstance(v, dict) else {}
            rows.append([str(i)] + [self.value(here, s, v.get(n), b) for n, s, b in present])
        return table(head, rows)

    def section_label(self, kind: str, sec: str) -> str:
        root, _ = self.m.view.root(kind)
        labels = root.get("x-sections")
        if isinstance(labels, dict):
            labels = [{"id": k, **v} for k, v in labels.items() if isinstance(v, dict)]
        for entry in labels if isinstance(labels, list) else []:
            if isinstance(entry, dict) and entry.get("id") == sec:
                return str(entry.get(self.lang) or entry.get("en") or sec)
        node, _ = self.m.view.resolve({"$ref": "common.schema.json#/definitions/role"}, "common.schema.json")
        label = enum_label(node, sec.replace("-", "_"), self.lang)
        return label if label != sec.replace("-", "_") else sec.replace("-", " ").replace("_", " ").capitalize()

    # --- customers -----------------------------------------------------------------------------------
    def devices(self, here: str, cid: str) -> list[Markup]:
        out = []
        for rec in self.by_customer("installation").get(cid, []):
            root, base = self.m.view.root(rec.kind)
            data = self.m.masked(rec)
            for name, node, nb in self.m.view.properties(root, base):
                if name in SKIP_FORM_FIELDS:  # the history is not equipment (it showed raw person IDs)
                    continue
                item, ib = self.m.view.items(node, nb)
                if value_type(node) == "array" and isinstance(data.get(name), list) and value_type(item) == "object" \
                        and item.get("x-sb-def") != "attachment" and data[name]:
                    out.append((self.record_link(here, rec.id), self.status(rec), self.item_table(here, item, ib, data[name])))
        return out

    def customers_index(self) -> None:
        here = "customers/index.md"
        m = self.m
        counts = cases.customer_counts(m.chains)
        none = cases.CustomerCases(0, 0)
        tier_field = "service_tier"
        rows = []
        for rec in sorted(m.by_kind.get("customer", []), key=lambda r: r.id):
            n = counts.get(rec.id, none)
            tier_node = m.view.node("customer", tier_field) if tier_field else None
            said = self.satisfactions.get(rec.id)
            share = satisfaction.share(said) if said else None
            mean = satisfaction.mean(said) if said else None
            rows.append([self.customer_cell(here, rec.id),
                         self.value(here, tier_node or {}, get(rec.data, tier_field)) if tier_field else "",
                         n.open, n.all, "—" if share is None else f"{share:g}% ({said.solved}/{said.answered})",
                         "—" if mean is None else f"{mean:.2f}"])
        self.render(here, "customers.md.j2", rows=table(
            [self.t("word.customer"), self.t("word.tier"), self.t("customer.open_cases"), self.t("customer.all_cases"),
             self.t("satisfaction.col.share"), self.t("satisfaction.col.mean")], rows),
            satisfaction_link=self.link_to(here, self.t("satisfaction.title"), people.SATISFACTION))

    def by_customer(self, kind: str) -> dict[str, list]:
        """Records of `kind` grouped by customer, computed once (keeps customer pages linear)."""
        cache = self.__dict__.setdefault("_by_customer", {})
        if kind not in cache:
            groups: dict[str, list] = defaultdict(list)
            if kind == "chain":
                groups.update(cases.by_customer(self.m.chains))
            else:
                for r in self.m.by_kind.get(kind, []):
                    groups[self.m.customer_id(r)].append(r)
            cache[kind] = groups
        return cache[kind]

    def customer_page(self, rec) -> None:
        m = self.m
        here = f"customers/{rec.id}.md"
        key = self.kept(here, pagekeys.customer_key, rec)
        if key is True:
            return
        chains = self.by_customer("chain").get(rec.id, [])
        callbacks = self.by_customer("callback").get(rec.id, [])
        said = self.satisfactions.get(rec.id)
        value = self.values().score(rec.id)
        self.render(here, "customer.md.j2", cid=rec.id, name=names.full_name(m.shown(rec.id), self.lang),
                    flag=self.flag(self.clocks_by_customer().get(rec.id, ())),
                    profile=self.form(here, rec),
                    devices=self.devices(here, rec.id),
                    open_cases=table(self.chain_head(), [self.chain_row(here, ch) for ch in chains if ch.open]),
                    all_cases=table(self.chain_head(), [self.chain_row(here, ch) for ch in chains if not ch.open]),
                    sat=said.solved if said else 0, sat_total=said.answered if said else 0,
                    score=f"{satisfaction.mean(said):g} / 5" if said and said.mean is not None else None,
                    visits=said.visits if said else 0, visit_problems=said.problems_reported if said else 0,
                    callbacks=table([self.t("word.record"), self.t("customer.purpose"), self.t("word.status"), self.t("word.created")],
                                    [[self.record_link(here, r.id), enum_label(m.view.node("callback", "purpose") or {},
                                                                              feedback.purpose(r), self.lang),
                                      self.status(r), fmt_time(m.created(r))]
                                     for r in sorted(callbacks, key=lambda r: r.id)]),
                    value_index=f"{value_index.shown(value.index)} / 100" if value else None,
                    value_coverage=f"{value.coverage:.0%}" if value else None)
        self.keep(here, key)

    def clocks_by_customer(self) -> dict[str, list]:
        """The engine's clocks grouped by customer, once per generation (customer pages stay linear)."""
        found = self.__dict__.get("_clocks_by_customer")
        if found is None:
            found = self.__dict__["_clocks_by_customer"] = defaultdict(list)
            for c in self.m.raw_clocks:
                if isinstance(c.customer, str):
                    found[c.customer].append(c)
        return found

    def flag(self, clocks) -> str | None:
        """The SLA flag of a case or customer page's header (`attention.flag`), as a label."""
        state = attention_mod.flag(list(clocks))
        return self.t("flag.text", state=self.t(f"flag.{state}")) if state else None

    # once per generation each (a generator is one build's): what each customer's callbacks said
    # (`servicebook.derive.aftersales.feedback.satisfaction`), the callbacks' answers overall, per
    # person and per month (`servicebook.derive.satisfaction`, as `servicebook report satisfaction`)
    @functools.cached_property
    def satisfactions(self):
        return feedback.satisfaction(self.m.c, self.m.as_of)

    @functools.cached_property
    def satisfaction_figures(self):
        return satisfaction.figures(self.m.c, self.m.as_of, self.m.raw_clocks)

    @functools.cached_property
    def satisfaction_by_person(self) -> dict:
        return dict(self.satisfaction_figures.by_person)

    def values(self):
        """The customer value index (source 003) as of the build's moment, from the one module
        that computes it (`servicebook.derive.aftersales.value_index`); built once per generation, on the raw
        corpus, like the after-sales value page and `servicebook report value`."""
        vi = self.__dict__.get("_values")
        if vi is None:
            vi = self.__dict__["_values"] = value_index.ValueIndex(self.m.c, self.m.as_of)
        return vi

    # --- SLA ---------------------------------------------------------------------------------------
    def compliance(self, by: str) -> list[tuple[str, int, int, float | None, object]]:
        """(label, met, breached, compliance %, group key) per group, by the SLA engine's own
        grouping and figure (`reports.compliance`, last cycles)."""
        m = self.m
        rows = m.sla.compliance(m.raw_clocks, by)
        last = {raw.key: raw for raw in m.raw_clocks}  # a clock's title: that of the last of its name
        titles = {name: m.clock(raw).label(self.lang) for name, raw in last.items()}
        tier_node, _ = m.view.resolve({"$ref": "common.schema.json#/definitions/tier"}, "common.schema.json")
        dept_node = m.view.node("person", "department") or {}
        out = []
        for g in rows:
            key = g.get("key")
            if key is None:
                label = self.t("word.unknown")
            elif by == "clock":
                label = titles.get(key, key)
            elif by == "tier":
                label = enum_label(tier_node, key, self.lang)
            elif by == "department":
                label = enum_label(dept_node, key, self.lang)
            elif by == "person":
                label = self.short(key)
            else:
                label = str(key)
            out.append((label, int(g.get("met", 0)), int(g.get("breached", 0)), g.get("compliance"), key))
        return out

    def sla_pages(self) -> None:
        m, here = self.m, "sla/index.md"
        dims = [("clock", self.t("sla.by_clock")), ("month", self.t("sla.by_month")), ("tier", self.t("sla.by_tier")),
                ("department", self.t("sla.by_department")), ("person", self.t("sla.by_person"))]
        sections = []
        for key, heading in dims:
            # a group with no clock decided yet (a future month, an inspection not due) has no
            # compliance to show: an empty bar and a "—" row said nothing
            rows = [r for r in self.compliance(key) if r[1] + r[2]]
            tbl = table([heading, self.t("word.met"), self.t("word.breached"), self.t("word.compliance")],
                        [[self.person(here, group) if key == "person" and group else k, a, b, "—" if pct is None else f"{pct:g}%"]
                         for k, a, b, pct, group in rows])
            img = None
            if key != "month" or len(rows) >= 2:  # one month is no time series: the table says it
                chart_path = f"sla/{key}.svg"
                self.out[chart_path] = charts.compliance_bars([r[:4] for r in rows[:40]], heading, self.t("chart.no_data"))
                img = Markup(f"![{md_escape(self.t('sla.chart_alt', what=heading))}]({relurl(here, chart_path)})")
            sections.append((heading, img, tbl))
        breaches, at_risk = self.breaches_and_risks()
        late = [m.clock(i.clock) for i in self.attention().late]
        closed_late = [m.clock(c) for c in m.sla.closed_late(m.raw_clocks)]
        delay_people, delay_rows = self.delays(here)
        self.render(here, "sla.md.j2", sections=sections,
                    late=table(self.late_head(), self.late_rows(here, late[:500])), n_late=len(late),
                    closed_late=table(self.late_head(), self.late_rows(here, closed_late[:500])), n_closed_late=len(closed_late),
                    n_breaches=len(breaches),
                    at_risk=table(self.clock_head(), self.clock_rows(here, at_risk[:500])),
                    delay_people=delay_people, delay_rows=delay_rows)

    def delays(self, here: str):
        """Why was it late (seed 001): breached clocks with and without a recorded reason, per
        person and one by one (`servicebook.derive.delays`, as `servicebook report delays`)."""
        m = self.m
        found = delays_mod.delays(m.c, m.as_of, m.raw_clocks)
        node, _ = m.view.resolve({"$ref": "common.schema.json#/definitions/delay_reason"}, "common.schema.json")
        category = ((node or {}).get("properties") or {}).get("category") or {}
        people = table([self.t("word.person"), self.t("delays.breached"), self.t("delays.explained"),
                        self.t("delays.unexplained"), self.t("delays.unexplained_overdue")],
                       [[self.person(here, r.owner), r.breached, r.explained, r.unexplained,
                         m.sla.format_duration(r.unexplained_overdue_seconds)] for r in delays_mod.by_person(found)])
        rows = [[self.record_link(here, d.case), f"{d.title_zh if self.lang == 'zh' else d.title} ({d.clock})", self.person(here, d.owner),
                 fmt_time(instant_or_none(d.deadline)), m.sla.format_duration(d.overdue_seconds),
                 enum_label(category, d.reason.category, self.lang) if d.reason and d.reason.category else "—",
                 m.text(d.reason.reason) if d.reason else self.t("delays.none"),
                 self.person(here, d.reason.by) if d.reason else "—"] for d in found[:500]]
        return people, table([self.t("word.record"), self.t("word.clock"), self.t("word.person"), self.t("word.deadline"),
                              self.t("delays.overdue"), self.t("delays.category"), self.t("delays.reason"),
                              self.t("delays.by")], rows)

    def breaches_and_risks(self):
        """Breach list (most overdue first) and at-risk queue (earliest deadline, then the
        higher customer value first), both from the SLA engine."""
        m = self.m
        breaches = [m.clock(c) for c in m.sla.breach_list(m.raw_clocks, "last")]
        at_risk = [m.clock(i.clock) for i in self.attention().at_risk]  # the home page's queue
        return breaches, at_risk

    # --- weekly ------------------------------------------------------------------------------------
    # the records the weekly page reads besides the open complaints and the week's new records
    # (`weekly`): the deals (the pre-sales pages' kinds), the customers' opinions, lost solutions
    WEEKLY_KINDS = presales.KINDS + tuple(feedback.OPINION_FIELDS)

    def weekly(self) -> None:
        m = self.m
        end = m.as_of
        start = end - timedelta(days=7)
        # complaints still open (a resolved one waits only for the CS manager's confirmation), with
        # their owners by their clocks; and the case records opened this week, by kind
        unresolved = [(rec, status, created, age, attention_mod.owner(m.raw_clocks_of.get(rec.id, ())))
                      for rec, status, created, age in cases.unresolved(m.c, "complaint", end, done=("resolved",))]
        opened = cases.opened(m.c, start, end)

        def inputs():  # what the page shows of them
            return ([(rec.id, status, created, age, owner, m.customer_id(rec)) for rec, status, created, age, owner
                     in unresolved], opened)
        self.out.update(self.group("weekly", self.WEEKLY_KINDS,
                                   self.made(lambda: self._weekly(start, end, unresolved, opened)), inputs))

    def _weekly(self, start: datetime, end: datetime, unresolved: list, opened: dict) -> None:
        m, here = self.m, "weekly.md"
        # long negotiations: `pipeline.long_negotiation`, the one test (`servicebook pipeline` too),
        # against the negotiation clock of the solutions' SLA policy
        overdue = []
        for d in pipeline.long_negotiations(m.c, end):
            solution = d.records.get("solution")
            overdue.append([self.record_link(here, d.survey), self.record_link(here, solution) if solution else "—",
                            self.customer_cell(here, d.customer), fmt_time(d.stage_since),
                            "—" if d.days_in_stage is None else f"{d.days_in_stage:g}", fmt_time(d.deadline),
                            self.person(here, d.salesperson), self.person(here, d.manager)])
        limit = pipeline.negotiation_limit(m.c)
        limit_text = " / ".join(dict.fromkeys(target_text(t, self.lang) for t in limit["targets"].values())) if limit else ""
        unresolved = [[self.record_link(here, rec.id), m.status_label("complaint", status, self.lang),
                       self.person(here, owner), self.customer_cell(here, m.customer_id(rec)), fmt_time(created),
                       "" if age is None else age] for rec, status, created, age, owner in unresolved]
        # the customers' words of the week (`feedback.opinions`), shown as their forms show them (masked)
        opinions = [[fmt_time(o.at), self.record_link(here, o.record.id), self.customer_cell(here, m.customer_id(o.record)),
                     self.value(here, m.view.node(o.record.kind, o.field) or {}, get(m.masked(o.record), o.field))]
                    for o in feedback.opinions(m.c, start, end)]
        lost = [[fmt_time(e.at), self.record_link(here, e.record.id), self.customer_cell(here, m.customer_id(e.record)),
                 m.text(e.note)] for e in cases.entered(m.c, "solution", "lost", start, end)]
        new = [[m.kind_label(kind, self.lang), n] for kind, n in opened.items()]
        self.render(here, "weekly.md.j2", start=fmt_date(start), end=fmt_date(end),
                    limit=limit_text, limit_policy=limit["policy"] if limit else None,
                    overdue=table([self.t("presales.col.deal"), self.t("word.record"), self.t("word.customer"),
                                   self.t("weekly.negotiating_since"), self.t("presales.col.days"),
                                   self.t("weekly.limit_reached"), self.t("presales.col.sales"),
                                   self.t("presales.col.manager")], overdue),
                    unresolved=table([self.t("word.record"), self.t("word.status"), self.t("first.owner"), self.t("word.customer"),
                                      self.t("word.created"), self.t("word.age_days")], unresolved),
                    opinions=table([self.t("word.at"), self.t("word.record"), self.t("word.customer"), self.t("word.opinion")],
                                   opinions),
                    lost=table([self.t("word.at"), self.t("word.record"), self.t("word.customer"), self.t("word.note")], lost),
                    new=table([self.t("word.kind"), self.t("word.count")], new))

    # --- knowledge base, forms, problems -----------------------------------------------------------
    def kb(self) -> None:
        self.render("kb/index.md", "kb.md.j2")

    def field_rows(self, kind: str):
        m = self.m
        rows = []

        def walk(node, base, prefix, required, depth):
            for name, sub, sb in m.view.properties(node, base):
                path = f"{prefix}{name}"
                vt = value_type(sub)
                item, ib = m.view.items(sub, sb) if vt == "array" else ({}, sb)
                rows.append([code(path), schema_title(sub, "zh", name), schema_title(sub, "en", name),
                             self.type_label(sub, item), self.t("word.yes") if name in required else "",
                             self.allowed(sub if vt != "array" else item), _with_code(description(sub, self.lang))])
                if depth < 4 and vt == "object" and vt != "money" and sub.get("x-sb-def") not in ("money",):
                    walk(sub, sb, path + ".", m.view.required(sub), depth + 1)
                elif depth < 4 and vt == "array" and value_type(item) == "object":
                    walk(item, ib, path + "[].", m.view.required(item), depth + 1)

        root, base = m.view.root(kind)
        walk(root, base, "", m.view.required(root), 0)
        return rows

    def type_label(self, node: dict, item: dict) -> str:
        vt = value_type(node)
        if vt == "ref":
            kinds = node.get("x-ref-kind")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            return self.t("type.ref", kind=" / ".join(self.m.kind_label(k, self.lang) for k in kinds if isinstance(k, str)))
        if vt == "array":
            return self.t("type.list_of", item=self.type_label(item, {})) if item else self.t("type.array")
        return self.t(f"type.{vt}")

    def allowed(self, node: dict) -> str:
        enum = node.get("enum")
        if isinstance(enum, list):
            # the value as written in a record is code (meant literally), its label in the page's language
            return Markup(", ").join(Markup(f"{_code(v)} ({md_escape(enum_label(node, v, self.lang))})")
                                     if enum_label(node, v, self.lang) != str(v) else _code(v) for v in enum)
        if "const" in node:
            return str(node["const"])
        parts = []
        if node.get("pattern") and value_type(node) not in ("instant", "date", "ref"):
            parts.append(f"/{node['pattern']}/")
        for key, sym in (("minimum", "≥"), ("maximum", "≤")):
            if key in node:
                parts.append(f"{sym} {node[key]}")
        return " ".join(parts)

    def forms(self) -> None:
        m = self.m
        here = "forms/index.md"
        case_kinds = [k for k in m.view.kinds if k in m.case_kinds]
        ref_kinds = [k for k in m.view.kinds if k not in m.case_kinds]
        prefixes = _prefixes()

        def row(k):
            node, _ = m.view.root(k)
            return [self.link_to(here, k, f"forms/{k}.md"), schema_title(node, "zh", k), schema_title(node, "en", k),
                    prefixes.get(k, ""), _with_code(description(node, self.lang))]

        head = [self.t("word.kind"), self.t("word.label_zh"), self.t("word.label_en"), self.t("word.id"), self.t("word.description")]
        self.render(here, "forms.md.j2", cases=table(head, [row(k) for k in case_kinds]),
                    reference=table(head, [row(k) for k in ref_kinds]))
        for kind in m.view.kinds:
            self.form_page(kind, prefixes.get(kind, ""))

    def form_page(self, kind: str, prefix: str) -> None:
        m = self.m
        here = f"forms/{kind}.md"
        root, _ = m.view.root(kind)
        statuses = []
        for st in m.statuses(kind):
            notes = []
            if st in m.initial(kind):
                notes.append(self.t("forms.initial"))
            role = m.approval_role(kind, st)
            if role:
                notes.append(self.t("forms.approval", role=m.role_label(role, self.lang)))
            if m.is_pause(kind, st):
                notes.append(self.t("forms.pause"))
            if m.is_final(kind, st):
                notes.append(self.t("forms.final"))
            statuses.append([code(st), m.status_label(kind, st, "zh"), m.status_label(kind, st, "en"),
                             "; ".join(notes), ", ".join(m.transitions(kind, st))])
        examples = root.get("examples")
        example = None
        if isinstance(examples, list) and examples and isinstance(examples[0], dict):
            # examples are masked like records: they may hold real-looking contact data
            shown = m.masker.record(kind, examples[0])
            example = code_block(yaml.safe_dump(shown, allow_unicode=True, sort_keys=False), "yaml")
        folder = f"records/{kind}/" + ("YYYY/" if kind in m.case_kinds else "")
        self.render(here, "form.md.j2", kind=kind, title_zh=schema_title(root, "zh", kind), title_en=schema_title(root, "en", kind),
                    description=_with_code(description(root, self.lang)), folder=folder, prefix=prefix,
                    statuses=table([self.t("word.status"), self.t("word.label_zh"), self.t("word.label_en"), self.t("word.note"),
                                    self.t("forms.transitions")], statuses),
                    fields=table([self.t("word.field"), self.t("word.label_zh"), self.t("word.label_en"), self.t("word.type"),
                                  self.t("word.required"), self.t("word.allowed"), self.t("word.description")], self.field_rows(kind)),
                    example=example)

    def problems(self) -> None:
        here = "problems.md"
        probs = list(getattr(self.m.c, "problems", []) or [])
        limit = int(self.o["problems_limit"])
        root = self.m.root

        top = root.resolve()

        def rel(f):  # problems name files relative to the root; an absolute one under it is shortened
            path = Path(str(f))
            path = path.resolve() if path.is_absolute() else path
            return str(path.relative_to(top)) if path.is_relative_to(top) else str(f)

        rows = [[rel(getattr(p, "file", "")), getattr(p, "line", "") or "",
                 _code(p.path) if getattr(p, "path", "") else "", _rule_code(getattr(p, "rule", "")),
                 self.t(f"problem.severity.{p.severity}") if p.severity in ("error", "warning") else p.severity,
                 self.problem_text(p)] for p in probs[:limit]]
        self.render(here, "problems.md.j2", n=len(probs), limit=limit,
                    rows=table([self.t("word.file"), self.t("word.line"), self.t("word.path"), self.t("word.rule"),
                                self.t("word.severity"), self.t("word.message")], rows))


def _code(value) -> Markup:
    """A value of a schema (an enum key) as a code span."""
    return code(str(value))


def _with_code(text) -> Markup:
    """A schema description: its `quoted` names as code spans (they are field names and values,
    meant literally), the rest escaped text; without a closing backtick, all escaped text."""
    parts = str(text or "").split("`")
    if len(parts) % 2 == 0:
        return md_escape(text or "")
    return Markup("").join(_code(p) if i % 2 and p else md_escape(p) for i, p in enumerate(parts))


def _rule_code(rule) -> Markup | str:
    """A finding's rule ID (`approval.missing`) as code: an identifier, meant literally."""
    return code(rule) if isinstance(rule, str) and re.fullmatch(r"[a-z0-9.\-]+", rule) else str(rule)


def _short(text, n: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _prefixes() -> dict[str, str]:
    from servicebook.load.records import KINDS

    return {name: kind.prefix for name, kind in KINDS.items()}


# Page modules of other parts of the process (each `groups(corpus, lang, at, ...)`: its pages in groups
# kept apart, `_Generator.group`; and `pages(corpus, lang, at, ...) -> {path: md}`, all of them),
# beside this one. Their pages are added as they are; a generated page of ours at the same path is
# kept, except the knowledge-base placeholder, which the knowledge-base module replaces. They are
# part of the package: a module that fails to import or a page that raises is a bug and fails the
# build with its traceback (a swallowed ImportError once let a stand-in formula publish a second
# customer value index; issue #14). Bad record data is each section's to show, never to raise on.
SECTION_MODULES = ("aftersales", "presales")
REPLACEABLE = {"kb/index.md"}


def _add_section_pages(gen: "_Generator", out: dict, corpus, opts: dict) -> None:
    import importlib

    for name in SECTION_MODULES:
        mod = importlib.import_module(f"servicebook.site.{name}")
        started = time.monotonic()
        n = 0
        for group, kinds, make, inputs in mod.groups(corpus, opts["lang"], opts["as_of"], where=gen.where.get,
                                                     options=opts):
            extra = gen.group(group, kinds, make, inputs)
            n += len(extra)
            for path, content in extra.items():
                if path not in out or path in REPLACEABLE:
                    out[path] = content
        log.info("servicebook: %d %s pages in %.1f s", n, name, time.monotonic() - started)
