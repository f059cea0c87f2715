"""Routine inspections (例行检查, the preventive "health" service of source 004).

Each installation handed over to the customer gets inspections at the months after hand-over set
by its products' service plans (``service_plan.inspection_months``; products with
``preventive: false`` add none; default 1, 3, 6, 12), one inspection per installation and month,
due on the same day that many months after ``handed_over_on`` (clamped to the month's end) --
the same schedule the SLA policy ``SLA-installation`` measures.

``inspection`` records (field ``installation``) fill the schedule: one with ``schedule_month``
takes that month, the others take the earliest open months in order of their due date. As of a
date an item is

  done      an inspection for it is done (``late`` when done after the due date)
  missed    its inspection was recorded as missed
  overdue   not done and the due date has passed
  due       not done, due within ``window_days``
  upcoming  not done, due later

Everything is computed as of the date given; records, statuses and history after it are ignored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from servicebook._after import (add_months, as_date, get, history, parse_date, parse_instant,
                                region_of_customer, text)

DEFAULT_MONTHS = (1, 3, 6, 12)
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
    d = parse_date(get(rec.data, "handed_over_on"))
    if d is None:
        for at, st, _ in history(rec):
            if st == "handed_over":
                d = at.date()
                break
    return d if d is not None and d <= on else None


def months_for(corpus, installation) -> list[int]:
    """Inspection months of an installation: the union over its devices' products."""
    months: set[int] = set()
    seen = False
    for device in get(installation.data, "devices") or []:
        pid = device.get("product") if isinstance(device, dict) else None
        prod = corpus.records.get(pid) if isinstance(pid, str) else None
        if prod is None:
            continue
        seen = True
        plan = get(prod.data, "service_plan") or {}
        if plan.get("preventive") is False:
            continue
        months.update(int(m) for m in plan.get("inspection_months") or DEFAULT_MONTHS if isinstance(m, int))
    return sorted(months) if seen else list(DEFAULT_MONTHS)


def _main_product(installation) -> str | None:
    counts = Counter(d.get("product") for d in get(installation.data, "devices") or []
                     if isinstance(d, dict) and isinstance(d.get("product"), str))
    return counts.most_common(1)[0][0] if counts else None


def _inspections_by_installation(corpus, on: date) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for rec in corpus.of_kind("inspection"):
        created = parse_instant(get(rec.data, "created_at"))
        if created is not None and created.date() > on:
            continue
        inst = get(rec.data, "installation")
        if isinstance(inst, str):
            out[inst].append(rec)
    return out


_PREFERENCE = {"done": 0, "planned": 1, "missed": 2}


def schedule(corpus, at, *, window_days: int = 30) -> list[Item]:
    """Every scheduled inspection of every handed-over installation as of ``at``, by due date."""
    on = as_date(at)
    by_inst = _inspections_by_installation(corpus, on)
    items: list[Item] = []
    for inst in sorted(corpus.of_kind("installation"), key=lambda r: r.id):
        start = handed_over_on(inst, on)
        if start is None:
            continue
        customer = get(inst.data, "customer")
        owner = get(inst.data, "installer.by") or get(inst.data, "filled_by")
        station = region_of_customer(corpus, customer) or _person_region(corpus, owner)
        n_devices = sum(1 for d in get(inst.data, "devices") or [] if isinstance(d, dict))
        product = _main_product(inst)
        months = months_for(corpus, inst)
        slots: dict[int, Item] = {
            m: Item(inst.id, customer, product, n_devices, m, add_months(start, m),
                    owner if isinstance(owner, str) else None, station)
            for m in months}
        # assign inspections: explicit month first, then the earliest open month
        recs = sorted(by_inst.get(inst.id, []), key=lambda r: (text(get(r.data, "due_on")), r.id))
        status = {r.id: status_as_of(r, on) for r in recs}
        recs = [r for r in recs if status[r.id] in _PREFERENCE]
        taken: dict[int, object] = {}
        rest = []
        for r in recs:
            m = get(r.data, "schedule_month")
            if isinstance(m, int) and m in slots and (
                    m not in taken or _PREFERENCE[status[r.id]] < _PREFERENCE[status[taken[m].id]]):
                if m in taken:
                    rest.append(taken[m])
                taken[m] = r
            else:
                rest.append(r)
        for r in rest:
            open_months = [m for m in months if m not in taken]
            if not open_months:
                break
            taken[open_months[0]] = r
        for m, item in slots.items():
            rec = taken.get(m)
            if rec is not None:
                item.inspection = rec.id
                st = status[rec.id]
                if isinstance(get(rec.data, "engineer"), str):
                    item.engineer = get(rec.data, "engineer")
                if text(get(rec.data, "station")):
                    item.station = get(rec.data, "station")
                due = parse_date(get(rec.data, "due_on"))
                if due is not None and not isinstance(get(rec.data, "schedule_month"), int):
                    item.due_on = due
                if st == "done":
                    item.state = "done"
                    item.done_on = parse_date(get(rec.data, "done_on")) or _entered(rec, "done")
                    item.late = bool(item.done_on and item.done_on > item.due_on)
                    continue
                if st == "missed":
                    item.state = "missed"
                    continue
            if item.due_on < on:
                item.state = "overdue"
            elif item.due_on <= on + timedelta(days=window_days):
                item.state = "due"
            else:
                item.state = "upcoming"
        items.extend(slots.values())
    items.sort(key=lambda i: (i.due_on, i.installation, i.month))
    return items


def _entered(rec, status: str) -> date | None:
    for at, st, _ in history(rec):
        if st == status:
            return at.date()
    return None


def _person_region(corpus, pid) -> str:
    rec = corpus.records.get(pid) if isinstance(pid, str) else None
    return text(get(rec.data, "region")) if rec else ""


def summary(corpus, at, by: str = "station", *, window_days: int = 30) -> list[dict]:
    """Counts of overdue, due, upcoming, done (of which late) and missed inspections per
    ``station`` (region) or per ``engineer``, most overdue first."""
    if by not in ("station", "engineer"):
        raise ValueError("by must be 'station' or 'engineer'")
    rows: dict[str, dict] = {}
    for item in schedule(corpus, at, window_days=window_days):
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


def station_plan(corpus, at) -> dict[str, list[Item]]:
    """The inspection plan per station for the coming month: every inspection due in the
    calendar month after ``at``, plus the overdue ones carried over, by engineer and date."""
    first, last = coming_month(at)
    plan: dict[str, list[Item]] = defaultdict(list)
    for item in schedule(corpus, at):
        if item.state in ("done", "missed"):
            continue
        if item.state == "overdue" or first <= item.due_on <= last:
            plan[item.station].append(item)
    return {k: sorted(v, key=lambda i: (i.engineer or "", i.due_on, i.installation))
            for k, v in sorted(plan.items())}


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
        done = parse_date(get(rec.data, "done_on")) or _entered(rec, "done")
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
        for finding in get(rec.data, "findings") or []:
            if not isinstance(finding, dict):
                continue
            if finding.get("ok") is False:
                issues[(get(rec.data, "product"), finding.get("category") or "other")] += 1
            for need in finding.get("parts_needed") or []:
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
                              parse_date(get(rec.data, "done_on")) or _entered(rec, "done"), level,
                              [p for p in get(rec.data, "new_purchase_intent.products") or [] if isinstance(p, str)],
                              text(get(rec.data, "new_purchase_intent.note")), text(get(rec.data, "other_equipment"))))
    leads.sort(key=lambda l: (-INTENT_LEVELS.index(l.level), str(l.done_on), l.inspection))
    return {
        "parts": sorted(parts.values(), key=lambda p: (-p.quantity, p.part_number)),
        "leads": leads,
        "issues": [{"product": p, "category": c, "count": n}
                   for (p, c), n in sorted(issues.items(), key=lambda x: (-x[1], str(x[0])))],
    }
