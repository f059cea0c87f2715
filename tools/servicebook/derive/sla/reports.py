"""SLA reports managers act on, from the engine's clocks: the report the site shows
(``report``), the breach list, the at-risk queue and compliance per clock, policy, kind, month,
tier, department, person or customer, taking the last cycle of each clock or any cycle ever
breached.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable
from typing import Any

from servicebook.derive.sla import calendar as bc
from servicebook.load import instants
from servicebook.derive.sla.engine import STATES, Clock, Engine

__all__ = [
    "last_cycles",
    "ever_breached",
    "select",
    "compliance",
    "breach_list",
    "missed_on",
    "at_risk_queue",
    "work_order",
    "late_now",
    "closed_late",
    "report",
    "format_duration",
]

def last_cycles(clocks: Iterable[Clock]) -> list[Clock]:
    """Only the newest cycle of each clock."""
    return [c for c in clocks if c.last_cycle]


def ever_breached(clocks: Iterable[Clock]) -> set[tuple[str, str]]:
    """``(case, policy/clock)`` pairs with at least one breached cycle."""
    return {(c.case, c.key) for c in clocks if c.state == "breached"}


def select(clocks, cycles: str) -> list[Clock]:
    """The clocks a report counts: ``last`` (the newest cycle of each clock), ``all`` (every
    cycle) or ``ever`` (the newest cycle, or the last breached one of a clock ever breached)."""
    clocks = list(clocks)
    if cycles == "all":
        return clocks
    if cycles == "last":
        return last_cycles(clocks)
    if cycles == "ever":
        bad = ever_breached(clocks)
        out = []
        for c in last_cycles(clocks):
            if (c.case, c.key) in bad and c.state != "breached":
                earlier = [x for x in clocks if x.case == c.case and x.key == c.key and x.state == "breached"]
                out.append(earlier[-1])
            else:
                out.append(c)
        return out
    raise ValueError("cycles: 'last', 'all' or 'ever'")


_GROUPS: dict[str, Callable[[Clock], Any]] = {
    "clock": lambda c: c.key,
    "policy": lambda c: c.policy,
    "kind": lambda c: c.kind,
    "month": lambda c: c.month(),
    "tier": lambda c: c.tier,
    "department": lambda c: c.department,
    "person": lambda c: c.owner,
    "customer": lambda c: c.customer,
}


def compliance(clocks: Iterable[Clock], by: str | Callable[[Clock], Any] = "clock",
               cycles: str = "last") -> list[dict]:
    """Compliance per group: ``[{key, met, breached, decided, open, compliance}]`` where
    ``compliance`` = met / (met + breached) in percent (None when nothing was decided yet).
    Breached includes clocks still open past their deadline. ``by``: clock, policy, kind, month,
    tier, department, person, customer, or a function of a clock. ``cycles``: last, all, ever
    (a clock counts as breached when any of its cycles was)."""
    keyf = _GROUPS[by] if isinstance(by, str) else by
    groups: dict[Any, dict] = {}
    for c in select(clocks, cycles):
        if c.state in ("cancelled", "error"):
            continue
        key = keyf(c)  # once: a month's key formats a date (0.8 s of the SLA pages at 100k when taken twice)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"key": key, "met": 0, "breached": 0, "open": 0}
        if c.state == "met":
            g["met"] += 1
        elif c.state == "breached":
            g["breached"] += 1
        else:
            g["open"] += 1
    rows = []
    for g in groups.values():
        g["decided"] = g["met"] + g["breached"]
        g["compliance"] = round(100.0 * g["met"] / g["decided"], 1) if g["decided"] else None
        rows.append(g)
    rows.sort(key=lambda g: (g["key"] is None, str(g["key"])))
    return rows


def breach_list(clocks: Iterable[Clock], cycles: str = "all") -> list[Clock]:
    """Breached clocks, most overdue first."""
    return sorted((c for c in select(clocks, cycles) if c.state == "breached"),
                  key=lambda c: (-c.overdue_seconds, c.case, c.clock))


def late_now(clocks: Iterable[Clock]) -> list[Clock]:
    """What is late now: clocks past their deadline and still open (the case is not done), the
    newest cycle of each, most overdue first -- what a service manager chases first. Clocks that
    stopped late are history: the breach list and the compliance figures keep them."""
    return [c for c in breach_list(clocks, "last") if c.open]


def closed_late(clocks: Iterable[Clock]) -> list[Clock]:
    """The other half of the breach list: clocks of cases done, that stopped past their deadline
    (the newest cycle of each, most overdue first)."""
    return [c for c in breach_list(clocks, "last") if not c.open]


def missed_on(clocks: Iterable[Clock], at) -> list[Clock]:
    """The deadlines missed on the day of ``at`` (in the company zone): breached clocks (the newest
    cycle of each) whose deadline fell on that day, most overdue first -- the home page's "deadlines
    missed today"."""
    day = instants.local_date(instants.parse_instant(at))
    return [c for c in breach_list(clocks, "last") if c.deadline is not None
            and instants.local_date(_dt.datetime.fromtimestamp(c.deadline, instants.ZONE)) == day]


def at_risk_queue(clocks: Iterable[Clock],
                  priority: Callable[[str | None], tuple] | None = None) -> list[Clock]:
    """Open clocks at risk, in the order to work them: with ``priority`` (a customer -> sort key,
    ``value_index.ValueIndex.priority``: the customer class, then the value index) the customers
    source 003 says come first when resources are short come first, each class's clocks by the
    earliest deadline and, at equal deadlines, the higher value; without it, the earliest deadline."""
    return sorted((c for c in clocks if c.state == "at_risk" and c.last_cycle), key=work_order(priority))


def work_order(priority: Callable[[str | None], tuple] | None = None) -> Callable[[Clock], tuple]:
    """The sort key of the at-risk queue (also a person's queue of open clocks): the customer's
    class, the earliest deadline, the higher value, then case and clock."""
    def key(c: Clock):
        rank, value = priority(c.customer) if priority else (0, 0.0)
        return (rank, c.deadline if c.deadline is not None else math.inf, value, c.case, c.clock)

    return key


def report(source, at, priority=None, kinds: Iterable[str] | None = None) -> dict:
    """Everything the site shows, as plain data: clocks, state counts, compliance per clock,
    month, tier, department and person, the breach list and the at-risk queue."""
    eng = source if isinstance(source, Engine) else Engine(source)
    A = bc.to_timestamp(at)
    clocks = eng.clocks(A, kinds)
    counts = {s: 0 for s in STATES}
    for c in last_cycles(clocks):
        counts[c.state] += 1
    return {
        "as_of": _dt.datetime.fromtimestamp(A, instants.ZONE).isoformat(timespec="seconds"),
        "policies": [{"id": p.id, "version": p.version, "kind": p.kind, "name": p.name} for p in eng.policies],
        "counts": counts,
        "clocks": [c.to_dict() for c in clocks],
        "compliance": {by: compliance(clocks, by) for by in ("clock", "month", "tier", "department", "person")},
        "compliance_ever": compliance(clocks, "clock", cycles="ever"),
        "breaches": [c.to_dict() for c in breach_list(clocks)],
        "at_risk": [c.to_dict() for c in at_risk_queue(clocks, priority)],
    }


def format_duration(seconds: float) -> str:
    """``1h30m``, ``-0h15m``, ``3d04h`` (days of 24 h) for long calendar spans."""
    neg = seconds < 0
    s = int(round(abs(seconds)))
    h, rem = divmod(s, 3600)
    m = rem // 60
    text = f"{h // 24}d{h % 24:02d}h" if h >= 100 else f"{h}h{m:02d}m"
    return ("-" if neg else "") + text
