"""Who has what to do: the open SLA clocks per owner (open, late, at risk) and each person's own
queue, in the order to work it (issue #17: "my queue").

The clocks are the SLA engine's (:mod:`servicebook.derive.sla.engine`) as of ``at``, the newest
cycle of each that is still open; the owner is the clock's ``owner`` (the person its policy names:
the engineer of a repair, the person a complaint is assigned to, else who filled the record in).

A queue is ordered like the SLA page: first what is late now, the most overdue first
(``reports.late_now``), with how late; then what is at risk, in the order of the at-risk queue
(``reports.at_risk_queue``: the customer's class, the earliest deadline, the higher value), with the
time left; then the rest of the open clocks (running or paused) in that same order. Late and left
times are in the clock's own units (working time for working-day targets, as the engine counts).

``workload(clocks, priority)``: give the engine's clocks and ``ValueIndex.priority`` (the site does,
from what it computed once); ``compute(corpus, at)`` computes both (the command does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from servicebook.derive.aftersales.value_index import ValueIndex
from servicebook.derive.sla import reports
from servicebook.derive.sla.engine import Clock, Engine

LATE, AT_RISK, OPEN = "late", "at_risk", "open"


@dataclass(frozen=True)
class Item:
    """One open clock in a queue: ``standing`` late, at_risk or open (running or paused)."""
    clock: Clock
    standing: str

    @property
    def late_seconds(self) -> float:
        return self.clock.overdue_seconds

    @property
    def left_seconds(self) -> float:
        return max(0.0, self.clock.remaining_seconds)


@dataclass
class Load:
    """One owner's open clocks (``owner`` None: clocks whose policy names nobody on the record)."""
    owner: str | None
    queue: list[Item] = field(default_factory=list)

    def count(self, standing: str | None = None) -> int:
        return sum(1 for i in self.queue if standing is None or i.standing == standing)

    @property
    def open(self) -> int:
        return len(self.queue)

    @property
    def late(self) -> int:
        return self.count(LATE)

    @property
    def at_risk(self) -> int:
        return self.count(AT_RISK)

    @property
    def cases(self) -> int:
        return len({i.clock.case for i in self.queue})


def queue(clocks, priority=None) -> list[Item]:
    """Every open clock (newest cycle), late first, then at risk, then the rest (see the module)."""
    clocks = list(clocks)
    late = [Item(c, LATE) for c in reports.late_now(clocks)]
    at_risk = [Item(c, AT_RISK) for c in reports.at_risk_queue(clocks, priority)]
    rest = sorted((c for c in clocks if c.last_cycle and c.state in ("running", "paused")),
                  key=reports.work_order(priority))
    return late + at_risk + [Item(c, OPEN) for c in rest]


def workload(clocks, priority=None) -> list[Load]:
    """Per owner, their queue; the most late first, then the most at risk, the most open, by ID
    (nobody named last)."""
    loads: dict[str | None, Load] = {}
    for item in queue(clocks, priority):
        loads.setdefault(item.clock.owner, Load(item.clock.owner)).queue.append(item)
    return sorted(loads.values(), key=lambda w: (w.owner is None, -w.late, -w.at_risk, -w.open, w.owner or ""))


def compute(corpus, at) -> list[Load]:
    """``workload`` of the engine's clocks as of ``at``, in the value index's order of customers."""
    return workload(Engine(corpus).clocks(at), ValueIndex(corpus, at).priority)
