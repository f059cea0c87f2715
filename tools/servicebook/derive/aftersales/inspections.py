"""Routine inspections (例行检查, the preventive "health" service of source 004).

Each installation handed over to the customer gets inspections at the months after hand-over set
by its products' service plans, each due by the end of its due date. The schedule -- the months,
the due dates, which ``inspection`` record fulfils which month and whether on time -- is the SLA
engine's for the policy that measures installations (``SLA-installation``, a ``schedule`` clock;
``engine.Engine.schedules``), whose rule is in ``servicebook.derive.schedules``: this report, the site's
inspections page and ``servicebook sla`` say the same thing. Here each month becomes an item, as
of a moment:

  done      its inspection was done (``late`` when after the due date)
  missed    its inspection was recorded as missed (counts as late for the SLA)
  overdue   not done and the due date is over
  due       not done, due within ``window_days``
  upcoming  not done, due later

Everything is computed as of the moment given (a date means the end of that day); records,
statuses and history after it are ignored.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from servicebook.derive import schedules as sched
from servicebook.derive.sla.engine import Engine
from servicebook.derive.aftersales.common import (add_months, as_date, as_datetime, first_entered, get, get_list,
                                                  history, region_of_customer, text)
from servicebook.load.instants import date_or_none

STATES = ("overdue", "due", "upcoming", "done", "missed")
INTENT_LEVELS = ("none", "low", "medium", "high")


@dataclass
class Item:
    """One scheduled inspection of one installation."""
    installation: str
    customer: str | None
    product: str | None
    devices: int
    month: int
    due_on: date
    engineer: str | None
    station: str
    state: str = "upcoming"
    inspection: str | None = None
    done_on: date | None = None
    late: bool = False
    deadline: datetime | None = None   # the end of ``due_on``, as the SLA clock has it


def status_as_of(rec, on: date) -> str | None:
    """The record's status on date ``on`` (end of day) from its history."""
    status = None
    for at, st, _ in history(rec):
        if at.date() <= on:
            status = st
    return status


def handed_over_on(rec, on: date) -> date | None:
    """Hand-over date of an installation, if it was handed over by ``on``."""
    if get(rec.data, "status") == "cancelled" and status_as_of(rec, on) == "cancelled":
        return None
    d = date_or_none(get(rec.data, "handed_over_on"))
    if d is None:
        for at, st, _ in history(rec):
            if st == "handed_over":
                d = at.date()
                break
    return d if d is not None and d <= on else None


def _main_product(installation) -> str | None:
    counts = Counter(d.get("product") for d in get_list(installation.data, "devices")
                     if isinstance(d, dict) and isinstance(d.get("product"), str))
    return counts.most_common(1)[0][0] if counts else None


def schedules(corpus, at) -> list[sched.Schedule]:
    """The inspection schedule of every installation as of ``at`` (those the SLA policy measures
    and that were handed over by then), by installation: ``engine.Engine.schedules``, the schedule
    clocks fulfilled by ``inspection`` records. One whose records hold a date or instant that is
    none has an ``error`` instead of months (the SLA an error row; the schema check locates it)."""
    A = as_datetime(at).timestamp()
    engine = Engine(corpus)
    return [s for inst in sorted(corpus.of_kind("installation"), key=lambda r: r.id)
            for s in engine.schedules(inst, A) if s.visit_kind == "inspection"]


def schedule(corpus, at, *, window_days: int = 30,
             computed: list[sched.Schedule] | None = None) -> list[Item]:
    """Every scheduled inspection of every handed-over installation as of ``at``, by due date
    (``computed``: ``schedules(corpus, at)`` when already at hand; those with an ``error`` have
    no items: ``unscheduled`` lists them)."""
    A = as_datetime(at).timestamp()
    on = as_date(at)
    items: list[Item] = []
    for s in schedules(corpus, at) if computed is None else computed:
        if s.error is not None:
            continue
        inst = corpus.records[s.case]
        customer = get(inst.data, "customer")
        owner = get(inst.data, "installer.by") or get(inst.data, "filled_by")
        station = region_of_customer(corpus, customer) or _person_region(corpus, owner)
        n_devices = sum(1 for d in get_list(inst.data, "devices") if isinstance(d, dict))
        product = _main_product(inst)
        for slot in s.slots:
            if slot.outcome == sched.CANCELLED:
                continue
            item = Item(inst.id, customer, product, n_devices, slot.month, slot.due_on,
                        owner if isinstance(owner, str) else None, station,
                        deadline=datetime.fromtimestamp(slot.deadline, s.tz))
            visit = slot.visit
            rec = corpus.records.get(visit.record) if visit is not None and visit.record else None
            if rec is not None:
                item.inspection = rec.id
                if isinstance(get(rec.data, "engineer"), str):
                    item.engineer = get(rec.data, "engineer")
                if text(get(rec.data, "station")):
                    item.station = get(rec.data, "station")
            if slot.outcome in (sched.ON_TIME, sched.LATE):
                item.state = "done"
                item.done_on = visit.on(s.tz)
                item.late = slot.outcome == sched.LATE
            elif slot.outcome == sched.MISSED:
                item.state = "missed"
            elif slot.overdue(A):
                item.state = "overdue"
            elif slot.due_on <= on + timedelta(days=window_days):
                item.state = "due"
            else:
                item.state = "upcoming"
            items.append(item)
    items.sort(key=lambda i: (i.due_on, i.installation, i.month))
    return items


def unscheduled(computed: list[sched.Schedule]) -> list[dict]:
    """``[{installation, error}]``: the installations whose schedule cannot be computed."""
    return [{"installation": s.case, "error": s.error} for s in computed if s.error is not None]


def _entered(rec, status: str) -> date | None:
    when = first_entered(rec, status)
    return when.date() if when is not None else None


def _person_region(corpus, pid) -> str:
    rec = corpus.records.get(pid) if isinstance(pid, str) else None
    return text(get(rec.data, "region")) if rec else ""


def summary(corpus, at, by: str = "station", *, window_days: int = 30,
            items: list[Item] | None = None) -> list[dict]:
    """Counts of overdue, due, upcoming, done (of which late) and missed inspections per
    ``station`` (region) or per ``engineer``, most overdue first; ``items``: ``schedule(corpus,
    at, window_days=window_days)`` when already computed."""
    if by not in ("station", "engineer"):
        raise ValueError("by must be 'station' or 'engineer'")
    rows: dict[str, dict] = {}
    for item in schedule(corpus, at, window_days=window_days) if items is None else items:
        key = getattr(item, by) or ""
        row = rows.setdefault(key, {"key": key, **{s: 0 for s in STATES}, "late": 0})
        row[item.state] += 1
        row["late"] += int(item.late)
    return sorted(rows.values(), key=lambda r: (-r["overdue"], -r["due"], r["key"]))


def coming_month(at) -> tuple[date, date]:
    """First and last day of the calendar month after ``at``."""
    on = as_date(at)
    first = add_months(on.replace(day=1), 1)
    return first, add_months(first, 1) - timedelta(days=1)


def station_plan(corpus, at, items: list[Item] | None = None) -> dict[str, list[Item]]:
    """The inspection plan per station for the coming month: every inspection due in the
    calendar month after ``at``, plus the overdue ones carried over, by engineer and date;
    ``items``: ``schedule(corpus, at)`` when already computed."""
    first, last = coming_month(at)
    plan: dict[str, list[Item]] = defaultdict(list)
    for item in schedule(corpus, at) if items is None else items:
        if item.state in ("done", "missed"):
            continue
        if item.state == "overdue" or first <= item.due_on <= last:
            plan[item.station].append(item)
    return {k: sorted(v, key=lambda i: (i.engineer or "", i.due_on, i.installation))
            for k, v in sorted(plan.items())}


# --------------------------------------------------------------------------- the wider scope

KEY_SIZES = frozenset({"large", "key_account"})
_CITY = re.compile(r"^(?:.{2,8}?(?:省|自治区))?(.{2,8}?市)")


@dataclass
class Suggestion:
    """A customer worth visiting in the coming month besides the scheduled inspections (source
    004: besides the customers under warranty, the strong key customers, the old customers whose
    machines near the end of their life -- buyers of new ones -- and the customers near an
    inspection already on the way)."""
    customer: str
    reasons: list[str] = field(default_factory=list)   # key_customer | near_retirement | nearby
    installations: list[str] = field(default_factory=list)
    near: str | None = None                             # the planned inspection it can join


def city_of(address) -> str | None:
    """The city of a Chinese address (``福建省福州市马尾区...`` -> ``福州市``); None without one."""
    m = _CITY.match(address.strip()) if isinstance(address, str) else None
    return m.group(1) if m else None


def also_visit(corpus, at, items: list[Item] | None = None) -> list[Suggestion]:
    """The customers to add to the coming month's round (``coming_month(at)``) and why, those with
    most reasons first; customers with an inspection planned then are left out."""
    on = as_date(at)
    _first, last = coming_month(at)
    plan = [i for station in station_plan(corpus, at, items).values() for i in station]
    planned = {i.customer for i in plan if i.customer}
    planned_city = {}
    for i in plan:
        cust = corpus.records.get(i.customer) if i.customer else None
        city = city_of(get(cust.data, "address")) if cust is not None else None
        if city:
            planned_city.setdefault(city, i.installation)
    found: dict[str, Suggestion] = {}

    def suggest(customer, reason, installation, near=None):
        sg = found.setdefault(customer, Suggestion(customer))
        if reason not in sg.reasons:
            sg.reasons.append(reason)
        if installation not in sg.installations:
            sg.installations.append(installation)
        sg.near = sg.near or near

    for inst in sorted(corpus.of_kind("installation"), key=lambda r: r.id):
        customer = get(inst.data, "customer")
        handed = handed_over_on(inst, on)
        if not isinstance(customer, str) or customer in planned or handed is None:
            continue
        cust = corpus.records.get(customer)
        if cust is None:
            continue
        if text(get(cust.data, "size")) in KEY_SIZES:  # a size of the wrong type: the schema check says so
            suggest(customer, "key_customer", inst.id)
        product = corpus.records.get(_main_product(inst) or "")
        life = get(product.data, "service_life_years") if product is not None else None
        if isinstance(life, (int, float)) and not isinstance(life, bool) and life > 0:
            end_of_life = handed + timedelta(days=round(365.25 * life))
            if end_of_life - timedelta(days=365) <= last:  # within a year of it by the round's end
                suggest(customer, "near_retirement", inst.id)
        near = planned_city.get(city_of(get(cust.data, "address")) or "")
        if near:
            suggest(customer, "nearby", inst.id, near)
    return sorted(found.values(), key=lambda sg: (-len(sg.reasons), sg.customer))


# --------------------------------------------------------------------------- findings

@dataclass
class PartNeed:
    part_number: str
    quantity: int = 0
    inspections: list[str] = field(default_factory=list)
    part: str | None = None      # the part record (ledger) with that number, if any


@dataclass
class Lead:
    inspection: str
    customer: str | None
    done_on: date | None
    level: str
    products: list[str]
    note: str
    other_equipment: str


def done_inspections(corpus, at, since=None) -> list:
    """Inspections done by ``at`` (and on or after ``since``), by date."""
    on = as_date(at)
    start = as_date(since) if since is not None else None
    out = []
    for rec in corpus.of_kind("inspection"):
        if status_as_of(rec, on) != "done":
            continue
        done = date_or_none(get(rec.data, "done_on")) or _entered(rec, "done")
        if done is None or done > on or (start and done < start):
            continue
        out.append((done, rec))
    return [r for _, r in sorted(out, key=lambda x: (x[0], x[1].id))]


def findings_feed(corpus, at, since=None) -> dict:
    """What done inspections tell the parts planners and the sales department:

    ``parts``  part numbers the findings say are needed soon, with quantities (parts plan);
    ``leads``  customers with a medium or high intent to buy new equipment (sales);
    ``issues`` findings not in order, counted per product and category (product feedback).
    """
    parts_by_number = {get(r.data, "part_number"): r.id for r in corpus.of_kind("part")
                       if isinstance(get(r.data, "part_number"), str)}
    parts: dict[str, PartNeed] = {}
    leads: list[Lead] = []
    issues: Counter = Counter()
    for rec in done_inspections(corpus, at, since):
        for finding in get_list(rec.data, "findings"):
            if not isinstance(finding, dict):
                continue
            if finding.get("ok") is False:
                product, category = get(rec.data, "product"), finding.get("category")
                issues[(product if isinstance(product, str) else None,
                        category if isinstance(category, str) and category else "other")] += 1
            for need in get_list(finding, "parts_needed"):
                number = need.get("part_number") if isinstance(need, dict) else None
                if not isinstance(number, str):
                    continue
                entry = parts.setdefault(number, PartNeed(number, part=parts_by_number.get(number)))
                entry.quantity += int(need.get("quantity") or 0)
                if rec.id not in entry.inspections:
                    entry.inspections.append(rec.id)
        level = get(rec.data, "new_purchase_intent.level")
        if level in ("medium", "high"):
            leads.append(Lead(rec.id, get(rec.data, "customer"),
                              date_or_none(get(rec.data, "done_on")) or _entered(rec, "done"), level,
                              [p for p in get_list(rec.data, "new_purchase_intent.products") if isinstance(p, str)],
                              text(get(rec.data, "new_purchase_intent.note")), text(get(rec.data, "other_equipment"))))
    leads.sort(key=lambda l: (-INTENT_LEVELS.index(l.level), str(l.done_on), l.inspection))
    return {
        "parts": sorted(parts.values(), key=lambda p: (-p.quantity, p.part_number)),
        "leads": leads,
        "issues": [{"product": p, "category": c, "count": n}
                   for (p, c), n in sorted(issues.items(), key=lambda x: (-x[1], str(x[0])))],
    }
