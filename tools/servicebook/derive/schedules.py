"""Recurring duties measured on a schedule (routine inspections, 例行检查, source 004): which
occurrences are due, when, and which record fulfils which. The one place that says so: the SLA
engine's schedule clocks (``engine.Engine``) and the inspection report (``inspections``, the site's
inspections page) both take their schedules from :func:`match`; the engine gathers its inputs
from the policy (``records/policy/SLA-installation.yaml``, clock ``inspection``).

The rule:

* Occurrences: the months of the measured record's products' service plans
  (``service_plan.inspection_months``; a product with ``preventive: false`` adds none), their
  union; the policy's ``schedule.months`` when no product is known or a plan names none
  (:func:`due_months`).
* Due date: the same day that many months after the start (hand-over), clamped to the month's
  end; due by the end of that day in the policy calendar's zone, whatever the tier. No grace after
  it; a visit any time after the start and before it is on time (:func:`due`). A visit known by
  its date only (``done_on``) counts at the end of that day, as the deadline does: dated on the
  due date it is on time, dated the day after it is one day late.
* Which visit fulfils which occurrence: a record naming its occurrence (the policy's
  ``schedule.occurrence_field``: ``schedule_month`` of an inspection) belongs to that occurrence
  and no other; of several naming the same one, a done one counts (the earliest), else an open
  (planned) one, else a missed one. Records naming none, or a month the schedule does not have,
  take the earliest occurrence no record belongs to: done and missed ones in the order they were
  done or recorded missed, then open ones in the order they were created.
* Outcome of an occurrence: ``on_time`` (its record was done by the deadline: SLA ``met``),
  ``late`` (done after it: ``breached``, closed), ``missed`` (its record was recorded as not
  done, i.e. entered a final status that is no stop: ``breached``, closed then), ``open``
  (nothing done yet: ``running``/``at_risk`` and, once the deadline has passed, ``breached`` and
  still open) or ``cancelled`` (the measured record was cancelled before the deadline; cancelled
  after it, the occurrence is ``missed``).

Everything here is plain data: instants are epoch seconds, dates are ``datetime.date``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DONE", "MISSED", "PLANNED", "ON_TIME", "LATE", "OPEN", "CANCELLED", "Visit", "Slot",
           "Schedule", "add_months", "end_of_day", "due", "due_months", "match"]

# what a record says of its visit (as of the moment computed)
DONE = "done"          # the policy's stop event happened on it
MISSED = "missed"      # it entered a final status that is no stop: the visit will not be made
PLANNED = "planned"    # neither yet

# outcomes of an occurrence
ON_TIME = "on_time"
LATE = "late"
OPEN = "open"
CANCELLED = "cancelled"
# MISSED is an outcome too

_RANK = {DONE: 0, PLANNED: 1, MISSED: 2}


@dataclass(frozen=True, slots=True)
class Visit:
    """A record that may fulfil an occurrence (an inspection), or a stop event on the measured
    record itself (``record`` None)."""
    record: str | None
    label: int | None   # the occurrence (months after the start) it names, if any
    status: str         # DONE, MISSED or PLANNED
    at: float           # DONE: when done; MISSED: when recorded missed; PLANNED: when created
    day: _dt.date | None = None   # the visit's date when it is known by its date only

    def on(self, tz: _dt.tzinfo) -> _dt.date:
        """The date of the visit (of ``at`` in ``tz`` unless known by its date)."""
        return self.day if self.day is not None else _dt.datetime.fromtimestamp(self.at, tz).date()


@dataclass(slots=True)
class Slot:
    """One occurrence of the schedule."""
    month: int
    due_on: _dt.date
    deadline: float                 # end of ``due_on`` (the next midnight): done by it is on time
    visit: Visit | None = None      # the record belonging to it, whatever its status
    outcome: str = OPEN
    closed_at: float | None = None  # when its outcome was settled (None while open)

    def overdue(self, at: float) -> bool:
        """Open and past its deadline at instant ``at``."""
        return self.outcome == OPEN and at > self.deadline


@dataclass(frozen=True, slots=True)
class Schedule:
    """The schedule of one measured record under one schedule clock of its policy; ``error``:
    why it cannot be computed (a date or instant in the records that is none; the schema check
    locates it), and then no ``start`` and no ``slots``."""
    case: str
    policy: str
    clock: str
    visit_kind: str | None   # the kind of the records that fulfil it ("inspection")
    start: float | None
    tz: _dt.tzinfo
    slots: tuple[Slot, ...]
    error: str | None = None


def add_months(d: _dt.date, months: int) -> _dt.date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    last = (_dt.date(y + (m == 12), m % 12 + 1, 1) - _dt.timedelta(days=1)).day
    return _dt.date(y, m, min(d.day, last))


@lru_cache(maxsize=1 << 14)  # asked for every month of every installation: few distinct days
def end_of_day(day: _dt.date, tz: _dt.tzinfo) -> float:
    """The end of ``day`` in ``tz``: epoch seconds of the next midnight."""
    nxt = day + _dt.timedelta(days=1)
    return _dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp()


@lru_cache(maxsize=1 << 16)
def due(start: _dt.date, month: int, tz: _dt.tzinfo) -> tuple[_dt.date, float]:
    """Due date of the occurrence ``month`` months after ``start`` and its deadline, the end of
    that day in ``tz``."""
    on = add_months(start, month)
    return on, end_of_day(on, tz)


def _months(values) -> set[int]:
    return {m for m in values if type(m) is int and m >= 1} if isinstance(values, list) else set()


def with_new_product_months(product: Mapping, default: Iterable[int]) -> Mapping:
    """A product's service plan as it schedules now: while the product is new (``new_product``),
    its ``new_product_months`` are inspected too (source 004: new products more often)."""
    plan = product.get("service_plan") if isinstance(product.get("service_plan"), Mapping) else {}
    extra = _months(plan.get("new_product_months")) if product.get("new_product") is True else set()
    if not extra:
        return plan
    return {**plan, "inspection_months": sorted((_months(plan.get("inspection_months")) or set(default)) | extra)}


def due_months(plans: Iterable[Mapping], default: Iterable[int]) -> tuple[int, ...]:
    """Due months from the service plans of the measured record's products (one mapping per
    product found, ``{}`` for a product without a plan): their union; a plan without
    ``inspection_months`` takes ``default`` (the policy's), one with ``preventive: false`` adds
    nothing; no product at all: ``default``."""
    default = tuple(sorted(set(default)))
    months: set[int] = set()
    seen = False
    for plan in plans:
        seen = True
        if not isinstance(plan, Mapping):
            plan = {}
        if plan.get("preventive") is False:
            continue
        months |= _months(plan.get("inspection_months")) or set(default)
    return tuple(sorted(months)) if seen else default


def match(start: _dt.date, months: Iterable[int], tz: _dt.tzinfo, visits: Iterable[Visit],
          cancel: float | None = None) -> tuple[Slot, ...]:
    """The occurrences ``months`` after ``start``, each with the visit that belongs to it and its
    outcome (module docstring); ``cancel``: when the measured record was cancelled, if it was."""
    slots: dict[int, Slot] = {}
    for m in sorted(set(months)):
        on, deadline = due(start, m, tz)
        slots[m] = Slot(m, on, deadline)
    rest: list[Visit] = []
    for v in sorted(visits, key=lambda v: (_RANK[v.status], v.at, v.record or "")):
        slot = slots.get(v.label) if v.label is not None else None
        if slot is None:
            rest.append(v)
        elif slot.visit is None:
            slot.visit = v
        # else: another record for an occurrence already fulfilled or planned (a re-plan, a
        # follow-up visit): it counts for no other occurrence
    rest.sort(key=lambda v: (v.status == PLANNED, v.at, v.record or ""))
    free = [s for s in slots.values() if s.visit is None]
    for slot, v in zip(free, rest):
        slot.visit = v
    for slot in slots.values():
        v = slot.visit
        if v is not None and v.status != PLANNED and (cancel is None or v.at <= cancel):
            slot.closed_at = v.at
            slot.outcome = MISSED if v.status == MISSED else ON_TIME if v.at <= slot.deadline else LATE
        elif cancel is not None:
            slot.closed_at = cancel
            slot.outcome = CANCELLED if cancel <= slot.deadline else MISSED
    return tuple(slots.values())
