"""What the pages need from the corpus, computed once per build.

This is the one place that touches the corpus API (`servicebook.load.corpus`), the lifecycle and the
SLA engine, so the templates and page functions see plain values. Every access to record data is
defensive: the corpus keeps records that fail validation, and the site still shows what it can. Case
chains, open cases and approvals waiting come from `servicebook.derive.cases`; the site only decides
which chains get a page of their own (the page budget and the detail window).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


from .markup import is_safe_id
from .mask import MaskedCorpus, Masker
from .schemaview import SchemaView, enum_label, title as schema_title
from servicebook.derive import cases
from servicebook.derive.audit import trail as audit
from servicebook.derive.personal import Known
from servicebook.derive.sla import reports as sla_reports
from servicebook.derive.sla.engine import Engine
from servicebook.load.instants import ZONE
from servicebook.write.pagestore import KeptMasks, code_digest, digest, masks_file
from servicebook.load.records import ById, get  # noqa: F401 (get: re-exported for the site and reports)

log = logging.getLogger("mkdocs.plugins.servicebook")

# Case chains, open cases and approvals waiting are derived (`servicebook.derive.cases`, the one
# rule of the pages and `servicebook report cases`); the site decides only which chains get a page.
Chain = cases.Chain
Entry = cases.Entry


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
        # masked data kept between builds when the build keeps its pages (`write.pagestore`)
        self.kept_masks = (KeptMasks(masks_file(self.root), digest(code_digest(), corpus.schemas.digest,
                                                                   self.masker.known.digest))
                           if masking and options.get("store") is not None else None)
        self.by_kind: dict[str, list] = defaultdict(list)
        for rec in self.records.values():
            self.by_kind[rec.kind].append(rec)
        self._masked: dict[str, Any] = {}
        self.case_kinds = list(cases.CASE_KINDS)      # the kinds whose records are cases
        self.lifecycle_kinds = corpus.lifecycle.kinds()  # the kinds with statuses (kb too)
        self.chains: list[Chain] = cases.chains(corpus, self.as_of)
        self.chain_of: dict[str, Chain] = {r.id: ch for ch in self.chains for r in ch.records}
        self.open = cases.open_cases(corpus, self.as_of, self.chains)
        self.page_of: dict[str, str] = {}          # root id -> docs path of the chain's own page
        self.archive_of: dict[str, str] = {}       # root id -> archive page listing the chain
        self._plan_pages()
        self.sla = sla_reports  # the report helpers over the engine's own clocks (`raw_clocks`)
        self.raw_clocks: list = Engine(corpus).clocks(self.as_of)
        # record id -> the engine's clocks of it, in the engine's order: a case page asks for its
        # records' clocks, and scanning every clock per page was quadratic
        self.raw_clocks_of: dict[str, list] = {}
        for raw in self.raw_clocks:
            self.raw_clocks_of.setdefault(raw.case, []).append(raw)
        self._clocks: dict[int, Clock] = {}  # id of the engine's clock -> its `Clock`, made when shown
        # audit trails from git history: record id -> audit.Trail (deleted records too)
        self.audit_people = None
        self.trails, self.audit_available = self._load_audit()
        self.pending: list[cases.Waiting] = cases.waiting_approval(corpus, self.as_of)

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
            if self.kept_masks is None:
                self._masked[rec.id] = self.masker.record(rec.kind, data)
            else:
                self._masked[rec.id] = self.kept_masks.get(rec, lambda: self.masker.record(rec.kind, data))
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

    def created(self, rec) -> datetime | None:
        return cases.created(rec)

    def last_change(self, rec) -> datetime | None:
        """The record's last change as of the build's moment (`servicebook.derive.cases`)."""
        return cases.last_change(rec, self.as_of)

    def shown(self, rid):
        """The record ``rid`` names as pages show it (masked on a masked build), or None. Names
        come from it through `servicebook.derive.names`, the one naming rule of site and commands."""
        return self.corpus.records.get(rid) if isinstance(rid, str) else None

    def person_department(self, pid: str | None) -> str | None:
        rec = self.records.get(pid) if pid else None
        v = get(rec.data, "department") if rec else None
        return v if isinstance(v, str) else None

    # --- chains: derived (`cases.chains`); which of them get a page is the site's -----------------
    def page(self, ch: Chain) -> str | None:
        return self.page_of.get(ch.root.id)

    def archive_page(self, ch: Chain) -> str | None:
        return self.archive_of.get(ch.root.id)

    def _plan_pages(self) -> None:
        """Open chains always have a page (they are the work in hand); of the closed ones active
        within the detail window, the newest `closed_case_pages_max` do, the rest are rows of the
        paged archive. This keeps the build time bounded however many records there are."""
        window = timedelta(days=int(self.options.get("detail_window_days", 180)))
        cutoff = self.as_of - window
        budget = int(self.options.get("closed_case_pages_max", 1000))
        for ch in self.chains:  # the most recently active first
            if not is_safe_id(ch.root.id) or not (ch.open or ch.last is None or ch.last >= cutoff):
                continue
            if not ch.open:
                if budget <= 0:
                    continue
                budget -= 1
            self.page_of[ch.root.id] = f"cases/{ch.root.id}.md"

    # --- SLA: `Engine(corpus).clocks(as_of)` gives every clock of every case; each is normalised into
    # a `Clock` (the engine's own object kept in `src` for the report helpers of
    # `servicebook.derive.sla.reports`). A failure of the engine fails the build. -----------------
    def clock(self, raw) -> Clock:
        """The engine's clock ``raw`` as the site shows it, made once and only when a page shows
        it: with the case pages kept, a rebuild shows few of 150k clocks."""
        found = self._clocks.get(id(raw))
        if found is None:
            found = self._clocks[id(raw)] = self._clock(raw)
        return found

    def clocks_of(self, rid: str) -> list[Clock]:
        """The clocks of record ``rid``, in the engine's order."""
        return [self.clock(raw) for raw in self.raw_clocks_of.get(rid, ())]

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
        of the tree and every record the history knows), plus the review rules' own findings: what
        `servicebook audit` without arguments reports. A root
        without git history (copied without `.git`, or no commit yet) has no audit: the pages say
        so. Any other failure fails the build."""
        if not has_git_history(self.root):
            log.info("servicebook: %s has no git history (no .git or no commit); no audit trail", self.root)
            return {}, False
        auditor = audit.Auditor(self.root, "HEAD", records=self.records)
        trails = auditor.report(None, fields=True)
        self.audit_people = auditor.people
        return {t.id: t for t in trails}, True

    def person_of_email(self, email) -> str | None:
        """Person id whose `git.email` is `email` (how the audit matches committers and approvers)."""
        people = self.audit_people
        if people is None or not isinstance(email, str) or not email:
            return None
        p = people.by_email.get(email.lower())
        return p.id if p else None
