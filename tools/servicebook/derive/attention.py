"""What comes first (issue #17): the clocks late now and the at-risk queue, each with its
customer's class and value index (source 003), counted per class; and the SLA flag of a case or a
customer (late / at risk / on time).

The lists are the SLA reports' own (`reports.late_now`, `reports.at_risk_queue` with the value
index's priority); this module only attaches the customer's class and index and counts. The home
page shows it, and `servicebook sla --format json` gives every row its `customer_class` and
`customer_value` from the same `ValueIndex`, so the counts agree (tests/test_reader_browser.py).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from servicebook.derive.aftersales.value_index import ValueIndex
from servicebook.derive.sla import reports

LATE, AT_RISK, ON_TIME = "late", "at_risk", "on_time"


@dataclass(frozen=True)
class Item:
    clock: object                 # the engine's clock
    customer_class: str | None    # the customer's class (None: no customer or no index)
    value: float | None           # the customer's value index, 0..100
    seconds: float                # late: how late; at risk: time left to the deadline


@dataclass(frozen=True)
class Attention:
    classes: tuple[str, ...]      # the customer classes in the order they are served
    late: tuple[Item, ...]        # `reports.late_now`: most overdue first
    at_risk: tuple[Item, ...]     # `reports.at_risk_queue`: class, deadline, value

    def late_by_class(self) -> dict[str | None, int]:
        return by_class(self.late, self.classes)

    def at_risk_by_class(self) -> dict[str | None, int]:
        return by_class(self.at_risk, self.classes)


def customer_class(values: ValueIndex, customer) -> tuple[str | None, float | None]:
    """(class, index) of a customer; (None, None) without a customer or an index."""
    score = values.score(customer) if isinstance(customer, str) else None
    return (score.customer_class, score.index) if score else (None, None)


def attention(clocks, values: ValueIndex) -> Attention:
    """The late-now list and the at-risk queue of `clocks` (the engine's, as of one instant)."""
    def item(c, seconds):
        cls, value = customer_class(values, c.customer)
        return Item(c, cls, value, seconds)

    late = tuple(item(c, c.overdue_seconds) for c in reports.late_now(clocks))
    risk = tuple(item(c, max(0.0, c.remaining_seconds)) for c in reports.at_risk_queue(clocks, values.priority))
    return Attention(tuple(name for _lowest, name in values.classes), late, risk)


def by_class(items: Iterable[Item], classes: tuple[str, ...]) -> dict[str | None, int]:
    """Count per class, every class present (0 too) in serving order, then None (no class) when
    some item has none."""
    counts = Counter(i.customer_class for i in items)
    out: dict[str | None, int] = {name: counts.get(name, 0) for name in classes}
    if counts.get(None):
        out[None] = counts[None]
    return out


def owner(clocks) -> str | None:
    """Who answers for a record now: the owner of its open clock (newest cycle) that is due
    first, late ones first; None when no open clock names one."""
    open_ = [c for c in clocks if c.last_cycle and c.open and isinstance(c.owner, str)]
    if not open_:
        return None
    return min(open_, key=lambda c: (c.state != "breached", c.deadline if c.deadline is not None else float("inf"),
                                     c.clock)).owner


def flag(clocks) -> str | None:
    """The SLA flag of a case or a customer from its clocks (the newest cycle of each): late when
    one is past its deadline and still open, at risk when one is at risk, on time when it has any
    other clock; None without clocks."""
    last = [c for c in clocks if c.last_cycle]
    if not last:
        return None
    if any(c.state == "breached" and c.open for c in last):
        return LATE
    if any(c.state == "at_risk" for c in last):
        return AT_RISK
    return ON_TIME
