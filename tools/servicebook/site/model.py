"""What the pages need from the corpus, computed once per build.

This is the one place that touches the corpus API (`servicebook.load.corpus`), the lifecycle and the
SLA engine, so the templates and page functions see plain values. Every access to record data is
defensive: the corpus keeps records that fail validation, and the site still shows what it can.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


from .markup import is_safe_id
from .mask import MaskedCorpus, Masker
from .schemaview import SchemaView, enum_label, title as schema_title
from servicebook.derive.audit import trail as audit
from servicebook.derive.personal import Known
from servicebook.derive.sla import reports as sla_reports
from servicebook.derive.sla.engine import Engine
from servicebook.load.instants import ZONE, instant_or_none
from servicebook.load.records import ById, get  # noqa: F401 (get: re-exported for the site and reports)

log = logging.getLogger("mkdocs.plugins.servicebook")

REFERENCE_KINDS = ("person", "customer", "product", "policy", "calendar")
DEAL_ROOTS = ("survey",)
SERVICE_ROOTS = ("complaint", "repair")
# The stages of a deal, in order. An earlier stage has been handed on once a later one exists
# (a survey stays `handed_over`, which is not final, for ever).
DEAL_STAGES = ("survey", "appraisal", "solution", "feasibility", "contract", "installation")
# Instants of record data: ``load.instants.instant_or_none`` (None for a value that is not one,
# a time without offset included); times are shown in the company zone ``load.instants.ZONE``.




@dataclass
class Entry:
    """One history entry of one record, for timelines and activity lists."""
    at: datetime
    at_text: str
    record: Any
    status: str
    by: str
    note: str


@dataclass
class Chain:
    root: Any
    records: list
    kind: str                       # deal | service | other
    open: bool
    started: datetime | None
    last: datetime | None
    customer: str | None
    page: str | None = None         # docs path of its detail page, None when archived
    archive_page: str | None = None
    entries: list = field(default_factory=list)


@dataclass
class Clock:
    """A normalised SLA clock as the site shows it (see `SiteModel._load_clocks`)."""
    record_id: str
    name: str
    label_en: str
    label_zh: str
    state: str                      # met | breached | at_risk | running | paused | unknown
    deadline: datetime | None
    finished: datetime | None
    tier: str | None
    department: str | None
    person: str | None
    month: str | None
    src: Any = None                 # the engine's own clock object

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" and self.label_zh else (self.label_en or self.name)


def has_git_history(root: Path) -> bool:
    """Whether `root` has a git history to audit. A repository copied without `.git`, or one
    without a commit yet, has none: a real, expected state, which the pages note. Only those two are
    recognised; a `.git` that git cannot read fails the build (GitPython raises)."""
    if not (root / ".git").exists():  # a folder (or, in a worktree, a file)
        return False
    import git  # GitPython

    return git.Repo(root, search_parent_directories=False).head.is_valid()


class SiteModel:
    def __init__(self, corpus, options: dict):
        self.c = corpus
        self.options = options
        self.root = Path(options.get("root") or getattr(corpus, "root", ".") or ".")
        self.as_of: datetime = options["as_of"]
        self.view = SchemaView.of(corpus.schemas)
        self.records = ById(corpus.records)
        masking = not options.get("show_personal_data", False)
        self.masker = Masker(self.view, enabled=masking, known=self._known() if masking else None)
        self.by_kind: dict[str, list] = defaultdict(list)
        for rec in self.records.values():
            self.by_kind[rec.kind].append(rec)
        self._masked: dict[str, Any] = {}
        self.case_kinds = corpus.lifecycle.kinds()
        self.chains: list[Chain] = []
        self.chain_of: dict[str, Chain] = {}
        self._build_chains()
        self.sla = sla_reports  # the report helpers over the engine's own clocks (`raw_clocks`)
        self.raw_clocks: list = Engine(corpus).clocks(self.as_of)
        self.clocks = [self._clock(c) for c in self.raw_clocks]
        # record id -> [(position in self.clocks, clock)]: a case page asks for its records'
        # clocks, and scanning every clock per page was quadratic
        self.clocks_of: dict[str, list[tuple[int, Clock]]] = {}
        for i, clock in enumerate(self.clocks):
            self.clocks_of.setdefault(clock.record_id, []).append((i, clock))
        # audit trails from git history: record id -> audit.Trail (deleted records too)
        self.audit_people = None
        self.trails, self.audit_available = self._load_audit()
        self.pending = self._pending_approvals()

    # --- lifecycle: the corpus's own (schemas/lifecycle.yaml as loaded), never read again here ------
    # An unknown kind or status has no label, transitions or flags; a status that is not text is a
    # broken record, which the schema check reports, located.
    def status_label(self, kind: str, status, lang: str) -> str:
        return self.c.lifecycle.label(kind, status, lang) if isinstance(status, str) else str(status or "")

    def statuses(self, kind: str) -> list[str]:
        return list(self.c.lifecycle.statuses(kind))

    def initial(self, kind: str) -> list[str]:
        return list(self.c.lifecycle.initial(kind))

    def transitions(self, kind: str, status) -> list[str]:
        return list(self.c.lifecycle.allowed(kind, status)) if isinstance(status, str) else []

    def is_final(self, kind: str, status) -> bool:
        return isinstance(status, str) and self.c.lifecycle.is_final(kind, status)

    def is_pause(self, kind: str, status) -> bool:
        return isinstance(status, str) and self.c.lifecycle.is_pause(kind, status)

    def approval_role(self, kind: str, status) -> str | None:
        return self.c.lifecycle.approval_role(kind, status) if isinstance(status, str) else None

    def role_label(self, role: str, lang: str) -> str:
        node, _ = self.view.resolve({"$ref": "common.schema.json#/definitions/role"}, "common.schema.json")
        return enum_label(node, role, lang)

    def kind_label(self, kind: str, lang: str) -> str:
        node, _ = self.view.root(kind)
        return schema_title(node, lang, kind)

    # --- records ------------------------------------------------------------------------------
    def _known(self) -> Known:
        """Every personal value of the corpus (`servicebook.derive.personal`), to mask inside text.
        A failure here fails the build: a masked site that could not mask free text must not be
        published."""
        return Known.of(self.c.schemas, self.records.values())

    def masked(self, rec) -> dict:
        if rec.id not in self._masked:
            data = rec.data if isinstance(rec.data, dict) else {}
            self._masked[rec.id] = self.masker.record(rec.kind, data)
        return self._masked[rec.id]

    def text(self, value):
        """Text from the corpus or its history shown outside a form (a history note, a commit
        subject, a message): known personal values masked unless personal data is shown."""
        return self.masker.text(value)

    @property
    def corpus(self):
        """The corpus as pages may show it: masked records on a masked build, for the sections
        that read the corpus themselves."""
        if not self.masker.enabled:
            return self.c
        if "_masked_corpus" not in self.__dict__:
            self.__dict__["_masked_corpus"] = MaskedCorpus(self.c, self._masked_data)
        return self.__dict__["_masked_corpus"]

    def _masked_data(self, rec):
        return self.masked(rec) if isinstance(rec.data, dict) else self.masker.free(rec.data)

    @staticmethod
    def status(rec):
        s = get(rec.data, "status")
        return s if isinstance(s, str) else None

    @staticmethod
    def customer_id(rec):
        if rec.kind == "customer":
            return rec.id
        v = get(rec.data, "customer")
        return v if isinstance(v, str) else None

    def history(self, rec) -> list[Entry]:
        out = []
        hist = get(rec.data, "history")
        if not isinstance(hist, list):
            return out
        for h in hist:
            if not isinstance(h, dict):
                continue
            at = instant_or_none(h.get("at"))
            if at is None:
                continue
            note = h.get("note")
            out.append(Entry(at, str(h.get("at")), rec, str(h.get("status") or ""),
                             str(h.get("by") or ""), self.masker.text(note) if isinstance(note, str) else ""))
        return out

    def created(self, rec) -> datetime | None:
        at = instant_or_none(get(rec.data, "created_at"))
        if at:
            return at
        hist = self.history(rec)
        return hist[0].at if hist else None

    def last_change(self, rec) -> datetime | None:
        hist = self.history(rec)
        return max((h.at for h in hist), default=None) or self.created(rec)

    def shown(self, rid):
        """The record ``rid`` names as pages show it (masked on a masked build), or None. Names
        come from it through `servicebook.derive.names`, the one naming rule of site and commands."""
        return self.corpus.records.get(rid) if isinstance(rid, str) else None

    def person_roles(self, pid: str) -> list[str]:
        rec = self.records.get(pid)
        roles = get(rec.data, "roles") if rec else None
        if isinstance(roles, list):
            return [r for r in roles if isinstance(r, str)]
        role = get(rec.data, "role") if rec else None
        return [role] if isinstance(role, str) else []

    def person_department(self, pid: str | None) -> str | None:
        rec = self.records.get(pid) if pid else None
        v = get(rec.data, "department") if rec else None
        return v if isinstance(v, str) else None

    # --- chains -------------------------------------------------------------------------------
    def _chain_records_id(self, rid: str) -> list:
        return list(self.c.chain(rid))

    def _chain_records(self, rec) -> list:
        return list(self.c.chain(rec.id)) or [rec]

    def _build_chains(self) -> None:
        case_kinds = set(self.case_kinds)
        groups: dict[str, list] = {}
        roots: dict[str, Any] = {}
        seen: set[str] = set()
        index = getattr(self.c, "index", None)
        if index is not None and hasattr(index, "roots"):
            # the corpus knows its chains: one chain() call per root, linear overall
            for root_id in index.roots():
                chain = [r for r in self._chain_records_id(root_id) if r.kind in case_kinds]
                if not chain:
                    continue
                groups[chain[0].id] = chain
                roots[chain[0].id] = chain[0]
                seen.update(r.id for r in chain)
        case_records = [r for r in self.records.values() if r.kind in case_kinds and r.id not in seen]
        case_records.sort(key=lambda r: r.id)
        for rec in case_records:
            if rec.id in seen:
                continue
            chain = [r for r in self._chain_records(rec) if r.kind in case_kinds] or [rec]
            root = chain[0]
            group = groups.setdefault(root.id, [])
            roots[root.id] = root
            for r in chain:
                if r.id not in seen:
                    seen.add(r.id)
                    group.append(r)
            if rec.id not in seen:
                seen.add(rec.id)
                group.append(rec)
        window = timedelta(days=int(self.options.get("detail_window_days", 180)))
        cutoff = self.as_of - window
        for root_id, recs in groups.items():
            root = roots[root_id]
            kind = "deal" if root.kind in DEAL_ROOTS else "service" if root.kind in SERVICE_ROOTS else "other"
            entries = sorted((e for r in recs for e in self.history(r)), key=lambda e: e.at)
            is_open = any(not self.is_final(r.kind, self.status(r)) for r in self._deciding(kind, recs))
            started = min((d for d in (self.created(r) for r in recs) if d), default=None)
            last = entries[-1].at if entries else started
            customer = next((self.customer_id(r) for r in recs if self.customer_id(r)), None)
            ch = Chain(root, recs, kind, is_open, started, last, customer, entries=entries)
            if is_safe_id(root.id) and (is_open or last is None or last >= cutoff):
                ch.page = f"cases/{root.id}.md"
            self.chains.append(ch)
            for r in recs:
                self.chain_of[r.id] = ch
        self.chains.sort(key=lambda ch: (ch.last or datetime.min.replace(tzinfo=ZONE)), reverse=True)
        # The page budget: open chains always have a page (they are the work in hand); of the
        # closed ones within the window, the newest `closed_case_pages_max` do, the rest are in
        # the paged archive. This keeps the build time bounded however many records there are.
        budget = int(self.options.get("closed_case_pages_max", 1000))
        for ch in self.chains:
            if ch.page and not ch.open:
                if budget > 0:
                    budget -= 1
                else:
                    ch.page = None

    @staticmethod
    def _deciding(kind: str, recs: list) -> list:
        """The records whose status says whether a chain is open: all of them, except in a deal
        the stages before its furthest one."""
        if kind != "deal":
            return recs
        furthest = max((DEAL_STAGES.index(r.kind) for r in recs if r.kind in DEAL_STAGES), default=-1)
        return [r for r in recs if r.kind not in DEAL_STAGES or DEAL_STAGES.index(r.kind) >= furthest]

    # --- SLA: `Engine(corpus).clocks(as_of)` gives every clock of every case; each is normalised into
    # a `Clock` (the engine's own object kept in `src` for the report helpers of
    # `servicebook.derive.sla.reports`). A failure of the engine fails the build. -----------------
    def _clock(self, raw) -> Clock:
        def when(ts):
            return datetime.fromtimestamp(ts, ZONE) if isinstance(ts, (int, float)) else None

        state = str(raw.state)
        return Clock(
            record_id=raw.case, name=raw.key, label_en=raw.title or raw.clock, label_zh=raw.title_zh or raw.title,
            state=state, deadline=when(raw.deadline), finished=when(raw.stopped_at), tier=raw.tier,
            department=raw.department, person=raw.owner, month=raw.month(), src=raw)



    # --- audit ---------------------------------------------------------------------------------
    def _load_audit(self) -> tuple[dict[str, Any], bool]:
        """The audit trails (`servicebook.derive.audit.trail`), keyed by record id.

        One `Auditor` per build: it reads the whole history with one `git log` call and reuses the
        records already loaded; `run(None, fields=True)` gives one `Trail` per record (every record
        of the tree and every record the history knows). The checks are those of `servicebook audit`
        without arguments (old versions are read for the records with approval steps). A root
        without git history (copied without `.git`, or no commit yet) has no audit: the pages say
        so. Any other failure fails the build."""
        if not has_git_history(self.root):
            log.info("servicebook: %s has no git history (no .git or no commit); no audit trail", self.root)
            return {}, False
        auditor = audit.Auditor(self.root, "HEAD", records=self.records)
        trails = auditor.run(None, deep=False, fields=True)
        self.audit_people = auditor.people
        return {t.id: t for t in trails}, True

    def _pending_approvals(self) -> list[tuple[Any, str, str]]:
        """(record, approval status, role) for every record whose next step is an approval
        (`audit.pending_approvals`; needs no git)."""
        return audit.pending_approvals(self.records, self.c.lifecycle)

    def role_holders(self, role: str) -> list[str]:
        """Active people holding `role`, by id."""
        holders = self.__dict__.setdefault("_role_holders", {})
        if role not in holders:
            holders[role] = sorted(r.id for r in self.by_kind.get("person", [])
                                   if role in self.person_roles(r.id) and get(r.data, "active") is not False)
        return holders[role]

    def person_of_email(self, email) -> str | None:
        """Person id whose `git.email` is `email` (how the audit matches committers and approvers)."""
        people = self.audit_people
        if people is None or not isinstance(email, str) or not email:
            return None
        p = people.by_email.get(email.lower())
        return p.id if p else None
