"""Technician appraisal and staffing (source 004).

Appraisal, the source's transitional scheme (过渡方案) with the customer as the chief examiner
(客户是考评售后服务人员绩效的主考官,权重系数最大), per engineer and period ``[start, end]`` (dates,
both included), with the weights of ``schemas/appraisal-weights.yaml`` (``corpus.weights.appraisal``).
Three kinds of work count, each once, in the period its result was recorded:

* a **repair** record counts for its ``engineer`` when it was *returned* in the period: its result
  was recorded then -- the time it last entered ``fixed``, ``not_fixed`` or ``waiting_parts``
  (for a fixed repair ``fixed_at`` when given). Its grade is the repair's ``outcome`` field, else
  the result its history reached: ``fixed`` if it was fixed, else ``diagnosed_waiting_parts`` if
  it waited for parts, else ``not_fixed`` (工作质量: 故障排除 / 故障判定但缺乏配件 / 未排除);
* a **complaint** counts for its ``assigned_to`` when it was *handled* in the period: the time
  it last entered ``resolved`` (else ``closed``) -- the technical department's answer (seed 001
  K-L: the technical department solves what customer service records);
* a routine **inspection** counts for its ``engineer`` when it was *finished* in the period: the
  time it entered ``done`` (保健服务: the workload of the inspection procedure is the basis of
  the appraisal).

The customer's verdict on a piece of work (its rating, 1..5): a repair's ``customer_rating`` and
the ``satisfaction`` of done callbacks about the repair or its complaint; a complaint's, the
callbacks about it when no repair record comes from it (else the repair carries them: one
verdict counts once); an inspection's own ``satisfaction``. Several are averaged. Recorded by the
end of the period.

    workload = repairs x workload_per_record + complaints x workload_per_complaint
               + inspections x workload_per_inspection
    quality  = sum quality[grade] over the repairs
    customer = per_point x sum (rating - neutral) over the rated pieces of work
    base     = workload + quality + customer
    score    = base x (1 + bonus_pct_by_grade[technical grade] / 100)

The shipped weights make the customer's part the largest: one top rating is worth more than the
workload and quality of the best repair together (``customer_outweighs``).

Staffing: installed machines (devices of installations handed over by the as-of date) per region,
the active technical engineers of the region, machines per engineer against the region's target,
and how many engineers the target asks for.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from servicebook.derive.aftersales.common import (as_date, as_datetime, as_start, first_entered, get, get_list,
                                                  history, merge, region_of_customer, text)
from servicebook.load.instants import instant_or_none

GRADES = ("fixed", "diagnosed_waiting_parts", "not_fixed")
RESULT_STATUSES = {"fixed", "not_fixed", "waiting_parts"}


def weights(corpus, override: dict | None = None) -> dict:
    """The repository's weights (``corpus.weights.appraisal``), with ``override`` merged over
    them (nested keys one by one)."""
    return merge(corpus.weights.appraisal, override)


# --------------------------------------------------------------------------- one repair

@dataclass
class Returned:
    repair: str
    engineer: str
    at: datetime
    grade: str
    rating: float | None


def result_time(rec, until: datetime | None = None) -> datetime | None:
    """When the repair's result was recorded (see the module text), up to ``until``."""
    last = None
    for at, status, _ in history(rec):
        if until is not None and at > until:
            break
        if status in RESULT_STATUSES:
            last = (at, status)
    if last is None:
        return None
    if last[1] == "fixed":
        fixed_at = instant_or_none(get(rec.data, "fixed_at"))
        if fixed_at is not None and (until is None or fixed_at <= until):
            return fixed_at
    return last[0]


def grade_of(rec, until: datetime | None = None) -> str | None:
    outcome = get(rec.data, "outcome")
    if outcome in GRADES:
        return outcome
    seen = {status for at, status, _ in history(rec) if until is None or at <= until}
    if "fixed" in seen:
        return "fixed"
    if "waiting_parts" in seen:
        return "diagnosed_waiting_parts"
    if "not_fixed" in seen:
        return "not_fixed"
    return None


def ratings_by_case(corpus, until: datetime) -> dict[str, list[int]]:
    """case ID (repair or complaint) -> satisfaction of done callbacks about it by ``until``."""
    out: dict[str, list[int]] = defaultdict(list)
    for cb in corpus.of_kind("callback"):
        sat = get(cb.data, "satisfaction")
        case = get(cb.data, "case")
        if not isinstance(sat, int) or isinstance(sat, bool) or not isinstance(case, str):
            continue
        done_at = first_entered(cb, "done")
        if done_at is None or done_at > until:
            continue
        out[case].append(sat)
    return out


def rating_of(rec, callbacks: dict[str, list[int]]) -> float | None:
    values = []
    own = get(rec.data, "customer_rating")
    if isinstance(own, int) and not isinstance(own, bool):
        values.append(own)
    values += callbacks.get(rec.id, [])
    complaint = get(rec.data, "complaint")
    if isinstance(complaint, str):
        values += callbacks.get(complaint, [])
    return sum(values) / len(values) if values else None


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def returned(corpus, start, end) -> list[Returned]:
    """Repair records returned in ``[start, end]`` (dates or datetimes; a date ``end`` means the
    end of that day), with their grade and rating."""
    lo = as_start(start)
    hi = as_datetime(end)
    callbacks = ratings_by_case(corpus, hi)
    out = []
    for rec in corpus.of_kind("repair"):
        engineer = get(rec.data, "engineer") or get(rec.data, "handling.handler.by")
        if not isinstance(engineer, str):
            continue
        at = result_time(rec, hi)
        if at is None or not (lo <= at <= hi):
            continue
        grade = grade_of(rec, hi)
        if grade is None:
            continue
        out.append(Returned(rec.id, engineer, at, grade, rating_of(rec, callbacks)))
    return sorted(out, key=lambda r: (r.engineer, r.at, r.repair))


# --------------------------------------------------------------------------- complaints, inspections

@dataclass
class Work:
    """A complaint handled or an inspection finished, for the engineer who did it."""
    kind: str                     # complaint | inspection
    record: str
    engineer: str
    at: datetime
    rating: float | None


def _last_entered(rec, statuses: tuple[str, ...], until: datetime) -> datetime | None:
    """When the record last entered the first of ``statuses`` it ever entered by ``until``
    (``("resolved", "closed")``: the last resolution, else the closing)."""
    for wanted in statuses:
        found = [at for at, status, _ in history(rec) if status == wanted and at <= until]
        if found:
            return found[-1]
    return None


def handled_complaints(corpus, start, end) -> list[Work]:
    """Complaints whose ``assigned_to`` answered them in ``[start, end]``: the time the complaint
    last entered ``resolved`` (else ``closed``) by the end of the period. Rated by the callbacks
    about the complaint when no repair record comes from it."""
    lo, hi = as_start(start), as_datetime(end)
    callbacks = ratings_by_case(corpus, hi)
    with_repair = {c for c in (get(r.data, "complaint") for r in corpus.of_kind("repair")) if isinstance(c, str)}
    out = []
    for rec in corpus.of_kind("complaint"):
        engineer = get(rec.data, "assigned_to")
        if not isinstance(engineer, str):
            continue
        at = _last_entered(rec, ("resolved", "closed"), hi)
        if at is None or not (lo <= at <= hi):
            continue
        rating = None if rec.id in with_repair else _mean(callbacks.get(rec.id, []))
        out.append(Work("complaint", rec.id, engineer, at, rating))
    return sorted(out, key=lambda w: (w.engineer, w.at, w.record))


def finished_inspections(corpus, start, end) -> list[Work]:
    """Routine inspections their ``engineer`` finished in ``[start, end]`` (the history entry
    entering ``done``), rated by the inspection's own ``satisfaction``."""
    lo, hi = as_start(start), as_datetime(end)
    out = []
    for rec in corpus.of_kind("inspection"):
        engineer = get(rec.data, "engineer")
        if not isinstance(engineer, str):
            continue
        at = _last_entered(rec, ("done",), hi)
        if at is None or not (lo <= at <= hi):
            continue
        sat = get(rec.data, "satisfaction")
        rating = float(sat) if isinstance(sat, int) and not isinstance(sat, bool) else None
        out.append(Work("inspection", rec.id, engineer, at, rating))
    return sorted(out, key=lambda w: (w.engineer, w.at, w.record))


# --------------------------------------------------------------------------- appraisal

@dataclass
class Appraisal:
    engineer: str
    name: str
    region: str
    grade: int | None               # technical grade 1..5
    records: int                    # repair records returned
    by_grade: dict[str, int]
    rated: int                      # pieces of work with a customer rating
    mean_rating: float | None
    workload: float
    quality: float
    rating_points: float            # the customer's part
    base: float
    bonus_pct: float
    score: float
    repairs: list[str] = field(default_factory=list)
    complaints: int = 0             # complaints handled
    inspections: int = 0            # inspections finished
    complaint_ids: list[str] = field(default_factory=list)
    inspection_ids: list[str] = field(default_factory=list)


def _number(value, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def customer_outweighs(w: dict) -> bool:
    """Whether the customer is the chief examiner of these appraisal weights (source 004: the
    largest weight): one top rating (5) earns more than the workload and quality of the best
    repair together, and more than any other piece of work's workload."""
    rating = w.get("rating") or {}
    top = _number(rating.get("per_point"), 0.0) * (5 - _number(rating.get("neutral"), 3))
    quality = max((_number(v, 0.0) for v in (w.get("quality") or {}).values()), default=0.0)
    return top > _number(w.get("workload_per_record"), 1.0) + quality and top > max(
        _number(w.get("workload_per_complaint"), 0.0), _number(w.get("workload_per_inspection"), 0.0))


def appraisal(corpus, start, end, *, weights_override: dict | None = None,
              include_idle: bool = True) -> list[Appraisal]:
    """Score per engineer for the period, highest first. ``include_idle`` lists active
    engineers without any counted work too (score 0)."""
    return appraisals(corpus, [start], end, weights_override=weights_override, include_idle=include_idle)[0]


def appraisals(corpus, starts: list, end, *, weights_override: dict | None = None,
               include_idle: bool = True) -> list[list[Appraisal]]:
    """`appraisal` for several periods ending at ``end`` (the site's month and year): the work of
    the longest period is found once, and each period takes what falls in it (when a piece of work
    counts depends on ``end`` alone)."""
    lows = [as_start(s) for s in starts]
    first = min(lows)
    found = returned(corpus, first, end)
    work = handled_complaints(corpus, first, end) + finished_inspections(corpus, first, end)
    return [_appraisal(corpus, [r for r in found if r.at >= lo], [x for x in work if x.at >= lo],
                       weights_override, include_idle) for lo in lows]


def _appraisal(corpus, found: list[Returned], work: list[Work], weights_override, include_idle) -> list[Appraisal]:
    w = weights(corpus, weights_override).get("appraisal", {})
    per_record = _number(w.get("workload_per_record"), 1.0)
    per_complaint = _number(w.get("workload_per_complaint"), 0.0)
    per_inspection = _number(w.get("workload_per_inspection"), 0.0)
    quality = {g: _number((w.get("quality") or {}).get(g), 0.0) for g in GRADES}
    neutral = _number((w.get("rating") or {}).get("neutral"), 3.0)
    per_point = _number((w.get("rating") or {}).get("per_point"), 0.0)
    bonus = {int(k): _number(v, 0.0) for k, v in (w.get("bonus_pct_by_grade") or {}).items()}
    rows: dict[str, list[Returned]] = defaultdict(list)
    others: dict[str, list[Work]] = defaultdict(list)
    for r in found:
        rows[r.engineer].append(r)
    for x in work:
        others[x.engineer].append(x)
        rows.setdefault(x.engineer, [])
    if include_idle:
        for p in engineers(corpus):
            rows.setdefault(p.id, [])
    out = []
    for pid, recs in rows.items():
        person = corpus.records.get(pid)
        pdata = person.data if person is not None else {}
        tg = pdata.get("technical_grade") if isinstance(pdata.get("technical_grade"), int) else None
        counts = {g: sum(1 for r in recs if r.grade == g) for g in GRADES}
        complaints = [x.record for x in others[pid] if x.kind == "complaint"]
        inspections = [x.record for x in others[pid] if x.kind == "inspection"]
        rated = [r.rating for r in recs if r.rating is not None] + [x.rating for x in others[pid] if x.rating is not None]
        workload = per_record * len(recs) + per_complaint * len(complaints) + per_inspection * len(inspections)
        qual = sum(quality[r.grade] for r in recs)
        rating_points = per_point * sum(x - neutral for x in rated)
        base = workload + qual + rating_points
        pct = bonus.get(tg, 0.0) if tg is not None else 0.0
        out.append(Appraisal(pid, text(pdata.get("name")), text(pdata.get("region")), tg, len(recs), counts,
                             len(rated), sum(rated) / len(rated) if rated else None, workload, qual,
                             rating_points, base, pct, round(base * (1 + pct / 100), 4),
                             [r.repair for r in recs], len(complaints), len(inspections), complaints, inspections))
    return sorted(out, key=lambda a: (-a.score, a.engineer))


# --------------------------------------------------------------------------- staffing

def engineers(corpus) -> list:
    """Active people holding the technical-engineer role."""
    return sorted((p for p in corpus.of_kind("person")
                   if "technical_engineer" in get_list(p.data, "roles") and get(p.data, "active") is not False),
                  key=lambda p: p.id)


def installed_machines(corpus, at) -> dict[str, int]:
    """region -> devices of installations handed over by ``at``."""
    from servicebook.derive.aftersales.inspections import handed_over_on

    on = as_date(at)
    out: dict[str, int] = defaultdict(int)
    for inst in corpus.of_kind("installation"):
        if handed_over_on(inst, on) is None:
            continue
        region = region_of_customer(corpus, get(inst.data, "customer"))
        out[region] += sum(1 for d in get_list(inst.data, "devices") if isinstance(d, dict))
    return dict(out)


@dataclass
class Staffing:
    region: str
    machines: int
    engineers: list[str]
    target: float                 # machines per engineer the region aims at
    per_engineer: float | None    # None when the region has machines but no engineer
    needed: int                   # engineers the target asks for: ceil(machines / target)

    @property
    def gap(self) -> int:
        """Engineers missing (positive) or to spare (negative)."""
        return self.needed - len(self.engineers)


def staffing(corpus, at, *, weights_override: dict | None = None) -> list[Staffing]:
    cfg = weights(corpus, weights_override).get("staffing", {})
    default = float(cfg.get("default_machines_per_engineer", 30))
    targets = {str(k): float(v) for k, v in (cfg.get("regions") or {}).items()}
    machines = installed_machines(corpus, at)
    people: dict[str, list[str]] = defaultdict(list)
    for p in engineers(corpus):
        people[text(get(p.data, "region"))].append(p.id)
    out = []
    for region in sorted(set(machines) | set(people)):
        n = machines.get(region, 0)
        staff = people.get(region, [])
        target = targets.get(region, default)
        out.append(Staffing(region, n, staff, target, n / len(staff) if staff else None,
                            math.ceil(n / target) if target > 0 else 0))
    return sorted(out, key=lambda s: (-s.gap, s.region))
