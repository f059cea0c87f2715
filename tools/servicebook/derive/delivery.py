"""Delivery (售中, source 002) of one contract as of an instant: the 1+N team, the requirements
confirmation due after signing, change requests, milestones planned vs actual, the risk log, the
latest reports and the open problems by level.

Requirements (step 1): due when the requirements policy's clock (``SLA-requirements``: 72 hours)
runs out, counted from the signing (the instant the contract entered ``signed``, else local
midnight of ``signing_date``), in the policy's calendar for the contract's tier: the deadline lives
in the policy record only. The SLA engine measures the same clock on the requirements record; this
report also says *late* while no confirmation exists at all, which a clock cannot.

Three-level problem response (step 3): :data:`LEVELS` says who owns the answer at each level
(minor: any member of the 1+N team; major: the delivery owner; critical: management, i.e. a
person holding ``technical_manager`` or ``general_manager``; a higher owner always fits) -- change it
by passing ``levels=``. How fast each level must be answered is configured in the SLA policies
``records/policy/SLA-delivery-problems-<level>.yaml`` and enforced by the SLA engine; the report
carries each problem's response clock from :mod:`servicebook.derive.sla.engine`.

Milestones: the list of the latest progress report that has one (reports restate the plan);
each milestone is ``done`` (on time or late by N days), ``overdue`` (planned date passed, not
reached) or ``planned``.

Nothing here reads the wall clock: every function takes the instant explicitly.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import Any, Iterable, Mapping

from servicebook.derive.pipeline import _fmt, calendar_of, status_at
from servicebook.derive.sla.calendar import CalendarError
from servicebook.load.instants import ZONE, date_or_none, instant_or_none, parse_instant, start_of_day
from servicebook.load.records import get_dict, get_list

__all__ = ["LEVELS", "LEVEL_ORDER", "contracts_in_delivery", "handed_over", "report", "reports",
           "response_targets"]

LEVEL_ORDER = ("critical", "major", "minor")
# who may own the answer, by level: rank 1 = a 1+N team member, 2 = the delivery owner,
# 3 = management (roles below)
LEVELS: dict[str, dict] = {
    "minor": {"owner_rank": 1, "en": "Minor", "zh": "小问题",
              "owner_en": "a 1+N team member", "owner_zh": "1+N 团队成员"},
    "major": {"owner_rank": 2, "en": "Major", "zh": "较大问题",
              "owner_en": "the delivery owner", "owner_zh": "交付负责人"},
    "critical": {"owner_rank": 3, "en": "Critical", "zh": "重大问题",
                 "owner_en": "management (technical manager / GM)", "owner_zh": "公司管理层(技术经理/总经理)"},
}
MANAGEMENT_ROLES = ("technical_manager", "general_manager")
DELIVERY_KINDS = ("requirements", "change", "progress", "risk", "problem")
# seed 002's steps recorded as progress records of these types: the 1+N team's kick-off meeting,
# then the solution co-designed with the customer in three rounds
DELIVERY_STEPS = ("kickoff", "design_outline", "design_demo", "design_final")


def _records(source) -> Mapping[str, Any]:
    return source.records if hasattr(source, "records") else source


def _date(value) -> _dt.date | None:
    return date_or_none(value)


def signed_at(contract, at) -> _dt.datetime | None:
    """When the contract was signed, as of ``at`` (None while unsigned)."""
    for when, e in contract.dated_history:
        if when <= at and e.get("status") == "signed":
            return when
    st = status_at(contract, at)
    if st and st[0] in ("signed", "completed"):
        d = _date(contract.data.get("signing_date"))
        if d:
            return start_of_day(d)
    return None


def contracts_in_delivery(source, at) -> list:
    """Contracts signed by ``at`` or with delivery records, newest signature first."""
    at = parse_instant(at)
    records = _records(source)
    with_records = {r.data.get("contract") for r in records.values()
                    if r.kind in DELIVERY_KINDS and isinstance(r.data.get("contract"), str) and status_at(r, at) is not None}
    out = []
    for r in records.values():
        if r.kind != "contract" or status_at(r, at) is None:
            continue
        if signed_at(r, at) is not None or r.id in with_records:
            out.append(r)
    out.sort(key=lambda r: (signed_at(r, at) or _dt.datetime.min.replace(tzinfo=ZONE), r.id), reverse=True)
    return out


def _delivery_end(ct, shared: _Shared, at: _dt.datetime) -> _dt.datetime:
    """When delivery ended as of ``at``: the hand-over (the contract's first installation handed
    over, else the contract completed), or ``at`` while it runs."""
    st = status_at(ct, at)
    ends = [t for t in (shared.handed_over.get(ct.id), st[1] if st and st[0] == "completed" else None) if t]
    return min([at, *ends])


def _reporting(progress, signed: _dt.datetime | None, end: _dt.datetime, calendar) -> dict:
    """Whether the reports seed 002 promises arrived, from the day after signing to the end of
    delivery: a daily note (当日进展) for every working day that is over, a weekly report (周报)
    for every week whose Friday is over. Each counts when a progress record of that type is dated
    in its day / week (Monday to Sunday)."""
    dated: dict[str, set[_dt.date]] = {"daily": set(), "weekly": set()}
    for r in progress:
        day = _date(r.data.get("date"))
        if day is not None and r.data.get("type") in dated:
            dated[r.data["type"]].add(day)
    out = {"daily": {"expected": 0, "received": 0, "missing": []},
           "weekly": {"expected": 0, "received": 0, "missing": []}, "unknown_days": 0}
    if signed is None:
        return out
    first, last = signed.astimezone(ZONE).date() + _dt.timedelta(days=1), end.astimezone(ZONE).date()
    day = first
    while day < last:  # a day counts once it is over
        try:
            working = calendar.is_working_day(day)
        except CalendarError:  # beyond the calendar's holiday data: not counted either way
            out["unknown_days"] += 1
            working = False
        if working:
            _tally(out["daily"], day, day in dated["daily"])
        if day.weekday() == 4:  # Friday: the week's report was due
            monday = day - _dt.timedelta(days=4)
            _tally(out["weekly"], monday, any(monday <= d <= monday + _dt.timedelta(days=6) for d in dated["weekly"]))
        day += _dt.timedelta(days=1)
    return out


def _held(progress, step: str) -> dict:
    """When a delivery step was held: the earliest progress record of that type (its date)."""
    held = sorted((str(r.data.get("date")), r.id) for r in progress if r.data.get("type") == step and _date(r.data.get("date")))
    return {"on": held[0][0], "record": held[0][1]} if held else {"on": None, "record": None}


def _tally(row: dict, day: _dt.date, arrived: bool) -> None:
    row["expected"] += 1
    if arrived:
        row["received"] += 1
    else:
        row["missing"].append(day.isoformat())


def response_targets(source, tier: str, policies=None) -> dict[str, str | None]:
    """level -> the response target text of its SLA policy for this tier ("2 hours"), or None."""
    if policies is None:
        from servicebook.derive.sla.policies import load_policies

        policies, _ = load_policies(_records(source))
    out: dict[str, str | None] = {lv: None for lv in LEVELS}
    for p in policies:
        if p.kind != "problem" or tier not in p.tiers:
            continue
        for fld, values in p.match:
            if fld == "level":
                for lv in values:
                    if lv in out and p.clocks and p.clocks[0].targets.get(tier):
                        out[lv] = p.clocks[0].targets[tier].text()
    return out


def _owner_rank(person: str | None, contract, records) -> int:
    if not person:
        return 0
    p = records.get(person)
    roles = get_list(p.data, "roles") if p is not None else []
    if any(isinstance(r, str) and r in MANAGEMENT_ROLES for r in roles):
        return 3
    team = get_dict(contract.data, "delivery_team")
    if person == team.get("owner"):
        return 2
    if any(isinstance(m, Mapping) and m.get("person") == person for m in get_list(team, "members")):
        return 1
    return 0


def handed_over(source, at: _dt.datetime) -> dict[str, _dt.datetime]:
    """contract -> when its first installation was handed over, as of ``at``: where delivery ends
    (`_delivery_end`); all the delivery reports read of installations."""
    out: dict[str, _dt.datetime] = {}
    for r in _records(source).values():
        st = status_at(r, at) if r.kind == "installation" else None
        contract = r.data.get("contract") if st else None
        if st and st[0] == "handed_over" and isinstance(contract, str):
            first = out.get(contract)
            out[contract] = st[1] if first is None else min(first, st[1])
    return out


class _Shared:
    """What every contract's report reads: the SLA engine and the delivery records by contract,
    built once for a set of reports (once per contract would be quadratic in the corpus)."""

    def __init__(self, source, at: _dt.datetime):
        from servicebook.derive.sla.engine import Engine

        self.records = _records(source)
        self.engine = Engine(source)
        self.calendar = calendar_of(self.records)  # the working days a daily note is due on
        self.handed_over = handed_over(self.records, at)
        self.by_contract: dict[Any, list] = defaultdict(list)
        for r in self.records.values():
            if r.kind in DELIVERY_KINDS and isinstance(r.data.get("contract"), str) and status_at(r, at) is not None:
                self.by_contract[r.data["contract"]].append(r)


def reports(source, contract_ids: Iterable[str], at, **options) -> list[dict]:
    """``report`` for each contract (unknown ones left out), sharing one engine and index."""
    at = parse_instant(at)
    shared = _Shared(source, at)
    return [rep for rep in (_report(shared, cid, at, **options) for cid in contract_ids) if rep]


def report(source, contract_id: str, at, *, levels: Mapping[str, Mapping] | None = None,
           latest_reports: int = 5) -> dict | None:
    """Everything the delivery page shows for one contract, as plain data; None if unknown."""
    at = parse_instant(at)
    return _report(_Shared(source, at), contract_id, at, levels=levels, latest_reports=latest_reports)


def _report(shared: _Shared, contract_id: str, at: _dt.datetime, *, levels: Mapping[str, Mapping] | None = None,
            latest_reports: int = 5) -> dict | None:
    levels = LEVELS if levels is None else levels
    records = shared.records
    ct = records.get(contract_id)
    if ct is None or ct.kind != "contract" or status_at(ct, at) is None:
        return None
    engine = shared.engine
    tier = engine.matcher.tier_of(ct)
    mine = shared.by_contract.get(contract_id, ())
    by_kind = {k: sorted((r for r in mine if r.kind == k), key=lambda r: (str(r.data.get("created_at", "")), r.id))
               for k in DELIVERY_KINDS}
    signed = signed_at(ct, at)
    team = get_dict(ct.data, "delivery_team")
    members = [m for m in get_list(team, "members") if isinstance(m, Mapping)]

    def clocks(rec):
        return [c.to_dict() for c in engine.clocks_for(rec, at.timestamp()) if c.last_cycle]

    # requirements within the requirements policy's time of signing
    due_ts = engine.due("requirements", tier, signed) if signed else None
    due = _dt.datetime.fromtimestamp(due_ts, ZONE) if due_ts is not None else None
    reqs = []
    for r in by_kind["requirements"]:
        st = status_at(r, at)
        confirmed = None
        for when, e in r.dated_history:
            if when <= at and e.get("status") == "confirmed":
                confirmed = when
                break
        reqs.append({"id": r.id, "status": st[0], "confirmed_at": _fmt(confirmed),
                     "items": len(get_list(r.data, "items")), "out_of_scope": list(get_list(r.data, "out_of_scope")),
                     "clocks": clocks(r)})
    confirmed_times = [instant_or_none(q["confirmed_at"]) for q in reqs if q["confirmed_at"]]
    first_confirmed = min(confirmed_times) if confirmed_times else None
    if signed is None:
        req_state = "not_signed"
    elif due is None:
        req_state = "no_policy"
    elif first_confirmed is not None:
        req_state = "met" if first_confirmed <= due else "late"
    else:
        req_state = "late" if at > due else "open"
    late_by = None
    if due is not None and req_state == "late":
        late_by = ((first_confirmed or at) - due).total_seconds()

    changes = []
    for r in by_kind["change"]:
        d = r.data
        a = get_dict(d, "assessment")
        changes.append({"id": r.id, "status": status_at(r, at)[0], "change_type": d.get("change_type"),
                        "requested_by": d.get("requested_by"), "description": d.get("description"),
                        "dates": d.get("dates"), "extra_people": a.get("extra_people"),
                        "extra_cost": a.get("extra_cost"), "deprioritised": list(get_list(a, "deprioritised")),
                        "decision": get_dict(d, "decision").get("outcome")
                        if instant_or_none(get_dict(d, "decision").get("at")) and instant_or_none(d["decision"]["at"]) <= at else None})

    # reports and milestones
    reports = sorted(by_kind["progress"], key=lambda r: (str(r.data.get("date", "")), str(r.data.get("created_at", "")), r.id),
                     reverse=True)
    milestones = []
    source_report = next((r for r in reports if get_list(r.data, "milestones")), None)
    today = at.astimezone(ZONE).date()
    for m in get_list(source_report.data, "milestones") if source_report else ():
        if not isinstance(m, Mapping):
            continue
        planned, actual = _date(m.get("planned_on")), _date(m.get("actual_on"))
        if actual is not None and actual > today:
            actual = None
        if actual is not None:
            delay = (actual - planned).days if planned else 0
            state = "done_late" if delay > 0 else "done"
        elif planned is not None and planned < today:
            delay, state = (today - planned).days, "overdue"
        else:
            delay, state = 0, "planned"
        milestones.append({"name": m.get("name"), "planned_on": planned.isoformat() if planned else None,
                           "actual_on": actual.isoformat() if actual else None, "state": state,
                           "delay_days": delay, "review_notes": m.get("review_notes")})
    latest = [{"id": r.id, "type": r.data.get("type"), "date": r.data.get("date"),
               "period_from": r.data.get("period_from"), "percent_complete": r.data.get("percent_complete"),
               "progress": r.data.get("progress"), "problems": r.data.get("problems"),
               "next_week_plan": r.data.get("next_week_plan"), "filled_by": r.data.get("filled_by")}
              for r in reports[:latest_reports]]

    risks = []
    for r in by_kind["risk"]:
        st = status_at(r, at)[0]
        due_on = _date(r.data.get("action_due"))
        risks.append({"id": r.id, "status": st, "risk": r.data.get("risk"), "category": r.data.get("category"),
                      "likelihood": r.data.get("likelihood"), "impact": r.data.get("impact"),
                      "owner": r.data.get("owner"), "action": r.data.get("action"),
                      "raised_on": r.data.get("raised_on"), "action_due": r.data.get("action_due"),
                      "action_overdue": bool(st != "closed" and due_on is not None and due_on < today)})
    risks.sort(key=lambda x: (x["status"] == "closed", x["raised_on"] or "", x["id"]))

    targets = response_targets(records, tier, engine.policies)
    problems = []
    for r in by_kind["problem"]:
        st = status_at(r, at)[0]
        level = r.data.get("level") if isinstance(r.data.get("level"), str) else None  # else: schema.type, located
        cl = clocks(r)
        response = next((c for c in cl if c["clock"] == "response"), cl[0] if cl else None)
        need = (levels.get(level) or {}).get("owner_rank", 0)
        problems.append({"id": r.id, "status": st, "open": st != "resolved", "level": level,
                         "title": r.data.get("title"), "owner": r.data.get("owner"),
                         "owner_fits": _owner_rank(r.data.get("owner"), ct, records) >= need,
                         "raised_at": r.data.get("raised_at"), "answered_at": r.data.get("answered_at"),
                         "response_target": targets.get(level), "response": response})
    problems.sort(key=lambda p: (not p["open"], LEVEL_ORDER.index(p["level"]) if p["level"] in LEVEL_ORDER else 9,
                                 p["raised_at"] or "", p["id"]))
    open_by_level = {lv: [p for p in problems if p["open"] and p["level"] == lv] for lv in LEVEL_ORDER}

    reporting = _reporting(by_kind["progress"], signed, _delivery_end(ct, shared, at), shared.calendar)
    steps = [{"step": step, **_held(by_kind["progress"], step)} for step in DELIVERY_STEPS]

    entered = [st[1] for st in (status_at(r, at) for r in (ct, *mine)) if st and st[1]]
    return {
        "contract": ct.id, "customer": ct.data.get("customer"), "status": status_at(ct, at)[0], "tier": tier,
        "signed_at": _fmt(signed), "as_of": _fmt(at), "last_activity": _fmt(max(entered, default=None)),
        "team": {"owner": team.get("owner"), "members": [{"person": m.get("person"), "role": m.get("role")} for m in members],
                 "shape": f"1+{len(members)}" if team.get("owner") else f"0+{len(members)}"},
        "requirements": {"due": _fmt(due), "state": req_state, "late_seconds": late_by,
                         "confirmed_at": _fmt(first_confirmed), "records": reqs},
        "changes": changes,
        "milestones": milestones,
        "milestones_overdue": sum(1 for m in milestones if m["state"] == "overdue"),
        "milestones_from": source_report.id if source_report else None,
        "reports": latest,
        "reporting": reporting,
        "steps": steps,
        "risks": risks,
        "problems": problems,
        "open_problems_by_level": {lv: [p["id"] for p in v] for lv, v in open_by_level.items()},
        "response_targets": targets,
        "levels": {lv: {"owner": (levels.get(lv) or {}).get("owner_en")} for lv in LEVEL_ORDER},
    }
