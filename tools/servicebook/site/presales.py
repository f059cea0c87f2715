"""Site pages for the deal pipeline and delivery (issue 7), as Markdown, in one language.

``pages(corpus, lang, at)`` returns ``{docs path: markdown}``:

* ``pipeline/index.md``: every deal by stage, days in stage against the deadline, lost deals with
  their reasons, bids and referral shares;
* ``pipeline/managers/<person>.md``: per sales manager, long negotiations, late and lost deals, and
  negotiation rounds the manager was not told of;
* ``delivery/index.md``: contracts in delivery;
* ``delivery/<contract>.md``: team, requirements (72 h), changes, a milestone timeline (inline static
  SVG, no script), risks, the latest reports and open problems by level.

All record text goes through ``markup.md_escape`` / ``markup.table`` (SVG text too: numeric
character references are valid XML and inert Markdown). Customer-side personal names are never
shown. Nothing reads the wall clock: ``at`` is the instant of the build.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from markupsafe import Markup

from servicebook import delivery as dlv
from servicebook import pipeline as pl

from .markup import is_safe_id, link, md_escape, relurl, table

L: dict[str, tuple[str, str]] = {
    "pipeline.title": ("Deal pipeline", "销售漏斗"),
    "pipeline.intro": ("Every deal from the first survey to the signed contract, as of {at}. Days in stage are "
                       "working days (8 h) in the business calendar; deadlines follow the pre-sales process.",
                       "截至 {at},每个项目从首次调查到签约的进展。阶段天数按营业日历的工作日(8 小时)计算;时限依售前流程。"),
    "col.deal": ("Deal", "项目"), "col.customer": ("Customer", "客户"), "col.sales": ("Salesperson", "业务员"),
    "col.manager": ("Sales manager", "业务经理"), "col.since": ("In stage since", "进入阶段"),
    "col.days": ("Working days", "工作日"), "col.deadline": ("Deadline", "时限"), "col.state": ("State", "状态"),
    "col.rounds": ("Negotiation rounds", "洽谈轮次"), "col.lost_stage": ("Lost at", "丢单阶段"),
    "col.reason": ("Reason", "原因"), "col.lost_at": ("Lost on", "丢单时间"),
    "col.referrer": ("Referrer", "引荐人"), "col.class": ("Class", "类别"), "col.share": ("Share", "提成比例"),
    "col.commission": ("Commission base", "提成基数"), "col.amount": ("Referral share", "引荐提成"),
    "col.bid": ("Bid", "投标"), "col.project": ("Tender", "招标项目"), "col.status": ("Status", "状态"),
    "col.checklist": ("Zero-defect checklist", "零缺陷检查"), "col.tasks_overdue": ("Overdue tasks", "逾期任务"),
    "col.contract": ("Contract", "合同"), "col.signed": ("Signed", "签订"), "col.team": ("Team", "团队"),
    "col.requirements": ("Requirements (72 h)", "需求确认(72 小时)"), "col.open_problems": ("Open problems", "未解决问题"),
    "col.milestones_late": ("Overdue milestones", "逾期里程碑"), "col.person": ("Person", "人员"),
    "col.role": ("Role", "分工"), "col.milestone": ("Milestone", "里程碑"), "col.planned": ("Planned", "计划"),
    "col.actual": ("Actual", "实际"), "col.notes": ("Review notes", "总结意见"), "col.risk": ("Risk", "风险"),
    "col.action": ("Action", "应对措施"), "col.owner": ("Owner", "责任人"), "col.due": ("Due", "时限"),
    "col.level": ("Level", "等级"), "col.problem": ("Problem", "问题"), "col.raised": ("Raised", "提出时间"),
    "col.target": ("Answer within", "响应时限"), "col.clock": ("Response clock", "响应计时"),
    "col.report": ("Report", "报告"), "col.date": ("Date", "日期"), "col.progress": ("Progress", "进展"),
    "col.problems": ("Problems", "问题"), "col.plan": ("Next", "下一步计划"), "col.change": ("Change", "变更"),
    "col.type": ("Type", "类型"), "col.decision": ("Decision", "决定"), "col.extra": ("Extra people / cost", "增加人员/成本"),
    "col.count": ("Deals", "项目数"), "col.kind": ("Communication", "沟通类别"),
    "state.on_time": ("on time", "按时"), "state.late": ("LATE", "超时"), "state.long": ("long negotiation", "谈判过长"),
    "state.no_deadline": ("no deadline", "无时限"), "state.closed": ("closed", "已结束"), "state.error": ("error", "无法计算"),
    "state.met": ("met", "按时"), "state.open": ("open", "进行中"), "state.not_signed": ("not signed", "未签约"),
    "state.done": ("done", "已完成"), "state.done_late": ("done late", "延期完成"), "state.overdue": ("OVERDUE", "已逾期"),
    "state.planned": ("planned", "计划中"), "state.running": ("running", "计时中"), "state.at_risk": ("at risk", "即将超时"),
    "state.paused": ("paused", "暂停"), "state.breached": ("BREACHED", "已超时"), "state.cancelled": ("cancelled", "已取消"),
    "state.pending": ("pending (no amount yet)", "待定(尚无金额)"), "state.expected": ("expected", "预计"),
    "state.due": ("due", "应付"), "state.none": ("none (lost)", "无(已丢单)"),
    "h.lost": ("Lost deals", "丢单"), "h.referrals": ("Referral shares", "引荐提成"),
    "h.referrals.note": ("A non-sales referrer gets a share of the salesperson's commission on the deal: class A 15%, "
                         "B 35%, C 75%. Commission base = contract amount x {rate}. Due once the contract is signed.",
                         "非业务人员引荐项目,按类别从业务员该项目提成中提取:A 类 15%、B 类 35%、C 类 75%。"
                         "提成基数 = 合同金额 x {rate};合同签订后应付。"),
    "h.conflict": ("The referrer also runs this deal, which the rules forbid.", "引荐人同时操作该项目,违反规定。"),
    "h.bids": ("Bids", "投标"), "h.comms": ("Key communications", "关键沟通"), "h.managers": ("Sales managers", "业务经理"),
    "h.manager": ("Deals of {name}", "{name} 的项目"), "h.long": ("Long negotiations", "谈判过长的项目"),
    "h.late": ("Late deals", "超时的项目"), "h.not_informed": ("Negotiation rounds not reported to the manager", "未报告经理的洽谈"),
    "h.open": ("Open deals", "进行中的项目"), "none": ("None.", "无。"), "unassigned": ("(no manager yet)", "(尚无经理)"),
    "delivery.title": ("Delivery", "售中交付"),
    "delivery.intro": ("Contracts from signature to hand-over, as of {at}: 1+N team, requirements confirmed within 72 "
                       "hours, milestones, risks and the three-level problem response.",
                       "截至 {at},合同从签订到交付:1+N 团队、72 小时需求确认、里程碑、风险与三级问题响应。"),
    "h.team": ("Team (1+N)", "交付团队(1+N)"), "h.requirements": ("Requirements confirmation", "需求确认单"),
    "h.changes": ("Change requests", "变更申请"), "h.milestones": ("Milestones", "里程碑"), "h.risks": ("Risk log", "风险日志"),
    "h.reports": ("Latest reports", "最新报告"), "h.problems": ("Open problems by level", "未解决问题(按等级)"),
    "h.closed_problems": ("Answered and resolved problems", "已处理问题"), "owner": ("Owner (1)", "负责人(1)"),
    "req.line": ("Due {due}: {state}.", "时限 {due}:{state}。"), "req.confirmed": ("Confirmed {at}.", "确认于 {at}。"),
    "owner.misfit": ("owner does not fit the level", "负责人与等级不符"), "back": ("All deliveries", "全部交付项目"),
    "back.pipeline": ("Deal pipeline", "销售漏斗"), "today": ("today", "今天"),
    "milestones.from": ("Plan as of report {id}.", "以报告 {id} 为准。"),
    "level.critical": ("Critical", "重大问题"), "level.major": ("Major", "较大问题"), "level.minor": ("Minor", "小问题"),
    "role.owner": ("owner", "负责人"), "role.product": ("product", "产品"), "role.technical": ("technical", "技术"),
    "role.project": ("project", "项目"),
    "rtype.daily": ("Daily note", "当日进展"), "rtype.weekly": ("Weekly report", "周报"), "rtype.milestone": ("Milestone review", "里程碑总结"),
}
for _s, (_en, _zh) in pl.STAGE_LABELS.items():
    L[f"stage.{_s}"] = (_en, _zh)


class _Ctx:
    def __init__(self, corpus, lang: str, at):
        if lang not in ("zh", "en"):
            raise ValueError(f"unsupported language {lang!r}")
        self.c, self.lang = corpus, lang
        self.at = pl.as_instant(at)
        self.records = corpus.records

    def t(self, key: str, **kw) -> str:
        en, zh = L[key]
        text = zh if self.lang == "zh" else en
        return text.format(**kw) if kw else text

    def name(self, rid) -> str:
        rec = self.records.get(rid) if isinstance(rid, str) else None
        if rec is None:
            return str(rid or "—")
        n = rec.data.get("name_en") if self.lang == "en" and rec.data.get("name_en") else rec.data.get("name")
        if rec.kind == "person":
            return f"{n} ({rid})" if n else rid
        return str(n or rid)

    def when(self, value, date_only=False) -> str:
        if value is None:
            return "—"
        dt = value if isinstance(value, _dt.datetime) else pl._instant(value)
        if dt is None:
            return str(value)
        dt = dt.astimezone(pl.TZ)
        return dt.strftime("%Y-%m-%d") if date_only else dt.strftime("%Y-%m-%d %H:%M")

    def state(self, s) -> str:
        return self.t(f"state.{s}") if s and f"state.{s}" in L else str(s or "—")

    def status(self, kind, s) -> str:
        try:
            return self.c.lifecycle.label(kind, s, self.lang) if s else "—"
        except Exception:  # noqa: BLE001 - an unknown status shows as itself
            return str(s)

    def enum(self, kind, path, value) -> str:
        try:
            return self.c.schemas.enum_label(kind, path, value, self.lang)
        except Exception:  # noqa: BLE001
            return str(value)


def _money(amount, currency) -> str:
    return "—" if amount is None else f"{amount:,.2f} {currency or ''}".strip()


def _manager_slug(pid: str | None) -> str:
    return pid if pid and is_safe_id(pid) else "unassigned"


def pages(corpus, lang: str, at) -> dict[str, str]:
    x = _Ctx(corpus, lang, at)
    out: dict[str, str] = {}
    deals = pl.deals(corpus, x.at)
    out["pipeline/index.md"] = _pipeline_index(x, deals)
    for manager, groups in pl.manager_view(deals).items():
        path = f"pipeline/managers/{_manager_slug(manager)}.md"
        out[path] = _manager_page(x, manager, groups, path)
    contracts = dlv.contracts_in_delivery(corpus, x.at)
    reports = [r for r in (dlv.report(corpus, ct.id, x.at) for ct in contracts if is_safe_id(ct.id)) if r]
    out["delivery/index.md"] = _delivery_index(x, reports)
    for rep in reports:
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
    return [d.survey, x.name(d.customer), x.name(d.salesperson),
            link(x.name(d.manager), relurl(here, f"pipeline/managers/{_manager_slug(d.manager)}.md")) if d.manager else "—",
            x.when(d.stage_since), "—" if d.days_in_stage is None else f"{d.days_in_stage:g}",
            x.when(d.deadline), x.state(d.state), rounds]


def _pipeline_index(x: _Ctx, deals: list[pl.Deal]) -> str:
    here = "pipeline/index.md"
    parts = [f"# {md_escape(x.t('pipeline.title'))}\n", f"{md_escape(x.t('pipeline.intro', at=x.when(x.at)))}\n"]
    groups = pl.by_stage(deals)
    # summary
    parts.append(str(table([x.t("col.status"), x.t("col.count")],
                           [[x.t(f"stage.{s}"), len(groups[s])] for s in pl.STAGES if groups[s]])))
    head = [x.t(k) for k in ("col.deal", "col.customer", "col.sales", "col.manager", "col.since", "col.days",
                             "col.deadline", "col.state", "col.rounds")]
    for stage in pl.OPEN_STAGES + ("won",):
        if not groups[stage]:
            continue
        parts.append(f"\n## {md_escape(x.t(f'stage.{stage}'))} ({len(groups[stage])})\n")
        parts.append(str(table(head, [_deal_row(x, d, here) for d in groups[stage]])))
    parts.append(f"\n## {md_escape(x.t('h.lost'))} ({len(groups['lost'])})\n")
    if groups["lost"]:
        parts.append(str(table([x.t(k) for k in ("col.deal", "col.customer", "col.sales", "col.manager", "col.lost_stage",
                                                  "col.lost_at", "col.reason")],
                               [[d.survey, x.name(d.customer), x.name(d.salesperson), x.name(d.manager),
                                 x.t(f"stage.{d.lost_stage}") if d.lost_stage else "—", x.when(d.lost_at), d.lost_reason]
                                for d in groups["lost"]])))
    else:
        parts.append(md_escape(x.t("none")) + "\n")
    bids = [(d, b) for d in deals for b in d.bids]
    if bids:
        parts.append(f"\n## {md_escape(x.t('h.bids'))}\n")
        parts.append(str(table([x.t(k) for k in ("col.bid", "col.deal", "col.project", "col.status", "col.deadline",
                                                  "col.state", "col.checklist", "col.tasks_overdue")],
                               [[b["id"], d.survey, b["project_name"], x.status("bid", b["status"]), x.when(b["deadline"]),
                                 x.state(b["timing"]) if f"state.{b['timing']}" in L else b["timing"],
                                 f"{len(b['checklist_done'])}/7" + (f" ({len(b['defects'])} ✗)" if b["defects"] else ""),
                                 "; ".join(str(t) for t in b["tasks_overdue"]) or "—"] for d, b in bids])))
    comms = [(d, k, n) for d in deals for k, n in d.communications.items()]
    if comms:
        parts.append(f"\n## {md_escape(x.t('h.comms'))}\n")
        parts.append(str(table([x.t("col.deal"), x.t("col.kind"), x.t("col.count")],
                               [[d.survey, x.enum("communication", ("kind",), k), n] for d, k, n in comms])))
    refs = [d for d in deals if d.referral]
    parts.append(f"\n## {md_escape(x.t('h.referrals'))}\n")
    parts.append(md_escape(x.t("h.referrals.note", rate=f"{pl.DEFAULT_COMMISSION_RATE:.0%}")) + "\n\n")
    if refs:
        rows = []
        for d in refs:
            r = d.referral
            state = x.state(r["state"])
            if r["conflict"]:
                state += " ⚠ " + x.t("h.conflict")
            rows.append([d.survey, x.name(d.customer), x.name(r["person"]), r["class"].upper(), f"{r['share']:.0%}",
                         _money(r["commission"], r["currency"]), _money(r["amount"], r["currency"]), state])
        parts.append(str(table([x.t(k) for k in ("col.deal", "col.customer", "col.referrer", "col.class", "col.share",
                                                  "col.commission", "col.amount", "col.state")], rows)))
    else:
        parts.append(md_escape(x.t("none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('h.managers'))}\n")
    for manager, groups_m in pl.manager_view(deals).items():
        label = x.name(manager) if manager else x.t("unassigned")
        counts = f" — {len(groups_m['open'])} / {len(groups_m['long_negotiations'])} / {len(groups_m['lost'])}"
        parts.append(f"- {link(label, relurl(here, f'pipeline/managers/{_manager_slug(manager)}.md'))}{md_escape(counts)}\n")
    return "".join(parts)


def _manager_page(x: _Ctx, manager: str, groups: dict, here: str) -> str:
    label = x.name(manager) if manager else x.t("unassigned")
    parts = [f"# {md_escape(x.t('h.manager', name=label))}\n",
             f"{link(x.t('back.pipeline'), relurl(here, 'pipeline/index.md'))}\n"]
    head = [x.t(k) for k in ("col.deal", "col.customer", "col.sales", "col.manager", "col.since", "col.days",
                             "col.deadline", "col.state", "col.rounds")]
    parts.append(f"\n## {md_escape(x.t('h.long'))}\n")
    parts.append(str(table(head, [_deal_row(x, d, here) for d in groups["long_negotiations"]]))
                 or md_escape(x.t("none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('h.lost'))}\n")
    parts.append(str(table([x.t(k) for k in ("col.deal", "col.customer", "col.sales", "col.lost_stage", "col.lost_at",
                                              "col.reason", "col.rounds")],
                           [[d.survey, x.name(d.customer), x.name(d.salesperson),
                             x.t(f"stage.{d.lost_stage}") if d.lost_stage else "—", x.when(d.lost_at), d.lost_reason,
                             d.negotiation.get("rounds") or "—"] for d in groups["lost"]]))
                 or md_escape(x.t("none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('h.not_informed'))}\n")
    rows = [[d.survey, x.name(d.salesperson), x.when(r["at"]), x.enum("solution", ("negotiation_rounds", 0, "kind"), r["kind"]),
             r["summary"]] for d in groups["not_informed"] for r in d.negotiation["detail"] if not r["manager_informed"]]
    parts.append(str(table([x.t("col.deal"), x.t("col.sales"), x.t("col.date"), x.t("col.type"), x.t("col.progress")], rows))
                 or md_escape(x.t("none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('h.late'))}\n")
    parts.append(str(table(head, [_deal_row(x, d, here) for d in groups["late"]])) or md_escape(x.t("none")) + "\n")
    parts.append(f"\n## {md_escape(x.t('h.open'))}\n")
    parts.append(str(table(head, [_deal_row(x, d, here) for d in groups["open"]])) or md_escape(x.t("none")) + "\n")
    return "".join(parts)


# --------------------------------------------------------------------------- delivery


def _delivery_index(x: _Ctx, reports: list[dict]) -> str:
    here = "delivery/index.md"
    parts = [f"# {md_escape(x.t('delivery.title'))}\n", f"{md_escape(x.t('delivery.intro', at=x.when(x.at)))}\n\n"]
    rows = []
    for rep in reports:
        open_counts = " / ".join(f"{x.t(f'level.{lv}')} {len(ids)}" for lv, ids in rep["open_problems_by_level"].items() if ids)
        rows.append([link(rep["contract"], relurl(here, f"delivery/{rep['contract']}.md")), x.name(rep["customer"]),
                     x.status("contract", rep["status"]), x.when(rep["signed_at"], True),
                     f"{rep['team']['shape']}: {x.name(rep['team']['owner'])}" if rep["team"]["owner"] else rep["team"]["shape"],
                     x.state(rep["requirements"]["state"]), open_counts or "—",
                     sum(1 for m in rep["milestones"] if m["state"] == "overdue") or "—"])
    parts.append(str(table([x.t(k) for k in ("col.contract", "col.customer", "col.status", "col.signed", "col.team",
                                              "col.requirements", "col.open_problems", "col.milestones_late")], rows))
                 or md_escape(x.t("none")) + "\n")
    return "".join(parts)


def _delivery_page(x: _Ctx, rep: dict) -> str:
    here = f"delivery/{rep['contract']}.md"
    parts = [f"# {md_escape(rep['contract'])} — {md_escape(x.name(rep['customer']))}\n",
             f"{link(x.t('back'), relurl(here, 'delivery/index.md'))}\n\n",
             md_escape(f"{x.status('contract', rep['status'])} · {x.enum('contract', ('service_tier',), rep['tier'])} · "
                       f"{x.t('col.signed')} {x.when(rep['signed_at'])}"), "\n"]
    # team
    parts.append(f"\n## {md_escape(x.t('h.team'))}\n")
    team = rep["team"]
    rows = [[x.name(team["owner"]), x.t("role.owner")]] if team["owner"] else []
    rows += [[x.name(m["person"]), x.t(f"role.{m['role']}") if f"role.{m['role']}" in L else m["role"]] for m in team["members"]]
    parts.append(str(table([x.t("col.person"), x.t("col.role")], rows)) or md_escape(x.t("none")) + "\n")
    # requirements
    req = rep["requirements"]
    parts.append(f"\n## {md_escape(x.t('h.requirements'))}\n")
    line = x.t("req.line", due=x.when(req["due"]), state=x.state(req["state"]))
    if req["confirmed_at"]:
        line += " " + x.t("req.confirmed", at=x.when(req["confirmed_at"]))
    parts.append(md_escape(line) + "\n")
    oos = [o for r in req["records"] for o in r["out_of_scope"]]
    if oos:
        parts.append("\n" + "".join(f"- {md_escape(o)}\n" for o in oos))
    # changes
    if rep["changes"]:
        parts.append(f"\n## {md_escape(x.t('h.changes'))}\n")
        rows = []
        for ch in rep["changes"]:
            cost = ch["extra_cost"] or {}
            extra = f"{ch['extra_people'] if ch['extra_people'] is not None else '—'} / {_money(cost.get('amount'), cost.get('currency'))}"
            rows.append([ch["id"], x.enum("change", ("change_type",), ch["change_type"]), ch["description"], extra,
                         x.status("change", ch["status"]),
                         x.enum("change", ("decision", "outcome"), ch["decision"]) if ch["decision"] else "—"])
        parts.append(str(table([x.t(k) for k in ("col.change", "col.type", "col.progress", "col.extra", "col.status",
                                                  "col.decision")], rows)))
    # milestones
    parts.append(f"\n## {md_escape(x.t('h.milestones'))}\n")
    if rep["milestones"]:
        parts.append(md_escape(x.t("milestones.from", id=rep["milestones_from"])) + "\n\n")
        parts.append(gantt(rep["milestones"], x.at.astimezone(pl.TZ).date(), x.t("h.milestones"), x.t("today"),
                           {s: x.state(s) for s in ("done", "done_late", "overdue", "planned")}))
        parts.append("\n")
        parts.append(str(table([x.t(k) for k in ("col.milestone", "col.planned", "col.actual", "col.state", "col.notes")],
                               [[m["name"], m["planned_on"], m["actual_on"] or "—",
                                 x.state(m["state"]) + (f" ({m['delay_days']:+d} d)" if m["delay_days"] else ""),
                                 m["review_notes"]] for m in rep["milestones"]])))
    else:
        parts.append(md_escape(x.t("none")) + "\n")
    # risks
    parts.append(f"\n## {md_escape(x.t('h.risks'))}\n")
    parts.append(str(table([x.t(k) for k in ("col.risk", "col.status", "col.owner", "col.action", "col.due", "col.date")],
                           [[k["risk"], x.status("risk", k["status"]), x.name(k["owner"]), k["action"],
                             (k["action_due"] or "—") + (" ⚠ " + x.state("overdue") if k["action_overdue"] else ""),
                             k["raised_on"]] for k in rep["risks"]]))
                 or md_escape(x.t("none")) + "\n")
    # reports
    parts.append(f"\n## {md_escape(x.t('h.reports'))}\n")
    parts.append(str(table([x.t(k) for k in ("col.report", "col.date", "col.progress", "col.problems", "col.plan")],
                           [[x.t(f"rtype.{r['type']}") if f"rtype.{r['type']}" in L else r["type"], r["date"],
                             r["progress"], r["problems"], r["next_week_plan"]] for r in rep["reports"]]))
                 or md_escape(x.t("none")) + "\n")
    # problems
    parts.append(f"\n## {md_escape(x.t('h.problems'))}\n")
    head = [x.t(k) for k in ("col.problem", "col.owner", "col.raised", "col.target", "col.clock", "col.status")]

    def prow(p):
        clock = p["response"] or {}
        state = x.state(clock.get("state")) if clock else "—"
        if clock.get("deadline"):
            state += f" ({x.when(clock['deadline'])})"
        owner = x.name(p["owner"]) + ("" if p["owner_fits"] else f" ⚠ {x.t('owner.misfit')}")
        return [f"{p['id']}: {p['title']}", owner, x.when(p["raised_at"]), p["response_target"] or "—", state,
                x.status("problem", p["status"])]

    any_open = False
    for lv in dlv.LEVEL_ORDER:
        items = [p for p in rep["problems"] if p["open"] and p["level"] == lv]
        if items:
            any_open = True
            parts.append(f"\n### {md_escape(x.t(f'level.{lv}'))} ({len(items)})\n")
            parts.append(str(table(head, [prow(p) for p in items])))
    if not any_open:
        parts.append(md_escape(x.t("none")) + "\n")
    closed = [p for p in rep["problems"] if not p["open"]]
    if closed:
        parts.append(f"\n## {md_escape(x.t('h.closed_problems'))}\n")
        parts.append(str(table([x.t("col.level")] + head, [[x.t(f"level.{p['level']}")] + prow(p) for p in closed])))
    return "".join(parts)


COLORS = {"done": "#2e7d32", "done_late": "#ef8f00", "overdue": "#c62828", "planned": "#9e9e9e"}
FONT = ("font-family=\"system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\"")


def _svg_text(text) -> str:
    """Record text for SVG: one line, HTML/XML/Markdown specials as numeric references."""
    return str(md_escape(" ".join(str(text if text is not None else "").split())))


def gantt(milestones: list[dict], today: _dt.date, title: str, today_label: str, legend: dict[str, str]) -> str:
    """A static SVG timeline: one row per milestone, a bar from the planned to the actual date
    (or to today when overdue), a diamond at the planned date, a dot at the actual date, and a
    line for today. Wrapped in a ``div`` so Markdown passes it through untouched."""
    dates = [today]
    for m in milestones:
        for k in ("planned_on", "actual_on"):
            if m.get(k):
                dates.append(_dt.date.fromisoformat(m[k]))
    start, end = min(dates) - _dt.timedelta(days=2), max(dates) + _dt.timedelta(days=2)
    span = max(1, (end - start).days)
    label_w, chart_w, row_h, top = 220, 520, 26, 40
    width = label_w + chart_w + 20
    height = top + row_h * len(milestones) + 40

    def xpos(d: _dt.date) -> float:
        return label_w + chart_w * (d - start).days / span

    out = [f'<div class="sb-gantt"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{_svg_text(title)}" {FONT} font-size="12">',
           f"<title>{_svg_text(title)}</title>",
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    # month ticks
    d = _dt.date(start.year, start.month, 1)
    while d <= end:
        if d >= start:
            out.append(f'<line x1="{xpos(d):.1f}" y1="{top - 14}" x2="{xpos(d):.1f}" y2="{height - 30}" stroke="#e0e0e0"/>')
            out.append(f'<text x="{xpos(d) + 2:.1f}" y="{top - 18}" fill="#616161">{d.strftime("%Y-%m")}</text>')
        d = _dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    for i, m in enumerate(milestones):
        y = top + i * row_h
        planned = _dt.date.fromisoformat(m["planned_on"]) if m.get("planned_on") else None
        actual = _dt.date.fromisoformat(m["actual_on"]) if m.get("actual_on") else None
        color = COLORS.get(m.get("state"), "#9e9e9e")
        name = str(m.get("name") or "")
        short = name if len(name) <= 16 else name[:15] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="#212121">{_svg_text(short)}</text>')
        if planned:
            other = actual or (today if m.get("state") == "overdue" else planned)
            a, b = sorted((xpos(planned), xpos(other)))
            if b - a >= 1:
                out.append(f'<rect x="{a:.1f}" y="{y + 8}" width="{b - a:.1f}" height="8" fill="{color}" opacity="0.35"/>')
            px = xpos(planned)
            out.append(f'<path d="M{px:.1f} {y + 6} l6 6 l-6 6 l-6 -6 z" fill="#ffffff" stroke="{color}" stroke-width="2">'
                       f"<title>{_svg_text(name)}: {planned.isoformat()}</title></path>")
        if actual:
            out.append(f'<circle cx="{xpos(actual):.1f}" cy="{y + 12}" r="5" fill="{color}">'
                       f"<title>{_svg_text(name)}: {actual.isoformat()}</title></circle>")
    tx = xpos(today)
    out.append(f'<line x1="{tx:.1f}" y1="{top - 8}" x2="{tx:.1f}" y2="{height - 30}" stroke="#1a237e" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{tx + 3:.1f}" y="{top - 4}" fill="#1a237e">{_svg_text(today_label)}</text>')
    lx = 10
    for state, color in COLORS.items():
        out.append(f'<rect x="{lx}" y="{height - 20}" width="10" height="10" fill="{color}"/>')
        label = _svg_text(legend.get(state, state))
        out.append(f'<text x="{lx + 14}" y="{height - 11}" fill="#212121">{label}</text>')
        lx += 30 + 12 * len(legend.get(state, state))
    out.append("</svg></div>")
    return "\n".join(out) + "\n"


__all__ = ["pages", "gantt", "L"]
_ = (Any, Markup)
