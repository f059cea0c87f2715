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

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Callable

from markupsafe import Markup

from servicebook import feedback as feedback_mod
from servicebook import inspections as insp_mod
from servicebook import kb as kb_mod
from servicebook import parts as parts_mod
from servicebook import technicians as tech_mod
from servicebook import value_index as value_mod
from servicebook._after import as_date, as_datetime, get, parse_date, text

from .markup import cell, is_safe_id, link, md_escape, relurl, table

# Labels of these pages (zh, en). Field, enum and status labels come from the schemas.
LABELS = {
    "kb.title": ("技术资料库", "Service knowledge base"),
    "kb.intro": ("按产品—故障类别—故障现象整理的故障原因、判断顺序和排除方法,由优秀维修记录提炼,经技术经理审核发布。"
                 "用页面顶部的搜索框可按中文故障现象查找。",
                 "Causes, diagnosis order and fix procedures by product, fault category and symptom, learned from "
                 "exemplary repair records and published after the technical manager's review. Search the symptom "
                 "in Chinese with the search box at the top."),
    "kb.by_product": ("按产品与故障类别", "By product and fault category"),
    "kb.by_code": ("按故障编码", "By fault code"),
    "kb.drafts": ("待审核草稿", "Drafts waiting for review"),
    "kb.cases": ("维修和投诉对应的技术资料", "Knowledge-base entries for repairs and complaints"),
    "kb.cases_intro": ("每份维修记录和投诉记录单匹配的条目:同产品且故障编码或故障类别相同者优先,其次按故障现象文字相似度。",
                       "The entries matching each repair and complaint: same product and fault code or category "
                       "first, then by similarity of the symptom text."),
    "kb.behind": ("来源维修记录", "Repairs behind this entry"),
    "kb.matching": ("相似的维修与投诉", "Matching repairs and complaints"),
    "kb.none": ("暂无条目。", "No entries yet."),
    "kb.entry": ("条目", "Entry"),
    "kb.reasons": ("匹配依据", "Matched by"),
    "kb.similarity": ("文字相似度", "Text similarity"),
    "kb.related": ("相关技术资料", "Related knowledge-base entries"),
    "reason.product": ("同产品", "same product"),
    "reason.fault_code": ("同故障编码", "same fault code"),
    "reason.fault_category": ("同故障类别", "same fault category"),
    "reason.text": ("文字相似", "similar text"),
    "insp.title": ("例行检查", "Routine inspections"),
    "insp.intro": ("按各产品服务方案(一品一案)在交验后第 N 个月进行例行检查;截至 {at}。",
                   "Routine inspections at the months after hand-over set by each product's service plan "
                   "(one product, one plan); as of {at}."),
    "insp.by_station": ("各服务站(片区)", "Per station (region)"),
    "insp.by_engineer": ("各工程师", "Per engineer"),
    "insp.plan": ("下月检查计划({first} 至 {last})", "Plan for the coming month ({first} to {last})"),
    "insp.plan_none": ("下月无检查计划。", "Nothing planned for the coming month."),
    "insp.overdue": ("逾期未检", "Overdue"),
    "insp.parts": ("检查发现的配件需求(反馈配件计划)", "Parts needed from findings (for the parts plan)"),
    "insp.leads": ("购买意向(反馈销售)", "Purchase intent (for sales)"),
    "insp.issues": ("检查发现的问题(反馈产品)", "Findings not in order (for product management)"),
    "insp.schedule": ("全部检查安排", "Full schedule"),
    "state.overdue": ("逾期", "Overdue"),
    "state.due": ("30 天内到期", "Due in 30 days"),
    "state.upcoming": ("待到期", "Upcoming"),
    "state.done": ("已完成", "Done"),
    "state.missed": ("未执行", "Missed"),
    "state.late": ("其中延期完成", "of which late"),
    "parts.title": ("配件", "Spare parts"),
    "parts.intro": ("配件台账、低于计划储备的配件、各产品每月用量,以及维修等待配件的情况;截至 {at}。",
                    "The parts ledger, parts below planned stock, parts used per product and month, and repairs "
                    "that waited for parts; as of {at}."),
    "parts.below": ("低于计划储备", "Below planned stock"),
    "parts.below_none": ("所有配件均达到计划储备。", "Every part is at or above its planned stock."),
    "parts.consumption": ("各产品每月配件用量(件)", "Parts used per product and month (pieces)"),
    "parts.waits": ("等待配件的维修", "Repairs waiting for parts"),
    "parts.waits_summary": ("{waited} / {repairs} 份维修记录曾等待配件({share:.0%}),合计 {total:.1f} 天,平均 {mean:.1f} 天,"
                            "最长 {max:.1f} 天;仍在等待 {open} 份。",
                            "{waited} of {repairs} repairs waited for parts ({share:.0%}), {total:.1f} days in all, "
                            "{mean:.1f} days on average, {max:.1f} days at most; {open} still waiting."),
    "parts.ledger": ("配件台账", "Parts ledger"),
    "parts.priority": ("优先产品", "Priority product"),
    "parts.shortfall": ("缺口", "Shortfall"),
    "parts.shortfall_value": ("缺口金额", "Shortfall value"),
    "parts.needed": ("检查提出需求", "Needed by inspections"),
    "parts.used": ("已用量", "Used"),
    "tech.title": ("技术人员考核与人员配置", "Technician appraisal and staffing"),
    "tech.intro": ("过渡方案:按返回的维修记录计工作量,按故障排除 / 故障判定但缺乏配件 / 未排除计工作质量,技术等级高者加分,"
                   "并计入客户评价。考核期 {start} 至 {end}。",
                   "Transitional scheme: workload by returned repair records, quality graded fixed / diagnosed but "
                   "waiting for parts / not fixed, a bonus for higher technical grades, plus customer ratings. "
                   "Period {start} to {end}."),
    "tech.month": ("本月({start} 至 {end})", "This month ({start} to {end})"),
    "tech.weights": ("计分规则", "Scoring rules"),
    "tech.staffing": ("人员配置:各片区设备保有量与服务工程师", "Staffing: installed machines and service engineers per region"),
    "tech.records": ("维修记录", "Records"),
    "tech.rating": ("客户评价", "Rating"),
    "tech.base": ("基础分", "Base"),
    "tech.bonus": ("等级加分", "Grade bonus"),
    "tech.score": ("考核得分", "Score"),
    "tech.grade": ("技术等级", "Grade"),
    "tech.machines": ("设备保有量", "Installed machines"),
    "tech.engineers": ("服务工程师", "Engineers"),
    "tech.per_engineer": ("人均保障设备", "Machines per engineer"),
    "tech.target": ("目标", "Target"),
    "tech.needed": ("按目标需要", "Needed by target"),
    "tech.gap": ("缺口(正为缺人)", "Gap (positive: short)"),
    "tech.workload": ("每份返回的维修记录", "Per returned repair record"),
    "tech.rating_rule": ("每个评价 ×(评分 − {neutral})", "Per rating x (rating − {neutral})"),
    "value.title": ("用户价值指标", "Customer value index"),
    "value.intro": ("经济指标、忠诚度、服务效果和客户特征加权合成(0-100);资源紧张时价值高的客户优先,同等紧急的超时风险按此排序。"
                    "有记录数据的取自记录,否则取客户档案;截至 {at}。",
                    "Weighted from economics, loyalty, service effect and traits (0-100); when resources are short "
                    "the higher-value customer is served first, and equally urgent at-risk clocks are ordered by it. "
                    "From the records where they hold the data, else from the customer file; as of {at}."),
    "value.rank": ("排名", "Rank"),
    "value.index": ("价值指标", "Index"),
    "value.coverage": ("数据覆盖", "Coverage"),
    "value.weights": ("权重", "Weights"),
    "value.factor": ("因素", "Factor"),
    "value.weight": ("权重", "Weight"),
    "value.from_records": ("取自记录的因素", "Factors from records"),
    "dim.economics": ("经济", "Economics"),
    "dim.loyalty": ("忠诚度", "Loyalty"),
    "dim.service_effect": ("服务效果", "Service effect"),
    "dim.traits": ("客户特征", "Traits"),
    "factor.maintenance_fees": ("年维护费", "Maintenance fees"),
    "factor.receivables_on_time": ("回款及时率", "Receivables on time"),
    "factor.repurchase": ("再购意向", "Repurchase"),
    "factor.proactive_contact": ("主动联系", "Proactive contact"),
    "factor.referrals": ("推荐客户", "Referrals"),
    "factor.coordination_ease": ("配合程度", "Ease of coordination"),
    "factor.rating_vs_resources": ("评价与投入比", "Rating vs resources"),
    "factor.size": ("规模", "Size"),
    "factor.influence": ("市场影响力", "Market influence"),
    "fb.title": ("售后信息反馈", "After-sales feedback"),
    "fb.intro": ("哪些产品、在哪里、出了什么故障,哪些无法解决——反馈给销售和产品部门;统计 {since} 至 {at} 报修的维修记录。",
                 "Which products fail, where, with what, and what could not be supported, for sales and product "
                 "management; repairs reported from {since} to {at}."),
    "fb.by_product": ("各产品故障", "Failures per product"),
    "fb.matrix": ("产品 × 故障类别 × 片区", "Product x fault category x region"),
    "fb.by_region": ("各片区故障", "Failures per region"),
    "fb.failures": ("故障数", "Failures"),
    "fb.installed": ("保有量", "Installed"),
    "fb.per100": ("每百台故障", "Per 100 installed"),
    "fb.top_codes": ("主要故障编码", "Top fault codes"),
    "fb.unsupported": ("未能解决", "Not supported"),
    "fb.suggestions": ("用户意见与改进建议", "Customer opinions and suggestions"),
    "w.product": ("产品", "Product"),
    "w.category": ("故障类别", "Fault category"),
    "w.region": ("片区", "Region"),
    "w.station": ("服务站", "Station"),
    "w.engineer": ("工程师", "Engineer"),
    "w.customer": ("客户", "Customer"),
    "w.installation": ("装机单", "Installation"),
    "w.month": ("交验后月份", "Month"),
    "w.due": ("计划日期", "Due"),
    "w.done": ("完成日期", "Done"),
    "w.state": ("状态", "State"),
    "w.inspection": ("检查记录", "Inspection"),
    "w.count": ("数量", "Count"),
    "w.part": ("配件", "Part"),
    "w.part_number": ("配件编号", "Part number"),
    "w.grade": ("等级", "Grade"),
    "w.planned": ("计划储备", "Planned"),
    "w.actual": ("实际库存", "Actual"),
    "w.location": ("库位", "Location"),
    "w.lead": ("供应周期(天)", "Lead time (days)"),
    "w.repair": ("维修记录", "Repair"),
    "w.record": ("记录", "Record"),
    "w.from": ("开始", "From"),
    "w.to": ("结束", "To"),
    "w.days": ("天数", "Days"),
    "w.open": ("仍在等待", "Still waiting"),
    "w.level": ("意向", "Intent"),
    "w.note": ("说明", "Note"),
    "w.other_equipment": ("用户其他设备", "Other equipment"),
    "w.title": ("标题", "Title"),
    "w.status": ("状态", "Status"),
    "w.codes": ("故障编码", "Fault codes"),
    "w.entries": ("条目", "Entries"),
    "w.symptom": ("故障现象", "Symptom"),
    "w.causes": ("可能原因", "Possible causes"),
    "w.cause": ("原因", "Cause"),
    "w.type": ("类型", "Type"),
    "w.diagnosis_order": ("故障判断顺序", "Diagnosis order"),
    "w.procedure": ("排除方法", "Fix procedure"),
    "w.step": ("步骤", "Step"),
    "w.diagnosis": ("故障判断", "Diagnosis"),
    "w.action": ("处理过程", "Action"),
    "w.result": ("处理结果", "Result"),
    "w.precautions": ("注意事项", "Precautions"),
    "w.keywords": ("关键词", "Keywords"),
    "w.history": ("流转记录", "History"),
    "w.at": ("时间", "At"),
    "w.by": ("经办人", "By"),
    "w.also": ("同样适用于", "Also applies to"),
    "w.total": ("合计", "Total"),
    "w.yes": ("是", "yes"),
    "w.none": ("无", "none"),
    "w.source": ("来源", "Source"),
    "w.period": ("考核期", "Period"),
    "w.fixed": ("故障排除", "Fixed"),
    "w.waiting": ("待配件", "Waiting parts"),
    "w.not_fixed": ("未排除", "Not fixed"),
}


class _Page:
    """Helpers bound to one language and the pages' link targets."""

    def __init__(self, corpus, lang: str, at, where: Callable[[str], str | None] | None):
        if lang not in ("zh", "en"):
            raise ValueError(f"unsupported site language {lang!r}")
        self.c = corpus
        self.lang = lang
        self.at = as_datetime(at)
        self.day = as_date(at)
        self._where = where

    def t(self, key: str, **values) -> str:
        zh, en = LABELS[key]
        s = zh if self.lang == "zh" else en
        return s.format(**values) if values else s

    # ---- labels from schemas and lifecycle
    def status(self, kind: str, status) -> str:
        if not isinstance(status, str):
            return ""
        try:
            return self.c.lifecycle.label(kind, status, self.lang) or status
        except Exception:  # noqa: BLE001 - unknown status of a broken record
            return status

    def enum(self, kind: str, path: tuple, value) -> str:
        if not isinstance(value, str):
            return ""
        try:
            return self.c.schemas.enum_label(kind, path, value, self.lang) or value
        except Exception:  # noqa: BLE001
            return value

    def category(self, value) -> str:
        return self.enum("kb", ("fault_category",), value)

    # ---- names and links
    def name(self, rid) -> str:
        rec = self.c.records.get(rid) if isinstance(rid, str) else None
        if rec is None:
            return rid if isinstance(rid, str) else ""
        for key in ("short_name", "name", "title"):
            v = get(rec.data, key)
            if isinstance(v, str) and v.strip():
                return v.strip()
        return rid

    def labelled(self, rid) -> str:
        n = self.name(rid)
        return f"{n} ({rid})" if n and n != rid else (rid or "")

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
        try:
            root = self.c.index.root(rid)
        except Exception:  # noqa: BLE001
            return None
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
        page, _, anchor = target.partition("#")
        return link(shown, relurl(here, page) + (f"#{anchor}" if anchor else ""))

    def person(self, pid) -> str:
        return self.labelled(pid) if isinstance(pid, str) and pid else ""

    def customer(self, here: str, cid) -> Markup:
        return self.ref(here, cid, self.labelled(cid)) if isinstance(cid, str) else Markup("—")

    def kb_ref(self, here: str, rec) -> Markup:
        return link(text(get(rec.data, "title")) or rec.id, relurl(here, f"kb/{rec.id}.md")) if is_safe_id(rec.id) \
            else md_escape(text(get(rec.data, "title")) or rec.id)

    def reasons(self, m) -> str:
        keys = m.reasons or ["text"]
        return ", ".join(self.t(f"reason.{k}") for k in keys)

    def fmt_day(self, d) -> str:
        return d.isoformat() if isinstance(d, date) else ""


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

def kb_links(corpus, record_id: str, lang: str, here: str, limit: int = 5,
             where: Callable[[str], str | None] | None = None) -> str:
    """Markdown list of the KB entries matching a repair or complaint, for its page ('' when none)."""
    p = _Page(corpus, lang, datetime.now().astimezone(), where)
    try:
        found = kb_mod.match(corpus, record_id, limit=limit)
    except KeyError:
        return ""
    if not found:
        return ""
    items = [f"- {p.kb_ref(here, m.entry)} ({md_escape(p.reasons(m))})" for m in found]
    return _heading(3, p.t("kb.related")) + "\n\n" + "\n".join(items) + "\n"


def _kb_pages(p: _Page) -> dict[str, str]:
    out: dict[str, str] = {}
    here = "kb/index.md"
    all_entries = kb_mod.entries(p.c, include_drafts=True)
    published = [r for r in all_entries if get(r.data, "status") == "published"]
    drafts = [r for r in all_entries if get(r.data, "status") == "draft"]
    blocks = [_heading(1, p.t("kb.title")), md_escape(p.t("kb.intro"))]
    tree = kb_mod.tree(p.c)
    if not tree:
        blocks.append(md_escape(p.t("kb.none")))
    blocks.append(_heading(2, p.t("kb.by_product")))
    for product in sorted(tree, key=lambda x: p.name(x)):
        blocks.append(_heading(3, p.labelled(product)))
        rows = []
        for cat in kb_mod.FAULT_CATEGORIES:
            for rec in tree[product].get(cat, []):
                rows.append([p.category(cat), p.kb_ref(here, rec), ", ".join(get(rec.data, "fault_codes") or []),
                             text(get(rec.data, "symptom"))])
        blocks.append(table([p.t("w.category"), p.t("kb.entry"), p.t("w.codes"), p.t("w.symptom")], rows))
    codes = kb_mod.by_fault_code(p.c)
    if codes:
        blocks.append(_heading(2, p.t("kb.by_code")))
        blocks.append(table([p.t("w.codes"), p.t("w.product"), p.t("kb.entry")],
                            [[code, p.labelled(get(rec.data, "product")), p.kb_ref(here, rec)]
                             for code, recs in codes.items() for rec in recs]))
    if drafts:
        blocks.append(_heading(2, p.t("kb.drafts")))
        blocks.append(table([p.t("kb.entry"), p.t("w.product"), p.t("w.by"), p.t("w.at")],
                            [[p.kb_ref(here, r), p.labelled(get(r.data, "product")), p.person(get(r.data, "filled_by")),
                              text(get(r.data, "created_at"))[:10]] for r in drafts]))
    blocks.append(link(p.t("kb.cases"), relurl(here, "kb/cases.md")))
    out[here] = _lines(*blocks)

    # which cases match which entries (computed once, used by the entry pages too)
    matches_of_case: dict[str, list] = {}
    cases_of_entry: dict[str, list] = defaultdict(list)
    for kind in ("repair", "complaint"):
        for rec in sorted(p.c.of_kind(kind), key=lambda r: r.id):
            found = kb_mod.match(p.c, rec, limit=3)
            matches_of_case[rec.id] = found
            for m in found:
                cases_of_entry[m.entry.id].append((rec, m))

    here = "kb/cases.md"
    rows = []
    for rid, found in matches_of_case.items():
        rec = p.c.records[rid]
        rows.append([p.ref(here, rid), p.status(rec.kind, get(rec.data, "status")), p.labelled(get(rec.data, "product")),
                     Markup("<br>").join(Markup(f"{p.kb_ref(here, m.entry)} ({md_escape(p.reasons(m))})") for m in found)
                     if found else Markup("—")])
    out[here] = _lines(_heading(1, p.t("kb.cases")), md_escape(p.t("kb.cases_intro")),
                       table([p.t("w.record"), p.t("w.status"), p.t("w.product"), p.t("kb.related")], rows))

    for rec in all_entries + [r for r in p.c.of_kind("kb") if get(r.data, "status") == "retired"]:
        if is_safe_id(rec.id):
            out[f"kb/{rec.id}.md"] = _kb_entry(p, rec, cases_of_entry.get(rec.id, []))
    return out


def _kb_entry(p: _Page, rec, cases) -> str:
    here = f"kb/{rec.id}.md"
    d = rec.data if isinstance(rec.data, dict) else {}
    numbers = {get(r.data, "part_number"): r for r in p.c.of_kind("part")}

    def part_cell(nums):
        shown = []
        for n in nums or []:
            part = numbers.get(n)
            label = f"{n} {text(get(part.data, 'name'))}".strip() if part is not None else n
            shown.append(link(label, relurl(here, "parts/index.md") + f"#part-{part.id}")
                         if part is not None and is_safe_id(part.id) else md_escape(label))
        return Markup(", ").join(shown) if shown else Markup("—")

    summary = [
        [p.t("w.product"), p.labelled(d.get("product"))],
        [p.t("w.category"), p.category(d.get("fault_category"))],
        [p.t("w.codes"), ", ".join(d.get("fault_codes") or []) or "—"],
        [p.t("w.status"), p.status("kb", d.get("status"))],
    ]
    if d.get("also_applies_to"):
        summary.insert(1, [p.t("w.also"), ", ".join(p.labelled(x) for x in d["also_applies_to"])])
    causes = [[c.get("cause"), p.enum("kb", ("possible_causes", 0, "type"), c.get("type")), part_cell(c.get("part_numbers"))]
              for c in d.get("possible_causes") or [] if isinstance(c, dict)]
    steps = [[i, s.get("diagnosis"), s.get("action"), s.get("result")]
             for i, s in enumerate((s for s in d.get("procedure") or [] if isinstance(s, dict)), 1)]
    behind = [[p.ref(here, r), p.labelled(get(p.c.records[r].data, "customer")) if r in p.c.records else "",
               text(get(p.c.records[r].data, "created_at"))[:10] if r in p.c.records else ""]
              for r in d.get("learned_from") or [] if isinstance(r, str)]
    matching = [[p.ref(here, case.id), p.status(case.kind, get(case.data, "status")), md_escape(p.reasons(m)),
                 f"{m.similarity:.2f}"] for case, m in cases]
    history = [[text(h.get("at")).replace("T", " ")[:16], p.person(h.get("by")), p.status("kb", h.get("status")), h.get("note")]
               for h in d.get("history") or [] if isinstance(h, dict)]
    blocks = [
        _heading(1, text(d.get("title")) or rec.id),
        table([p.t("kb.entry"), rec.id], summary),
        _heading(2, p.t("w.symptom")), md_escape(d.get("symptom")),
        _heading(2, p.t("w.causes")), table([p.t("w.cause"), p.t("w.type"), p.t("w.part_number")], causes),
    ]
    if d.get("diagnosis_order"):
        blocks += [_heading(2, p.t("w.diagnosis_order")), _numbered(d["diagnosis_order"])]
    blocks += [_heading(2, p.t("w.procedure")),
               table([p.t("w.step"), p.t("w.diagnosis"), p.t("w.action"), p.t("w.result")], steps)]
    if d.get("precautions"):
        blocks += [_heading(2, p.t("w.precautions")), md_escape(d["precautions"])]
    if behind:
        blocks += [_heading(2, p.t("kb.behind")), table([p.t("w.repair"), p.t("w.customer"), p.t("w.at")], behind)]
    if matching:
        blocks += [_heading(2, p.t("kb.matching")),
                   table([p.t("w.record"), p.t("w.status"), p.t("kb.reasons"), p.t("kb.similarity")], matching)]
    if d.get("keywords"):
        blocks += [_heading(2, p.t("w.keywords")), md_escape(", ".join(k for k in d["keywords"] if isinstance(k, str)))]
    if d.get("remarks"):
        blocks.append(md_escape(d["remarks"]))
    blocks += [_heading(2, p.t("w.history")), table([p.t("w.at"), p.t("w.by"), p.t("w.status"), p.t("w.note")], history)]
    return _lines(*blocks)


# ======================================================================================== inspections

def _inspections_page(p: _Page) -> str:
    here = "inspections/index.md"
    states = list(insp_mod.STATES)
    head = [p.t(f"state.{s}") for s in states] + [p.t("state.late")]

    def counts(rows, label):
        return [[label(r["key"]), *[r[s] for s in states], r["late"]] for r in rows]

    by_station = insp_mod.summary(p.c, p.at, "station")
    by_engineer = insp_mod.summary(p.c, p.at, "engineer")
    first, last = insp_mod.coming_month(p.at)
    plan = insp_mod.station_plan(p.c, p.at)
    items = insp_mod.schedule(p.c, p.at)

    def item_row(i, with_station=False):
        row = [p.ref(here, i.installation), p.customer(here, i.customer), p.labelled(i.product), i.month,
               p.fmt_day(i.due_on), p.person(i.engineer), p.t(f"state.{i.state}"),
               p.ref(here, i.inspection) if i.inspection else "—"]
        return ([i.station] + row) if with_station else row

    item_head = [p.t("w.installation"), p.t("w.customer"), p.t("w.product"), p.t("w.month"), p.t("w.due"),
                 p.t("w.engineer"), p.t("w.state"), p.t("w.inspection")]
    blocks = [_heading(1, p.t("insp.title")), md_escape(p.t("insp.intro", at=p.day.isoformat())),
              _heading(2, p.t("insp.by_station")), table([p.t("w.station"), *head], counts(by_station, str)),
              _heading(2, p.t("insp.by_engineer")), table([p.t("w.engineer"), *head], counts(by_engineer, p.person)),
              _heading(2, p.t("insp.plan", first=first.isoformat(), last=last.isoformat()))]
    if not plan:
        blocks.append(md_escape(p.t("insp.plan_none")))
    for station, its in plan.items():
        blocks += [_heading(3, station or "—"), table(item_head, [item_row(i) for i in its])]
    feed = insp_mod.findings_feed(p.c, p.at)
    if feed["parts"]:
        blocks += [_heading(2, p.t("insp.parts")),
                   table([p.t("w.part_number"), p.t("w.part"), p.t("w.count"), p.t("w.inspection")],
                         [[n.part_number, p.name(n.part) if n.part else "—", n.quantity,
                           Markup(", ").join(p.ref(here, x) for x in n.inspections)] for n in feed["parts"]])]
    if feed["leads"]:
        blocks += [_heading(2, p.t("insp.leads")),
                   table([p.t("w.customer"), p.t("w.level"), p.t("w.product"), p.t("w.note"), p.t("w.other_equipment"),
                          p.t("w.inspection")],
                         [[p.customer(here, l.customer), p.enum("inspection", ("new_purchase_intent", "level"), l.level),
                           ", ".join(p.labelled(x) for x in l.products), l.note, l.other_equipment,
                           p.ref(here, l.inspection)] for l in feed["leads"]])]
    if feed["issues"]:
        blocks += [_heading(2, p.t("insp.issues")),
                   table([p.t("w.product"), p.t("w.category"), p.t("w.count")],
                         [[p.labelled(x["product"]), p.category(x["category"]), x["count"]] for x in feed["issues"]])]
    blocks += [_heading(2, p.t("insp.schedule")),
               table([p.t("w.station"), *item_head, p.t("w.done")],
                     [item_row(i, True) + [p.fmt_day(i.done_on) + (" ⚠" if i.late else "")] for i in items])]
    return _lines(*blocks)


# ============================================================================================ parts

def _parts_page(p: _Page) -> str:
    here = "parts/index.md"
    used = parts_mod.consumption_by_part(p.c, p.at)
    needed = {n.part_number: n.quantity for n in insp_mod.findings_feed(p.c, p.at)["parts"]}
    below = parts_mod.below_plan(p.c)
    blocks = [_heading(1, p.t("parts.title")), md_escape(p.t("parts.intro", at=p.day.isoformat())),
              _heading(2, p.t("parts.below"))]
    if below:
        blocks.append(table(
            [p.t("w.part"), p.t("w.grade"), p.t("w.product"), p.t("w.planned"), p.t("w.actual"), p.t("parts.shortfall"),
             p.t("parts.shortfall_value"), p.t("w.lead"), p.t("parts.needed"), p.t("parts.priority")],
            [[link(f"{s.part_number} {s.name}", f"#part-{s.part}") if is_safe_id(s.part) else f"{s.part_number} {s.name}",
              p.enum("part", ("grade",), s.grade), ", ".join(p.name(x) for x in s.products), s.planned, s.actual,
              s.shortfall, f"{s.shortfall_value:,.2f}" if s.shortfall_value is not None else "—",
              s.lead_time_days if s.lead_time_days is not None else "—", needed.get(s.part_number, 0) or "—",
              p.t("w.yes") if s.priority else ""] for s in below]))
    else:
        blocks.append(md_escape(p.t("parts.below_none")))
    cons = parts_mod.consumption(p.c, p.at)
    months = sorted({m for per in cons.values() for m in per})
    if cons:
        rows = [[p.labelled(prod) if prod else "—", *[per.get(m, 0) or "" for m in months], sum(per.values())]
                for prod, per in cons.items()]
        blocks += [_heading(2, p.t("parts.consumption")), table([p.t("w.product"), *months, p.t("w.total")], rows)]
    s = parts_mod.wait_summary(p.c, p.at)
    blocks += [_heading(2, p.t("parts.waits")),
               md_escape(p.t("parts.waits_summary", waited=s.waited, repairs=s.repairs, share=s.share,
                             total=s.total_days, mean=s.mean_days, max=s.max_days, open=s.still_waiting))]
    waits = parts_mod.waits(p.c, p.at)
    if waits:
        blocks.append(table([p.t("w.repair"), p.t("w.customer"), p.t("w.product"), p.t("w.region"), p.t("w.from"),
                             p.t("w.to"), p.t("w.days"), p.t("w.open")],
                            [[p.ref(here, w.repair), p.customer(here, w.customer), p.labelled(w.product), w.region,
                              w.start.strftime("%Y-%m-%d %H:%M"), "" if w.open else w.end.strftime("%Y-%m-%d %H:%M"),
                              f"{w.days:.1f}", p.t("w.yes") if w.open else ""] for w in waits]))
    if s.by_product:
        blocks.append(table([p.t("w.product"), p.t("tech.records"), p.t("w.days")],
                            [[p.labelled(k) if k else "—", v["waited"], f"{v['days']:.1f}"] for k, v in s.by_product.items()]))
    ledger = sorted(parts_mod.stock(p.c), key=lambda x: (x.products[:1], x.part_number))
    blocks += [_heading(2, p.t("parts.ledger")),
               table([p.t("w.part_number"), p.t("w.part"), p.t("w.product"), p.t("w.grade"), p.t("w.planned"),
                      p.t("w.actual"), p.t("parts.used"), p.t("w.location")],
                     [[Markup(f'<span id="part-{s.part}"></span>') + md_escape(s.part_number) if is_safe_id(s.part)
                       else s.part_number, s.name, ", ".join(p.name(x) for x in s.products),
                       p.enum("part", ("grade",), s.grade), s.planned, s.actual, used.get(s.part_number, 0), s.location]
                      for s in ledger])]
    return _lines(*blocks)


# ====================================================================================== technicians

def _technicians_page(p: _Page) -> str:
    here = "technicians/index.md"
    year_start = date(p.day.year, 1, 1)
    month_start = p.day.replace(day=1)
    w = tech_mod.weights().get("appraisal", {})

    def appraisal_table(start):
        rows = []
        for a in tech_mod.appraisal(p.c, start, p.day):
            rows.append([p.person(a.engineer), a.region, a.grade if a.grade is not None else "—", a.records,
                         a.by_grade["fixed"], a.by_grade["diagnosed_waiting_parts"], a.by_grade["not_fixed"],
                         f"{a.mean_rating:.2f} ({a.rated})" if a.mean_rating is not None else "—",
                         f"{a.base:.2f}", f"{a.bonus_pct:g}%", f"{a.score:.2f}"])
        return table([p.t("w.engineer"), p.t("w.region"), p.t("tech.grade"), p.t("tech.records"), p.t("w.fixed"),
                      p.t("w.waiting"), p.t("w.not_fixed"), p.t("tech.rating"), p.t("tech.base"), p.t("tech.bonus"),
                      p.t("tech.score")], rows)

    quality = w.get("quality") or {}
    rules = [[p.t("tech.workload"), w.get("workload_per_record")],
             [p.t("w.fixed"), quality.get("fixed")], [p.t("w.waiting"), quality.get("diagnosed_waiting_parts")],
             [p.t("w.not_fixed"), quality.get("not_fixed")],
             [p.t("tech.rating_rule", neutral=(w.get("rating") or {}).get("neutral")), (w.get("rating") or {}).get("per_point")]]
    rules += [[f"{p.t('tech.grade')} {g}", f"+{v}%"] for g, v in sorted((w.get("bonus_pct_by_grade") or {}).items())]
    staffing = tech_mod.staffing(p.c, p.at)
    blocks = [_heading(1, p.t("tech.title")),
              md_escape(p.t("tech.intro", start=year_start.isoformat(), end=p.day.isoformat())),
              appraisal_table(year_start),
              _heading(2, p.t("tech.month", start=month_start.isoformat(), end=p.day.isoformat())),
              appraisal_table(month_start),
              _heading(2, p.t("tech.weights")), table([p.t("value.factor"), p.t("value.weight")], rules),
              _heading(2, p.t("tech.staffing")),
              table([p.t("w.region"), p.t("tech.machines"), p.t("tech.engineers"), p.t("tech.per_engineer"),
                     p.t("tech.target"), p.t("tech.needed"), p.t("tech.gap")],
                    [[s.region or "—", s.machines, ", ".join(p.name(x) for x in s.engineers) or "—",
                      f"{s.per_engineer:.1f}" if s.per_engineer is not None else "—", f"{s.target:g}", s.needed,
                      f"{s.gap:+d}"] for s in staffing])]
    return _lines(*blocks)


# ============================================================================================ value

def _value_page(p: _Page) -> str:
    here = "customers/value.md"
    vi = value_mod.ValueIndex(p.c, p.at)
    dims = list(value_mod.DIMENSIONS)
    rows = []
    for rank, s in enumerate(vi.ranked(), 1):
        from_records = [p.t(f"factor.{f.name}") for f in s.factors.values() if f.source == "records"]
        rows.append([rank, p.customer(here, s.customer), f"{s.index:.1f}",
                     *[f"{s.dimension(d, vi.weights):.1f}" for d in dims], f"{s.coverage:.0%}",
                     ", ".join(from_records) or "—"])
    weights = [[p.t(f"dim.{d}"), p.t(f"factor.{f}"), f"{vi.weights[f]:g}"] for d in dims for f in value_mod.DIMENSIONS[d]]
    return _lines(_heading(1, p.t("value.title")), md_escape(p.t("value.intro", at=p.day.isoformat())),
                  table([p.t("value.rank"), p.t("w.customer"), p.t("value.index"), *[p.t(f"dim.{d}") for d in dims],
                         p.t("value.coverage"), p.t("value.from_records")], rows),
                  _heading(2, p.t("value.weights")),
                  table([p.t("value.factor"), p.t("value.factor"), p.t("value.weight")], weights))


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
    blocks = [_heading(1, p.t("fb.title")), md_escape(p.t("fb.intro", since=since.isoformat(), at=p.day.isoformat())),
              _heading(2, p.t("fb.by_product")),
              table([p.t("w.product"), p.t("fb.failures"), p.t("fb.installed"), p.t("fb.per100"), p.t("w.category"),
                     p.t("w.region"), p.t("fb.top_codes"), p.t("fb.unsupported")], rows)]
    if matrix:
        blocks += [_heading(2, p.t("fb.matrix")),
                   table([p.t("w.product"), p.t("w.category"), p.t("w.region"), p.t("fb.failures")],
                         [[p.labelled(k[0]) if k[0] else "—", p.category(k[1]), k[2] or "—", n]
                          for k, n in sorted(matrix.items(), key=lambda x: (-x[1], x[0]))])]
        blocks += [_heading(2, p.t("fb.by_region")),
                   table([p.t("w.region"), p.t("fb.failures")],
                         [[k or "—", n] for k, n in feedback_mod.by(p.c, p.at, "region", since).items()])]
    sugg = [[p.labelled(f.product), s] for f in prods for s in f.suggestions]
    if sugg:
        blocks += [_heading(2, p.t("fb.suggestions")), table([p.t("w.product"), p.t("fb.suggestions")], sugg)]
    return _lines(*blocks)


# ============================================================================================ entry

def pages(corpus, lang: str, at, where: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Every after-sales page for one language, as of ``at``."""
    p = _Page(corpus, lang, at, where)
    out = _kb_pages(p)
    out["inspections/index.md"] = _inspections_page(p)
    out["parts/index.md"] = _parts_page(p)
    out["technicians/index.md"] = _technicians_page(p)
    out["customers/value.md"] = _value_page(p)
    out["feedback/index.md"] = _feedback_page(p)
    return out


__all__ = ["pages", "kb_links", "LABELS"]
