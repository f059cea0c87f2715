"""Site pages for the deal pipeline and delivery (issue 7), as Markdown, in one language.

``pages(corpus, lang, at)`` returns ``{docs path: markdown}``:

* ``pipeline/index.md``: every deal by stage, days in stage against the deadline, lost deals with
  their reasons, bids and referral shares;
* ``pipeline/managers/<person>.md``: per sales manager, long negotiations, late and lost deals, and
  negotiation rounds the manager was not told of;
* ``delivery/index.md``: contracts in delivery;
* ``delivery/<contract>.md``: team, requirements (72 h), changes, a milestone timeline (inline static
  SVG, no script), risks, the latest reports and open problems by level.

Customers and people are named by ``servicebook.derive.names`` (``name (ID)``: the short name in tables
and lists, the full name in page headings), as on every other page and in the commands; a
customer links to its page where the site has one (``where``).

All record text goes through ``markup.md_escape`` / ``markup.table`` (SVG text too: numeric
character references are valid XML and inert Markdown). Customer-side personal names are never
shown. Nothing reads the wall clock: ``at`` is the instant of the build.
"""
from __future__ import annotations

import datetime as _dt
from servicebook.derive import delivery as dlv
from servicebook.derive import names
from servicebook.derive import pipeline as pl
from servicebook.load.instants import ZONE, instant_or_none, parse_instant

from . import charts, i18n
from .markup import href, is_safe_id, link, md_escape, table

# Labels of these pages are in catalogue.yaml (`presales.*`), through i18n; deal stage names are
# the pipeline's own (`pipeline.STAGE_LABELS`), like status labels come from the lifecycle.


class _Ctx:
    def __init__(self, corpus, lang: str, at, where=None, directory_urls: bool = True):
        if lang not in ("zh", "en"):
            raise ValueError(f"unsupported language {lang!r}")
        self.c, self.lang = corpus, lang
        self.at = parse_instant(at)
        self.records = corpus.records
        self.where = where
        self.directory_urls = directory_urls

    def href(self, here: str, target: str) -> str:
        return href(here, target, self.directory_urls)

    def t(self, key: str, **kw) -> str:
        return i18n.t(key, self.lang, **kw)

    @staticmethod
    def has(key: str) -> bool:
        return key in i18n.catalogue()

    def level(self, lv) -> str:
        """A delivery problem's level; one that is not a level (a broken record) as written."""
        key = f"presales.level.{lv}"
        return self.t(key) if isinstance(lv, str) and self.has(key) else str(lv or "—")

    def stage(self, s) -> str:
        labels = pl.STAGE_LABELS.get(s) if isinstance(s, str) else None
        return (labels[1] if self.lang == "zh" else labels[0]) if labels else str(s or "—")

    def name(self, rid) -> str:
        """``name (ID)`` in a table or list (`names.short_name`); '—' without an ID."""
        return names.short_label(self.records, rid, self.lang) or "—"

    def full(self, rid) -> str:
        """``name (ID)`` in a page heading (`names.full_name`); '—' without an ID."""
        return names.full_label(self.records, rid, self.lang) or "—"

    def person(self, here: str, pid):
        """A person in a table: ``name (ID)``, linked to their queue page (`site.people`) where the
        site has one."""
        target = self.where(pid) if self.where is not None and isinstance(pid, str) else None
        return link(self.name(pid), self.href(here, target)) if target else self.name(pid)

    def customer(self, here: str, cid):
        """A customer in a table: its name and ID, linked to its page where the site has one."""
        return self.ref(here, cid, self.name(cid))

    def ref(self, here: str, rid, shown=None):
        """A record (a deal by its survey's ID, a customer) linked to where the site shows it;
        plain text where it is shown nowhere."""
        shown = rid if shown is None else shown
        target = self.where(rid) if self.where is not None and isinstance(rid, str) else None
        if not target:
            return shown if shown is not None else "—"
        return link(shown, self.href(here, target))

    def when(self, value, date_only=False) -> str:
        if value is None:
            return "—"
        dt = value if isinstance(value, _dt.datetime) else instant_or_none(value)
        if dt is None:
            return str(value)
        return dt.astimezone(ZONE).strftime("%Y-%m-%d") if date_only else i18n.fmt_time(dt)

    def state(self, s) -> str:
        return self.t(f"presales.state.{s}") if s and self.has(f"presales.state.{s}") else str(s or "—")

    def status(self, kind, s) -> str:
        if not s:
            return "—"
        if not isinstance(s, str):  # a broken record (the schema check reports it): shown as it is
            return str(s)
        return self.c.lifecycle.label(kind, s, self.lang)  # an unknown status shows as itself

    def enum(self, kind, path, value) -> str:
        return self.c.schemas.enum_label(kind, path, value, self.lang)  # an unknown value shows as itself


def _money(amount, currency) -> str:
    if amount is None:
        return "—"
    # not a number: a broken record (the schema check reports it, located), shown as written
    number = isinstance(amount, (int, float)) and not isinstance(amount, bool)
    return f"{amount:,.2f} {currency or ''}".strip() if number else f"{amount} {currency or ''}".strip()


def _values(per_currency: dict[str, float]) -> str:
    """Summed deal values, one figure per currency (`pipeline.stage_values`)."""
    return " + ".join(_money(amount, cur) for cur, amount in per_currency.items()) or "—"


def _manager_slug(pid: str | None) -> str:
    return pid if pid and is_safe_id(pid) else "unassigned"


# The kinds of case records (and customers) the pre-sales pages read: the deals' chains and the
# contracts' delivery records (`groups`).
KINDS = ("survey", "appraisal", "solution", "feasibility", "contract", "bid", "communication",
         "requirements", "change", "progress", "risk", "problem", "customer")


def groups(corpus, lang: str, at, where=None, options: dict | None = None) -> list:
    """The pre-sales pages as one group, as `aftersales.groups` gives its pages: (name, the kinds
    of records read, a function making the pages, what else they read: of installations, when each
    contract's delivery ended by a hand-over, which bounds the reports due)."""
    return [("presales", KINDS, lambda: pages(corpus, lang, at, where, options),
             lambda: sorted(dlv.handed_over(corpus, parse_instant(at)).items()))]


def pages(corpus, lang: str, at, where=None, options: dict | None = None) -> dict[str, str]:
    """``options["detail_window_days"]``: contracts with no change for longer than this and no
    open problem are listed in the delivery index without a page of their own."""
    x = _Ctx(corpus, lang, at, where, (options or {}).get("use_directory_urls", True))
    out: dict[str, str] = {}
    deals = pl.deals(corpus, x.at)
    out["pipeline/index.md"] = _pipeline_index(x, deals)
    for manager, groups in pl.manager_view(deals).items():
        path = f"pipeline/managers/{_manager_slug(manager)}.md"
        out[path] = _manager_page(x, manager, groups, path)
    contracts = dlv.contracts_in_delivery(corpus, x.at)
    reports = dlv.reports(corpus, [ct.id for ct in contracts if is_safe_id(ct.id)], x.at)
    window = _dt.timedelta(days=int((options or {}).get("detail_window_days", 180)))
    paged = {rep["contract"] for rep in reports if any(rep["open_problems_by_level"].values())
             or (rep["last_activity"] and parse_instant(rep["last_activity"]) >= x.at - window)}
    out["delivery/index.md"] = _delivery_index(x, reports, paged, window.days)
    for rep in reports:
        if rep["contract"] in paged:
            out[f"delivery/{rep['contract']}.md"] = _delivery_page(x, rep)
    return out


# --------------------------------------------------------------------------- pipeline


def _deal_row(x: _Ctx, d: pl.Deal, here: str):
    n = d.negotiation
    rounds = "—"
    if n.get("rounds"):
        rounds = f"{n['rounds']} ({n['price_cuts']}/{n['contract_changes']})"
        if n["manager_not_informed"]:
            rounds += " ⚠"
    return [x.ref(here, d.survey), x.customer(here, d.customer), _money(*d.value) if d.value else "—", x.person(here, d.salesperson),
            link(x.name(d.manager), x.href(here, f"pipeline/managers/{_manager_slug(d.manager)}.md")) if d.manager else "—",
            x.when(d.stage_since), "—" if d.days_in_stage is None else ("≥ " if d.days_at_least else "") + f"{d.days_in_stage:g}",
            x.when(d.deadline), x.state(d.state), rounds]


def _pipeline_index(x: _Ctx, deals: list[pl.Deal]) -> str:
    here = "pipeline/index.md"
    # a blank line after the intro: a table right under a paragraph is that paragraph's text
    parts = [f"# {md_escape(x.t('presales.pipeline.title'))}\n", f"{md_escape(x.t('presales.pipeline.intro', at=x.when(x.at)))}\n\n"]
    groups = pl.by_stage(deals)
    # summary
    parts.append(str(table([x.t("presales.col.status"), x.t("presales.col.count"), x.t("presales.col.value")],
                           [[x.stage(s), len(groups[s]), _values(pl.stage_values(groups[s]))] for s in pl.STAGES if groups[s]])))
    head = [x.t(k) for k in ("presales.col.deal", "presales.col.customer", "presales.col.value", "presales.col.sales", "presales.col.manager",
                             "presales.col.since", "presales.col.days", "presales.col.deadline", "presales.col.state", "presales.col.rounds")]
    for stage in pl.OPEN_STAGES + ("won",):
        if not groups[stage]:
            continue
        parts.append(f"\n## {md_escape(x.stage(stage))} ({len(groups[stage])})\n")
        parts.append(str(table(head, [_deal_row(x, d, here) for d in groups[stage]])))
    parts.append(f"\n## {md_escape(x.t('presales.h.lost'))} ({len(groups['lost'])})\n")
    if groups["lost"]:
        parts.append(str(table([x.t(k) for k in ("presales.col.deal", "presales.col.customer", "presales.col.sales", "presales.col.manager", "presales.col.lost_stage",
                                                  "presales.col.lost_at", "presales.col.reason")],
                               [[x.ref(here, d.survey), x.customer(here, d.customer), x.person(here, d.salesperson), x.name(d.manager),
                                 x.stage(d.lost_stage) if d.lost_stage else "—", x.when(d.lost_at), d.lost_reason]
                                for d in groups["lost"]])))
    else:
        parts.append(md_escape(x.t("presales.none")) + "\n")
    bids = [(d, b) for d in deals for b in d.bids]
    if bids:
        parts.append(f"\n## {md_escape(x.t('presales.h.bids'))}\n")
        parts.append(str(table([x.t(k) for k in ("presales.col.bid", "presales.col.deal", "presales.col.project", "presales.col.status", "presales.col.deadline",
                                                  "presales.col.state", "presales.col.checklist", "presales.col.tasks_overdue")],
                               [[x.ref(here, b["id"]), x.ref(here, d.survey), b["project_name"], x.status("bid", b["status"]), x.when(b["deadline"]),
                                 x.state(b["timing"]) if x.has(f"presales.state.{b['timing']}") else b["timing"],
                                 f"{len(b['checklist_done'])}/{len(b['checklist_done']) + len(b['checklist_missing'])}"
                                 + (f" ({len(b['defects'])} ✗)" if b["defects"] else ""),
                                 "; ".join(str(t) for t in b["tasks_overdue"]) or "—"] for d, b in bids])))
    comms = [(d, k, n) for d in deals for k, n in d.communications.items()]
    if comms:
        parts.append(f"\n## {md_escape(x.t('presales.h.comms'))}\n")
        parts.append(str(table([x.t("presales.col.deal"), x.t("presales.col.kind"), x.t("presales.col.count")],
                               [[x.ref(here, d.survey), x.enum("communication", ("kind",), k), n] for d, k, n in comms])))
    refs = [d for d in deals if d.referral]
    parts.append(f"\n## {md_escape(x.t('presales.h.referrals'))}\n")
    parts.append(md_escape(x.t("presales.h.referrals.note", rate=f"{pl.DEFAULT_COMMISSION_RATE:.0%}")) + "\n\n")
    if refs:
        rows = []
        for d in refs:
            r = d.referral
            state = x.state(r["state"])
            if r["conflict"]:
                state += " ⚠ " + x.t("presales.h.conflict")
            rows.append([x.ref(here, d.survey), x.customer(here, d.customer), x.person(here, r["person"]), r["class"].upper(), f"{r['share']:.0%}",
                         _money(r["commission"], r["currency"]), _money(r["amount"], r["currency"]), state])
        parts.append(str(table([x.t(k) for k in ("presales.col.deal", "presales.col.customer", "presales.col.referrer", "presales.col.class", "presales.col.share",
                                                  "presales.col.commission", "presales.col.amount", "presales.col.state")], rows)))
    else:
        parts.append(md_escape(x.t("presales.none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('presales.h.managers'))}\n")
    for manager, groups_m in pl.manager_view(deals).items():
        label = x.name(manager) if manager else x.t("presales.unassigned")
        counts = f" — {len(groups_m['open'])} / {len(groups_m['long_negotiations'])} / {len(groups_m['lost'])}"
        parts.append(f"- {link(label, x.href(here, f'pipeline/managers/{_manager_slug(manager)}.md'))}{md_escape(counts)}\n")
    return "".join(parts)


def _manager_page(x: _Ctx, manager: str, groups: dict, here: str) -> str:
    label = x.full(manager) if manager else x.t("presales.unassigned")
    parts = [f"# {md_escape(x.t('presales.h.manager', name=label))}\n",
             f"{link(x.t('presales.back.pipeline'), x.href(here, 'pipeline/index.md'))}\n"]
    head = [x.t(k) for k in ("presales.col.deal", "presales.col.customer", "presales.col.value", "presales.col.sales", "presales.col.manager",
                             "presales.col.since", "presales.col.days", "presales.col.deadline", "presales.col.state", "presales.col.rounds")]
    parts.append(f"\n## {md_escape(x.t('presales.h.long'))}\n")
    parts.append(str(table(head, [_deal_row(x, d, here) for d in groups["long_negotiations"]]))
                 or md_escape(x.t("presales.none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('presales.h.lost'))}\n")
    parts.append(str(table([x.t(k) for k in ("presales.col.deal", "presales.col.customer", "presales.col.sales", "presales.col.lost_stage", "presales.col.lost_at",
                                              "presales.col.reason", "presales.col.rounds")],
                           [[x.ref(here, d.survey), x.customer(here, d.customer), x.person(here, d.salesperson),
                             x.stage(d.lost_stage) if d.lost_stage else "—", x.when(d.lost_at), d.lost_reason,
                             d.negotiation.get("rounds") or "—"] for d in groups["lost"]]))
                 or md_escape(x.t("presales.none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('presales.h.not_informed'))}\n")
    rows = [[x.ref(here, d.survey), x.person(here, d.salesperson), x.when(r["at"]), x.enum("solution", ("negotiation_rounds", 0, "kind"), r["kind"]),
             r["summary"]] for d in groups["not_informed"] for r in d.negotiation["detail"] if not r["manager_informed"]]
    parts.append(str(table([x.t("presales.col.deal"), x.t("presales.col.sales"), x.t("presales.col.date"), x.t("presales.col.type"), x.t("presales.col.progress")], rows))
                 or md_escape(x.t("presales.none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('presales.h.late'))}\n")
    parts.append(str(table(head, [_deal_row(x, d, here) for d in groups["late"]])) or md_escape(x.t("presales.none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('presales.h.open'))}\n")
    parts.append(str(table(head, [_deal_row(x, d, here) for d in groups["open"]])) or md_escape(x.t("presales.none")) + "\n")
    return "".join(parts)


# --------------------------------------------------------------------------- delivery


def _delivery_index(x: _Ctx, reports: list[dict], paged: set[str], days: int) -> str:
    here = "delivery/index.md"
    parts = [f"# {md_escape(x.t('presales.delivery.title'))}\n", f"{md_escape(x.t('presales.delivery.intro', at=x.when(x.at), days=days))}\n\n"]
    rows = []
    for rep in reports:
        open_counts = " / ".join(f"{x.t(f'presales.level.{lv}')} {len(ids)}" for lv, ids in rep["open_problems_by_level"].items() if ids)
        page = x.href(here, f"delivery/{rep['contract']}.md") if rep["contract"] in paged else None
        rows.append([link(rep["contract"], page), x.customer(here, rep["customer"]),
                     x.status("contract", rep["status"]), x.when(rep["signed_at"], True),
                     f"{rep['team']['shape']}: {x.name(rep['team']['owner'])}" if rep["team"]["owner"] else rep["team"]["shape"],
                     x.state(rep["requirements"]["state"]), open_counts or "—",
                     rep["milestones_overdue"] or "—"])
    parts.append(str(table([x.t(k) for k in ("presales.col.contract", "presales.col.customer", "presales.col.status", "presales.col.signed", "presales.col.team",
                                              "presales.col.requirements", "presales.col.open_problems", "presales.col.milestones_late")], rows))
                 or md_escape(x.t("presales.none")) + "\n")
    return "".join(parts)


def _delivery_page(x: _Ctx, rep: dict) -> str:
    here = f"delivery/{rep['contract']}.md"
    parts = [f"# {md_escape(rep['contract'])} — {md_escape(x.full(rep['customer']))}\n",
             f"{link(x.t('presales.back'), x.href(here, 'delivery/index.md'))}\n\n",
             md_escape(f"{x.status('contract', rep['status'])} · {x.enum('contract', ('service_tier',), rep['tier'])} · "
                       f"{x.t('presales.col.signed')} {x.when(rep['signed_at'])}"), "\n"]
    # team
    parts.append(f"\n## {md_escape(x.t('presales.h.team'))}\n")
    team = rep["team"]
    rows = [[x.person(here, team["owner"]), x.t("presales.role.owner")]] if team["owner"] else []
    rows += [[x.person(here, m["person"]), x.t(f"presales.role.{m['role']}") if x.has(f"presales.role.{m['role']}") else m["role"]] for m in team["members"]]
    parts.append(str(table([x.t("presales.col.person"), x.t("presales.col.role")], rows)) or md_escape(x.t("presales.none")) + "\n")
    # requirements
    req = rep["requirements"]
    parts.append(f"\n## {md_escape(x.t('presales.h.requirements'))}\n")
    line = x.t("presales.req.line", due=x.when(req["due"]), state=x.state(req["state"]))
    if req["confirmed_at"]:
        line += " " + x.t("presales.req.confirmed", at=x.when(req["confirmed_at"]))
    parts.append(md_escape(line) + "\n")
    oos = [o for r in req["records"] for o in r["out_of_scope"]]
    if oos:
        parts.append("\n" + "".join(f"- {md_escape(o)}\n" for o in oos))
    # kick-off and co-design rounds (seed 002)
    parts.append(f"\n## {md_escape(x.t('presales.h.steps'))}\n")
    parts.append(str(table([x.t("presales.col.step"), x.t("presales.col.date")],
                           [[x.enum("progress", ("type",), st["step"]), st["on"] or "— " + x.t("presales.steps.not_held")]
                            for st in rep["steps"]])))
    # changes
    if rep["changes"]:
        parts.append(f"\n## {md_escape(x.t('presales.h.changes'))}\n")
        rows = []
        for ch in rep["changes"]:
            cost = ch["extra_cost"] if isinstance(ch["extra_cost"], dict) else {}
            extra = f"{ch['extra_people'] if ch['extra_people'] is not None else '—'} / {_money(cost.get('amount'), cost.get('currency'))}"
            rows.append([ch["id"], x.enum("change", ("change_type",), ch["change_type"]), ch["description"], extra,
                         x.status("change", ch["status"]),
                         x.enum("change", ("decision", "outcome"), ch["decision"]) if ch["decision"] else "—"])
        parts.append(str(table([x.t(k) for k in ("presales.col.change", "presales.col.type", "presales.col.progress", "presales.col.extra", "presales.col.status",
                                                  "presales.col.decision")], rows)))
    # milestones
    parts.append(f"\n## {md_escape(x.t('presales.h.milestones'))}\n")
    if rep["milestones"]:
        parts.append(md_escape(x.t("presales.milestones.from", id=rep["milestones_from"])) + "\n\n")
        parts.append(gantt(rep["milestones"], x.at.astimezone(ZONE).date(), x.t("presales.h.milestones"), x.t("presales.today"),
                           {s: x.state(s) for s in ("done", "done_late", "overdue", "planned")}))
        parts.append("\n")
        parts.append(str(table([x.t(k) for k in ("presales.col.milestone", "presales.col.planned", "presales.col.actual", "presales.col.state", "presales.col.notes")],
                               [[m["name"], m["planned_on"], m["actual_on"] or "—",
                                 x.state(m["state"]) + (f" ({m['delay_days']:+d} d)" if m["delay_days"] else ""),
                                 m["review_notes"]] for m in rep["milestones"]])))
    else:
        parts.append(md_escape(x.t("presales.none")) + "\n")
    # risks
    parts.append(f"\n## {md_escape(x.t('presales.h.risks'))}\n")
    parts.append(str(table([x.t(k) for k in ("presales.col.risk", "presales.col.status", "presales.col.owner", "presales.col.action", "presales.col.due", "presales.col.date")],
                           [[k["risk"], x.status("risk", k["status"]), x.name(k["owner"]), k["action"],
                             str(k["action_due"] or "—") + (" ⚠ " + x.state("overdue") if k["action_overdue"] else ""),
                             k["raised_on"]] for k in rep["risks"]]))
                 or md_escape(x.t("presales.none")) + "\n")
    # reports
    parts.append(f"\n## {md_escape(x.t('presales.h.reports'))}\n")
    arrived = rep["reporting"]
    parts.append(md_escape(x.t("presales.reports.arrived", daily=arrived["daily"]["received"], daily_due=arrived["daily"]["expected"],
                                weekly=arrived["weekly"]["received"], weekly_due=arrived["weekly"]["expected"])) + "\n\n")
    missing = arrived["weekly"]["missing"][-8:]
    if missing:
        parts.append(md_escape(x.t("presales.reports.missing_weeks", weeks=", ".join(missing))) + "\n\n")
    parts.append(str(table([x.t(k) for k in ("presales.col.report", "presales.col.date", "presales.col.progress", "presales.col.problems", "presales.col.plan")],
                           [[x.t(f"presales.rtype.{r['type']}") if x.has(f"presales.rtype.{r['type']}") else r["type"], r["date"],
                             r["progress"], r["problems"], r["next_week_plan"]] for r in rep["reports"]]))
                 or md_escape(x.t("presales.none")) + "\n")
    # problems
    parts.append(f"\n## {md_escape(x.t('presales.h.problems'))}\n")
    head = [x.t(k) for k in ("presales.col.problem", "presales.col.owner", "presales.col.raised", "presales.col.target", "presales.col.clock", "presales.col.status")]

    def prow(p):
        clock = p["response"] or {}
        state = x.state(clock.get("state")) if clock else "—"
        if clock.get("deadline"):
            state += f" ({x.when(clock['deadline'])})"
        owner = x.name(p["owner"]) + ("" if p["owner_fits"] else f" ⚠ {x.t('presales.owner.misfit')}")
        return [f"{p['id']}: {p['title']}", owner, x.when(p["raised_at"]), i18n.target_text(p["response_target"], x.lang) or "—", state,
                x.status("problem", p["status"])]

    any_open = False
    for lv in dlv.LEVEL_ORDER:
        items = [p for p in rep["problems"] if p["open"] and p["level"] == lv]
        if items:
            any_open = True
            parts.append(f"\n### {md_escape(x.t(f'presales.level.{lv}'))} ({len(items)})\n")
            parts.append(str(table(head, [prow(p) for p in items])))
    if not any_open:
        parts.append(md_escape(x.t("presales.none")) + "\n")
    closed = [p for p in rep["problems"] if not p["open"]]
    if closed:
        parts.append(f"\n## {md_escape(x.t('presales.h.closed_problems'))}\n")
        parts.append(str(table([x.t("presales.col.level")] + head, [[x.level(p["level"])] + prow(p) for p in closed])))
    return "".join(parts)


# the milestone timeline is a chart like the others (`charts.gantt`)
gantt = charts.gantt


__all__ = ["pages", "gantt"]
