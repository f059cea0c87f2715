"""The deal pipeline (销售漏斗): every deal's stage, days in stage against its deadline, negotiation
rounds, bids, key communications and referral shares, as of an instant.

A deal is a case chain rooted at a customer communications survey (``Corpus.chain(survey)``: the
appraisal, solution, feasibility, contract, bids and communications hanging off it).

Stages, in process order (source 001 chapter 1)::

    survey -> appraisal -> solution -> manager_review -> feasibility -> gm_approval
           -> proposal -> negotiation -> contract -> won          (or lost, with a reason)

Each record of the chain, in the status it had at the instant asked about, is evidence of a
stage (:data:`EVIDENCE`: a handed-over survey means the appraisal is under way, an approved
solution means the feasibility appraisal is, a GM-approved feasibility means the proposal is due,
...). The deal is in the most advanced stage any record shows (of each kind the latest record
counts); it entered that stage at the earliest instant a record showed it. It is *lost* when, as
of that instant, the survey was dropped, the latest solution was lost, the latest feasibility was
rejected by the general manager, or the latest contract was cancelled; ``lost_stage`` says where
it was lost and ``lost_reason`` why (the solution's ``lost_reason``, else the note of the history
entry that lost it). *won* means the contract is signed.

Deadlines live only in the SLA policies (``records/policy/``): :data:`STAGE_CLOCKS` names the
policy clock that sets each stage's deadline, which the SLA engine computes for the deal's service
tier in the policy's calendar (``Engine.due``), so the pipeline and ``servicebook sla`` agree.
Days in stage are counted in the business calendar (``records/calendar/CAL-cn-standard.yaml``
when present, else the built-in 5x8 Chinese calendar). As the demo's policies set them:

    survey          hand over to the technical dept within half a working day (step C)
    appraisal       technical appraisal within half a working day (step D)
    solution        solution draft within half a working day (step E)
    manager_review  manager review within one working day (step F)
    proposal        proposal in the customer's hands by the end of the 5th working day from
                    first contact (step H; counted from the survey date); the stage runs from the
                    GM's approval until negotiation starts, its deadline stops when the solution
                    is proposed
    negotiation     no deadline in the sources (source 001: managers review long negotiations
                    and lost deals); how long is *long* is company policy, so it is an SLA clock:
                    ``negotiation`` of the solution's policy (``records/policy/SLA-solution.yaml``,
                    10 working days in the policy's business calendar). :func:`long_negotiation`
                    asks the SLA engine for that clock; it is the one test of a long negotiation
                    (the weekly site page and ``servicebook pipeline`` both list what it says).
                    Without such a clock a negotiation has no deadline.
    feasibility, gm_approval, contract: no deadline in the sources

``days_in_stage`` is working time in the stage divided by an 8-hour working day, counted from the
first instant any record showed the stage (a solution returned for rework stays in ``solution``
from the appraisal's completion on).

Referral shares (source 001): a non-sales employee who brought the lead (``survey.referrer``) is
paid a share *of the salesperson's commission on the deal*: class A 15%, B 35%, C 75%. The
commission is the contract amount x ``commission_rate`` (default :data:`DEFAULT_COMMISSION_RATE`,
5%; the company's rate is set per call / with ``servicebook pipeline --commission-rate``). The share
is *due* once the contract is signed (the source pays "after the project is run successfully"),
*expected* while a contract amount is known but not signed, and *pending* before there is an
amount. A referrer who also runs the deal (is its salesperson, or filled its survey, solution, a bid or a
key communication) is flagged: the source forbids it.

Nothing here reads the wall clock: every function takes the instant explicitly.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from servicebook.derive.sla import calendar as bc
from servicebook.derive.sla.engine import Engine
from servicebook.derive.sla.policies import load_calendars, load_policies
from servicebook.load.instants import ZONE, instant_or_none, parse_instant
from servicebook.load.records import get_list

__all__ = ["STAGES", "STAGE_LABELS", "EVIDENCE", "STAGE_CLOCKS", "REFERRAL_SHARES", "DEFAULT_COMMISSION_RATE",
           "NEGOTIATION_CLOCK", "Deal", "calendar_of", "status_at", "deals", "deal", "by_stage",
           "manager_view", "long_negotiation", "long_negotiations", "negotiation_limit"]

STAGES = ("survey", "appraisal", "solution", "manager_review", "feasibility", "gm_approval", "proposal",
          "negotiation", "contract", "won", "lost")
OPEN_STAGES = STAGES[:-2]
STAGE_LABELS = {
    "survey": ("Survey", "客户调查"),
    "appraisal": ("Technical appraisal", "技术鉴定"),
    "solution": ("Solution draft", "方案起草"),
    "manager_review": ("Manager review", "经理审核"),
    "feasibility": ("Feasibility appraisal", "可行性鉴定"),
    "gm_approval": ("GM approval", "总经理审批"),
    "proposal": ("Proposal", "方案交付"),
    "negotiation": ("Negotiation", "商务洽谈"),
    "contract": ("Contract", "合同签订"),
    "won": ("Won (contract signed)", "已签约"),
    "lost": ("Lost", "已丢单"),
}
# (kind, status) -> the stage a record in that status shows the deal to be in
EVIDENCE: dict[str, dict[str, str]] = {
    "survey": {"open": "survey", "handed_over": "appraisal"},
    "appraisal": {"in_progress": "appraisal", "done": "solution"},
    "solution": {"draft": "solution", "returned": "solution", "in_review": "manager_review",
                 "approved": "feasibility", "proposed": "proposal", "negotiating": "negotiation",
                 "won": "contract"},
    "feasibility": {"draft": "feasibility", "submitted": "gm_approval", "approved": "proposal"},
    "contract": {"draft": "contract", "pending_approval": "contract", "approved": "contract",
                 "signed": "won", "completed": "won"},
}
LOST = {"survey": "dropped", "solution": "lost", "feasibility": "rejected", "contract": "cancelled"}
# stage -> (kind, clock) of the SLA policy clock that sets its deadline, counted from entering
# the stage; the proposal's from the first contact (FROM_FIRST_CONTACT). No entry: no deadline.
STAGE_CLOCKS: dict[str, tuple[str, str]] = {
    "survey": ("survey", "handover"),
    "appraisal": ("appraisal", "appraisal"),
    "solution": ("appraisal", "solution_draft"),
    "manager_review": ("solution", "manager_review"),
    "proposal": ("survey", "proposal"),
}
FROM_FIRST_CONTACT = frozenset({"proposal"})
# (kind, clock name): the SLA clock whose target is the longest a negotiation may run
NEGOTIATION_CLOCK = ("solution", "negotiation")
REFERRAL_SHARES = {"a": 0.15, "b": 0.35, "c": 0.75}
DEFAULT_COMMISSION_RATE = 0.05
WORKING_DAY_SECONDS = 8 * 3600


# --------------------------------------------------------------------------- helpers
# Instants: ``load.instants`` (``parse_instant`` for the "as of" argument, never 'now';
# ``instant_or_none`` for record data, which may not validate).


def status_at(rec, at: _dt.datetime) -> tuple[str, _dt.datetime, str | None] | None:
    """``(status, entered_at, note)`` of a record as of ``at``; None if it did not exist yet.
    Records without a history (plain records) exist from ``created_at`` with status None."""
    created = instant_or_none(rec.data.get("created_at"))
    if created is not None and created > at:
        return None
    last = None
    for when, entry in rec.dated_history:
        if when > at:
            continue
        if last is None or entry.get("status") != last[0]:
            last = (entry.get("status"), when, entry.get("note"))
    if last is None:
        if rec.data.get("history"):
            return None
        return (None, created, None) if created is not None else None
    return last


def _previous_status(rec, at: _dt.datetime) -> tuple[str, _dt.datetime] | None:
    """The status a record had before its current one (as of ``at``), and when it entered it."""
    seq = []
    for when, entry in rec.dated_history:
        if when > at:
            continue
        if not seq or entry.get("status") != seq[-1][0]:
            seq.append((entry.get("status"), when))
    return seq[-2] if len(seq) >= 2 else None


def _entered(rec, status: str, at: _dt.datetime) -> _dt.datetime | None:
    """When a record first entered ``status`` (as of ``at``)."""
    for when, entry in rec.dated_history:
        if when <= at and entry.get("status") == status:
            return when
    return None


def calendar_of(records: Mapping[str, Any]):
    """The standard business calendar: the CAL-cn-standard record when present, else built-in.
    Read as the SLA engine reads it (`load_calendars`); a calendar record that cannot be built is
    reported by the sla.policy check (located), and the built-in calendar stands in here."""
    return load_calendars(records)[0].get("CAL-cn-standard") or bc.china_standard()


def _records(source) -> Mapping[str, Any]:
    return source.records if hasattr(source, "records") else source


def _fmt(dt: _dt.datetime | None) -> str | None:
    return dt.astimezone(ZONE).isoformat(timespec="seconds") if dt else None


def _amount(value) -> tuple[float, str] | None:
    if isinstance(value, Mapping) and isinstance(value.get("amount"), (int, float)):
        return float(value["amount"]), str(value.get("currency", "CNY"))
    return None


# --------------------------------------------------------------------------- the model


@dataclass
class Deal:
    survey: str
    customer: str | None
    salesperson: str | None
    manager: str | None
    stage: str
    stage_since: _dt.datetime | None
    days_in_stage: float | None
    deadline: _dt.datetime | None
    state: str  # on_time | late | long | no_deadline | closed | error
    first_contact: _dt.datetime | None
    lost_stage: str | None = None
    lost_reason: str | None = None
    lost_at: _dt.datetime | None = None
    records: dict[str, str | None] = field(default_factory=dict)  # kind -> latest record id
    solution_status: str | None = None
    negotiation: dict = field(default_factory=dict)
    bids: list[dict] = field(default_factory=list)
    communications: dict[str, int] = field(default_factory=dict)
    referral: dict | None = None
    contract_amount: tuple[float, str] | None = None
    # what the deal is worth: the contract amount once there is a contract, else the equipment
    # investment the solution puts to the customer; `value_from` says which ("contract" | "solution")
    value: tuple[float, str] | None = None
    value_from: str | None = None
    error: str | None = None
    days_at_least: bool = False  # days_in_stage runs past the calendar's holiday data: a lower bound

    @property
    def open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def long_negotiation(self) -> bool:
        return self.state == "long"

    def to_dict(self) -> dict:
        return {
            "survey": self.survey, "customer": self.customer, "salesperson": self.salesperson,
            "manager": self.manager, "stage": self.stage, "stage_since": _fmt(self.stage_since),
            "days_in_stage": self.days_in_stage, "days_at_least": self.days_at_least,
            "deadline": _fmt(self.deadline), "state": self.state,
            "first_contact": _fmt(self.first_contact), "lost_stage": self.lost_stage,
            "lost_reason": self.lost_reason, "lost_at": _fmt(self.lost_at), "records": dict(self.records),
            "solution_status": self.solution_status, "negotiation": self.negotiation, "bids": self.bids,
            "communications": self.communications, "referral": self.referral,
            "contract_amount": ({"amount": self.contract_amount[0], "currency": self.contract_amount[1]}
                                if self.contract_amount else None),
            "value": {"amount": self.value[0], "currency": self.value[1], "from": self.value_from} if self.value else None,
            "error": self.error,
        }


def _latest(recs: list, kind: str, at):
    """The latest record of a kind (by created_at) existing at ``at``, with its status there."""
    best = None
    for r in recs:
        if r.kind != kind:
            continue
        s = status_at(r, at)
        if s is None:
            continue
        key = (str(r.data.get("created_at", "")), r.id)
        if best is None or key > best[0]:
            best = (key, r, s)
    return (best[1], best[2]) if best else (None, None)


def _approvers(records: Mapping[str, Any], at) -> dict[str, str]:
    """salesperson -> the sales manager who most often reviewed their solutions (fallback manager)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in records.values():
        if r.kind != "solution":
            continue
        manager, salesperson = _reviewer(r, at), r.data.get("filled_by")
        if manager and isinstance(salesperson, str):
            counts[salesperson][manager] += 1
    return {sp: c.most_common(1)[0][0] for sp, c in counts.items() if c}


def _reviewer(solution, at) -> str | None:
    who = None
    for when, e in solution.dated_history:
        if when <= at and e.get("status") in ("approved", "returned") \
                and isinstance(e.get("by"), str):
            who = e.get("by")
    return who


def deals(source, at, *, commission_rate: float = DEFAULT_COMMISSION_RATE,
          calendar=None) -> list[Deal]:
    """Every deal (one per survey existing at ``at``), most advanced first within a stage order.

    ``source``: a Corpus (chains come from its index)."""
    at = parse_instant(at)
    records = _records(source)
    cal = calendar or calendar_of(records)
    approvers = _approvers(records, at)
    engine = Engine(source)
    out = []
    for sv in sorted((r for r in records.values() if r.kind == "survey"), key=lambda r: r.id):
        d = deal(source, sv.id, at, commission_rate=commission_rate, calendar=cal,
                 _approvers=approvers, _engine=engine)
        if d is not None:
            out.append(d)
    out.sort(key=lambda d: (STAGES.index(d.stage), -(d.days_in_stage or 0), d.survey))
    return out


def deal(source, survey_id: str, at, *, commission_rate: float = DEFAULT_COMMISSION_RATE, calendar=None, _approvers=None,
         _engine=None) -> Deal | None:
    """One deal as of ``at``; None when its survey did not exist yet."""
    at = parse_instant(at)
    records = _records(source)
    cal = calendar or calendar_of(records)
    sv = records.get(survey_id)
    if sv is None or sv.kind != "survey" or status_at(sv, at) is None:
        return None
    chain = source.chain(survey_id) if hasattr(source, "chain") else [sv]
    latest = {k: _latest(chain, k, at) for k in ("survey", "appraisal", "solution", "feasibility", "contract")}
    latest["survey"] = (sv, status_at(sv, at))

    # stage from the evidence
    best_stage, since = None, None
    lost = None
    for kind, (rec, st) in latest.items():
        if rec is None:
            continue
        status, entered, note = st
        if LOST.get(kind) == status:
            if kind == "feasibility" and latest["contract"][0] is not None:
                continue  # a later contract supersedes a rejected appraisal
            if lost is None or entered < lost[1]:
                reason = (rec.data.get("lost_reason") if kind == "solution" else None) or note
                lost = (kind, entered, reason, rec)
            before = _previous_status(rec, at)
            if before is None:
                continue
            status, entered = before  # where the deal stood when this record lost it
        stage = EVIDENCE.get(kind, {}).get(status) if isinstance(status, str) else None  # (no text: a broken record)
        if stage is None:
            continue
        i = STAGES.index(stage)
        if best_stage is None or i > STAGES.index(best_stage):
            best_stage, since = stage, entered
        elif stage == best_stage and entered < since:
            since = entered
    if best_stage is None:
        best_stage, since = "survey", status_at(sv, at)[1]
    first_contact = instant_or_none(sv.data.get("survey_date")) or instant_or_none(sv.data.get("created_at"))

    d = Deal(survey=sv.id, customer=sv.data.get("customer"), salesperson=sv.data.get("salesperson"),
             manager=None, stage=best_stage, stage_since=since, days_in_stage=None, deadline=None,
             state="no_deadline", first_contact=first_contact)
    d.records = {k: (v[0].id if v[0] is not None else None) for k, v in latest.items()}
    sol = latest["solution"][0]
    d.solution_status = latest["solution"][1][0] if sol is not None else None
    if lost is not None and best_stage != "won":
        d.lost_stage, d.lost_at, d.lost_reason = best_stage, lost[1], lost[2]
        d.stage, d.stage_since, d.state = "lost", lost[1], "closed"
    elif best_stage == "won":
        d.state = "closed"

    # days in stage and the deadline
    try:
        if d.open and since is not None:
            worked, exact = cal.working_seconds_at_least(since, at)  # past the holiday data: at least
            d.days_in_stage, d.days_at_least = round(worked / WORKING_DAY_SECONDS, 2), not exact
            engine = _engine or Engine(source)
            clock = STAGE_CLOCKS.get(d.stage)
            start = first_contact if d.stage in FROM_FIRST_CONTACT else since
            if d.stage == "negotiation":
                d.deadline, d.state, d.error = _negotiation_state(engine, sol, at)
            elif clock is not None and start is not None:
                due = engine.due(clock[0], engine.matcher.tier_of(sv), start, clock[1])
                d.deadline = _dt.datetime.fromtimestamp(due, ZONE) if due is not None else None
                done = _entered(sol, "proposed", at) if d.stage == "proposal" and sol is not None else None
                if d.deadline is not None:
                    # the proposal deadline stops when the proposal reaches the customer
                    d.state = "late" if (done or at) > d.deadline else "on_time"
    except bc.CalendarError as exc:
        d.state, d.error = "error", str(exc)

    # manager: who reviewed the solution, else the feasibility's author, else the usual reviewer
    manager = _reviewer(sol, at) if sol is not None else None
    fs = latest["feasibility"][0]
    if manager is None and fs is not None and isinstance(fs.data.get("filled_by"), str):
        manager = fs.data["filled_by"]
    if manager is None and isinstance(d.salesperson, str):
        approvers = _approvers if _approvers is not None else _approvers_of(records, at)
        manager = approvers.get(d.salesperson)
    d.manager = manager

    d.negotiation = _negotiation(sol, at, d)
    ct = latest["contract"][0]
    d.contract_amount = _amount(ct.data.get("amount")) if ct is not None else None
    d.value, d.value_from = deal_value(d.contract_amount, sol)
    d.bids = [_bid(r, at) for r in chain if r.kind == "bid" and status_at(r, at) is not None]
    comms = Counter(r.data.get("kind") for r in chain if r.kind == "communication"
                    and isinstance(r.data.get("kind"), str) and status_at(r, at) is not None)
    d.communications = dict(sorted(comms.items()))
    d.referral = _referral(sv, chain, d, commission_rate, at)
    return d


def _approvers_of(records, at):
    return _approvers(records, at)


# --------------------------------------------------------------------------- long negotiations


def _negotiation_clock(engine, solution, at: _dt.datetime):
    """The newest cycle of the solution's negotiation clock as of ``at``; None when no policy
    has one."""
    kind, name = NEGOTIATION_CLOCK
    if solution is None or solution.kind != kind:
        return None
    found = [c for c in engine.clocks_for(solution, at) if c.clock in (name, "*") and c.last_cycle]
    return found[-1] if found else None


def deal_value(contract_amount, solution) -> tuple[tuple[float, str] | None, str | None]:
    """(amount, currency) a deal is worth and where it comes from: the contract's amount, else the
    equipment investment of the solution (`revenue.equipment_investment`); (None, None) without either."""
    if contract_amount is not None:
        return contract_amount, "contract"
    revenue = solution.data.get("revenue") if solution is not None and isinstance(solution.data, Mapping) else None
    invest = _amount(revenue.get("equipment_investment")) if isinstance(revenue, Mapping) else None
    return (invest, "solution") if invest is not None else (None, None)


def stage_values(stage_deals: Iterable[Deal]) -> dict[str, float]:
    """The summed value of some deals per currency (deals without a value add nothing)."""
    out: dict[str, float] = {}
    for d in stage_deals:
        if d.value is not None:
            out[d.value[1]] = round(out.get(d.value[1], 0.0) + d.value[0], 2)
    return out


def long_negotiation(engine, solution, at) -> bool:
    """Whether the negotiation on ``solution`` is long as of ``at``: the policy's negotiation
    clock ran past its target and the negotiation is still going on. The one test, used by
    :func:`deal` (state ``long``), the weekly site page and ``servicebook pipeline``."""
    return _is_long(_negotiation_clock(engine, solution, parse_instant(at)))


def _is_long(clock) -> bool:
    return clock is not None and clock.state == "breached" and clock.open


def _negotiation_state(engine, solution, at: _dt.datetime) -> tuple[_dt.datetime | None, str, str | None]:
    """``(deadline, state, error)`` of a deal in negotiation: ``long`` as :func:`long_negotiation`
    says, else ``on_time``; ``no_deadline`` without a negotiation clock; ``error`` when the clock
    could not be computed (the engine says why)."""
    clock = _negotiation_clock(engine, solution, at)
    if clock is None:
        return None, "no_deadline", None
    if clock.state == "error":
        return None, "error", clock.error
    deadline = _dt.datetime.fromtimestamp(clock.deadline, ZONE) if clock.deadline is not None else None
    return deadline, ("long" if _is_long(clock) else "on_time"), None


def long_negotiations(source, at) -> list[Deal]:
    """The deals in a long negotiation as of ``at``, longest first: what the sales managers review."""
    found = [d for d in deals(source, at) if d.long_negotiation]
    found.sort(key=lambda d: (-(d.days_in_stage or 0), d.survey))
    return found


def negotiation_limit(source) -> dict | None:
    """Where the limit is set: ``{"policy", "version", "clock", "targets": {tier: "10 working_days"}}``
    of the first policy with a negotiation clock; None when there is none."""
    kind, name = NEGOTIATION_CLOCK
    policies, _ = load_policies(_records(source))
    for p in policies:
        for cd in p.clocks if p.kind == kind else ():
            if cd.name == name:
                return {"policy": p.id, "version": p.version, "clock": name,
                        "targets": {tier: t.text() for tier, t in sorted(cd.targets.items())}}
    return None


def _negotiation(sol, at, d: Deal) -> dict:
    rounds = []
    if sol is not None:
        for r in get_list(sol.data, "negotiation_rounds"):
            when = instant_or_none(r.get("at")) if isinstance(r, Mapping) else None
            if when is None or when > at:
                continue
            rounds.append({"at": _fmt(when), "kind": r.get("kind"), "summary": r.get("summary"),
                           "manager_informed": bool(r.get("manager_informed"))})
    kinds = Counter(r["kind"] for r in rounds if isinstance(r["kind"], str))
    return {
        "rounds": len(rounds),
        "price_cuts": kinds.get("price_cut", 0),
        "contract_changes": kinds.get("contract_change", 0),
        "manager_not_informed": sum(1 for r in rounds if not r["manager_informed"]),
        "detail": rounds,
        "days": d.days_in_stage if d.stage == "negotiation" else None,
    }


# forms by which somebody runs a deal (a referrer may appear later, e.g. in the delivery team)
SALES_KINDS = frozenset({"survey", "solution", "bid", "communication"})
CHECK_ITEMS = ("requirement_analysis", "technical_solution", "solution_review", "bid_document", "binding",
               "sealing", "submission")


def _bid(rec, at) -> dict:
    status, _, _ = status_at(rec, at)
    data = rec.data
    deadline = instant_or_none(data.get("deadline"))
    submitted = instant_or_none(data.get("submitted_at"))
    if submitted is not None and submitted > at:
        submitted = None
    checked = {}
    for c in get_list(data, "checklist"):
        when = instant_or_none(c.get("checked_at")) if isinstance(c, Mapping) else None
        if when is not None and when <= at and isinstance(c.get("item"), str):
            checked[c["item"]] = c
    tasks = [t for t in get_list(data, "tasks") if isinstance(t, Mapping)]
    overdue = []
    for t in tasks:
        due, done = instant_or_none(t.get("due")), instant_or_none(t.get("done_at"))
        done = done if done is not None and done <= at else None
        if due is not None and ((done is None and at > due) or (done is not None and done > due)):
            overdue.append(t.get("task"))
    if submitted is not None and deadline is not None:
        timing = "late" if submitted > deadline else "on_time"
    elif deadline is not None and status in ("preparing", "reviewed"):
        timing = "late" if at > deadline else "open"
    else:
        timing = "unknown" if deadline is None else "closed"
    return {
        "id": rec.id, "status": status, "project_name": data.get("project_name"), "deadline": _fmt(deadline),
        "submitted_at": _fmt(submitted), "timing": timing,
        "checklist_done": [i for i in CHECK_ITEMS if i in checked],
        "checklist_missing": [i for i in CHECK_ITEMS if i not in checked],
        "defects": [i for i, c in checked.items() if c.get("ok") is False],
        "tasks": len(tasks), "tasks_overdue": overdue,
    }


def _referral(sv, chain, d: Deal, rate: float, at) -> dict | None:
    ref = sv.data.get("referrer")
    if not isinstance(ref, Mapping) or not isinstance(ref.get("class"), str) or ref["class"] not in REFERRAL_SHARES:
        return None
    share = REFERRAL_SHARES[ref["class"]]
    person = ref.get("person")
    amount = d.contract_amount
    out = {"person": person, "class": ref["class"], "share": share, "commission_rate": rate,
           "commission": None, "amount": None, "currency": None, "state": "pending", "conflict": None}
    if amount is not None and d.stage != "lost":
        commission = round(amount[0] * rate, 2)
        out.update(commission=commission, amount=round(commission * share, 2), currency=amount[1],
                   state="due" if d.stage == "won" else "expected")
    elif d.stage == "lost":
        out["state"] = "none"
    runs = person == d.salesperson or any(
        r.data.get("filled_by") == person for r in chain
        if r.kind in SALES_KINDS and status_at(r, at) is not None)
    if runs:
        out["conflict"] = "the referrer also runs the deal (source 001: a referrer may not operate the project)"
    return out


# --------------------------------------------------------------------------- views


def by_stage(all_deals: Iterable[Deal]) -> dict[str, list[Deal]]:
    groups: dict[str, list[Deal]] = {s: [] for s in STAGES}
    for d in all_deals:
        groups[d.stage].append(d)
    return groups


def manager_view(all_deals: Iterable[Deal]) -> dict[str, dict[str, list[Deal]]]:
    """Per sales manager: ``open`` deals, ``long_negotiations``, ``late`` deals, ``lost`` deals and
    deals with negotiation rounds the manager was ``not_informed`` of. Deals without a known
    manager are under the key ``""``."""
    out: dict[str, dict[str, list[Deal]]] = {}
    for d in all_deals:
        v = out.setdefault(d.manager or "", {"open": [], "long_negotiations": [], "late": [], "lost": [],
                                             "not_informed": []})
        if d.open:
            v["open"].append(d)
        if d.long_negotiation:
            v["long_negotiations"].append(d)
        if d.state == "late":
            v["late"].append(d)
        if d.stage == "lost":
            v["lost"].append(d)
        if d.negotiation.get("manager_not_informed"):
            v["not_informed"].append(d)
    for v in out.values():
        v["long_negotiations"].sort(key=lambda d: -(d.days_in_stage or 0))
        v["lost"].sort(key=lambda d: d.lost_at or d.stage_since or _dt.datetime.min.replace(tzinfo=ZONE), reverse=True)
    return dict(sorted(out.items()))
