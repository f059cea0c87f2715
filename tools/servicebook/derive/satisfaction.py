"""What the customers said on their callbacks, overall, per person and per month (issue #17).

The answers are ``feedback.answers``: the callbacks done by ``at`` (the same the customer pages
count). Each is counted once in each grouping:

* per person: the owner of the case the callback is about (``case``: a repair or a complaint), as
  the SLA engine names it: the owner of that case's first clock (the engineer of a repair, the
  person a complaint is assigned to, else who filled it in). A periodic visit names no case: its
  answers count under nobody (``None``), like a case whose policy names no one;
* per month: the month (company time zone) the callback was done.

The figures of each group are ``feedback.Satisfaction``: "solved?" answered and how many said yes,
the mean satisfaction (1-5) of those that gave one, periodic visits and problems reported.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from servicebook.derive.aftersales import feedback
from servicebook.derive.aftersales.common import get, month_key
from servicebook.derive.sla.engine import Engine


@dataclass(frozen=True)
class Figures:
    overall: feedback.Satisfaction
    by_person: list[tuple[str | None, feedback.Satisfaction]]   # by ID, nobody last
    by_month: list[tuple[str, feedback.Satisfaction]]           # YYYY-MM, oldest first


def case_owners(clocks) -> dict[str, str]:
    """case ID -> the owner of its first clock that names one (the engine's clocks in its order):
    who handled the case the callback rates. Not ``attention.owner``, who answers for an open
    record now: a callback follows a case that is done, whose clocks are closed."""
    owners: dict[str, str] = {}
    for c in clocks:
        if c.owner:
            owners.setdefault(c.case, c.owner)
    return owners


def figures(corpus, at, clocks=None) -> Figures:
    """Overall, per person and per month; give the engine's clocks as of ``at`` when already
    computed (the site does)."""
    if clocks is None:
        clocks = Engine(corpus).clocks(at)
    owners = case_owners(clocks)
    found = feedback.answers(corpus, at)
    people: dict[str | None, list] = defaultdict(list)
    months: dict[str, list] = defaultdict(list)
    for a in found:
        case = get(a.record.data, "case")
        people[owners.get(case) if isinstance(case, str) and not a.visit else None].append(a)
        months[month_key(a.done)].append(a)
    return Figures(feedback.summary(found),
                   [(p, feedback.summary(people[p])) for p in sorted(people, key=lambda p: (p is None, p or ""))],
                   [(m, feedback.summary(months[m])) for m in sorted(months)])


def share(s: feedback.Satisfaction) -> float | None:
    """Percent of the answered follow-ups that said solved, one decimal (None: none answered)."""
    return round(100.0 * s.solved / s.answered, 1) if s.answered else None


def mean(s: feedback.Satisfaction) -> float | None:
    """The mean satisfaction as shown: two decimals (None: no score given)."""
    return round(s.mean, 2) if s.mean is not None else None
